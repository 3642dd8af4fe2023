"""Delivery addresses: own ones only, at most 20, a default that follows deletions."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from chalicelib.db.tables import addresses, users
from tests.conftest import post_json, put_json

HOME = {
    "title": "家",
    "receiver": "张三",
    "province": "广东省",
    "city": "深圳市",
    "district": "南山区",
    "place": "科技园路 1 号",
    "mobile": "13812345678",
}


def address_rows(db: Any) -> list[Any]:
    with db.connect() as conn:
        return list(conn.execute(select(addresses).order_by(addresses.c.id)).all())


def test_the_first_address_becomes_the_default(
    client: Any, make_user: Any, auth_headers: Any
) -> None:
    headers = auth_headers(make_user())

    created = post_json(client, "/addresses/", HOME, headers)
    second = post_json(client, "/addresses/", {**HOME, "title": "公司"}, headers)

    assert created.status_code == 201
    assert created.json_body == {"id": created.json_body["id"], **HOME}
    listing = client.http.get("/addresses/", headers=headers).json_body
    assert listing["default_address_id"] == created.json_body["id"]
    assert listing["limit"] == 20
    assert [a["id"] for a in listing["addresses"]] == [
        created.json_body["id"],
        second.json_body["id"],
    ]


def test_the_title_defaults_to_the_receiver(client: Any, make_user: Any, auth_headers: Any) -> None:
    body = {k: v for k, v in HOME.items() if k != "title"}

    response = post_json(client, "/addresses/", body, auth_headers(make_user()))

    assert response.json_body["title"] == "张三"


def test_replacing_setting_default_and_deleting(
    client: Any, make_user: Any, auth_headers: Any
) -> None:
    headers = auth_headers(make_user())
    first = post_json(client, "/addresses/", HOME, headers).json_body["id"]
    second = post_json(client, "/addresses/", HOME, headers).json_body["id"]

    replaced = put_json(client, f"/addresses/{second}/", {**HOME, "place": "新地址 8 号"}, headers)
    made_default = client.http.put(f"/addresses/{second}/default/", headers=headers)
    deleted = client.http.delete(f"/addresses/{second}/", headers=headers)

    assert replaced.status_code == 200
    assert replaced.json_body["place"] == "新地址 8 号"
    assert made_default.json_body == {"default_address_id": second}
    assert deleted.status_code == 204
    listing = client.http.get("/addresses/", headers=headers).json_body
    assert listing["default_address_id"] is None
    assert [a["id"] for a in listing["addresses"]] == [first]


def test_at_most_twenty_addresses(client: Any, db: Any, make_user: Any, auth_headers: Any) -> None:
    headers = auth_headers(make_user())
    for _ in range(20):
        assert post_json(client, "/addresses/", HOME, headers).status_code == 201

    response = post_json(client, "/addresses/", HOME, headers)

    assert response.status_code == 400
    assert list(response.json_body) == ["non_field_errors"]
    assert len(address_rows(db)) == 20


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("PUT", "/addresses/{id}/"),
        ("DELETE", "/addresses/{id}/"),
        ("PUT", "/addresses/{id}/default/"),
    ],
)
def test_another_users_address_is_not_found_and_untouched(
    client: Any, db: Any, make_user: Any, auth_headers: Any, method: str, path: str
) -> None:
    owner = make_user()
    address_id = post_json(client, "/addresses/", HOME, auth_headers(owner)).json_body["id"]
    intruder = auth_headers(make_user())
    before = address_rows(db)

    response = client.http.request(
        method,
        path.format(id=address_id),
        headers=intruder,
        body=__import__("json").dumps({**HOME, "place": "hijacked"}),
    )

    assert response.status_code == 404
    assert address_rows(db) == before
    with db.connect() as conn:
        defaults = conn.execute(
            select(users.c.id, users.c.default_address_id).order_by(users.c.id)
        ).all()
    assert [tuple(r) for r in defaults] == [(owner.id, address_id), (defaults[1][0], None)]


@pytest.mark.parametrize("address_id", ["999999", "abc", "1e3", "-1", "9" * 40])
def test_unknown_or_malformed_ids_are_404s(
    client: Any, make_user: Any, auth_headers: Any, address_id: str
) -> None:
    response = client.http.delete(f"/addresses/{address_id}/", headers=auth_headers(make_user()))

    assert response.status_code == 404


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"receiver": ""}, "receiver"),
        ({"receiver": "名" * 21}, "receiver"),
        ({"mobile": "1234"}, "mobile"),
        ({"place": None}, "place"),
        ({"province": 44}, "province"),
        ({"title": "t" * 21}, "title"),
        ({"city": "c" * 1_000_000}, "non_field_errors"),  # past the 1 MB body limit -> 413
    ],
)
def test_bad_addresses_name_the_field_and_write_nothing(
    client: Any, db: Any, make_user: Any, auth_headers: Any, change: dict[str, Any], field: str
) -> None:
    response = post_json(client, "/addresses/", {**HOME, **change}, auth_headers(make_user()))

    if field == "non_field_errors":
        assert response.status_code == 413
    else:
        assert response.status_code == 400
        assert field in response.json_body
    with db.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(addresses)) == 0


def test_addresses_need_a_login(client: Any) -> None:
    assert client.http.get("/addresses/").status_code == 401
    assert post_json(client, "/addresses/", HOME).status_code == 401


@pytest.mark.parametrize("field", ["receiver", "place"])
def test_an_address_with_a_control_character_is_400_and_nothing_is_stored(
    client: Any, db: Any, make_user: Any, auth_headers: Any, field: str
) -> None:
    # given a user, when an address with an ESC inside a field is sent
    response = post_json(
        client, "/addresses/", {**HOME, field: "科技\x1b[31m园"}, auth_headers(make_user())
    )

    # then that field is named, and nothing is stored
    assert response.status_code == 400
    assert response.json_body == {
        field: ["Control characters (such as NUL, ESC, tabs or line breaks) are not allowed."]
    }
    assert address_rows(db) == []


def test_a_delete_waiting_on_another_delete_of_the_address_is_a_404(
    client: Any, db: Any, make_user: Any, auth_headers: Any
) -> None:
    # given a delete of the address under way (its row locked, not yet committed), and a
    # second delete that has already read the address and now waits on that lock: on
    # MariaDB it found the row gone once the first committed, and answered 204 as well
    import threading
    import time

    from chalicelib.db.engine import transaction
    from chalicelib.services import addresses as address_service
    from tests import factories
    from tests.conftest import committed

    user = make_user("alice_01")
    address_id = committed(factories.address)(user.id)
    answers: list[int] = []
    second = threading.Thread(
        target=lambda: answers.append(
            client.http.delete(f"/addresses/{address_id}/", headers=auth_headers(user)).status_code
        )
    )

    # when the first commits while the second waits
    with transaction() as conn:
        address_service.remove(conn, user.id, address_id)
        second.start()
        time.sleep(0.5)  # the second reads the address and waits on its row lock
    second.join()

    # then the second is a 404: the address was deleted once
    assert answers == [404]
    assert address_rows(db) == []
