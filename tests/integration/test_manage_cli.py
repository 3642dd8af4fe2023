"""manage.py: the operator's commands, run as an operator runs them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, func, select

from chalicelib.db.tables import users
from tests.conftest import ROOT


def manage(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **(env or {})},
        cwd=ROOT,
    )


def test_migrate_then_migrate_again_on_a_fresh_database(tmp_path: Path) -> None:
    env = {"DATABASE_URL": f"sqlite:///{tmp_path / 'fresh.db'}"}

    first = manage("migrate", env=env)
    second = manage("migrate", env=env)

    head = ScriptDirectory.from_config(Config(str(ROOT / "alembic.ini"))).get_current_head()
    assert first.returncode == 0, first.stderr
    assert f"(empty -> {head})" in first.stdout
    assert second.returncode == 0, second.stderr
    assert f"database is up to date: sqlite:///{tmp_path / 'fresh.db'} ({head} -> {head})" in (
        second.stdout
    )
    engine = create_engine(env["DATABASE_URL"])
    try:
        with engine.connect() as conn:
            assert conn.scalar(select(func.count()).select_from(users)) == 0  # the table is there
    finally:
        engine.dispose()


def test_createsuperuser_without_input_takes_the_password_from_the_environment(db: Any) -> None:
    result = manage(
        "createsuperuser",
        "--username",
        "root_admin",
        "--email",
        "ops@example.com",
        "--noinput",
        env={"SHOP_SUPERUSER_PASSWORD": "long-enough-1"},
    )

    assert result.returncode == 0, result.stderr
    with db.connect() as conn:
        row = conn.execute(select(users).where(users.c.username == "root_admin")).one()
    assert (row.is_staff, row.is_superuser, row.email) == (True, True, "ops@example.com")
    assert row.password.startswith("argon2$")


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        (
            ["createsuperuser", "--username", "root_admin", "--noinput"],
            {"SHOP_SUPERUSER_PASSWORD": ""},
            "SHOP_SUPERUSER_PASSWORD",
        ),
        (
            ["createsuperuser", "--username", "x", "--noinput"],
            {"SHOP_SUPERUSER_PASSWORD": "long-enough-1"},
            "username",
        ),
        (["runjob", "no-such-job"], {}, "unknown job 'no-such-job'"),
        (
            ["migrate"],
            {"DATABASE_URL": "mysql+pymysql://u:p@127.0.0.1:1/x"},
            "database unavailable",
        ),
        (["migrate"], {"SHOP_STAGE": "prod"}, "on the prod stage"),
    ],
)
def test_failures_are_one_clear_line_and_a_non_zero_exit(
    db: Any, args: list[str], env: dict[str, str], message: str
) -> None:
    result = manage(*args, env=env)

    assert result.returncode != 0
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_a_duplicate_superuser_is_refused(db: Any, make_user: Any) -> None:
    make_user("root_admin")

    result = manage(
        "createsuperuser",
        "--username",
        "root_admin",
        "--noinput",
        env={"SHOP_SUPERUSER_PASSWORD": "long-enough-1"},
    )

    assert result.returncode == 1
    assert "username" in result.stderr
