"""Mail: one small interface, the real SQS + SES path and its outbox-folder twin.

A `Mail` is what the shop has to say (recipient, subject, plain text); the sender is the
MAIL_FROM setting. Two steps, so a request never waits for SES:

- `send(mail)`: hand it over. On AWS a message on the mail queue (SQS); locally the
  outbox writes the file at once.
- `deliver(mail)`: the worker's step (chalicelib.jobs.mail_worker, an SQS-triggered
  Lambda): send it through SES. Any failure raises, so SQS delivers the record again
  and, after the queue's maxReceiveCount, moves it to the dead-letter queue.

MAIL_URL chooses the implementation:

- `sqs://<queue url>`, e.g. `sqs://https://sqs.ap-east-1.amazonaws.com/123456789012/jiadian-shop-prod-mail`
  (a bare `https://sqs.<region>.amazonaws.com/<account>/<queue>` URL is accepted too).
  SQS is called in the queue's region (read from the URL); SES in the function's own
  region unless the URL ends with `?ses_region=<region>` (SES is not offered in every
  region that Lambda is, e.g. ap-east-1).
- `file://<folder>`: each mail is an RFC 5322 `<time>-<random>.eml` file in that folder and
  its links are logged (`make run`: var/outbox/). `send` and `deliver` both write it.
"""

from __future__ import annotations

import json
import logging
import re
import time
import uuid
from dataclasses import asdict, dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr
from functools import cached_property
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import parse_qs, urlsplit

from chalicelib.config import ConfigError

log = logging.getLogger("shop.mail")

CONNECT_TIMEOUT_SECONDS = 3
READ_TIMEOUT_SECONDS = 5
_SQS_HOST = re.compile(r"^sqs\.([a-z0-9-]+)\.amazonaws\.com(\.cn)?$")
_LINK = re.compile(r"https?://\S+")


@dataclass(frozen=True)
class Mail:
    to: str
    subject: str
    text: str

    def to_json(self) -> str:
        return json.dumps({"version": 1, **asdict(self)}, ensure_ascii=False)

    @classmethod
    def from_json(cls, body: str) -> Mail:
        """The mail a queue message carries; ValueError when it is not one of ours."""
        data = json.loads(body)
        if not isinstance(data, dict) or data.get("version") != 1:
            raise ValueError("not a version 1 mail message")
        to, subject, text = (data.get(name) for name in ("to", "subject", "text"))
        if not (isinstance(to, str) and isinstance(subject, str) and isinstance(text, str)):
            raise ValueError("a mail message needs to, subject and text")
        if not (to and subject and text):
            raise ValueError("a mail message needs to, subject and text")
        return cls(to, subject, text)

    def message(self, sender: str) -> EmailMessage:
        """The RFC 5322 message (UTF-8; non-ASCII headers as encoded words)."""
        message = EmailMessage()
        message["From"] = sender
        message["To"] = self.to
        message["Subject"] = self.subject
        message["Date"] = formatdate(usegmt=True)
        domain = parseaddr(sender)[1].rpartition("@")[2] or "localhost"
        message["Message-ID"] = make_msgid(domain=domain)
        message.set_content(self.text)
        return message


class Mailer(Protocol):
    def send(self, mail: Mail) -> None:
        """Hand the mail over for delivery (queue it, or write it locally)."""

    def deliver(self, mail: Mail) -> str:
        """Deliver it now and return its id (SES message id or file name); raise on failure."""


class OutboxMailer:
    """The local twin: each mail is a file in a folder, and its links are logged."""

    def __init__(self, folder: Path, sender: str) -> None:
        self.folder = folder
        self.sender = sender

    def send(self, mail: Mail) -> None:
        self.deliver(mail)

    def deliver(self, mail: Mail) -> str:
        self.folder.mkdir(parents=True, exist_ok=True)
        # named by the time it was written, so a listing is in the order they were sent
        path = self.folder / f"{time.time_ns():020d}-{uuid.uuid4().hex[:8]}.eml"
        part = path.with_name(path.name + ".part")
        part.write_bytes(mail.message(self.sender).as_bytes())
        part.replace(path)
        links = " ".join(_LINK.findall(mail.text))
        # a warning: shown without any logging set up (`make run`), so the link can be
        # opened; marked so the log formatter leaves the link's token readable
        log.warning(
            "mail to %s written to %s; links: %s",
            mail.to,
            path,
            links or "none",
            extra={"shop_local_link": True},
        )
        return path.name

    def messages(self) -> list[EmailMessage]:
        """Every mail in the outbox, oldest first (tests and `make run` users read them)."""
        from email import message_from_bytes, policy

        paths = sorted(self.folder.glob("*.eml"))
        return [
            message_from_bytes(p.read_bytes(), _class=EmailMessage, policy=policy.default)
            for p in paths
        ]


class QueuedSesMailer:
    """AWS: `send` puts the mail on the SQS queue; the worker's `deliver` sends it by SES."""

    def __init__(
        self, queue_url: str, sender: str, *, sqs_region: str | None, ses_region: str | None
    ) -> None:
        self.queue_url = queue_url
        self.sender = sender
        self.sqs_region = sqs_region
        self.ses_region = ses_region

    def send(self, mail: Mail) -> None:
        self._sqs.send_message(QueueUrl=self.queue_url, MessageBody=mail.to_json())

    def deliver(self, mail: Mail) -> str:
        # Neither Source nor Destinations: SES takes them from the From and To headers, which
        # are encoded properly for non-ASCII names (Source would need it done by hand).
        reply = self._ses.send_raw_email(RawMessage={"Data": mail.message(self.sender).as_bytes()})
        return str(reply["MessageId"])

    @cached_property
    def _sqs(self) -> Any:
        import boto3

        return boto3.client("sqs", region_name=self.sqs_region, config=_client_config())

    @cached_property
    def _ses(self) -> Any:
        import boto3

        return boto3.client("ses", region_name=self.ses_region, config=_client_config())


def _client_config() -> Any:
    from botocore.config import Config

    return Config(
        connect_timeout=CONNECT_TIMEOUT_SECONDS,
        read_timeout=READ_TIMEOUT_SECONDS,
        retries={"max_attempts": 2},
    )


def mailer_from_url(url: str, sender: str) -> Mailer:
    """The mailer MAIL_URL names: `sqs://<queue url>` (or the queue URL itself), `file://<folder>`."""
    if url.startswith("file://"):
        return OutboxMailer(Path(url.removeprefix("file://")), sender)
    queue_url = url.removeprefix("sqs://")
    parts = urlsplit(queue_url)
    if parts.scheme not in ("https", "http") or not parts.netloc or parts.path.count("/") != 2:
        raise ConfigError(
            "MAIL_URL must be sqs://<queue url> (https://sqs.<region>.amazonaws.com/<account>/"
            f"<queue>) or file://<folder>, got {url!r}"
        )
    if not url.startswith("sqs://") and not _SQS_HOST.match(parts.hostname or ""):
        raise ConfigError(f"MAIL_URL {url!r} is not an SQS queue URL: write sqs://<queue url>")
    options = parse_qs(parts.query)
    host = _SQS_HOST.match(parts.hostname or "")
    return QueuedSesMailer(
        parts._replace(query="").geturl(),
        sender,
        sqs_region=host.group(1) if host else None,
        ses_region=options.get("ses_region", [None])[0],
    )
