"""Local stage only: the media folder at /media/ (and the Alipay simulator pages).

app.py registers this blueprint only when SHOP_STAGE is local, so these routes do
not exist in a dev or prod deployment.
"""

from __future__ import annotations

import mimetypes
from typing import Any

from chalice import Response

from chalicelib import auth, resources
from chalicelib.api.routing import ApiBlueprint, query
from chalicelib.errors import NotFound

bp = ApiBlueprint(__name__)


@bp.route("/media/{directory}/{name}/", methods=["GET"])
@auth.public
def media_file(directory: str, name: str) -> Response:
    file_id = f"{directory}/{name}"
    try:
        data = resources.storage().read(file_id)
    except (FileNotFoundError, IsADirectoryError, ValueError):
        raise NotFound("No such file.") from None
    content_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
    # nosniff: a browser must take the file for the type we say, never guess from its bytes.
    headers: dict[str, str | list[str]] = {
        "Content-Type": content_type,
        "Cache-Control": "max-age=86400",
        "X-Content-Type-Options": "nosniff",
    }
    return Response(body=data, headers=headers)


# --- the Alipay simulator (see chalicelib/adapters/alipay_simulator.py) ----------------------

SIMULATOR_TRADE_NO_MAX = 64


def _simulator_reply(reply: Any) -> Response:
    headers = {"Content-Type": reply.content_type, "Cache-Control": "no-store"}
    if reply.location:
        headers["Location"] = reply.location
    return Response(body=reply.body, status_code=reply.status_code, headers=headers)


def _out_trade_no(raw: str) -> str:
    if not raw.isalnum() or len(raw) > SIMULATOR_TRADE_NO_MAX:
        raise NotFound("No such trade.")
    return raw


@bp.route("/alipay-sim/gateway/", methods=["GET"])
@auth.public
def alipay_simulator_gateway() -> Response:
    """Alipay's gateway: page pay (the cashier page), alipay.trade.query, alipay.trade.close."""
    from chalicelib.adapters import alipay_simulator

    return _simulator_reply(alipay_simulator.gateway(resources.redis(), query(bp.current_request)))


@bp.route(
    "/alipay-sim/trades/{out_trade_no}/pay/",
    methods=["POST"],
    content_types=["application/x-www-form-urlencoded"],
)
@auth.public
def alipay_simulator_pay(out_trade_no: str) -> Response:
    """The cashier's Pay button: notify the app, then send the buyer to the return URL."""
    from chalicelib.adapters import alipay_simulator

    return _simulator_reply(alipay_simulator.pay(resources.redis(), _out_trade_no(out_trade_no)))


@bp.route(
    "/alipay-sim/trades/{out_trade_no}/cancel/",
    methods=["POST"],
    content_types=["application/x-www-form-urlencoded"],
)
@auth.public
def alipay_simulator_cancel(out_trade_no: str) -> Response:
    """The cashier's Cancel button: the buyer leaves; the trade stays open until it expires."""
    from chalicelib.adapters import alipay_simulator

    return _simulator_reply(alipay_simulator.cancel(resources.redis(), _out_trade_no(out_trade_no)))


@bp.route(
    "/alipay-sim/faults/refund-timeout/",
    methods=["POST"],
    content_types=["application/json", "application/x-www-form-urlencoded"],
)
@auth.public
def alipay_simulator_refund_timeout() -> Response:
    """Make the next refund time out once: made at the simulator, its answer lost."""
    from chalicelib.adapters import alipay_simulator

    alipay_simulator.fail_next_refund_with_timeout(resources.redis())
    return Response(body="", status_code=204)
