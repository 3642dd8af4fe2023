"""Staff permissions under /meiduo_admin/permission/: permissions, groups and staff users.

Each resource is guarded by its own content type's permissions (`permission`, `group`,
`admin`); the small lists the console's dialogs load (content types, `*/simple/`) need
only staff. Bodies take ids as numbers or numeric strings, as the console sends them.
"""

from __future__ import annotations

from typing import Any

from chalice import Response

from chalicelib import auth
from chalicelib.api.models import admin_permissions as models
from chalicelib.api.routing import ApiBlueprint, parse, parse_query, path_id
from chalicelib.pagination import page_body
from chalicelib.resources import transaction
from chalicelib.services import permissions, staff

bp = ApiBlueprint(__name__, url_prefix="/meiduo_admin")


def permission_body(row: Any) -> dict[str, Any]:
    return {
        "id": row.id,
        "name": row.name,
        "codename": row.codename,
        "content_type": row.content_type_id,
    }


def group_body(group: permissions.Group) -> dict[str, Any]:
    return {"id": group.id, "name": group.name, "permissions": group.permissions}


def staff_row_body(row: Any) -> dict[str, Any]:
    """A staff user in the list: never a password."""
    return {
        "id": row.id,
        "username": row.username,
        "email": row.email,
        "mobile": row.mobile,
        "is_superuser": bool(row.is_superuser),
    }


def staff_body(user: staff.StaffUser) -> dict[str, Any]:
    return {
        **staff_row_body(user),
        "groups": user.groups,
        "user_permissions": user.user_permissions,
    }


def _actor(user: auth.CurrentUser) -> staff.Actor:
    return staff.Actor(user.id, user.is_superuser)


# --- permissions -----------------------------------------------------------------------


@bp.route("/permission/perms/", methods=["GET"])
@auth.permission_required("view_permission")
def list_permissions(user: auth.CurrentUser) -> dict[str, Any]:
    params = parse_query(models.PermissionsQuery, bp.current_request)
    with transaction() as conn:
        rows, count = permissions.page_permissions(
            conn, params.paging, descending=params.ordering == "-id"
        )
    return page_body([permission_body(row) for row in rows], count, params.paging)


@bp.route("/permission/perms/", methods=["POST"])
@auth.permission_required("add_permission")
def create_permission(user: auth.CurrentUser) -> Response:
    body = parse(models.PermissionIn, bp.current_request)
    with transaction() as conn:
        row = permissions.create_permission(conn, body.fields())
    return Response(body=permission_body(row), status_code=201)


@bp.route("/permission/perms/{permission_id}/", methods=["GET"])
@auth.permission_required("view_permission")
def get_permission(user: auth.CurrentUser, permission_id: str) -> dict[str, Any]:
    with transaction() as conn:
        return permission_body(permissions.get_permission(conn, path_id(permission_id)))


@bp.route("/permission/perms/{permission_id}/", methods=["PUT"])
@auth.permission_required("change_permission")
def change_permission(user: auth.CurrentUser, permission_id: str) -> dict[str, Any]:
    found_id = path_id(permission_id)
    body = parse(models.PermissionIn, bp.current_request)
    with transaction() as conn:
        return permission_body(permissions.update_permission(conn, found_id, body.fields()))


@bp.route("/permission/perms/{permission_id}/", methods=["DELETE"])
@auth.permission_required("delete_permission")
def delete_permission(user: auth.CurrentUser, permission_id: str) -> Response:
    found_id = path_id(permission_id)
    with transaction() as conn:
        permissions.delete_permission(conn, found_id)
    return Response(body="", status_code=204)


@bp.route("/permission/content_types/", methods=["GET"])
@auth.staff_required
def content_types(user: auth.CurrentUser) -> list[dict[str, Any]]:
    with transaction() as conn:
        rows = permissions.all_content_types(conn)
    return [{"id": row.id, "name": row.name, "model": row.model} for row in rows]


@bp.route("/permission/simple/", methods=["GET"])
@auth.staff_required
def permission_names(user: auth.CurrentUser) -> list[dict[str, Any]]:
    with transaction() as conn:
        return [{"id": row.id, "name": row.name} for row in permissions.permission_names(conn)]


# --- groups ----------------------------------------------------------------------------


@bp.route("/permission/groups/", methods=["GET"])
@auth.permission_required("view_group")
def list_groups(user: auth.CurrentUser) -> dict[str, Any]:
    page = parse_query(models.PageQuery, bp.current_request).paging
    with transaction() as conn:
        found, count = permissions.page_groups(conn, page)
    return page_body([group_body(group) for group in found], count, page)


@bp.route("/permission/groups/", methods=["POST"])
@auth.permission_required("add_group")
def create_group(user: auth.CurrentUser) -> Response:
    body = parse(models.GroupIn, bp.current_request)
    with transaction() as conn:
        group = permissions.create_group(conn, body.name, list(body.permissions))
    return Response(body=group_body(group), status_code=201)


@bp.route("/permission/groups/simple/", methods=["GET"])
@auth.staff_required
def group_names(user: auth.CurrentUser) -> list[dict[str, Any]]:
    with transaction() as conn:
        return [{"id": row.id, "name": row.name} for row in permissions.group_names(conn)]


@bp.route("/permission/groups/{group_id}/", methods=["GET"])
@auth.permission_required("view_group")
def get_group(user: auth.CurrentUser, group_id: str) -> dict[str, Any]:
    with transaction() as conn:
        return group_body(permissions.get_group(conn, path_id(group_id)))


@bp.route("/permission/groups/{group_id}/", methods=["PUT"])
@auth.permission_required("change_group")
def change_group(user: auth.CurrentUser, group_id: str) -> dict[str, Any]:
    found_id = path_id(group_id)
    body = parse(models.GroupIn, bp.current_request)
    with transaction() as conn:
        group = permissions.update_group(conn, found_id, body.name, list(body.permissions))
    return group_body(group)


@bp.route("/permission/groups/{group_id}/", methods=["DELETE"])
@auth.permission_required("delete_group")
def delete_group(user: auth.CurrentUser, group_id: str) -> Response:
    found_id = path_id(group_id)
    with transaction() as conn:
        permissions.delete_group(conn, found_id)
    return Response(body="", status_code=204)


# --- staff users -----------------------------------------------------------------------


@bp.route("/permission/admins/", methods=["GET"])
@auth.permission_required("view_admin")
def list_staff(user: auth.CurrentUser) -> dict[str, Any]:
    page = parse_query(models.PageQuery, bp.current_request).paging
    with transaction() as conn:
        rows, count = staff.page_staff(conn, page)
    return page_body([staff_row_body(row) for row in rows], count, page)


@bp.route("/permission/admins/", methods=["POST"])
@auth.permission_required("add_admin")
def create_staff(user: auth.CurrentUser) -> Response:
    body = parse(models.NewStaff, bp.current_request)
    with transaction() as conn:
        created = staff.create_staff(conn, body.fields())
    return Response(body=staff_body(created), status_code=201)


@bp.route("/permission/admins/{staff_id}/", methods=["GET"])
@auth.permission_required("view_admin")
def get_staff(user: auth.CurrentUser, staff_id: str) -> dict[str, Any]:
    with transaction() as conn:
        return staff_body(staff.get_staff(conn, path_id(staff_id)))


@bp.route("/permission/admins/{staff_id}/", methods=["PUT"])
@auth.permission_required("change_admin")
def change_staff(user: auth.CurrentUser, staff_id: str) -> dict[str, Any]:
    found_id = path_id(staff_id)
    body = parse(models.StaffIn, bp.current_request)
    with transaction() as conn:
        changed = staff.update_staff(conn, found_id, body.fields(), by=_actor(user))
    return staff_body(changed)


@bp.route("/permission/admins/{staff_id}/", methods=["DELETE"])
@auth.permission_required("delete_admin")
def remove_staff(user: auth.CurrentUser, staff_id: str) -> Response:
    found_id = path_id(staff_id)
    with transaction() as conn:
        staff.remove_staff(conn, found_id, by=_actor(user))
    return Response(body="", status_code=204)
