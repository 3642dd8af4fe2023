"""MAIL_URL names the mailer; a queued mail survives the trip through SQS unchanged."""

from __future__ import annotations

from pathlib import Path

import pytest

from chalicelib.adapters.mailer import Mail, OutboxMailer, QueuedSesMailer, mailer_from_url
from chalicelib.config import ConfigError

SENDER = "家电之选 <no-reply@shop.example.com>"


@pytest.mark.parametrize(
    ("url", "queue_url", "sqs_region", "ses_region"),
    [
        (
            "sqs://https://sqs.ap-east-1.amazonaws.com/123456789012/jiadian-shop-prod-mail",
            "https://sqs.ap-east-1.amazonaws.com/123456789012/jiadian-shop-prod-mail",
            "ap-east-1",
            None,
        ),
        (
            "sqs://https://sqs.ap-east-1.amazonaws.com/123456789012/jiadian-shop-prod-mail"
            "?ses_region=ap-southeast-1",
            "https://sqs.ap-east-1.amazonaws.com/123456789012/jiadian-shop-prod-mail",
            "ap-east-1",
            "ap-southeast-1",
        ),
        (
            "https://sqs.us-east-1.amazonaws.com/000000000000/jiadian-shop-dev-mail",
            "https://sqs.us-east-1.amazonaws.com/000000000000/jiadian-shop-dev-mail",
            "us-east-1",
            None,
        ),
        (
            "sqs://http://localhost:4566/000000000000/jiadian-shop-dev-mail",
            "http://localhost:4566/000000000000/jiadian-shop-dev-mail",
            None,
            None,
        ),
    ],
)
def test_an_sqs_mail_url_gives_the_queue_and_the_regions(
    url: str, queue_url: str, sqs_region: str | None, ses_region: str | None
) -> None:
    mailer = mailer_from_url(url, SENDER)

    assert isinstance(mailer, QueuedSesMailer)
    assert (mailer.queue_url, mailer.sqs_region, mailer.ses_region, mailer.sender) == (
        queue_url,
        sqs_region,
        ses_region,
        SENDER,
    )


def test_a_file_mail_url_is_the_outbox_folder(tmp_path: Path) -> None:
    mailer = mailer_from_url(f"file://{tmp_path / 'outbox'}", SENDER)

    assert isinstance(mailer, OutboxMailer)
    assert mailer.folder == tmp_path / "outbox"


@pytest.mark.parametrize(
    "url",
    [
        "sqs://jiadian-shop-dev-mail",
        "https://example.com/000000000000/jiadian-shop-dev-mail",
        "https://sqs.us-east-1.amazonaws.com/jiadian-shop-dev-mail",
        "smtp://mail.example.com",
    ],
)
def test_anything_else_is_a_configuration_error(url: str) -> None:
    with pytest.raises(ConfigError, match="MAIL_URL"):
        mailer_from_url(url, SENDER)


def test_a_mail_survives_the_queue_message_unchanged() -> None:
    mail = Mail(
        "zhang@example.com", "家电之选：请验证", "请打开 https://shop.example.com/?token=a.b.c"
    )

    assert Mail.from_json(mail.to_json()) == mail


def test_the_outbox_writes_a_readable_message_and_logs_its_link(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    outbox = OutboxMailer(tmp_path, SENDER)

    name = outbox.deliver(
        Mail("li@example.com", "主题", "链接：\nhttps://shop.example.com/?token=t\n")
    )

    (message,) = outbox.messages()
    assert (tmp_path / name).is_file()
    assert (message["From"], message["To"], message["Subject"]) == (
        SENDER,
        "li@example.com",
        "主题",
    )
    assert message.get_content() == "链接：\nhttps://shop.example.com/?token=t\n"
    assert [r.getMessage() for r in caplog.records] == [
        f"mail to li@example.com written to {tmp_path / name}; "
        "links: https://shop.example.com/?token=t"
    ]
