"""PUT /user/avatar/ on both storages: upload, fetch back, replace, refusals."""

from __future__ import annotations

import json
from typing import Any

import pytest

from chalicelib.uploads import NOT_AN_IMAGE
from tests.functional.images.conftest import Media, send_form
from tests.functional.images.forms import (
    ELF_EXECUTABLE,
    HTML,
    SIGNATURE_THEN_HTML,
    WINDOWS_EXECUTABLE,
    image_bytes,
    multipart,
)


def avatar_of(client: Any, headers: dict[str, str]) -> str | None:
    response = client.http.get("/user/", headers=headers)
    assert response.status_code == 200
    return json.loads(response.body)["avatar"]


def test_an_uploaded_avatar_is_stored_and_served_at_its_absolute_url(
    client: Any, media: Media, shopper: Any
) -> None:
    _user, headers = shopper
    png = image_bytes("PNG")

    response = send_form(
        client, "PUT", "/user/avatar/", {"avatar": ("me.png", png, "image/png")}, headers
    )

    assert response.status_code == 200
    url = json.loads(response.body)["avatar"]
    assert url.startswith(media.media_url) and url.endswith(".png")
    assert avatar_of(client, headers) == url
    assert media.fetch(client, url) == png
    assert media.files() == {media.file_id(url): png}


@pytest.mark.parametrize(
    ("fmt", "ext"), [("JPEG", "jpg"), ("PNG", "png"), ("GIF", "gif"), ("WEBP", "webp")]
)
def test_the_stored_name_is_generated_with_the_extension_of_the_bytes(
    client: Any, media: Media, shopper: Any, fmt: str, ext: str
) -> None:
    _user, headers = shopper
    data = image_bytes(fmt)

    response = send_form(
        client,
        "PUT",
        "/user/avatar/",
        {"avatar": ("../../evil.exe", data, "application/octet-stream")},
        headers,
    )

    assert response.status_code == 200
    file_id = media.file_id(json.loads(response.body)["avatar"])
    assert file_id.endswith("." + ext) and "evil" not in file_id
    assert media.files() == {file_id: data}


def test_replacing_the_avatar_deletes_the_old_file(
    client: Any, media: Media, shopper: Any, db: Any
) -> None:
    _user, headers = shopper
    first, second = image_bytes("PNG", color="red"), image_bytes("JPEG", color="blue")
    old = send_form(
        client, "PUT", "/user/avatar/", {"avatar": ("a.png", first, "image/png")}, headers
    )
    old_url = json.loads(old.body)["avatar"]

    response = send_form(
        client, "PUT", "/user/avatar/", {"avatar": ("b.jpg", second, "image/jpeg")}, headers
    )

    assert response.status_code == 200
    new_url = json.loads(response.body)["avatar"]
    assert new_url != old_url
    assert avatar_of(client, headers) == new_url
    assert media.files() == {media.file_id(new_url): second}
    assert media.fetch(client, new_url) == second
    from tests.functional.images.conftest import pending_deletions

    assert pending_deletions(db) == []


@pytest.mark.parametrize(
    ("part", "message"),
    [
        (("notes.png", b"just some text, not a picture", "image/png"), "Upload a valid image"),
        (("photo.jpg", ELF_EXECUTABLE, "image/jpeg"), "Upload a valid image"),
        (("photo.gif", WINDOWS_EXECUTABLE, "image/gif"), "Upload a valid image"),
        (("empty.png", b"", "image/png"), "The submitted file is empty."),
        (("short.png", b"\x89PNG", "image/png"), "Upload a valid image"),
    ],
    ids=["text", "renamed-elf", "renamed-exe", "empty", "truncated"],
)
def test_a_file_that_is_not_an_image_is_refused_and_nothing_is_written(
    client: Any, media: Media, shopper: Any, part: Any, message: str
) -> None:
    _user, headers = shopper

    response = send_form(client, "PUT", "/user/avatar/", {"avatar": part}, headers)

    assert response.status_code == 400
    errors = json.loads(response.body)
    assert list(errors) == ["avatar"]
    assert errors["avatar"][0].startswith(message)
    assert avatar_of(client, headers) is None
    assert media.files() == {}


def test_a_missing_avatar_field_is_named(client: Any, media: Media, shopper: Any) -> None:
    _user, headers = shopper
    png = image_bytes("PNG")

    response = send_form(
        client, "PUT", "/user/avatar/", {"picture": ("me.png", png, "image/png")}, headers
    )

    assert response.status_code == 400
    assert json.loads(response.body) == {"avatar": ["This field is required."]}
    assert media.files() == {}


def test_a_file_over_the_limit_is_413_and_nothing_is_written(
    client: Any, media: Media, shopper: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    _user, headers = shopper
    png = image_bytes("PNG", size=(64, 64))
    monkeypatch.setenv("UPLOAD_MAX_BYTES", str(len(png) - 1))

    response = send_form(
        client, "PUT", "/user/avatar/", {"avatar": ("big.png", png, "image/png")}, headers
    )

    assert response.status_code == 413
    assert json.loads(response.body)["code"] == "too_large"
    assert avatar_of(client, headers) is None
    assert media.files() == {}


def test_the_default_limit_is_4_mib(client: Any, media: Media, shopper: Any) -> None:
    _user, headers = shopper
    png = image_bytes("PNG")
    at_limit = png + b"\0" * (4 * 1024 * 1024 - len(png))

    too_big = send_form(
        client,
        "PUT",
        "/user/avatar/",
        {"avatar": ("big.png", at_limit + b"\0", "image/png")},
        headers,
    )
    fits = send_form(
        client, "PUT", "/user/avatar/", {"avatar": ("big.png", at_limit, "image/png")}, headers
    )

    assert too_big.status_code == 413
    assert fits.status_code == 200
    # the zeros after the PNG's end are not pixels: the re-encoded image leaves them out
    assert list(media.files().values()) == [png]


def test_a_body_that_is_not_multipart_is_refused(client: Any, media: Media, shopper: Any) -> None:
    _user, headers = shopper
    body, content_type = multipart({"avatar": ("me.png", image_bytes("PNG"), "image/png")})

    as_json = client.http.put(
        "/user/avatar/", body=body, headers={**headers, "Content-Type": "application/json"}
    )
    no_boundary = client.http.put(
        "/user/avatar/", body=body, headers={**headers, "Content-Type": "multipart/form-data"}
    )
    broken = client.http.put(
        "/user/avatar/",
        body=body[: len(body) // 2],
        headers={**headers, "Content-Type": content_type},
    )

    assert as_json.status_code == 415
    assert no_boundary.status_code == 400
    assert json.loads(no_boundary.body) == {
        "non_field_errors": ["The request body is not valid multipart/form-data."]
    }
    assert broken.status_code == 400
    assert media.files() == {}


def test_an_anonymous_upload_is_401(client: Any, media: Media) -> None:
    response = send_form(
        client, "PUT", "/user/avatar/", {"avatar": ("me.png", image_bytes("PNG"), "image/png")}, {}
    )

    assert response.status_code == 401
    assert media.files() == {}


def test_media_files_are_served_with_nosniff(client: Any, shopper: Any) -> None:
    # given an avatar in the local media folder
    _user, headers = shopper
    uploaded = send_form(
        client, "PUT", "/user/avatar/", {"avatar": ("me.png", image_bytes("PNG"), "x")}, headers
    )
    url = json.loads(uploaded.body)["avatar"]

    # when a browser fetches it
    response = client.http.get(
        url.removeprefix("http://testserver"), headers={"Accept": "image/avif,image/webp,*/*;q=0.8"}
    )

    # then it must take the file for the type given, never sniff the bytes
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "image/png"
    assert response.headers["X-Content-Type-Options"] == "nosniff"


@pytest.mark.parametrize("ext", ["png", "jpg", "gif", "webp"])
def test_an_image_signature_followed_by_html_is_refused_as_an_avatar(
    client: Any, media: Media, shopper: Any, ext: str
) -> None:
    # given bytes that start as an image and go on as a web page
    _user, headers = shopper
    part = (f"me.{ext}", SIGNATURE_THEN_HTML[ext], "image/png")

    # when they are sent as an avatar
    response = send_form(client, "PUT", "/user/avatar/", {"avatar": part}, headers)

    # then the field is named, and nothing is stored
    assert response.status_code == 400
    assert json.loads(response.body) == {"avatar": [NOT_AN_IMAGE]}
    assert avatar_of(client, headers) is None
    assert media.files() == {}


def test_an_image_with_a_page_after_its_end_is_stored_without_it(
    client: Any, media: Media, shopper: Any
) -> None:
    _user, headers = shopper
    png = image_bytes("PNG")

    response = send_form(
        client, "PUT", "/user/avatar/", {"avatar": ("me.png", png + HTML, "image/png")}, headers
    )

    assert response.status_code == 200
    assert list(media.files().values()) == [png]
