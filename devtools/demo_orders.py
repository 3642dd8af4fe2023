"""Demo orders for `manage.py seed-demo`: the two demo customers' order history.

Each planned order carries an Idempotency-Key ("demo-<n>") and is only placed when no
order of that customer has the key, so a second run changes nothing. Orders go
through the real services (checkout takes stock, the wallet pays, staff ship, buyers
receive and comment), with a throwaway in-memory cart so the customers' own carts
are left alone.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, select, update

from chalicelib.db.tables import addresses, orders, skus, users
from chalicelib.services import cart, wallet
from chalicelib.services import orders as order_service
from chalicelib.services.order_states import Status

DEMO_RECHARGE = 5_000_000  # 50000.00 in the wallet for the balance orders
DEMO_ADDRESS = {
    "title": "家",
    "receiver": "演示买家",
    "province": "广东省",
    "city": "深圳市",
    "district": "南山区",
    "place": "科技园南区1栋",
    "mobile": "13800000001",
}


@dataclass(frozen=True)
class PlannedOrder:
    key: str
    username: str
    lines: tuple[tuple[int, int], ...]  # (index into the demo SKUs, count)
    pay_method: str
    final_status: Status
    comments: tuple[tuple[int, str, bool], ...] = ()  # (score, content, anonymous) per line


PLAN = (
    PlannedOrder(
        "demo-1",
        "demo_buyer",
        ((0, 1), (1, 2)),
        "balance",
        Status.COMPLETED,
        ((5, "送货很快，安装师傅很专业，制冷效果好。", False), (4, "做工不错，性价比高。", False)),
    ),
    PlannedOrder("demo-2", "demo_buyer", ((2, 1),), "balance", Status.SHIPPED),
    PlannedOrder("demo-3", "demo_buyer", ((3, 1),), "balance", Status.PAID),
    PlannedOrder("demo-4", "demo_buyer", ((4, 1),), "alipay", Status.UNPAID),
    PlannedOrder("demo-5", "demo_buyer", ((5, 1),), "alipay", Status.CANCELLED),
    PlannedOrder(
        "demo-1",
        "demo_fan",
        ((1, 1),),
        "balance",
        Status.COMPLETED,
        ((5, "颜值高，声音很小，推荐购买！", True),),
    ),
    PlannedOrder("demo-2", "demo_fan", ((0, 1), (3, 1)), "balance", Status.RECEIVED),
    PlannedOrder("demo-3", "demo_fan", ((2, 1),), "alipay", Status.CANCELLED),
)


def seed_demo_orders(conn: Connection) -> str:
    """Give demo_buyer and demo_fan orders in every status; a summary for seed-demo."""
    demo_skus = (
        conn.execute(
            select(skus.c.id)
            .where(skus.c.is_launched.is_(True), skus.c.stock >= 10)
            .order_by(skus.c.id)
            .limit(6)
        )
        .scalars()
        .all()
    )
    staff_id = conn.scalar(
        select(users.c.id).where(users.c.is_staff.is_(True)).order_by(users.c.id)
    )
    if len(demo_skus) < 6 or staff_id is None:
        return "no demo orders (needs 6 launched SKUs with stock and a staff account)"
    placed = 0
    for plan in PLAN:
        user_id = conn.scalar(select(users.c.id).where(users.c.username == plan.username))
        if user_id is None or _already_placed(conn, user_id, plan.key):
            continue
        _place(conn, plan, user_id, [int(s) for s in demo_skus], int(staff_id))
        placed += 1
    return f"{placed} new demo orders"


def _already_placed(conn: Connection, user_id: int, key: str) -> bool:
    return (
        conn.scalar(
            select(orders.c.order_id).where(
                orders.c.user_id == user_id,
                orders.c.idempotency_key == order_service.stored_idempotency_key(key),
            )
        )
        is not None
    )


def _address_id(conn: Connection, user_id: int) -> int:
    found = conn.scalar(
        select(addresses.c.id).where(addresses.c.user_id == user_id).order_by(addresses.c.id)
    )
    if found is not None:
        return int(found)
    from chalicelib.services import addresses as address_service

    return int(address_service.create(conn, user_id, DEMO_ADDRESS).id)


def _topped_up(conn: Connection, user_id: int) -> None:
    """A recharge in the ledger the first time a demo customer pays from the wallet."""
    balance = conn.scalar(select(users.c.balance).where(users.c.id == user_id))
    if balance and balance >= DEMO_RECHARGE // 2:
        return
    conn.execute(
        update(users).where(users.c.id == user_id).values(balance=users.c.balance + DEMO_RECHARGE)
    )
    wallet.record(conn, user_id, DEMO_RECHARGE, "recharge")


def _place(
    conn: Connection, plan: PlannedOrder, user_id: int, demo_skus: list[int], staff_id: int
) -> None:
    import fakeredis

    scratch_cart = fakeredis.FakeRedis(decode_responses=True)
    for index, count in plan.lines:
        cart.add(conn, scratch_cart, user_id, demo_skus[index], count, True)
    order_id = order_service.place(
        conn,
        scratch_cart,
        user_id=user_id,
        address_id=_address_id(conn, user_id),
        pay_method=plan.pay_method,
        idempotency_key=plan.key,
    ).detail.order.order_id
    if plan.final_status == Status.UNPAID:
        return
    if plan.final_status == Status.CANCELLED:
        order_service.cancel(
            conn, order_id, actor=f"user:{user_id}", reason="cancelled by the buyer"
        )
        return
    _topped_up(conn, user_id)
    order_service.pay(conn, user_id=user_id, order_id=order_id)
    if plan.final_status == Status.PAID:
        return
    order_service.change_status_by_staff(
        conn, staff_id=staff_id, order_id=order_id, status=Status.SHIPPED
    )
    if plan.final_status == Status.SHIPPED:
        return
    order_service.confirm_receipt(conn, user_id=user_id, order_id=order_id)
    if plan.final_status == Status.RECEIVED:
        return
    order_service.comment(
        conn,
        user_id=user_id,
        order_id=order_id,
        comments=[
            order_service.Comment(demo_skus[index], score, content, anonymous)
            for (index, _count), (score, content, anonymous) in zip(
                plan.lines, plan.comments, strict=True
            )
        ],
    )
