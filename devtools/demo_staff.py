"""The demo shop's limited staff account: a member of 运营 (operations), which may look at
orders, users and the dashboard and nothing else, so the console shows what a staff
user without superuser rights sees (empty pages and 403s elsewhere) next to `admin`.

Created once: a group or account an operator has since changed is left as it is.
"""

from __future__ import annotations

from sqlalchemy import Connection, select

from chalicelib.db.engine import insert_id
from chalicelib.db.tables import group_permissions, groups, permissions, user_groups, users
from chalicelib.services import accounts

DEMO_STAFF = ("yunying", "Yunying12345")
DEMO_GROUP = "运营"
DEMO_GROUP_PERMISSIONS = ("view_order", "view_user", "view_statistics")


def seed_demo_staff(conn: Connection) -> str:
    """The 运营 group and the yunying account in it; a summary for seed-demo."""
    made = []
    group_id = conn.scalar(select(groups.c.id).where(groups.c.name == DEMO_GROUP))
    if group_id is None:
        group_id = insert_id(conn.execute(groups.insert().values(name=DEMO_GROUP)))
        held = conn.scalars(
            select(permissions.c.id).where(permissions.c.codename.in_(DEMO_GROUP_PERMISSIONS))
        ).all()
        if held:
            conn.execute(
                group_permissions.insert(),
                [{"group_id": group_id, "permission_id": p} for p in held],
            )
        made.append(f"group {DEMO_GROUP}")
    username, password = DEMO_STAFF
    if conn.scalar(select(users.c.id).where(users.c.username == username)) is None:
        row = accounts.register(
            conn,
            username=username,
            password=password,
            email="yunying@example.com",
            is_staff=True,
        )
        conn.execute(user_groups.insert().values(user_id=row.id, group_id=group_id))
        made.append(f"limited staff account {username}")
    return ("new " + " and ".join(made)) if made else "limited staff account already there"
