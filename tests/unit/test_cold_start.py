"""Importing app.py loads no heavy client library nor pydantic: they are imported on first use."""

import json
import os
import subprocess
import sys
from typing import Any

import pytest

from bench.coldstart.run import HEAVY
from tests.conftest import ROOT


def test_importing_the_app_loads_no_heavy_module() -> None:
    code = f"import sys, json, app; print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))"

    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )

    assert json.loads(result.stdout.strip().splitlines()[-1]) == []


def test_services_load_when_a_request_first_uses_them() -> None:
    code = (
        "import sys, json, app\n"
        "before = sorted(m for m in sys.modules if m.startswith('chalicelib.services.'))\n"
        "from chalicelib.services import statistics\n"
        "statistics.roll_up\n"
        "print(json.dumps([before, 'chalicelib.services.statistics' in sys.modules]))"
    )

    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )

    before, loaded_after_use = json.loads(result.stdout.strip().splitlines()[-1])
    assert "chalicelib.services.orders" not in before
    assert "chalicelib.services.payments" not in before
    assert "chalicelib.services.statistics" not in before
    assert loaded_after_use is True


def test_request_models_load_when_a_view_first_uses_them() -> None:
    code = (
        "import sys, json, app\n"
        "from chalicelib.api.models import cart\n"
        "before = ['pydantic' in sys.modules, 'chalicelib.api.models.cart' in sys.modules]\n"
        "cart.AddToCart\n"
        "print(json.dumps(before + ['chalicelib.api.models.cart' in sys.modules]))"
    )

    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )

    assert json.loads(result.stdout.strip().splitlines()[-1]) == [False, False, True]


def test_an_unknown_service_is_an_import_error() -> None:
    import pytest

    with pytest.raises(ImportError):
        from chalicelib.services import no_such_service  # noqa: F401


def test_setting_an_attribute_on_a_stand_in_sets_it_on_the_real_module() -> None:
    code = (
        "import json, importlib\n"
        "from chalicelib.services import history\n"
        "history.MAX_HISTORY_FOR_TEST = 7\n"
        "real = importlib.import_module('chalicelib.services.history')\n"
        "seen = [real.MAX_HISTORY_FOR_TEST, history.MAX_HISTORY_FOR_TEST]\n"
        "del history.MAX_HISTORY_FOR_TEST\n"
        "print(json.dumps(seen + [hasattr(real, 'MAX_HISTORY_FOR_TEST')]))"
    )

    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )

    assert json.loads(result.stdout.strip().splitlines()[-1]) == [7, 7, False]


def _import_app_at_init(tmp_path: Any, **env: str) -> subprocess.CompletedProcess[str]:
    code = (
        "import sys, json, app\n"
        f"print(json.dumps([m for m in {['pydantic', 'jwt', 'redis', 'fakeredis']!r}"
        " if m in sys.modules]))"
    )
    environment = {
        **os.environ,
        "SHOP_STAGE": "local",
        "SHOP_VAR_DIR": str(tmp_path),
        "DATABASE_URL": f"sqlite:///{tmp_path}/shop.db",
        **env,
    }
    environment.pop("REDIS_URL", None)
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        check=True,
    )


def test_a_provisioned_container_is_primed_at_init(tmp_path: Any) -> None:
    result = _import_app_at_init(tmp_path, AWS_LAMBDA_INITIALIZATION_TYPE="provisioned-concurrency")

    loaded = set(json.loads(result.stdout.strip().splitlines()[-1]))
    assert {"pydantic", "jwt", "fakeredis"} <= loaded
    assert "failed" not in result.stderr


def test_an_on_demand_container_is_not_primed(tmp_path: Any) -> None:
    result = _import_app_at_init(tmp_path, AWS_LAMBDA_INITIALIZATION_TYPE="on-demand")

    assert json.loads(result.stdout.strip().splitlines()[-1]) == []


def test_priming_that_fails_leaves_the_work_to_the_first_request(tmp_path: Any) -> None:
    # Nothing listens on port 9: the database step fails, the import does not.
    result = _import_app_at_init(
        tmp_path,
        AWS_LAMBDA_INITIALIZATION_TYPE="provisioned-concurrency",
        DATABASE_URL="mysql+pymysql://shop@127.0.0.1:9/shop?connect_timeout=1",
        DATABASE_CONNECT_TIMEOUT="1",
    )

    assert "priming database failed" in result.stderr
    assert "pydantic" in json.loads(result.stdout.strip().splitlines()[-1])


def test_tokens_are_verified_without_importing_cryptography() -> None:
    code = (
        "import sys, json, app\n"
        "from chalicelib import auth\n"
        "claims = auth.decode_token(auth.issue_token(7, 'someone', 0))\n"
        "print(json.dumps([claims['sub'], 'cryptography' in sys.modules]))"
    )
    env = {**os.environ, "SHOP_STAGE": "local", "JWT_SECRET": "s" * 40}

    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )

    assert json.loads(result.stdout.strip().splitlines()[-1]) == ["7", False]


def test_tokens_still_work_once_something_imported_cryptography() -> None:
    # pymysql imports cryptography when it connects; a later first token must not fail.
    code = (
        "import sys, json, app, cryptography\n"
        "from chalicelib import auth\n"
        "claims = auth.decode_token(auth.issue_token(7, 'someone', 0))\n"
        "print(json.dumps([claims['sub'], sys.modules['jwt.algorithms'].has_crypto]))"
    )
    env = {**os.environ, "SHOP_STAGE": "local", "JWT_SECRET": "s" * 40}

    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )

    assert json.loads(result.stdout.strip().splitlines()[-1]) == ["7", True]


@pytest.mark.parametrize(
    ("query", "loaded"),
    [
        ("?charset=utf8mb4&ssl_ca=/etc/ssl/certs/ca-certificates.crt", False),  # as on AWS
        ("?charset=utf8mb4", True),  # pymysql's preferred TLS: RSA may be needed without it
        ("?charset=utf8mb4&ssl_disabled=true", True),
        ("?ssl_ca=/etc/ssl/certs/ca-certificates.crt&ssl_disabled=true", True),
    ],
)
def test_pymysql_leaves_cryptography_out_when_tls_is_required(query: str, loaded: bool) -> None:
    code = (
        "import sys, json\n"
        "from chalicelib.db.engine import build_engine\n"
        f"build_engine('mysql+pymysql://shop@127.0.0.1:9/shop{query}')\n"
        "print(json.dumps(['pymysql' in sys.modules, 'cryptography' in sys.modules]))"
    )
    env = {**os.environ, "SHOP_STAGE": "local"}

    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )

    assert json.loads(result.stdout.strip().splitlines()[-1]) == [True, loaded]


def test_on_lambda_garbage_collection_resumes_after_the_first_request() -> None:
    code = (
        "import gc, json, app\n"
        "before = [gc.isenabled(), app.app.after_first_call is not None]\n"
        "event = {'resource': '/nowhere', 'path': '/nowhere/', 'httpMethod': 'GET',\n"
        "         'headers': {}, 'multiValueHeaders': {}, 'queryStringParameters': None,\n"
        "         'multiValueQueryStringParameters': None, 'pathParameters': None,\n"
        "         'stageVariables': None, 'body': None, 'isBase64Encoded': False,\n"
        "         'requestContext': {'resourcePath': '/nowhere', 'httpMethod': 'GET',\n"
        "                            'path': '/api/nowhere/', 'requestId': 'r'}}\n"
        "app.app(event, None)\n"
        "print(json.dumps(before + [gc.isenabled(), app.app.after_first_call is None,\n"
        "                           gc.get_freeze_count() > 50_000]))"
    )
    env = {**os.environ, "SHOP_STAGE": "dev", "AWS_LAMBDA_FUNCTION_NAME": "jiadian-shop-dev"}

    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )

    assert json.loads(result.stdout.strip().splitlines()[-1]) == [False, True, True, True, True]


def test_elsewhere_garbage_collection_resumes_after_the_import() -> None:
    code = "import gc, json, app\nprint(json.dumps([gc.isenabled(), app.app.after_first_call]))"
    env = {**os.environ, "SHOP_STAGE": "local"}
    env.pop("AWS_LAMBDA_FUNCTION_NAME", None)

    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )

    assert json.loads(result.stdout.strip().splitlines()[-1]) == [True, None]


def test_the_tables_load_sqlites_dialect_only_when_sqlite_creates_them() -> None:
    code = (
        "import sys, json\n"
        "from sqlalchemy import create_engine, text\n"
        "from chalicelib.db import tables\n"
        "before = 'sqlalchemy.dialects.sqlite' in sys.modules\n"
        "engine = create_engine('sqlite://')\n"
        "tables.metadata.create_all(engine)\n"
        "with engine.connect() as conn:\n"
        '    ddl = dict(conn.execute(text("SELECT name, sql FROM sqlite_master"\n'
        "                                 \" WHERE type = 'table'\")).all())\n"
        "ids = [t.name for t in tables.metadata.tables.values() if 'id' in t.c\n"
        "       and t.c.id.primary_key and t.c.id.autoincrement is True]\n"
        "print(json.dumps([before, len(ids), [n for n in ids if 'AUTOINCREMENT' not in ddl[n]]]))"
    )

    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )

    before, id_tables, without = json.loads(result.stdout.strip().splitlines()[-1])
    assert before is False
    assert id_tables >= 20
    assert without == []
