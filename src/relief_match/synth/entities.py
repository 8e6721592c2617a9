"""Names and numbers of things: enterprises, shops, employers, plates, certificates."""

from __future__ import annotations

import numpy as np
import polars as pl

from relief_match.synth.ids import make_credit_codes
from relief_match.synth.people import DISTRICT_LABEL, TOWNSHIPS

BRANDS = (
    "宏达", "鑫源", "华美", "金辉", "恒昌", "盛世", "永发", "利群", "新达", "嘉禾", "伟业", "东升",
    "信诚", "佳和", "福满", "德胜", "粤通", "兴隆", "天成", "隆泰", "富源", "万家", "顺安", "安达",
    "润丰", "博雅", "汇通", "长青", "锦绣", "瑞丰", "和顺", "金鹏", "众诚", "广源", "龙腾", "惠民",
)  # fmt: skip
TRADES = ("贸易", "科技", "电子", "五金制品", "建材", "物流", "餐饮管理", "房地产开发", "塑胶制品", "服装", "实业", "环保科技")  # fmt: skip
ENT_TYPES = (
    "有限责任公司(自然人投资或控股)", "有限责任公司(自然人独资)", "股份有限公司(非上市)",
    "个人独资企业", "普通合伙企业", "有限责任公司(法人独资)",
)  # fmt: skip
ENT_TYPE_P = np.array([0.55, 0.2, 0.03, 0.1, 0.04, 0.08])
SHOP_TRADES = ("五金店", "便利店", "餐馆", "理发店", "粮油店", "水果店", "汽车维修部", "服装店", "茶行", "建材店", "小吃店", "电器维修部")  # fmt: skip
INDUSTRIES = ("零售业", "餐饮业", "居民服务业", "批发业", "道路运输业", "机动车修理业", "制造业")
FACILITIES = (
    "惠州市第一看守所", "惠州市第二看守所", "惠州监狱", "广东省北江监狱", "惠东县看守所",
    "博罗县看守所", "龙门县看守所", "惠州市拘留所", "广东省女子监狱",
)  # fmt: skip
GOV_BODIES = (
    "惠州市民政局", "惠州市财政局", "惠州市教育局", "惠州市公安局", "惠州市自然资源局",
    "惠州市住房和城乡建设局", "惠州市交通运输局", "惠州市人力资源和社会保障局", "惠州市卫生健康局",
    "惠城区人民政府办公室", "惠阳区城市管理和综合执法局", "博罗县农业农村局", "惠东县市场监督管理局",
    "龙门县水利局",
)  # fmt: skip
INSTITUTIONS = (
    "惠州市第一中学", "惠州市中心人民医院", "惠州市第三人民医院", "惠州学院", "惠州市第一人民医院",
    "博罗县人民医院", "惠东县人民医院", "惠阳区第一中学", "惠城区实验小学", "龙门县中心小学",
    "惠州市气象局气象台", "惠州市疾病预防控制中心",
)  # fmt: skip
SOES = (
    "惠州市水务集团有限公司", "惠州市交通投资集团有限公司", "惠州市能源集团有限公司",
    "惠州市国有资本投资集团有限公司", "惠州市城市建设投资集团有限公司", "惠州市公共交通集团有限公司",
)  # fmt: skip

PLATE_CHARS = "ABCDEFGHJKLMNPQRSTUVWXYZ0123456789"


def plates(serial: np.ndarray) -> pl.Series:
    """Distinct 粤L plates (5 characters after the prefix) from distinct serials."""
    s = np.asarray(serial, dtype=np.int64)
    lut = np.array(list(PLATE_CHARS))
    parts = []
    rest = s.copy()
    for _ in range(5):
        parts.append(lut[rest % 34])
        rest //= 34
    out = np.char.add("粤L", parts[4])
    for p in parts[3::-1]:
        out = np.char.add(out, p)
    return pl.Series(out.astype(str))


def enterprise_names(rng: np.random.Generator, n: int, serial: np.ndarray) -> pl.Series:
    """惠州市<brand><trade>有限公司, with a serial suffix where brands collide."""
    b = np.array(BRANDS)[rng.integers(0, len(BRANDS), n)]
    t = np.array(TRADES)[rng.integers(0, len(TRADES), n)]
    suffix = np.where(serial % 7 == 0, "", np.char.add(np.asarray(serial % 997).astype(str), ""))
    return pl.Series(
        np.char.add(
            np.char.add(np.char.add(np.char.add("惠州市", b), suffix), t), "有限公司"
        ).astype(str)
    )


def shop_names(rng: np.random.Generator, districts: np.ndarray) -> pl.Series:
    """<district><brand><shop trade>."""
    n = len(districts)
    lab = np.array([DISTRICT_LABEL[int(d)] for d in districts]) if n else np.array([], dtype=str)
    b = np.array(BRANDS)[rng.integers(0, len(BRANDS), n)]
    t = np.array(SHOP_TRADES)[rng.integers(0, len(SHOP_TRADES), n)]
    return pl.Series(np.char.add(np.char.add(np.char.add("惠州市", lab), b), t).astype(str))


def credit_codes(serial: np.ndarray, districts: np.ndarray, kind: str) -> pl.Series:
    """统一社会信用代码 for serials (distinct serials give distinct codes)."""
    return make_credit_codes(np.asarray(serial), np.asarray(districts), kind)


def locations(rng: np.random.Generator, districts: np.ndarray) -> pl.Series:
    """坐落 of a property."""
    out = []
    for d in districts:
        towns = TOWNSHIPS[int(d)]
        t = towns[int(rng.integers(0, len(towns)))]
        out.append(
            f"惠州市{DISTRICT_LABEL[int(d)]}{t}{BRANDS[int(rng.integers(0, len(BRANDS)))]}花园"
            f"{int(rng.integers(1, 30))}栋{int(rng.integers(1, 33))}0{int(rng.integers(1, 9))}房"
        )
    return pl.Series(out, dtype=pl.String)


def property_cert_nos(serial: np.ndarray, years: np.ndarray) -> pl.Series:
    """粤(YYYY)惠州市不动产权第NNNNNNN号."""
    y = pl.Series(np.asarray(years)).cast(pl.String)
    s = pl.Series(np.asarray(serial)).cast(pl.String).str.zfill(7)
    return "粤(" + y + ")惠州市不动产权第" + s + "号"
