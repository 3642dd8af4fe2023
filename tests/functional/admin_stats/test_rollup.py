"""The hourly roll-up into daily_stats and daily_category_views: idempotent, fills missed
days, freezes finished days, keeps active users that last_login forgets."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlalchemy import select, update

from chalicelib.db.tables import daily_category_views, daily_stats, users
from chalicelib.services import statistics
from chalicelib.services.statistics import CATEGORY_VIEWS_KEY
from tests import factories
from tests.functional.admin_stats.conftest import SHANGHAI, local

MARCH_9 = date(2026, 3, 9)
MARCH_10 = date(2026, 3, 10)
MARCH_11 = date(2026, 3, 11)
BACKFILL = 5  # short windows keep these tests readable; the default is 366 days


def stats_rows(db: Any) -> list[dict[str, Any]]:
    with db.connect() as conn:
        return [
            dict(row._mapping)
            for row in conn.execute(select(daily_stats).order_by(daily_stats.c.day))
        ]


def stats_row(db: Any, day: date) -> dict[str, Any]:
    return next(row for row in stats_rows(db) if row["day"] == day)


def figures(row: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in row.items() if k not in ("day", "updated_at")}


def roll_up(db: Any, redis: Any, now_text: str, backfill_days: int = BACKFILL) -> list[date]:
    with db.begin() as conn:
        return statistics.roll_up(
            conn, redis, now=local(now_text), tz=SHANGHAI, backfill_days=backfill_days
        ).days


def march_10_shop(db: Any) -> dict[str, int]:
    """Two buyers on 10 March (one with three orders), one payment, one new user."""
    with db.begin() as conn:
        alice = factories.user(
            conn, date_joined=local("2026-01-01 10:00"), last_login=local("2026-03-10 09:00")
        )
        bob = factories.user(
            conn, date_joined=local("2026-03-10 00:01"), last_login=local("2026-03-10 00:02")
        )
        for minute in ("10:00", "10:10", "10:20"):
            factories.order(conn, alice, create_time=local(f"2026-03-10 {minute}"))
        factories.order(
            conn,
            bob,
            create_time=local("2026-03-10 00:03"),
            paid_at=local("2026-03-10 00:04"),
            price=599_900,
        )
    return {"alice": alice, "bob": bob}


def test_the_roll_up_writes_one_row_per_day_with_the_days_figures(db: Any, redis: Any) -> None:
    march_10_shop(db)

    days = roll_up(db, redis, "2026-03-10 11:05")

    assert days == [MARCH_10 - timedelta(days=n) for n in range(4, -1, -1)]
    assert figures(stats_row(db, MARCH_10)) == {
        "new_users": 1,
        "active_users": 2,
        "order_users": 2,
        "orders": 4,
        "paid_orders": 1,
        "gmv": 599_900,
        "users_total": 2,
    }
    assert figures(stats_row(db, MARCH_9)) == {
        "new_users": 0,
        "active_users": 0,
        "order_users": 0,
        "orders": 0,
        "paid_orders": 0,
        "gmv": 0,
        "users_total": 1,
    }


def test_running_the_roll_up_twice_gives_the_same_rows(db: Any, redis: Any) -> None:
    march_10_shop(db)

    roll_up(db, redis, "2026-03-10 11:05")
    first = stats_rows(db)
    roll_up(db, redis, "2026-03-10 11:05")

    assert stats_rows(db) == first
    assert len(first) == BACKFILL


def test_a_later_run_the_same_day_rewrites_only_today(db: Any, redis: Any) -> None:
    march_10_shop(db)
    roll_up(db, redis, "2026-03-10 11:05")
    before = {row["day"]: row for row in stats_rows(db)}

    days = roll_up(db, redis, "2026-03-10 12:05")

    # 9 March and earlier were written after they ended (at 11:05 on the 10th): final.
    assert days == [MARCH_10]
    after = {row["day"]: row for row in stats_rows(db)}
    assert {d: r for d, r in after.items() if d != MARCH_10} == {
        d: r for d, r in before.items() if d != MARCH_10
    }
    assert after[MARCH_10]["updated_at"] == local("2026-03-10 12:05")


def test_a_missed_day_is_filled_and_an_unfinished_day_finalised_by_the_next_run(
    db: Any, redis: Any
) -> None:
    march_10_shop(db)
    roll_up(db, redis, "2026-03-10 11:05")  # 10 March as of 11:05: not final
    with db.begin() as conn:
        late = factories.user(
            conn, date_joined=local("2026-03-10 23:50"), last_login=local("2026-03-10 23:51")
        )
        factories.order(conn, late, create_time=local("2026-03-10 23:52"))
        factories.user(conn, date_joined=local("2026-03-11 08:00"))
    # The runs of the evening of the 10th and of the whole 11th never happened.

    days = roll_up(db, redis, "2026-03-12 01:05")

    assert days == [MARCH_10, MARCH_11, date(2026, 3, 12)]
    march_10 = stats_row(db, MARCH_10)
    assert (march_10["new_users"], march_10["active_users"], march_10["orders"]) == (2, 3, 5)
    assert march_10["order_users"] == 3
    assert march_10["updated_at"] == local("2026-03-12 01:05")
    assert stats_row(db, MARCH_11)["new_users"] == 1
    assert roll_up(db, redis, "2026-03-12 02:05") == [date(2026, 3, 12)]


def test_active_users_captured_during_the_day_survive_later_logins(db: Any, redis: Any) -> None:
    """last_login keeps only the latest login: once alice logs in again on the 11th she no
    longer shows on the 10th, but the figure captured on the 10th is kept."""
    shop = march_10_shop(db)
    roll_up(db, redis, "2026-03-10 23:05")
    with db.begin() as conn:
        conn.execute(
            update(users)
            .where(users.c.id == shop["alice"])
            .values(last_login=local("2026-03-11 00:01"))
        )

    roll_up(db, redis, "2026-03-11 00:05")

    assert stats_row(db, MARCH_10)["active_users"] == 2
    assert stats_row(db, MARCH_11)["active_users"] == 1


def test_the_statistics_read_the_rolled_up_past_days(db: Any, redis: Any) -> None:
    march_10_shop(db)
    roll_up(db, redis, "2026-03-11 00:05")
    with db.begin() as conn:
        # A row back-dated after the roll-up: the finished day shows what was rolled up.
        factories.user(conn, date_joined=local("2026-03-10 12:00"))

    with db.begin() as conn:
        month = statistics.new_users_by_day(conn, now=local("2026-03-11 09:00"), tz=SHANGHAI)

    assert [(d.day, d.count) for d in month[-2:]] == [(MARCH_10, 1), (MARCH_11, 0)]


def test_category_views_are_rolled_up_for_known_categories(db: Any, redis: Any) -> None:
    with db.begin() as conn:
        fridges = factories.category(conn, "冰箱")
        tvs = factories.category(conn, "电视")
    redis.hset(CATEGORY_VIEWS_KEY.format(day="2026-03-10"), mapping={str(fridges): 7, str(tvs): 2})
    redis.hset(CATEGORY_VIEWS_KEY.format(day="2026-03-09"), mapping={str(tvs): 4, "999999": 1})

    roll_up(db, redis, "2026-03-10 11:05")
    roll_up(db, redis, "2026-03-10 11:05")

    with db.connect() as conn:
        rows = conn.execute(
            select(daily_category_views).order_by(
                daily_category_views.c.day, daily_category_views.c.category_id
            )
        ).all()
    assert [tuple(row) for row in rows] == [
        (MARCH_9, tvs, 4),
        (MARCH_10, fridges, 7),
        (MARCH_10, tvs, 2),
    ]


def test_a_lost_redis_counter_never_lowers_rolled_up_category_views(db: Any, redis: Any) -> None:
    with db.begin() as conn:
        fridges = factories.category(conn, "冰箱")
    key = CATEGORY_VIEWS_KEY.format(day="2026-03-10")
    redis.hset(key, mapping={str(fridges): 7})
    roll_up(db, redis, "2026-03-10 11:05")
    redis.delete(key)
    redis.hset(key, mapping={str(fridges): 2})  # e.g. after a Redis failover

    roll_up(db, redis, "2026-03-10 12:05")

    with db.connect() as conn:
        assert conn.execute(select(daily_category_views.c.count)).scalars().all() == [7]


def test_the_roll_up_of_a_year_takes_a_constant_number_of_queries(db: Any, redis: Any) -> None:
    from tests.functional.admin_stats.conftest import counting

    march_10_shop(db)
    with db.begin() as conn, counting(conn) as counter:
        days = statistics.roll_up(conn, redis, now=local("2026-03-10 11:05"), tz=SHANGHAI).days

    assert len(days) == statistics.ROLLUP_BACKFILL_DAYS == 366
    # stored rows, 4 figure statements, the users total, the upsert (no category views)
    assert counter.queries == 7
    assert len(stats_rows(db)) == 366


def test_the_scheduled_job_is_registered_and_rolls_up_today(client: Any, db: Any) -> None:
    event = client.events.generate_cw_event(
        source="aws.events", detail_type="Scheduled Event", detail={}, resources=[]
    )

    response = client.lambda_.invoke("job_rollup_stats", event)

    assert response.payload.startswith("rolled up 366 day(s)")
    assert len(stats_rows(db)) == 366


def test_total_count_adds_the_users_joined_since_the_last_final_day(db: Any, redis: Any) -> None:
    from tests.functional.admin_stats.conftest import counting

    march_10_shop(db)  # alice joined in January, bob on 10 March 00:01
    roll_up(db, redis, "2026-03-11 00:05")  # 10 March is now final with 2 users
    with db.begin() as conn:
        factories.user(conn, date_joined=local("2026-03-11 00:00"))  # the first instant of 11 March
        factories.user(conn, date_joined=local("2026-03-11 09:30"))

    with db.begin() as conn, counting(conn) as counter:
        total = statistics.user_count(conn, now=local("2026-03-11 10:00"), tz=SHANGHAI)

    assert stats_row(db, MARCH_10)["users_total"] == 2
    assert (total.day, total.count) == (MARCH_11, 4)
    assert counter.queries == 1  # the final day's total and the users since, in one
    assert "date_joined >=" in counter.statements[-1]


def test_total_count_ignores_a_figure_written_before_its_day_ended(db: Any, redis: Any) -> None:
    march_10_shop(db)
    roll_up(db, redis, "2026-03-10 23:05")  # 10 March not final yet
    with db.begin() as conn:
        factories.user(conn, date_joined=local("2026-03-10 23:30"))  # after that run, same day

    with db.begin() as conn:
        total = statistics.user_count(conn, now=local("2026-03-11 00:01"), tz=SHANGHAI)

    assert total.count == 3


def test_total_count_after_the_roll_up_stopped_for_days_counts_every_user(
    db: Any, redis: Any
) -> None:
    march_10_shop(db)
    roll_up(db, redis, "2026-03-11 00:05")  # 10 March final with 2 users; no run since
    with db.begin() as conn:
        factories.user(conn, date_joined=local("2026-03-12 08:00"))
        factories.user(conn, date_joined=local("2026-03-13 09:00"))

    with db.begin() as conn:
        total = statistics.user_count(conn, now=local("2026-03-13 10:00"), tz=SHANGHAI)

    assert (total.day, total.count) == (date(2026, 3, 13), 4)


def test_the_admin_user_list_counts_every_user_through_the_last_final_day(
    db: Any, redis: Any
) -> None:
    from chalicelib.pagination import PageRequest
    from chalicelib.services import admin_users

    march_10_shop(db)  # alice and bob
    roll_up(db, redis, "2026-03-11 00:05")  # 10 March final with 2 users
    with db.begin() as conn:
        factories.user(conn, date_joined=local("2026-03-11 08:00"))

    with db.begin() as conn:
        rows, count = admin_users.list_users(
            conn, page=PageRequest(1, 2), now=local("2026-03-11 10:00"), tz=SHANGHAI
        )

    assert (len(rows), count) == (2, 3)


def test_users_totals_run_back_through_stored_final_days(db: Any, redis: Any) -> None:
    march_10_shop(db)
    roll_up(db, redis, "2026-03-11 00:05")  # 6-10 March final
    with db.begin() as conn:
        factories.user(conn, date_joined=local("2026-03-12 08:00"))

    roll_up(db, redis, "2026-03-13 00:05")  # 11 and 12 March finalised from stored days

    totals = {row["day"]: row["users_total"] for row in stats_rows(db)}
    assert totals[MARCH_9] == 1
    assert totals[MARCH_10] == 2
    assert totals[MARCH_11] == 2
    assert totals[date(2026, 3, 12)] == 3
    assert totals[date(2026, 3, 13)] == 3
