"""The balance wallet: ledger records and recharges."""

from __future__ import annotations

from typing import Any

from chalice import Response

from chalicelib import auth, resources
from chalicelib.api.models import wallet as models
from chalicelib.api.routing import ApiBlueprint, parse, parse_query
from chalicelib.clock import isoformat
from chalicelib.config import settings
from chalicelib.money import format_yuan
from chalicelib.pagination import page_body
from chalicelib.resources import transaction
from chalicelib.services import wallet

bp = ApiBlueprint(__name__)


@bp.route("/user/recharges/", methods=["POST"])
@auth.login_required
def recharge(user: auth.CurrentUser) -> Response:
    body = parse(models.Recharge, bp.current_request)
    with transaction() as conn:
        balance = wallet.recharge(
            conn,
            resources.redis(),
            user_id=user.id,
            amount=body.amount,
            admin_username=body.admin_username,
            admin_password=body.admin_password,
        )
    return Response(body={"balance": format_yuan(balance)}, status_code=201)


@bp.route("/user/balance/records/", methods=["GET"])
@auth.login_required
def balance_records(user: auth.CurrentUser) -> dict[str, Any]:
    page = parse_query(models.PageQuery, bp.current_request).paging
    with transaction() as conn:
        rows, count = wallet.records(conn, user.id, page)
    tz = settings().shop_timezone
    items = [
        {
            "id": row.id,
            "amount": format_yuan(row.amount),
            "kind": row.kind,
            "order_id": row.order_id,
            "balance_after": format_yuan(row.balance_after),
            "create_time": isoformat(row.create_time, tz),
        }
        for row in rows
    ]
    return page_body(items, count, page)
