"""Building multipart/form-data bodies as browsers send them, and small real images."""

from __future__ import annotations

import io
import secrets

FilePart = tuple[str, bytes, str]  # (file name, bytes, part Content-Type)


def multipart(fields: dict[str, str | FilePart]) -> tuple[bytes, str]:
    """(body, Content-Type header) for these fields; a tuple value is a file part."""
    boundary = "----shop-test-" + secrets.token_hex(8)
    chunks: list[bytes] = []
    for name, value in fields.items():
        chunks.append(f"--{boundary}\r\n".encode())
        if isinstance(value, tuple):
            filename, data, content_type = value
            chunks.append(
                f'Content-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
                f"Content-Type: {content_type}\r\n\r\n".encode()
            )
            chunks.append(data)
        else:
            chunks.append(f'Content-Disposition: form-data; name="{name}"\r\n\r\n'.encode())
            # surrogatepass: a lone surrogate goes out as the bytes that are not UTF-8
            chunks.append(value.encode("utf-8", "surrogatepass"))
        chunks.append(b"\r\n")
    chunks.append(f"--{boundary}--\r\n".encode())
    return b"".join(chunks), f"multipart/form-data; boundary={boundary}"


def image_bytes(fmt: str = "PNG", size: tuple[int, int] = (4, 3), color: str = "red") -> bytes:
    """A real image made by Pillow: PNG, JPEG, GIF or WEBP."""
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, format=fmt)
    return out.getvalue()


def noise_png(size: tuple[int, int] = (128, 128), seed: int = 0) -> bytes:
    """A greyscale PNG of random pixels: its compressed data holds every byte value."""
    import random

    from PIL import Image

    pixels = random.Random(seed).randbytes(size[0] * size[1])
    out = io.BytesIO()
    Image.frombytes("L", size, pixels).save(out, format="PNG")
    return out.getvalue()


def png_declaring(width: int, height: int) -> bytes:
    """A tiny, well-formed PNG whose header claims width x height (the pixels are not there)."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\0" * 64)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


HTML = b"<html><body><script>alert(document.cookie)</script></body></html>"
# The first bytes of each type (enough for the signature check), then a web page.
SIGNATURE_THEN_HTML = {
    "png": b"\x89PNG\r\n\x1a\n" + HTML,
    "jpg": b"\xff\xd8\xff\xe0" + HTML,
    "gif": b"GIF89a" + HTML,
    "webp": b"RIFF\x00\x01\x00\x00WEBPVP8 " + HTML,
}


ELF_EXECUTABLE = b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 8 + b"\x02\x00\x3e\x00" + b"\x00" * 48
WINDOWS_EXECUTABLE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 48
