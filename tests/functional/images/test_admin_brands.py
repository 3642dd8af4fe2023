"""/meiduo_admin/goods/brands/ on both storages: multipart as the console sends it, logos
validated and stored as SKU images are, replaced logos deleted after the commit, unique
names, and 409 in_use for a brand a live SPU has."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import select

from chalicelib.db.engine import transaction
from chalicelib.db.tables import brands
from chalicelib.uploads import NOT_AN_IMAGE, TOO_MANY_PIXELS
from tests import factories
from tests.functional.images.conftest import Media, pending_deletions, send_form
from tests.functional.images.forms import SIGNATURE_THEN_HTML, image_bytes, png_declaring

BRANDS = "/meiduo_admin/goods/brands/"


@pytest.fixture
def admin(make_user: Any, auth_headers: Any) -> dict[str, str]:
    """A superuser's Authorization header (each request sets its own Content-Type)."""
    headers = auth_headers(make_user(is_staff=True, is_superuser=True))
    return {"Authorization": headers["Authorization"]}


def brand_form(name: str = "海尔", letter: str = "H", logo: bytes | None = None) -> dict[str, Any]:
    """The console's FormData: name, first_letter, and the chosen file."""
    fields: dict[str, Any] = {"name": name, "first_letter": letter}
    if logo is not None:
        fields["logo"] = ("haier.png", logo, "image/png")
    return fields


def create(client: Any, admin: dict[str, str], **form: Any) -> Any:
    form.setdefault("logo", image_bytes("PNG"))
    return send_form(client, "POST", BRANDS, brand_form(**form), admin)


def created(client: Any, admin: dict[str, str], **form: Any) -> dict[str, Any]:
    response = create(client, admin, **form)
    assert response.status_code == 201, response.body
    return dict(json.loads(response.body))


def brand_rows(db: Any) -> list[Any]:
    with db.connect() as conn:
        return list(conn.execute(select(brands).order_by(brands.c.id)).all())


def test_a_new_brand_stores_its_logo_and_is_listed(
    client: Any, media: Media, admin: dict[str, str], db: Any
) -> None:
    png = image_bytes("PNG", color="blue")

    response = create(client, admin, name="海尔", letter="h", logo=png)

    assert response.status_code == 201
    body = json.loads(response.body)
    file_id = media.file_id(body["logo"])
    assert body == {"id": body["id"], "name": "海尔", "logo": body["logo"], "first_letter": "H"}
    assert file_id.endswith(".png") and media.fetch(client, body["logo"]) == png
    assert media.files() == {file_id: png}
    listed = json.loads(client.http.get(BRANDS + "?pagesize=5", headers=admin).body)
    assert listed == {"count": 1, "lists": [body], "page": 1, "pages": 1, "pagesize": 5}
    one = json.loads(client.http.get(f"{BRANDS}{body['id']}/", headers=admin).body)
    assert one == body
    simple = client.http.get(BRANDS + "simple/", headers=admin)
    assert json.loads(simple.body) == [{"id": body["id"], "name": "海尔"}]


def test_a_change_without_a_logo_keeps_it_and_with_one_replaces_it(
    client: Any, media: Media, admin: dict[str, str], db: Any
) -> None:
    brand = created(client, admin, logo=image_bytes("PNG", color="red"))
    path = f"{BRANDS}{brand['id']}/"

    renamed = send_form(client, "PUT", path, brand_form("海尔智家", "H"), admin)

    assert renamed.status_code == 200, renamed.body
    assert json.loads(renamed.body) == {**brand, "name": "海尔智家"}
    jpeg = image_bytes("JPEG")
    replaced = send_form(client, "PUT", path, brand_form("海尔智家", "Z", jpeg), admin)
    assert replaced.status_code == 200, replaced.body
    body = json.loads(replaced.body)
    assert (body["name"], body["first_letter"]) == ("海尔智家", "Z")
    new_file = media.file_id(body["logo"])
    assert new_file.endswith(".jpg") and media.files() == {new_file: jpeg}  # the old one went
    assert pending_deletions(db) == []


@pytest.mark.parametrize(
    ("form", "errors"),
    [
        ({"name": ""}, ["name"]),
        ({"name": "名" * 21}, ["name"]),
        ({"letter": "AB"}, ["first_letter"]),
        ({"letter": "1"}, ["first_letter"]),
        ({"letter": "Ä"}, ["first_letter"]),
        ({"letter": ""}, ["first_letter"]),
        ({"logo": b""}, ["logo"]),
        ({"logo": SIGNATURE_THEN_HTML["png"]}, ["logo"]),
        ({"logo": png_declaring(60_000, 60_000)}, ["logo"]),
        ({"name": "", "letter": "", "logo": b"GIF89a"}, ["first_letter", "logo", "name"]),
    ],
)
def test_bad_fields_are_named_and_nothing_is_written(
    client: Any, media: Media, admin: dict[str, str], db: Any, form: Any, errors: list[str]
) -> None:
    response = create(client, admin, **form)

    assert response.status_code == 400, response.body
    assert sorted(json.loads(response.body)) == errors
    assert brand_rows(db) == [] and media.files() == {}


def test_logo_messages_are_those_of_sku_images(
    client: Any, media: Media, admin: dict[str, str]
) -> None:
    script = create(client, admin, logo=SIGNATURE_THEN_HTML["png"])
    huge = create(client, admin, logo=png_declaring(60_000, 60_000))
    missing = send_form(client, "POST", BRANDS, brand_form(), admin)

    assert json.loads(script.body) == {"logo": [NOT_AN_IMAGE]}
    assert json.loads(huge.body) == {"logo": [TOO_MANY_PIXELS]}
    assert json.loads(missing.body) == {"logo": ["This field is required."]}


def test_a_taken_name_is_400_and_the_stored_logo_is_deleted_again(
    client: Any, media: Media, admin: dict[str, str], db: Any
) -> None:
    first = created(client, admin, name="美的")
    before, files = brand_rows(db), media.files()
    other = created(client, admin, name="格力")

    taken = create(client, admin, name="美的", logo=image_bytes("JPEG"))
    renamed = send_form(
        client, "PUT", f"{BRANDS}{other['id']}/", brand_form("美的", "M", image_bytes("GIF")), admin
    )

    assert (taken.status_code, json.loads(taken.body)) == (
        400,
        {"name": ["A brand with this name already exists."]},
    )
    assert renamed.status_code == 400 and list(json.loads(renamed.body)) == ["name"]
    assert brand_rows(db)[: len(before)] == before and len(brand_rows(db)) == 2
    assert set(files) < set(media.files()) and len(media.files()) == 2
    assert first["id"] != other["id"]


def test_a_brand_a_live_spu_has_is_409_in_use_until_the_spu_is_deleted(
    client: Any, media: Media, admin: dict[str, str], db: Any
) -> None:
    brand = created(client, admin, name="小天鹅")
    path = f"{BRANDS}{brand['id']}/"
    with transaction() as conn:
        spu = factories.spu(conn, brand_id=brand["id"])
    before, files = brand_rows(db), media.files()

    refused = client.http.delete(path, headers=admin)

    assert refused.status_code == 409
    assert json.loads(refused.body)["code"] == "in_use"
    assert brand_rows(db) == before and media.files() == files
    assert client.http.delete(f"/meiduo_admin/goods/{spu}/", headers=admin).status_code == 204
    assert client.http.delete(path, headers=admin).status_code == 204
    assert client.http.get(path, headers=admin).status_code == 404
    assert client.http.delete(path, headers=admin).status_code == 404
    listed = json.loads(client.http.get(BRANDS, headers=admin).body)
    assert listed["lists"] == [] and media.files() == files  # the logo stays, for history
    assert created(client, admin, name="小天鹅")["id"] != brand["id"]  # the name is free again


@pytest.mark.parametrize("brand_id", ["987654", "abc"])
def test_unknown_brands_are_404_and_nothing_is_stored(
    client: Any, media: Media, admin: dict[str, str], brand_id: str
) -> None:
    path = f"{BRANDS}{brand_id}/"
    assert client.http.get(path, headers=admin).status_code == 404
    assert send_form(client, "PUT", path, brand_form(logo=image_bytes()), admin).status_code == 404
    assert client.http.delete(path, headers=admin).status_code == 404
    assert media.files() == {}


def test_an_empty_logo_part_keeps_the_logo(
    client: Any, media: Media, admin: dict[str, str]
) -> None:
    brand = created(client, admin)
    files = media.files()
    fields = {**brand_form("海尔", "H"), "logo": ("", b"", "application/octet-stream")}

    response = send_form(client, "PUT", f"{BRANDS}{brand['id']}/", fields, admin)

    assert (response.status_code, json.loads(response.body)) == (200, brand)
    assert media.files() == files
