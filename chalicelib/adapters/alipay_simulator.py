"""The local Alipay simulator: Alipay's side of a trade, served by the app on the local stage.

It behaves like Alipay's gateway as far as the shop can tell:

- page pay (alipay.trade.page.pay): checks the app's RSA2 request signature, app_id
  and Beijing timestamp, opens the trade and shows a cashier page with the order and
  amount, and Pay / Cancel buttons;
- Pay: marks the trade paid, POSTs Alipay's asynchronous notify (form-urlencoded, every
  field but sign/sign_type sorted as unencoded k=v and signed with the simulator's
  "Alipay" key) to the trade's notify_url, then sends the browser to return_url with
  a signed query, as Alipay does;
- alipay.trade.query and alipay.trade.close: JSON answers `{"<method>_response": {...},
  "sign": ...}` signed over the exact inner JSON text, with Alipay's codes
  (10000; 40004 ACQ.TRADE_NOT_EXIST / ACQ.TRADE_STATUS_ERROR; 40002 for a bad
  signature, app id or timestamp);
- alipay.trade.refund and alipay.trade.fastpay.refund.query as Alipay documents them:
  one refund per out_request_no however often it is asked for (a repeat answers
  fund_change N), refund_fee the trade's refunded total, more than is left
  ACQ.REASON_TRADE_REFUND_FEE_ERR; the query answers refund_status REFUND_SUCCESS for a
  refund made, and no refund_status for one never made. `fail_next_refund_with_timeout`
  makes the next refund answer only after the app's gateway timeout (the refund is made:
  its answer is lost), so the pending-then-reconciled path can be tried by hand.

Trades live in Redis (one JSON value per out_trade_no); a trade past its time_expire is
closed, as Alipay closes timed-out trades. The keys are the generated pairs of
adapters.alipay.simulator_keys.
"""

from __future__ import annotations

import base64
import html
import json
import logging
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from chalicelib import config
from chalicelib.adapters.alipay import (
    ALIPAY_TIME_FORMAT,
    ALIPAY_TIMEZONE,
    SimulatorKeys,
    alipay_time,
    simulator_keys,
)
from chalicelib.clock import utcnow

if TYPE_CHECKING:
    from redis import Redis

log = logging.getLogger("shop.alipay_simulator")

TRADE_KEY = "alipay-sim:trade:{}"
REFUND_TIMEOUT_KEY = "alipay-sim:fault:refund-timeout"
TRADE_TTL_SECONDS = 30 * 24 * 3600
# Alipay refuses requests whose timestamp is this far from Beijing's clock.
TIMESTAMP_TOLERANCE = timedelta(minutes=15)
NOTIFY_TIMEOUT_SECONDS = 10.0
SELLER_ID = "2088000000000001"
BUYER_ID = "2088000000000002"

WAIT_BUYER_PAY = "WAIT_BUYER_PAY"
TRADE_SUCCESS = "TRADE_SUCCESS"
TRADE_CLOSED = "TRADE_CLOSED"


@dataclass(frozen=True)
class Reply:
    """What the simulator answers: an HTML page, a JSON text, or a redirect."""

    status_code: int
    content_type: str
    body: str
    location: str | None = None


# --- signatures ------------------------------------------------------------------------


def sign(private_key_pem: str, text: str) -> str:
    """SHA256withRSA (RSA2), base64: what Alipay puts in `sign`."""
    from Cryptodome.Hash import SHA256
    from Cryptodome.PublicKey import RSA
    from Cryptodome.Signature import pkcs1_15

    signature = pkcs1_15.new(RSA.import_key(private_key_pem)).sign(SHA256.new(text.encode()))
    return base64.b64encode(signature).decode()


def signature_matches(public_key_pem: str, text: str, signature: str) -> bool:
    from Cryptodome.Hash import SHA256
    from Cryptodome.PublicKey import RSA
    from Cryptodome.Signature import pkcs1_15

    try:
        pkcs1_15.new(RSA.import_key(public_key_pem)).verify(
            SHA256.new(text.encode()), base64.b64decode(signature, validate=True)
        )
    except (ValueError, TypeError):
        return False
    return True


def unsigned_text(params: Mapping[str, str], *, exclude: tuple[str, ...]) -> str:
    """Sorted, unencoded `k=v` joined with `&`: the text both sides sign."""
    return "&".join(f"{k}={v}" for k, v in sorted(params.items()) if k not in exclude)


def alipay_signed(params: Mapping[str, str], keys: SimulatorKeys) -> dict[str, str]:
    """Sign a notify or return query as Alipay: everything but sign and sign_type."""
    signed = dict(params)
    signed["sign_type"] = "RSA2"
    signed["sign"] = sign(
        keys.alipay_private_key, unsigned_text(params, exclude=("sign", "sign_type"))
    )
    return signed


def _app_request_is_signed(params: Mapping[str, str], keys: SimulatorKeys) -> bool:
    """The app signs its requests over every field but sign (sign_type included)."""
    signature = params.get("sign", "")
    text = unsigned_text(params, exclude=("sign",))
    return bool(signature) and signature_matches(keys.app_public_key, text, signature)


# --- trades ------------------------------------------------------------------------------


def _load(redis: Redis, out_trade_no: str) -> dict[str, Any] | None:
    raw = redis.get(TRADE_KEY.format(out_trade_no))
    return _expired_closed(json.loads(raw)) if raw else None


def _expired_closed(trade: dict[str, Any]) -> dict[str, Any]:
    """Alipay closes a trade nobody paid by its time_expire."""
    if trade["status"] == WAIT_BUYER_PAY and trade.get("time_expire"):
        ends = datetime.strptime(trade["time_expire"], ALIPAY_TIME_FORMAT)
        if ends.replace(tzinfo=ALIPAY_TIMEZONE) <= utcnow():
            trade = {**trade, "status": TRADE_CLOSED}
    return trade


def _update(
    redis: Redis,
    out_trade_no: str,
    change: Callable[[dict[str, Any] | None], dict[str, Any] | None],
) -> tuple[dict[str, Any] | None, bool]:
    """Apply `change` to the stored trade atomically (WATCH/MULTI); None from it: no write.

    Returns the trade as it is now and whether this call changed it.
    """
    from redis.exceptions import WatchError

    key = TRADE_KEY.format(out_trade_no)
    with redis.pipeline() as pipe:
        while True:
            try:
                pipe.watch(key)
                raw = pipe.get(key)
                current = _expired_closed(json.loads(raw)) if raw else None
                new = change(current)
                if new is None:
                    pipe.unwatch()
                    return current, False
                pipe.multi()
                pipe.set(key, json.dumps(new, ensure_ascii=False), ex=TRADE_TTL_SECONDS)
                pipe.execute()
                return new, True
            except WatchError:
                continue


def _new_trade_no() -> str:
    """28 digits like Alipay's: date, channel, random."""
    return f"{utcnow().astimezone(ALIPAY_TIMEZONE):%Y%m%d}2200{secrets.randbelow(10**16):016d}"


# --- the gateway ----------------------------------------------------------------------------


def gateway(redis: Redis, params: Mapping[str, str]) -> Reply:
    """GET <gateway>?<signed request>: page pay, trade.query or trade.close."""
    keys = simulator_keys(config.settings().var_dir)
    method = params.get("method", "")
    problem = _request_problem(params, keys)
    if method == "alipay.trade.page.pay":
        if problem:
            return _page(400, "请求无效 Invalid request", f"<p>{html.escape(problem[1])}</p>")
        return _cashier(redis, params)
    if method not in (
        "alipay.trade.query",
        "alipay.trade.close",
        "alipay.trade.refund",
        "alipay.trade.fastpay.refund.query",
    ):
        return _json_reply(
            "error_response",
            {"code": "40002", "msg": "Invalid Arguments", "sub_code": "isv.invalid-method"},
            keys,
        )
    response_key = method.replace(".", "_") + "_response"
    if problem:
        sub_code, sub_msg = problem
        body = {
            "code": "40002",
            "msg": "Invalid Arguments",
            "sub_code": sub_code,
            "sub_msg": sub_msg,
        }
        return _json_reply(response_key, body, keys)
    try:
        out_trade_no = str(json.loads(params.get("biz_content", "{}"))["out_trade_no"])
    except (ValueError, KeyError, TypeError):
        body = {"code": "40002", "msg": "Invalid Arguments", "sub_code": "isv.missing-out-trade-no"}
        return _json_reply(response_key, body, keys)
    if method == "alipay.trade.query":
        return _json_reply(response_key, _query(redis, out_trade_no), keys)
    if method == "alipay.trade.close":
        return _json_reply(response_key, _close(redis, out_trade_no), keys)
    biz = json.loads(params.get("biz_content", "{}"))
    if method == "alipay.trade.fastpay.refund.query":
        return _json_reply(response_key, _refund_query(redis, out_trade_no, biz), keys)
    reply = _json_reply(response_key, _refund(redis, out_trade_no, biz), keys)
    if redis.delete(REFUND_TIMEOUT_KEY):
        import time

        from chalicelib.adapters.alipay import GATEWAY_TIMEOUT_SECONDS

        log.warning("refund for %s: answering after the app gave up (as told)", out_trade_no)
        time.sleep(GATEWAY_TIMEOUT_SECONDS + 1)
    return reply


def _request_problem(params: Mapping[str, str], keys: SimulatorKeys) -> tuple[str, str] | None:
    """Why Alipay would refuse this request (sub_code, message), or None."""
    if not _app_request_is_signed(params, keys):
        return "isv.invalid-signature", "验签出错 the request signature does not verify"
    if params.get("app_id") != config.settings().alipay_app_id:
        return "isv.invalid-app-id", "无效的AppID参数"
    try:
        stamped = datetime.strptime(params.get("timestamp", ""), ALIPAY_TIME_FORMAT)
    except ValueError:
        return "isv.invalid-timestamp", "时间戳参数无效"
    if abs(stamped.replace(tzinfo=ALIPAY_TIMEZONE) - utcnow()) > TIMESTAMP_TOLERANCE:
        return "isv.invalid-timestamp", "时间戳参数无效: not Beijing time"
    return None


def _json_reply(response_key: str, body: dict[str, str], keys: SimulatorKeys) -> Reply:
    inner = json.dumps(body, ensure_ascii=False, separators=(",", ":"))
    signature = sign(keys.alipay_private_key, inner)
    text = f'{{"{response_key}":{inner},"sign":"{signature}"}}'
    return Reply(200, "application/json; charset=utf-8", text)


def _not_exist(out_trade_no: str) -> dict[str, str]:
    return {
        "code": "40004",
        "msg": "Business Failed",
        "sub_code": "ACQ.TRADE_NOT_EXIST",
        "sub_msg": "交易不存在",
        "out_trade_no": out_trade_no,
    }


def _query(redis: Redis, out_trade_no: str) -> dict[str, str]:
    trade = _load(redis, out_trade_no)
    if trade is None:
        return _not_exist(out_trade_no)
    body = {
        "code": "10000",
        "msg": "Success",
        "out_trade_no": out_trade_no,
        "trade_no": trade["trade_no"],
        "trade_status": trade["status"],
        "total_amount": trade["total_amount"],
        "buyer_logon_id": "sim***@example.com",
        "buyer_user_id": BUYER_ID,
    }
    if trade["status"] == TRADE_SUCCESS:
        body.update(
            buyer_pay_amount=trade["total_amount"],
            receipt_amount=trade["total_amount"],
            send_pay_date=trade["gmt_payment"],
        )
    return body


def _close(redis: Redis, out_trade_no: str) -> dict[str, str]:
    outcome: dict[str, str] = {}

    def close(trade: dict[str, Any] | None) -> dict[str, Any] | None:
        if trade is None:
            outcome.update(_not_exist(out_trade_no))
            return None
        if trade["status"] != WAIT_BUYER_PAY:
            outcome.update(
                code="40004",
                msg="Business Failed",
                sub_code="ACQ.TRADE_STATUS_ERROR",
                sub_msg="交易状态不合法",
            )
            return None
        outcome.update(
            code="10000", msg="Success", out_trade_no=out_trade_no, trade_no=trade["trade_no"]
        )
        return {**trade, "status": TRADE_CLOSED}

    _update(redis, out_trade_no, close)
    return outcome


def _fen(yuan: str) -> int:
    from chalicelib.money import parse_yuan

    return parse_yuan(yuan)


def _refund(redis: Redis, out_trade_no: str, biz: Mapping[str, Any]) -> dict[str, str]:
    from chalicelib.money import format_yuan

    outcome: dict[str, str] = {}
    request_no = str(biz.get("out_request_no") or out_trade_no)

    def refund(trade: dict[str, Any] | None) -> dict[str, Any] | None:
        if trade is None or (biz.get("trade_no") and biz["trade_no"] != trade["trade_no"]):
            outcome.update(_not_exist(out_trade_no))
            return None
        made: dict[str, str] = trade.get("refunds", {})
        base = {"out_trade_no": out_trade_no, "trade_no": trade["trade_no"]}
        refunded = sum(_fen(amount) for amount in made.values())
        if request_no in made:  # asked again: nothing moves
            outcome.update(
                code="10000", msg="Success", **base, fund_change="N",
                refund_fee=format_yuan(refunded),
            )  # fmt: skip
            return None
        if trade["status"] != TRADE_SUCCESS:
            outcome.update(
                code="40004", msg="Business Failed", sub_code="ACQ.TRADE_STATUS_ERROR",
                sub_msg="交易状态不合法", **base,
            )  # fmt: skip
            return None
        try:
            amount = _fen(str(biz.get("refund_amount", "")))
        except ValueError:
            amount = 0
        if amount <= 0 or refunded + amount > _fen(trade["total_amount"]):
            outcome.update(
                code="40004", msg="Business Failed", sub_code="ACQ.REASON_TRADE_REFUND_FEE_ERR",
                sub_msg="退款金额无效", **base, refund_fee=format_yuan(refunded),
                send_back_fee="0.00",
            )  # fmt: skip
            return None
        outcome.update(
            code="10000", msg="Success", **base, buyer_logon_id="sim***@example.com",
            buyer_user_id=BUYER_ID, fund_change="Y", gmt_refund_pay=alipay_time(utcnow()),
            refund_fee=format_yuan(refunded + amount), send_back_fee=format_yuan(amount),
        )  # fmt: skip
        return {**trade, "refunds": {**made, request_no: format_yuan(amount)}}

    _update(redis, out_trade_no, refund)
    return outcome


def _refund_query(redis: Redis, out_trade_no: str, biz: Mapping[str, Any]) -> dict[str, str]:
    trade = _load(redis, out_trade_no)
    if trade is None:
        return _not_exist(out_trade_no)
    request_no = str(biz.get("out_request_no", ""))
    amount = trade.get("refunds", {}).get(request_no)
    if amount is None:  # Alipay: no refund_status means no refund was made
        return {"code": "10000", "msg": "Success"}
    return {
        "code": "10000",
        "msg": "Success",
        "out_trade_no": out_trade_no,
        "trade_no": trade["trade_no"],
        "out_request_no": request_no,
        "total_amount": trade["total_amount"],
        "refund_amount": amount,
        "refund_status": "REFUND_SUCCESS",
    }


def fail_next_refund_with_timeout(redis: Redis) -> None:
    """The next alipay.trade.refund is made, but answered only after the app gave up."""
    redis.set(REFUND_TIMEOUT_KEY, "1", ex=3600)


def _cashier(redis: Redis, params: Mapping[str, str]) -> Reply:
    """Open (or show again) the trade of a page pay request and render the cashier."""
    try:
        biz = json.loads(params.get("biz_content", ""))
        out_trade_no = str(biz["out_trade_no"])
        total_amount = str(biz["total_amount"])
        subject = str(biz["subject"])
    except (ValueError, KeyError, TypeError):
        return _page(400, "请求无效 Invalid request", "<p>biz_content is incomplete.</p>")
    if not out_trade_no.isalnum() or len(out_trade_no) > 64:
        return _page(400, "请求无效 Invalid request", "<p>out_trade_no is not valid.</p>")
    opened = {
        "out_trade_no": out_trade_no,
        "trade_no": _new_trade_no(),
        "subject": subject,
        "total_amount": total_amount,
        "time_expire": biz.get("time_expire", ""),
        "notify_url": params.get("notify_url", ""),
        "return_url": params.get("return_url", ""),
        "status": WAIT_BUYER_PAY,
        "gmt_create": alipay_time(utcnow()),
    }
    trade, _ = _update(redis, out_trade_no, lambda current: opened if current is None else None)
    assert trade is not None
    if trade["total_amount"] != total_amount:
        return _page(400, "交易信息不一致", "<p>ACQ.CONTEXT_INCONSISTENT: the amount changed.</p>")
    return _trade_page(trade)


def _trade_page(trade: dict[str, Any], status_code: int = 200) -> Reply:
    out_trade_no = html.escape(trade["out_trade_no"])
    details = (
        f"<dl><dt>订单号 Order</dt><dd id='out-trade-no'>{out_trade_no}</dd>"
        f"<dt>商品 Subject</dt><dd>{html.escape(trade['subject'])}</dd>"
        f"<dt>金额 Amount</dt><dd id='amount'>¥{html.escape(trade['total_amount'])}</dd>"
        f"<dt>状态 Status</dt><dd id='status'>{trade['status']}</dd></dl>"
    )
    if trade["status"] == WAIT_BUYER_PAY:
        base = f"/alipay-sim/trades/{out_trade_no}"
        details += (
            f"<form method='post' action='{base}/pay/'><button type='submit'>"
            f"Pay 付款 ¥{html.escape(trade['total_amount'])}</button></form>"
            f"<form method='post' action='{base}/cancel/'><button type='submit'>"
            "Cancel 取消</button></form>"
        )
    return _page(status_code, "支付宝收银台 Alipay cashier (local simulator)", details)


def _page(status_code: int, title: str, content: str) -> Reply:
    body = (
        "<!doctype html><html lang='zh-CN'><head><meta charset='utf-8'>"
        f"<title>{title}</title></head><body><h1>{title}</h1>{content}"
        "<p><small>Local Alipay simulator: no real money moves.</small></p></body></html>"
    )
    return Reply(status_code, "text/html; charset=utf-8", body)


# --- the buyer's actions ------------------------------------------------------------------


def pay(redis: Redis, out_trade_no: str) -> Reply:
    """The buyer pays: trade paid, notify sent to the app, browser sent to return_url."""

    def mark_paid(trade: dict[str, Any] | None) -> dict[str, Any] | None:
        if trade is None or trade["status"] != WAIT_BUYER_PAY:
            return None
        return {
            **trade,
            "status": TRADE_SUCCESS,
            "gmt_payment": alipay_time(utcnow()),
            "notify_id": secrets.token_hex(16),
        }

    trade, paid_now = _update(redis, out_trade_no, mark_paid)
    if trade is None:
        return _page(404, "交易不存在 No such trade", "")
    if trade["status"] == TRADE_CLOSED:
        return _trade_page(trade, status_code=409)
    keys = simulator_keys(config.settings().var_dir)
    if paid_now:
        send_notify(trade, keys)
    return Reply(302, "text/html; charset=utf-8", "", location=_return_location(trade, keys))


def cancel(redis: Redis, out_trade_no: str) -> Reply:
    """The buyer leaves the cashier: nothing changes; the trade stays open until it expires."""
    trade = _load(redis, out_trade_no)
    if trade is None:
        return _page(404, "交易不存在 No such trade", "")
    return _page(200, "已取消付款 Payment cancelled", "<p>The order is still unpaid.</p>")


def notify_params(trade: Mapping[str, Any], keys: SimulatorKeys) -> dict[str, str]:
    """Alipay's asynchronous notify for a paid trade, signed."""
    app_id = config.settings().alipay_app_id
    amount = trade["total_amount"]
    fields = {
        "app_id": app_id,
        "auth_app_id": app_id,
        "buyer_id": BUYER_ID,
        "buyer_pay_amount": amount,
        "charset": "utf-8",
        "fund_bill_list": json.dumps(
            [{"amount": amount, "fundChannel": "ALIPAYACCOUNT"}], separators=(",", ":")
        ),
        "gmt_create": trade["gmt_create"],
        "gmt_payment": trade["gmt_payment"],
        "invoice_amount": amount,
        "notify_id": trade["notify_id"],
        "notify_time": alipay_time(utcnow()),
        "notify_type": "trade_status_sync",
        "out_trade_no": trade["out_trade_no"],
        "point_amount": "0.00",
        "receipt_amount": amount,
        "seller_id": SELLER_ID,
        "subject": trade["subject"],
        "total_amount": amount,
        "trade_no": trade["trade_no"],
        "trade_status": TRADE_SUCCESS,
        "version": "1.0",
    }
    return alipay_signed(fields, keys)


def send_notify(trade: Mapping[str, Any], keys: SimulatorKeys) -> bool:
    """POST the notify to the app; True when it answered exactly `success`."""
    import http.client
    import urllib.request

    url = trade.get("notify_url") or ""
    if not url.startswith(("http://", "https://")):
        log.warning("trade %s has no notify_url; no notify sent", trade["out_trade_no"])
        return False
    request = urllib.request.Request(
        url,
        data=urlencode(notify_params(trade, keys)).encode(),
        headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=NOTIFY_TIMEOUT_SECONDS) as response:
            answer = response.read().decode("utf-8", "replace").strip()
    except (OSError, http.client.HTTPException) as exc:
        log.warning("notify for %s not delivered: %s", trade["out_trade_no"], exc)
        return False
    if answer != "success":
        log.warning("notify for %s answered %r", trade["out_trade_no"], answer[:100])
    return answer == "success"


def return_params(trade: Mapping[str, Any], keys: SimulatorKeys) -> dict[str, str]:
    """The signed query Alipay appends to return_url after a payment."""
    app_id = config.settings().alipay_app_id
    fields = {
        "app_id": app_id,
        "auth_app_id": app_id,
        "charset": "utf-8",
        "method": "alipay.trade.page.pay.return",
        "out_trade_no": trade["out_trade_no"],
        "seller_id": SELLER_ID,
        "timestamp": alipay_time(utcnow()),
        "total_amount": trade["total_amount"],
        "trade_no": trade["trade_no"],
        "version": "1.0",
    }
    return alipay_signed(fields, keys)


def _return_location(trade: Mapping[str, Any], keys: SimulatorKeys) -> str:
    url = trade.get("return_url") or ""
    separator = "&" if "?" in url else "?"
    return url + separator + urlencode(return_params(trade, keys))
