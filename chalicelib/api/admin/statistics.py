"""Admin dashboard statistics under /meiduo_admin/statistical/ (view_statistics).

Days are SHOP_TIMEZONE days; "now" is read here and passed to the services, which
never read the clock themselves (tests freeze time by passing it).
"""

from __future__ import annotations

from typing import Any

from chalicelib import auth, resources
from chalicelib.api.models import admin_statistics as models
from chalicelib.api.routing import ApiBlueprint, parse_query
from chalicelib.clock import utcnow
from chalicelib.config import settings
from chalicelib.money import format_yuan
from chalicelib.resources import transaction
from chalicelib.services import statistics

bp = ApiBlueprint(__name__, url_prefix="/meiduo_admin")


def day_count_body(figure: statistics.DayCount) -> dict[str, Any]:
    return {"count": figure.count, "date": figure.day.isoformat()}


@bp.route("/statistical/total_count/", methods=["GET"])
@auth.permission_required("view_statistics")
def total_count(user: auth.CurrentUser) -> dict[str, Any]:
    with transaction() as conn:
        figure = statistics.user_count(conn, now=utcnow(), tz=settings().shop_timezone)
    return day_count_body(figure)


@bp.route("/statistical/day_active/", methods=["GET"])
@auth.permission_required("view_statistics")
def day_active(user: auth.CurrentUser) -> dict[str, Any]:
    with transaction() as conn:
        figure = statistics.active_users_today(conn, now=utcnow(), tz=settings().shop_timezone)
    return day_count_body(figure)


@bp.route("/statistical/day_orders/", methods=["GET"])
@auth.permission_required("view_statistics")
def day_orders(user: auth.CurrentUser) -> dict[str, Any]:
    with transaction() as conn:
        figure = statistics.order_users_today(conn, now=utcnow(), tz=settings().shop_timezone)
    return day_count_body(figure)


@bp.route("/statistical/day_increment/", methods=["GET"])
@auth.permission_required("view_statistics")
def day_increment(user: auth.CurrentUser) -> dict[str, Any]:
    with transaction() as conn:
        figure = statistics.new_users_today(conn, now=utcnow(), tz=settings().shop_timezone)
    return day_count_body(figure)


@bp.route("/statistical/month_increment/", methods=["GET"])
@auth.permission_required("view_statistics")
def month_increment(user: auth.CurrentUser) -> list[dict[str, Any]]:
    with transaction() as conn:
        series = statistics.new_users_by_day(conn, now=utcnow(), tz=settings().shop_timezone)
    return [day_count_body(figure) for figure in series]


@bp.route("/statistical/goods_day_views/", methods=["GET"])
@auth.permission_required("view_statistics")
def goods_day_views(user: auth.CurrentUser) -> list[dict[str, Any]]:
    with transaction() as conn:
        views = statistics.category_views_today(
            conn, resources.redis(), now=utcnow(), tz=settings().shop_timezone
        )
    return [{"category": v.category, "category_id": v.category_id, "count": v.count} for v in views]


@bp.route("/statistical/sales/", methods=["GET"])
@auth.permission_required("view_statistics")
def sales(user: auth.CurrentUser) -> list[dict[str, Any]]:
    days = parse_query(models.SalesQuery, bp.current_request).days
    with transaction() as conn:
        series = statistics.sales_by_day(conn, now=utcnow(), tz=settings().shop_timezone, days=days)
    return [
        {
            "date": figure.day.isoformat(),
            "orders": figure.orders,
            "paid_orders": figure.paid_orders,
            "gmv": format_yuan(figure.gmv),
        }
        for figure in series
    ]
