"""`manage.py generate`: bulk data for scale tests (1,000,000 users and orders in minutes).

Works on the current DATABASE_URL and only adds rows: users, SPUs/SKUs in the demo
category tree, orders with their lines. Rows are built in Python and written in
batches through SQLAlchemy Core executemany, which PyMySQL turns into multi-row
`INSERT ... VALUES (...), (...)` statements; each batch is its own transaction.

What the rows look like (so statistics and lists behave as in a real shop):
- users joined over the last 60 days (ids rising with the join time); 85 % logged in
  since, mostly recently; all share one precomputed password hash ("Gen12345678").
  Each username's suffixes go into username_terms (services/username_terms.py).
- SKUs: brand x product type x series x specs from devtools.catalog_words, grouped
  into SPUs of 1-6 variants, with heavy-tailed historic sales; 3 % unlaunched; cost and
  market prices around the price; their search terms (services/search_terms.py, ~50 rows
  a SKU) in term order. Each SPU has its brand (the demo's brands, with logos, made once),
  three descriptions, and its line's specifications with the values its SKUs use as
  options; each SKU picks one option of each. The demo's channel groups come too.
- orders: placed by a random user after they joined, within the last 60 days,
  inserted in time order (the primary key is time-prefixed, so inserts append);
  1-3 lines (popular SKUs more often); statuses by age: unpaid only within the
  payment timeout, older ones paid, shipped, received, completed (with comments) or
  cancelled. No status-history, payment or balance rows are written.

On MySQL the session turns off foreign-key and unique checks while it loads: every
reference and key is built consistent here, and checking them row by row would
triple the time.
"""

from __future__ import annotations

import bisect
import itertools
import random
import time
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Table, func, select

from chalicelib import auth, resources
from chalicelib.clock import utcnow
from chalicelib.db.engine import engine, insert_ignoring_duplicates
from chalicelib.db.tables import (
    order_lines,
    orders,
    sku_search_terms,
    sku_spec_options,
    skus,
    spec_options,
    spu_specs,
    spus,
    username_terms,
    users,
)
from chalicelib.services.search_terms import postings
from chalicelib.services.username_terms import terms_of
from devtools import catalog_words

USERS_PER_TERM_SLICE = 100_000
BATCH_ROWS = 5000
HISTORY_DAYS = 60
GENERATED_PASSWORD = "Gen12345678"
PAYMENT_TIMEOUT = timedelta(minutes=30)

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐"
GIVEN_NAMES = (
    "伟",
    "芳",
    "娜",
    "秀英",
    "敏",
    "静",
    "丽",
    "强",
    "磊",
    "军",
    "洋",
    "勇",
    "艳",
    "杰",
    "涛",
)
PINYIN = ("wang", "li", "zhang", "liu", "chen", "yang", "huang", "zhao", "wu", "zhou", "xu", "sun")
MAIL_DOMAINS = ("qq.com", "163.com", "126.com", "sina.com", "gmail.com")
MOBILE_PREFIXES = "3456789"
PLACES = (
    ("北京市", "北京市", "朝阳区"),
    ("北京市", "北京市", "海淀区"),
    ("上海市", "上海市", "浦东新区"),
    ("上海市", "上海市", "徐汇区"),
    ("广东省", "广州市", "天河区"),
    ("广东省", "深圳市", "南山区"),
    ("浙江省", "杭州市", "西湖区"),
    ("江苏省", "南京市", "鼓楼区"),
    ("四川省", "成都市", "武侯区"),
    ("湖北省", "武汉市", "洪山区"),
    ("陕西省", "西安市", "雁塔区"),
    ("山东省", "青岛市", "市南区"),
)
ROADS = ("人民路", "解放路", "中山路", "建设路", "和平路", "长江路", "科技园路", "文化路")


@dataclass
class Population:
    """What orders are drawn from: users with their join times, SKUs weighted by sales."""

    user_ids: list[int]
    user_joined: list[float]  # epoch seconds
    user_mobiles: list[str | None]
    sku_ids: list[int]
    sku_names: list[str]
    sku_prices: list[int]
    sku_cum_weights: list[float]


def generate(*, users: int, skus: int, orders: int, seed: int = 1) -> str:
    """Add `users` users, `skus` SKUs and `orders` orders to the current database."""
    if min(users, skus, orders) < 0:
        raise ValueError("counts must not be negative")
    rng = random.Random(seed)
    now = utcnow()
    timings: list[str] = []
    started = time.perf_counter()
    with engine().connect() as conn:
        _fast_session(conn)
        step = time.perf_counter()
        writer = Writer(conn)
        try:
            new_users = _users(conn, writer, rng, users, now) if users else None
            timings.append(f"users {time.perf_counter() - step:.1f} s")
            step = time.perf_counter()
            new_skus = _skus(conn, writer, rng, skus, now) if skus else None
            timings.append(f"skus {time.perf_counter() - step:.1f} s")
            line_count = 0
            if orders:
                step = time.perf_counter()
                population = _population(conn, new_users, new_skus)
                line_count = _orders(conn, writer, rng, orders, now, population)
                timings.append(f"orders {time.perf_counter() - step:.1f} s")
        finally:
            writer.close()
    elapsed = time.perf_counter() - started
    return (
        f"generated {users} users, {skus} skus, {orders} orders ({line_count} lines) "
        f"in {elapsed:.1f} s ({', '.join(timings)})"
    )


def _fast_session(conn: Connection) -> None:
    if conn.dialect.name in ("mysql", "mariadb"):
        conn.exec_driver_sql("SET SESSION foreign_key_checks = 0, unique_checks = 0")
        conn.commit()


class Writer:
    """Writes batches of rows, each batch one multi-row INSERT in its own transaction.

    On MySQL the VALUES text is built here (PyMySQL's generic per-value escaping was 60 %
    of the run time; these rows hold only ints, bools, None, UTC datetimes and strings,
    escaped with PyMySQL's escape_string), and a single writer thread sends it: the
    server stores one batch while Python builds the next.
    """

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.mysql = conn.dialect.name in ("mysql", "mariadb")
        self.pending: list[Future[None]] = []
        self.pool = ThreadPoolExecutor(max_workers=1) if self.mysql else None

    def insert_all(self, table: Table, rows: Iterator[dict[str, Any]]) -> None:
        while batch := list(itertools.islice(rows, BATCH_ROWS)):
            self.insert(table, batch)

    def insert(self, table: Table, rows: list[dict[str, Any]]) -> None:
        if not rows:
            return
        if self.pool is None:
            self.conn.execute(table.insert(), rows)
            self.conn.commit()
            return
        columns = list(rows[0])
        values = ",".join("(" + ",".join([_literal(row[c]) for c in columns]) + ")" for row in rows)
        names = ", ".join(f"`{c}`" for c in columns)
        self._submit(f"INSERT INTO `{table.name}` ({names}) VALUES {values}")

    def insert_search_terms(self, found: dict[str, list[int]]) -> None:
        """Search terms (term -> SKU ids) in primary-key order, skipping duplicates as
        db.engine.insert_ignoring_duplicates does. On MySQL each term is escaped once: the
        generic per-value path took 16 s for the 5 M rows of 100,000 SKUs."""
        if self.pool is None:
            rows = ({"term": t, "sku_id": sku_id} for t in sorted(found) for sku_id in found[t])
            while batch := list(itertools.islice(rows, BATCH_ROWS)):
                self.conn.execute(insert_ignoring_duplicates(self.conn, sku_search_terms), batch)
                self.conn.commit()
            return

        def values() -> Iterator[str]:
            for term in sorted(found):
                literal = _literal(term)
                for sku_id in found[term]:
                    yield f"({literal},{sku_id})"

        texts = values()
        while batch := list(itertools.islice(texts, 4 * BATCH_ROWS)):
            self._submit(
                "INSERT IGNORE INTO `sku_search_terms` (`term`, `sku_id`) VALUES " + ",".join(batch)
            )

    def insert_username_terms(self, names: list[tuple[int, str]]) -> None:
        """The admin user search's index (services/username_terms.py) for new users, in
        primary-key order within each slice of USERS_PER_TERM_SLICE users (sorting all of
        a million users' ~10 M terms at once would hold them all in memory)."""
        for start in range(0, len(names), USERS_PER_TERM_SLICE):
            found = sorted(
                (term, user_id)
                for user_id, username in names[start : start + USERS_PER_TERM_SLICE]
                for term in terms_of(username)
            )
            if self.pool is None:
                rows = ({"term": t, "user_id": u} for t, u in found)
                while batch := list(itertools.islice(rows, BATCH_ROWS)):
                    self.conn.execute(insert_ignoring_duplicates(self.conn, username_terms), batch)
                    self.conn.commit()
                continue
            texts = (f"({_literal(t)},{u})" for t, u in found)
            while batch := list(itertools.islice(texts, 4 * BATCH_ROWS)):
                self._submit(
                    "INSERT IGNORE INTO `username_terms` (`term`, `user_id`) VALUES "
                    + ",".join(batch)
                )

    def _submit(self, sql: str) -> None:
        assert self.pool is not None
        while len(self.pending) >= 2:  # bound the memory held by queued statements
            self.pending.pop(0).result()
        self.pending.append(self.pool.submit(self._send, sql))

    def _send(self, sql: str) -> None:
        # no_parameters: the driver must not read the "%" in captions as placeholders.
        self.conn.execution_options(no_parameters=True).exec_driver_sql(sql)
        self.conn.commit()

    def flush(self) -> None:
        while self.pending:
            self.pending.pop(0).result()

    def close(self) -> None:
        self.flush()
        if self.pool is not None:
            self.pool.shutdown()


def _literal(value: Any) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, datetime):
        return f"'{value.astimezone(UTC):%Y-%m-%d %H:%M:%S.%f}'"
    from pymysql.converters import escape_string

    return "'" + escape_string(str(value)) + "'"


def _next_id(conn: Connection, table: Table) -> int:
    return int(conn.scalar(select(func.coalesce(func.max(table.c.id), 0))) or 0) + 1


# --- users ---------------------------------------------------------------------------


@dataclass
class NewUsers:
    ids: list[int]
    joined: list[float]
    mobiles: list[str | None]


def _users(
    conn: Connection, writer: Writer, rng: random.Random, count: int, now: datetime
) -> NewUsers:
    first_id = _next_id(conn, users)
    start = now.timestamp() - HISTORY_DAYS * 86400
    span = now.timestamp() - start
    # A growing shop: more sign-ups lately (density rising linearly over the window).
    joined = sorted(start + span * rng.random() ** 0.7 for _ in range(count))
    taken = set(conn.scalars(select(users.c.mobile).where(users.c.mobile.is_not(None))))
    password = auth.hash_password(GENERATED_PASSWORD)
    ids = list(range(first_id, first_id + count))
    mobiles: list[str | None] = []
    for user_id in ids:
        mobile = f"1{MOBILE_PREFIXES[user_id % 7]}{user_id:09d}"
        mobiles.append(mobile if len(mobile) == 11 and mobile not in taken else None)

    def rows() -> Iterator[dict[str, Any]]:
        for user_id, joined_at, mobile in zip(ids, joined, mobiles, strict=True):
            username = f"{rng.choice(PINYIN)}{user_id:05d}"
            last_login = None
            if rng.random() < 0.85:
                # Recently active users dominate: the gap to now is skewed small.
                last_login = now.timestamp() - (now.timestamp() - joined_at) * rng.random() ** 3
            yield {
                "id": user_id,
                "username": username,
                "password": password,
                "email": f"{username}@{rng.choice(MAIL_DOMAINS)}",
                "email_active": rng.random() < 0.6,
                "mobile": mobile,
                "balance": 0,
                "is_active": True,
                "is_staff": False,
                "is_superuser": False,
                "token_version": 0,
                "date_joined": _utc(joined_at),
                "last_login": _utc(last_login) if last_login is not None else None,
            }

    names: list[tuple[int, str]] = []

    def recorded() -> Iterator[dict[str, Any]]:
        for row in rows():
            names.append((row["id"], row["username"]))
            yield row

    writer.insert_all(users, recorded())
    writer.insert_username_terms(names)
    writer.flush()
    return NewUsers(ids, joined, mobiles)


# --- catalogue ------------------------------------------------------------------------


@dataclass
class NewSkus:
    ids: list[int]
    names: list[str]
    prices: list[int]
    sales: list[int]
    launched: list[bool]


def _skus(
    conn: Connection, writer: Writer, rng: random.Random, count: int, now: datetime
) -> NewSkus:
    from devtools.demo import (
        descriptions,
        ensure_brands,
        ensure_categories,
        ensure_channels,
        prices_around,
    )

    leaf_ids = ensure_categories(conn)
    brand_ids, _ = ensure_brands(conn, resources.storage())
    ensure_channels(conn)
    conn.commit()
    spu_id = _next_id(conn, spus)
    sku_id = _next_id(conn, skus)
    spec_id = _next_id(conn, spu_specs)
    option_id = _next_id(conn, spec_options)
    spu_rows: list[dict[str, Any]] = []
    sku_rows: list[dict[str, Any]] = []
    spec_rows: list[dict[str, Any]] = []
    option_rows: list[dict[str, Any]] = []
    pick_rows: list[dict[str, Any]] = []
    described = {  # the same HTML for every SPU of a line and brand: sanitized once
        (line.category, brand): descriptions(line, brand)
        for line in catalog_words.PRODUCT_LINES
        for brand in line.brands
    }
    made = NewSkus([], [], [], [], [])
    while len(sku_rows) < count:
        line = rng.choice(catalog_words.PRODUCT_LINES)
        brand = rng.choice(line.brands)
        series = rng.choice(line.series)
        model = catalog_words.model_number(line, rng)
        created = now - timedelta(days=rng.uniform(0, 365))
        spu_rows.append(
            {
                "id": spu_id,
                "name": catalog_words.spu_name(line, brand, series, model),
                "brand_id": brand_ids[brand[0]],
                **described[(line.category, brand)],
                "category1_id": leaf_ids[line.category][0],
                "category2_id": leaf_ids[line.category][1],
                "category3_id": leaf_ids[line.category][2],
                "create_time": created,
            }
        )
        variants = _variants(line, rng, max_count=min(6, count - len(sku_rows)))
        options: dict[tuple[str, str], tuple[int, int]] = {}
        for name, _ in line.specs:
            spec_rows.append({"id": spec_id, "spu_id": spu_id, "name": name})
            for values, _ in variants:
                for picked_name, value in values:
                    if picked_name == name and (name, value) not in options:
                        option_rows.append({"id": option_id, "spec_id": spec_id, "value": value})
                        options[(name, value)] = (spec_id, option_id)
                        option_id += 1
            spec_id += 1
        for values, level in variants:
            sales = min(int(rng.paretovariate(1.1) * 3) - 3, 200_000)
            price = catalog_words.price_fen(line, level, rng)
            launched = rng.random() >= 0.03
            name = catalog_words.sku_name(line, brand, series, model, [v for _, v in values])
            cost_price, market_price = prices_around(price)
            sku_rows.append(
                {
                    "id": sku_id,
                    "spu_id": spu_id,
                    "category_id": leaf_ids[line.category][2],
                    "name": name,
                    "caption": catalog_words.caption(line, rng),
                    "price": price,
                    "cost_price": cost_price,
                    "market_price": market_price,
                    "stock": 0 if rng.random() < 0.05 else rng.randint(1, 800),
                    "sales": sales,
                    "comments": int(sales * rng.uniform(0.1, 0.4)),
                    "is_launched": launched,
                    "default_image": None,
                    "create_time": created,
                    "update_time": created,
                }
            )
            pick_rows.extend(
                {"sku_id": sku_id, "spec_id": options[pick][0], "option_id": options[pick][1]}
                for pick in values
            )
            made.ids.append(sku_id)
            made.names.append(name)
            made.prices.append(price)
            made.sales.append(sales)
            made.launched.append(launched)
            sku_id += 1
        spu_id += 1
    writer.insert_all(spus, iter(spu_rows))
    writer.insert_all(skus, iter(sku_rows))
    writer.insert_all(spu_specs, iter(spec_rows))
    writer.insert_all(spec_options, iter(option_rows))
    writer.insert_all(sku_spec_options, iter(pick_rows))
    writer.insert_search_terms(postings((r["id"], r["name"], r["caption"]) for r in sku_rows))
    writer.flush()
    return made


def _variants(
    line: catalog_words.ProductLine, rng: random.Random, *, max_count: int
) -> list[tuple[list[tuple[str, str]], float]]:
    """Some combinations of the line's spec values, each with its price level 0..1."""
    (first_name, first_values), *others = line.specs
    picked_first = sorted(
        rng.sample(range(len(first_values)), k=rng.randint(1, min(3, len(first_values))))
    )
    combos: list[tuple[list[tuple[str, str]], float]] = []
    for index in picked_first:
        level = index / max(1, len(first_values) - 1)
        rest = [
            (name, rng.sample(values, k=rng.randint(1, min(2, len(values)))))
            for name, values in others
        ]
        for picks in itertools.product(*[[(name, v) for v in chosen] for name, chosen in rest]):
            combos.append(([(first_name, first_values[index]), *picks], level))
    return combos[: max(1, max_count)]


# --- orders ----------------------------------------------------------------------------


def _population(
    conn: Connection, new_users: NewUsers | None, new_skus: NewSkus | None
) -> Population:
    if new_users is not None:
        user_ids, joined, mobiles = new_users.ids, new_users.joined, new_users.mobiles
    else:
        rows = conn.execute(select(users.c.id, users.c.date_joined, users.c.mobile)).all()
        user_ids = [r.id for r in rows]
        joined = [r.date_joined.timestamp() for r in rows]
        mobiles = [r.mobile for r in rows]
    if new_skus is not None:
        chosen = [i for i, launched in enumerate(new_skus.launched) if launched]
        sku_ids = [new_skus.ids[i] for i in chosen]
        names = [new_skus.names[i] for i in chosen]
        prices = [new_skus.prices[i] for i in chosen]
        sales = [new_skus.sales[i] for i in chosen]
    else:
        sku_rows = conn.execute(
            select(skus.c.id, skus.c.name, skus.c.price, skus.c.sales).where(skus.c.is_launched)
        ).all()
        sku_ids = [r.id for r in sku_rows]
        names = [r.name for r in sku_rows]
        prices = [r.price for r in sku_rows]
        sales = [r.sales for r in sku_rows]
    if not user_ids or not sku_ids:
        raise ValueError("orders need users and launched SKUs: generate some with --users/--skus")
    cum = list(itertools.accumulate(1.0 + s for s in sales))
    return Population(user_ids, joined, mobiles, sku_ids, names, prices, cum)


def _orders(
    conn: Connection,
    writer: Writer,
    rng: random.Random,
    count: int,
    now: datetime,
    population: Population,
) -> int:
    now_ts = now.timestamp()
    window_start = now_ts - HISTORY_DAYS * 86400
    first_seq = int(conn.scalar(select(func.count()).select_from(orders)) or 0)
    # Who ordered when, sorted by time so that the time-prefixed keys append.
    placed: list[tuple[float, int]] = []
    user_count = len(population.user_ids)
    for _ in range(count):
        who = rng.randrange(user_count)
        since = max(window_start, population.user_joined[who])
        placed.append((since + (now_ts - since) * rng.random(), who))
    placed.sort()
    line_count = 0
    total_weight = population.sku_cum_weights[-1]
    for batch_start in range(0, count, BATCH_ROWS):
        order_rows: list[dict[str, Any]] = []
        line_rows: list[dict[str, Any]] = []
        for offset, (placed_at, who) in enumerate(placed[batch_start : batch_start + BATCH_ROWS]):
            created = _utc(placed_at)
            order_id = f"{created:%Y%m%d%H%M%S}{first_seq + batch_start + offset:012d}"
            status = _status_for_age(rng, now_ts - placed_at)
            lines = _lines(rng, population, total_weight)
            total_count = sum(c for _, c in lines)
            total_amount = sum(population.sku_prices[i] * c for i, c in lines)
            freight = 0 if total_amount >= 9900 else 1000
            paid_at = (
                created + timedelta(seconds=rng.randint(10, 900)) if 2 <= status <= 5 else None
            )
            province, city, district = rng.choice(PLACES)
            order_rows.append(
                {
                    "order_id": order_id,
                    "user_id": population.user_ids[who],
                    "receiver": rng.choice(SURNAMES) + rng.choice(GIVEN_NAMES),
                    "province": province,
                    "city": city,
                    "district": district,
                    "place": f"{rng.choice(ROADS)}{rng.randint(1, 999)}号",
                    "mobile": population.user_mobiles[who] or "13800138000",
                    "total_count": total_count,
                    "total_amount": total_amount,
                    "freight": freight,
                    "payment_amount": total_amount + freight,
                    "pay_method": "alipay" if rng.random() < 0.8 else "balance",
                    "status": status,
                    "idempotency_key": None,
                    "request_fingerprint": None,
                    "needs_refund": False,
                    "create_time": created,
                    "update_time": paid_at or created,
                    "expires_at": created + PAYMENT_TIMEOUT,
                    "paid_at": paid_at,
                }
            )
            for index, line_count_of_sku in lines:
                commented = status == 5 and rng.random() < 0.7
                line_rows.append(
                    {
                        "order_id": order_id,
                        "sku_id": population.sku_ids[index],
                        "name": population.sku_names[index],
                        "price": population.sku_prices[index],
                        "count": line_count_of_sku,
                        "score": rng.choice((3, 4, 4, 5, 5, 5)) if commented else None,
                        "comment": rng.choice(catalog_words.REVIEWS) if commented else None,
                        "is_anonymous": commented and rng.random() < 0.2,
                        "commented_at": created + timedelta(days=rng.uniform(3, 10))
                        if commented
                        else None,
                    }
                )
        writer.insert(orders, order_rows)
        writer.insert(order_lines, line_rows)
        line_count += len(line_rows)
    writer.flush()
    return line_count


def _status_for_age(rng: random.Random, age_seconds: float) -> int:
    """Unpaid only within the payment timeout; older orders have moved on, or were cancelled."""
    if age_seconds < PAYMENT_TIMEOUT.total_seconds():
        return rng.choices((1, 2, 6), weights=(70, 25, 5))[0]
    if age_seconds < 2 * 86400:
        return rng.choices((2, 3, 4, 6), weights=(35, 35, 15, 15))[0]
    if age_seconds < 10 * 86400:
        return rng.choices((3, 4, 5, 6), weights=(10, 30, 45, 15))[0]
    return rng.choices((4, 5, 6), weights=(10, 75, 15))[0]


def _lines(
    rng: random.Random, population: Population, total_weight: float
) -> list[tuple[int, int]]:
    """1-3 distinct SKUs (index, count), popular ones more often."""
    wanted = rng.choices((1, 2, 3), weights=(60, 28, 12))[0]
    picked: dict[int, int] = {}
    for _ in range(wanted):
        index = bisect.bisect_left(population.sku_cum_weights, rng.random() * total_weight)
        index = min(index, len(population.sku_ids) - 1)
        picked[index] = rng.choices((1, 2, 3), weights=(85, 12, 3))[0]
    return list(picked.items())


def _utc(epoch_seconds: float) -> datetime:
    return datetime.fromtimestamp(epoch_seconds, UTC)
