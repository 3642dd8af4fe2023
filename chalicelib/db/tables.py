"""Every table of the shop, as SQLAlchemy Core, on one MetaData.

Conventions:
- money is integer fen in BIGINT columns (`Money`), never floats;
- times are UTC (`UtcDateTime` stores naive UTC, returns aware UTC), with
  microseconds on MySQL so that ordering by time is stable;
- integer primary keys are BIGINT on MySQL and INTEGER on SQLite (SQLite only
  autoincrements an INTEGER PRIMARY KEY), made by `_pk()`; an id is never handed out
  twice: every table with a `_pk()` id is AUTOINCREMENT on SQLite (without it SQLite
  reuses the highest rowid once that row is deleted; MySQL/MariaDB never reuse);
- constraint names follow one convention so Alembic migrations are deterministic.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    SmallInteger,
    String,
    Table,
    Text,
    UniqueConstraint,
    event,
)
from sqlalchemy.types import TypeDecorator


class UtcDateTime(TypeDecorator[datetime]):
    impl = DateTime
    cache_ok = True

    def load_dialect_impl(self, dialect: Any) -> Any:
        if dialect.name in ("mysql", "mariadb"):
            from sqlalchemy.dialects import mysql  # ~20 ms of import, only where it is needed

            return dialect.type_descriptor(mysql.DATETIME(fsp=6))
        return dialect.type_descriptor(DateTime())

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


Id = BigInteger().with_variant(Integer(), "sqlite")


class LongText(TypeDecorator[str]):
    """Text of up to 16 MB on MySQL (MEDIUMTEXT; TEXT stops at 64 KB, less than the
    100,000 characters a rich-text description may have)."""

    impl = Text
    cache_ok = True

    def load_dialect_impl(self, dialect: Any) -> Any:
        if dialect.name in ("mysql", "mariadb"):
            from sqlalchemy.dialects import mysql

            return dialect.type_descriptor(mysql.MEDIUMTEXT())
        return dialect.type_descriptor(Text())


Money = BigInteger  # fen

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


def _pk() -> Column[Any]:
    """The integer id column; the table it joins gets `sqlite_autoincrement=True` (ids
    never reused on SQLite) when SQLite creates it, so every table built with `_pk()` has
    it without asking. Set then rather than here: setting a dialect's option loads that
    dialect, and on MySQL SQLite's is not needed (~4 ms of a cold start's import)."""
    column: Column[Any] = Column("id", Id, primary_key=True, autoincrement=True)
    event.listen(column, "after_parent_attach", _never_reuse_ids)
    return column


def _never_reuse_ids(column: Column[Any], table: Table) -> None:
    event.listen(table, "before_create", _autoincrement_on_sqlite)


def _autoincrement_on_sqlite(table: Table, connection: Any, **_: Any) -> None:
    if connection.dialect.name == "sqlite":
        table.dialect_kwargs["sqlite_autoincrement"] = True


# --- accounts -------------------------------------------------------------------

users = Table(
    "users",
    metadata,
    _pk(),
    Column("username", String(20), nullable=False, unique=True),
    Column("password", String(255), nullable=False),  # Django hasher format
    Column("email", String(254), nullable=False, server_default=""),
    Column("email_active", Boolean, nullable=False, server_default="0"),
    Column("mobile", String(11), nullable=True, unique=True),
    Column("avatar", String(255), nullable=True),  # storage file id
    Column("balance", Money, nullable=False, server_default="0"),
    Column("is_active", Boolean, nullable=False, server_default="1"),
    Column("is_staff", Boolean, nullable=False, server_default="0"),
    Column("is_superuser", Boolean, nullable=False, server_default="0"),
    # Bumped when the password changes: tokens carry it and older ones stop working.
    Column("token_version", Integer, nullable=False, server_default="0"),
    # Bumped when the address changes and when a verification link is used: a link carries
    # it, so an older link (another address, or one already used) no longer verifies.
    Column("email_token_version", Integer, nullable=False, server_default="0"),
    Column("default_address_id", Id, nullable=True),
    Column("date_joined", UtcDateTime, nullable=False),
    Column("last_login", UtcDateTime, nullable=True),
    CheckConstraint("balance >= 0 AND balance <= 99999999999", name="balance_range"),
    Index(None, "date_joined"),
    Index(None, "last_login"),
    # The console's staff list and count: a range of this index, not a scan of every
    # user (a handful of staff among a million buyers; migration 0015).
    Index(None, "is_staff", "id"),
)

# Admin user search (services/username_terms.py): every suffix of every username, so
# that `username LIKE '%kw%'` is a prefix range here, `term LIKE 'kw%'`.
username_terms = Table(
    "username_terms",
    metadata,
    Column("term", String(20), primary_key=True),
    Column("user_id", Id, primary_key=True, autoincrement=False),
)

addresses = Table(
    "addresses",
    metadata,
    _pk(),
    Column("user_id", Id, ForeignKey("users.id"), nullable=False, index=True),
    Column("title", String(20), nullable=False, server_default=""),
    Column("receiver", String(20), nullable=False),
    Column("province", String(20), nullable=False),
    Column("city", String(20), nullable=False),
    Column("district", String(20), nullable=False),
    Column("place", String(50), nullable=False),
    Column("mobile", String(11), nullable=False),
    Column("create_time", UtcDateTime, nullable=False),
    Column("update_time", UtcDateTime, nullable=False),
)

# --- catalogue ------------------------------------------------------------------

categories = Table(
    "categories",
    metadata,
    _pk(),
    Column("name", String(20), nullable=False),
    Column("parent_id", Id, ForeignKey("categories.id"), nullable=True, index=True),
    Column("sort_order", Integer, nullable=False, server_default="0"),
)

# A brand's logo is a storage file id. Brands, SPUs, specifications, options and SKUs are
# deleted softly (is_deleted): order lines and history keep pointing at them, and the
# console hides them; deleting one that a live row still uses is refused (409 in_use).
brands = Table(
    "brands",
    metadata,
    _pk(),
    Column("name", String(20), nullable=False),
    Column("logo", String(255), nullable=True),  # storage file id
    Column("first_letter", String(1), nullable=False),
    Column("is_deleted", Boolean, nullable=False, server_default="0"),
    Column("create_time", UtcDateTime, nullable=False),
)

# An SPU sits on a path down the three-level category tree; its SKUs are filed under
# category3. The descriptions are staff-written HTML, sanitized when written.
spus = Table(
    "spus",
    metadata,
    _pk(),
    Column("name", String(50), nullable=False),
    Column("brand_id", Id, ForeignKey("brands.id"), nullable=True, index=True),
    Column("category1_id", Id, ForeignKey("categories.id"), nullable=False),
    Column("category2_id", Id, ForeignKey("categories.id"), nullable=False),
    Column("category3_id", Id, ForeignKey("categories.id"), nullable=False, index=True),
    Column("desc_detail", LongText, nullable=False),
    Column("desc_pack", LongText, nullable=False),
    Column("desc_service", LongText, nullable=False),
    Column("is_deleted", Boolean, nullable=False, server_default="0"),
    Column("create_time", UtcDateTime, nullable=False),
)

# Specifications belong to an SPU (颜色, 容量); each has options (白色, 500L). A SKU picks
# one option of each of its SPU's specifications (sku_spec_options).
spu_specs = Table(
    "spu_specs",
    metadata,
    _pk(),
    Column("spu_id", Id, ForeignKey("spus.id"), nullable=False, index=True),
    Column("name", String(20), nullable=False),
    Column("is_deleted", Boolean, nullable=False, server_default="0"),
)

spec_options = Table(
    "spec_options",
    metadata,
    _pk(),
    Column("spec_id", Id, ForeignKey("spu_specs.id"), nullable=False, index=True),
    Column("value", String(50), nullable=False),
    Column("is_deleted", Boolean, nullable=False, server_default="0"),
)

skus = Table(
    "skus",
    metadata,
    _pk(),
    Column("spu_id", Id, ForeignKey("spus.id"), nullable=False, index=True),
    Column("category_id", Id, ForeignKey("categories.id"), nullable=False),
    Column("name", String(100), nullable=False),
    Column("caption", String(200), nullable=False, server_default=""),
    Column("price", Money, nullable=False),
    Column("cost_price", Money, nullable=False, server_default="0"),
    Column("market_price", Money, nullable=False, server_default="0"),
    Column("stock", Integer, nullable=False, server_default="0"),
    Column("sales", Integer, nullable=False, server_default="0"),
    Column("comments", Integer, nullable=False, server_default="0"),
    Column("is_launched", Boolean, nullable=False, server_default="1"),
    # Deleted by staff: off sale and out of the console; orders keep their lines.
    Column("is_deleted", Boolean, nullable=False, server_default="0"),
    Column("default_image", String(255), nullable=True),  # storage file id
    Column("create_time", UtcDateTime, nullable=False),
    Column("update_time", UtcDateTime, nullable=False),
    CheckConstraint("stock >= 0", name="stock_not_negative"),
    CheckConstraint("price >= 0", name="price_not_negative"),
    Index(None, "category_id", "is_launched"),
    # The storefront orderings (InnoDB appends the id, so ORDER BY price, id walks one):
    # the unfiltered list finds a page's ids in the index alone, launch state and
    # deletion included (catalog.ON_SALE), instead of sorting every SKU. is_launched
    # second: as a first column MariaDB chose to range-scan such indexes for search and
    # category lists. Category lists must not walk them either (services/catalog.py,
    # CATEGORY_LIST_HINT).
    Index("ix_skus_price_is_launched", "price", "is_launched", "is_deleted"),
    Index("ix_skus_sales_is_launched", "sales", "is_launched", "is_deleted"),
    Index("ix_skus_create_time_is_launched", "create_time", "is_launched", "is_deleted"),
    Index("ix_skus_comments_is_launched", "comments", "is_launched", "is_deleted"),
)

# Search index (services/search_terms.py): each 2-character window of a SKU's name and
# caption. No foreign key: InnoDB would add an index on sku_id alone, doubling the
# table, and terms are only read through the skus row they point to.
sku_search_terms = Table(
    "sku_search_terms",
    metadata,
    Column("term", String(2), primary_key=True),
    Column("sku_id", Id, primary_key=True, autoincrement=False),
)

sku_spec_options = Table(
    "sku_spec_options",
    metadata,
    _pk(),
    Column("sku_id", Id, ForeignKey("skus.id"), nullable=False),
    Column("spec_id", Id, ForeignKey("spu_specs.id"), nullable=False),
    Column("option_id", Id, ForeignKey("spec_options.id"), nullable=False, index=True),
    UniqueConstraint("sku_id", "spec_id"),
)

sku_images = Table(
    "sku_images",
    metadata,
    _pk(),
    Column("sku_id", Id, ForeignKey("skus.id"), nullable=False, index=True),
    Column("image", String(255), nullable=False),  # storage file id
    Column("is_hidden", Boolean, nullable=False, server_default="0"),
    Column("create_time", UtcDateTime, nullable=False),
)

banners = Table(
    "banners",
    metadata,
    _pk(),
    Column("title", String(50), nullable=False),
    Column("image", String(255), nullable=False),  # storage file id
    Column("sku_id", Id, ForeignKey("skus.id"), nullable=True),
    Column("sort_order", Integer, nullable=False, server_default="0"),
    Column("is_visible", Boolean, nullable=False, server_default="1"),
)

# The storefront's channel menu: groups in order, each a row of first-level categories.
channel_groups = Table(
    "channel_groups",
    metadata,
    _pk(),
    Column("name", String(20), nullable=False),
)

channels = Table(
    "channels",
    metadata,
    _pk(),
    Column("group_id", Id, ForeignKey("channel_groups.id"), nullable=False, index=True),
    Column("category_id", Id, ForeignKey("categories.id"), nullable=False),
    Column("url", String(255), nullable=False),
    Column("sequence", Integer, nullable=False, server_default="0"),
)

# Stored files no row points to any more, deleted from storage after the commit that
# released them (or after the rollback of the unit that stored them); an entry goes only
# once the storage server confirmed the deletion or that the file is gone. One that
# could not be deleted stays here, with its attempts and last error, for the retry job
# (`manage.py file-deletions` shows them).
pending_file_deletions = Table(
    "pending_file_deletions",
    metadata,
    _pk(),
    Column("file_id", String(255), nullable=False),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("create_time", UtcDateTime, nullable=False),
    Column("last_error", String(255), nullable=True),
    Column("last_attempt_time", UtcDateTime, nullable=True),
)

# --- orders, payments, wallet -------------------------------------------------------

orders = Table(
    "orders",
    metadata,
    # Digits only, sortable by time, at most 32 characters: valid as Alipay's out_trade_no.
    Column("order_id", String(32), primary_key=True),
    Column("user_id", Id, ForeignKey("users.id"), nullable=False),
    # Address snapshot: later edits or deletion of the address leave the order as it was.
    Column("receiver", String(20), nullable=False),
    Column("province", String(20), nullable=False),
    Column("city", String(20), nullable=False),
    Column("district", String(20), nullable=False),
    Column("place", String(50), nullable=False),
    Column("mobile", String(11), nullable=False),
    Column("total_count", Integer, nullable=False),
    Column("total_amount", Money, nullable=False),
    Column("freight", Money, nullable=False),
    Column("payment_amount", Money, nullable=False),
    Column("pay_method", String(16), nullable=False),  # alipay | balance
    Column("status", SmallInteger, nullable=False),  # 1..6, see services.order_states
    Column("idempotency_key", String(64), nullable=True),
    Column("request_fingerprint", String(64), nullable=True),
    Column("needs_refund", Boolean, nullable=False, server_default="0"),
    Column("create_time", UtcDateTime, nullable=False),
    Column("update_time", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
    Column("paid_at", UtcDateTime, nullable=True),
    UniqueConstraint("user_id", "idempotency_key"),
    Index(None, "user_id", "create_time"),
    Index(None, "status", "create_time"),
    # Order lists newest first without a user or status: a walk of this index, not a
    # sort of every order (migration 0014).
    Index(None, "create_time", "order_id"),
    # Dashboard statistics: distinct order users per day and paid orders/GMV per day are
    # index-only range scans on these (services.statistics).
    Index(None, "create_time", "user_id"),
    Index(None, "paid_at", "payment_amount"),
)

order_lines = Table(
    "order_lines",
    metadata,
    _pk(),
    Column("order_id", String(32), ForeignKey("orders.order_id"), nullable=False, index=True),
    Column("sku_id", Id, ForeignKey("skus.id"), nullable=False),
    Column("name", String(100), nullable=False),  # snapshot
    Column("price", Money, nullable=False),  # snapshot, fen
    Column("count", Integer, nullable=False),
    Column("score", SmallInteger, nullable=True),
    Column("comment", Text, nullable=True),
    Column("is_anonymous", Boolean, nullable=False, server_default="0"),
    Column("commented_at", UtcDateTime, nullable=True),
    CheckConstraint("count > 0", name="count_positive"),
    Index(None, "sku_id", "commented_at"),
)

order_status_history = Table(
    "order_status_history",
    metadata,
    _pk(),
    Column("order_id", String(32), ForeignKey("orders.order_id"), nullable=False, index=True),
    Column("from_status", SmallInteger, nullable=True),
    Column("to_status", SmallInteger, nullable=False),
    Column("actor", String(64), nullable=False),  # user:<id> | staff:<id> | system | alipay
    Column("reason", String(200), nullable=False, server_default=""),
    Column("create_time", UtcDateTime, nullable=False),
)

payments = Table(
    "payments",
    metadata,
    _pk(),
    Column("order_id", String(32), ForeignKey("orders.order_id"), nullable=False, index=True),
    Column("provider", String(16), nullable=False),  # alipay
    Column("trade_no", String(64), nullable=False, unique=True),
    Column("amount", Money, nullable=False),
    # paid: settled the order; refund_needed: money arrived for an order we could not fill
    Column("status", String(16), nullable=False),
    Column("notify_id", String(128), nullable=True),
    Column("raw", Text, nullable=False, server_default=""),
    Column("create_time", UtcDateTime, nullable=False),
    Index(None, "status"),
)

refunds = Table(
    "refunds",
    metadata,
    _pk(),
    # Ours, and Alipay's out_request_no: a refund asked for again with the same number is
    # never paid twice (Alipay answers fund_change N), so a retry is always safe.
    Column("refund_no", String(64), nullable=False, unique=True),
    Column("order_id", String(32), ForeignKey("orders.order_id"), nullable=False, index=True),
    # The Alipay payment refunded (NULL for a wallet refund).
    Column("payment_id", Id, ForeignKey("payments.id"), nullable=True, index=True),
    Column("provider", String(16), nullable=False),  # alipay | balance
    Column("amount", Money, nullable=False),
    # pending: asked, answer not (yet) known; succeeded: the money is back; failed: refused
    Column("status", String(16), nullable=False),
    Column("reason", String(200), nullable=False, server_default=""),
    Column("actor", String(64), nullable=False),  # user:<id> | staff:<id> | system
    Column("failure", String(200), nullable=True),  # why Alipay refused
    Column("idempotency_key", String(64), nullable=True),
    Column("request_fingerprint", String(64), nullable=True),
    Column("create_time", UtcDateTime, nullable=False),
    Column("update_time", UtcDateTime, nullable=False),
    UniqueConstraint("actor", "idempotency_key"),
    CheckConstraint("amount > 0", name="amount_positive"),
    Index(None, "status", "update_time"),
)

balance_records = Table(
    "balance_records",
    metadata,
    _pk(),
    Column("user_id", Id, ForeignKey("users.id"), nullable=False),
    Column("amount", Money, nullable=False),  # signed: + recharge/refund, - payment
    Column("kind", String(16), nullable=False),  # recharge | payment | refund
    Column("order_id", String(32), nullable=True),
    Column("balance_after", Money, nullable=False),
    Column("create_time", UtcDateTime, nullable=False),
    Index(None, "user_id", "id"),
)

# --- statistics ------------------------------------------------------------------

daily_stats = Table(
    "daily_stats",
    metadata,
    Column("day", Date, primary_key=True),  # a SHOP_TIMEZONE day
    Column("new_users", Integer, nullable=False, server_default="0"),
    Column("active_users", Integer, nullable=False, server_default="0"),
    Column("order_users", Integer, nullable=False, server_default="0"),
    Column("orders", Integer, nullable=False, server_default="0"),
    Column("paid_orders", Integer, nullable=False, server_default="0"),
    Column("gmv", Money, nullable=False, server_default="0"),
    # Users who had joined by the end of the day (NULL: rolled up before it was kept).
    Column("users_total", BigInteger, nullable=True),
    Column("updated_at", UtcDateTime, nullable=False),
)

daily_category_views = Table(
    "daily_category_views",
    metadata,
    Column("day", Date, primary_key=True),
    Column("category_id", Id, ForeignKey("categories.id"), primary_key=True),
    Column("count", Integer, nullable=False, server_default="0"),
)

# --- staff permissions -------------------------------------------------------------
#
# Django's model of who may do what in the admin (chalicelib/auth.py enforces it): every
# admin resource has a content type and four permissions, view_/add_/change_/delete_
# <model>, created by migration 0009 (services/permissions.py lists them); staff hold
# permissions directly or through groups; superusers hold every permission.

content_types = Table(
    "content_types",
    metadata,
    _pk(),
    Column("model", String(100), nullable=False, unique=True),  # "sku": the codenames' suffix
    Column("name", String(100), nullable=False),  # what the console shows: "商品SKU"
)

permissions = Table(
    "permissions",
    metadata,
    _pk(),
    Column("name", String(255), nullable=False),
    Column("codename", String(100), nullable=False, unique=True),  # "view_sku"
    Column("content_type_id", Id, ForeignKey("content_types.id"), nullable=False, index=True),
)

groups = Table(
    "groups",
    metadata,
    _pk(),
    Column("name", String(150), nullable=False, unique=True),
)

group_permissions = Table(
    "group_permissions",
    metadata,
    Column("group_id", Id, ForeignKey("groups.id"), primary_key=True, autoincrement=False),
    Column(
        "permission_id", Id, ForeignKey("permissions.id"), primary_key=True, autoincrement=False
    ),
    Index(None, "permission_id"),
)

user_groups = Table(
    "user_groups",
    metadata,
    Column("user_id", Id, ForeignKey("users.id"), primary_key=True, autoincrement=False),
    Column("group_id", Id, ForeignKey("groups.id"), primary_key=True, autoincrement=False),
    Index(None, "group_id"),
)

user_permissions = Table(
    "user_permissions",
    metadata,
    Column("user_id", Id, ForeignKey("users.id"), primary_key=True, autoincrement=False),
    Column(
        "permission_id", Id, ForeignKey("permissions.id"), primary_key=True, autoincrement=False
    ),
    Index(None, "permission_id"),
)
