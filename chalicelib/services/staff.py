"""Staff accounts (the console's 管理员 pages): who is staff, their groups and permissions.

A staff user is a user with is_staff; what they may do in the admin is their groups'
and their own permissions (services/permissions.py), or everything for a superuser.
Changes apply from the holder's next request: chalicelib/auth.py reads them per request.

Removing someone's staff rights (DELETE) also ends every token they hold, storefront
included: their token_version moves on, and tokens carry the version they were issued
with. Nobody removes their own rights, and the last active superuser is never removed.
Only a superuser may change or remove a superuser's account: otherwise anyone given
`change_admin` could take over the most powerful account by resetting its password.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    Connection,
    Integer,
    bindparam,
    delete,
    func,
    insert,
    literal,
    select,
    union_all,
    update,
)
from sqlalchemy.exc import IntegrityError

from chalicelib import auth
from chalicelib.db.tables import user_groups, user_permissions, users
from chalicelib.errors import Conflict, NotFound, PermissionDenied, ValidationError
from chalicelib.pagination import Listing, PageRequest, listing, page_of
from chalicelib.services import accounts, permissions, username_terms

LISTED_COLUMNS = (
    users.c.id,
    users.c.username,
    users.c.email,
    users.c.mobile,
    users.c.is_superuser,
)


@dataclass(frozen=True)
class StaffFields:
    username: str
    email: str
    mobile: str | None
    groups: list[int]
    user_permissions: list[int]
    password: str | None  # None on a change: the password stays as it is


@dataclass(frozen=True)
class StaffUser:
    id: int
    username: str
    email: str
    mobile: str | None
    is_superuser: bool
    groups: list[int]
    user_permissions: list[int]


@dataclass(frozen=True)
class Actor:
    """Who is asking (the signed-in staff user)."""

    id: int
    is_superuser: bool


def page_staff(conn: Connection, page: PageRequest) -> tuple[list[Any], int]:
    """One page of staff users by id, and how many there are."""
    return page_of(conn, _staff_listing(), page)


@functools.cache
def _staff_listing() -> Listing:
    return listing(
        select(*LISTED_COLUMNS).where(users.c.is_staff).order_by(users.c.id),
        counted=select(func.count()).where(users.c.is_staff),
    )


def get_staff(conn: Connection, user_id: int) -> StaffUser:
    row = _staff_row(conn, user_id)
    group_ids: list[int] = []
    permission_ids: list[int] = []
    for kind, linked_id in conn.execute(_links_of_user(), {"user_id": user_id}):
        (group_ids if kind == "group" else permission_ids).append(linked_id)
    return StaffUser(
        row.id,
        row.username,
        row.email,
        row.mobile,
        bool(row.is_superuser),
        group_ids,
        permission_ids,
    )


def create_staff(conn: Connection, fields: StaffFields) -> StaffUser:
    """A new staff user (not a superuser) with these groups and permissions."""
    if fields.password is None:
        raise ValidationError("This field is required.", field="password")
    _check_links(conn, fields)
    row = accounts.register(
        conn,
        username=fields.username,
        password=fields.password,
        email=fields.email,
        mobile=fields.mobile,
        is_staff=True,
    )
    _set_links(conn, row.id, fields)
    return get_staff(conn, row.id)


def update_staff(conn: Connection, user_id: int, fields: StaffFields, *, by: Actor) -> StaffUser:
    """Replace a staff user's details, groups and permissions; a new password ends the
    tokens they hold (as a password change does). Without a password it stays."""
    target = _staff_row(conn, user_id)
    if target.is_superuser and not by.is_superuser:
        raise _superuser_only()
    _check_links(conn, fields)
    errors: dict[str, list[str]] = {}
    taken = select(users.c.id).where(users.c.id != user_id)
    if conn.scalar(taken.where(users.c.username == fields.username)) is not None:
        errors["username"] = ["A user with that username already exists."]
    if fields.mobile and conn.scalar(taken.where(users.c.mobile == fields.mobile)) is not None:
        errors["mobile"] = ["A user with that mobile number already exists."]
    if errors:
        raise ValidationError(errors)
    changes: dict[str, Any] = {
        "username": fields.username,
        "email": fields.email,
        "mobile": fields.mobile or None,
    }
    if fields.email != target.email:
        # As PUT /user/email/: unverified, and links sent to the old address stop working.
        changes["email_active"] = False
        changes["email_token_version"] = users.c.email_token_version + 1
    if fields.password is not None:
        changes["password"] = auth.hash_password(fields.password)
        changes["token_version"] = users.c.token_version + 1
    try:
        with conn.begin_nested():
            conn.execute(update(users).where(users.c.id == user_id).values(**changes))
            username_terms.reindex_user(conn, user_id, old=target.username, new=fields.username)
    except IntegrityError:
        raise ValidationError(
            {"username": ["A user with that username or mobile number already exists."]}
        ) from None
    conn.execute(delete(user_groups).where(user_groups.c.user_id == user_id))
    conn.execute(delete(user_permissions).where(user_permissions.c.user_id == user_id))
    _set_links(conn, user_id, fields)
    return get_staff(conn, user_id)


def remove_staff(conn: Connection, user_id: int, *, by: Actor) -> None:
    """Take a user's staff rights away: not staff, not superuser, no groups or permissions,
    and every token they hold stops working. The account stays (orders, a storefront
    login with a new token). Locked: of removals at once, the first removes and the
    others find no staff user (404)."""
    target = _staff_row(conn, user_id, lock=True)
    if target.id == by.id:
        raise Conflict("You cannot remove your own staff rights.", code="cannot_remove_self")
    if target.is_superuser:
        # Locked (MariaDB) so that two superusers removing each other at once cannot
        # both succeed: the second sees the first's removal and is refused.
        remaining = conn.scalars(
            select(users.c.id)
            .where(users.c.is_staff, users.c.is_superuser, users.c.is_active)
            .order_by(users.c.id)
            .with_for_update()
        ).all()
        if not [other for other in remaining if other != target.id]:
            raise Conflict(
                "This is the last superuser; make another superuser before removing it.",
                code="last_superuser",
            )
        if not by.is_superuser:
            raise _superuser_only()
    conn.execute(delete(user_groups).where(user_groups.c.user_id == user_id))
    conn.execute(delete(user_permissions).where(user_permissions.c.user_id == user_id))
    conn.execute(
        update(users)
        .where(users.c.id == user_id)
        .values(is_staff=False, is_superuser=False, token_version=users.c.token_version + 1)
    )


@functools.cache
def _links_of_user() -> Any:
    """A user's groups and own permissions, in one statement: ("group", id) and
    ("permission", id) rows, each kind by id."""
    user_id = bindparam("user_id", type_=Integer)
    links = union_all(
        select(literal("group").label("kind"), user_groups.c.group_id.label("linked_id")).where(
            user_groups.c.user_id == user_id
        ),
        select(
            literal("permission").label("kind"),
            user_permissions.c.permission_id.label("linked_id"),
        ).where(user_permissions.c.user_id == user_id),
    ).subquery()
    return select(links.c.kind, links.c.linked_id).order_by(links.c.kind, links.c.linked_id)


def _staff_row(conn: Connection, user_id: int, *, lock: bool = False) -> Any:
    query = select(*LISTED_COLUMNS).where(users.c.id == user_id, users.c.is_staff)
    row = conn.execute(query.with_for_update() if lock else query).first()
    if row is None:
        raise NotFound("No such staff user.")
    return row


def _superuser_only() -> PermissionDenied:
    return PermissionDenied(
        "Only a superuser may change or remove a superuser's account.", code="superuser_only"
    )


def _check_links(conn: Connection, fields: StaffFields) -> None:
    errors: dict[str, list[str]] = {}
    for check, ids, field in (
        (permissions.check_group_ids, fields.groups, "groups"),
        (permissions.check_permission_ids, fields.user_permissions, "user_permissions"),
    ):
        try:
            check(conn, ids, field)
        except ValidationError as exc:
            errors.update(exc.errors)
    if errors:
        raise ValidationError(errors)


def _set_links(conn: Connection, user_id: int, fields: StaffFields) -> None:
    if fields.groups:
        conn.execute(
            insert(user_groups), [{"user_id": user_id, "group_id": g} for g in fields.groups]
        )
    if fields.user_permissions:
        conn.execute(
            insert(user_permissions),
            [{"user_id": user_id, "permission_id": p} for p in fields.user_permissions],
        )
