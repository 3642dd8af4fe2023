"""Test setup shared by every layer.

The same functional tests run twice: on the embedded defaults (SQLite in a temp
folder, in-process Redis) and, when TEST_DATABASE_URL / TEST_REDIS_URL are set (the
second pass of `make test`), on real MariaDB and Redis servers. Each pytest run gets
its own database, migrated once with Alembic; every test starts from empty tables
and an empty Redis.
"""

from __future__ import annotations

import os
import sys
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

_tmp = Path(tempfile.mkdtemp(prefix="shop-tests-"))
TEST_JWT_SECRET = "test-secret-" + "x" * 60

BASE_ENV = {
    "SHOP_STAGE": "local",
    "SHOP_VAR_DIR": str(_tmp / "var"),
    "JWT_SECRET": TEST_JWT_SECRET,
    "STORAGE_URL": f"file://{_tmp / 'media'}",
    "MEDIA_URL": "http://testserver/media/",
    "MAIL_URL": f"file://{_tmp / 'outbox'}",
    "AWS_XRAY_SDK_ENABLED": "false",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_EC2_METADATA_DISABLED": "true",
    "CORS_ALLOWED_ORIGINS": "http://127.0.0.1:8080,http://localhost:8080",
}
for _name in ("DATABASE_URL", "REDIS_URL", "AWS_LAMBDA_FUNCTION_NAME", "ALIPAY_GATEWAY"):
    os.environ.pop(_name, None)
os.environ.update(BASE_ENV)

REAL_DATABASE = os.environ.get("TEST_DATABASE_URL")
REAL_REDIS = os.environ.get("TEST_REDIS_URL")


def _database_url() -> str:
    if not REAL_DATABASE:
        return f"sqlite:///{_tmp / 'test.db'}"
    from sqlalchemy import create_engine, text

    name = f"shop_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    server = create_engine(REAL_DATABASE)
    with server.begin() as conn:
        conn.execute(
            text(f"CREATE DATABASE {name} CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
        )
    server.dispose()
    return REAL_DATABASE.rstrip("/") + "/" + name + "?charset=utf8mb4"


def _drop_database(url: str) -> None:
    if not REAL_DATABASE:
        return
    from sqlalchemy import create_engine, text

    name = url.rsplit("/", 1)[1].split("?")[0]
    server = create_engine(REAL_DATABASE)
    with server.begin() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {name}"))
    server.dispose()


def migrate(url: str) -> None:
    from alembic import command
    from alembic.config import Config

    cfg = Config(str(ROOT / "alembic.ini"))
    previous = os.environ.get("DATABASE_URL")
    os.environ["DATABASE_URL"] = url
    try:
        command.upgrade(cfg, "head")
    finally:
        if previous is None:
            os.environ.pop("DATABASE_URL", None)
        else:
            os.environ["DATABASE_URL"] = previous


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    url = _database_url()
    migrate(url)
    os.environ["DATABASE_URL"] = url
    if REAL_REDIS:
        os.environ["REDIS_URL"] = REAL_REDIS
    yield url
    from chalicelib.db.engine import dispose_all

    dispose_all()
    _drop_database(url)


@pytest.fixture(autouse=True)
def clean_state(request: pytest.FixtureRequest) -> Iterator[None]:
    """Empty tables and Redis after every test that touched them (the built-in permissions
    stay, as migration 0009 made them)."""
    uses_db = "database_url" in request.fixturenames
    yield
    from chalicelib import breaker

    breaker.reset_all()  # no test starts with a breaker another one opened
    if not uses_db:
        return
    from sqlalchemy import delete

    from chalicelib import resources
    from chalicelib.db.engine import engine
    from chalicelib.db.tables import categories, metadata, users

    eng = engine()
    with eng.begin() as conn:
        # Self- and cross-references first: MariaDB checks foreign keys row by row.
        conn.execute(users.update().values(default_address_id=None))
        conn.execute(categories.update().values(parent_id=None))
        for table in reversed(metadata.sorted_tables):
            conn.execute(delete(table))
        # The built-in content types and permissions are migration data, not test data.
        from tests.factories import builtin_permissions

        builtin_permissions(conn)
    resources.redis().flushdb()


@pytest.fixture
def db(database_url: str) -> Any:
    """The migrated test database's engine."""
    from chalicelib.db.engine import engine

    return engine()


@pytest.fixture
def redis(database_url: str) -> Any:
    from chalicelib import resources

    return resources.redis()


class CheckedHTTP:
    """chalice.test's HTTP client, checking every response against docs/openapi.yaml."""

    def __init__(self, http: Any, app: Any) -> None:
        from chalice.local import RouteMatcher

        self._http = http
        self._matcher = RouteMatcher(list(app.routes))

    def request(
        self, method: str, path: str, headers: dict[str, str] | None = None, body: bytes | str = b""
    ) -> Any:
        from tests.openapi_check import check_response

        if isinstance(body, str):
            body = body.encode()
        response = self._http.request(method, path, headers=headers or {}, body=body)
        try:
            route = self._matcher.match_route(path).route
        except ValueError:
            from tests.openapi_check import check_unknown_path

            check_unknown_path(response.status_code, response.headers, response.body)
            return response
        check_response(route, method.upper(), response.status_code, response.headers, response.body)
        return response

    def get(self, path: str, **kwargs: Any) -> Any:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> Any:
        return self.request("POST", path, **kwargs)

    def put(self, path: str, **kwargs: Any) -> Any:
        return self.request("PUT", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> Any:
        return self.request("DELETE", path, **kwargs)

    def options(self, path: str, **kwargs: Any) -> Any:
        return self.request("OPTIONS", path, **kwargs)


class ShopClient:
    """`client.http` checks responses against the spec; `client.lambda_`/`events` as chalice's."""

    def __init__(self, chalice_client: Any, app: Any) -> None:
        self.http = CheckedHTTP(chalice_client.http, app)
        self.lambda_ = chalice_client.lambda_
        self.events = chalice_client.events
        self.raw = chalice_client


@pytest.fixture
def client(database_url: str) -> Iterator[ShopClient]:
    from chalice.test import Client

    from app import app
    from devtools.local_server import ShopGateway

    with Client(app, stage_name="local", project_dir=str(ROOT)) as test_client:
        # chalice local's gateway as `manage.py run` serves it (unknown paths: 404).
        test_client.http._local_gateway = ShopGateway(app, test_client.http._config)
        yield ShopClient(test_client, app)


def post_json(
    client: ShopClient, path: str, body: Any, headers: dict[str, str] | None = None
) -> Any:
    import json

    return client.http.post(
        path, body=json.dumps(body), headers={**json_headers(), **(headers or {})}
    )


def put_json(
    client: ShopClient, path: str, body: Any, headers: dict[str, str] | None = None
) -> Any:
    import json

    return client.http.put(
        path, body=json.dumps(body), headers={**json_headers(), **(headers or {})}
    )


def committed(build: Any) -> Any:
    """factories.<builder>(conn, ...) as make_<builder>(...): one committed transaction a call."""

    def make(*args: Any, **kwargs: Any) -> Any:
        from chalicelib.db.engine import transaction

        with transaction() as conn:
            return build(conn, *args, **kwargs)

    return make


@pytest.fixture
def make_user(database_url: str) -> Any:
    """make_user("alice", password=..., is_staff=...) -> the user row, registered for real."""
    from tests import factories

    return committed(factories.registered_user)


@pytest.fixture
def make_sku(database_url: str) -> Any:
    """make_sku(price="100.00", stock=10, **columns) -> a new SKU's id (own category, SPU)."""
    from tests import factories

    return committed(factories.sku)


@pytest.fixture
def make_order(database_url: str) -> Any:
    """make_order(user_id, sku_id, count=1, status=1, ...) -> a new order's id."""
    from tests import factories

    return committed(factories.order)


@pytest.fixture
def make_payment(database_url: str) -> Any:
    """make_payment(order_id, amount=..., trade_no=..., status="paid") -> the payment's id."""
    from tests import factories

    return committed(factories.payment)


@pytest.fixture
def token_for() -> Any:
    from chalicelib.services import accounts

    return accounts.token_for


@pytest.fixture
def auth_headers(token_for: Any) -> Any:
    """auth_headers(user_row) -> headers with a fresh Bearer token for that user."""

    def _headers(row: Any, **extra: str) -> dict[str, str]:
        return {
            "Authorization": f"Bearer {token_for(row)}",
            "Content-Type": "application/json",
            **extra,
        }

    return _headers


def json_headers(**extra: str) -> dict[str, str]:
    return {"Content-Type": "application/json", **extra}


@pytest.fixture
def make_staff(database_url: str) -> Any:
    """make_staff("ops_01", codenames=("view_order",), group_ids=(...)) -> the users row of
    a staff user (not a superuser) with those permissions and groups."""
    from tests import factories

    return committed(factories.staff_user)


@pytest.fixture
def make_group(database_url: str) -> Any:
    """make_group("运营", codenames=("view_order",)) -> the new group's id."""
    from tests import factories

    return committed(factories.group)
