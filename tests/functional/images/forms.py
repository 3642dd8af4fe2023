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
            chunks.append(value.encode())
        chunks.append(b"\r\n")
    chunks.append(f"--{boundary}--\r\n".encode())
    return b"".join(chunks), f"multipart/form-data; boundary={boundary}"


def image_bytes(fmt: str = "PNG", size: tuple[int, int] = (4, 3), color: str = "red") -> bytes:
    """A real image made by Pillow: PNG, JPEG, GIF or WEBP."""
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, format=fmt)
    return out.getvalue()


ELF_EXECUTABLE = b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 8 + b"\x02\x00\x3e\x00" + b"\x00" * 48
WINDOWS_EXECUTABLE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 48
