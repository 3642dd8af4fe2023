"""What the abuse checks need to send a valid request to any route: a `World` that builds
users, SKUs, addresses and orders on first use (through tests/factories.py), and `Call`,
one request ready to send (in-process through chalice's test client, or over HTTP to a
local server).

The staff identity is a superuser, so it keeps every permission a staff route may come to
require.
"""

from __future__ import annotations

import itertools
import json
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from pathlib import Path
from typing import Any

from sqlalchemy import Row, func, select

from chalicelib import resources
from chalicelib.clock import utcnow
from chalicelib.db.engine import transaction
from chalicelib.db.tables import group_permissions, payments, skus, users
from chalicelib.services import accounts
from tests import factories

PASSWORD = "correct-horse-1"
_n = itertools.count(1)


@dataclass
class Call:
    """One request: a JSON `body`, a multipart `form` (a tuple value is a file part: name,
    bytes, Content-Type), or `raw` bytes with their `content_type`."""

    method: str
    path: str
    headers: dict[str, str] = field(default_factory=dict)
    body: Any = None
    form: dict[str, Any] | None = None
    raw: bytes | None = None
    content_type: str = "application/json"
    query: str = ""

    def encoded(self) -> tuple[bytes, dict[str, str]]:
        """The body and every header (a form gets a boundary of its own each time)."""
        if self.form is not None:
            from tests.functional.images.forms import multipart

            raw, content_type = multipart(self.form)
            return raw, {"Content-Type": content_type, **self.headers}
        headers = {"Content-Type": self.content_type, **self.headers}
        if self.raw is not None:
            return self.raw, headers
        return (b"" if self.body is None else _json(self.body)), headers

    def url(self) -> str:
        return self.path + (f"?{self.query}" if self.query else "")

    def send(self, client: Any) -> tuple[int, Any]:
        """Through the in-process client: (status, decoded JSON body or raw text)."""
        payload, headers = self.encoded()
        response = client.http.request(self.method, self.url(), headers=headers, body=payload)
        return response.status_code, _decode(response.body)

    def send_http(self, base: str) -> tuple[int, Any]:
        """Over HTTP to a running server (the concurrency checks)."""
        payload, headers = self.encoded()
        request = urllib.request.Request(
            base + self.url(), method=self.method, data=payload, headers=headers
        )
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                return response.status, _decode(response.read())
        except urllib.error.HTTPError as error:
            return error.code, _decode(error.read())


def _json(body: Any) -> bytes:
    """UTF-8 JSON, as clients send it; a lone surrogate (no UTF-8 for it) as its escape."""
    try:
        return json.dumps(body, ensure_ascii=False).encode()
    except UnicodeEncodeError:
        return json.dumps(body).encode()


def _decode(body: bytes) -> Any:
    try:
        return json.loads(body) if body else None
    except ValueError:
        return body.decode("utf-8", "replace")


def world_for_replays(client: Any, monkeypatch: Any, tmp_path: Path) -> World:
    """A World with recharges on and a storage folder of the test's own (files counted)."""
    monkeypatch.setenv("RECHARGE_ENABLED", "true")
    monkeypatch.setenv("STORAGE_URL", f"file://{tmp_path / 'media'}")
    return World(client, tmp_path / "media", monkeypatch)


_served: list[str] = []


def served_app() -> str:
    """The app over HTTP from a thread of this process, started once (the local Alipay
    simulator's gateway, which the app's Alipay client asks, is one of its routes); its
    base URL."""
    if not _served:
        import threading

        from devtools.local_server import build_server
        from tests.conftest import ROOT

        local = build_server(ROOT, "127.0.0.1", 0)
        threading.Thread(target=local.server.serve_forever, daemon=True).start()
        host, port = local.server.server_address[:2]
        _served.append(f"http://{host}:{port}")
    return _served[0]


def row_counts(db: Any) -> dict[str, int]:
    """Every table's row count: a refusal must leave them all as they were."""
    from chalicelib.db.tables import metadata

    with db.connect() as conn:
        return {
            table.name: conn.execute(select(func.count()).select_from(table)).scalar_one()
            for table in metadata.sorted_tables
        }


def bearer(row: Row[Any]) -> dict[str, str]:
    return {"Authorization": f"Bearer {accounts.token_for(row)}"}


class World:
    """The shop's things a request refers to, each made on first use and then kept."""

    def __init__(self, client: Any, media: Path | None = None, monkeypatch: Any = None) -> None:
        self.client = client  # tests.conftest.ShopClient, for setup through the API
        self.media = media  # the storage folder (STORAGE_URL file://...), if the test set one
        self.monkeypatch = monkeypatch  # to point the app at the Alipay simulator

    @staticmethod
    def now() -> datetime:
        return utcnow()

    def files(self) -> int:
        """How many files the storage folder holds."""
        assert self.media is not None, "give the World the test's storage folder"
        return sum(1 for p in self.media.rglob("*") if p.is_file()) if self.media.exists() else 0

    # --- people --------------------------------------------------------------------

    def user(self, *, balance: int = 0, **kwargs: Any) -> Row[Any]:
        """A new customer who can log in with PASSWORD (argon2: ~40 ms)."""
        with transaction() as conn:
            row = factories.registered_user(conn, self.username(), PASSWORD, **kwargs)
            if balance:
                conn.execute(users.update().where(users.c.id == row.id).values(balance=balance))
            return accounts.get_user(conn, row.id)

    def token_user(self, **columns: Any) -> Row[Any]:
        """A new customer known by token only (no password hashing: cheap)."""
        with transaction() as conn:
            return accounts.get_user(conn, factories.user(conn, **columns))

    @cached_property
    def customer(self) -> Row[Any]:
        return self.user(balance=1_000_000)

    @cached_property
    def staff(self) -> Row[Any]:
        return self.user(is_staff=True, is_superuser=True)

    def headers(self, row: Row[Any] | None = None) -> dict[str, str]:
        return bearer(row if row is not None else self.customer)

    def staff_headers(self) -> dict[str, str]:
        return bearer(self.staff)

    def username(self) -> str:
        return f"abuse{next(_n):06d}"

    def mobile(self) -> str:
        return f"139{next(_n):08d}"

    # --- things --------------------------------------------------------------------

    def sku(self, **columns: Any) -> int:
        with transaction() as conn:
            return factories.sku(conn, **columns)

    @cached_property
    def a_sku(self) -> int:
        return self.sku(price=10_000, stock=10)

    def leaf_category(self) -> int:
        with transaction() as conn:
            top = factories.category(conn)
            middle = factories.category(conn, parent_id=top)
            return factories.category(conn, parent_id=middle)

    def top_category(self) -> int:
        with transaction() as conn:
            return factories.category(conn)

    def category_path(self) -> tuple[int, int, int]:
        """A new first-, second- and third-level category, each the child of the one before."""
        with transaction() as conn:
            top = factories.category(conn)
            middle = factories.category(conn, parent_id=top)
            return top, middle, factories.category(conn, parent_id=middle)

    def brand(self) -> int:
        with transaction() as conn:
            return factories.brand(conn)

    def spu(self) -> int:
        brand_id = self.brand()
        with transaction() as conn:
            return factories.spu(conn, brand_id=brand_id)

    def spec(self, spu_id: int | None = None) -> int:
        spu_id = self.spu() if spu_id is None else spu_id
        with transaction() as conn:
            return factories.spec(conn, spu_id)

    def option(self, spec_id: int | None = None) -> int:
        spec_id = self.spec() if spec_id is None else spec_id
        with transaction() as conn:
            return factories.option(conn, spec_id)

    def channel_group(self) -> int:
        with transaction() as conn:
            return factories.channel_group(conn)

    def channel(self) -> int:
        group_id, category_id = self.channel_group(), self.top_category()
        with transaction() as conn:
            return factories.channel(conn, group_id, category_id)

    def permission(self) -> int:
        with transaction() as conn:
            return factories.permission(conn)

    def group(self) -> int:
        permission_id = self.permission()
        with transaction() as conn:
            group_id = factories.group(conn)
            conn.execute(
                group_permissions.insert().values(group_id=group_id, permission_id=permission_id)
            )
            return group_id

    def staff_member(self) -> Row[Any]:
        """A staff user who is not a superuser (no permissions)."""
        with transaction() as conn:
            return factories.staff_user(conn, self.username())

    def late_payment(self, amount: int = 10_000) -> int:
        """A cancelled order of the customer's whose Alipay payment arrived too late
        (`refund_needed`), paid at the local Alipay simulator; the payment's id."""
        assert self.monkeypatch is not None, "give the World the test's monkeypatch"
        self.monkeypatch.setenv("API_BASE_URL", served_app())  # where the simulator is
        user_id, sku_id = self.customer.id, self.a_sku
        with transaction() as conn:
            order_id = factories.order(conn, user_id, sku_id, status=6, needs_refund=True)
            payment_id = factories.payment(conn, order_id, amount=amount, status="refund_needed")
            trade_no = conn.scalar(select(payments.c.trade_no).where(payments.c.id == payment_id))
        factories.simulator_trade(resources.redis(), order_id, trade_no, amount)
        return payment_id

    def address(self, user_id: int | None = None) -> int:
        user_id = self.customer.id if user_id is None else user_id
        with transaction() as conn:
            return factories.address(conn, user_id)

    def order(self, *, paid: bool = False, **columns: Any) -> str:
        """The customer's order of one unit of a_sku, its stock taken as checkout takes it
        (status 1, or 2 if paid, unless given; paid orders paid at now)."""
        user_id, sku_id = self.customer.id, self.a_sku  # made first: each is a transaction
        if paid:
            columns.setdefault("paid_at", utcnow())
        with transaction() as conn:
            conn.execute(
                skus.update()
                .where(skus.c.id == sku_id, skus.c.stock >= 1)
                .values(stock=skus.c.stock - 1, sales=skus.c.sales + 1)
            )
            return factories.order(conn, user_id, sku_id, **columns)

    def count(self, table: Any, *where: Any) -> int:
        with transaction() as conn:
            return int(conn.scalar(select(func.count()).select_from(table).where(*where)) or 0)

    def one(self, statement: Any) -> Row[Any]:
        with transaction() as conn:
            return conn.execute(statement).one()

    def scalar(self, statement: Any) -> Any:
        with transaction() as conn:
            return conn.scalar(statement)
