"""A delete racing a write that starts using the row, on real MariaDB only: whichever
commits first, the other sees it. A SKU never ends up on a deleted option, specification
or SPU, nor an SPU on a deleted brand (services/goods.py, services/admin_skus.py).

Two writes of one unique name (a brand among live brands, a specification of an SPU, an
option of a specification, a channel of a category) at once: the second waits for the
first and is refused by name; two deletes of one permission, group or staff user: the
second finds nothing (services/goods.py, services/permissions.py, services/staff.py)."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import Connection, select

from chalicelib import resources
from chalicelib.db.engine import transaction
from chalicelib.db.tables import sku_spec_options, skus, spec_options, spu_specs, spus
from chalicelib.errors import ApiError
from chalicelib.services import admin_skus, goods, permissions, staff
from chalicelib.uploads import ImageUpload
from tests import factories
from tests.functional.images.forms import image_bytes

pytestmark = pytest.mark.skipif(
    not os.environ.get("TEST_DATABASE_URL"),
    reason="row locks need a real MariaDB (TEST_DATABASE_URL)",
)

Step = Callable[[Connection], Any]


def race(first: Step, second: Step) -> tuple[Any, Any]:
    """Run `first` in a unit that stays open until `second` (in its own unit, on another
    thread) has had time to reach the lock `first` holds; then commit `first`. What each
    returned or raised."""
    holding, release = threading.Event(), threading.Event()
    results: dict[str, Any] = {}

    def run(name: str, step: Step, hold: bool) -> None:
        try:
            with transaction() as conn:
                results[name] = step(conn)
                if hold:
                    holding.set()
                    release.wait(10)
        except ApiError as exc:
            results[name] = exc
        finally:
            holding.set()

    a = threading.Thread(target=run, args=("first", first, True))
    a.start()
    holding.wait(10)
    b = threading.Thread(target=run, args=("second", second, False))
    b.start()
    time.sleep(0.5)  # the second waits on the first's row lock
    release.set()
    a.join(15)
    b.join(15)
    return results["first"], results["second"]


@pytest.fixture
def spu(database_url: str) -> dict[str, int]:
    with transaction() as conn:
        brand = factories.brand(conn)
        spu_id = factories.spu(conn, brand_id=brand)
        spec = factories.spec(conn, spu_id, "颜色")
        option = factories.option(conn, spec, "白色")
        category = conn.scalar(select(spus.c.category3_id).where(spus.c.id == spu_id))
    return {"brand": brand, "spu": spu_id, "spec": spec, "option": option, "category": category}


def new_sku(s: dict[str, int]) -> Step:
    fields = admin_skus.SkuFields(
        name="白色款",
        caption="",
        price=100,
        cost_price=None,
        market_price=None,
        stock=1,
        category_id=s["category"],
        spu_id=s["spu"],
        is_launched=True,
        specs=[(s["spec"], s["option"])],
    )
    return lambda conn: admin_skus.create_sku(conn, resources.redis(), fields)["id"]


def live_choices_on_deleted_rows() -> list[Any]:
    with transaction() as conn:
        return list(
            conn.execute(
                select(sku_spec_options.c.sku_id)
                .join(skus, skus.c.id == sku_spec_options.c.sku_id)
                .join(spec_options, spec_options.c.id == sku_spec_options.c.option_id)
                .join(spu_specs, spu_specs.c.id == sku_spec_options.c.spec_id)
                .join(spus, spus.c.id == skus.c.spu_id)
                .where(
                    skus.c.is_deleted.is_(False),
                    spec_options.c.is_deleted | spu_specs.c.is_deleted | spus.c.is_deleted,
                )
            ).all()
        )


@pytest.mark.parametrize("deleted", ["option", "spec", "spu"])
def test_a_delete_waiting_on_a_sku_write_sees_the_sku(spu: dict[str, int], deleted: str) -> None:
    delete = {
        "option": lambda conn: goods.delete_option(conn, spu["option"]),
        "spec": lambda conn: goods.delete_spec(conn, spu["spec"]),
        "spu": lambda conn: goods.delete_spu(conn, spu["spu"]),
    }[deleted]

    sku_id, refused = race(new_sku(spu), delete)

    assert isinstance(sku_id, int)
    assert (refused.status_code, refused.code) == (409, "in_use")
    assert live_choices_on_deleted_rows() == []


@pytest.mark.parametrize("deleted", ["option", "spec", "spu"])
def test_a_sku_write_waiting_on_a_delete_is_refused(spu: dict[str, int], deleted: str) -> None:
    delete = {
        "option": lambda conn: goods.delete_option(conn, spu["option"]),
        "spec": lambda conn: goods.delete_spec(conn, spu["spec"]),
        "spu": lambda conn: goods.delete_spu(conn, spu["spu"]),
    }[deleted]

    done, refused = race(delete, new_sku(spu))

    assert done is None
    assert refused.status_code == 400
    assert list(refused.errors) == ["spu_id" if deleted == "spu" else "specs"]
    assert live_choices_on_deleted_rows() == []


def test_a_brand_delete_waiting_on_an_spu_write_sees_the_spu(spu: dict[str, int]) -> None:
    with transaction() as conn:
        path = goods.category_path(conn, spu["category"])
    fields = goods.SpuFields("新品", spu["brand"], *path, "", "", "")

    created, refused = race(
        lambda conn: goods.create_spu(conn, fields).id,
        lambda conn: goods.delete_brand(conn, spu["brand"]),
    )

    assert isinstance(created, int)
    assert (refused.status_code, refused.code) == (409, "in_use")


def _refused_on(result: Any) -> tuple[int, list[str]]:
    return result.status_code, list(result.errors)


def test_two_brands_of_one_name_at_once_make_one(database_url: str) -> None:
    def create(conn: Connection) -> int:
        logo = ImageUpload(image_bytes("PNG"), "png")
        brand = goods.create_brand(
            conn, resources.storage(), name="同名品牌", first_letter="T", logo=logo
        )
        return brand.id

    made, refused = race(create, create)

    assert isinstance(made, int)
    assert _refused_on(refused) == (400, ["name"])


def test_two_specifications_of_one_name_at_once_make_one(spu: dict[str, int]) -> None:
    def create(conn: Connection) -> int:
        return int(goods.create_spec(conn, name="尺寸", spu_id=spu["spu"]).id)

    made, refused = race(create, create)

    assert isinstance(made, int)
    assert _refused_on(refused) == (400, ["name"])


def test_two_options_of_one_value_at_once_make_one(spu: dict[str, int]) -> None:
    def create(conn: Connection) -> int:
        return int(goods.create_option(conn, value="黑色", spec_id=spu["spec"]).id)

    made, refused = race(create, create)

    assert isinstance(made, int)
    assert _refused_on(refused) == (400, ["value"])


def test_two_channels_of_one_category_at_once_make_one(database_url: str) -> None:
    with transaction() as conn:
        fields = goods.ChannelFields(
            group_id=factories.channel_group(conn),
            category_id=factories.category(conn),
            url="/list/1/",
            sequence=1,
        )

    def create(conn: Connection) -> int:
        return int(goods.create_channel(conn, fields).id)

    made, refused = race(create, create)

    assert isinstance(made, int)
    assert _refused_on(refused) == (400, ["category_id"])


@pytest.mark.parametrize("deleted", ["permission", "group", "staff"])
def test_two_deletes_at_once_delete_once(database_url: str, deleted: str) -> None:
    with transaction() as conn:
        superuser = factories.staff_user(conn, is_superuser=True)
        row_id = {
            "permission": lambda: factories.permission(conn),
            "group": lambda: factories.group(conn),
            "staff": lambda: factories.staff_user(conn).id,
        }[deleted]()
    actor = staff.Actor(id=superuser.id, is_superuser=True)
    delete = {
        "permission": lambda conn: permissions.delete_permission(conn, row_id),
        "group": lambda conn: permissions.delete_group(conn, row_id),
        "staff": lambda conn: staff.remove_staff(conn, row_id, by=actor),
    }[deleted]

    done, refused = race(delete, delete)

    assert done is None
    assert (refused.status_code, refused.code) == (404, "not_found")
