"""The demo shop's limited staff account: orders, users and the dashboard, nothing else."""

from __future__ import annotations

from typing import Any

from chalicelib.db.engine import transaction
from devtools.demo_staff import DEMO_STAFF, seed_demo_staff
from tests.conftest import ShopClient, post_json


def test_the_demo_operator_sees_orders_users_and_the_dashboard_only(
    client: ShopClient, database_url: str
) -> None:
    with transaction() as conn:
        first = seed_demo_staff(conn)
    with transaction() as conn:
        second = seed_demo_staff(conn)
    username, password = DEMO_STAFF

    login = post_json(
        client, "/meiduo_admin/authorizations/", {"username": username, "password": password}
    )
    headers = {"Authorization": f"JWT {login.json_body['token']}"}

    def status(path: str) -> Any:
        return client.http.get(f"/meiduo_admin/{path}", headers=headers).status_code

    assert first == "new group 运营 and limited staff account yunying"
    assert second == "limited staff account already there"
    assert login.status_code == 200
    assert [status(p) for p in ("orders/", "users/", "statistical/total_count/")] == [200] * 3
    assert [status(p) for p in ("skus/", "skus/images/", "permission/admins/")] == [403] * 3
    assert status("skus/simple/") == 200  # the pick lists need only staff
