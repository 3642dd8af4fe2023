"""/meiduo_admin/skus/images/ on both storages: add, list, fetch back, replace, move,
hide, purge; the SKU's default image follows; refused uploads write nothing."""

from __future__ import annotations

import json
from typing import Any

import pytest

from chalicelib.uploads import NOT_AN_IMAGE, TOO_MANY_PIXELS
from tests.functional.images.conftest import (
    Media,
    image_rows,
    pending_deletions,
    send_form,
    sku_row,
)
from tests.functional.images.forms import (
    ELF_EXECUTABLE,
    SIGNATURE_THEN_HTML,
    image_bytes,
    png_declaring,
)

IMAGES = "/meiduo_admin/skus/images/"


def add(client: Any, staff: dict[str, str], sku_id: int, data: bytes, name: str = "a.png") -> Any:
    return send_form(
        client, "POST", IMAGES, {"sku": str(sku_id), "image": (name, data, "image/png")}, staff
    )


def added(client: Any, staff: dict[str, str], sku_id: int, data: bytes) -> dict[str, Any]:
    response = add(client, staff, sku_id, data)
    assert response.status_code == 201, response.body
    return json.loads(response.body)


def test_an_added_image_is_stored_served_and_becomes_the_default(
    client: Any, media: Media, staff: dict[str, str], make_sku: Any, db: Any
) -> None:
    sku_id = make_sku()
    jpeg = image_bytes("JPEG")

    response = add(client, staff, sku_id, jpeg, name="front.jpg")

    assert response.status_code == 201
    body = json.loads(response.body)
    assert body["sku"] == sku_id and isinstance(body["id"], int)
    file_id = media.file_id(body["image"])
    assert file_id.endswith(".jpg")
    assert media.fetch(client, body["image"]) == jpeg
    assert media.files() == {file_id: jpeg}
    assert sku_row(db, sku_id).default_image == file_id
    assert [(row.id, row.sku_id, row.image) for row in image_rows(db)] == [
        (body["id"], sku_id, file_id)
    ]


def test_a_later_image_leaves_the_default_alone(
    client: Any, media: Media, staff: dict[str, str], make_sku: Any, db: Any
) -> None:
    sku_id = make_sku()
    first = added(client, staff, sku_id, image_bytes("PNG", color="red"))

    added(client, staff, sku_id, image_bytes("PNG", color="blue"))

    assert sku_row(db, sku_id).default_image == media.file_id(first["image"])


def test_list_and_get_show_visible_images_with_absolute_urls(
    client: Any, media: Media, staff: dict[str, str], make_sku: Any
) -> None:
    sku_id = make_sku()
    images = [added(client, staff, sku_id, image_bytes("PNG", color=c)) for c in ("red", "blue")]

    listed = client.http.get(IMAGES + "?page=1&pagesize=1", headers=staff)
    one = client.http.get(f"{IMAGES}{images[1]['id']}/", headers=staff)

    assert listed.status_code == 200
    assert json.loads(listed.body) == {
        "count": 2,
        "lists": [images[0]],
        "page": 1,
        "pages": 2,
        "pagesize": 1,
    }
    assert one.status_code == 200
    assert json.loads(one.body) == images[1]
    assert images[1]["image"].startswith(media.media_url)


def test_replacing_the_file_deletes_the_old_one_and_updates_the_default(
    client: Any, media: Media, staff: dict[str, str], make_sku: Any, db: Any
) -> None:
    sku_id = make_sku()
    image = added(client, staff, sku_id, image_bytes("PNG", color="red"))
    gif = image_bytes("GIF", color="green")

    response = send_form(
        client, "PUT", f"{IMAGES}{image['id']}/", {"image": ("new.gif", gif, "image/gif")}, staff
    )

    assert response.status_code == 200
    body = json.loads(response.body)
    assert body["id"] == image["id"] and body["sku"] == sku_id
    new_file = media.file_id(body["image"])
    assert new_file.endswith(".gif")
    assert media.files() == {new_file: gif}
    assert media.fetch(client, body["image"]) == gif
    assert sku_row(db, sku_id).default_image == new_file
    assert pending_deletions(db) == []


def test_moving_an_image_moves_the_defaults_along(
    client: Any, media: Media, staff: dict[str, str], make_sku: Any, db: Any
) -> None:
    washer, fridge = make_sku(name="洗衣机"), make_sku(name="冰箱")
    first = added(client, staff, washer, image_bytes("PNG", color="red"))
    second = added(client, staff, washer, image_bytes("PNG", color="blue"))

    response = send_form(client, "PUT", f"{IMAGES}{first['id']}/", {"sku": str(fridge)}, staff)

    assert response.status_code == 200
    assert json.loads(response.body) == {**first, "sku": fridge}
    assert sku_row(db, washer).default_image == media.file_id(second["image"])
    assert sku_row(db, fridge).default_image == media.file_id(first["image"])
    assert len(media.files()) == 2


def test_hiding_keeps_the_file_and_passes_the_default_on(
    client: Any, media: Media, staff: dict[str, str], make_sku: Any, db: Any
) -> None:
    sku_id = make_sku()
    first = added(client, staff, sku_id, image_bytes("PNG", color="red"))
    second = added(client, staff, sku_id, image_bytes("PNG", color="blue"))
    files_before = media.files()

    response = client.http.delete(f"{IMAGES}{first['id']}/", headers=staff)

    assert response.status_code == 204
    assert media.files() == files_before
    assert client.http.get(f"{IMAGES}{first['id']}/", headers=staff).status_code == 404
    assert client.http.delete(f"{IMAGES}{first['id']}/", headers=staff).status_code == 404
    listed = json.loads(client.http.get(IMAGES, headers=staff).body)
    assert listed["lists"] == [second] and listed["count"] == 1
    assert sku_row(db, sku_id).default_image == media.file_id(second["image"])
    assert [row.is_hidden for row in image_rows(db)] == [True, False]


def test_hiding_the_last_image_leaves_the_sku_without_a_default(
    client: Any, media: Media, staff: dict[str, str], make_sku: Any, db: Any
) -> None:
    sku_id = make_sku()
    image = added(client, staff, sku_id, image_bytes("PNG"))

    assert client.http.delete(f"{IMAGES}{image['id']}/", headers=staff).status_code == 204

    assert sku_row(db, sku_id).default_image is None
    assert len(media.files()) == 1


def test_purging_removes_the_row_then_the_file(
    client: Any, media: Media, staff: dict[str, str], make_sku: Any, db: Any
) -> None:
    sku_id = make_sku()
    first = added(client, staff, sku_id, image_bytes("PNG", color="red"))
    second = added(client, staff, sku_id, image_bytes("PNG", color="blue"))

    response = client.http.delete(f"{IMAGES}{first['id']}/?purge=true", headers=staff)

    assert response.status_code == 204
    assert [row.id for row in image_rows(db)] == [second["id"]]
    assert set(media.files()) == {media.file_id(second["image"])}
    assert sku_row(db, sku_id).default_image == media.file_id(second["image"])
    assert pending_deletions(db) == []


def test_a_hidden_image_can_still_be_purged(
    client: Any, media: Media, staff: dict[str, str], make_sku: Any, db: Any
) -> None:
    sku_id = make_sku()
    image = added(client, staff, sku_id, image_bytes("PNG"))
    client.http.delete(f"{IMAGES}{image['id']}/", headers=staff)

    response = client.http.delete(f"{IMAGES}{image['id']}/?purge=1", headers=staff)

    assert response.status_code == 204
    assert image_rows(db) == []
    assert media.files() == {}


def test_a_file_another_row_still_uses_is_not_deleted(
    client: Any, media: Media, staff: dict[str, str], make_sku: Any, db: Any
) -> None:
    sku_id = make_sku()
    image = added(client, staff, sku_id, image_bytes("PNG"))
    shared = media.file_id(image["image"])
    other = make_sku(default_image=shared, name="同图商品")

    client.http.delete(f"{IMAGES}{image['id']}/?purge=true", headers=staff)

    assert set(media.files()) == {shared}
    assert sku_row(db, other).default_image == shared


def test_an_unknown_sku_is_400_and_the_stored_file_is_deleted_again(
    client: Any, media: Media, staff: dict[str, str], db: Any
) -> None:
    response = add(client, staff, 999999, image_bytes("PNG"))

    assert response.status_code == 400
    assert json.loads(response.body) == {"sku": ["No SKU has the id 999999."]}
    assert image_rows(db) == []
    assert media.files() == {}
    assert pending_deletions(db) == []


def test_moving_to_an_unknown_sku_with_a_new_file_changes_nothing(
    client: Any, media: Media, staff: dict[str, str], make_sku: Any, db: Any
) -> None:
    sku_id = make_sku()
    image = added(client, staff, sku_id, image_bytes("PNG"))
    before = media.files()

    response = send_form(
        client,
        "PUT",
        f"{IMAGES}{image['id']}/",
        {"sku": "424242", "image": ("b.jpg", image_bytes("JPEG"), "image/jpeg")},
        staff,
    )

    assert response.status_code == 400
    assert json.loads(response.body) == {"sku": ["No SKU has the id 424242."]}
    assert media.files() == before
    assert [(row.sku_id, row.image) for row in image_rows(db)] == [
        (sku_id, media.file_id(image["image"]))
    ]


def test_every_bad_field_is_named_and_nothing_is_written(
    client: Any, media: Media, staff: dict[str, str], db: Any
) -> None:
    response = send_form(
        client,
        "POST",
        IMAGES,
        {"sku": "x1", "image": ("a.jpg", ELF_EXECUTABLE, "image/jpeg")},
        staff,
    )
    missing = send_form(client, "POST", IMAGES, {}, staff)

    assert response.status_code == 400
    errors = json.loads(response.body)
    assert errors["sku"] == ["A valid integer is required."]
    assert errors["image"][0].startswith("Upload a valid image")
    assert json.loads(missing.body) == {
        "sku": ["This field is required."],
        "image": ["This field is required."],
    }
    assert image_rows(db) == []
    assert media.files() == {}


def test_a_change_needs_an_image_or_a_sku(
    client: Any, media: Media, staff: dict[str, str], make_sku: Any
) -> None:
    image = added(client, staff, make_sku(), image_bytes("PNG"))

    response = send_form(client, "PUT", f"{IMAGES}{image['id']}/", {"note": "hi"}, staff)

    assert response.status_code == 400
    assert json.loads(response.body) == {"non_field_errors": ["Send an image, a sku, or both."]}


def test_an_oversized_image_is_413_and_nothing_is_written(
    client: Any,
    media: Media,
    staff: dict[str, str],
    make_sku: Any,
    db: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sku_id = make_sku()
    png = image_bytes("PNG", size=(64, 64))
    monkeypatch.setenv("UPLOAD_MAX_BYTES", str(len(png) - 1))

    response = add(client, staff, sku_id, png)

    assert response.status_code == 413
    assert image_rows(db) == []
    assert media.files() == {}


def test_purge_must_be_true_or_false(
    client: Any, media: Media, staff: dict[str, str], make_sku: Any
) -> None:
    image = added(client, staff, make_sku(), image_bytes("PNG"))

    response = client.http.delete(f"{IMAGES}{image['id']}/?purge=yes-please", headers=staff)

    assert response.status_code == 400
    assert json.loads(response.body) == {"purge": ["Must be true or false."]}
    assert client.http.get(f"{IMAGES}{image['id']}/", headers=staff).status_code == 200


def test_unknown_ids_are_404(client: Any, media: Media, staff: dict[str, str]) -> None:
    assert client.http.get(f"{IMAGES}77/", headers=staff).status_code == 404
    assert client.http.get(f"{IMAGES}abc/", headers=staff).status_code == 404
    assert client.http.delete(f"{IMAGES}77/?purge=true", headers=staff).status_code == 404
    put = send_form(client, "PUT", f"{IMAGES}77/", {"sku": "1"}, staff)
    assert put.status_code == 404


def test_only_staff_may_manage_images(
    client: Any, media: Media, shopper: Any, make_sku: Any, db: Any
) -> None:
    _user, headers = shopper
    sku_id = make_sku()

    anonymous = add(client, {}, sku_id, image_bytes("PNG"))
    not_staff = add(client, headers, sku_id, image_bytes("PNG"))
    listing = client.http.get(IMAGES, headers=headers)

    assert anonymous.status_code == 401
    assert not_staff.status_code == 403
    assert listing.status_code == 403
    assert image_rows(db) == []
    assert media.files() == {}


def test_image_changes_drop_the_cached_home_page(
    client: Any, media: Media, staff: dict[str, str], make_sku: Any, redis: Any
) -> None:
    catalog = pytest.importorskip("chalicelib.services.catalog")
    if not hasattr(catalog, "invalidate_home_cache"):
        pytest.skip("the catalogue offers no home page cache")
    sku_id = make_sku()
    redis.set(catalog.HOME_CACHE_KEY, "{}")

    image = added(client, staff, sku_id, image_bytes("PNG"))
    after_add = redis.get(catalog.HOME_CACHE_KEY)
    redis.set(catalog.HOME_CACHE_KEY, "{}")
    client.http.delete(f"{IMAGES}{image['id']}/", headers=staff)

    assert after_add is None
    assert redis.get(catalog.HOME_CACHE_KEY) is None


def test_a_sku_image_declaring_60000x60000_pixels_is_refused(
    client: Any, media: Media, staff: dict[str, str], make_sku: Any, db: Any
) -> None:
    # given a 100-byte PNG whose header claims 60000 x 60000 pixels
    sku_id = make_sku()

    # when staff add it to a SKU
    response = add(client, staff, sku_id, png_declaring(60000, 60000))

    # then the image field is named, and nothing is written
    assert response.status_code == 400
    assert json.loads(response.body) == {"image": [TOO_MANY_PIXELS]}
    assert image_rows(db) == []
    assert media.files() == {}
    assert sku_row(db, sku_id).default_image is None


def test_a_sku_image_that_is_a_signature_and_a_script_is_refused(
    client: Any, media: Media, staff: dict[str, str], make_sku: Any, db: Any
) -> None:
    response = add(client, staff, make_sku(), SIGNATURE_THEN_HTML["gif"], name="x.gif")

    assert response.status_code == 400
    assert json.loads(response.body) == {"image": [NOT_AN_IMAGE]}
    assert image_rows(db) == []
    assert media.files() == {}
