"""The home-appliance vocabulary shared by the demo shop and the bulk generator.

Each product line is a leaf category (冰箱, 洗衣机 ...) with its brands, series words,
model number prefix, the specs that vary between SKUs of one SPU, a price range and
selling points for captions. Names are composed as a shop writes them:
`海尔（Haier）十字对开门 470升 星蕴银 冰箱 BCD-470WGHTD`.
"""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True)
class ProductLine:
    parent: str  # top-level category, e.g. 大家电
    category: str  # leaf category, e.g. 冰箱
    noun: str  # the product word in names
    brands: tuple[tuple[str, str], ...]  # (Chinese, Latin)
    series: tuple[str, ...]
    model_prefix: str
    # Specs that vary between the SKUs of one SPU; the first one drives the price
    # (a bigger capacity costs more), values are listed from cheapest to dearest.
    specs: tuple[tuple[str, tuple[str, ...]], ...]
    price_yuan: tuple[int, int]
    features: tuple[str, ...]


CAPTION_PROMOTIONS = (
    "【以旧换新补贴】",
    "【24期免息】",
    "【官方直营】",
    "【送装一体】",
    "【晒单有礼】",
    "",
    "",
)

PRODUCT_LINES: tuple[ProductLine, ...] = (
    ProductLine(
        "大家电",
        "冰箱",
        "冰箱",
        (("海尔", "Haier"), ("美的", "Midea"), ("西门子", "SIEMENS"), ("容声", "Ronshen")),
        ("十字对开门", "法式多门", "双开门", "三门", "零嵌入"),
        "BCD-",
        (
            ("容量", ("218升", "310升", "470升", "510升", "650升")),
            ("颜色", ("月光白", "星蕴银", "玄青灰", "墨玉黑")),
        ),
        (1299, 12999),
        ("风冷无霜", "一级能效", "变频节能", "净味保鲜", "母婴分储", "智能控温"),
    ),
    ProductLine(
        "大家电",
        "洗衣机",
        "洗衣机",
        (("小天鹅", "LittleSwan"), ("海尔", "Haier"), ("西门子", "SIEMENS"), ("松下", "Panasonic")),
        ("滚筒", "波轮", "洗烘一体", "直驱变频", "超薄全嵌"),
        "TG",
        (("容量", ("8公斤", "10公斤", "12公斤")), ("颜色", ("月光白", "钛晶灰", "玉墨银"))),
        (1099, 8999),
        ("除菌除螨", "智能投放", "超薄平嵌", "蒸汽护理", "一级能效", "低噪运行"),
    ),
    ProductLine(
        "大家电",
        "空调",
        "空调",
        (("格力", "GREE"), ("美的", "Midea"), ("海信", "Hisense"), ("奥克斯", "AUX")),
        ("新一级能效 挂机", "变频冷暖 柜机", "舒适风 挂机", "智能自清洁 柜机"),
        "KFR-",
        (("匹数", ("大1匹", "1.5匹", "2匹", "3匹")), ("能效", ("三级能效", "一级能效"))),
        (1899, 9999),
        ("急速冷暖", "防直吹", "自清洁", "WiFi智控", "低噪静音", "新风换气"),
    ),
    ProductLine(
        "大家电",
        "平板电视",
        "电视",
        (("海信", "Hisense"), ("TCL", "TCL"), ("小米", "Xiaomi"), ("索尼", "SONY")),
        ("4K超高清", "Mini LED", "QLED量子点", "游戏电视", "全面屏"),
        "E",
        (
            ("尺寸", ("43英寸", "55英寸", "65英寸", "75英寸", "85英寸")),
            ("颜色", ("曜石黑", "深空灰")),
        ),
        (1299, 15999),
        ("120Hz高刷", "远场语音", "杜比视界", "4+64GB", "护眼防蓝光", "HDMI2.1"),
    ),
    ProductLine(
        "厨卫大电",
        "油烟机",
        "油烟机",
        (("方太", "FOTILE"), ("老板", "ROBAM"), ("华帝", "VATTI"), ("美的", "Midea")),
        ("侧吸式", "顶侧双吸", "欧式塔型", "集成灶款"),
        "CXW-",
        (("风量", ("21立方米/分钟", "23立方米/分钟", "25立方米/分钟")), ("颜色", ("雅黑", "银灰"))),
        (1499, 6999),
        ("大吸力", "挥手控制", "自动清洗", "烟灶联动", "低噪音", "热熔洗"),
    ),
    ProductLine(
        "厨卫大电",
        "燃气灶",
        "燃气灶",
        (("方太", "FOTILE"), ("老板", "ROBAM"), ("华帝", "VATTI")),
        ("嵌入式双灶", "台嵌两用", "猛火灶"),
        "JZT-",
        (("火力", ("4.5kW", "5.0kW", "5.2kW")), ("气源", ("天然气", "液化气"))),
        (699, 3299),
        ("熄火保护", "定时关火", "钢化玻璃面板", "一级能效", "聚能猛火"),
    ),
    ProductLine(
        "厨卫大电",
        "热水器",
        "热水器",
        (("A.O.史密斯", "AOSmith"), ("海尔", "Haier"), ("万和", "Vanward"), ("美的", "Midea")),
        ("电热水器", "燃气热水器", "速热储水式"),
        "EWH-",
        (("容量", ("50升", "60升", "80升")), ("颜色", ("白色", "香槟金"))),
        (899, 5999),
        ("一级能效", "3000W速热", "镁棒免更换", "APP智控", "健康抑菌", "恒温"),
    ),
    ProductLine(
        "厨卫大电",
        "洗碗机",
        "洗碗机",
        (("西门子", "SIEMENS"), ("方太", "FOTILE"), ("美的", "Midea")),
        ("嵌入式", "独立式", "水槽式"),
        "SJ",
        (("套数", ("8套", "13套", "15套")), ("颜色", ("不锈钢色", "曜石黑"))),
        (1999, 8999),
        ("高温除菌", "热风烘干", "一级水效", "智能存储", "除菌率99.9%"),
    ),
    ProductLine(
        "厨房小电",
        "电饭煲",
        "电饭煲",
        (("美的", "Midea"), ("苏泊尔", "SUPOR"), ("九阳", "Joyoung"), ("象印", "ZOJIRUSHI")),
        ("IH电磁加热", "球釜内胆", "低糖", "智能预约"),
        "MB-",
        (("容量", ("3升", "4升", "5升")), ("颜色", ("白色", "香槟色", "黑色"))),
        (199, 1999),
        ("24小时预约", "柴火饭", "不粘内胆", "多功能菜单", "保温"),
    ),
    ProductLine(
        "厨房小电",
        "微波炉",
        "微波炉",
        (("格兰仕", "Galanz"), ("美的", "Midea"), ("松下", "Panasonic")),
        ("变频", "微蒸烤一体", "平板式"),
        "M1-",
        (("容量", ("20升", "23升", "25升")), ("颜色", ("白色", "银色"))),
        (399, 2999),
        ("智能解冻", "光波烧烤", "杀菌", "一键启动", "易清洁内胆"),
    ),
    ProductLine(
        "厨房小电",
        "破壁机",
        "破壁机",
        (("九阳", "Joyoung"), ("美的", "Midea"), ("苏泊尔", "SUPOR")),
        ("静音", "加热", "免洗"),
        "L18-",
        (("容量", ("1.2升", "1.75升")), ("颜色", ("白色", "灰色"))),
        (299, 1899),
        ("降噪罩", "预约", "8叶刀头", "自动清洗", "豆浆果汁"),
    ),
    ProductLine(
        "厨房小电",
        "电水壶",
        "电水壶",
        (("美的", "Midea"), ("苏泊尔", "SUPOR"), ("小米", "Xiaomi")),
        ("304不锈钢", "恒温", "双层防烫"),
        "SW-",
        (("容量", ("1.5升", "1.7升")), ("颜色", ("白色", "银色", "粉色"))),
        (79, 399),
        ("快速烧水", "防干烧", "一体无缝内胆", "保温"),
    ),
    ProductLine(
        "生活电器",
        "吸尘器",
        "吸尘器",
        (("戴森", "dyson"), ("追觅", "dreame"), ("石头", "Roborock"), ("小米", "Xiaomi")),
        ("无线手持", "扫拖一体", "洗地机", "除螨"),
        "V",
        (("类型", ("标准版", "旗舰版", "Pro版")), ("颜色", ("星云紫", "石墨灰", "镍铁色"))),
        (899, 5999),
        ("强劲吸力", "60分钟续航", "激光探测", "自动集尘", "多种刷头"),
    ),
    ProductLine(
        "生活电器",
        "空气净化器",
        "空气净化器",
        (("飞利浦", "PHILIPS"), ("小米", "Xiaomi"), ("352", "352"), ("布鲁雅尔", "Blueair")),
        ("除甲醛", "除菌", "母婴款"),
        "AC",
        (("适用面积", ("40平方米", "60平方米", "90平方米")), ("颜色", ("白色", "灰色"))),
        (699, 4999),
        ("CADR 500", "除甲醛", "除过敏原", "APP远程", "低噪睡眠模式"),
    ),
    ProductLine(
        "生活电器",
        "电风扇",
        "电风扇",
        (("美的", "Midea"), ("艾美特", "Airmate"), ("格力", "GREE")),
        ("空气循环扇", "落地扇", "台式扇", "塔扇"),
        "FS40-",
        (("类型", ("机械款", "遥控款", "智能款")), ("颜色", ("白色", "灰色"))),
        (99, 799),
        ("直流变频", "12档风速", "定时", "静音", "立体摇头"),
    ),
    ProductLine(
        "生活电器",
        "加湿器",
        "加湿器",
        (("美的", "Midea"), ("小熊", "Bear"), ("德尔玛", "Deerma")),
        ("无雾", "上加水", "大雾量"),
        "SC-",
        (("容量", ("4升", "6升")), ("颜色", ("白色", "粉色"))),
        (99, 699),
        ("恒湿", "银离子抗菌", "静音", "香薰"),
    ),
    ProductLine(
        "个护健康",
        "电动牙刷",
        "电动牙刷",
        (("飞利浦", "PHILIPS"), ("欧乐B", "Oral-B"), ("usmile", "usmile")),
        ("声波", "旋转式", "智能感压"),
        "HX",
        (("刷头", ("2支装", "4支装")), ("颜色", ("白色", "黑色", "粉色"))),
        (149, 1299),
        ("5种模式", "续航90天", "压力提醒", "IPX7防水"),
    ),
    ProductLine(
        "个护健康",
        "吹风机",
        "吹风机",
        (("戴森", "dyson"), ("松下", "Panasonic"), ("飞科", "FLYCO")),
        ("高速", "负离子", "护发"),
        "HD",
        (("功率", ("1600W", "1800W")), ("颜色", ("樱花粉", "深海蓝", "白色"))),
        (149, 3299),
        ("速干", "智能温控", "低噪", "磁吸风嘴"),
    ),
    ProductLine(
        "个护健康",
        "剃须刀",
        "剃须刀",
        (("飞利浦", "PHILIPS"), ("博朗", "Braun"), ("飞科", "FLYCO")),
        ("往复式", "旋转式", "全身水洗"),
        "S",
        (("刀头", ("三刀头", "五刀头")), ("颜色", ("黑色", "银色"))),
        (129, 2499),
        ("全身水洗", "快充", "智能感应", "自动研磨"),
    ),
)

TOP_CATEGORIES: tuple[str, ...] = tuple(dict.fromkeys(line.parent for line in PRODUCT_LINES))

REVIEWS = (
    "送货很快，安装师傅很专业，用着不错。",
    "外观漂亮，做工扎实，和描述一致。",
    "性价比高，家里老人也会用。",
    "声音很小，晚上开着也不影响睡觉。",
    "第二次购买了，质量稳定，推荐。",
    "包装完好，物流给力，客服回复及时。",
    "功能齐全，就是说明书有点简单。",
    "用了一周，效果明显，值得购买。",
    "颜色很正，放在家里很搭。",
    "一般般吧，价格再低一点就好了。",
)


def model_number(line: ProductLine, rng: random.Random) -> str:
    letters = "".join(rng.choice("ABCDEFGHKLMNPQRSTWXYZ") for _ in range(rng.randint(1, 3)))
    return f"{line.model_prefix}{rng.randint(100, 999)}{letters}"


def spu_name(line: ProductLine, brand: tuple[str, str], series: str, model: str) -> str:
    return f"{brand[0]}（{brand[1]}）{series}{line.noun} {model}"[:50]


def sku_name(
    line: ProductLine, brand: tuple[str, str], series: str, model: str, values: list[str]
) -> str:
    return f"{brand[0]}（{brand[1]}）{series} {' '.join(values)} {line.noun} {model}"[:100]


def caption(line: ProductLine, rng: random.Random) -> str:
    points = rng.sample(line.features, k=min(3, len(line.features)))
    return (rng.choice(CAPTION_PROMOTIONS) + " ".join(points))[:200]


def price_fen(line: ProductLine, level: float, rng: random.Random) -> int:
    """A shop-like price in fen: in the line's range, rising with the spec level (0..1)."""
    low, high = line.price_yuan
    yuan = low + (high - low) * (0.15 + 0.7 * level) * rng.uniform(0.85, 1.15)
    yuan = max(low, min(high, int(yuan)))
    return (yuan // 10 * 10 + 9) * 100
