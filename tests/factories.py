"""Rows for tests and benchmarks: the one place that knows every NOT NULL column.

Each builder takes an open connection, writes one thing (with what it needs: a SKU
without a given SPU gets its own category and SPU), and returns its id. Keyword
overrides are column values; defaults are unique (a counter) where the schema asks.
Fixtures wrap them as `make_<builder>(...)`, one committed transaction per call
(tests/conftest.py).
"""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Row, select

from chalicelib.clock import utcnow
from chalicelib.db.engine import insert_id
from chalicelib.db.tables import (
    addresses,
    categories,
    order_lines,
    order_status_history,
    orders,
    sku_specs,
    skus,
    spus,
    users,
)
from chalicelib.money import parse_yuan
from chalicelib.services import accounts, search_terms

_n = itertools.count(1)
ADDRESS = {
    "receiver": "张三",
    "province": "北京市",
    "city": "北京市",
    "district": "海淀区",
    "place": "中关村大街1号",
    "mobile": "13800138000",
}


def category(
    conn: Connection, name: str | None = None, *, parent_id: int | None = None, sort_order: int = 0
) -> int:
    return insert_id(
        conn.execute(
            categories.insert().values(
                name=name or f"分类{next(_n)}", parent_id=parent_id, sort_order=sort_order
            )
        )
    )


def third_level_category(conn: Connection) -> int:
    """A new category three levels down (the depth SPUs and SKUs are filed at)."""
    top = category(conn)
    return category(conn, parent_id=category(conn, parent_id=top))


def spu(
    conn: Connection, name: str | None = None, *, category_id: int | None = None, **columns: Any
) -> int:
    """An SPU filed under `category_id` (a new third-level category by default). A
    shallower category stands in for the levels above it that it does not have."""
    leaf = category_id or third_level_category(conn)
    path = [leaf]
    while parent := conn.scalar(select(categories.c.parent_id).where(categories.c.id == path[0])):
        path.insert(0, parent)
    path = [*path, leaf, leaf][:3] if len(path) < 3 else path[-3:]
    values = {
        "desc_detail": "",
        "desc_pack": "",
        "desc_service": "",
        "create_time": utcnow(),
        **columns,
    }
    return insert_id(
        conn.execute(
            spus.insert().values(
                name=name or f"SPU {next(_n)}",
                category1_id=path[0],
                category2_id=path[1],
                category3_id=path[2],
                **values,
            )
        )
    )


def sku(
    conn: Connection,
    *,
    spu_id: int | None = None,
    category_id: int | None = None,
    price: int | str = 10_000,
    specs: dict[str, str] | None = None,
    **columns: Any,
) -> int:
    """A SKU (price in fen, or a yuan string "120.00") with its specs and search terms."""
    if spu_id is None:
        category_id = category_id or third_level_category(conn)
        spu_id = spu(conn, category_id=category_id)
    elif category_id is None:
        category_id = conn.scalar(select(spus.c.category3_id).where(spus.c.id == spu_id))
    now = utcnow()
    values = {
        "name": f"SKU {next(_n)}",
        "caption": "",
        "stock": 10,
        "create_time": now,
        "update_time": columns.get("create_time", now),
        **columns,
    }
    sku_id = insert_id(
        conn.execute(
            skus.insert().values(
                spu_id=spu_id,
                category_id=category_id,
                price=parse_yuan(price) if isinstance(price, str) else price,
                **values,
            )
        )
    )
    for name, value in (specs or {}).items():
        conn.execute(sku_specs.insert().values(sku_id=sku_id, name=name, value=value))
    # as every SKU write must (services/search_terms.py)
    search_terms.index_new_sku(conn, sku_id, values["name"], values["caption"])
    return sku_id


def user(conn: Connection, **columns: Any) -> int:
    """A user row as written (no password hashing: the password is unusable)."""
    values = {"username": f"user{next(_n):07d}", "password": "!", "date_joined": utcnow()}
    return insert_id(conn.execute(users.insert().values(**{**values, **columns})))


def registered_user(
    conn: Connection, username: str | None = None, password: str = "correct-horse-1", **kwargs: Any
) -> Row[Any]:
    """A user signed up through the accounts service (can log in); the users row."""
    username = username or f"user{next(_n):07d}"
    return accounts.register(conn, username=username, password=password, **kwargs)


def address(conn: Connection, user_id: int, **columns: Any) -> int:
    now = utcnow()
    values = {
        "title": "家",
        **ADDRESS,
        "create_time": now,
        "update_time": now,
    }
    return insert_id(
        conn.execute(addresses.insert().values(user_id=user_id, **{**values, **columns}))
    )


def order(
    conn: Connection,
    user_id: int,
    sku_id: int | None = None,
    *,
    count: int = 1,
    price: int | None = None,
    freight: int = 0,
    create_time: datetime | None = None,
    expires_in: timedelta = timedelta(minutes=30),
    paid_at: datetime | None = None,
    lines: list[dict[str, Any]] | None = None,
    order_id: str | None = None,
    **columns: Any,
) -> str:
    """An order as checkout leaves it, with its "placed" history row; its order_id.

    With `sku_id`, one line of `count` units at the SKU's name and price (or `price`);
    `lines` adds order_lines rows as given. Totals are count x price (price defaults to
    100.00 without a SKU) + freight; status 2 if `paid_at`, else 1, unless given.
    """
    created = create_time or utcnow()
    name = ""
    if sku_id is not None:
        row = conn.execute(select(skus.c.name, skus.c.price).where(skus.c.id == sku_id)).one()
        name, price = row.name, row.price if price is None else price
    price = 10_000 if price is None else price
    order_id = order_id or f"{created:%Y%m%d%H%M%S}{next(_n):09d}"
    values = {
        **ADDRESS,  # the order's snapshot of it
        "total_count": count,
        "total_amount": price * count,
        "freight": freight,
        "payment_amount": price * count + freight,
        "pay_method": "alipay",
        "status": 2 if paid_at else 1,
        "create_time": created,
        "update_time": paid_at or created,
        "expires_at": created + expires_in,
        "paid_at": paid_at,
        **columns,
    }
    conn.execute(orders.insert().values(order_id=order_id, user_id=user_id, **values))
    if sku_id is not None:
        lines = [{"sku_id": sku_id, "name": name, "price": price, "count": count}, *(lines or [])]
    for line in lines or []:
        conn.execute(order_lines.insert().values(order_id=order_id, **line))
    conn.execute(
        order_status_history.insert().values(
            order_id=order_id,
            from_status=None,
            to_status=1,
            actor=f"user:{user_id}",
            create_time=created,
        )
    )
    return order_id


def payment(
    conn: Connection,
    order_id: str,
    *,
    amount: int,
    trade_no: str | None = None,
    status: str = "paid",
    **columns: Any,
) -> int:
    """An Alipay payment recorded for the order (as the notify records it); its id."""
    from chalicelib.db.tables import payments

    values = {
        "provider": "alipay",
        "trade_no": trade_no or f"2024050122001{next(_n):015d}",
        "amount": amount,
        "status": status,
        "create_time": utcnow(),
        **columns,
    }
    return insert_id(conn.execute(payments.insert().values(order_id=order_id, **values)))
