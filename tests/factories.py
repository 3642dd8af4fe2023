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
    brands,
    categories,
    channel_groups,
    channels,
    content_types,
    group_permissions,
    groups,
    order_lines,
    order_status_history,
    orders,
    permissions,
    sku_spec_options,
    skus,
    spec_options,
    spu_specs,
    spus,
    user_groups,
    user_permissions,
    users,
)
from chalicelib.money import parse_yuan
from chalicelib.services import accounts, search_terms, username_terms
from chalicelib.services import permissions as permissions_service

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


def brand(conn: Connection, name: str | None = None, **columns: Any) -> int:
    """A brand (logo a storage file id, or None); first_letter defaults to the name's
    first letter, upper-cased, or "A"."""
    name = name or f"品牌{next(_n)}"
    initial = name[:1].upper()
    values = {
        "logo": None,
        "first_letter": initial if "A" <= initial <= "Z" else "A",
        "create_time": utcnow(),
        **columns,
    }
    return insert_id(conn.execute(brands.insert().values(name=name, **values)))


def spec_option(conn: Connection, spu_id: int, name: str, value: str) -> tuple[int, int]:
    """The SPU's specification `name` and its option `value` (ids), each made if missing."""
    spec_id = conn.scalar(
        select(spu_specs.c.id).where(spu_specs.c.spu_id == spu_id, spu_specs.c.name == name)
    )
    if spec_id is None:
        spec_id = insert_id(conn.execute(spu_specs.insert().values(spu_id=spu_id, name=name)))
    option_id = conn.scalar(
        select(spec_options.c.id).where(
            spec_options.c.spec_id == spec_id, spec_options.c.value == value
        )
    )
    if option_id is None:
        option_id = insert_id(
            conn.execute(spec_options.insert().values(spec_id=spec_id, value=value))
        )
    return int(spec_id), int(option_id)


def channel_group(conn: Connection, name: str | None = None) -> int:
    return insert_id(conn.execute(channel_groups.insert().values(name=name or f"频道{next(_n)}")))


def channel(
    conn: Connection, group_id: int, category_id: int, *, sequence: int = 0, url: str = ""
) -> int:
    """A first-level category in a channel group (url defaults to its list page)."""
    return insert_id(
        conn.execute(
            channels.insert().values(
                group_id=group_id,
                category_id=category_id,
                url=url or f"http://shop.example.com/list/{category_id}/",
                sequence=sequence,
            )
        )
    )


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
    """A SKU (price in fen, or a yuan string "120.00") with its search terms, picking for
    each of `specs` ({specification: option}) the SPU's option, made if missing."""
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
        spec_id, option_id = spec_option(conn, spu_id, name, value)
        conn.execute(
            sku_spec_options.insert().values(sku_id=sku_id, spec_id=spec_id, option_id=option_id)
        )
    # as every SKU write must (services/search_terms.py)
    search_terms.index_new_sku(conn, sku_id, values["name"], values["caption"])
    return sku_id


def spec(conn: Connection, spu_id: int, name: str | None = None, **columns: Any) -> int:
    """A specification of an SPU (颜色, 容量)."""
    return insert_id(
        conn.execute(
            spu_specs.insert().values(spu_id=spu_id, name=name or f"规格{next(_n)}", **columns)
        )
    )


def option(conn: Connection, spec_id: int, value: str | None = None, **columns: Any) -> int:
    """An option of a specification (白色, 500L)."""
    return insert_id(
        conn.execute(
            spec_options.insert().values(
                spec_id=spec_id, value=value or f"选项{next(_n)}", **columns
            )
        )
    )


def sku_choice(conn: Connection, sku_id: int, option_id: int) -> None:
    """The SKU picks this option of its specification."""
    spec_id = conn.scalar(select(spec_options.c.spec_id).where(spec_options.c.id == option_id))
    conn.execute(
        sku_spec_options.insert().values(sku_id=sku_id, spec_id=spec_id, option_id=option_id)
    )


def user(conn: Connection, **columns: Any) -> int:
    """A user row as written (no password hashing: the password is unusable)."""
    values = {"username": f"user{next(_n):07d}", "password": "!", "date_joined": utcnow()}
    values.update(columns)
    user_id = insert_id(conn.execute(users.insert().values(**values)))
    username_terms.index_new_user(conn, user_id, values["username"])
    return user_id


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


# --- staff permissions ---------------------------------------------------------------


def builtin_permissions(conn: Connection) -> None:
    """The content types and permissions migration 0009 creates, where missing."""
    types = {r.model: r.id for r in conn.execute(select(content_types.c.model, content_types.c.id))}
    for model, name in permissions_service.BUILTIN_CONTENT_TYPES:
        if model not in types:
            types[model] = insert_id(
                conn.execute(content_types.insert().values(model=model, name=name))
            )
    existing = set(conn.scalars(select(permissions.c.codename)))
    missing = [
        p for p in permissions_service.builtin_permissions() if p["codename"] not in existing
    ]
    if missing:
        conn.execute(
            permissions.insert(),
            [
                {"name": p["name"], "codename": p["codename"], "content_type_id": types[p["model"]]}
                for p in missing
            ],
        )


def permission(
    conn: Connection, codename: str | None = None, *, model: str = "sku", name: str | None = None
) -> int:
    """A permission of one of the built-in content types (made where missing); its id."""
    builtin_permissions(conn)
    content_type_id = conn.scalar(select(content_types.c.id).where(content_types.c.model == model))
    codename = codename or f"export_{model}_{next(_n)}"
    return insert_id(
        conn.execute(
            permissions.insert().values(
                name=name or f"Can {codename}", codename=codename, content_type_id=content_type_id
            )
        )
    )


def permission_ids(conn: Connection, *codenames: str) -> list[int]:
    """The ids of these permissions (built-in or made by a test), in the order given."""
    query = select(permissions.c.codename, permissions.c.id).where(
        permissions.c.codename.in_(codenames)
    )
    found = {row.codename: row.id for row in conn.execute(query)}
    return [found[codename] for codename in codenames]


def group(conn: Connection, name: str | None = None, *, codenames: tuple[str, ...] = ()) -> int:
    """A group holding these permissions; its id."""
    group_id = insert_id(conn.execute(groups.insert().values(name=name or f"组{next(_n)}")))
    for permission_id in permission_ids(conn, *codenames):
        conn.execute(
            group_permissions.insert().values(group_id=group_id, permission_id=permission_id)
        )
    return group_id


def staff_user(
    conn: Connection,
    username: str | None = None,
    *,
    codenames: tuple[str, ...] = (),
    group_ids: tuple[int, ...] = (),
    password: str = "correct-horse-1",
    **kwargs: Any,
) -> Row[Any]:
    """A staff user (not a superuser unless is_superuser=True) holding these permissions
    directly and belonging to these groups; the users row."""
    row = registered_user(conn, username, password, is_staff=True, **kwargs)
    for permission_id in permission_ids(conn, *codenames):
        conn.execute(user_permissions.insert().values(user_id=row.id, permission_id=permission_id))
    for group_id in group_ids:
        conn.execute(user_groups.insert().values(user_id=row.id, group_id=group_id))
    return row


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


def simulator_trade(redis: Any, out_trade_no: str, trade_no: str, amount: int) -> None:
    """A trade paid at the local Alipay simulator (what its cashier's Pay leaves)."""
    import json

    from chalicelib.adapters import alipay_simulator
    from chalicelib.adapters.alipay import alipay_time
    from chalicelib.money import format_yuan

    trade = {
        "out_trade_no": out_trade_no,
        "trade_no": trade_no,
        "subject": out_trade_no,
        "total_amount": format_yuan(amount),
        "time_expire": "",
        "notify_url": "",
        "return_url": "",
        "status": alipay_simulator.TRADE_SUCCESS,
        "gmt_create": alipay_time(utcnow()),
    }
    redis.set(
        alipay_simulator.TRADE_KEY.format(out_trade_no), json.dumps(trade, ensure_ascii=False)
    )
