"""Statistics services on a frozen "now": shop days around midnight, distinct users,
the 30-day series, sales, category views, and a constant number of queries."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import insert

from chalicelib.db.tables import daily_stats
from chalicelib.services import statistics
from chalicelib.services.statistics import CATEGORY_VIEWS_KEY, DayCount, DaySales
from tests import factories
from tests.functional.admin_stats.conftest import SHANGHAI, counting, local

# 00:30 on 10 March in Shanghai is still 9 March in UTC (16:30).
JUST_AFTER_MIDNIGHT = local("2026-03-10 00:30")
MARCH_10 = date(2026, 3, 10)
MARCH_9 = date(2026, 3, 9)


def test_users_who_joined_at_2359_and_0001_local_time_fall_on_different_shop_days(db: Any) -> None:
    with db.begin() as conn:
        factories.user(conn, date_joined=local("2026-03-09 23:59"))
        factories.user(conn, date_joined=local("2026-03-10 00:01"))
        factories.user(conn, date_joined=local("2026-03-10 00:29:59"))

    with db.begin() as conn:
        today = statistics.new_users_today(conn, now=JUST_AFTER_MIDNIGHT, tz=SHANGHAI)
        month = statistics.new_users_by_day(conn, now=JUST_AFTER_MIDNIGHT, tz=SHANGHAI)
        yesterday_view = statistics.new_users_today(
            conn, now=local("2026-03-09 23:59:30"), tz=SHANGHAI
        )

    assert today == DayCount(MARCH_10, 2)
    assert month[-2:] == [DayCount(MARCH_9, 1), DayCount(MARCH_10, 2)]
    assert yesterday_view == DayCount(MARCH_9, 1)


def test_active_users_are_those_whose_last_login_is_within_the_shop_day(db: Any) -> None:
    with db.begin() as conn:
        factories.user(
            conn, date_joined=local("2026-01-01 10:00"), last_login=local("2026-03-09 23:59")
        )
        factories.user(
            conn, date_joined=local("2026-01-01 10:00"), last_login=local("2026-03-10 00:01")
        )
        factories.user(
            conn, date_joined=local("2026-01-01 10:00"), last_login=local("2026-03-10 00:00")
        )
        factories.user(conn, date_joined=local("2026-01-01 10:00"), last_login=None)

    with db.begin() as conn:
        active = statistics.active_users_today(conn, now=JUST_AFTER_MIDNIGHT, tz=SHANGHAI)

    assert active == DayCount(MARCH_10, 2)


def test_order_users_count_each_user_once_whatever_their_number_of_orders(db: Any) -> None:
    with db.begin() as conn:
        busy = factories.user(conn, date_joined=local("2026-01-01 10:00"))
        other = factories.user(conn, date_joined=local("2026-01-01 10:00"))
        late_yesterday = factories.user(conn, date_joined=local("2026-01-01 10:00"))
        for minute in ("00:01", "00:10", "00:20"):
            factories.order(conn, busy, create_time=local(f"2026-03-10 {minute}"))
        factories.order(conn, other, create_time=local("2026-03-10 00:05"))
        factories.order(conn, late_yesterday, create_time=local("2026-03-09 23:59:59"))

    with db.begin() as conn:
        order_users = statistics.order_users_today(conn, now=JUST_AFTER_MIDNIGHT, tz=SHANGHAI)

    assert order_users == DayCount(MARCH_10, 2)


def test_total_count_counts_every_user_with_todays_date(db: Any) -> None:
    with db.begin() as conn:
        factories.user(conn, date_joined=local("2025-01-01 10:00"))
        factories.user(conn, date_joined=local("2026-03-10 00:10"))

    with db.begin() as conn:
        total = statistics.user_count(conn, now=JUST_AFTER_MIDNIGHT, tz=SHANGHAI)

    assert total == DayCount(MARCH_10, 2)


def test_month_increment_is_30_days_oldest_first_zero_filled_and_ends_today(db: Any) -> None:
    with db.begin() as conn:
        factories.user(
            conn, date_joined=local("2026-02-09 00:00")
        )  # 29 days before today: the first day
        factories.user(conn, date_joined=local("2026-02-08 23:59:59"))  # 30 days before: outside
        factories.user(conn, date_joined=local("2026-02-20 12:00"))
        factories.user(conn, date_joined=local("2026-02-20 13:00"))

    with db.begin() as conn:
        month = statistics.new_users_by_day(conn, now=local("2026-03-10 18:00"), tz=SHANGHAI)

    expected = {date(2026, 2, 9): 1, date(2026, 2, 20): 2}
    assert month == [
        DayCount(
            date(2026, 2, 9) + timedelta(days=i),
            expected.get(date(2026, 2, 9) + timedelta(days=i), 0),
        )
        for i in range(30)
    ]
    assert month[-1].day == MARCH_10


def test_past_days_come_from_final_rolled_up_rows_and_unfinished_days_are_counted_live(
    db: Any,
) -> None:
    """A row written after its day ended is trusted; one written during its day (the 23:05
    run) is stale and the day is counted live instead."""
    now = local("2026-03-10 00:03")  # before the first roll-up of the day
    with db.begin() as conn:
        factories.user(
            conn, date_joined=local("2026-03-09 23:30")
        )  # after yesterday's last hourly run
        factories.user(conn, date_joined=local("2026-03-09 10:00"))
        conn.execute(
            insert(daily_stats),
            [
                # 8 March, finalised at 00:05 on 9 March: 5 users (their rows are gone since,
                # which shows the figure is read from daily_stats).
                {"day": date(2026, 3, 8), "new_users": 5, "updated_at": local("2026-03-09 00:05")},
                # 9 March as captured by the 23:05 run: not final.
                {"day": MARCH_9, "new_users": 1, "updated_at": local("2026-03-09 23:05")},
            ],
        )

    with db.begin() as conn:
        month = statistics.new_users_by_day(conn, now=now, tz=SHANGHAI)

    assert month[-3:] == [
        DayCount(date(2026, 3, 8), 5),
        DayCount(MARCH_9, 2),
        DayCount(MARCH_10, 0),
    ]


def test_sales_count_orders_by_creation_and_payments_by_payment_time(db: Any) -> None:
    with db.begin() as conn:
        buyer = factories.user(conn, date_joined=local("2026-01-01 10:00"))
        # Created late on 9 March, paid just after midnight: an order of the 9th, paid on the 10th.
        factories.order(
            conn,
            buyer,
            create_time=local("2026-03-09 23:58"),
            paid_at=local("2026-03-10 00:02"),
            price=599_900,
        )
        factories.order(conn, buyer, create_time=local("2026-03-10 00:10"))  # unpaid
        factories.order(
            conn,
            buyer,
            create_time=local("2026-03-10 00:11"),
            paid_at=local("2026-03-10 00:12"),
            price=1_050,
        )

    with db.begin() as conn:
        sales = statistics.sales_by_day(conn, now=JUST_AFTER_MIDNIGHT, tz=SHANGHAI, days=3)

    assert sales == [
        DaySales(date(2026, 3, 8), orders=0, paid_orders=0, gmv=0),
        DaySales(MARCH_9, orders=1, paid_orders=0, gmv=0),
        DaySales(MARCH_10, orders=2, paid_orders=2, gmv=600_950),
    ]


@pytest.mark.parametrize("days", [0, 367])
def test_a_report_window_outside_1_to_366_days_is_refused(db: Any, days: int) -> None:
    with db.begin() as conn, pytest.raises(ValueError):
        statistics.sales_by_day(conn, now=JUST_AFTER_MIDNIGHT, tz=SHANGHAI, days=days)


def test_each_figure_takes_a_constant_number_of_queries_whatever_the_range(db: Any) -> None:
    with db.begin() as conn:
        buyer = factories.user(
            conn, date_joined=local("2026-03-01 10:00"), last_login=JUST_AFTER_MIDNIGHT
        )
        factories.order(conn, buyer, create_time=local("2026-03-05 10:00"))

    queries: dict[str, int] = {}
    calls = {
        "total_count": lambda c: statistics.user_count(c, now=JUST_AFTER_MIDNIGHT, tz=SHANGHAI),
        "day_active": lambda c: statistics.active_users_today(
            c, now=JUST_AFTER_MIDNIGHT, tz=SHANGHAI
        ),
        "day_orders": lambda c: statistics.order_users_today(
            c, now=JUST_AFTER_MIDNIGHT, tz=SHANGHAI
        ),
        "day_increment": lambda c: statistics.new_users_today(
            c, now=JUST_AFTER_MIDNIGHT, tz=SHANGHAI
        ),
        "month_increment": lambda c: statistics.new_users_by_day(
            c, now=JUST_AFTER_MIDNIGHT, tz=SHANGHAI
        ),
        "sales_7": lambda c: statistics.sales_by_day(
            c, now=JUST_AFTER_MIDNIGHT, tz=SHANGHAI, days=7
        ),
        "sales_366": lambda c: statistics.sales_by_day(
            c, now=JUST_AFTER_MIDNIGHT, tz=SHANGHAI, days=366
        ),
    }
    for name, call in calls.items():
        with db.begin() as conn, counting(conn) as counter:
            call(conn)
        queries[name] = counter.queries

    assert queries == {
        "total_count": 2,  # the last final users_total (none here), then the count
        "day_active": 1,
        "day_orders": 1,
        "day_increment": 1,
        "month_increment": 2,  # daily_stats, then the live days in one statement
        "sales_7": 3,  # daily_stats, orders created, orders paid
        "sales_366": 3,
    }


def test_category_views_today_have_names_and_come_most_viewed_first(db: Any, redis: Any) -> None:
    with db.begin() as conn:
        fridges = factories.category(conn, "冰箱")
        tvs = factories.category(conn, "电视")
        washers = factories.category(conn, "洗衣机")
    redis.hset(
        CATEGORY_VIEWS_KEY.format(day="2026-03-10"),
        mapping={str(fridges): 3, str(tvs): 12, str(washers): 3, "999999": 40, "junk": 5},
    )
    redis.hset(CATEGORY_VIEWS_KEY.format(day="2026-03-09"), mapping={str(fridges): 100})

    with db.begin() as conn:
        views = statistics.category_views_today(conn, redis, now=JUST_AFTER_MIDNIGHT, tz=SHANGHAI)

    assert [(v.category, v.count) for v in views] == [("电视", 12), ("冰箱", 3), ("洗衣机", 3)]


def test_no_category_views_today_is_an_empty_list_without_a_query(db: Any, redis: Any) -> None:
    with db.begin() as conn, counting(conn) as counter:
        views = statistics.category_views_today(conn, redis, now=JUST_AFTER_MIDNIGHT, tz=SHANGHAI)

    assert views == []
    assert counter.queries == 0
