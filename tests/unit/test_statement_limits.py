"""Each SELECT carries the server's time limit; nothing else is touched."""

from __future__ import annotations

from chalicelib.db.engine import limited_statement

SELECT = "SELECT users.id FROM users WHERE users.id = %(id_1)s"


def test_mariadb_gets_set_statement_for_each_select() -> None:
    assert limited_statement(SELECT, 5.0, mariadb=True) == (
        "SET STATEMENT max_statement_time=5 FOR " + SELECT
    )
    assert limited_statement(SELECT, 0.25, mariadb=True).startswith(
        "SET STATEMENT max_statement_time=0.25 FOR SELECT"
    )


def test_mysql_gets_the_max_execution_time_hint_in_milliseconds() -> None:
    assert limited_statement(SELECT, 5.0, mariadb=False) == (
        "SELECT /*+ MAX_EXECUTION_TIME(5000) */ users.id FROM users WHERE users.id = %(id_1)s"
    )


def test_writes_and_unlimited_statements_are_left_alone() -> None:
    update = "UPDATE sku SET stock=(sku.stock - %(stock_1)s) WHERE sku.id = %(id_1)s"
    assert limited_statement(update, 5.0, mariadb=True) == update
    assert limited_statement("COMMIT", 5.0, mariadb=False) == "COMMIT"
    assert limited_statement(SELECT, None, mariadb=True) == SELECT
