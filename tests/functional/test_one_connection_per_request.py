"""A request checks out one database connection, shared by authentication and the view's
units of work (docs/ARCHITECTURE.md, "A request"); on MariaDB a read sends its SELECTs
and nothing else: no ping of a connection in use a moment ago, no ROLLBACK, no COMMIT."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event

from chalicelib.db.engine import one_connection_per_request, reading, transaction
from tests.conftest import post_json


@contextmanager
def checkouts(db: Any) -> Iterator[list[int]]:
    taken: list[int] = []

    def checked_out(*_args: Any) -> None:
        taken.append(1)

    event.listen(db.pool, "checkout", checked_out)
    try:
        yield taken
    finally:
        event.remove(db.pool, "checkout", checked_out)


@contextmanager
def sent_to_the_server(db: Any) -> Iterator[list[str]]:
    """Every command the driver sends (MariaDB: pymysql's COM_QUERY and COM_PING)."""
    import pymysql.connections

    sent: list[str] = []
    original = pymysql.connections.Connection._execute_command

    def counted(self: Any, command: int, sql: Any) -> Any:
        text = sql.decode() if isinstance(sql, bytes) else str(sql)
        sent.append("PING" if command == 14 else text.split(" FOR ", 1)[-1].split()[0].upper())
        return original(self, command, sql)

    pymysql.connections.Connection._execute_command = counted  # type: ignore[method-assign]
    try:
        yield sent
    finally:
        pymysql.connections.Connection._execute_command = original  # type: ignore[method-assign]


def test_an_admin_read_checks_out_one_connection_for_auth_and_view(
    client: Any, db: Any, make_user: Any, auth_headers: Any
) -> None:
    headers = auth_headers(make_user("onecheckout", is_staff=True, is_superuser=True))
    client.http.get("/meiduo_admin/statistical/total_count/", headers=headers)  # warm

    with checkouts(db) as taken, sent_to_the_server(db) as sent:
        response = client.http.get("/meiduo_admin/statistical/total_count/", headers=headers)

    assert response.status_code == 200
    assert len(taken) == 1
    if db.dialect.name == "mysql":
        # the user (auth), then the view's two counts
        assert sent == ["SELECT", "SELECT", "SELECT"]


def test_a_public_request_that_reads_nothing_checks_out_nothing(client: Any, db: Any) -> None:
    with checkouts(db) as taken:
        response = post_json(client, "/meiduo_admin/authorizations/", {})

    assert response.status_code == 400
    assert taken == []


def test_units_and_reads_of_one_request_share_its_connection(db: Any) -> None:
    with checkouts(db) as taken, one_connection_per_request():
        with reading() as auth_conn:
            read_id = id(auth_conn)
        with transaction() as first:
            first_id = id(first)
        with transaction() as second:
            second_id = id(second)

    assert read_id == first_id == second_id
    assert len(taken) == 1


def test_a_read_inside_a_unit_gets_a_connection_of_its_own(db: Any) -> None:
    if db.dialect.name == "sqlite":
        return  # SQLite's units lock the file (BEGIN IMMEDIATE): nothing nests there
    with (
        checkouts(db) as taken,
        one_connection_per_request(),
        transaction() as unit,
        reading() as inner,
    ):
        ids = (id(unit), id(inner))

    assert ids[0] != ids[1]
    assert len(taken) == 2


def test_a_write_unit_begins_at_its_first_write_and_commits(db: Any) -> None:
    from sqlalchemy import func, select

    from chalicelib.db.tables import pending_file_deletions

    with sent_to_the_server(db) as sent, one_connection_per_request():
        with transaction() as conn:
            conn.scalar(select(func.count()).select_from(pending_file_deletions))
            conn.execute(
                pending_file_deletions.insert().values(file_id="g/x", create_time=func.now())
            )
        with reading() as conn:
            stored = conn.scalar(
                select(func.count())
                .select_from(pending_file_deletions)
                .where(pending_file_deletions.c.file_id == "g/x")
            )

    assert stored == 1
    if db.dialect.name == "mysql":
        assert sent == ["SELECT", "BEGIN", "INSERT", "COMMIT", "SELECT"]
