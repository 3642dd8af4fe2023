"""A fake Alipay for tests: its own RSA2 keys, signed notifies/returns, and an HTTP gateway.

Written independently of chalicelib (signatures with `cryptography`, not the SDK's
pycryptodomex), so a mistake shared by our client and our simulator cannot hide.

- `KeyPair.generate()`: a real 2048-bit RSA key pair, PEM and Alipay-console base64.
- `FakeAlipay.notify(...)`: a notify exactly as Alipay sends it: every field but
  `sign`/`sign_type`, sorted, joined as unencoded `k=v` with `&`, SHA256withRSA;
  `sign_type=RSA2` and `sign` added. `form(...)` url-encodes it as Alipay POSTs it.
- `FakeAlipay.serve()`: a gateway on 127.0.0.1 answering alipay.trade.query,
  alipay.trade.close, alipay.trade.refund and alipay.trade.fastpay.refund.query from
  `trades`, each answer signed over the exact inner JSON text. It checks the app's
  request signature with the app's public key and records every request (`requests`).
  `mode` makes it misbehave: "hang", "trickle", "garbage", "unsigned", "wrong_key".
- Refunds as Alipay documents them: one refund per (trade, out_request_no), whatever
  how often it is asked for (a repeat answers fund_change "N" and refunds nothing);
  refund_fee is the trade's refunded total; more than is left is
  ACQ.REASON_TRADE_REFUND_FEE_ERR; only a paid trade refunds (ACQ.TRADE_STATUS_ERROR).
  `refunds` is the money that really went back. `refund_fault` makes the next refund
  misbehave once after doing its work: "timeout" (answers after `fault_delay` seconds)
  or "5xx" (HTTP 502); "system_error" answers ACQ.SYSTEM_ERROR without refunding.
"""

from __future__ import annotations

import base64
import json
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit
from zoneinfo import ZoneInfo

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

BEIJING = ZoneInfo("Asia/Shanghai")


@dataclass(frozen=True)
class KeyPair:
    private_pem: str
    public_pem: str

    @classmethod
    def generate(cls) -> KeyPair:
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        private_pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode()
        public_pem = (
            key.public_key()
            .public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
            .decode()
        )
        return cls(private_pem, public_pem)

    @property
    def public_base64(self) -> str:
        """The public key as Alipay's console shows it: bare base64, one line."""
        return "".join(line for line in self.public_pem.splitlines() if "-----" not in line)

    def sign(self, text: str) -> str:
        key = serialization.load_pem_private_key(self.private_pem.encode(), password=None)
        assert isinstance(key, rsa.RSAPrivateKey)
        signature = key.sign(text.encode(), padding.PKCS1v15(), hashes.SHA256())
        return base64.b64encode(signature).decode()

    def verifies(self, text: str, signature: str) -> bool:
        key = serialization.load_pem_public_key(self.public_pem.encode())
        assert isinstance(key, rsa.RSAPublicKey)
        try:
            key.verify(
                base64.b64decode(signature), text.encode(), padding.PKCS1v15(), hashes.SHA256()
            )
        except (InvalidSignature, ValueError):
            return False
        return True


def signing_text(params: dict[str, str], exclude: tuple[str, ...]) -> str:
    return "&".join(f"{k}={v}" for k, v in sorted(params.items()) if k not in exclude)


def _fen(yuan: str) -> int:
    whole, _, cents = yuan.partition(".")
    return int(whole) * 100 + int((cents or "0").ljust(2, "0"))


def beijing_now() -> str:
    return datetime.now(BEIJING).strftime("%Y-%m-%d %H:%M:%S")


@dataclass
class FakeAlipay:
    app_id: str
    app_keys: KeyPair  # the shop's pair: the fake checks request signatures with it
    alipay_keys: KeyPair  # the fake signs as Alipay with this
    wrong_keys: KeyPair  # someone else's key, for forgeries
    trades: dict[str, dict[str, str]] = field(default_factory=dict)
    requests: list[dict[str, Any]] = field(default_factory=list)
    mode: str = "normal"
    refunds: list[dict[str, str]] = field(default_factory=list)
    refund_fault: str | None = None
    fault_delay: float = 1.0
    url: str = ""
    _server: ThreadingHTTPServer | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    # --- what Alipay sends the shop -------------------------------------------------------

    def signed(self, params: dict[str, str], *, keys: KeyPair | None = None) -> dict[str, str]:
        fields = dict(params)
        fields["sign_type"] = "RSA2"
        fields["sign"] = (keys or self.alipay_keys).sign(
            signing_text(params, exclude=("sign", "sign_type"))
        )
        return fields

    def notify(
        self,
        out_trade_no: str,
        total_amount: str,
        *,
        trade_no: str = "2024050122001400000000000001",
        trade_status: str = "TRADE_SUCCESS",
        keys: KeyPair | None = None,
        **overrides: str,
    ) -> dict[str, str]:
        now = beijing_now()
        fields = {
            "app_id": self.app_id,
            "auth_app_id": self.app_id,
            "buyer_id": "2088102177846875",
            "buyer_pay_amount": total_amount,
            "charset": "utf-8",
            "fund_bill_list": json.dumps(
                [{"amount": total_amount, "fundChannel": "ALIPAYACCOUNT"}]
            ),
            "gmt_create": now,
            "gmt_payment": now,
            "invoice_amount": total_amount,
            "notify_id": "2024050100222155010000000000000001",
            "notify_time": now,
            "notify_type": "trade_status_sync",
            "out_trade_no": out_trade_no,
            "point_amount": "0.00",
            "receipt_amount": total_amount,
            "seller_id": "2088102177000001",
            "subject": f"家电之选订单 {out_trade_no}",
            "total_amount": total_amount,
            "trade_no": trade_no,
            "trade_status": trade_status,
            "version": "1.0",
        }
        fields.update(overrides)
        return self.signed(fields, keys=keys)

    def return_query(
        self, out_trade_no: str, total_amount: str, *, keys: KeyPair | None = None
    ) -> dict[str, str]:
        fields = {
            "app_id": self.app_id,
            "auth_app_id": self.app_id,
            "charset": "utf-8",
            "method": "alipay.trade.page.pay.return",
            "out_trade_no": out_trade_no,
            "seller_id": "2088102177000001",
            "timestamp": beijing_now(),
            "total_amount": total_amount,
            "trade_no": "2024050122001400000000000001",
            "version": "1.0",
        }
        return self.signed(fields, keys=keys)

    @staticmethod
    def form(fields: dict[str, str]) -> str:
        return urlencode(fields)

    # --- the gateway -------------------------------------------------------------------------

    def paid(
        self, out_trade_no: str, total_amount: str, trade_no: str = "2024050122001499"
    ) -> None:
        self.trades[out_trade_no] = {
            "trade_status": "TRADE_SUCCESS",
            "total_amount": total_amount,
            "trade_no": trade_no,
        }

    def waiting(self, out_trade_no: str, total_amount: str) -> None:
        self.trades[out_trade_no] = {
            "trade_status": "WAIT_BUYER_PAY",
            "total_amount": total_amount,
            "trade_no": "2024050122001400000000009999",
        }

    def methods_called(self) -> list[str]:
        return [r["method"] for r in self.requests]

    def refunded_total(self, out_trade_no: str) -> str:
        fen = sum(
            _fen(r["refund_amount"]) for r in self.refunds if r["out_trade_no"] == out_trade_no
        )
        return f"{fen // 100}.{fen % 100:02d}"

    def answer(self, query: str) -> tuple[int, str]:
        params = dict(parse_qsl(query, keep_blank_values=True))
        signature = params.get("sign", "")
        valid = self.app_keys.verifies(signing_text(params, exclude=("sign",)), signature)
        method = params.get("method", "")
        biz = json.loads(params.get("biz_content", "{}"))
        self.requests.append(
            {"method": method, "timestamp": params.get("timestamp"), "biz": biz, "valid": valid}
        )
        if self.mode == "hang":
            time.sleep(3)
        if self.mode == "garbage":
            return 200, "<html>502 Bad Gateway</html>"
        key = method.replace(".", "_") + "_response"
        if not valid:
            inner = {
                "code": "40002",
                "msg": "Invalid Arguments",
                "sub_code": "isv.invalid-signature",
            }
        elif method == "alipay.trade.query":
            inner = self._query(biz["out_trade_no"])
        elif method == "alipay.trade.close":
            inner = self._close(biz["out_trade_no"])
        elif method == "alipay.trade.refund":
            fault, self.refund_fault = self.refund_fault, None
            if fault == "system_error":
                inner = {"code": "40004", "msg": "Business Failed", "sub_code": "ACQ.SYSTEM_ERROR"}
            else:
                with self._lock:  # the ledger: one refund at a time
                    inner = self._refund(biz)
                if fault == "timeout":
                    time.sleep(self.fault_delay)
                if fault == "5xx":
                    return 502, "<html>502 Bad Gateway</html>"
        elif method == "alipay.trade.fastpay.refund.query":
            inner = self._refund_query(biz)
        else:
            inner = {"code": "40002", "msg": "Invalid Arguments", "sub_code": "isv.invalid-method"}
        text = json.dumps(inner, ensure_ascii=False, separators=(",", ":"))
        if self.mode == "unsigned":
            return 200, f'{{"{key}":{text}}}'
        keys = self.wrong_keys if self.mode == "wrong_key" else self.alipay_keys
        return 200, f'{{"{key}":{text},"sign":"{keys.sign(text)}"}}'

    def _query(self, out_trade_no: str) -> dict[str, str]:
        trade = self.trades.get(out_trade_no)
        if trade is None:
            return {
                "code": "40004",
                "msg": "Business Failed",
                "sub_code": "ACQ.TRADE_NOT_EXIST",
                "sub_msg": "交易不存在",
            }
        return {"code": "10000", "msg": "Success", "out_trade_no": out_trade_no, **trade}

    def _close(self, out_trade_no: str) -> dict[str, str]:
        trade = self.trades.get(out_trade_no)
        if trade is None:
            return {"code": "40004", "msg": "Business Failed", "sub_code": "ACQ.TRADE_NOT_EXIST"}
        if trade["trade_status"] != "WAIT_BUYER_PAY":
            return {"code": "40004", "msg": "Business Failed", "sub_code": "ACQ.TRADE_STATUS_ERROR"}
        trade["trade_status"] = "TRADE_CLOSED"
        return {"code": "10000", "msg": "Success", "out_trade_no": out_trade_no}

    def _refund(self, biz: dict[str, Any]) -> dict[str, str]:
        out_trade_no = str(biz.get("out_trade_no", ""))
        trade = self.trades.get(out_trade_no)
        if trade is None or (biz.get("trade_no") and biz["trade_no"] != trade["trade_no"]):
            return {"code": "40004", "msg": "Business Failed", "sub_code": "ACQ.TRADE_NOT_EXIST"}
        base = {"out_trade_no": out_trade_no, "trade_no": trade["trade_no"]}
        request_no = str(biz.get("out_request_no") or out_trade_no)
        earlier = [
            r
            for r in self.refunds
            if r["out_trade_no"] == out_trade_no and r["out_request_no"] == request_no
        ]
        if earlier:  # asked again: nothing moves
            return {
                "code": "10000",
                "msg": "Success",
                **base,
                "fund_change": "N",
                "refund_fee": self.refunded_total(out_trade_no),
            }
        if trade["trade_status"] not in ("TRADE_SUCCESS",):
            return {
                "code": "40004",
                "msg": "Business Failed",
                "sub_code": "ACQ.TRADE_STATUS_ERROR",
                **base,
            }
        amount = _fen(str(biz["refund_amount"]))
        left = _fen(trade["total_amount"]) - _fen(self.refunded_total(out_trade_no))
        if amount <= 0 or amount > left:
            return {
                "code": "40004",
                "msg": "Business Failed",
                "sub_code": "ACQ.REASON_TRADE_REFUND_FEE_ERR",
                "sub_msg": "退款金额无效",
                **base,
                "refund_fee": "0.00",
                "send_back_fee": "0.00",
            }
        self.refunds.append(
            {
                "out_trade_no": out_trade_no,
                "out_request_no": request_no,
                "refund_amount": str(biz["refund_amount"]),
            }
        )
        return {
            "code": "10000",
            "msg": "Success",
            **base,
            "buyer_logon_id": "159****5620",
            "fund_change": "Y",
            "gmt_refund_pay": beijing_now(),
            "refund_fee": self.refunded_total(out_trade_no),
            "send_back_fee": str(biz["refund_amount"]),
        }

    def _refund_query(self, biz: dict[str, Any]) -> dict[str, str]:
        out_trade_no = str(biz.get("out_trade_no", ""))
        trade = self.trades.get(out_trade_no)
        if trade is None:
            return {"code": "40004", "msg": "Business Failed", "sub_code": "ACQ.TRADE_NOT_EXIST"}
        done = [
            r
            for r in self.refunds
            if r["out_trade_no"] == out_trade_no
            and r["out_request_no"] == biz.get("out_request_no")
        ]
        if not done:  # Alipay: no refund_status means not refunded
            return {"code": "10000", "msg": "Success"}
        return {
            "code": "10000",
            "msg": "Success",
            "out_trade_no": out_trade_no,
            "trade_no": trade["trade_no"],
            "out_request_no": done[0]["out_request_no"],
            "total_amount": trade["total_amount"],
            "refund_amount": done[0]["refund_amount"],
            "refund_status": "REFUND_SUCCESS",
        }

    def serve(self) -> FakeAlipay:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                status, body = fake.answer(urlsplit(self.path).query)
                data = body.encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json;charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if fake.mode != "trickle":
                    self.wfile.write(data)
                    return
                for byte in data:
                    self.wfile.write(bytes([byte]))
                    self.wfile.flush()
                    time.sleep(0.05)

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/gateway.do"
        threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        ).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
