"""The AWS mail path through moto: the API queues on SQS, the worker sends through SES.

MAIL_URL is `sqs://<queue url>` of a moto queue named as the stage's (the local stage's
worker reads `jiadian-shop-local-mail`); the SQS event the worker gets is built by
chalice's test client from the queued body, as Lambda's event source would deliver it.
"""

from __future__ import annotations

from collections.abc import Iterator
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from chalicelib.adapters.mailer import Mail
from chalicelib.jobs import MAIL_QUEUE
from tests.conftest import put_json

SENDER = "家电之选 <no-reply@shop.example.com>"
REGION = "us-east-1"


class AwsMail:
    def __init__(self, sqs: Any, queue_url: str) -> None:
        self.sqs = sqs
        self.queue_url = queue_url

    def queued_bodies(self) -> list[str]:
        """Take every message off the queue (as the event source mapping would)."""
        bodies = []
        while True:
            reply = self.sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10)
            messages = reply.get("Messages", [])
            if not messages:
                return bodies
            for message in messages:
                bodies.append(message["Body"])
                self.sqs.delete_message(
                    QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"]
                )

    def sent_ids(self) -> list[str]:
        from moto.core import DEFAULT_ACCOUNT_ID
        from moto.ses.models import ses_backends

        return [sent.id for sent in ses_backends[DEFAULT_ACCOUNT_ID][REGION].sent_messages]

    def sent(self) -> list[tuple[list[str], EmailMessage]]:
        """What SES sent (moto's backend): (destinations, message) each."""
        from moto.core import DEFAULT_ACCOUNT_ID
        from moto.ses.models import ses_backends

        return [
            (
                list(sent.destinations),
                message_from_bytes(
                    sent.raw_data.encode(), _class=EmailMessage, policy=policy.default
                ),  # type: ignore[arg-type]
            )
            for sent in ses_backends[DEFAULT_ACCOUNT_ID][REGION].sent_messages
        ]


@pytest.fixture
def aws_mail(database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[AwsMail]:
    import boto3
    from moto import mock_aws

    with mock_aws():
        sqs = boto3.client("sqs", region_name=REGION)
        queue_url = sqs.create_queue(QueueName=MAIL_QUEUE)["QueueUrl"]
        monkeypatch.setenv("MAIL_URL", f"sqs://{queue_url}")
        monkeypatch.setenv("MAIL_FROM", SENDER)
        yield AwsMail(sqs, queue_url)


@pytest.fixture
def verified_sender(aws_mail: AwsMail) -> None:
    import boto3

    boto3.client("ses", region_name=REGION).verify_email_identity(
        EmailAddress="no-reply@shop.example.com"
    )


def token_in(text: str) -> str:
    (link,) = [word for word in text.split() if word.startswith("http")]
    return parse_qs(urlsplit(link).query)["token"][0]


def sqs_event(client: Any, *bodies: str) -> Any:
    return client.events.generate_sqs_event(message_bodies=list(bodies), queue_name=MAIL_QUEUE)


def test_setting_an_address_queues_its_verification_mail_on_sqs(
    client: Any, make_user: Any, auth_headers: Any, aws_mail: AwsMail
) -> None:
    # given a logged-in user, with MAIL_URL pointing at the SQS mail queue
    user = make_user("zhang_san")

    # when they set an address
    response = put_json(
        client, "/user/email/", {"email": "zhang@example.com"}, headers=auth_headers(user)
    )

    # then one message, the mail itself, is on the queue
    assert response.status_code == 200
    (body,) = aws_mail.queued_bodies()
    mail = Mail.from_json(body)
    assert (mail.to, mail.subject) == (
        "zhang@example.com",
        "家电之选：请验证您的邮箱 / Verify your email address",
    )
    assert "/emails/verification/?token=" in mail.text


def test_the_worker_sends_the_queued_mail_through_ses_and_its_link_verifies(
    client: Any, make_user: Any, auth_headers: Any, aws_mail: AwsMail, verified_sender: None
) -> None:
    # given a verification mail queued by the API
    user = make_user("li_si")
    headers = auth_headers(user)
    put_json(client, "/user/email/", {"email": "li@example.com"}, headers=headers)
    (body,) = aws_mail.queued_bodies()

    # when SQS triggers the worker with it
    result = client.lambda_.invoke("mail_worker", sqs_event(client, body))

    # then SES sent it from MAIL_FROM, and the link in the sent mail verifies the address
    ((destinations, message),) = aws_mail.sent()
    assert result.payload == f"sent 1: {aws_mail.sent_ids()[0]}"
    assert destinations == ["li@example.com"]
    assert (message["From"], message["To"]) == (SENDER, "li@example.com")
    assert message["Subject"] == "家电之选：请验证您的邮箱 / Verify your email address"
    assert message.get_content() == Mail.from_json(body).text
    verified = put_json(client, "/emails/verification/", {"token": token_in(message.get_content())})
    assert verified.json_body == {"email_active": True}
    assert client.http.get("/user/", headers=headers).json_body["email_active"] is True


def test_a_failed_send_raises_so_that_sqs_delivers_the_record_again(
    client: Any, aws_mail: AwsMail
) -> None:
    from botocore.exceptions import ClientError

    # given SES refusing the sender (not a verified identity)
    body = Mail("wang@example.com", "主题", "正文 https://shop.example.com/").to_json()

    # when the worker gets the record
    with pytest.raises(ClientError) as caught:
        client.lambda_.invoke("mail_worker", sqs_event(client, body))

    # then the invocation fails (the record stays on the queue, then the dead-letter queue)
    assert caught.value.response["Error"]["Code"] == "MessageRejected"
    assert aws_mail.sent() == []


@pytest.mark.parametrize(
    "body",
    ["not json", '{"version": 2, "to": "a@example.com"}', '{"version": 1, "to": "a@example.com"}'],
)
def test_a_record_that_is_not_a_mail_of_ours_raises_rather_than_being_dropped(
    client: Any, aws_mail: AwsMail, verified_sender: None, body: str
) -> None:
    with pytest.raises(ValueError):
        client.lambda_.invoke("mail_worker", sqs_event(client, body))

    assert aws_mail.sent() == []


def test_the_worker_takes_one_record_at_a_time_from_the_stages_mail_queue() -> None:
    from chalice.app import SQSEventConfig

    from app import app

    sources = [
        (s.name, s.queue, s.queue_arn, s.batch_size, s.maximum_concurrency, s.handler_string)
        for s in app.event_sources
        if isinstance(s, SQSEventConfig)
    ]

    assert sources == [
        ("mail_worker", "jiadian-shop-local-mail", None, 1, 2, "chalicelib.jobs.mail_worker")
    ]
