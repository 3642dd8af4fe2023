"""Shop days as UTC ranges, report windows, finality, and the SQL the per-day counts use
(no I/O: statements are compiled, not run)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.dialects import mysql, sqlite

from chalicelib.services import statistics

SHANGHAI = ZoneInfo("Asia/Shanghai")
NEW_YORK = ZoneInfo("America/New_York")


def test_a_report_window_ends_today_oldest_first() -> None:
    window = statistics.report_window(date(2026, 3, 1), 30)

    assert len(window) == 30
    assert window[0] == date(2026, 1, 31)
    assert window[-1] == date(2026, 3, 1)
    assert window == sorted(window)


@pytest.mark.parametrize("days", [0, -1, 367])
def test_a_report_window_is_1_to_366_days(days: int) -> None:
    with pytest.raises(ValueError):
        statistics.report_window(date(2026, 3, 1), days)


def test_a_stored_day_is_final_once_written_after_the_shop_day_ended() -> None:
    # 10 March in Shanghai ends at 16:00 UTC on 10 March.
    end = datetime(2026, 3, 10, 16, 0, tzinfo=UTC)

    assert statistics.is_final(date(2026, 3, 10), end, SHANGHAI)
    assert not statistics.is_final(date(2026, 3, 10), end - timedelta(microseconds=1), SHANGHAI)


def _compiled(dialect: object, days: list[date], tz: ZoneInfo) -> tuple[str, dict[str, object]]:
    compiled = statistics.day_figures_query(statistics.ORDERS_CREATED, days, tz).compile(
        dialect=dialect  # type: ignore[arg-type]
    )
    return str(compiled), dict(compiled.params)


@pytest.mark.parametrize("dialect", [mysql.dialect(), sqlite.dialect()], ids=["mysql", "sqlite"])
def test_per_day_counts_are_range_conditions_on_the_raw_utc_column(dialect: object) -> None:
    sql, params = _compiled(dialect, [date(2026, 3, 9), date(2026, 3, 10)], SHANGHAI)

    normalized = sql.upper()
    for function in ("DATE(", "CONVERT_TZ", "STRFTIME", "DATE_FORMAT", "EXTRACT("):
        assert function not in normalized
    assert normalized.count("ORDERS.CREATE_TIME >=") == 2
    assert normalized.count("ORDERS.CREATE_TIME < ") == 2
    assert normalized.count("UNION ALL") == 1
    assert "COUNT(DISTINCT ORDERS.USER_ID)" in normalized
    bounds = sorted(v for v in params.values() if isinstance(v, datetime))
    assert bounds == [
        datetime(2026, 3, 8, 16, tzinfo=UTC),
        datetime(2026, 3, 9, 16, tzinfo=UTC),
        datetime(2026, 3, 9, 16, tzinfo=UTC),
        datetime(2026, 3, 10, 16, tzinfo=UTC),
    ]


def test_a_single_day_is_a_single_select() -> None:
    sql, _ = _compiled(mysql.dialect(), [date(2026, 3, 10)], SHANGHAI)

    assert "UNION" not in sql.upper()


def test_day_ranges_follow_daylight_saving_time() -> None:
    """8 March 2026 in New York is 23 hours long: the range is what the zone says."""
    _, params = _compiled(sqlite.dialect(), [date(2026, 3, 8)], NEW_YORK)

    start, end = sorted(v for v in params.values() if isinstance(v, datetime))
    assert (start, end) == (
        datetime(2026, 3, 8, 5, tzinfo=UTC),
        datetime(2026, 3, 9, 4, tzinfo=UTC),
    )


def test_category_view_counters_skip_fields_that_are_not_ids_or_positive_counts() -> None:
    from chalicelib.integers import positive_counts

    raw = {"12": "5", "13": "0", "x": "4", "14": "-2", "15": "many", "16": "7", "²": "3", "17": "²"}

    assert positive_counts(raw) == {12: 5, 16: 7}
