#!/usr/bin/env python3
"""Operator CLI: migrate, createsuperuser, seed-demo, generate, runjob, file-deletions, run.

Every command reads the same environment as the app (DATABASE_URL, REDIS_URL, ...);
with nothing set it works on the embedded local defaults under var/. Errors are one
clear line on stderr and a non-zero exit code.
"""

from __future__ import annotations

import functools
import os
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT))


def fails_cleanly(command: Callable[..., Any]) -> Callable[..., Any]:
    """Turn expected failures into one line on stderr and exit code 1."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from chalicelib.config import ConfigError
        from chalicelib.errors import ApiError

        try:
            return command(*args, **kwargs)
        except click.ClickException:
            raise
        except ApiError as exc:
            body = exc.body()
            detail = "; ".join(
                f"{k}: {v[0] if isinstance(v, list) else v}" for k, v in body.items() if k != "code"
            )
            raise click.ClickException(detail) from None
        except ConfigError as exc:
            raise click.ClickException(f"configuration: {exc}") from None
        except Exception as exc:  # an operator needs the cause, not a traceback
            from sqlalchemy.exc import OperationalError

            if isinstance(exc, OperationalError):
                raise click.ClickException(f"database unavailable: {exc.orig}") from None
            raise click.ClickException(f"{type(exc).__name__}: {exc}") from None

    return wrapper


@click.group()
def cli() -> None:
    """家电之选 shop: operator commands."""


@cli.command()
@fails_cleanly
def migrate() -> None:
    """Bring the database schema up to date (Alembic upgrade head)."""
    from chalicelib.config import settings
    from chalicelib.migrations import upgrade_to_head

    url = settings().database_url
    before, after = upgrade_to_head(url)
    click.echo(f"database is up to date: {url.split('@')[-1]} ({before or 'empty'} -> {after})")


@cli.command()
@click.option("--username", required=True)
@click.option("--email", default="")
@click.option("--mobile", default=None)
@click.option("--noinput", is_flag=True, help="Take the password from SHOP_SUPERUSER_PASSWORD.")
@fails_cleanly
def createsuperuser(username: str, email: str, mobile: str | None, noinput: bool) -> None:
    """Create a staff superuser who can log in to the meiduo admin."""
    from chalicelib.api.models.accounts import SignUp
    from chalicelib.api.routing import validate
    from chalicelib.db.engine import transaction
    from chalicelib.services import accounts

    if noinput:
        password = os.environ.get("SHOP_SUPERUSER_PASSWORD", "")
        if not password:
            raise click.ClickException("--noinput needs the password in SHOP_SUPERUSER_PASSWORD")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    body = validate(
        SignUp, {"username": username, "password": password, "email": email, "mobile": mobile}
    )
    with transaction() as conn:
        row = accounts.register(
            conn,
            username=body.username,
            password=body.password,
            email=body.email,
            mobile=body.mobile,
            is_staff=True,
            is_superuser=True,
        )
    click.echo(f"superuser {row.username} created (id {row.id})")


@cli.command()
@fails_cleanly
def seed_demo() -> None:
    """Load the demo shop (idempotent: a second run changes nothing)."""
    from devtools import demo

    summary = demo.seed()
    click.echo(summary)


@cli.command()
@click.option("--users", default=0, show_default=True, help="Users to add.")
@click.option("--skus", default=0, show_default=True, help="SKUs to add (with their SPUs).")
@click.option("--orders", default=0, show_default=True, help="Orders to add (1-3 lines each).")
@click.option("--seed", default=1, show_default=True, help="Random seed (same seed, same data).")
@fails_cleanly
def generate(users: int, skus: int, orders: int, seed: int) -> None:
    """Bulk-generate users, SKUs and orders for scale tests (adds rows, batched inserts)."""
    from devtools import generate as generator

    if min(users, skus, orders) < 0:
        raise click.ClickException("counts must not be negative")
    click.echo(generator.generate(users=users, skus=skus, orders=orders, seed=seed))


@cli.command()
@click.argument("name")
@fails_cleanly
def runjob(name: str) -> None:
    """Run a scheduled job once, now (e.g. expire-orders)."""
    from chalicelib.jobs import JOBS, run_now

    if name not in JOBS:
        known = ", ".join(sorted(JOBS)) or "none"
        raise click.ClickException(f"unknown job {name!r}; jobs: {known}")
    result = run_now(name)
    click.echo(f"{name}: {result}")


@cli.command("file-deletions")
@click.option("--limit", default=50, show_default=True, help="Entries to list, oldest first.")
@click.option(
    "--forget",
    type=int,
    default=None,
    help="Drop entry ID from the queue without deleting its file (known gone, or its group "
    "no longer exists).",
)
@fails_cleanly
def file_deletions(limit: int, forget: int | None) -> None:
    """List the stored files still waiting to be deleted (the retry-file-deletions queue)."""
    from chalicelib.db.engine import transaction
    from chalicelib.services import images

    if forget is not None:
        with transaction() as conn:
            file_id = images.forget_deletion(conn, forget)
        if file_id is None:
            raise click.ClickException(f"no queued deletion has the id {forget}")
        click.echo(f"forgot deletion {forget} of {file_id} (the file was not deleted)")
        return
    with transaction() as conn:
        queued, total = images.queued_deletions(conn, limit=max(limit, 0))
    click.echo(f"{total} file deletion(s) queued")
    for item in queued:
        tried = (
            f"{item.attempts} attempt(s), last {item.last_attempt_time:%Y-%m-%d %H:%M:%S}Z: "
            f"{item.last_error}"
            if item.last_attempt_time
            else "not tried yet"
        )
        click.echo(
            f"{item.id}\t{item.file_id}\tqueued {item.create_time:%Y-%m-%d %H:%M:%S}Z\t{tried}"
        )


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=None, type=int, help="Default: $PORT or 8000.")
@fails_cleanly
def run(host: str, port: int | None) -> None:
    """Serve the API with chalice's local server on the local stage."""
    from devtools.local_server import serve

    port = port or int(os.environ.get("PORT", "8000"))
    os.environ.setdefault("PORT", str(port))
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    serve(ROOT, host, port)


if __name__ == "__main__":
    cli()
