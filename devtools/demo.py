"""`manage.py seed-demo`: the demo shop that `make run` loads on first start.

Idempotent: everything is looked up by a natural key before it is created, so a
second run (every `make run`) changes nothing.
"""

from __future__ import annotations

import io
import random
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy import Connection, select

from chalicelib import resources
from chalicelib.clock import utcnow
from chalicelib.db.engine import insert_id, transaction
from chalicelib.db.tables import (
    banners,
    brands,
    categories,
    channel_groups,
    channels,
    sku_images,
    sku_spec_options,
    skus,
    spec_options,
    spu_specs,
    spus,
    users,
)
from chalicelib.richtext import sanitize_html
from chalicelib.services import accounts, catalog, search_terms
from devtools import catalog_words
from devtools.demo_orders import seed_demo_orders
from devtools.demo_staff import seed_demo_staff

DEMO_ADMIN = ("admin", "Admin12345")
DEMO_CUSTOMERS = [
    ("demo_buyer", "Buyer12345", "13800000001"),
    ("demo_fan", "Fan123456", "13800000002"),
]
# The demo catalogue is drawn from this seed, so every run plans the same SPUs and SKUs
# and finds them by name.
CATALOGUE_SEED = 20240501
DEMO_BANNERS = (
    ("以旧换新 冰箱焕新季", "FRIDGE WEEK", "冰箱"),
    ("开学季 小家电低至5折", "BACK TO SCHOOL", "电饭煲"),
    ("清凉一夏 空调送装一体", "COOL SUMMER", "空调"),
    ("大屏观影节 电视直降", "BIG SCREEN DAYS", "平板电视"),
    ("洁净生活 吸尘器新品", "CLEAN HOME", "吸尘器"),
)
# The storefront's channel menu: groups of first-level categories, in this order.
DEMO_CHANNEL_GROUPS = (
    ("家电馆", ("大家电", "厨卫大电")),
    ("厨房馆", ("厨房小电",)),
    ("生活馆", ("生活电器", "个护健康")),
)
CHANNEL_URL = "http://shop.example.com/list/{category_id}/"
# A brand's first letter is its Latin name's initial (the name its logo shows); these
# Latin names start with no letter, so the pinyin initial stands in.
FIRST_LETTERS = {"352": "S"}


def seed() -> str:
    with transaction() as conn:
        created = _accounts(conn)
        catalogue = _catalogue(conn)
    if catalogue.changed:
        catalog.invalidate_home_cache(resources.redis())
    parts = [f"{created} new accounts", catalogue.summary()]
    # --- hook: demo orders and comments -------------------------------------------------
    # The orders area adds its one call here (it needs the accounts and catalogue above),
    # appending its own summary to `parts`.
    with transaction() as conn:
        parts.append(seed_demo_orders(conn))
    with transaction() as conn:
        parts.append(seed_demo_staff(conn))
    return "demo data ready (" + "; ".join(parts) + ")"


def _accounts(conn: Connection) -> int:
    created = 0
    username, password = DEMO_ADMIN
    if not _exists(conn, username):
        accounts.register(
            conn,
            username=username,
            password=password,
            email="admin@example.com",
            is_staff=True,
            is_superuser=True,
        )
        created += 1
    for username, password, mobile in DEMO_CUSTOMERS:
        if not _exists(conn, username):
            accounts.register(conn, username=username, password=password, mobile=mobile)
            created += 1
    return created


def _exists(conn: Connection, username: str) -> bool:
    return conn.scalar(select(users.c.id).where(users.c.username == username)) is not None


def first_letter(brand: tuple[str, str]) -> str:
    """海尔 Haier -> "H"; a Latin name without a leading letter has its own entry."""
    chinese, latin = brand
    letter = FIRST_LETTERS.get(latin, latin[:1].upper())
    if not ("A" <= letter <= "Z"):
        raise ValueError(f"no first letter for the brand {chinese} ({latin})")
    return letter


def all_brands() -> list[tuple[str, str]]:
    """Every brand of the product lines, (Chinese, Latin), once, in the lines' order."""
    return list(dict.fromkeys(b for line in catalog_words.PRODUCT_LINES for b in line.brands))


def ensure_brands(conn: Connection, storage: Any) -> tuple[dict[str, int], int]:
    """The product lines' brands (Chinese name -> id), found by name or made with a logo
    drawn into storage; and how many were made."""
    found = {r.name: r.id for r in conn.execute(select(brands.c.id, brands.c.name))}
    made = 0
    for chinese, latin in all_brands():
        if chinese in found:
            continue
        logo = storage.save(_brand_logo(latin), "png")
        found[chinese] = insert_id(
            conn.execute(
                brands.insert().values(
                    name=chinese,
                    logo=logo,
                    first_letter=first_letter((chinese, latin)),
                    create_time=utcnow(),
                )
            )
        )
        made += 1
    return found, made


def ensure_channels(conn: Connection) -> int:
    """DEMO_CHANNEL_GROUPS, each group and channel found or made; how many channels were made."""
    tops = {
        r.name: r.id
        for r in conn.execute(
            select(categories.c.id, categories.c.name).where(categories.c.parent_id.is_(None))
        )
    }
    groups = {
        r.name: r.id for r in conn.execute(select(channel_groups.c.id, channel_groups.c.name))
    }
    placed = {(r.group_id, r.category_id) for r in conn.execute(select(channels))}
    made = 0
    for name, members in DEMO_CHANNEL_GROUPS:
        group_id = groups.get(name)
        if group_id is None:
            group_id = insert_id(conn.execute(channel_groups.insert().values(name=name)))
        for sequence, category in enumerate(members, start=1):
            category_id = tops[category]
            if (group_id, category_id) in placed:
                continue
            conn.execute(
                channels.insert().values(
                    group_id=group_id,
                    category_id=category_id,
                    url=CHANNEL_URL.format(category_id=category_id),
                    sequence=sequence,
                )
            )
            made += 1
    return made


def prices_around(price: int) -> tuple[int, int]:
    """(cost_price, market_price) in fen for a selling price: cost about 70 % of it, the
    market (list) price about 120 %, both whole yuan."""
    return price * 7 // 1000 * 100, (price * 12 + 999) // 1000 * 100


def descriptions(line: catalog_words.ProductLine, brand: tuple[str, str]) -> dict[str, str]:
    """An SPU's three descriptions as a rich-text editor writes them (sanitized, as the
    admin routes store them)."""
    features = "".join(f"<li>{feature}</li>" for feature in line.features)
    return {
        "desc_detail": sanitize_html(
            f"<h3>{brand[0]}（{brand[1]}）{line.noun}</h3>"
            f'<p style="color: rgb(51, 51, 51)">{"，".join(line.features[:3])}。</p>'
            f"<ul>{features}</ul>"
        ),
        "desc_pack": sanitize_html(
            f"<ul><li>{line.noun}主机 ×1</li><li>说明书 ×1</li><li>保修卡 ×1</li></ul>"
        ),
        "desc_service": sanitize_html(
            "<p>全国联保，整机保修1年，主要部件保修3年。</p>"
            "<p>7天无理由退货（未安装、不影响二次销售）。</p>"
        ),
    }


def ensure_specs(
    conn: Connection, spu_id: int, specs: tuple[tuple[str, tuple[str, ...]], ...]
) -> dict[tuple[str, str], tuple[int, int]]:
    """The SPU's specifications with every value of its line as an option, found or made:
    (name, value) -> (spec id, option id)."""
    found: dict[tuple[str, str], tuple[int, int]] = {}
    spec_ids = {
        r.name: r.id
        for r in conn.execute(
            select(spu_specs.c.id, spu_specs.c.name).where(spu_specs.c.spu_id == spu_id)
        )
    }
    for name, values in specs:
        spec_id = spec_ids.get(name)
        if spec_id is None:
            spec_id = insert_id(conn.execute(spu_specs.insert().values(spu_id=spu_id, name=name)))
        options = {
            r.value: r.id
            for r in conn.execute(
                select(spec_options.c.id, spec_options.c.value).where(
                    spec_options.c.spec_id == spec_id
                )
            )
        }
        for value in values:
            option_id = options.get(value)
            if option_id is None:
                option_id = insert_id(
                    conn.execute(spec_options.insert().values(spec_id=spec_id, value=value))
                )
            found[(name, value)] = (spec_id, option_id)
    return found


def ensure_categories(conn: Connection) -> dict[str, tuple[int, int, int]]:
    """The three-level category tree of the product lines (a line's third level carries
    its name again); line category name -> (first, second, third level id), found or made."""
    rows = conn.execute(select(categories.c.id, categories.c.name, categories.c.parent_id)).all()
    by_parent = {(r.parent_id, r.name): r.id for r in rows}

    def ensure(name: str, parent_id: int | None, position: int) -> int:
        found = by_parent.get((parent_id, name))
        if found is None:
            found = insert_id(
                conn.execute(
                    categories.insert().values(name=name, parent_id=parent_id, sort_order=position)
                )
            )
            by_parent[(parent_id, name)] = found
        return int(found)

    tops = {
        top: ensure(top, None, position)
        for position, top in enumerate(catalog_words.TOP_CATEGORIES, start=1)
    }
    paths: dict[str, tuple[int, int, int]] = {}
    for position, line in enumerate(catalog_words.PRODUCT_LINES, start=1):
        second = ensure(line.category, tops[line.parent], position)
        paths[line.category] = (tops[line.parent], second, ensure(line.category, second, 1))
    return paths


# --- catalogue ---------------------------------------------------------------------------


@dataclass
class PlannedSku:
    name: str
    caption: str
    price: int
    stock: int
    sales: int
    age_days: float
    specs: list[tuple[str, str]]


@dataclass
class PlannedSpu:
    line: catalog_words.ProductLine
    brand: tuple[str, str]
    name: str
    model: str
    skus: list[PlannedSku]


@dataclass
class CatalogueResult:
    brands: int = 0
    spus: int = 0
    skus: int = 0
    banners: int = 0
    channels: int = 0
    images: int = 0
    sku_ids: dict[str, int] = field(default_factory=dict)

    @property
    def changed(self) -> bool:
        return bool(self.brands or self.spus or self.skus or self.banners)

    def summary(self) -> str:
        return (
            f"{self.brands} new brands, {self.spus} new SPUs, {self.skus} new SKUs, "
            f"{self.banners} new banners, {self.channels} new channels, "
            f"{self.images} images drawn"
        )


def plan_catalogue() -> list[PlannedSpu]:
    """The demo's SPUs and SKUs: 2-3 brands per product line, 4 variants each (two
    values of the price-driving spec x two of the other), the same on every run."""
    rng = random.Random(CATALOGUE_SEED)
    planned: list[PlannedSpu] = []
    for index, line in enumerate(catalog_words.PRODUCT_LINES):
        for brand in line.brands[: 3 if index % 2 == 0 else 2]:
            series = rng.choice(line.series)
            model = catalog_words.model_number(line, rng)
            (first_name, first_values), (second_name, second_values) = line.specs
            start = rng.randrange(len(first_values) - 1)
            seconds = rng.sample(second_values, k=2)
            variants = []
            for offset in (0, 1):
                level = (start + offset) / (len(first_values) - 1)
                price = catalog_words.price_fen(line, level, rng)
                for second in seconds:
                    values = [first_values[start + offset], second]
                    variants.append(
                        PlannedSku(
                            name=catalog_words.sku_name(line, brand, series, model, values),
                            caption=catalog_words.caption(line, rng),
                            price=price,
                            stock=0 if rng.random() < 0.05 else rng.randint(20, 500),
                            sales=int(rng.paretovariate(1.3) * 20) - 20,
                            age_days=rng.uniform(1, 90),
                            specs=[(first_name, values[0]), (second_name, values[1])],
                        )
                    )
            name = catalog_words.spu_name(line, brand, series, model)
            planned.append(PlannedSpu(line, brand, name, model, variants))
    return planned


def _catalogue(conn: Connection) -> CatalogueResult:
    result = CatalogueResult()
    leaf_ids = ensure_categories(conn)
    storage = resources.storage()
    brand_ids, result.brands = ensure_brands(conn, storage)
    result.images += result.brands
    result.channels = ensure_channels(conn)
    spu_ids = {r.name: r.id for r in conn.execute(select(spus.c.id, spus.c.name))}
    result.sku_ids = {r.name: r.id for r in conn.execute(select(skus.c.id, skus.c.name))}
    now = utcnow()
    for spu in plan_catalogue():
        category1, category2, category_id = leaf_ids[spu.line.category]
        spu_id = spu_ids.get(spu.name)
        if spu_id is None:
            spu_id = insert_id(
                conn.execute(
                    spus.insert().values(
                        name=spu.name,
                        brand_id=brand_ids[spu.brand[0]],
                        **descriptions(spu.line, spu.brand),
                        category1_id=category1,
                        category2_id=category2,
                        category3_id=category_id,
                        create_time=now - timedelta(days=90),
                    )
                )
            )
            result.spus += 1
        else:  # seeded before SPUs had brands
            conn.execute(
                spus.update()
                .where(spus.c.id == spu_id, spus.c.brand_id.is_(None))
                .values(brand_id=brand_ids[spu.brand[0]])
            )
        options = ensure_specs(conn, spu_id, spu.line.specs)
        detail_image: str | None = None
        for sku in spu.skus:
            if sku.name in result.sku_ids:
                continue
            if detail_image is None:
                detail_image = storage.save(_detail_card(spu), "png")
                result.images += 1
            image = storage.save(_product_card(spu, sku), "jpg")
            result.images += 1
            created = now - timedelta(days=sku.age_days)
            cost_price, market_price = prices_around(sku.price)
            sku_id = insert_id(
                conn.execute(
                    skus.insert().values(
                        spu_id=spu_id,
                        category_id=category_id,
                        name=sku.name,
                        caption=sku.caption,
                        price=sku.price,
                        cost_price=cost_price,
                        market_price=market_price,
                        stock=sku.stock,
                        sales=sku.sales,
                        comments=0,
                        is_launched=True,
                        default_image=image,
                        create_time=created,
                        update_time=created,
                    )
                )
            )
            search_terms.index_new_sku(conn, sku_id, sku.name, sku.caption)
            conn.execute(
                sku_spec_options.insert(),
                [
                    {"sku_id": sku_id, "spec_id": spec_id, "option_id": option_id}
                    for spec_id, option_id in (options[pick] for pick in sku.specs)
                ],
            )
            conn.execute(
                sku_images.insert(),
                [
                    {"sku_id": sku_id, "image": file_id, "is_hidden": False, "create_time": created}
                    for file_id in (image, detail_image)
                ],
            )
            result.sku_ids[sku.name] = sku_id
            result.skus += 1
    _banners(conn, result)
    return result


def _banners(conn: Connection, result: CatalogueResult) -> None:
    """Five home banners, each leading to the best seller of a product line."""
    existing = set(conn.scalars(select(banners.c.title)))
    for position, (title, caption, category) in enumerate(DEMO_BANNERS, start=1):
        if title in existing:
            continue
        best = conn.execute(
            select(skus.c.id)
            .join(categories, categories.c.id == skus.c.category_id)
            .where(categories.c.name == category, skus.c.is_launched)
            .order_by(skus.c.sales.desc(), skus.c.id)
            .limit(1)
        ).scalar()
        image = resources.storage().save(_banner_image(caption, position), "jpg")
        result.images += 1
        conn.execute(
            banners.insert().values(
                title=title, image=image, sku_id=best, sort_order=position, is_visible=True
            )
        )
        result.banners += 1


# --- pictures (Pillow, drawn here: no downloads; the font has no CJK glyphs, so the
# pictures carry the Latin brand and model) -------------------------------------------------

COLOURS = {
    "白": (236, 236, 232),
    "银": (192, 196, 202),
    "灰": (120, 124, 132),
    "黑": (40, 42, 46),
    "金": (214, 186, 120),
    "香槟": (226, 204, 160),
    "粉": (240, 180, 196),
    "蓝": (60, 110, 180),
    "紫": (150, 120, 190),
    "青": (70, 96, 104),
    "墨": (52, 56, 60),
    "钛": (150, 152, 156),
    "镍": (176, 160, 120),
}
SHAPES = {
    "冰箱": "tall",
    "洗衣机": "drum",
    "空调": "wide",
    "平板电视": "screen",
    "油烟机": "hood",
    "燃气灶": "hob",
    "热水器": "tank",
    "洗碗机": "drum",
    "电饭煲": "pot",
    "微波炉": "oven",
    "破壁机": "jug",
    "电水壶": "jug",
    "吸尘器": "stick",
    "空气净化器": "tall",
    "电风扇": "fan",
    "加湿器": "pot",
    "电动牙刷": "stick",
    "吹风机": "fan",
    "剃须刀": "stick",
}


def _colour_of(sku: PlannedSku) -> tuple[int, int, int]:
    value = dict(sku.specs).get("颜色", "")
    for word, rgb in COLOURS.items():
        if word in value:
            return rgb
    return COLOURS["白"]


def _font(size: int) -> Any:
    from PIL import ImageFont

    try:
        return ImageFont.truetype("DejaVuSans-Bold.ttf", size)
    except OSError:
        return ImageFont.load_default(size)


def _product_card(spu: PlannedSpu, sku: PlannedSku) -> bytes:
    from PIL import Image, ImageDraw

    size = 480
    image = Image.new("RGB", (size, size), (246, 247, 249))
    draw = ImageDraw.Draw(image)
    fill = _colour_of(sku)
    outline = tuple(max(0, c - 60) for c in fill)
    _draw_shape(draw, SHAPES.get(spu.line.category, "tall"), fill, outline, size)
    draw.text((24, 20), spu.brand[1].upper(), fill=(200, 30, 40), font=_font(30))
    draw.text((24, size - 52), spu.model, fill=(60, 60, 60), font=_font(24))
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=82)
    return buffer.getvalue()


def _detail_card(spu: PlannedSpu) -> bytes:
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (480, 480), (32, 36, 44))
    draw = ImageDraw.Draw(image)
    draw.text((30, 40), spu.brand[1], fill=(255, 255, 255), font=_font(44))
    draw.text((30, 110), spu.model, fill=(210, 180, 120), font=_font(32))
    for row, (name, _) in enumerate(spu.skus[0].specs):
        values = sorted({dict(s.specs)[name] for s in spu.skus})
        draw.rectangle((30, 200 + row * 90, 450, 270 + row * 90), outline=(90, 96, 110), width=2)
        draw.text(
            (46, 222 + row * 90), f"{len(values)} options", fill=(200, 200, 200), font=_font(24)
        )
    buffer = io.BytesIO()
    image.save(buffer, "PNG", optimize=False)
    return buffer.getvalue()


def _brand_logo(latin: str) -> bytes:
    """A 240x120 logo: the brand's Latin name on white, in a colour of its own."""
    from PIL import Image, ImageDraw

    palette = [(200, 30, 40), (24, 92, 170), (18, 120, 100), (60, 60, 70), (230, 120, 20)]
    colour = palette[sum(latin.encode()) % len(palette)]
    image = Image.new("RGB", (240, 120), (255, 255, 255))
    draw = ImageDraw.Draw(image)
    draw.rounded_rectangle((6, 6, 233, 113), 14, outline=colour, width=4)
    font = _font(34 if len(latin) <= 8 else 24)
    left, top, right, bottom = draw.textbbox((0, 0), latin, font=font)
    draw.text(
        ((240 - (right - left)) / 2, (120 - (bottom - top)) / 2 - top),
        latin,
        fill=colour,
        font=font,
    )
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def _banner_image(caption: str, position: int) -> bytes:
    from PIL import Image, ImageDraw

    palette = [(196, 30, 58), (24, 92, 170), (18, 140, 126), (120, 60, 170), (220, 120, 30)]
    colour = palette[(position - 1) % len(palette)]
    image = Image.new("RGB", (1200, 400), colour)
    draw = ImageDraw.Draw(image)
    for step in range(8):
        inset = step * 22
        shade = tuple(min(255, c + step * 12) for c in colour)
        draw.ellipse((760 + inset, -120 + inset, 1320 - inset, 440 - inset), fill=shade)
    draw.text((70, 130), caption, fill=(255, 255, 255), font=_font(64))
    draw.text((74, 230), "JIADIAN SHOP", fill=(255, 235, 200), font=_font(30))
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=85)
    return buffer.getvalue()


def _draw_shape(draw: Any, shape: str, fill: Any, outline: Any, size: int) -> None:
    """A recognisable outline of the appliance, centred on the card."""
    c = size // 2
    if shape == "tall":
        draw.rounded_rectangle((c - 90, 80, c + 90, 410), 18, fill=fill, outline=outline, width=4)
        draw.line((c, 90, c, 400), fill=outline, width=3)
        draw.line((c - 20, 200, c - 20, 260), fill=outline, width=6)
        draw.line((c + 20, 200, c + 20, 260), fill=outline, width=6)
    elif shape == "drum":
        draw.rounded_rectangle((c - 120, 90, c + 120, 400), 16, fill=fill, outline=outline, width=4)
        draw.ellipse((c - 80, 170, c + 80, 330), fill=(210, 220, 230), outline=outline, width=8)
        draw.line((c - 100, 130, c + 100, 130), fill=outline, width=3)
    elif shape == "wide":
        draw.rounded_rectangle((60, 170, size - 60, 300), 40, fill=fill, outline=outline, width=4)
        draw.line((90, 270, size - 90, 270), fill=outline, width=3)
    elif shape == "screen":
        draw.rectangle((50, 120, size - 50, 360), fill=(20, 22, 30), outline=fill, width=10)
        draw.rectangle((c - 60, 360, c + 60, 380), fill=fill)
        draw.rectangle((c - 120, 380, c + 120, 392), fill=outline)
    elif shape == "hood":
        draw.polygon([(c - 170, 300), (c + 170, 300), (c + 60, 180), (c - 60, 180)], fill=fill)
        draw.rectangle((c - 40, 80, c + 40, 180), fill=fill, outline=outline, width=3)
    elif shape == "hob":
        draw.rounded_rectangle(
            (50, 180, size - 50, 320), 14, fill=(30, 30, 34), outline=fill, width=6
        )
        for x in (c - 100, c + 100):
            draw.ellipse((x - 55, 195, x + 55, 305), outline=fill, width=6)
    elif shape == "tank":
        draw.rounded_rectangle((70, 160, size - 70, 330), 80, fill=fill, outline=outline, width=4)
        draw.ellipse((c - 25, 220, c + 25, 270), outline=outline, width=5)
    elif shape == "oven":
        draw.rounded_rectangle((60, 140, size - 60, 360), 14, fill=fill, outline=outline, width=4)
        draw.rectangle((90, 170, 320, 330), fill=(40, 44, 52))
        draw.ellipse((350, 190, 400, 240), outline=outline, width=5)
    elif shape == "pot":
        draw.ellipse((c - 130, 170, c + 130, 400), fill=fill, outline=outline, width=4)
        draw.ellipse((c - 120, 130, c + 120, 220), fill=fill, outline=outline, width=4)
        draw.rounded_rectangle((c - 40, 120, c + 40, 140), 8, fill=outline)
    elif shape == "jug":
        draw.polygon([(c - 80, 120), (c + 80, 120), (c + 110, 380), (c - 110, 380)], fill=fill)
        draw.arc((c + 60, 160, c + 170, 320), 270, 90, fill=outline, width=14)
        draw.rectangle((c - 120, 380, c + 120, 410), fill=outline)
    elif shape == "fan":
        draw.ellipse((c - 130, 70, c + 130, 330), fill=fill, outline=outline, width=6)
        for angle in range(0, 360, 60):
            draw.pieslice((c - 110, 90, c + 110, 310), angle, angle + 30, fill=outline)
        draw.rectangle((c - 10, 330, c + 10, 400), fill=outline)
        draw.ellipse((c - 70, 390, c + 70, 420), fill=outline)
    else:  # stick
        draw.rounded_rectangle((c - 26, 70, c + 26, 420), 24, fill=fill, outline=outline, width=4)
        draw.ellipse((c - 12, 200, c + 12, 224), fill=outline)
