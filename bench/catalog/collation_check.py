"""Check the search term index's premise on MariaDB's utf8mb4_unicode_ci, for every character.

    scripts/with-test-servers .venv/bin/python bench/catalog/collation_check.py

Search finds candidates by comparing 2-character terms with `=` and keeps those the
LIKE accepts (chalicelib/services/search_terms.py). That is exact only if two
characters LIKE finds equal also make `=`-equal bigrams. LIKE compares character by
character by collation weight, so the characters it can equate share a weight string:
this groups every code point by WEIGHT_STRING, and for each character that LIKE finds
equal to its group's first member, checks that bigrams built with either character
compare equal, with another character before or after (a letter, a digit, a Chinese
character, a space). Prints the counts and exits non-zero on any failure (~20 s).
"""

from __future__ import annotations

import os
import sys
import uuid

import pymysql
from sqlalchemy.engine import make_url

CONTEXT = ("x", "1", "冰", " ")


def main() -> None:
    url = make_url(os.environ["TEST_DATABASE_URL"])
    conn = pymysql.connect(
        host=url.host, port=url.port or 3306, user=url.username, password=url.password or ""
    )
    name = f"shop_collation_{uuid.uuid4().hex[:6]}"
    cur = conn.cursor()
    cur.execute(f"CREATE DATABASE {name} CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
    try:
        cur.execute(f"USE {name}")
        cur.execute("SET NAMES utf8mb4 COLLATE utf8mb4_unicode_ci")
        cur.execute("CREATE TABLE chars (cp INT PRIMARY KEY, c VARCHAR(1))")
        code_points = [cp for cp in range(1, 0x110000) if not 0xD800 <= cp <= 0xDFFF]
        for start in range(0, len(code_points), 10_000):
            cur.executemany(
                "INSERT INTO chars VALUES (%s, %s)",
                [(cp, chr(cp)) for cp in code_points[start : start + 10_000]],
            )
        cur.execute("ALTER TABLE chars ADD COLUMN w VARBINARY(64), ADD INDEX (w)")
        cur.execute("UPDATE chars SET w = WEIGHT_STRING(c)")
        cur.execute(
            "CREATE TABLE pairs AS SELECT a.c AS a, g.c AS b FROM chars a "
            "JOIN (SELECT w, MIN(cp) AS cp FROM chars GROUP BY w HAVING COUNT(*) > 1) first "
            "ON first.w = a.w AND first.cp <> a.cp JOIN chars g ON g.cp = first.cp "
            "WHERE a.c NOT IN ('%', '_', '\\\\')"
        )
        cur.execute("SELECT COUNT(*), SUM(a LIKE b) FROM pairs")
        pairs, like_equal = cur.fetchone()
        bigrams_differ = " OR ".join(
            f"CONCAT(a, '{x}') <> CONCAT(b, '{x}') OR CONCAT('{x}', a) <> CONCAT('{x}', b)"
            for x in CONTEXT
        )
        cur.execute(f"SELECT a, b FROM pairs WHERE a LIKE b AND ({bigrams_differ})")
        failures = cur.fetchall()
        print(
            f"{len(code_points):,} code points; {pairs:,} share a weight with another; "
            f"{int(like_equal or 0):,} of those LIKE-equal to their group's first; "
            f"bigrams not `=`: {len(failures)}"
        )
        for a, b in failures[:20]:
            print(f"  {a!r} LIKE {b!r} but a bigram differs")
    finally:
        cur.execute(f"DROP DATABASE {name}")
        conn.close()
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
