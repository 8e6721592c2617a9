"""Calendar helpers: dates as int days since 1970-01-01, months as ``year*12 + month-1``."""

from __future__ import annotations

import datetime as dt

import numpy as np

EPOCH = dt.date(1970, 1, 1)

DISTRICTS: tuple[int, ...] = (441302, 441303, 441322, 441323, 441324)
DISTRICT_NAMES: dict[int, str] = {
    441302: "惠城区",
    441303: "惠阳区",
    441322: "博罗县",
    441323: "惠东县",
    441324: "龙门县",
}
DISTRICT_P = np.array([0.35, 0.15, 0.22, 0.18, 0.10])

# Per-head monthly 低保 standard (yuan) by district and year; the generator's
# assumption, written to manifest.json so rules/params.yaml can be checked against it.
LOW_INCOME_STANDARD: dict[int, dict[int, float]] = {
    2024: {441302: 1100.0, 441303: 1060.0, 441322: 1000.0, 441323: 1000.0, 441324: 960.0},
    2025: {441302: 1150.0, 441303: 1100.0, 441322: 1040.0, 441323: 1040.0, 441324: 990.0},
    2026: {441302: 1200.0, 441303: 1150.0, 441322: 1080.0, 441323: 1080.0, 441324: 1030.0},
}


def standard(district: int, year: int) -> float:
    """Low-income standard for a district in a year (nearest known year)."""
    years = sorted(LOW_INCOME_STANDARD)
    y = min(max(year, years[0]), years[-1])
    return LOW_INCOME_STANDARD[y][district]


def date_to_days(d: dt.date) -> int:
    """Days since 1970-01-01."""
    return (d - EPOCH).days


def days_to_date(days: int) -> dt.date:
    """Inverse of :func:`date_to_days`."""
    return EPOCH + dt.timedelta(days=int(days))


def month_of_date(d: dt.date) -> int:
    """Month index of a date."""
    return d.year * 12 + d.month - 1


def month_of_days(days: np.ndarray) -> np.ndarray:
    """Month index of int days (vectorised)."""
    m = np.asarray(days, dtype="datetime64[D]").astype("datetime64[M]").astype(np.int64)
    return m + 1970 * 12


def month_start(m: np.ndarray | int) -> np.ndarray:
    """Int days of the first day of month index ``m`` (vectorised)."""
    arr = (np.asarray(m, dtype=np.int64) - 1970 * 12).astype("datetime64[M]")
    return arr.astype("datetime64[D]").astype(np.int64)


def month_len(m: np.ndarray | int) -> np.ndarray:
    """Number of days in month index ``m``."""
    return month_start(np.asarray(m) + 1) - month_start(m)


def random_day_in_month(m: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A random day (int days) inside each month of ``m``."""
    m = np.asarray(m, dtype=np.int64)
    return month_start(m) + (rng.random(m.shape) * month_len(m)).astype(np.int64)


def month_str(m: int) -> str:
    """``YYYY-MM`` of a month index."""
    return f"{m // 12:04d}-{m % 12 + 1:02d}"


def age_on(birth_days: np.ndarray, on_days: int) -> np.ndarray:
    """Whole years of age on a day (vectorised)."""
    b = np.asarray(birth_days, dtype="datetime64[D]")
    on = np.datetime64(int(on_days), "D")
    by = b.astype("datetime64[Y]").astype(np.int64)
    oy = on.astype("datetime64[Y]").astype(np.int64)
    age = oy - by
    # birthday not reached yet this year
    b_doy = (b - b.astype("datetime64[Y]")).astype(np.int64)
    o_doy = int((on - on.astype("datetime64[Y]")).astype(np.int64))
    return age - (b_doy > o_doy)
