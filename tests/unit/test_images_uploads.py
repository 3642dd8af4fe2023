"""Multipart parsing and image validation: images are judged by their bytes."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from pydantic import ValidationError as PydanticValidationError

from chalicelib.errors import PayloadTooLarge, ValidationError
from chalicelib.uploads import (
    FORM_OVERHEAD_BYTES,
    MAX_IMAGE_PIXELS,
    TOO_MANY_PIXELS,
    FormPart,
    ImageUpload,
    image_from_part,
    image_type,
    read_form,
)
from tests.functional.images.forms import (
    ELF_EXECUTABLE,
    HTML,
    SIGNATURE_THEN_HTML,
    WINDOWS_EXECUTABLE,
    image_bytes,
    multipart,
    noise_png,
    png_declaring,
)


def request(body: bytes, content_type: str, *, base64_encoded: bool = False) -> Any:
    """A Chalice request as built from an API Gateway proxy event."""
    from chalice.app import Request

    return Request(
        {
            "multiValueQueryStringParameters": None,
            "headers": {"content-type": content_type},
            "pathParameters": None,
            "requestContext": {"httpMethod": "PUT", "resourcePath": "/user/avatar"},
            "body": base64.b64encode(body).decode() if base64_encoded else body,
            "isBase64Encoded": base64_encoded,
            "stageVariables": None,
        }
    )


@pytest.mark.parametrize(
    ("fmt", "expected"), [("JPEG", "jpg"), ("PNG", "png"), ("GIF", "gif"), ("WEBP", "webp")]
)
def test_each_image_type_is_known_by_its_bytes(fmt: str, expected: str) -> None:
    assert image_type(image_bytes(fmt)) == expected


@pytest.mark.parametrize(
    "data",
    [
        ELF_EXECUTABLE,
        WINDOWS_EXECUTABLE,
        b"%PDF-1.7\n",
        b"<svg xmlns='http://www.w3.org/2000/svg'/>",
        b"RIFF\x24\x00\x00\x00WAVEfmt ",  # RIFF, but audio
        b"GIF90a" + b"\0" * 10,
        b"",
    ],
    ids=["elf", "exe", "pdf", "svg", "wav", "not-gif", "empty"],
)
def test_other_bytes_are_not_images(data: bytes) -> None:
    assert image_type(data) is None


def test_a_part_is_validated_by_its_bytes_whatever_it_is_called() -> None:
    png = image_bytes("PNG")

    assert image_from_part(FormPart(png, "virus.exe")) == ImageUpload(png, "png")
    with pytest.raises(ValueError, match="Upload a valid image"):
        image_from_part(FormPart(ELF_EXECUTABLE, "cat.jpg"))
    with pytest.raises(ValueError, match="empty"):
        image_from_part(FormPart(b"", "cat.jpg"))


def test_an_image_over_the_limit_is_payload_too_large(monkeypatch: pytest.MonkeyPatch) -> None:
    png = image_bytes("PNG")
    monkeypatch.setenv("UPLOAD_MAX_BYTES", str(len(png)))

    assert image_from_part(FormPart(png)).data == png
    with pytest.raises(PayloadTooLarge):
        image_from_part(FormPart(png + b"\0"))


def test_read_form_gives_every_field_by_name_and_the_first_of_repeats() -> None:
    png = image_bytes("PNG")
    body, content_type = multipart({"sku": "12", "image": ("a.png", png, "image/png")})
    repeated = body.replace(b'name="sku"', b'name="image"', 1)

    form = read_form(request(body, content_type))
    first_wins = read_form(request(repeated, content_type))

    assert form == {"sku": FormPart(b"12"), "image": FormPart(png, "a.png")}
    assert first_wins == {"image": FormPart(b"12")}


def test_a_base64_encoded_body_is_decoded_before_parsing() -> None:
    png = image_bytes("PNG") + bytes(range(256))
    body, content_type = multipart({"avatar": ("a.png", png, "image/png")})

    form = read_form(request(body, content_type, base64_encoded=True))

    assert form["avatar"].data == png


@pytest.mark.parametrize(
    "content_type",
    ["multipart/form-data", "application/json", "", "multipart/mixed; boundary=x"],
)
def test_a_body_that_is_not_multipart_form_data_is_400(content_type: str) -> None:
    body, _ = multipart({"sku": "1"})

    with pytest.raises(ValidationError) as raised:
        read_form(request(body, content_type))

    assert raised.value.errors == {
        "non_field_errors": ["The request body is not valid multipart/form-data."]
    }


def test_a_truncated_body_is_400() -> None:
    body, content_type = multipart({"avatar": ("a.png", image_bytes("PNG"), "image/png")})

    with pytest.raises(ValidationError):
        read_form(request(body[:-20], content_type))


def test_a_body_far_over_the_limit_is_refused_before_parsing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("UPLOAD_MAX_BYTES", "1000")
    body = b"x" * (1000 + FORM_OVERHEAD_BYTES + 1)

    with pytest.raises(PayloadTooLarge):
        read_form(request(body, "multipart/form-data; boundary=whatever"))


def test_form_models_name_every_bad_field() -> None:
    from chalicelib.api.models.admin_images import ChangedSkuImage, NewSkuImage
    from chalicelib.api.routing import field_errors

    with pytest.raises(PydanticValidationError) as raised:
        NewSkuImage.model_validate({"sku": FormPart(b"0"), "image": FormPart(b"MZ" * 20)})
    with pytest.raises(PydanticValidationError) as nothing:
        ChangedSkuImage.model_validate({})

    errors = field_errors(raised.value)
    assert errors["sku"] == ["A valid integer is required."]
    assert errors["image"][0].startswith("Upload a valid image")
    assert field_errors(nothing.value) == {"non_field_errors": ["Send an image, a sku, or both."]}
    assert (
        NewSkuImage.model_validate(
            {"sku": FormPart(b" 7 "), "image": FormPart(image_bytes("GIF"), "x")}
        ).sku
        == 7
    )


# --- decoded, bounded and written again (Pillow) ----------------------------------------


@pytest.mark.parametrize("ext", ["png", "jpg", "gif", "webp"])
def test_an_image_signature_followed_by_html_is_not_an_image(ext: str) -> None:
    data = SIGNATURE_THEN_HTML[ext]
    assert image_type(data) == ext  # the signature alone would pass

    with pytest.raises(ValueError, match="Upload a valid image"):
        image_from_part(FormPart(data, f"a.{ext}"))


@pytest.mark.parametrize(("width", "height"), [(60000, 60000), (5001, 5000), (25_000_001, 1)])
def test_an_image_declaring_too_many_pixels_is_refused(width: int, height: int) -> None:
    data = png_declaring(width, height)
    assert len(data) < 200

    with pytest.raises(ValueError) as raised:
        image_from_part(FormPart(data, "tiny.png"))

    assert str(raised.value) == TOO_MANY_PIXELS


def test_an_image_at_the_pixel_limit_is_judged_by_its_pixels_not_its_size() -> None:
    # 5000 x 5000 is allowed; this header has no pixels behind it, so it does not decode
    with pytest.raises(ValueError, match="Upload a valid image"):
        image_from_part(FormPart(png_declaring(5000, 5000)))
    assert MAX_IMAGE_PIXELS == 5000 * 5000


def test_a_truncated_image_is_not_an_image() -> None:
    png = noise_png((64, 64))

    with pytest.raises(ValueError, match="Upload a valid image"):
        image_from_part(FormPart(png[: len(png) // 2]))


def test_bytes_after_the_image_are_not_kept() -> None:
    png = image_bytes("PNG")

    upload = image_from_part(FormPart(png + HTML, "a.png"))

    assert upload == ImageUpload(png, "png")


def test_metadata_is_dropped_and_a_jpeg_is_stored_upright() -> None:
    import io

    from PIL import Image

    # given a 4x2 JPEG whose EXIF says "rotate 90°" and holds a description
    exif = Image.Exif()
    exif[0x0112] = 6
    exif[0x010E] = "home address: secret"
    out = io.BytesIO()
    Image.new("RGB", (4, 2), "blue").save(out, format="JPEG", exif=exif)

    # when it is uploaded
    stored = image_from_part(FormPart(out.getvalue())).data

    # then what is stored has no EXIF, and its pixels stand upright (2x4)
    assert b"secret" not in stored
    with Image.open(io.BytesIO(stored)) as image:
        assert (image.format, image.size, dict(image.getexif())) == ("JPEG", (2, 4), {})


def test_an_animated_gif_keeps_its_frames() -> None:
    import io

    from PIL import Image

    frames = [Image.new("RGB", (3, 3), color) for color in ("red", "green", "blue")]
    out = io.BytesIO()
    frames[0].save(out, format="GIF", save_all=True, append_images=frames[1:], duration=100)

    stored = image_from_part(FormPart(out.getvalue())).data

    with Image.open(io.BytesIO(stored)) as image:
        assert (image.format, image.n_frames, image.info["duration"]) == ("GIF", 3, 100)
