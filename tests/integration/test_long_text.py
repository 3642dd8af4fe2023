"""Text as long as the API lets it be fits its column on real MariaDB (where TEXT stops
at 65,535 bytes; SQLite has no bound)."""

from __future__ import annotations

import os

import pytest

from chalicelib.db.engine import transaction
from chalicelib.services import goods
from tests import factories

pytestmark = pytest.mark.skipif(
    not os.environ.get("TEST_DATABASE_URL"),
    reason="column sizes need a real MariaDB (TEST_DATABASE_URL)",
)

LONGEST = "😀" * 100_000  # RichText's max_length, 4 bytes each: 400 KB of UTF-8


def test_an_spu_keeps_descriptions_of_the_longest_length(database_url: str) -> None:
    # given an SPU's fields with each description as long as allowed
    with transaction() as conn:
        brand = factories.brand(conn)
        top = factories.category(conn)
        middle = factories.category(conn, parent_id=top)
        leaf = factories.category(conn, parent_id=middle)
    fields = goods.SpuFields("长描述", brand, top, middle, leaf, LONGEST, LONGEST, LONGEST)

    # when it is created
    with transaction() as conn:
        spu_id = goods.create_spu(conn, fields).id

    # then each description is stored whole
    with transaction() as conn:
        stored = goods.get_spu(conn, spu_id)
    assert (stored.desc_detail, stored.desc_pack, stored.desc_service) == (LONGEST,) * 3
