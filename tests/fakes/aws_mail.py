"""A fake of the two AWS calls the mail path makes, over HTTP, for processes moto cannot reach.

moto mocks boto3 inside the test process; the packaged Lambda functions run in child
interpreters, and moto's standalone server needs Flask, which this project does not
install. So this answers exactly what the shop sends, on 127.0.0.1, for the child's boto3
pointed here by `AWS_ENDPOINT_URL_SQS` / `AWS_ENDPOINT_URL_SES`:

- SQS SendMessage (botocore's JSON protocol, `X-Amz-Target: AmazonSQS.SendMessage`):
  the message is kept in `queued` and answered with its id and body MD5.
- SES SendRawEmail (query protocol, `Action=SendRawEmail`): the raw message is kept in
  `sent`; with `reject_sends` set it answers MessageRejected as SES does for an
  unverified sender.

Anything else is a 400 naming the call, so a new call the shop starts making shows up.
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
import uuid
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

SES_NS = "http://ses.amazonaws.com/doc/2010-12-01/"


@dataclass
class FakeAwsMail:
    queued: list[dict[str, str]] = field(default_factory=list)  # {"QueueUrl", "MessageBody"}
    sent: list[EmailMessage] = field(default_factory=list)
    message_ids: list[str] = field(default_factory=list)  # SES's answer for each of sent
    reject_sends: bool = False
    url: str = ""
    _server: ThreadingHTTPServer | None = None

    def __enter__(self) -> FakeAwsMail:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                target = self.headers.get("X-Amz-Target")
                if target:
                    status, content_type, reply = fake.sqs(target, json.loads(body or b"{}"))
                else:
                    form = {k: v[0] for k, v in parse_qs(body.decode()).items()}
                    status, content_type, reply = fake.ses(form)
                data = reply.encode()
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def sqs(self, target: str, request: dict[str, Any]) -> tuple[int, str, str]:
        json_type = "application/x-amz-json-1.0"
        if target != "AmazonSQS.SendMessage":
            error = {"__type": "InvalidAction", "message": f"the fake does not answer {target}"}
            return 400, json_type, json.dumps(error)
        self.queued.append({"QueueUrl": request["QueueUrl"], "MessageBody": request["MessageBody"]})
        md5 = hashlib.md5(request["MessageBody"].encode()).hexdigest()
        return 200, json_type, json.dumps({"MessageId": str(uuid.uuid4()), "MD5OfMessageBody": md5})

    def ses(self, form: dict[str, str]) -> tuple[int, str, str]:
        action = form.get("Action")
        if action != "SendRawEmail":
            return (
                400,
                "text/xml",
                _ses_error("InvalidAction", f"the fake does not answer {action}"),
            )
        if self.reject_sends:
            return 400, "text/xml", _ses_error("MessageRejected", "Email address is not verified.")
        raw = base64.b64decode(form["RawMessage.Data"])
        self.sent.append(message_from_bytes(raw, _class=EmailMessage, policy=policy.default))  # type: ignore[arg-type]
        message_id = f"0100{uuid.uuid4().hex}-000000"
        self.message_ids.append(message_id)
        return (
            200,
            "text/xml",
            f'<SendRawEmailResponse xmlns="{SES_NS}"><SendRawEmailResult>'
            f"<MessageId>{message_id}</MessageId></SendRawEmailResult>"
            f"<ResponseMetadata><RequestId>{uuid.uuid4()}</RequestId></ResponseMetadata>"
            "</SendRawEmailResponse>",
        )


def _ses_error(code: str, message: str) -> str:
    return (
        f'<ErrorResponse xmlns="{SES_NS}"><Error><Type>Sender</Type><Code>{code}</Code>'
        f"<Message>{message}</Message></Error><RequestId>{uuid.uuid4()}</RequestId></ErrorResponse>"
    )
