"""Refund arithmetic and refund numbers (services.refunds): pure rules, no I/O."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from chalicelib.errors import ValidationError
from chalicelib.services.refunds import amount_to_refund, new_refund_no, request_fingerprint

PAID = 599900


def test_by_default_a_refund_takes_all_that_is_left() -> None:
    assert amount_to_refund(PAID, 0, None) == PAID
    assert amount_to_refund(PAID, 100000, None) == 499900


def test_partial_refunds_add_up_to_at_most_what_was_paid() -> None:
    assert amount_to_refund(PAID, 0, 100000) == 100000
    assert amount_to_refund(PAID, 100000, 499900) == 499900  # exactly the rest


@pytest.mark.parametrize(
    ("refunded", "asked", "message"),
    [
        (100000, 499901, "At most 4999.00 is left to refund."),
        (0, PAID + 1, "At most 5999.00 is left to refund."),
        (PAID, None, "Nothing is left to refund on this order."),
        (PAID, 1, "Nothing is left to refund on this order."),
        (0, 0, "Must be more than 0.00."),
        (0, -100, "Must be more than 0.00."),
    ],
)
def test_an_over_refund_or_an_empty_one_is_refused(
    refunded: int, asked: int | None, message: str
) -> None:
    with pytest.raises(ValidationError) as refused:
        amount_to_refund(PAID, refunded, asked)
    assert refused.value.errors == {"amount": [message]}


def test_a_refund_number_is_alipays_kind_of_out_request_no() -> None:
    now = datetime(2026, 12, 2, 8, 30, 15, 123456, tzinfo=timezone(timedelta(hours=8)))

    number = new_refund_no(now)

    assert number.startswith("RF20261202003015123456")  # UTC, to the microsecond
    assert len(number) == 32
    assert number.isalnum() and number.isascii()


def test_refund_numbers_do_not_repeat_within_one_microsecond() -> None:
    now = datetime(2026, 12, 2, tzinfo=UTC)
    assert len({new_refund_no(now) for _ in range(1000)}) == 1000


def test_the_fingerprint_tells_requests_apart() -> None:
    base = request_fingerprint("1", 100, "划痕")
    assert base == request_fingerprint("1", 100, "划痕")
    assert (
        len(
            {
                base,
                request_fingerprint("2", 100, "划痕"),
                request_fingerprint("1", None, "划痕"),
                request_fingerprint("1", 100, ""),
            }
        )
        == 4
    )
