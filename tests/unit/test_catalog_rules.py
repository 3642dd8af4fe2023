"""Pure catalogue rules: name masking, demo plan, prices, generated statuses, search SQL."""

from __future__ import annotations

import random

import pytest
from sqlalchemy.dialects import mysql, sqlite

from chalicelib.services.catalog import mask_username
from devtools import catalog_words, demo, generate


@pytest.mark.parametrize(
    ("username", "masked"),
    [
        ("demo_buyer", "d***r"),
        ("dora_explorer", "d***r"),
        ("ab", "a***b"),
        ("x", "***"),
        ("", "***"),
    ],
)
def test_anonymous_usernames_keep_only_first_and_last_letter(username: str, masked: str) -> None:
    assert mask_username(username) == masked


def test_demo_plan_is_the_same_every_run_and_big_enough() -> None:
    first, second = demo.plan_catalogue(), demo.plan_catalogue()
    assert [s.name for s in first] == [s.name for s in second]
    sku_names = [sku.name for spu in first for sku in spu.skus]
    assert len(first) >= 40 and len(sku_names) >= 150
    assert len(set(sku_names)) == len(sku_names)  # names are the natural key
    assert len({s.name for s in first}) == len(first)
    assert len({line.category for line in catalog_words.PRODUCT_LINES}) >= 8
    for spu in first:
        for sku in spu.skus:
            assert len(sku.name) <= 100 and len(sku.caption) <= 200
            assert {name for name, _ in sku.specs} == {name for name, _ in spu.line.specs}


@pytest.mark.parametrize("line", catalog_words.PRODUCT_LINES, ids=lambda line: line.category)
def test_prices_stay_in_the_line_range_and_rise_with_the_spec(
    line: catalog_words.ProductLine,
) -> None:
    rng = random.Random(3)
    low, high = line.price_yuan
    for level in (0.0, 0.5, 1.0):
        fen = catalog_words.price_fen(line, level, rng)
        assert low * 100 <= fen <= (high + 9) * 100
        assert fen % 1000 == 900  # shop prices end in 9 yuan
    cheap = sum(catalog_words.price_fen(line, 0.0, rng) for _ in range(50))
    dear = sum(catalog_words.price_fen(line, 1.0, rng) for _ in range(50))
    assert cheap < dear


def test_generated_unpaid_orders_exist_only_within_the_payment_timeout() -> None:
    rng = random.Random(5)
    assert {generate._status_for_age(rng, 60) for _ in range(300)} == {1, 2, 6}
    older = {
        generate._status_for_age(rng, age)
        for age in (3600, 5 * 86400, 50 * 86400)
        for _ in range(300)
    }
    assert 1 not in older and older == {2, 3, 4, 5, 6}


@pytest.mark.parametrize("dialect", [mysql.dialect(), sqlite.dialect()], ids=["mysql", "sqlite"])
def test_search_escapes_like_wildcards(dialect: object) -> None:
    from sqlalchemy import select

    from chalicelib.db.tables import skus

    statement = select(skus.c.id).where(skus.c.name.contains("100%_'", autoescape=True))
    compiled = statement.compile(dialect=dialect)  # type: ignore[arg-type]
    assert "ESCAPE '/'" in str(compiled)
    assert list(compiled.params.values()) == ["100/%/_'"]
