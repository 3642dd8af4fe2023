"""Time in one place: stored as UTC, shop days computed in SHOP_TIMEZONE."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo


def utcnow() -> datetime:
    return datetime.now(UTC)


def shop_today(tz: ZoneInfo, now: datetime | None = None) -> date:
    return (now or utcnow()).astimezone(tz).date()


def shop_day_bounds(day: date, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """[start, end) of a shop day as UTC datetimes, for range queries on UTC columns."""
    start = datetime.combine(day, time.min, tzinfo=tz)
    end = datetime.combine(day + timedelta(days=1), time.min, tzinfo=tz)
    return start.astimezone(UTC), end.astimezone(UTC)


def isoformat(value: datetime | None, tz: ZoneInfo | None = None) -> str | None:
    """ISO 8601 with offset; shown in the shop's zone when one is given."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return (value.astimezone(tz) if tz else value).isoformat()
