"""Pure rules of checkout: order ids, request fingerprints, freight, legal status moves."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone

import pytest

from chalicelib.services.order_states import Status, is_legal, status_name
from chalicelib.services.orders import freight_for, new_order_id, request_fingerprint


def test_order_ids_are_32_digits_of_utc_time_user_and_random() -> None:
    now = datetime(2026, 3, 4, 5, 6, 7, 890123, tzinfo=UTC)
    order_id = new_order_id(42, now)
    assert re.fullmatch(r"[0-9]{32}", order_id)
    assert order_id.startswith("20260304050607890123" + "00000042")


def test_order_ids_are_in_utc_whatever_zone_the_time_comes_in() -> None:
    shanghai = timezone(timedelta(hours=8))
    local = datetime(2026, 3, 4, 13, 6, 7, 1, tzinfo=shanghai)
    assert new_order_id(7, local).startswith("20260304050607000001")


def test_order_ids_sort_by_time_and_differ_within_one_microsecond() -> None:
    now = datetime(2026, 3, 4, 5, 6, 7, 999999, tzinfo=UTC)
    later = now + timedelta(microseconds=1)
    assert new_order_id(99_999_999, now) < new_order_id(1, later)
    same_moment = {new_order_id(5, now) for _ in range(50)}
    assert len(same_moment) > 40  # 4 random digits: collisions are rare (and the PK refuses them)


def test_huge_user_ids_still_give_32_digits() -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    assert len(new_order_id(10**15 + 3, now)) == 32


def test_the_fingerprint_is_the_request_body_only() -> None:
    assert request_fingerprint(1, "alipay") == request_fingerprint(1, "alipay")
    assert request_fingerprint(1, "alipay") != request_fingerprint(1, "balance")
    assert request_fingerprint(1, "alipay") != request_fingerprint(2, "alipay")
    assert len(request_fingerprint(1, "alipay")) == 64


@pytest.mark.parametrize(("total", "freight"), [(0, 1000), (9899, 1000), (9900, 0), (500000, 0)])
def test_freight_is_free_from_99_yuan(total: int, freight: int) -> None:
    assert freight_for(total) == freight


def test_freight_follows_its_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FREIGHT_FREE_FROM", "500.00")
    monkeypatch.setenv("FREIGHT_FEE", "15.50")
    assert (freight_for(49999), freight_for(50000)) == (1550, 0)


def test_only_the_shops_moves_are_legal() -> None:
    legal = {(a, b) for a in Status for b in Status if is_legal(a, b)}
    assert legal == {
        (Status.UNPAID, Status.PAID),
        (Status.UNPAID, Status.CANCELLED),
        (Status.PAID, Status.SHIPPED),
        (Status.PAID, Status.CANCELLED),  # refunded in full before shipping
        (Status.SHIPPED, Status.RECEIVED),
        (Status.RECEIVED, Status.COMPLETED),
        (Status.CANCELLED, Status.PAID),
    }
    assert [status_name(s) for s in Status] == [
        "待支付",
        "待发货",
        "待收货",
        "待评价",
        "已完成",
        "已取消",
    ]


@pytest.mark.parametrize("dialect_name", ["mysql", "sqlite"])
def test_checkouts_one_read_joins_every_table_it_reads(dialect_name: str) -> None:
    import warnings

    from sqlalchemy.dialects import mysql, sqlite
    from sqlalchemy.sql.compiler import COLLECT_CARTESIAN_PRODUCTS, WARN_LINTING

    from chalicelib.services.orders import _checkout_statements

    # given each form of checkout's read (with or without a key, with or without SKUs)
    dialect = {"mysql": mysql.dialect(), "sqlite": sqlite.dialect()}[dialect_name]
    for with_key in (False, True):
        for with_skus in (False, True):
            read = _checkout_statements().read(with_key=with_key, with_skus=with_skus)

            # when it is compiled as the engine does (cartesian products linted)
            with warnings.catch_warnings():
                warnings.simplefilter("error")
                compiled = str(
                    read.compile(dialect=dialect, linting=COLLECT_CARTESIAN_PRODUCTS | WARN_LINTING)
                )

            # then no table stands unjoined (no warning), and it locks nothing
            assert "FOR UPDATE" not in compiled


def test_a_placed_order_has_every_column_of_the_orders_row_it_stands_for() -> None:
    from chalicelib.db.tables import orders
    from chalicelib.services.orders import PlacedOrder

    # given checkout's answer built from what it wrote (not read back)
    # then it has each column of orders and the username, as get() reads them: a column
    # added to orders must be given a value here too
    assert set(PlacedOrder._fields) == {*orders.c.keys(), "username"}
