"""An id, once handed out, is never handed out again (on SQLite too): a purged image's
id went to the next image before the tables were AUTOINCREMENT."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import delete, insert, select

from tests.functional.images.conftest import Media, send_form
from tests.functional.images.forms import image_bytes

IMAGES = "/meiduo_admin/skus/images/"


def test_a_purged_images_id_is_not_given_to_the_next_image(
    client: Any, media: Media, staff: dict[str, str], make_sku: Any
) -> None:
    sku_id = make_sku()
    form = {"sku": str(sku_id), "image": ("a.png", image_bytes("PNG"), "image/png")}
    first = json.loads(send_form(client, "POST", IMAGES, form, staff).body)
    purged = client.http.delete(f"{IMAGES}{first['id']}/?purge=true", headers=staff)
    assert purged.status_code == 204

    second = json.loads(send_form(client, "POST", IMAGES, form, staff).body)

    assert second["id"] > first["id"]
    assert client.http.get(f"{IMAGES}{first['id']}/", headers=staff).status_code == 404


def test_the_highest_id_deleted_is_not_reused(db: Any) -> None:
    from chalicelib.clock import utcnow
    from chalicelib.db.tables import pending_file_deletions as table

    with db.begin() as conn:
        first = conn.execute(insert(table).values(file_id="a", create_time=utcnow()))
        first_id = first.inserted_primary_key[0]
        conn.execute(delete(table))
    with db.begin() as conn:
        conn.execute(insert(table).values(file_id="b", create_time=utcnow()))
        second_id = conn.execute(select(table.c.id)).scalar_one()

    assert second_id > first_id
