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
  that of one request (a recharge recharges each time). `variants` builds another
  documented form of the body for the fields only it has. A route whose replay is proven
  elsewhere names that test with `covered_by`; `exempt` says why a route needs none.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from chalicelib import auth, resources
from chalicelib.adapters import alipay_simulator
from chalicelib.db.engine import transaction
from chalicelib.db.tables import (
    addresses,
    balance_records,
    brands,
    channels,
    content_types,
    groups,
    order_status_history,
    orders,
    payments,
    permissions,
    refunds,
    sku_images,
    skus,
    spec_options,
    spu_specs,
    spus,
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
    # field name -> the build of another valid form of the body that has that field (the
    # admin SKU's older `specs: {name: value}`)
    variants: dict[str, Callable[[World], Call]] = field(default_factory=dict)


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
    """The SKU's name and caption, and its choices as the body gave them: `[{spec_id,
    option_id}]`, or for the older form `{specification name: option value}` (read through
    the SPU's specifications)."""
    staff = world.staff_headers()
    body = _get(world, f"/meiduo_admin/skus/{answer['id']}/", staff)
    specs: Any = body["specs"]
    if isinstance(call.body["specs"], dict):
        of_spu = _get(world, f"/meiduo_admin/goods/{body['spu_id']}/specs/", staff)
        names = {
            (spec["id"], option["id"]): (spec["name"], option["value"])
            for spec in of_spu
            for option in spec["options"]
        }
        specs = dict(names[(s["spec_id"], s["option_id"])] for s in specs)
    return {"name": body["name"], "caption": body["caption"], "specs": specs}


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
    """A new SKU of an SPU with one specification: `specs` as `[{spec_id, option_id}]`."""
    spu_id = w.spu()
    option_id = w.option(spec_id := w.spec(spu_id))
    category_id = w.scalar(select(spus.c.category3_id).where(spus.c.id == spu_id))
    return {
        "name": "海尔冰箱 BCD-470",
        "caption": "一级能效",
        "price": "3999.00",
        "stock": 5,
        "spu_id": spu_id,
        "category_id": category_id,
        "specs": [{"spec_id": spec_id, "option_id": option_id}],
        "is_launched": True,
    }


def _older_sku_body(w: World) -> dict[str, Any]:
    """The older form: no spu_id (a new SPU in the category), `specs` as `{name: value}`."""
    body = {k: v for k, v in _sku_body(w).items() if k != "spu_id"}
    return {**body, "category_id": w.leaf_category(), "specs": {"颜色": "白色"}}


def _new_sku(w: World) -> Call:
    return Call("POST", "/meiduo_admin/skus/", w.staff_headers(), _sku_body(w))


def _new_older_sku(w: World) -> Call:
    return Call("POST", "/meiduo_admin/skus/", w.staff_headers(), _older_sku_body(w))


def _changed_sku(older: bool = False) -> Callable[[World], Call]:
    def build(w: World) -> Call:
        status, created = (_new_older_sku if older else _new_sku)(w).send(w.client)
        assert status == 201, created
        body = {**(_older_sku_body(w) if older else _sku_body(w)), "name": "海尔冰箱 新款"}
        body["category_id"] = created["category_id"]
        if not older:
            body = {**body, "spu_id": created["spu_id"], "specs": created["specs"]}
        return Call("PUT", f"/meiduo_admin/skus/{created['id']}/", w.staff_headers(), body)

    return build


OLDER_SKU_FIELDS = ("specs.*", "specs.<name>")


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


def _sku_columns(*columns: Any) -> Effect:
    def effect(w: World, call: Call) -> Any:
        sku_id = int(call.path.split("/")[3])
        row = w.one(select(*columns).where(skus.c.id == sku_id))
        return tuple(bool(value) for value in row)

    return effect


def _users_named(w: World, call: Call) -> int:
    return w.count(users, users.c.username == call.body["username"])


def _history(w: World, call: Call) -> list[str]:
    return list(resources.redis().lrange(f"history:{w.customer.id}", 0, -1))


def _orders_and_stock(w: World, call: Call) -> tuple[int, int]:
    stock = w.scalar(select(skus.c.stock).where(skus.c.id == w.a_sku))
    return w.count(orders, orders.c.user_id == w.customer.id), stock


# --- the admin catalogue, permissions and refunds ------------------------------------------


def _path_id(call: Call) -> int:
    """The last id in the path: /meiduo_admin/goods/specs/12/ -> 12."""
    return int(call.path.rstrip("/").split("/")[-1])


def _admin_read(path: str, *names: str) -> Callable[[World, Call, Any], dict[str, Any]]:
    """The row the call wrote, read back through GET <path><id>/."""

    def read(w: World, call: Call, answer: Any) -> dict[str, Any]:
        body = _get(w, f"/meiduo_admin/{path}{answer['id']}/", w.staff_headers())
        return {name: body[name] for name in names}

    return read


def _column(table: Any, column: str) -> Effect:
    """A column of the row whose id ends the path."""

    def effect(w: World, call: Call) -> Any:
        return w.scalar(select(table.c[column]).where(table.c.id == _path_id(call)))

    return effect


def _named_as_sent(table: Any, column: str) -> Effect:
    """Whether the row's column holds what the body sent (before: the builder's value)."""

    def effect(w: World, call: Call) -> bool:
        sent = (call.body if call.body is not None else call.form or {})[column]
        return bool(_column(table, column)(w, call) == sent)

    return effect


def _rows_of_path_id(table: Any) -> Effect:
    return lambda w, call: w.count(table, table.c.id == _path_id(call))


def _live(table: Any, **where: str) -> Effect:
    """Live (not deleted) rows whose columns equal the body's fields of the same name."""

    def effect(w: World, call: Call) -> int:
        body = call.body if call.body is not None else call.form
        assert body is not None
        equal = [table.c[column] == body[name] for column, name in where.items()]
        if "is_deleted" in table.c:
            equal.append(table.c.is_deleted.is_(False))
        return w.count(table, *equal)

    return effect


def _spu_body(w: World, name: str = "海尔冰箱") -> dict[str, Any]:
    top, middle, leaf = w.category_path()
    return {
        "name": name,
        "brand_id": w.brand(),
        "category1_id": top,
        "category2_id": middle,
        "category3_id": leaf,
        "desc_detail": "<p>详情</p>",
        "desc_pack": "<p>包装</p>",
        "desc_service": "<p>售后</p>",
    }


def _brand_form(name: str) -> dict[str, Any]:
    return {"name": name, "first_letter": "H", "logo": _png()}


def _new_brand(w: World) -> Call:
    form = _brand_form(f"海尔{next(_brand_names)}")
    return Call("POST", "/meiduo_admin/goods/brands/", w.staff_headers(), form=form)


_brand_names = itertools.count(1)


def _changed_brand(w: World) -> Call:
    form = {"name": f"海尔{next(_brand_names)}", "first_letter": "H"}
    path = f"/meiduo_admin/goods/brands/{w.brand()}/"
    return Call("PUT", path, w.staff_headers(), form=form)


def _channel_body(w: World) -> dict[str, Any]:
    return {
        "group_id": w.channel_group(),
        "category_id": w.top_category(),
        "url": "http://list.jd.com/list.html?cat=1",
        "sequence": 1,
    }


def _permission_body(w: World) -> dict[str, Any]:
    content_type = w.scalar(select(content_types.c.id).where(content_types.c.model == "sku"))
    return {
        "name": "Can export SKUs",
        "codename": f"export_sku_{w.username()}",
        "content_type": content_type,
    }


def _staff_body(w: World) -> dict[str, Any]:
    return {
        "username": w.username(),
        "password": PASSWORD,
        "mobile": w.mobile(),
        "email": "staff@example.com",
        "groups": [w.group()],
        "user_permissions": [w.permission()],
    }


def _refund_call(idempotency_key: str | None = None) -> Callable[[World], Call]:
    def build(w: World) -> Call:
        order_id = w.order(paid=True, pay_method="balance")
        headers = w.staff_headers()
        if idempotency_key:
            headers["Idempotency-Key"] = idempotency_key
        body = {"amount": "100.00", "reason": "缺货"}
        return Call("POST", f"/meiduo_admin/orders/{order_id}/refunds/", headers, body)

    return build


def _admin_refund(w: World, call: Call, answer: Any) -> dict[str, Any]:
    order = _get(w, f"/meiduo_admin/orders/{answer['order_id']}/", w.staff_headers())
    (refund,) = [r for r in order["refunds"] if r["refund_no"] == answer["refund_no"]]
    return {"reason": refund["reason"]}


def _refunded_order(w: World, call: Call) -> tuple[Any, ...]:
    """(order status, refunds of the order, the buyer's balance)."""
    order_id = _order_id(call)
    status = w.scalar(select(orders.c.status).where(orders.c.order_id == order_id))
    balance = w.scalar(select(users.c.balance).where(users.c.id == w.customer.id))
    return status, w.count(refunds, refunds.c.order_id == order_id), balance


def _late_refund(w: World, call: Call) -> tuple[Any, ...]:
    """(payment status, refunds of the payment, refunds made at the Alipay simulator)."""
    payment_id = int(call.path.split("/")[3])
    payment = w.one(
        select(payments.c.status, payments.c.order_id).where(payments.c.id == payment_id)
    )
    raw = resources.redis().get(alipay_simulator.TRADE_KEY.format(payment.order_id))
    made = len(json.loads(raw).get("refunds", {})) if raw else 0
    return payment.status, w.count(refunds, refunds.c.payment_id == payment_id), made


def _changed_spec(w: World) -> Call:
    spu_id = w.spu()
    path = f"/meiduo_admin/goods/specs/{w.spec(spu_id)}/"
    return Call("PUT", path, w.staff_headers(), {"name": "尺寸", "spu_id": spu_id})


def _changed_option(w: World) -> Call:
    spec_id = w.spec()
    path = f"/meiduo_admin/specs/options/{w.option(spec_id)}/"
    return Call("PUT", path, w.staff_headers(), {"value": "黑色", "spec_id": spec_id})


def _deleted(table: Any) -> Effect:
    return _column(table, "is_deleted")


def _delete(path: str, make: Callable[[World], int]) -> Callable[[World], Call]:
    return lambda w: Call("DELETE", f"/meiduo_admin/{path}{make(w)}/", w.staff_headers())


def _put(
    path: str, make: Callable[[World], int], body: Callable[[World], Any]
) -> Callable[[World], Call]:
    def build(w: World) -> Call:
        row_id = make(w)
        return Call("PUT", f"/meiduo_admin/{path}{row_id}/", w.staff_headers(), body(w))

    return build


def _post(path: str, body: Callable[[World], Any]) -> Callable[[World], Call]:
    return lambda w: Call("POST", f"/meiduo_admin/{path}", w.staff_headers(), body(w))


ONE_WINS = {201: 1, 400: RACERS - 1}  # one create, the others a 400 naming the field
ONE_DELETES = {204: 1, 404: RACERS - 1}


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
            # a paid order's cancel refunds it (here to the wallet) once; history: placed,
            # the refund, the cancel
            Replay(
                (200, 409),
                _order_state,
                (
                    (2, 1, 9, 1, 1_000_000, 0),
                    (6, 3, 10, 0, 1_010_000, 1),
                    (6, 3, 10, 0, 1_010_000, 1),
                ),
                race={200: 1, 409: RACERS - 1},
                build=_order_call("cancel", paid=True),
                name="paid: refunded once",
            ),
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
        stored=S({"name", "caption", *OLDER_SKU_FIELDS}),
        variants=dict.fromkeys(OLDER_SKU_FIELDS, _new_older_sku),
        replays=(
            Replay((201, 201), _named_skus, (0, 1, 2)),  # names need not be unique
            Replay((201, 201), _named_skus, (0, 1, 2), build=_new_older_sku, name="older specs"),
        ),
    ),
    ("PUT", "/meiduo_admin/skus/{sku_id}/"): Case(
        _changed_sku(),
        read=_admin_sku,
        # Not specs.<name>: a new specification name on the SKU's SPU is a 400 on `specs`
        # (each SKU of the SPU must then choose an option of it), whatever the text.
        stored=S({"name", "caption", "specs.*"}),
        variants=dict.fromkeys(OLDER_SKU_FIELDS, _changed_sku(older=True)),
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
        # deleted softly (unlaunched, kept for the orders' history): gone from the console
        replays=(
            Replay(
                (204, 404),
                _sku_columns(skus.c.is_launched, skus.c.is_deleted),
                ((True, False), (False, True), (False, True)),
                race={204: 1, 404: RACERS - 1},
            ),
        ),
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
    # --- admin catalogue: SPUs, specifications, options, brands, channels
    ("POST", "/meiduo_admin/goods/"): Case(
        _post("goods/", _spu_body),
        read=_admin_read("goods/", "name", "desc_detail", "desc_pack", "desc_service"),
        stored=S({"name"}),
        # SPU names need not be unique: a replay makes another
        replays=(Replay((201, 201), _live(spus, name="name"), (0, 1, 2)),),
    ),
    ("PUT", "/meiduo_admin/goods/{spu_id}/"): Case(
        _put("goods/", lambda w: w.spu(), lambda w: _spu_body(w, "海尔冰箱 新款")),
        read=_admin_read("goods/", "name"),
        stored=S({"name"}),
        replays=(Replay((200, 200), _named_as_sent(spus, "name"), (False, True, True)),),
    ),
    ("DELETE", "/meiduo_admin/goods/{spu_id}/"): Case(
        _delete("goods/", lambda w: w.spu()),
        replays=(Replay((204, 404), _deleted(spus), (False, True, True), race=ONE_DELETES),),
    ),
    ("POST", "/meiduo_admin/goods/specs/"): Case(
        _post("goods/specs/", lambda w: {"name": "颜色", "spu_id": w.spu()}),
        read=_admin_read("goods/specs/", "name"),
        stored=S({"name"}),
        # one specification of a name per SPU
        replays=(
            Replay(
                (201, 400), _live(spu_specs, name="name", spu_id="spu_id"), (0, 1, 1), race=ONE_WINS
            ),
        ),
    ),
    ("PUT", "/meiduo_admin/goods/specs/{spec_id}/"): Case(
        _changed_spec,
        read=_admin_read("goods/specs/", "name"),
        stored=S({"name"}),
        replays=(Replay((200, 200), _named_as_sent(spu_specs, "name"), (False, True, True)),),
    ),
    ("DELETE", "/meiduo_admin/goods/specs/{spec_id}/"): Case(
        _delete("goods/specs/", lambda w: w.spec()),
        replays=(Replay((204, 404), _deleted(spu_specs), (False, True, True), race=ONE_DELETES),),
    ),
    ("POST", "/meiduo_admin/specs/options/"): Case(
        _post("specs/options/", lambda w: {"value": "白色", "spec_id": w.spec()}),
        read=_admin_read("specs/options/", "value"),
        stored=S({"value"}),
        # one option of a value per specification
        replays=(
            Replay(
                (201, 400),
                _live(spec_options, value="value", spec_id="spec_id"),
                (0, 1, 1),
                race=ONE_WINS,
            ),
        ),
    ),
    ("PUT", "/meiduo_admin/specs/options/{option_id}/"): Case(
        _changed_option,
        read=_admin_read("specs/options/", "value"),
        stored=S({"value"}),
        replays=(Replay((200, 200), _named_as_sent(spec_options, "value"), (False, True, True)),),
    ),
    ("DELETE", "/meiduo_admin/specs/options/{option_id}/"): Case(
        _delete("specs/options/", lambda w: w.option()),
        replays=(
            Replay((204, 404), _deleted(spec_options), (False, True, True), race=ONE_DELETES),
        ),
    ),
    ("POST", "/meiduo_admin/goods/brands/"): Case(
        _new_brand,
        read=_admin_read("goods/brands/", "name"),
        stored=S({"name"}),
        # a brand's name is unique among live brands; the refused one's logo is not kept
        replays=(
            Replay(
                (201, 400),
                lambda w, c: (_live(brands, name="name")(w, c), w.files()),
                ((0, 0), (1, 1), (1, 1)),
                race=ONE_WINS,
            ),
        ),
    ),
    ("PUT", "/meiduo_admin/goods/brands/{brand_id}/"): Case(
        _changed_brand,
        read=_admin_read("goods/brands/", "name"),
        stored=S({"name"}),
        replays=(
            Replay(
                (200, 200),
                _named_as_sent(brands, "name"),
                (False, True, True),
            ),
        ),
    ),
    ("DELETE", "/meiduo_admin/goods/brands/{brand_id}/"): Case(
        _delete("goods/brands/", lambda w: w.brand()),
        replays=(Replay((204, 404), _deleted(brands), (False, True, True), race=ONE_DELETES),),
    ),
    ("POST", "/meiduo_admin/goods/channels/"): Case(
        _post("goods/channels/", _channel_body),
        read=_admin_read("goods/channels/", "url"),
        # one channel per first-level category
        replays=(
            Replay(
                (201, 400), _live(channels, category_id="category_id"), (0, 1, 1), race=ONE_WINS
            ),
        ),
    ),
    ("PUT", "/meiduo_admin/goods/channels/{channel_id}/"): Case(
        _put(
            "goods/channels/", lambda w: w.channel(), lambda w: {**_channel_body(w), "sequence": 7}
        ),
        read=_admin_read("goods/channels/", "url"),
        replays=(Replay((200, 200), _column(channels, "sequence"), (0, 7, 7)),),
    ),
    ("DELETE", "/meiduo_admin/goods/channels/{channel_id}/"): Case(
        _delete("goods/channels/", lambda w: w.channel()),
        replays=(Replay((204, 404), _rows_of_path_id(channels), (1, 0, 0), race=ONE_DELETES),),
    ),
    # --- admin staff permissions
    ("POST", "/meiduo_admin/permission/perms/"): Case(
        _post("permission/perms/", _permission_body),
        read=_admin_read("permission/perms/", "name", "codename"),
        stored=S({"name"}),
        # a codename is unique
        replays=(
            Replay((201, 400), _live(permissions, codename="codename"), (0, 1, 1), race=ONE_WINS),
        ),
    ),
    ("PUT", "/meiduo_admin/permission/perms/{permission_id}/"): Case(
        _put("permission/perms/", lambda w: w.permission(), _permission_body),
        read=_admin_read("permission/perms/", "name", "codename"),
        stored=S({"name"}),
        replays=(
            Replay(
                (200, 200),
                _named_as_sent(permissions, "codename"),
                (False, True, True),
            ),
        ),
    ),
    ("DELETE", "/meiduo_admin/permission/perms/{permission_id}/"): Case(
        _delete("permission/perms/", lambda w: w.permission()),
        replays=(Replay((204, 404), _rows_of_path_id(permissions), (1, 0, 0), race=ONE_DELETES),),
    ),
    ("POST", "/meiduo_admin/permission/groups/"): Case(
        _post(
            "permission/groups/",
            lambda w: {"name": f"运营{w.username()}", "permissions": [w.permission()]},
        ),
        read=_admin_read("permission/groups/", "name"),
        stored=S({"name"}),
        replays=(Replay((201, 400), _live(groups, name="name"), (0, 1, 1), race=ONE_WINS),),
    ),
    ("PUT", "/meiduo_admin/permission/groups/{group_id}/"): Case(
        _put(
            "permission/groups/",
            lambda w: w.group(),
            lambda w: {"name": "客服", "permissions": [w.permission()]},
        ),
        read=_admin_read("permission/groups/", "name"),
        stored=S({"name"}),
        replays=(Replay((200, 200), _named_as_sent(groups, "name"), (False, True, True)),),
    ),
    ("DELETE", "/meiduo_admin/permission/groups/{group_id}/"): Case(
        _delete("permission/groups/", lambda w: w.group()),
        replays=(Replay((204, 404), _rows_of_path_id(groups), (1, 0, 0), race=ONE_DELETES),),
    ),
    ("POST", "/meiduo_admin/permission/admins/"): Case(
        _post("permission/admins/", _staff_body),
        read=_admin_read("permission/admins/", "username", "mobile", "email"),
        replays=(Replay((201, 400), _users_named, (0, 1, 1), race=ONE_WINS),),
    ),
    ("PUT", "/meiduo_admin/permission/admins/{staff_id}/"): Case(
        _put("permission/admins/", lambda w: w.staff_member().id, _staff_body),
        read=_admin_read("permission/admins/", "username", "mobile", "email"),
        replays=(
            Replay(
                (200, 200),
                _named_as_sent(users, "username"),
                (False, True, True),
            ),
        ),
    ),
    ("DELETE", "/meiduo_admin/permission/admins/{staff_id}/"): Case(
        _delete("permission/admins/", lambda w: w.staff_member().id),
        # the account stays, no longer staff: gone from the staff list
        replays=(
            Replay((204, 404), _column(users, "is_staff"), (True, False, False), race=ONE_DELETES),
        ),
    ),
    # --- refunds
    ("POST", "/meiduo_admin/orders/{order_id}/refunds/"): Case(
        _refund_call(),
        read=_admin_refund,
        stored=S({"reason"}),
        replays=(
            # (order status, refunds of the order, buyer's balance): refunded in full
            # before shipping, the order is cancelled; a second full refund is a 409
            Replay(
                (201, 409),
                _refunded_order,
                ((2, 0, 1_000_000), (6, 1, 1_010_000), (6, 1, 1_010_000)),
                race={201: 1, 409: RACERS - 1},
            ),
            Replay(
                (201, 201),
                _refunded_order,
                ((2, 0, 1_000_000), (6, 1, 1_010_000), (6, 1, 1_010_000)),
                race={201: RACERS},
                build=_refund_call("refund-once"),
                name="same Idempotency-Key",
            ),
        ),
    ),
    ("POST", "/meiduo_admin/payments/{payment_id}/refund/"): Case(
        lambda w: Call(
            "POST", f"/meiduo_admin/payments/{w.late_payment()}/refund/", w.staff_headers()
        ),
        replays=(
            # (payment status, its refunds, refunds made at Alipay): given back once; at
            # once, one arriving while the first's refund is pending asks Alipay again
            # with the same refund_no (a 200 too), which Alipay makes once
            Replay(
                (200, 409),
                _late_refund,
                (("refund_needed", 0, 0), ("refunded", 1, 1), ("refunded", 1, 1)),
                race={(200, 409): RACERS},
            ),
        ),
    ),
    ("POST", "/alipay-sim/faults/refund-timeout/"): Case(
        lambda w: Call("POST", "/alipay-sim/faults/refund-timeout/"),
        exempt="the local stage's Alipay simulator: a fault switch for trying refunds by hand",
    ),
    # --- reads with string query parameters (test_strings.py)
    ("GET", "/search/"): Case(lambda w: Call("GET", "/search/")),
    ("GET", "/meiduo_admin/skus/"): Case(
        lambda w: Call("GET", "/meiduo_admin/skus/", w.staff_headers())
    ),
    ("GET", "/meiduo_admin/goods/"): Case(
        lambda w: Call("GET", "/meiduo_admin/goods/", w.staff_headers())
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
