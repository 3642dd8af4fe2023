"""Image uploads: multipart/form-data parsing and image validation.

The body is parsed with `multipart` (a small, well-kept parser; the stdlib email
parser is ten times slower). On API Gateway the body arrives base64-encoded because
app.py lists multipart/form-data in the API's binary types; Chalice's
`request.raw_body` decodes it (isBase64Encoded), so the bytes here are the bytes the
client sent.

An image is judged by its bytes, never by the file name or the part's Content-Type:
the signature (JPEG, PNG, WebP or GIF) picks the one Pillow decoder allowed to read
it; Pillow verifies it, refuses more than MAX_IMAGE_PIXELS (width x height x frames,
read from the header before anything is decoded), decodes every pixel, and writes the
image again in its own format. What is stored is that re-encoded image, never the
client's bytes: a file that starts as an image and goes on as HTML or script is
refused (it does not decode) or loses the extra bytes (they are not pixels), and
metadata such as EXIF (a phone photo's GPS position) is dropped; the ICC colour
profile is kept, and a JPEG's EXIF orientation is applied to the pixels. It is stored
under a generated name with the extension of the type found, so a client cannot
choose a stored file's name or type.

Form fields are validated by pydantic models like JSON bodies (`validate(Model,
read_form(request))`), with `FormId` and `Image` (chalicelib/api/fields.py) as field
types: every field that is missing or wrong is named in one DRF-style 400.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from chalicelib import config
from chalicelib.errors import PayloadTooLarge, ValidationError

if TYPE_CHECKING:
    from chalice.app import Request

# Room for the form's other fields, part headers and boundaries on top of the image.
FORM_OVERHEAD_BYTES = 64 * 1024
MAX_PARTS = 16
NOT_MULTIPART = "The request body is not valid multipart/form-data."
NOT_AN_IMAGE = (
    "Upload a valid image (JPEG, PNG, WebP or GIF). The file you uploaded was either "
    "not an image or a corrupted image."
)

# (signature, offset) pairs that must all match -> the extension files of the type get
IMAGE_TYPES: tuple[tuple[tuple[tuple[bytes, int], ...], str], ...] = (
    (((b"\xff\xd8\xff", 0),), "jpg"),
    (((b"\x89PNG\r\n\x1a\n", 0),), "png"),
    (((b"GIF87a", 0),), "gif"),
    (((b"GIF89a", 0),), "gif"),
    (((b"RIFF", 0), (b"WEBP", 8)), "webp"),
)
SHORTEST_IMAGE = 12  # bytes needed to tell the types apart (WebP: RIFF, size, WEBP)
PILLOW_FORMATS = {"jpg": "JPEG", "png": "PNG", "gif": "GIF", "webp": "WEBP"}
# Far beyond an avatar or a product photo (a 12 MP phone photo is 12,192,768 pixels),
# and a bound on the memory decoding takes (~100 MB of RGB at the limit).
MAX_IMAGE_PIXELS = 25_000_000
TOO_MANY_PIXELS = (
    f"The image is too large: at most {MAX_IMAGE_PIXELS:,} pixels (width x height x frames)."
)
EXIF_ORIENTATION = 0x0112


@dataclass(frozen=True)
class FormPart:
    """One part of a multipart body: its bytes and the file name the client gave, if any."""

    data: bytes
    filename: str | None = None


@dataclass(frozen=True)
class ImageUpload:
    data: bytes
    ext: str  # from the bytes: jpg, png, gif or webp


def max_upload_bytes() -> int:
    return config.settings().upload_max_bytes


def read_form(request: Request) -> dict[str, FormPart]:
    """The parts of a multipart/form-data body by field name (the first of each name).

    413 when the body is larger than an image of the largest size plus the form's
    overhead; 400 when it is not multipart/form-data with a boundary.
    """
    from multipart import MultipartError, MultipartParser, parse_options_header

    body = request.raw_body or b""
    if isinstance(body, str):
        body = body.encode("utf-8")
    if len(body) > max_upload_bytes() + FORM_OVERHEAD_BYTES:
        raise PayloadTooLarge(_too_large_message())
    content_type, options = parse_options_header(request.headers.get("content-type") or "")
    boundary = options.get("boundary")
    if content_type != "multipart/form-data" or not boundary:
        raise ValidationError(NOT_MULTIPART)
    limit = len(body) + 1  # the body is in memory already: never spool parts to disk
    parser = MultipartParser(
        io.BytesIO(body),
        boundary,
        content_length=len(body),
        part_limit=MAX_PARTS,
        spool_limit=limit,
        memory_limit=limit,
    )
    parts: dict[str, FormPart] = {}
    try:
        for part in parser:
            if part.name and part.name not in parts:
                parts[part.name] = FormPart(part.raw, part.filename or None)
            part.close()
    except MultipartError:
        raise ValidationError(NOT_MULTIPART) from None
    return parts


def image_type(data: bytes) -> str | None:
    """The extension (jpg, png, gif, webp) of a JPEG, PNG, GIF or WebP image, by its bytes."""
    for signatures, ext in IMAGE_TYPES:
        if all(data[offset : offset + len(sig)] == sig for sig, offset in signatures):
            return ext
    return None


def image_from_part(value: object) -> ImageUpload:
    """Validate a form part as an image: not empty, not too large, an image by its bytes."""
    data = value.data if isinstance(value, FormPart) else None
    if data is None:
        raise ValueError("Upload a file.")
    if not data:
        raise ValueError("The submitted file is empty.")
    if len(data) > max_upload_bytes():
        raise PayloadTooLarge(_too_large_message())
    ext = image_type(data) if len(data) >= SHORTEST_IMAGE else None
    if ext is None:
        raise ValueError(NOT_AN_IMAGE)
    return ImageUpload(reencoded(data, ext), ext)


class _TooManyPixels(Exception):
    pass


def reencoded(data: bytes, ext: str) -> bytes:
    """The image decoded by Pillow (only the decoder of `ext`) and written again.

    ValueError(NOT_AN_IMAGE) when it does not verify or decode (truncated, corrupt, an
    image signature followed by something else), ValueError(TOO_MANY_PIXELS) past
    MAX_IMAGE_PIXELS. Pillow is imported here, on first upload: not at cold start.
    """
    from PIL import Image

    pillow_format = PILLOW_FORMATS[ext]
    try:
        with Image.open(io.BytesIO(data), formats=[pillow_format]) as probe:
            probe.verify()  # structure and checksums; the image must be opened again after
        with Image.open(io.BytesIO(data), formats=[pillow_format]) as image:
            if image.width * image.height > MAX_IMAGE_PIXELS:  # the header alone
                raise _TooManyPixels()
            if image.width * image.height * getattr(image, "n_frames", 1) > MAX_IMAGE_PIXELS:
                raise _TooManyPixels()
            image.load()
            return _written(image, pillow_format)
    except (_TooManyPixels, Image.DecompressionBombError):
        raise ValueError(TOO_MANY_PIXELS) from None
    except Exception:  # hostile input: any decoder failure means "not an image"
        raise ValueError(NOT_AN_IMAGE) from None


def _written(image: Any, pillow_format: str) -> bytes:
    """Pixels (every frame of an animation), transparency and colour profile; no metadata."""
    from PIL import ImageOps

    options: dict[str, Any] = {}
    for key in ("icc_profile", "transparency", "duration", "loop"):
        if image.info.get(key) is not None:
            options[key] = image.info[key]
    if getattr(image, "is_animated", False):
        options["save_all"] = True
    if pillow_format == "JPEG":
        if image.getexif().get(EXIF_ORIENTATION, 1) != 1:
            image = ImageOps.exif_transpose(image)  # upright pixels; EXIF is not kept
            options["quality"] = 90
        else:  # the original's quantisation: no further loss from re-encoding
            options.update(quality="keep", subsampling="keep")
    out = io.BytesIO()
    image.save(out, format=pillow_format, **options)
    return out.getvalue()


def form_text(value: object) -> str:
    """A text field of the form, as UTF-8, outer spaces stripped."""
    if isinstance(value, FormPart):
        try:
            return value.data.decode("utf-8").strip()
        except UnicodeDecodeError:
            raise ValueError("Must be UTF-8 text.") from None
    return str(value)


def _too_large_message() -> str:
    limit = max_upload_bytes()
    return f"The file is too large: at most {limit} bytes ({limit / 1024 / 1024:g} MiB)."
