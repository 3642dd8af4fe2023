"""One entry per route for the abuse checks: how to build a valid request, what of it is
stored (and how to read it back), and what a replay and a race must give.

Used by test_strings.py (hostile text in every string field, generated from
docs/openapi.yaml), test_replays.py (every POST/PUT/DELETE route sent twice) and
tests/integration/test_races.py (the same request N times at once, on MariaDB). Each of
them fails for a route that has no entry here, so a new route cannot be forgotten.

To add a route: one `Case` under its (METHOD, documented path) key. `build(world)`
returns a valid `Call` (the World makes what it refers to). Then, as it applies:
- `read(world, call, answer)`: the stored fields read back through the API (a GET), as a
  dict shaped like the request body; `stored` names the fields it returns.
- `replays`: `Replay(statuses=(first, replay), effect=..., effects=(before, after first,
  after replay))`, `race={status: count}` for RACERS identical requests at once when a
  race could double the effect, and `raced=` the effect after the race when it is not
  that of one request (a recharge recharges each time). A route whose replay is proven
  elsewhere names that test with `covered_by`; `exempt` says why a route needs none.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from chalicelib import auth, resources
from chalicelib.db.engine import transaction
from chalicelib.db.tables import (
    addresses,
    balance_records,
    order_status_history,
    orders,
    sku_images,
    skus,
    users,
)
from chalicelib.services import cart
from tests.factories import ADDRESS
from tests.functional.hardening.world import PASSWORD, Call, World
from tests.functional.images.forms import image_bytes

RACERS = 8
Effect = Callable[[World, Call], Any]


@dataclass(frozen=True)
class Replay:
    statuses: tuple[int, int]
    effect: Effect | None = None
    effects: tuple[Any, Any, Any] | None = None
    # answers of RACERS identical requests at once: status (or a tuple of statuses any
    # of which may answer) -> how many
    race: dict[int | tuple[int, ...], int] | None = None
    raced: Any = None  # the effect after the race; None: as after one request
    build: Callable[[World], Call] | None = None  # a variant of the route's valid call
    name: str = ""


@dataclass(frozen=True)
class Case:
    build: Callable[[World], Call]
    read: Callable[[World, Call, Any], dict[str, Any]] | None = None
    stored: frozenset[str] = frozenset()
    replays: tuple[Replay, ...] = ()
    covered_by: tuple[str, ...] = ()
    exempt: str = ""
    refusal: tuple[int, str] | None = None  # a refusal that names no field (bad login)


# --- reading back ------------------------------------------------------------------------


def _get(world: World, path: str, headers: dict[str, str]) -> Any:
    status, body = Call("GET", path, headers).send(world.client)
    assert status == 200, (path, status, body)
    return body


def _profile(world: World, call: Call, answer: Any) -> dict[str, Any]:
    body = _get(world, "/user/", {"Authorization": f"Bearer {answer['token']}"})
    return {k: body[k] for k in ("username", "email", "mobile")}


def _address(world: World, call: Call, answer: Any) -> dict[str, Any]:
    listed = _get(world, "/addresses/", call.headers)["addresses"]
    (address,) = [a for a in listed if a["id"] == answer["id"]]
    return dict(address)


def _admin_sku(world: World, call: Call, answer: Any) -> dict[str, Any]:
    body = _get(world, f"/meiduo_admin/skus/{answer['id']}/", world.staff_headers())
    return {"name": body["name"], "caption": body["caption"], "specs": _spec_dict(body["specs"])}


def _spec_dict(specs: Any) -> dict[str, str]:
    if isinstance(specs, dict):
        return specs
    return {s["name"]: s["value"] for s in specs}


def _comment(world: World, call: Call, answer: Any) -> dict[str, Any]:
    sku_id = call.body["comments"][0]["sku_id"]
    listed = _get(world, f"/skus/{sku_id}/comments/", {})["lists"]
    return {"comments": [{"content": c["content"]} for c in listed]}


def _admin_user(world: World, call: Call, answer: Any) -> dict[str, Any]:
    listed = _get(
        world, f"/meiduo_admin/users/?keyword={answer['username']}", world.staff_headers()
    )["lists"]
    (user,) = [u for u in listed if u["id"] == answer["id"]]
    return {k: user[k] for k in ("username", "mobile", "email")}


def _email(world: World, call: Call, answer: Any) -> dict[str, Any]:
    return {"email": _get(world, "/user/", call.headers)["email"]}


# --- building ----------------------------------------------------------------------------


def _new_user(w: World) -> Call:
    body = {"username": w.username(), "password": PASSWORD, "email": "a@example.com"}
    return Call("POST", "/users/", body={**body, "mobile": w.mobile()})


def _address_at_limit(w: World) -> Call:
    """A new address for a customer who has 19 (the limit is 20)."""
    call = _address_call("POST", w)
    user_id = auth.decode_token(call.headers["Authorization"].split()[1])["sub"]
    for _ in range(19):
        w.address(int(user_id))
    return call


def _address_call(method: str, w: World) -> Call:
    buyer = w.token_user()
    if method == "POST":
        return Call("POST", "/addresses/", w.headers(buyer), {**ADDRESS, "title": "家"})
    address_id = w.address(buyer.id)
    return Call(
        method, f"/addresses/{address_id}/", w.headers(buyer), {**ADDRESS, "receiver": "李四"}
    )


def _in_cart(w: World) -> dict[str, str]:
    """One unit of a_sku selected in the customer's cart; the customer's headers."""
    user_id, sku_id = w.customer.id, w.a_sku  # made first: each is a transaction
    with transaction() as conn:
        cart.add(conn, resources.redis(), user_id, sku_id, 1, True)
    return w.headers()


def _sku_body(w: World) -> dict[str, Any]:
    return {
        "name": "海尔冰箱 BCD-470",
        "caption": "一级能效",
        "price": "3999.00",
        "stock": 5,
        "category_id": w.leaf_category(),
        "specs": {"颜色": "白色"},
        "is_launched": True,
    }


def _new_sku(w: World) -> Call:
    return Call("POST", "/meiduo_admin/skus/", w.staff_headers(), _sku_body(w))


def _changed_sku(w: World) -> Call:
    status, created = _new_sku(w).send(w.client)
    assert status == 201, created
    body = {**_sku_body(w), "name": "海尔冰箱 新款"}
    body["category_id"] = created["category_id"]
    return Call("PUT", f"/meiduo_admin/skus/{created['id']}/", w.staff_headers(), body)


def _png() -> tuple[str, bytes, str]:
    return ("a.png", image_bytes("PNG"), "image/png")


def _new_image(w: World) -> Call:
    form = {"sku": str(w.a_sku), "image": _png()}
    return Call("POST", "/meiduo_admin/skus/images/", w.staff_headers(), form=form)


def _image_call(method: str, query: str = "") -> Callable[[World], Call]:
    def build(w: World) -> Call:
        status, created = _new_image(w).send(w.client)
        assert status == 201, created
        path = f"/meiduo_admin/skus/images/{created['id']}/"
        if method == "DELETE":
            return Call("DELETE", path, w.staff_headers(), query=query)
        return Call("PUT", path, w.staff_headers(), form={"image": _png()})

    return build


def _avatar(w: World) -> Call:
    return Call("PUT", "/user/avatar/", w.headers(), form={"avatar": _png()})


def _order_call(action: str, **order: Any) -> Callable[[World], Call]:
    def build(w: World) -> Call:
        order_id = w.order(**{"pay_method": "balance", **order})
        return Call("POST", f"/orders/{order_id}/{action}/", w.headers())

    return build


def _comment_call(w: World) -> Call:
    order_id = w.order(status=4, pay_method="balance", paid=True)
    body = {"comments": [{"sku_id": w.a_sku, "score": 5, "content": "好用", "anonymous": False}]}
    return Call("POST", f"/orders/{order_id}/comments/", w.headers(), body)


def _checkout(idempotency_key: str | None = None) -> Callable[[World], Call]:
    def build(w: World) -> Call:
        headers = _in_cart(w)
        if idempotency_key:
            headers["Idempotency-Key"] = idempotency_key
        body = {"address_id": w.address(), "pay_method": "balance"}
        return Call("POST", "/orders/", headers, body)

    return build


def _verification(w: World) -> Call:
    buyer = w.token_user(email="a@example.com", email_token_version=1)
    token = auth.issue_email_token(buyer.id, "a@example.com", 1)
    return Call("PUT", "/emails/verification/", body={"token": token})


# --- effects -----------------------------------------------------------------------------


def _order_id(call: Call) -> str:
    parts = call.path.split("/")
    return parts[parts.index("orders") + 1]


def _order_state(w: World, call: Call) -> tuple[Any, ...]:
    """(status, history rows, stock and sales of the SKU, balance, wallet ledger rows)."""
    order_id = _order_id(call)
    with transaction() as conn:
        status = conn.scalar(select(orders.c.status).where(orders.c.order_id == order_id))
        sku = conn.execute(select(skus.c.stock, skus.c.sales).where(skus.c.id == w.a_sku)).one()
        balance = conn.scalar(select(users.c.balance).where(users.c.id == w.customer.id))
    history = w.count(order_status_history, order_status_history.c.order_id == order_id)
    ledger = w.count(balance_records, balance_records.c.order_id == order_id)
    return status, history, sku.stock, sku.sales, balance, ledger


def _caller_column(column: Any) -> Effect:
    """A column of the user whose token the call carries."""

    def effect(w: World, call: Call) -> Any:
        claims = auth.decode_token(call.headers["Authorization"].split()[1])
        return w.scalar(select(column).where(users.c.id == int(claims["sub"])))

    return effect


def _cart_line(w: World, call: Call) -> tuple[int, bool]:
    redis = resources.redis()
    sku = str(w.a_sku)
    count = int(redis.hget(f"cart:{w.customer.id}", sku) or 0)
    return count, redis.sismember(f"cart:{w.customer.id}:selected", sku) == 1


def _wallet(w: World, call: Call) -> tuple[int, int]:
    balance = w.scalar(select(users.c.balance).where(users.c.id == w.customer.id))
    return balance, w.count(balance_records, balance_records.c.user_id == w.customer.id)


def _address_row(w: World, call: Call) -> Any:
    address_id = int(call.path.split("/")[2])
    return w.scalar(select(addresses.c.receiver).where(addresses.c.id == address_id))


def _addresses_of_caller(w: World, call: Call) -> int:
    claims = auth.decode_token(call.headers["Authorization"].split()[1])
    return w.count(addresses, addresses.c.user_id == int(claims["sub"]))


def _is_default(w: World, call: Call) -> bool:
    address_id = int(call.path.split("/")[2])
    return bool(_caller_column(users.c.default_address_id)(w, call) == address_id)


def _image_state(w: World, call: Call) -> tuple[int, int, int]:
    """(visible images of the SKU, image rows, files in storage)."""
    visible = w.count(sku_images, sku_images.c.sku_id == w.a_sku, sku_images.c.is_hidden.is_(False))
    return visible, w.count(sku_images, sku_images.c.sku_id == w.a_sku), w.files()


def _named_skus(w: World, call: Call) -> int:
    return w.count(skus, skus.c.name == call.body["name"])


def _sku_column(column: Any) -> Effect:
    def effect(w: World, call: Call) -> Any:
        sku_id = int(call.path.split("/")[3])
        return w.scalar(select(column).where(skus.c.id == sku_id))

    return effect


def _users_named(w: World, call: Call) -> int:
    return w.count(users, users.c.username == call.body["username"])


def _history(w: World, call: Call) -> list[str]:
    return list(resources.redis().lrange(f"history:{w.customer.id}", 0, -1))


def _orders_and_stock(w: World, call: Call) -> tuple[int, int]:
    stock = w.scalar(select(skus.c.stock).where(skus.c.id == w.a_sku))
    return w.count(orders, orders.c.user_id == w.customer.id), stock


# --- the table ---------------------------------------------------------------------------

S = frozenset

ROUTES: dict[tuple[str, str], Case] = {
    # --- accounts
    ("POST", "/users/"): Case(
        _new_user,
        read=_profile,
        stored=S({"username", "email", "mobile"}),
        replays=(Replay((201, 400), _users_named, (0, 1, 1), race={201: 1, 400: RACERS - 1}),),
    ),
    ("POST", "/authorizations/"): Case(
        # a new user each time: a wrong password counts towards the login throttle
        lambda w: Call(
            "POST", "/authorizations/", body={"username": w.user().username, "password": PASSWORD}
        ),
        refusal=(400, "non_field_errors"),
        # Each login issues a token of its own: nothing to double.
        replays=(Replay((200, 200)),),
    ),
    ("DELETE", "/authorizations/"): Case(
        lambda w: Call("DELETE", "/authorizations/", w.headers(w.token_user())),
        replays=(Replay((204, 401)),),  # the token is revoked by the first
    ),
    ("PUT", "/user/password/"): Case(
        lambda w: Call(
            "PUT",
            "/user/password/",
            w.headers(w.user()),
            {"old_password": PASSWORD, "new_password": "another-horse-2"},
        ),
        refusal=(400, "old_password"),
        # the first ends every token issued before, the replay's included
        replays=(
            Replay(
                (204, 401),
                _caller_column(users.c.token_version),
                (0, 1, 1),
                # the others' token is the one the first has ended
                race={204: 1, 401: RACERS - 1},
            ),
        ),
    ),
    ("PUT", "/user/email/"): Case(
        lambda w: Call(
            "PUT", "/user/email/", w.headers(w.token_user()), {"email": "b@example.com"}
        ),
        read=_email,
        stored=S({"email"}),
        # one verification mail a minute: the replay is 429 and changes nothing
        replays=(
            Replay(
                (200, 429),
                _caller_column(users.c.email_token_version),
                (0, 1, 1),
                race={200: 1, 429: RACERS - 1},  # one mail
            ),
        ),
    ),
    ("PUT", "/emails/verification/"): Case(
        _verification,
        # a link works once
        replays=(
            Replay(
                (200, 400),
                lambda w, c: w.count(users, users.c.email_active.is_(True)),
                (0, 1, 1),
                race={200: 1, 400: RACERS - 1},
            ),
        ),
    ),
    ("PUT", "/user/avatar/"): Case(
        _avatar,
        # a replaced avatar's file is deleted: one file whatever the number of uploads
        replays=(
            Replay(
                (200, 200),
                lambda w, call: (
                    w.scalar(
                        select(users.c.avatar.is_not(None)).where(users.c.id == w.customer.id)
                    ),
                    w.files(),
                ),
                ((False, 0), (True, 1), (True, 1)),
                race={200: RACERS},
            ),
        ),
    ),
    ("POST", "/user/recharges/"): Case(
        lambda w: Call(
            "POST",
            "/user/recharges/",
            w.headers(),
            # staff of their own: a wrong password counts towards the login throttle
            {
                "amount": "100.00",
                "admin_username": w.user(is_staff=True).username,
                "admin_password": PASSWORD,
            },
        ),
        refusal=(403, "bad_staff_credentials"),
        # No idempotency key in the contract: each recharge is one more, none is lost.
        replays=(
            Replay(
                (201, 201),
                _wallet,
                ((1_000_000, 0), (1_010_000, 1), (1_020_000, 2)),
                race={201: RACERS},
                raced=(1_000_000 + RACERS * 10_000, RACERS),
            ),
        ),
    ),
    # --- addresses
    ("POST", "/addresses/"): Case(
        lambda w: _address_call("POST", w),
        read=_address,
        stored=S(ADDRESS) | {"title"},
        replays=(
            Replay((201, 201), _addresses_of_caller, (0, 1, 2)),  # no key: two addresses
            Replay(
                (201, 400),
                _addresses_of_caller,
                (19, 20, 20),
                race={201: 1, 400: RACERS - 1},
                build=_address_at_limit,
                name="the 20th",
            ),
        ),
    ),
    ("PUT", "/addresses/{address_id}/"): Case(
        lambda w: _address_call("PUT", w),
        read=_address,
        stored=S(ADDRESS) | {"title"},
        replays=(Replay((200, 200), _address_row, ("张三", "李四", "李四")),),
    ),
    ("DELETE", "/addresses/{address_id}/"): Case(
        lambda w: _address_call("DELETE", w),
        replays=(
            Replay((204, 404), _addresses_of_caller, (1, 0, 0), race={204: 1, 404: RACERS - 1}),
        ),
    ),
    ("PUT", "/addresses/{address_id}/default/"): Case(
        lambda w: Call("PUT", f"/addresses/{w.address()}/default/", w.headers()),
        replays=(Replay((200, 200), _is_default, (False, True, True), race={200: RACERS}),),
    ),
    # --- catalogue, history, cart
    ("POST", "/browse_histories/"): Case(
        lambda w: Call("POST", "/browse_histories/", w.headers(), {"sku_id": w.a_sku}),
        replays=(
            Replay(
                (201, 201), lambda w, c: len(_history(w, c)), (0, 1, 1), race={201: RACERS}
            ),  # no repeats
        ),
    ),
    ("POST", "/cart/"): Case(
        lambda w: Call("POST", "/cart/", w.headers(), {"sku_id": w.a_sku, "count": 1}),
        # the contract: a count adds to what is there
        replays=(
            Replay(
                (201, 201),
                _cart_line,
                ((0, False), (1, True), (2, True)),
                race={201: RACERS},
                raced=(RACERS, True),  # none lost
            ),
        ),
    ),
    ("PUT", "/cart/selection/"): Case(
        lambda w: Call("PUT", "/cart/selection/", _in_cart(w), {"selected": False}),
        replays=(Replay((200, 200), _cart_line, ((1, True), (1, False), (1, False))),),
    ),
    ("PUT", "/cart/{sku_id}/"): Case(
        lambda w: Call("PUT", f"/cart/{w.a_sku}/", _in_cart(w), {"count": 3}),
        replays=(Replay((200, 200), _cart_line, ((1, True), (3, True), (3, True))),),
    ),
    ("DELETE", "/cart/{sku_id}/"): Case(
        lambda w: Call("DELETE", f"/cart/{w.a_sku}/", _in_cart(w)),
        replays=(Replay((204, 204), _cart_line, ((1, True), (0, False), (0, False))),),
    ),
    # --- orders
    ("POST", "/orders/"): Case(
        _checkout(),
        replays=(
            # the first empties the cart's selected lines: nothing left to order (at once
            # too: a double click without Idempotency-Key places one order)
            Replay(
                (201, 400),
                _orders_and_stock,
                ((0, 10), (1, 9), (1, 9)),
                race={201: 1, 400: RACERS - 1},
            ),
            Replay(
                (201, 201),
                _orders_and_stock,
                ((0, 10), (1, 9), (1, 9)),
                build=_checkout("double-click"),
                name="same Idempotency-Key",
            ),
        ),
        # the race with one key: tests/integration/test_orders_contention.py
    ),
    ("POST", "/orders/{order_id}/cancel/"): Case(
        _order_call("cancel"),
        replays=(
            # (status, history rows, stock, sales, balance, ledger rows of the order)
            Replay(
                (200, 409),
                _order_state,
                (
                    (1, 1, 9, 1, 1_000_000, 0),
                    (6, 2, 10, 0, 1_000_000, 0),
                    (6, 2, 10, 0, 1_000_000, 0),
                ),
                race={200: 1, 409: RACERS - 1},
            ),
            # A paid order's cancel (refunded to the wallet or Alipay, API.md) is not built
            # yet: its entry, "refunded once", comes with it.
        ),
    ),
    ("POST", "/orders/{order_id}/payment/"): Case(
        _order_call("payment"),
        replays=(
            Replay(
                (200, 409),
                _order_state,
                (
                    (1, 1, 9, 1, 1_000_000, 0),
                    (2, 2, 9, 1, 990_000, 1),
                    (2, 2, 9, 1, 990_000, 1),
                ),
                race={200: 1, 409: RACERS - 1},
            ),
        ),
    ),
    ("POST", "/orders/{order_id}/receipt/"): Case(
        _order_call("receipt", status=3, paid=True),
        replays=(
            Replay(
                (200, 409),
                _order_state,
                (
                    (3, 1, 9, 1, 1_000_000, 0),
                    (4, 2, 9, 1, 1_000_000, 0),
                    (4, 2, 9, 1, 1_000_000, 0),
                ),
                race={200: 1, 409: RACERS - 1},
            ),
        ),
    ),
    ("POST", "/orders/{order_id}/comments/"): Case(
        _comment_call,
        read=_comment,
        stored=S({"comments[].content"}),
        replays=(
            Replay(
                (201, 409),
                lambda w, c: (
                    _order_state(w, c)[:2],
                    w.scalar(select(skus.c.comments).where(skus.c.id == w.a_sku)),
                ),
                (((4, 1), 0), ((5, 2), 1), ((5, 2), 1)),
                race={201: 1, 409: RACERS - 1},
            ),
        ),
    ),
    ("POST", "/payments/alipay/notify/"): Case(
        lambda w: Call("POST", "/payments/alipay/notify/"),
        covered_by=(
            "tests/functional/payments/test_notify.py::test_replayed_ten_times_it_is_recorded_once",
            "tests/functional/payments/test_concurrency.py::"
            "test_ten_concurrent_duplicates_record_one_payment",
        ),
    ),
    ("POST", "/alipay-sim/trades/{out_trade_no}/pay/"): Case(
        lambda w: Call("POST", "/alipay-sim/trades/1/pay/"),
        exempt="the local stage's Alipay simulator, not the shop: its notify is what pays",
    ),
    ("POST", "/alipay-sim/trades/{out_trade_no}/cancel/"): Case(
        lambda w: Call("POST", "/alipay-sim/trades/1/cancel/"),
        exempt="the local stage's Alipay simulator: leaving the cashier changes nothing",
    ),
    # --- admin
    ("POST", "/meiduo_admin/authorizations/"): Case(
        lambda w: Call(
            "POST",
            "/meiduo_admin/authorizations/",
            body={"username": w.user(is_staff=True).username, "password": PASSWORD},
        ),
        refusal=(400, "non_field_errors"),
        replays=(Replay((200, 200)),),
    ),
    ("POST", "/meiduo_admin/users/"): Case(
        lambda w: Call(
            "POST",
            "/meiduo_admin/users/",
            w.staff_headers(),
            {
                "username": w.username(),
                "mobile": w.mobile(),
                "password": PASSWORD,
                "email": "c@example.com",
            },
        ),
        read=_admin_user,
        stored=S({"username", "mobile", "email"}),
        replays=(Replay((201, 400), _users_named, (0, 1, 1), race={201: 1, 400: RACERS - 1}),),
    ),
    ("PUT", "/meiduo_admin/orders/{order_id}/status/"): Case(
        lambda w: Call(
            "PUT",
            f"/meiduo_admin/orders/{w.order(paid=True)}/status/",
            w.staff_headers(),
            {"status": 3},
        ),
        replays=(
            Replay(
                (200, 409),
                lambda w, c: _order_state(w, c)[:2],
                ((2, 1), (3, 2), (3, 2)),
                race={200: 1, 409: RACERS - 1},
            ),
        ),
    ),
    ("POST", "/meiduo_admin/skus/"): Case(
        _new_sku,
        read=_admin_sku,
        stored=S({"name", "caption", "specs.*", "specs.<name>"}),
        replays=(Replay((201, 201), _named_skus, (0, 1, 2)),),  # names need not be unique
    ),
    ("PUT", "/meiduo_admin/skus/{sku_id}/"): Case(
        _changed_sku,
        read=_admin_sku,
        stored=S({"name", "caption", "specs.*", "specs.<name>"}),
        replays=(
            Replay(
                (200, 200),
                _sku_column(skus.c.name),
                ("海尔冰箱 BCD-470", "海尔冰箱 新款", "海尔冰箱 新款"),
            ),
        ),
    ),
    ("DELETE", "/meiduo_admin/skus/{sku_id}/"): Case(
        lambda w: Call("DELETE", f"/meiduo_admin/skus/{w.sku()}/", w.staff_headers()),
        replays=(Replay((204, 204), _sku_column(skus.c.is_launched), (True, False, False)),),
    ),
    ("POST", "/meiduo_admin/skus/images/"): Case(
        _new_image,
        replays=(Replay((201, 201), _image_state, ((0, 0, 0), (1, 1, 1), (2, 2, 2))),),
    ),
    ("PUT", "/meiduo_admin/skus/images/{image_id}/"): Case(
        _image_call("PUT"),
        # the replaced file is deleted: one row, one file
        replays=(
            Replay((200, 200), _image_state, ((1, 1, 1), (1, 1, 1), (1, 1, 1)), race={200: RACERS}),
        ),
    ),
    ("DELETE", "/meiduo_admin/skus/images/{image_id}/"): Case(
        _image_call("DELETE"),
        replays=(
            # hidden, the file kept
            Replay(
                (204, 404),
                _image_state,
                ((1, 1, 1), (0, 1, 1), (0, 1, 1)),
                race={204: 1, 404: RACERS - 1},
            ),
            Replay(
                (204, 404),
                _image_state,
                ((1, 1, 1), (0, 0, 0), (0, 0, 0)),
                race={204: 1, 404: RACERS - 1},
                build=_image_call("DELETE", "purge=true"),
                name="purge",
            ),
        ),
    ),
    # --- reads with string query parameters (test_strings.py)
    ("GET", "/search/"): Case(lambda w: Call("GET", "/search/")),
    ("GET", "/meiduo_admin/skus/"): Case(
        lambda w: Call("GET", "/meiduo_admin/skus/", w.staff_headers())
    ),
    ("GET", "/meiduo_admin/users/"): Case(
        lambda w: Call("GET", "/meiduo_admin/users/", w.staff_headers())
    ),
    ("GET", "/meiduo_admin/orders/"): Case(
        lambda w: Call("GET", "/meiduo_admin/orders/", w.staff_headers())
    ),
    ("GET", "/payments/alipay/return/"): Case(
        lambda w: Call("GET", "/payments/alipay/return/", query="out_trade_no=1&sign=x"),
        refusal=(400, "non_field_errors"),  # not signed by Alipay
    ),
    ("GET", "/alipay-sim/gateway/"): Case(
        lambda w: Call("GET", "/alipay-sim/gateway/", query="method=alipay.trade.query"),
        refusal=(400, "non_field_errors"),
    ),
}


def replay_id(item: Any) -> str:
    """pytest ids for (key, replay) parameters: "POST /orders/" and "[name]"."""
    if isinstance(item, tuple):
        return " ".join(item)
    return f"[{item.name}]" if item.name else ""


def route_key(method: str, chalice_path: str) -> tuple[str, str]:
    """app.routes' '/addresses/{address_id}' -> the table's ('PUT', '/addresses/{address_id}/')."""
    return method, chalice_path.rstrip("/") + "/"
