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


def test_file_deletions_lists_the_queue_with_attempts_and_last_error(db: Any) -> None:
    from datetime import UTC, datetime

    from chalicelib.db.tables import pending_file_deletions as pending

    queued_at = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
    tried_at = datetime(2026, 12, 1, 8, 30, tzinfo=UTC)
    with db.begin() as conn:
        conn.execute(
            pending.insert().values(file_id="group1/M00/00/00/a.png", create_time=queued_at)
        )
        conn.execute(
            pending.insert().values(
                file_id="group1/M00/00/00/b.png",
                create_time=queued_at,
                attempts=3,
                last_error="StorageUnavailable: no active storage server",
                last_attempt_time=tried_at,
            )
        )
        ids = list(conn.execute(select(pending.c.id).order_by(pending.c.id)).scalars())

    result = manage("file-deletions")

    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "2 file deletion(s) queued",
        f"{ids[0]}\tgroup1/M00/00/00/a.png\tqueued 2026-12-01 08:00:00Z\tnot tried yet",
        f"{ids[1]}\tgroup1/M00/00/00/b.png\tqueued 2026-12-01 08:00:00Z\t3 attempt(s), "
        "last 2026-12-01 08:30:00Z: StorageUnavailable: no active storage server",
    ]


def test_file_deletions_forget_drops_one_entry(db: Any) -> None:
    from datetime import UTC, datetime

    from chalicelib.db.tables import pending_file_deletions as pending

    now = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
    with db.begin() as conn:
        for name in ("gone/M00/a.png", "group1/M00/b.png"):
            conn.execute(pending.insert().values(file_id=name, create_time=now))
        first = conn.execute(select(pending.c.id).order_by(pending.c.id)).scalars().first()

    result = manage("file-deletions", "--forget", str(first))
    again = manage("file-deletions", "--forget", str(first))

    assert result.returncode == 0, result.stderr
    assert (
        result.stdout == f"forgot deletion {first} of gone/M00/a.png (the file was not deleted)\n"
    )
    assert (again.returncode, again.stderr.strip()) == (
        1,
        f"Error: no queued deletion has the id {first}",
    )
    with db.connect() as conn:
        assert list(conn.execute(select(pending.c.file_id)).scalars()) == ["group1/M00/b.png"]
