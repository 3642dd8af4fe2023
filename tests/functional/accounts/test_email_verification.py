"""Setting an email address and verifying it with the link from the mail (local outbox)."""

from __future__ import annotations

import logging
import time
from email.message import EmailMessage
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import select

from chalicelib import auth, resources
from chalicelib.adapters.mailer import Mail, OutboxMailer
from chalicelib.config import DEFAULT_MAIL_FROM, settings
from chalicelib.db.tables import users
from chalicelib.services.accounts import LINK_USED, VERIFICATION_MAIL_KEY
from tests.conftest import put_json

SUBJECT = "家电之选：请验证您的邮箱 / Verify your email address"


@pytest.fixture
def outbox() -> OutboxMailer:
    """The test run's outbox folder (MAIL_URL file://...), emptied for this test."""
    folder = Path(settings().mail_url.removeprefix("file://"))
    for path in folder.glob("*.eml"):
        path.unlink()
    return OutboxMailer(folder, DEFAULT_MAIL_FROM)


def link_in(message: EmailMessage) -> str:
    body = message.get_content()
    (link,) = [word for word in body.split() if word.startswith("http")]
    return str(link)


def token_in(message: EmailMessage) -> str:
    return parse_qs(urlsplit(link_in(message)).query)["token"][0]


def set_email(client: Any, headers: dict[str, str], email: str) -> Any:
    return put_json(client, "/user/email/", {"email": email}, headers=headers)


def verify(client: Any, token: str) -> Any:
    return put_json(client, "/emails/verification/", {"token": token})


def profile(client: Any, headers: dict[str, str]) -> dict[str, Any]:
    return dict(client.http.get("/user/", headers=headers).json_body)


def email_token_version(db: Any, user_id: int) -> int:
    with db.connect() as conn:
        return int(
            conn.scalar(select(users.c.email_token_version).where(users.c.id == user_id)) or 0
        )


def test_setting_an_address_stores_it_unverified_and_writes_the_mail_to_the_outbox(
    client: Any, make_user: Any, auth_headers: Any, outbox: OutboxMailer
) -> None:
    # given a logged-in user
    user = make_user("zhang_san")
    headers = auth_headers(user)

    # when they set their address
    response = set_email(client, headers, "zhang.san@example.com")

    # then it is stored unverified, and one mail with a link to the API's route is written
    assert response.status_code == 200
    assert response.json_body == {
        "id": user.id,
        "email": "zhang.san@example.com",
        "email_active": False,
    }
    shown = profile(client, headers)
    assert (shown["email"], shown["email_active"]) == ("zhang.san@example.com", False)
    (mail,) = outbox.messages()
    assert mail["To"] == "zhang.san@example.com"
    assert mail["From"] == DEFAULT_MAIL_FROM
    assert mail["Subject"] == SUBJECT
    assert link_in(mail).startswith(
        f"http://127.0.0.1:{settings().port}/emails/verification/?token="
    )


def test_the_link_from_the_mail_verifies_the_address_once(
    client: Any, make_user: Any, auth_headers: Any, outbox: OutboxMailer
) -> None:
    # given a user who set an address and got the mail
    user = make_user("li_si")
    headers = auth_headers(user)
    set_email(client, headers, "li.si@example.com")
    token = token_in(outbox.messages()[0])

    # when the token from the link is sent, and then sent again
    first = verify(client, token)
    replay = verify(client, token)

    # then the first verifies the address, the replay is refused, the address stays verified
    assert first.status_code == 200
    assert first.json_body == {"email_active": True}
    assert replay.status_code == 400
    assert replay.json_body == {"token": [LINK_USED]}
    shown = profile(client, headers)
    assert (shown["email"], shown["email_active"]) == ("li.si@example.com", True)


def test_a_second_address_voids_the_link_sent_for_the_first(
    client: Any, make_user: Any, auth_headers: Any, outbox: OutboxMailer, redis: Any
) -> None:
    # given a link sent for a first address, and a minute later a second address set
    user = make_user("wang_wu")
    headers = auth_headers(user)
    set_email(client, headers, "first@example.com")
    redis.delete(VERIFICATION_MAIL_KEY.format(user_id=user.id))  # the minute has passed
    set_email(client, headers, "second@example.com")
    first_mail, second_mail = outbox.messages()

    # when the first link is used, then the second
    stale = verify(client, token_in(first_mail))
    current = verify(client, token_in(second_mail))

    # then only the second address's link works, and that address is verified
    assert (first_mail["To"], second_mail["To"]) == ("first@example.com", "second@example.com")
    assert stale.status_code == 400
    assert stale.json_body == {"token": [LINK_USED]}
    assert current.status_code == 200
    shown = profile(client, headers)
    assert (shown["email"], shown["email_active"]) == ("second@example.com", True)


def test_setting_an_address_again_makes_a_verified_address_unverified(
    client: Any, make_user: Any, auth_headers: Any, outbox: OutboxMailer, redis: Any
) -> None:
    # given a verified address
    user = make_user("zhao_liu")
    headers = auth_headers(user)
    set_email(client, headers, "zhao@example.com")
    verify(client, token_in(outbox.messages()[0]))
    redis.delete(VERIFICATION_MAIL_KEY.format(user_id=user.id))

    # when the user sets an address again (the same one)
    response = set_email(client, headers, "zhao@example.com")

    # then it must be verified again, with the new link
    assert response.json_body == {"id": user.id, "email": "zhao@example.com", "email_active": False}
    assert verify(client, token_in(outbox.messages()[1])).status_code == 200


def test_a_link_older_than_24_hours_is_refused_and_a_younger_one_works(
    client: Any, make_user: Any, auth_headers: Any, outbox: OutboxMailer, db: Any
) -> None:
    # given an address set (version 1), and tokens for it issued 24 h and 24 h - 1 s ago
    user = make_user("qian_qi")
    set_email(client, auth_headers(user), "qian@example.com")
    version = email_token_version(db, user.id)
    now = time.time()
    expired = auth.issue_email_token(user.id, "qian@example.com", version, now=now - 86400)
    fresh = auth.issue_email_token(user.id, "qian@example.com", version, now=now - 86399 + 5)

    # when each is sent
    refused = verify(client, expired)
    accepted = verify(client, fresh)

    # then the expired one is a 400 saying so, the other verifies
    assert version == 1
    assert refused.status_code == 400
    assert refused.json_body == {
        "token": ["This verification link has expired. Ask for a new one."]
    }
    assert accepted.status_code == 200


def test_a_second_mail_within_a_minute_is_throttled_and_changes_nothing(
    client: Any, make_user: Any, auth_headers: Any, outbox: OutboxMailer
) -> None:
    # given a user who was just sent a verification mail
    user = make_user("sun_ba")
    headers = auth_headers(user)
    set_email(client, headers, "sun@example.com")

    # when they set another address at once
    response = set_email(client, headers, "other@example.com")

    # then 429 with Retry-After, the first address is kept and no second mail is written
    assert response.status_code == 429
    assert response.json_body["code"] == "throttled"
    assert 1 <= int(response.headers["Retry-After"]) <= 60
    assert profile(client, headers)["email"] == "sun@example.com"
    assert [m["To"] for m in outbox.messages()] == ["sun@example.com"]


def test_the_link_is_built_on_frontend_url_when_it_is_set(
    client: Any,
    make_user: Any,
    auth_headers: Any,
    outbox: OutboxMailer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # given a front-end whose pages live at https://shop.example.com/
    monkeypatch.setenv("FRONTEND_URL", "https://shop.example.com/pay_success.html")
    user = make_user("zhou_jiu")

    # when the user sets an address
    set_email(client, auth_headers(user), "zhou@example.com")

    # then the link opens the front-end's verification page with the token
    link = link_in(outbox.messages()[0])
    assert link.startswith("https://shop.example.com/success_verify_email.html?token=")
    assert verify(client, token_in(outbox.messages()[0])).status_code == 200


class BrokenQueue:
    def send(self, mail: Mail) -> None:
        raise ConnectionError("the queue is down")

    def deliver(self, mail: Mail) -> str:
        raise AssertionError("not called")


def test_a_queue_failure_after_the_commit_keeps_the_address_and_lets_the_user_ask_again(
    client: Any,
    make_user: Any,
    auth_headers: Any,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # given a mail queue that cannot be reached
    monkeypatch.setattr(resources, "mailer", BrokenQueue)
    user = make_user("wu_shi")
    headers = auth_headers(user)

    # when the user sets an address, and at once asks again
    with caplog.at_level(logging.ERROR, logger="shop.accounts"):
        first = set_email(client, headers, "wu@example.com")
        again = set_email(client, headers, "wu@example.com")

    # then both succeed (the commit stands, the minute was given back), each failure logged
    assert first.status_code == 200
    assert again.status_code == 200
    assert profile(client, headers)["email"] == "wu@example.com"
    logged = (
        f"verification mail for user {user.id} not queued; the address is saved and "
        "PUT /user/email/ again sends a new link"
    )
    assert [r.getMessage() for r in caplog.records if r.name == "shop.accounts"] == [logged] * 2


@pytest.mark.parametrize(
    ("body", "errors"),
    [
        ({}, {"email": ["This field is required."]}),
        ({"email": ""}, {"email": ["String should have at least 1 character"]}),
        ({"email": "not-an-address"}, {"email": ["Enter a valid email address."]}),
    ],
)
def test_a_bad_address_is_a_400_and_sends_nothing(
    client: Any,
    make_user: Any,
    auth_headers: Any,
    outbox: OutboxMailer,
    body: dict[str, str],
    errors: dict[str, list[str]],
) -> None:
    user = make_user()

    response = put_json(client, "/user/email/", body, headers=auth_headers(user))

    assert response.status_code == 400
    assert response.json_body == errors
    assert outbox.messages() == []


def test_setting_an_address_needs_a_login(client: Any, outbox: OutboxMailer) -> None:
    response = set_email(client, {}, "anon@example.com")

    assert response.status_code == 401
    assert outbox.messages() == []


def test_tokens_that_are_not_verification_links_are_refused(
    client: Any, make_user: Any, token_for: Any
) -> None:
    # given a user's login token and a damaged link token
    user = make_user()
    damaged = auth.issue_email_token(user.id, "x@example.com", 0)[:-2] + "xx"

    # when each is sent as a verification token
    answers = [verify(client, token) for token in (token_for(user), damaged, "abc")]

    # then each is a 400 on the token
    assert [(a.status_code, a.json_body) for a in answers] == [
        (400, {"token": ["This verification link is not valid."]})
    ] * 3


def test_a_unit_of_work_that_rolls_back_sends_nothing_and_gives_the_minute_back(
    make_user: Any, redis: Any, outbox: OutboxMailer, db: Any
) -> None:
    from chalicelib.clock import utcnow
    from chalicelib.db.engine import transaction
    from chalicelib.services import accounts

    # given a user
    user = make_user("zheng_shiyi")

    # when their address change is rolled back after the service ran
    with pytest.raises(RuntimeError), transaction() as conn:
        accounts.change_email(conn, redis, outbox, user.id, "zheng@example.com", now=utcnow())
        raise RuntimeError("something later in the unit failed")

    # then nothing was stored or sent, and the user may ask at once
    with db.connect() as conn:
        stored = conn.execute(
            select(users.c.email, users.c.email_token_version).where(users.c.id == user.id)
        ).one()
    assert tuple(stored) == ("", 0)
    assert outbox.messages() == []
    assert redis.exists(VERIFICATION_MAIL_KEY.format(user_id=user.id)) == 0


def test_a_deactivated_users_link_does_not_verify(
    client: Any, make_user: Any, auth_headers: Any, outbox: OutboxMailer, db: Any
) -> None:
    # given a link sent to a user who was then deactivated
    user = make_user("wang_shier")
    set_email(client, auth_headers(user), "wang12@example.com")
    with db.begin() as conn:
        conn.execute(users.update().where(users.c.id == user.id).values(is_active=False))

    # when the link is used
    response = verify(client, token_in(outbox.messages()[0]))

    # then it is refused and the address stays unverified
    assert response.status_code == 400
    assert response.json_body == {"token": [LINK_USED]}
    with db.connect() as conn:
        assert conn.scalar(select(users.c.email_active).where(users.c.id == user.id)) is False
