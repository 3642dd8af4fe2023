"""The meiduo admin console's catalogue pages, replayed call by call: SKUs, SPUs,
specifications, options, brands and channels.

Each call is made as the Vue console makes it (src/components/pages and widget of the
meiduo admin front-end): the method and path, the body exactly as it builds it (form
values as strings, selects' ids as numbers, the SKU dialog's `specs` as
[{spec_id, option_id}] with spec ids as object keys, multipart FormData for brands), the
`Authorization: JWT <token>` header, and `page`/`pagesize` (and an empty `keyword`) on
lists. Each answer is checked for its status and for the fields the console reads from it.
Runs on SQLite + fakeredis and again on MariaDB + Redis.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest

from chalicelib.db.engine import transaction
from tests import factories
from tests.functional.images.forms import image_bytes, multipart

ADMIN = "/meiduo_admin"
PASSWORD = "console-pass-1"


class Console:
    """The console's axios calls: JSON bodies, FormData, the JWT header, query params."""

    def __init__(self, client: Any, token: str) -> None:
        self.client = client
        self.auth = {"Authorization": f"JWT {token}"}

    def call(self, method: str, path: str, status: int, body: bytes = b"", **headers: str) -> Any:
        response = self.client.http.request(
            method, ADMIN + path, headers={**self.auth, **headers}, body=body
        )
        assert response.status_code == status, (method, path, response.body)
        return json.loads(response.body) if response.body else None

    def get(self, path: str, status: int = 200, **params: Any) -> Any:
        query = f"?{urlencode(params)}" if params else ""
        return self.call("GET", path + query, status)

    def send(self, method: str, path: str, body: dict[str, Any], status: int) -> Any:
        data = json.dumps(body).encode()
        return self.call(method, path, status, data, **{"Content-Type": "application/json"})

    def form(self, method: str, path: str, fields: dict[str, Any], status: int) -> Any:
        data, content_type = multipart(fields)
        return self.call(method, path, status, data, **{"Content-Type": content_type})

    def page(self, path: str, **params: Any) -> list[dict[str, Any]]:
        """A list page as the console loads it; it reads lists, page and pages."""
        body = self.get(path, page=1, pagesize=10, **params)
        assert {"lists", "page", "pages"} <= set(body)
        return list(body["lists"])


def reads(item: dict[str, Any], *fields: str) -> None:
    missing = [field for field in fields if field not in item]
    assert missing == [], f"the console reads {missing} from {item}"


@pytest.fixture
def console(
    client: Any, make_user: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Console:
    monkeypatch.setenv("STORAGE_URL", f"file://{tmp_path / 'media'}")
    monkeypatch.setenv("MEDIA_URL", "http://testserver/media/")
    make_user("console_admin", password=PASSWORD, is_staff=True, is_superuser=True)
    login = client.http.post(
        ADMIN + "/authorizations/",
        body=json.dumps({"username": "console_admin", "password": PASSWORD}),
        headers={"Content-Type": "application/json"},
    )
    assert login.status_code == 200, login.body
    return Console(client, json.loads(login.body)["token"])


@pytest.fixture
def tree(database_url: str) -> dict[str, int]:
    """家用电器 > 大家电 > 冰箱 and 手机 (a second top level), and a channel group."""
    with transaction() as conn:
        top = factories.category(conn, "家用电器", sort_order=1)
        phones = factories.category(conn, "手机", sort_order=2)
        big = factories.category(conn, "大家电", parent_id=top)
        fridge = factories.category(conn, "冰箱", parent_id=big)
        group = factories.channel_group(conn, "1F 家电")
    return {"top": top, "phones": phones, "big": big, "fridge": fridge, "group": group}


def test_the_catalogue_pages_of_the_console(console: Console, tree: dict[str, int]) -> None:
    # --- Brands: AddBrands posts FormData; BrandsTable edits with a new file -------------
    png = image_bytes("PNG")
    brand = console.form(
        "POST",
        "/goods/brands/",
        {"name": "海尔", "first_letter": "H", "logo": ("haier.png", png, "image/png")},
        201,
    )
    brands = console.page("/goods/brands/")
    assert [b["id"] for b in brands] == [brand["id"]]
    reads(brands[0], "id", "name", "logo", "first_letter")
    assert brands[0]["logo"].startswith("http://testserver/media/")
    edit = console.get(f"/goods/brands/{brand['id']}/")
    reads(edit, "name", "logo", "first_letter")
    jpeg = ("haier.jpg", image_bytes("JPEG"), "image/jpeg")
    fields = {"name": edit["name"], "first_letter": edit["first_letter"], "logo": jpeg}
    console.form("PUT", f"/goods/brands/{brand['id']}/", fields, 200)

    # --- SPU add page: brand and three category selects, then the form as it is ----------
    assert console.get("/goods/brands/simple/") == [{"id": brand["id"], "name": "海尔"}]
    level1 = console.get("/goods/channel/categories/")
    assert [c["id"] for c in level1] == [tree["top"], tree["phones"]]
    level2 = console.get(f"/goods/channel/categories/{level1[0]['id']}/")
    level3 = console.get(f"/goods/channel/categories/{level2[0]['id']}/")
    assert [c["id"] for c in level3] == [tree["fridge"]]
    spu_form = {
        "name": "海尔冰箱",
        "brand_id": brand["id"],
        "category1_id": level1[0]["id"],
        "category2_id": level2[0]["id"],
        "category3_id": level3[0]["id"],
        "desc_detail": "<p>风冷无霜</p>",
        "desc_pack": "<p>主机×1</p>",
        "desc_service": "",
    }
    spu = console.send("POST", "/goods/", spu_form, 201)
    spus = console.page("/goods/")
    reads(spus[0], "id", "name", "brand", "brand_id", "sales", "comments")
    # SpuEdit reads the SPU into its form and puts it back
    current = console.get(f"/goods/{spu['id']}/")
    reads(current, *spu_form)
    console.get(f"/goods/channel/categories/{current['category1_id']}/")
    console.get(f"/goods/channel/categories/{current['category2_id']}/")
    console.send("PUT", f"/goods/{spu['id']}/", {key: current[key] for key in spu_form}, 200)

    # --- Specifications: AddSpecs sends the SPU select's id -------------------------------
    assert {"id": spu["id"], "name": "海尔冰箱"} in console.get("/goods/simple/")
    color = console.send("POST", "/goods/specs/", {"name": "颜色", "spu_id": spu["id"]}, 201)
    size = console.send("POST", "/goods/specs/", {"name": "容量", "spu_id": spu["id"]}, 201)
    specs = console.page("/goods/specs/")
    reads(specs[0], "id", "name", "spu", "spu_id")
    spec = console.get(f"/goods/specs/{size['id']}/")
    reads(spec, "name", "spu_id")
    body = {"name": "容积", "spu_id": spec["spu_id"]}
    console.send("PUT", f"/goods/specs/{size['id']}/", body, 200)

    # --- Options: AddOptions picks from goods/specs/simple/ -------------------------------
    simple_specs = console.get("/goods/specs/simple/")
    reads(simple_specs[0], "id", "name", "spu")
    values = {}
    for spec_id, value in ((color["id"], "白色"), (color["id"], "银色"), (size["id"], "470升")):
        option = console.send("POST", "/specs/options/", {"value": value, "spec_id": spec_id}, 201)
        values[value] = option["id"]
    options = console.page("/specs/options/")
    reads(options[0], "id", "value", "spec", "spec_id")
    option = console.get(f"/specs/options/{values['银色']}/")
    reads(option, "value", "spec_id")
    body = {"value": "星蕴银", "spec_id": option["spec_id"]}
    console.send("PUT", f"/specs/options/{values['银色']}/", body, 200)

    # --- SKUs: AddSku loads its selects, then posts every field as the form holds it ------
    categories = console.get("/skus/categories/")
    assert categories == [{"id": tree["fridge"], "name": "冰箱"}]
    dialog = console.get(f"/goods/{spu['id']}/specs/")
    reads(dialog[0], "id", "name", "options")
    reads(dialog[0]["options"][0], "id", "value")
    chosen = {str(spec["id"]): spec["options"][0]["id"] for spec in dialog}  # skuForm.specs
    sku_form = {
        "name": "海尔冰箱 白色 470升",
        "spu_id": spu["id"],
        "caption": "风冷无霜",
        "category_id": categories[0]["id"],
        "price": "5999.00",
        "cost_price": "4000",
        "market_price": "6999.00",
        "stock": "12",
        "is_launched": "true",
        "specs": [{"spec_id": k, "option_id": v} for k, v in chosen.items()],
    }
    sku = console.send("POST", "/skus/", sku_form, 201)
    skus = console.page("/skus/", keyword="")
    reads(skus[0], "id", "name", "price", "stock", "sales", "category", "is_launched", "spu_id")
    assert (skus[0]["category"], skus[0]["stock"], skus[0]["is_launched"]) == ("冰箱", 12, True)
    # SkuTable's edit dialog: the SPU's specs, then the SKU into the form, then PUT
    console.get(f"/goods/{skus[0]['spu_id']}/specs/")
    current = console.get(f"/skus/{sku['id']}/")
    reads(current, "id", "name", "spu_id", "caption", "category_id", "price", "cost_price")
    reads(current, "market_price", "stock", "is_launched", "specs")
    form = {row["spec_id"]: row["option_id"] for row in current["specs"]}
    assert form == {int(k): v for k, v in chosen.items()}
    edited = {key: current[key] for key in sku_form if key != "specs"} | {"stock": "11"}
    edited["specs"] = [{"spec_id": str(k), "option_id": v} for k, v in form.items()]
    console.send("PUT", f"/skus/{sku['id']}/", edited, 200)
    assert console.get(f"/skus/{sku['id']}/")["stock"] == 11

    # --- Channels: AddChannels loads groups and first-level categories --------------------
    groups = console.get("/goods/channel_types/")
    tops = console.get("/goods/categories/")
    channel_form = {
        "group_id": groups[0]["id"],
        "category_id": tops[0]["id"],
        "url": "http://jiadian.example.com",
        "sequence": "1",
    }
    channel = console.send("POST", "/goods/channels/", channel_form, 201)
    channels = console.page("/goods/channels/")
    reads(channels[0], "id", "category", "category_id", "group", "group_id", "sequence", "url")
    current = console.get(f"/goods/channels/{channel['id']}/")
    reads(current, "group_id", "category_id", "url", "sequence")
    body = {key: current[key] for key in channel_form} | {"sequence": "2"}
    console.send("PUT", f"/goods/channels/{channel['id']}/", body, 200)
    console.call("DELETE", f"/goods/channels/{channel['id']}/", 204)

    # --- Deleting, in the order the tables allow it ---------------------------------------
    in_use = [
        f"/goods/brands/{brand['id']}/",
        f"/goods/{spu['id']}/",
        f"/goods/specs/{color['id']}/",
        f"/specs/options/{values['白色']}/",
    ]
    for path in in_use:
        assert console.call("DELETE", path, 409)["code"] == "in_use"
    console.call(
        "DELETE", f"/specs/options/{values['银色']}/", 204
    )  # renamed 星蕴银; no SKU uses it
    console.call("DELETE", f"/skus/{sku['id']}/", 204)
    for path in reversed(in_use):
        console.call("DELETE", path, 204)
    for path in ("/skus/", "/goods/", "/goods/specs/", "/specs/options/", "/goods/brands/"):
        assert console.page(path) == []
