"""The population: hukou households with realistic structure, names and valid IDs."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from relief_match.synth import names as nm
from relief_match.synth.fmt import NO_DATE
from relief_match.synth.ids import make_id_numbers
from relief_match.synth.timeline import DISTRICT_P, DISTRICTS, age_on

TOWNSHIPS: dict[int, tuple[str, ...]] = {
    441302: ("桥东街道", "桥西街道", "江北街道", "江南街道", "河南岸街道", "龙丰街道", "小金口街道", "水口街道", "陈江街道", "马安镇", "横沥镇", "芦洲镇", "汝湖镇"),
    441303: ("淡水街道", "秋长街道", "三和街道", "沙田镇", "新圩镇", "镇隆镇", "永湖镇", "良井镇", "平潭镇"),
    441322: ("罗阳街道", "石湾镇", "园洲镇", "龙溪街道", "杨村镇", "柏塘镇", "公庄镇", "湖镇镇", "长宁镇", "福田镇", "龙华镇"),
    441323: ("平山街道", "大岭街道", "吉隆镇", "稔山镇", "黄埠镇", "多祝镇", "白花镇", "梁化镇", "铁涌镇", "平海镇"),
    441324: ("龙城街道", "平陵街道", "永汉镇", "龙华镇", "麻榨镇", "龙田镇", "龙江镇", "路溪镇", "地派镇", "龙潭镇"),
}  # fmt: skip
DISTRICT_LABEL = {
    441302: "惠城区",
    441303: "惠阳区",
    441322: "博罗县",
    441323: "惠东县",
    441324: "龙门县",
}
_COMMUNITIES = (
    "幸福社区", "和平社区", "新村", "东坪村", "塘尾村", "石岗村", "江屋村", "上围村", "下角社区", "新民村",
    "红花村", "长岭村", "水围村", "莲塘社区", "黄竹村", "金山社区", "龙岗村", "白石村", "大塘村", "沙岭社区",
)  # fmt: skip

# ID region prefixes for people whose ID was issued outside Huizhou.
MIGRANT_REGIONS = np.array(
    [440111, 440304, 441502, 441521, 441621, 441602, 445202, 440513, 441881, 430102,
     430521, 431021, 450102, 450923, 510122, 511321, 360702, 360733, 411323, 411628,
     420117, 421127, 520103, 500101]
)  # fmt: skip
MINORITY_REGIONS = np.array([650102, 653101, 652101])

# Household templates: roles (index into RELATIONS), weight, head age range.
ROLE_HEAD, ROLE_SPOUSE, ROLE_CHILD, ROLE_PARENT, ROLE_GRANDCHILD, ROLE_SIBLING, ROLE_OTHER = range(
    7
)
_TEMPLATES: list[tuple[tuple[int, ...], float, tuple[int, int]]] = [
    ((0,), 0.20, (20, 92)),
    ((0, 1), 0.16, (22, 90)),
    ((0, 2), 0.06, (25, 75)),
    ((0, 3), 0.03, (22, 60)),
    ((0, 1, 2), 0.17, (24, 62)),
    ((0, 2, 2), 0.03, (28, 65)),
    ((0, 1, 3), 0.03, (25, 60)),
    ((0, 1, 2, 2), 0.12, (28, 60)),
    ((0, 1, 2, 3), 0.06, (28, 55)),
    ((0, 5), 0.02, (20, 70)),
    ((0, 1, 2, 2, 3), 0.04, (30, 55)),
    ((0, 1, 2, 2, 2), 0.02, (32, 60)),
    ((0, 1, 2, 4), 0.03, (50, 80)),
    ((0, 1, 2, 6, 4, 4), 0.02, (52, 80)),
    ((0, 1, 2, 3, 3), 0.01, (30, 50)),
]
_TPL_ROLES = np.full((len(_TEMPLATES), 6), -1, dtype=np.int64)
for _i, (_roles, _w, _r) in enumerate(_TEMPLATES):
    _TPL_ROLES[_i, : len(_roles)] = _roles
_TPL_P = np.array([w for _, w, _ in _TEMPLATES])
_TPL_P = _TPL_P / _TPL_P.sum()
_TPL_AGE = np.array([r for _, _, r in _TEMPLATES])
_TPL_SIZE = (_TPL_ROLES >= 0).sum(axis=1)

STATUS_NORMAL, STATUS_DEAD, STATUS_MOVED, STATUS_CANCELLED = range(4)


@dataclass
class Population:
    """Everyone in hukou_registry, grouped by hukou household (people of a household are contiguous)."""

    n: int
    hh: np.ndarray  # person -> household index
    hh_start: np.ndarray
    hh_size: np.ndarray
    hh_district: np.ndarray
    hh_township: list[str]
    hh_address: pl.Series
    hukou_no: pl.Series
    role: np.ndarray
    male: np.ndarray
    birth: np.ndarray  # int days
    region: np.ndarray
    minority: np.ndarray
    id_no: pl.Series
    name: pl.Series
    status: np.ndarray
    status_date: np.ndarray  # int days, NO_DATE when none

    @property
    def district(self) -> np.ndarray:
        return self.hh_district[self.hh]

    def age(self, on_days: int) -> np.ndarray:
        return age_on(self.birth, on_days)


def make_population(n: int, as_of_days: int, rng: np.random.Generator) -> Population:
    """Draw ``n`` people in hukou households."""
    mean_size = float((_TPL_P * _TPL_SIZE).sum())
    n_hh = int(n / mean_size * 1.1) + 10
    tpl = rng.choice(len(_TEMPLATES), size=n_hh, p=_TPL_P)
    sizes = _TPL_SIZE[tpl]
    cum = np.cumsum(sizes)
    n_hh = int(np.searchsorted(cum, n) + 1)
    tpl = tpl[:n_hh]
    sizes = sizes[:n_hh].copy()
    sizes[-1] -= int(cum[n_hh - 1] - n)
    roles_full = _TPL_ROLES[tpl]
    keep = np.arange(6)[None, :] < sizes[:, None]
    role = roles_full[keep]
    hh = np.repeat(np.arange(n_hh), sizes)
    hh_start = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    assert len(role) == n

    # ages: the head's, then relative to it
    lo, hi = _TPL_AGE[tpl, 0], _TPL_AGE[tpl, 1]
    head_age = lo + (rng.beta(1.6, 1.8, n_hh) * (hi - lo + 1)).astype(np.int64)
    ha = head_age[hh].astype(np.float64)
    off = np.zeros(n)
    r = role
    off[r == ROLE_SPOUSE] = rng.normal(0, 3, int((r == ROLE_SPOUSE).sum()))
    off[r == ROLE_CHILD] = -rng.uniform(21, 36, int((r == ROLE_CHILD).sum()))
    off[r == ROLE_PARENT] = rng.uniform(22, 34, int((r == ROLE_PARENT).sum()))
    off[r == ROLE_GRANDCHILD] = -rng.uniform(46, 62, int((r == ROLE_GRANDCHILD).sum()))
    off[r == ROLE_SIBLING] = rng.uniform(-8, 8, int((r == ROLE_SIBLING).sum()))
    off[r == ROLE_OTHER] = -rng.uniform(20, 32, int((r == ROLE_OTHER).sum()))
    age = ha + off
    age = np.where((r == ROLE_SPOUSE) & (age < 20), 20 + rng.uniform(0, 3, n), age)
    age = np.where(age < 0, rng.uniform(0, 3, n), age)
    age = np.clip(age, 0, 100)
    birth = as_of_days - (age * 365.25).astype(np.int64) - rng.integers(1, 365, n)

    # sex: head mostly male, spouse opposite
    head_male = rng.random(n_hh) < 0.75
    male = rng.random(n) < 0.5
    male[r == ROLE_HEAD] = head_male
    male[r == ROLE_SPOUSE] = ~head_male[hh[r == ROLE_SPOUSE]]

    # district and ID region
    hh_district = np.array(DISTRICTS)[rng.choice(len(DISTRICTS), size=n_hh, p=DISTRICT_P)]
    migrant_hh = rng.random(n_hh) < 0.25
    minority_hh = rng.random(n_hh) < 0.004
    minority_hh[rng.integers(0, n_hh, 3)] = True  # a few even in a small city
    origin = MIGRANT_REGIONS[rng.integers(0, len(MIGRANT_REGIONS), n_hh)]
    origin = np.where(minority_hh, MINORITY_REGIONS[rng.integers(0, 3, n_hh)], origin)
    own_district = hh_district[hh]
    other_hz = np.array(DISTRICTS)[rng.integers(0, len(DISTRICTS), n)]
    local_region = np.where(rng.random(n) < 0.88, own_district, other_hz)
    young = (r == ROLE_CHILD) | (r == ROLE_GRANDCHILD)
    born_here = young & (rng.random(n) < np.where(age < 20, 0.7, 0.4))
    is_mig = (migrant_hh | minority_hh)[hh] & ~born_here
    region = np.where(is_mig, origin[hh], local_region)

    id_no = make_id_numbers(region, birth, male, rng)

    # names
    sur = nm.sample_surnames(rng, n)
    head_idx = hh_start
    has_spouse = (sizes >= 2) & (role[np.minimum(hh_start + 1, n - 1)] == ROLE_SPOUSE)
    family_sur = np.where(
        head_male | ~has_spouse, sur[head_idx], sur[np.minimum(hh_start + 1, n - 1)]
    )
    inherit = young | (r == ROLE_SIBLING) | ((r == ROLE_PARENT) & male)
    sur = np.where(inherit, family_sur[hh], sur)
    given = nm.sample_given_names(rng, male)
    name = pl.Series(np.array(nm.SURNAMES, dtype=object)[sur].astype(str)) + given
    minority = minority_hh[hh]
    if minority.any():
        idx = np.flatnonzero(minority)
        name = name.scatter(idx, nm.minority_names(rng, male[idx]))

    # hukou status: deaths weighted to the old, moves to young adults
    status = np.zeros(n, dtype=np.int64)
    status_date = np.full(n, NO_DATE, dtype=np.int64)
    p_dead = np.clip((age - 45) / 50, 0, 1) ** 2 * 0.25
    dead = rng.random(n) < p_dead
    moved = ~dead & (age >= 18) & (age <= 45) & (rng.random(n) < 0.025)
    cancelled = ~dead & ~moved & (rng.random(n) < 0.003)
    status[dead], status[moved], status[cancelled] = STATUS_DEAD, STATUS_MOVED, STATUS_CANCELLED
    changed = status != STATUS_NORMAL
    status_date[changed] = as_of_days - rng.integers(5, 4 * 365, int(changed.sum()))

    # household numbers and addresses
    perm = rng.permutation(n_hh)
    hukou_no = pl.Series(100000000 + perm * 7 + 3).cast(pl.String)
    town_idx = rng.integers(0, 100, n_hh)
    hh_township = [
        TOWNSHIPS[d][t % len(TOWNSHIPS[d])] for d, t in zip(hh_district, town_idx, strict=True)
    ]
    comm = np.array(_COMMUNITIES)[rng.integers(0, len(_COMMUNITIES), n_hh)]
    num = rng.integers(1, 300, n_hh)
    hh_address = pl.Series(
        [
            f"广东省惠州市{DISTRICT_LABEL[int(d)]}{t}{c}{k}号"
            for d, t, c, k in zip(hh_district, hh_township, comm, num, strict=True)
        ]
    )
    return Population(
        n=n,
        hh=hh,
        hh_start=hh_start,
        hh_size=sizes,
        hh_district=hh_district,
        hh_township=hh_township,
        hh_address=hh_address,
        hukou_no=hukou_no,
        role=role,
        male=male,
        birth=birth,
        region=region,
        minority=minority,
        id_no=id_no,
        name=name,
        status=status,
        status_date=status_date,
    )
