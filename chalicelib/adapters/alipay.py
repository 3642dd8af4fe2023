"""Alipay through python-alipay-sdk, and its local twin (the built-in simulator).

Real: ALIPAY_APP_ID, ALIPAY_APP_PRIVATE_KEY and ALIPAY_PUBLIC_KEY (each PEM text, a
file path, or `secretsmanager:<id>[#key]`, see config.secret_value) and ALIPAY_GATEWAY.
A public key pasted as bare base64, as Alipay's console shows it, is wrapped in PEM
lines: the SDK only reads PEM.

Local stage with no ALIPAY_GATEWAY: the gateway is the simulator served by the app
itself (chalicelib/api/dev.py), and the keys are RSA2 pairs generated into
var/alipay-simulator/: the app's pair and the simulator's own "Alipay" pair, whose
public half the app trusts exactly as it trusts Alipay's real public key.

What the SDK leaves to us (measured; docs/ARCHITECTURE.md, "Outside systems as measured"):
- it stamps requests with the process's naive local time; Alipay reads every
  timestamp as Beijing time and Lambda runs in UTC, so we pass `timestamp` ourselves;
- its HTTP calls (urllib) only bound each socket operation, so a gateway trickling
  its answer could hold a request for minutes: we fetch the answer ourselves with one
  deadline and hand it to the SDK's signature check. Network failures, unreadable or
  unsigned answers surface here as AlipayUnavailable, a ConnectionError, which the
  API layer turns into a 503;
- verify() needs `sign` popped first and never looks at what was signed: checking
  app_id, the amount and the trade status is the caller's job.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import http.client
import logging
import os
import secrets
import textwrap
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from chalicelib import config
from chalicelib.clock import utcnow

log = logging.getLogger("shop.alipay")

# Alipay reads every time it is given (timestamp, time_expire) as Beijing time.
ALIPAY_TIMEZONE = ZoneInfo("Asia/Shanghai")
ALIPAY_TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
# One gateway call's budget in seconds: the connect, and then the whole answer (so at
# most about twice this in all). API Gateway gives a request 29 s; a slow Alipay must
# fail fast, not hang the buyer.
GATEWAY_TIMEOUT_SECONDS = 5.0
MAX_ANSWER_BYTES = 1_000_000
SIMULATOR_GATEWAY_PATH = "/alipay-sim/gateway/"
SIMULATOR_KEY_DIR = "alipay-simulator"
SIMULATOR_KEY_BITS = 2048

PAID_TRADE_STATUSES = frozenset({"TRADE_SUCCESS", "TRADE_FINISHED"})
SUCCESS_CODE = "10000"
TRADE_NOT_EXIST = "ACQ.TRADE_NOT_EXIST"
TRADE_STATUS_ERROR = "ACQ.TRADE_STATUS_ERROR"


class AlipayUnavailable(ConnectionError):
    """Alipay's gateway did not answer in time, or gave an answer we cannot trust.

    A ConnectionError on purpose: ApiBlueprint answers those with a 503.
    """


def alipay_time(moment: datetime) -> str:
    """An aware datetime as Alipay wants it: 'YYYY-MM-DD HH:MM:SS' in Beijing time."""
    return moment.astimezone(ALIPAY_TIMEZONE).strftime(ALIPAY_TIME_FORMAT)


def pem_key(text: str, label: str) -> str:
    """PEM as given, or bare base64 (Alipay's console format) wrapped in PEM lines."""
    text = text.strip()
    if text.startswith("-----BEGIN"):
        return text + "\n"
    body = "".join(text.split())
    try:
        base64.b64decode(body, validate=True)
    except (binascii.Error, ValueError):
        raise config.ConfigError(f"{label} key is neither PEM nor base64") from None
    lines = "\n".join(textwrap.wrap(body, 64))
    return f"-----BEGIN {label}-----\n{lines}\n-----END {label}-----\n"


@dataclass(frozen=True)
class Trade:
    """Alipay's view of one trade (alipay.trade.query)."""

    out_trade_no: str
    trade_no: str
    trade_status: str  # WAIT_BUYER_PAY | TRADE_CLOSED | TRADE_SUCCESS | TRADE_FINISHED
    total_amount: str  # yuan, "5999.00"
    raw: dict[str, Any]

    @property
    def is_paid(self) -> bool:
        return self.trade_status in PAID_TRADE_STATUSES


class CloseOutcome(StrEnum):
    CLOSED = "closed"  # the trade is closed now (or was already)
    NOT_FOUND = "not_found"  # Alipay never opened it: the buyer never reached the cashier
    PAID = "paid"  # too late: the buyer paid


class RefundState(StrEnum):
    SUCCEEDED = "succeeded"  # the money is on its way back to the buyer
    FAILED = "failed"  # Alipay refused: nothing was refunded
    UNKNOWN = "unknown"  # the answer was lost (timeout, 5xx, untrusted): ask again later


@dataclass(frozen=True)
class RefundAnswer:
    """What Alipay said about one refund (alipay.trade.refund or its query)."""

    state: RefundState
    detail: str  # Alipay's sub_code and message, or what went wrong on the way
    raw: dict[str, Any]


# Alipay's own trouble: the refund may or may not have happened; retry with the same
# out_request_no (Alipay's documented advice), or query it.
REFUND_RETRY_SUB_CODES = frozenset({"ACQ.SYSTEM_ERROR", "aop.ACQ.SYSTEM_ERROR"})
REFUND_SUCCESS = "REFUND_SUCCESS"


@dataclass(frozen=True)
class AlipaySettings:
    app_id: str
    gateway: str
    app_private_key: str  # PEM
    alipay_public_key: str  # PEM
    simulated: bool

    @property
    def cache_key(self) -> str:
        material = "\0".join(
            [self.app_id, self.gateway, self.app_private_key, self.alipay_public_key]
        )
        return hashlib.sha256(material.encode()).hexdigest()


class AlipayClient:
    """The few Alipay calls the shop makes, with Beijing timestamps and a timeout."""

    def __init__(
        self,
        sdk: Any,
        gateway: str,
        *,
        timeout: float = GATEWAY_TIMEOUT_SECONDS,
        simulated: bool = False,
    ) -> None:
        self._sdk = sdk
        self.gateway = gateway
        self.timeout = timeout
        self.simulated = simulated

    @property
    def app_id(self) -> str:
        return str(self._sdk.appid)

    def page_pay_url(
        self,
        *,
        out_trade_no: str,
        subject: str,
        total_amount: str,
        expires_at: datetime,
        return_url: str,
        notify_url: str,
        now: datetime | None = None,
    ) -> str:
        """The cashier URL (alipay.trade.page.pay) for a trade that ends when the order does.

        timeout_express is the whole minutes left; time_expire pins the same end to the
        second, so the cashier never takes money for an order we already expired.
        """
        now = now or utcnow()
        minutes_left = max(1, int((expires_at - now).total_seconds() // 60))
        biz_content = {
            "out_trade_no": out_trade_no,
            "subject": subject,
            "total_amount": total_amount,
            "product_code": "FAST_INSTANT_TRADE_PAY",
            "timeout_express": f"{minutes_left}m",
            "time_expire": alipay_time(expires_at),
        }
        query = self._sdk.client_api(
            "alipay.trade.page.pay",
            biz_content,
            return_url=return_url,
            notify_url=notify_url,
            timestamp=alipay_time(now),
        )
        return f"{self.gateway}?{query}"

    def verify(self, params: Mapping[str, str]) -> bool:
        """Is this notify/return query signed by Alipay? (sign_type RSA2 only.)"""
        data = dict(params)
        signature = data.pop("sign", None)
        if not signature:
            return False
        from alipay.exceptions import AliPayException

        try:
            return bool(self._sdk.verify(data, signature))
        except (AliPayException, ValueError, TypeError):  # wrong sign_type, not base64
            return False

    def query_trade(self, out_trade_no: str) -> Trade | None:
        """alipay.trade.query; None when Alipay has no such trade (cashier never opened)."""
        response = self._call("alipay.trade.query", {"out_trade_no": out_trade_no})
        if response.get("code") == SUCCESS_CODE:
            return Trade(
                out_trade_no=str(response.get("out_trade_no", out_trade_no)),
                trade_no=str(response.get("trade_no", "")),
                trade_status=str(response.get("trade_status", "")),
                total_amount=str(response.get("total_amount", "")),
                raw=response,
            )
        if response.get("sub_code") == TRADE_NOT_EXIST:
            return None
        raise _refused("alipay.trade.query", response)

    def close_trade(self, out_trade_no: str) -> CloseOutcome:
        """alipay.trade.close: after this the buyer can no longer pay the order."""
        response = self._call("alipay.trade.close", {"out_trade_no": out_trade_no})
        if response.get("code") == SUCCESS_CODE:
            return CloseOutcome.CLOSED
        sub_code = response.get("sub_code")
        if sub_code == TRADE_NOT_EXIST:
            return CloseOutcome.NOT_FOUND
        if sub_code == TRADE_STATUS_ERROR:
            # Closed already, or paid: only a query tells which.
            trade = self.query_trade(out_trade_no)
            if trade is None or trade.trade_status == "TRADE_CLOSED":
                return CloseOutcome.CLOSED
            if trade.is_paid:
                return CloseOutcome.PAID
        raise _refused("alipay.trade.close", response)

    # --- refunds ---------------------------------------------------------------------------

    def refund(
        self,
        *,
        out_trade_no: str,
        trade_no: str,
        out_request_no: str,
        refund_amount: str,
        refund_reason: str,
    ) -> RefundAnswer:
        """alipay.trade.refund of `refund_amount` (yuan) with our out_request_no.

        Alipay refunds one out_request_no once: asked again it answers success with
        fund_change N, so a retry can never pay twice. fund_change N is therefore
        confirmed with a refund query. Raises AlipayUnavailable only when the request
        certainly never reached Alipay (connection refused, no such host): nothing
        happened and the caller may forget the refund. Anything after the request may
        have arrived (a timeout, a 5xx, an answer we cannot trust) is UNKNOWN.
        """
        method = "alipay.trade.refund"
        biz_content = {
            "out_trade_no": out_trade_no,
            "trade_no": trade_no,
            "out_request_no": out_request_no,
            "refund_amount": refund_amount,
            "refund_reason": refund_reason,
        }
        try:
            response = self._signed_answer(method, biz_content)
        except _AnswerLost as exc:
            log.warning("%s %s: the answer was lost: %s", method, out_request_no, exc)
            return RefundAnswer(RefundState.UNKNOWN, str(exc), {})
        detail = _detail(response)
        if response.get("code") == SUCCESS_CODE:
            if response.get("fund_change") == "Y":
                return RefundAnswer(RefundState.SUCCEEDED, detail, response)
            # Asked before (or Alipay has not moved the money yet): what does it say now?
            try:
                return self.query_refund(out_trade_no=out_trade_no, out_request_no=out_request_no)
            except AlipayUnavailable as exc:
                return RefundAnswer(RefundState.UNKNOWN, str(exc), response)
        if response.get("sub_code") in REFUND_RETRY_SUB_CODES or response.get("code") == "20000":
            return RefundAnswer(RefundState.UNKNOWN, detail, response)
        log.error("%s %s refused: %s", method, out_request_no, detail)
        return RefundAnswer(RefundState.FAILED, detail, response)

    def query_refund(self, *, out_trade_no: str, out_request_no: str) -> RefundAnswer:
        """alipay.trade.fastpay.refund.query: SUCCEEDED when refund_status is
        REFUND_SUCCESS; otherwise UNKNOWN (not refunded yet: Alipay's advice is to ask
        again with the same out_request_no). AlipayUnavailable when Alipay cannot be asked.
        """
        response = self._call(
            "alipay.trade.fastpay.refund.query",
            {"out_trade_no": out_trade_no, "out_request_no": out_request_no},
        )
        detail = _detail(response)
        if response.get("code") == SUCCESS_CODE:
            if response.get("refund_status") == REFUND_SUCCESS:
                return RefundAnswer(RefundState.SUCCEEDED, detail, response)
            return RefundAnswer(RefundState.UNKNOWN, "not refunded (yet)", response)
        if response.get("sub_code") == TRADE_NOT_EXIST:
            return RefundAnswer(RefundState.UNKNOWN, detail, response)
        raise _refused("alipay.trade.fastpay.refund.query", response)

    def _signed_answer(self, method: str, biz_content: dict[str, str]) -> dict[str, Any]:
        """As _call, but telling "never sent" (AlipayUnavailable) from "sent, answer lost"
        (_AnswerLost): a request that changes money needs the difference."""
        import urllib.error

        from alipay.exceptions import AliPayException, AliPayValidationError

        data = self._sdk.build_body(method, biz_content, timestamp=alipay_time(utcnow()))
        url = f"{self.gateway}?{self._sdk.sign_data(data)}"
        try:
            answer = _fetch(url, self.timeout)
        except urllib.error.HTTPError as exc:  # a 5xx: Alipay may have acted
            raise _AnswerLost(f"HTTP {exc.code}") from exc
        except urllib.error.URLError as exc:
            if isinstance(exc.reason, TimeoutError):
                raise _AnswerLost(f"no answer: {exc.reason}") from exc
            raise AlipayUnavailable(f"{method}: gateway unreachable: {exc.reason}") from exc
        except (OSError, http.client.HTTPException, ValueError) as exc:  # read timeout, reset
            raise _AnswerLost(f"{type(exc).__name__}: {exc}") from exc
        try:
            response = self._sdk._verify_and_return_sync_response(
                answer, method.replace(".", "_") + "_response"
            )
        except (  # not signed by Alipay's key (ValidationError is no AliPayException)
            AliPayValidationError,
            AliPayException,
            ValueError,
            KeyError,
            TypeError,
            AttributeError,
        ) as exc:
            raise _AnswerLost(f"an answer we cannot trust: {exc!r}") from exc
        if not isinstance(response, dict):
            raise _AnswerLost("an unreadable answer")
        return response

    def _call(self, method: str, biz_content: dict[str, str]) -> dict[str, Any]:
        from alipay.exceptions import AliPayException, AliPayValidationError

        data = self._sdk.build_body(method, biz_content, timestamp=alipay_time(utcnow()))
        url = f"{self.gateway}?{self._sdk.sign_data(data)}"
        try:
            answer = _fetch(url, self.timeout)
            response = self._sdk._verify_and_return_sync_response(
                answer, method.replace(".", "_") + "_response"
            )
        except AliPayValidationError:
            log.error("%s: the response is not signed by Alipay's key", method)
            raise AlipayUnavailable(f"{method}: the answer is not signed by Alipay") from None
        except AliPayException as exc:  # an unsigned answer or an error_response
            raise AlipayUnavailable(f"{method}: Alipay refused: {exc}") from None
        except (OSError, http.client.HTTPException) as exc:  # refused, timed out, DNS, HTTP 5xx
            raise AlipayUnavailable(f"{method}: gateway unreachable: {exc}") from exc
        except (ValueError, KeyError, TypeError, AttributeError) as exc:  # not Alipay's JSON
            raise AlipayUnavailable(f"{method}: unreadable answer: {exc!r}") from exc
        if not isinstance(response, dict):
            raise AlipayUnavailable(f"{method}: unreadable answer")
        return response


def _fetch(url: str, timeout: float) -> str:
    """GET the gateway's answer, with a deadline for all of it, not only for each read."""
    import urllib.request

    deadline = time.monotonic() + timeout
    body = bytearray()
    with urllib.request.urlopen(url, timeout=timeout) as answer:
        while chunk := answer.read1(65536):
            body += chunk
            if len(body) > MAX_ANSWER_BYTES:
                raise ValueError("the answer is too large to be Alipay's")
            if time.monotonic() > deadline:
                raise TimeoutError(f"no complete answer within {timeout} s")
    return body.decode("utf-8")


class _AnswerLost(Exception):
    """The request may have reached Alipay, but we have no answer we can trust."""


def _detail(response: Mapping[str, Any]) -> str:
    return " ".join(
        str(response.get(k, "")) for k in ("code", "msg", "sub_code", "sub_msg") if k in response
    )


def _refused(method: str, response: Mapping[str, Any]) -> AlipayUnavailable:
    detail = " ".join(
        str(response.get(k, "")) for k in ("code", "msg", "sub_code", "sub_msg") if k in response
    )
    log.error("%s refused: %s", method, detail)
    return AlipayUnavailable(f"{method} refused: {detail}")


# --- building the client -----------------------------------------------------------------


def alipay_settings(s: config.Settings | None = None) -> AlipaySettings:
    """What the client is built from, keys resolved (Secrets Manager is fetched once)."""
    s = s or config.settings()
    private_key = config.secret_value("ALIPAY_APP_PRIVATE_KEY")
    public_key = config.secret_value("ALIPAY_PUBLIC_KEY")
    if s.alipay_gateway is None:  # only possible on the local stage (config refuses it on AWS)
        # A key that is set always wins; the simulator's generated keys only fill in what is
        # not. The simulator pages still sign as "Alipay" with their own generated pair.
        keys = simulator_keys(s.var_dir)
        return AlipaySettings(
            app_id=s.alipay_app_id,
            gateway=s.api_base_url + SIMULATOR_GATEWAY_PATH,
            app_private_key=(
                pem_key(private_key, "PRIVATE KEY") if private_key else keys.app_private_key
            ),
            alipay_public_key=(
                pem_key(public_key, "PUBLIC KEY") if public_key else keys.alipay_public_key
            ),
            simulated=True,
        )
    if not s.alipay_app_id:
        raise config.ConfigError("ALIPAY_APP_ID must be set")
    if private_key is None or public_key is None:
        raise config.ConfigError("ALIPAY_APP_PRIVATE_KEY and ALIPAY_PUBLIC_KEY must be set")
    return AlipaySettings(
        app_id=s.alipay_app_id,
        gateway=s.alipay_gateway,
        app_private_key=pem_key(private_key, "PRIVATE KEY"),
        alipay_public_key=pem_key(public_key, "PUBLIC KEY"),
        simulated=False,
    )


def build_client(
    settings: AlipaySettings, *, timeout: float = GATEWAY_TIMEOUT_SECONDS
) -> AlipayClient:
    from alipay import AliPay

    try:
        sdk = AliPay(
            appid=settings.app_id,
            app_notify_url=None,
            app_private_key_string=settings.app_private_key,
            alipay_public_key_string=settings.alipay_public_key,
            sign_type="RSA2",
        )
    except (ValueError, IndexError, TypeError) as exc:
        raise config.ConfigError(f"an Alipay key is not a readable RSA key: {exc}") from None
    return AlipayClient(sdk, settings.gateway, timeout=timeout, simulated=settings.simulated)


# --- the simulator's keys --------------------------------------------------------------


@dataclass(frozen=True)
class SimulatorKeys:
    app_private_key: str
    app_public_key: str
    alipay_private_key: str  # the simulator signs as "Alipay" with this
    alipay_public_key: str


def simulator_keys(var_dir: Path) -> SimulatorKeys:
    """The local RSA2 key pairs, generated into var/ on first use and kept there."""
    folder = var_dir / SIMULATOR_KEY_DIR
    app_private = _generated_private_key(folder / "app_private_key.pem")
    alipay_private = _generated_private_key(folder / "alipay_private_key.pem")
    return SimulatorKeys(
        app_private_key=app_private,
        app_public_key=public_half(app_private),
        alipay_private_key=alipay_private,
        alipay_public_key=public_half(alipay_private),
    )


@functools.cache
def public_half(private_pem: str) -> str:
    from Cryptodome.PublicKey import RSA

    return RSA.import_key(private_pem).public_key().export_key().decode() + "\n"


def _generated_private_key(path: Path) -> str:
    """Read the key, or create it; two processes racing agree on the first one written."""
    try:
        return path.read_text()
    except FileNotFoundError:
        pass
    from Cryptodome.PublicKey import RSA

    path.parent.mkdir(parents=True, exist_ok=True)
    pem = RSA.generate(SIMULATOR_KEY_BITS).export_key(pkcs=8).decode() + "\n"
    scratch = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    scratch.write_text(pem)
    scratch.chmod(0o600)
    try:
        os.link(scratch, path)  # atomic: fails if another process got there first
    except FileExistsError:
        pass
    finally:
        scratch.unlink()
    return path.read_text()
