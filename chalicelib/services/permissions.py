"""Staff permissions as Django has them: content types, permissions and groups.

Every admin resource has a content type and four permissions, `view_/add_/change_/
delete_<model>` (migration 0009 created them; BUILTIN_CONTENT_TYPES lists them). A staff
user may do what a permission allows when they hold it directly (user_permissions) or
through a group (user_groups -> group_permissions); superusers hold every permission
without rows (chalicelib/auth.py decides that before asking `holds`).

The built-in permissions are what the admin routes check, so they stay: deleting one,
or changing its codename or content type, is a 409 `builtin_permission` (its name may
change). Custom permissions (POST permission/perms/) are free to come and go.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Select, delete, exists, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from chalicelib.db.engine import insert_id
from chalicelib.db.tables import (
    content_types,
    group_permissions,
    groups,
    permissions,
    user_groups,
    user_permissions,
)
from chalicelib.errors import Conflict, NotFound, ValidationError
from chalicelib.pagination import Listing, PageRequest, listing, page_of

# model -> the name the console shows; the four actions of each, with their verbs.
BUILTIN_CONTENT_TYPES: tuple[tuple[str, str], ...] = (
    ("user", "用户"),
    ("sku", "商品SKU"),
    ("spu", "商品SPU"),
    ("spec", "规格"),
    ("option", "规格选项"),
    ("brand", "品牌"),
    ("channel", "频道"),
    ("image", "商品图片"),
    ("order", "订单"),
    ("permission", "权限"),
    ("group", "用户组"),
    ("admin", "管理员"),
    ("statistics", "数据统计"),
)
ACTIONS: tuple[tuple[str, str], ...] = (
    ("view", "查看"),
    ("add", "添加"),
    ("change", "修改"),
    ("delete", "删除"),
)
# The action a route's HTTP method needs (Django's DjangoModelPermissions, with view).
METHOD_ACTIONS = {"GET": "view", "POST": "add", "PUT": "change", "DELETE": "delete"}


def codename(action: str, model: str) -> str:
    return f"{action}_{model}"


# Permissions beyond the four of a content type: (codename, name, model). Refunding moves
# money, so it is not part of changing an order (migration 0011 created it).
SPECIAL_PERMISSIONS: tuple[tuple[str, str, str], ...] = (("refund_order", "退款订单", "order"),)


def builtin_permissions() -> list[dict[str, str]]:
    """Every built-in permission: {codename, name, model}, content types in order."""
    return [
        {"codename": codename(action, model), "name": f"{verb}{name}", "model": model}
        for model, name in BUILTIN_CONTENT_TYPES
        for action, verb in ACTIONS
    ] + [
        {"codename": code, "name": name, "model": model}
        for code, name, model in SPECIAL_PERMISSIONS
    ]


BUILTIN_CODENAMES = frozenset(p["codename"] for p in builtin_permissions())


# --- the check -----------------------------------------------------------------------


def holds(conn: Connection, user_id: int, permission_codename: str) -> bool:
    """Whether the user holds the permission, directly or through a group: one query.

    Superusers are not asked (they hold everything); being staff is checked by the caller.
    """
    direct = exists().where(
        user_permissions.c.user_id == user_id,
        user_permissions.c.permission_id == permissions.c.id,
    )
    through_group = exists().where(
        user_groups.c.user_id == user_id,
        group_permissions.c.group_id == user_groups.c.group_id,
        group_permissions.c.permission_id == permissions.c.id,
    )
    found = conn.scalar(
        select(permissions.c.id)
        .where(permissions.c.codename == permission_codename, or_(direct, through_group))
        .limit(1)
    )
    return found is not None


# --- content types ---------------------------------------------------------------------


def all_content_types(conn: Connection) -> list[Any]:
    """Every content type (id, model, name), by id."""
    return list(
        conn.execute(
            select(content_types.c.id, content_types.c.model, content_types.c.name).order_by(
                content_types.c.id
            )
        ).all()
    )


# --- permissions -----------------------------------------------------------------------


@dataclass(frozen=True)
class PermissionFields:
    name: str
    codename: str
    content_type_id: int


PERMISSION_COLUMNS = (
    permissions.c.id,
    permissions.c.name,
    permissions.c.codename,
    permissions.c.content_type_id,
)


def page_permissions(
    conn: Connection, page: PageRequest, *, descending: bool = False
) -> tuple[list[Any], int]:
    """One page of permissions by id (newest first when descending), and how many in all."""
    return page_of(conn, _permissions_listing(descending), page)


@functools.cache
def _permissions_listing(descending: bool) -> Listing:
    order = permissions.c.id.desc() if descending else permissions.c.id
    return listing(
        select(*PERMISSION_COLUMNS).order_by(order),
        counted=select(func.count()).select_from(permissions),
    )


def permission_names(conn: Connection) -> list[Any]:
    """Every permission's id and name, by id (the console's transfer lists)."""
    return list(conn.execute(_permission_names()))


@functools.cache
def _permission_names() -> Select[Any]:
    return select(permissions.c.id, permissions.c.name).order_by(permissions.c.id)


def get_permission(conn: Connection, permission_id: int, *, lock: bool = False) -> Any:
    query = select(*PERMISSION_COLUMNS).where(permissions.c.id == permission_id)
    row = conn.execute(query.with_for_update() if lock else query).first()
    if row is None:
        raise NotFound("No such permission.")
    return row


def create_permission(conn: Connection, fields: PermissionFields) -> Any:
    _check_permission_fields(conn, fields, exclude_id=None)
    try:
        with conn.begin_nested():
            permission_id = insert_id(
                conn.execute(
                    insert(permissions).values(
                        name=fields.name,
                        codename=fields.codename,
                        content_type_id=fields.content_type_id,
                    )
                )
            )
    except IntegrityError:
        raise _codename_taken() from None
    return get_permission(conn, permission_id)


def update_permission(conn: Connection, permission_id: int, fields: PermissionFields) -> Any:
    current = get_permission(conn, permission_id)
    if current.codename in BUILTIN_CODENAMES and (
        fields.codename != current.codename or fields.content_type_id != current.content_type_id
    ):
        raise Conflict(
            f"{current.codename} is a built-in permission the admin routes check: "
            "only its name may change.",
            code="builtin_permission",
        )
    _check_permission_fields(conn, fields, exclude_id=permission_id)
    try:
        with conn.begin_nested():
            conn.execute(
                update(permissions)
                .where(permissions.c.id == permission_id)
                .values(
                    name=fields.name,
                    codename=fields.codename,
                    content_type_id=fields.content_type_id,
                )
            )
    except IntegrityError:
        raise _codename_taken() from None
    return get_permission(conn, permission_id)


def delete_permission(conn: Connection, permission_id: int) -> None:
    """Delete a custom permission; the groups and users holding it lose it. Locked: of
    deletes at once, the first deletes and the others find nothing (404)."""
    current = get_permission(conn, permission_id, lock=True)
    if current.codename in BUILTIN_CODENAMES:
        raise Conflict(
            f"{current.codename} is a built-in permission the admin routes check; "
            "it cannot be deleted.",
            code="builtin_permission",
        )
    conn.execute(
        delete(group_permissions).where(group_permissions.c.permission_id == permission_id)
    )
    conn.execute(delete(user_permissions).where(user_permissions.c.permission_id == permission_id))
    conn.execute(delete(permissions).where(permissions.c.id == permission_id))


def _check_permission_fields(
    conn: Connection, fields: PermissionFields, *, exclude_id: int | None
) -> None:
    errors: dict[str, list[str]] = {}
    if (
        conn.scalar(select(content_types.c.id).where(content_types.c.id == fields.content_type_id))
        is None
    ):
        errors["content_type"] = [_no_such(fields.content_type_id)]
    taken = select(permissions.c.id).where(permissions.c.codename == fields.codename)
    if exclude_id is not None:
        taken = taken.where(permissions.c.id != exclude_id)
    if conn.scalar(taken) is not None:
        errors["codename"] = _codename_taken().errors["codename"]
    if errors:
        raise ValidationError(errors)


def _codename_taken() -> ValidationError:
    return ValidationError("A permission with this codename already exists.", field="codename")


def _no_such(value: int) -> str:
    # DRF's PrimaryKeyRelatedField message, which the console shows as it comes.
    return f'Invalid pk "{value}" - object does not exist.'


def check_permission_ids(conn: Connection, ids: list[int], field: str) -> None:
    """400 naming `field` unless every id is a permission."""
    _check_ids(conn, permissions.c.id, ids, field)


def check_group_ids(conn: Connection, ids: list[int], field: str) -> None:
    _check_ids(conn, groups.c.id, ids, field)


def _check_ids(conn: Connection, column: Any, ids: list[int], field: str) -> None:
    if not ids:
        return
    found = set(conn.scalars(select(column).where(column.in_(ids))))
    missing = [value for value in ids if value not in found]
    if missing:
        raise ValidationError({field: [_no_such(value) for value in missing[:10]]})


# --- groups ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Group:
    id: int
    name: str
    permissions: list[int]


def page_groups(conn: Connection, page: PageRequest) -> tuple[list[Group], int]:
    """One page of groups by id, each with its permission ids (three queries, not one a
    group)."""
    rows, count = page_of(conn, _groups_listing(), page)
    held = _group_permissions(conn, [row.id for row in rows])
    return [Group(row.id, row.name, held.get(row.id, [])) for row in rows], count


@functools.cache
def _groups_listing() -> Listing:
    return listing(
        select(groups.c.id, groups.c.name).order_by(groups.c.id),
        counted=select(func.count()).select_from(groups),
    )


def group_names(conn: Connection) -> list[Any]:
    return list(conn.execute(_group_names()))


@functools.cache
def _group_names() -> Select[Any]:
    return select(groups.c.id, groups.c.name).order_by(groups.c.id)


def get_group(conn: Connection, group_id: int) -> Group:
    row = conn.execute(select(groups.c.id, groups.c.name).where(groups.c.id == group_id)).first()
    if row is None:
        raise NotFound("No such group.")
    return Group(row.id, row.name, _group_permissions(conn, [row.id]).get(row.id, []))


def create_group(conn: Connection, name: str, permission_ids: list[int]) -> Group:
    _check_group_name(conn, name, exclude_id=None)
    check_permission_ids(conn, permission_ids, "permissions")
    try:
        with conn.begin_nested():
            group_id = insert_id(conn.execute(insert(groups).values(name=name)))
    except IntegrityError:
        raise _group_name_taken() from None
    _set_group_permissions(conn, group_id, permission_ids)
    return get_group(conn, group_id)


def update_group(conn: Connection, group_id: int, name: str, permission_ids: list[int]) -> Group:
    """Rename a group and replace its permissions; its members' next requests see the change."""
    get_group(conn, group_id)
    _check_group_name(conn, name, exclude_id=group_id)
    check_permission_ids(conn, permission_ids, "permissions")
    try:
        with conn.begin_nested():
            conn.execute(update(groups).where(groups.c.id == group_id).values(name=name))
    except IntegrityError:
        raise _group_name_taken() from None
    conn.execute(delete(group_permissions).where(group_permissions.c.group_id == group_id))
    _set_group_permissions(conn, group_id, permission_ids)
    return get_group(conn, group_id)


def delete_group(conn: Connection, group_id: int) -> None:
    """Delete a group; its members lose what it gave them. Locked: of deletes at once,
    the first deletes and the others find nothing (404)."""
    if conn.scalar(select(groups.c.id).where(groups.c.id == group_id).with_for_update()) is None:
        raise NotFound("No such group.")
    conn.execute(delete(group_permissions).where(group_permissions.c.group_id == group_id))
    conn.execute(delete(user_groups).where(user_groups.c.group_id == group_id))
    conn.execute(delete(groups).where(groups.c.id == group_id))


def _check_group_name(conn: Connection, name: str, *, exclude_id: int | None) -> None:
    # MariaDB's collation compares case- and accent-insensitively, SQLite exactly: the
    # unique index decides on each, and a race past this check is caught at the insert.
    taken = select(groups.c.id).where(groups.c.name == name)
    if exclude_id is not None:
        taken = taken.where(groups.c.id != exclude_id)
    if conn.scalar(taken) is not None:
        raise _group_name_taken()


def _group_name_taken() -> ValidationError:
    return ValidationError("A group with this name already exists.", field="name")


def _set_group_permissions(conn: Connection, group_id: int, permission_ids: list[int]) -> None:
    if permission_ids:
        conn.execute(
            insert(group_permissions),
            [{"group_id": group_id, "permission_id": p} for p in permission_ids],
        )


def _group_permissions(conn: Connection, group_ids: list[int]) -> dict[int, list[int]]:
    if not group_ids:
        return {}
    held: dict[int, list[int]] = {}
    for group_id, permission_id in conn.execute(
        select(group_permissions.c.group_id, group_permissions.c.permission_id)
        .where(group_permissions.c.group_id.in_(group_ids))
        .order_by(group_permissions.c.group_id, group_permissions.c.permission_id)
    ):
        held.setdefault(group_id, []).append(permission_id)
    return held
