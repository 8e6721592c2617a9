"""Chinese personal names with realistic frequencies, and the ways names get damaged.

Surnames follow national frequencies, re-weighted towards the Hakka/Cantonese
surnames common in Huizhou; given names come from small, skewed pools so that
namesakes (王伟, 李娜, 陈静 ...) collide as they do in a real city.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from relief_match.text import to_traditional

# (surname, weight): national frequency (per cent), then regional boosts below.
_SURNAMES: list[tuple[str, float]] = [
    ("王", 7.12), ("李", 7.19), ("张", 6.76), ("刘", 5.38), ("陈", 4.53), ("杨", 3.08),
    ("黄", 2.23), ("赵", 2.29), ("吴", 2.05), ("周", 1.89), ("徐", 1.67), ("孙", 1.54),
    ("马", 1.44), ("朱", 1.33), ("胡", 1.30), ("郭", 1.16), ("何", 1.10), ("林", 1.06),
    ("高", 1.03), ("罗", 0.97), ("郑", 0.88), ("梁", 0.83), ("谢", 0.76), ("宋", 0.70),
    ("唐", 0.69), ("许", 0.66), ("韩", 0.65), ("冯", 0.63), ("邓", 0.61), ("曹", 0.59),
    ("彭", 0.58), ("曾", 0.56), ("肖", 0.56), ("田", 0.53), ("董", 0.52), ("袁", 0.51),
    ("潘", 0.51), ("于", 0.50), ("蒋", 0.49), ("蔡", 0.48), ("余", 0.47), ("杜", 0.46),
    ("叶", 0.45), ("程", 0.44), ("苏", 0.43), ("魏", 0.42), ("吕", 0.41), ("丁", 0.40),
    ("任", 0.39), ("沈", 0.38), ("姚", 0.37), ("卢", 0.36), ("姜", 0.35), ("崔", 0.34),
    ("钟", 0.34), ("谭", 0.33), ("陆", 0.32), ("汪", 0.31), ("范", 0.31), ("金", 0.30),
    ("石", 0.29), ("廖", 0.29), ("贾", 0.28), ("夏", 0.27), ("韦", 0.26), ("付", 0.26),
    ("方", 0.25), ("白", 0.25), ("邹", 0.24), ("孟", 0.24), ("熊", 0.23), ("秦", 0.23),
    ("邱", 0.22), ("江", 0.22), ("尹", 0.21), ("薛", 0.21), ("闫", 0.20), ("段", 0.20),
    ("雷", 0.19), ("侯", 0.19), ("龙", 0.18), ("史", 0.18), ("陶", 0.17), ("黎", 0.17),
    ("贺", 0.17), ("顾", 0.16), ("毛", 0.16), ("郝", 0.16), ("龚", 0.15), ("邵", 0.15),
    ("万", 0.15), ("钱", 0.15), ("严", 0.14), ("覃", 0.14), ("武", 0.14), ("戴", 0.14),
    ("莫", 0.13), ("孔", 0.13), ("向", 0.13), ("汤", 0.12), ("欧阳", 0.05), ("司马", 0.01),
]  # fmt: skip
_REGIONAL_BOOST = {
    "陈": 2.0, "黄": 2.0, "林": 2.0, "叶": 2.5, "钟": 2.5, "梁": 1.5, "曾": 1.8,
    "罗": 1.5, "邓": 1.5, "李": 1.1, "张": 1.0, "刘": 1.2, "温": 1.0, "赖": 1.0,
}  # fmt: skip

SURNAMES: list[str] = [s for s, _ in _SURNAMES]
SURNAME_P = np.array([w * _REGIONAL_BOOST.get(s, 1.0) for s, w in _SURNAMES])
SURNAME_P = SURNAME_P / SURNAME_P.sum()

_MALE_SINGLE = list(
    "伟强磊军勇杰涛明超刚平辉鹏华飞鑫波斌宇浩凯健俊帆帅旭宁龙林阳建亮成峰坤兵东海文"
)
_FEMALE_SINGLE = list("芳娜敏静丽艳娟霞燕玲婷红颖琳雪慧莉萍丹洁倩梅兰琴云英月欣悦佳怡")
_MALE_FIRST = list("建志国俊文家子浩宇明永海伟振嘉晓德梓锦思少炳汉")
_MALE_SECOND = list("华明国伟军平强辉杰峰涛成文龙林轩宇豪睿鹏荣生喆堃燊")
_FEMALE_FIRST = list("秀桂丽晓雅欣诗子梓佳美思婉玉春海凤淑")
_FEMALE_SECOND = list("英兰芳华珍玲琳婷怡涵萱慧敏霞红梅莲娇玥珺")

_MINORITY_MALE = [
    "买买提",
    "艾力",
    "阿不都",
    "吐尔逊",
    "艾尔肯",
    "努尔",
    "亚森",
    "阿里木",
    "热合曼",
    "依明",
]
_MINORITY_FEMALE = [
    "阿依古丽",
    "古丽娜尔",
    "热依拉",
    "米娜瓦尔",
    "帕提古丽",
    "阿依努尔",
    "迪丽努尔",
    "再努尔",
]

# Characters that older systems cannot type, with what clerks put instead.
RARE_HOMOPHONES = {"喆": "哲", "堃": "坤", "燊": "深", "玥": "月", "珺": "君"}
COMMON_HOMOPHONES = {
    "伟": "玮", "娜": "纳", "丽": "莉", "敏": "闵", "静": "晶", "军": "君", "杰": "洁",
    "涛": "滔", "明": "铭", "华": "桦", "芳": "方", "婷": "亭", "辉": "晖", "玲": "铃",
    "红": "虹", "英": "瑛", "平": "萍", "强": "墙", "勇": "永", "燕": "艳",
}  # fmt: skip

DOT_VARIANTS = ["•", "・", ".", "．"]
NAME_NOTES = ["（户主）", "(本人)", "（待核实）", "(已故)", "（外出务工）"]


def _zipf(n: int, a: float = 0.8) -> np.ndarray:
    w = 1.0 / np.arange(1, n + 1) ** a
    return w / w.sum()


def sample_surnames(rng: np.random.Generator, n: int) -> np.ndarray:
    """Indices into :data:`SURNAMES`, drawn with realistic frequencies."""
    return rng.choice(len(SURNAMES), size=n, p=SURNAME_P)


def sample_given_names(rng: np.random.Generator, male: np.ndarray) -> pl.Series:
    """Given names for people of the given sex; ~30 % single-character."""
    n = len(male)
    single = rng.random(n) < 0.3
    out = np.empty(n, dtype=object)
    for is_male, first_pool, second_pool, single_pool in (
        (True, _MALE_FIRST, _MALE_SECOND, _MALE_SINGLE),
        (False, _FEMALE_FIRST, _FEMALE_SECOND, _FEMALE_SINGLE),
    ):
        sel = male == is_male
        k = int(sel.sum())
        s_idx = rng.choice(len(single_pool), size=k, p=_zipf(len(single_pool), 0.9))
        f_idx = rng.choice(len(first_pool), size=k, p=_zipf(len(first_pool), 0.7))
        t_idx = rng.choice(len(second_pool), size=k, p=_zipf(len(second_pool), 0.7))
        singles = np.array(single_pool, dtype=object)[s_idx]
        doubles = (
            np.array(first_pool, dtype=object)[f_idx] + np.array(second_pool, dtype=object)[t_idx]
        )
        out[sel] = np.where(single[sel], singles, doubles)
    return pl.Series(out.astype(str))


def minority_names(rng: np.random.Generator, male: np.ndarray) -> list[str]:
    """Uyghur-style names ``given·father``, with the standard middle dot."""
    res = []
    for m in male:
        pool = _MINORITY_MALE if m else _MINORITY_FEMALE
        given = pool[int(rng.integers(0, len(pool)))]
        father = _MINORITY_MALE[int(rng.integers(0, len(_MINORITY_MALE)))]
        res.append(f"{given}·{father}")
    return res


def has_traditional_form(name: str) -> bool:
    """True when the traditional form differs from the simplified one."""
    return to_traditional(name) != name


def pinyin_of(ch: str) -> str:
    """Toneless pinyin of one character."""
    from pypinyin import lazy_pinyin

    return "".join(lazy_pinyin(ch))


def damage_name(name: str, kind: str, rng: np.random.Generator) -> str | None:
    """Apply a name defect; None when the kind does not apply to this name."""
    if kind == "name_traditional":
        t = to_traditional(name)
        return t if t != name else None
    if kind == "name_space":
        if len(name) < 2:
            return None
        if "·" in name:
            return name.replace("·", " · ")
        return name[0] + " " + name[1:]
    if kind == "name_dot_variant":
        if "·" not in name:
            return None
        return name.replace("·", DOT_VARIANTS[int(rng.integers(0, len(DOT_VARIANTS)))])
    if kind in ("name_homophone", "name_pinyin", "name_placeholder"):
        pos = next((i for i, c in enumerate(name) if c in RARE_HOMOPHONES), None)
        if pos is None:
            if kind == "name_homophone":
                pos = next(
                    (i for i, c in enumerate(name) if i > 0 and c in COMMON_HOMOPHONES), None
                )
            else:
                pos = len(name) - 1 if len(name) > 1 else None
        if pos is None or (pos == 0 and len(name) > 1 and kind != "name_homophone"):
            return None
        ch = name[pos]
        if kind == "name_homophone":
            rep = RARE_HOMOPHONES.get(ch) or COMMON_HOMOPHONES.get(ch)
            if rep is None:
                return None
        elif kind == "name_pinyin":
            rep = pinyin_of(ch)
        else:
            rep = "?" if rng.random() < 0.6 else "*"
        return name[:pos] + rep + name[pos + 1 :]
    if kind == "name_note":
        return name + NAME_NOTES[int(rng.integers(0, len(NAME_NOTES)))]
    raise ValueError(kind)


def swap_given_name(name: str) -> str | None:
    """The two given-name characters swapped (``王建国`` -> ``王国建``); None
    unless the name is a surname plus two different given-name characters."""
    if len(name) != 3 or name[1] == name[2] or "·" in name or name.isascii():
        return None
    return name[0] + name[2] + name[1]


def homophone_of(name: str, rng: np.random.Generator) -> str | None:
    """A homophone of the name (one given-name character replaced by one with
    the same pinyin), or None."""
    return damage_name(name, "name_homophone", rng)
