"""Identifiers of the synthetic city: 居民身份证号 (GB 11643), 统一社会信用代码 (GB 32100).

Vectorised builders for valid identifiers, and scalar helpers that produce the
realistic ways an ID gets damaged (15-digit legacy form, full-width digits, a
mistyped or transposed digit, ...).
"""

from __future__ import annotations

import numpy as np
import polars as pl

ID_WEIGHTS = np.array([7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2], dtype=np.int64)
ID_CHECK_CHARS = "10X98765432"

CREDIT_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
CREDIT_WEIGHTS = np.array(
    [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28], dtype=np.int64
)
ORG_WEIGHTS = np.array([3, 7, 9, 10, 5, 8, 4, 2], dtype=np.int64)

_FULLWIDTH = str.maketrans("0123456789Xx", "０１２３４５６７８９Ｘｘ")


def id_check_char(first17: str) -> str:
    """Return the GB 11643 check character for the first 17 digits."""
    total = sum(int(c) * int(w) for c, w in zip(first17, ID_WEIGHTS, strict=True))
    return ID_CHECK_CHARS[total % 11]


def id_is_valid(id_no: str) -> bool:
    """True when ``id_no`` is an 18-character ID with a correct check character."""
    return (
        len(id_no) == 18 and id_no[:17].isdigit() and id_check_char(id_no[:17]) == id_no[17].upper()
    )


def make_id_numbers(
    region: np.ndarray, birth_days: np.ndarray, male: np.ndarray, rng: np.random.Generator
) -> pl.Series:
    """Build unique, valid 18-digit IDs.

    Args:
        region: int64 6-digit administrative codes.
        birth_days: int days since 1970-01-01.
        male: bool array; the 17th digit is odd for men.
        rng: random generator.

    Returns:
        A polars String Series of IDs.
    """
    n = len(region)
    dates = np.asarray(birth_days, dtype="datetime64[D]")
    ymd = (
        dates.astype("datetime64[Y]").astype(np.int64) + 1970,
        dates.astype("datetime64[M]").astype(np.int64) % 12 + 1,
        (dates - dates.astype("datetime64[M]")).astype(np.int64) + 1,
    )
    date_num = ymd[0] * 10000 + ymd[1] * 100 + ymd[2]
    base = region.astype(np.int64) * 10**11 + date_num.astype(np.int64) * 1000
    seq = rng.integers(0, 500, n) * 2 + male.astype(np.int64)
    key = base + seq
    # redraw the sequence number of every repeated key until all are distinct
    for _ in range(200):
        redraw = ~pl.Series(key).is_first_distinct().to_numpy()
        if not redraw.any():
            break
        k = int(redraw.sum())
        key[redraw] = base[redraw] + rng.integers(0, 500, k) * 2 + male[redraw].astype(np.int64)
    else:  # pragma: no cover - 500 numbers per sex, region and day are plenty
        raise RuntimeError("could not draw distinct ID numbers")
    total = np.zeros(n, dtype=np.int64)
    rest = key.copy()
    for i in range(16, -1, -1):
        total += (rest % 10) * ID_WEIGHTS[i]
        rest //= 10
    check = total % 11
    check_chars = pl.Series(list(ID_CHECK_CHARS)).gather(pl.Series(check))
    return pl.Series(key).cast(pl.String).str.zfill(17) + check_chars


def make_credit_codes(serial: np.ndarray, region: np.ndarray, kind: str) -> pl.Series:
    """Build unique, valid 统一社会信用代码.

    Args:
        serial: distinct non-negative integers (< 31**8), one per code; they
            become the organisation code body, so distinct serials give distinct codes.
        region: int 6-digit administrative codes.
        kind: two characters, e.g. ``"91"`` (enterprise) or ``"92"`` (individual business).
    """
    n = len(serial)
    body = np.empty((n, 8), dtype=np.int64)
    rest = serial.astype(np.int64).copy()
    for i in range(7, -1, -1):
        body[:, i] = rest % 31
        rest //= 31
    # organisation code check (GB 11714): values of chars are their value in base 36
    char_val36 = np.array([int(c, 36) for c in CREDIT_CHARS], dtype=np.int64)
    org_sum = (char_val36[body] * ORG_WEIGHTS).sum(axis=1)
    c9 = 11 - org_sum % 11
    # 10 -> 'X', 11 -> '0'
    org_check = np.where(c9 == 11, 0, np.where(c9 == 10, CREDIT_CHARS.index("X"), c9))
    reg = np.empty((n, 6), dtype=np.int64)
    rest = region.astype(np.int64).copy()
    for i in range(5, -1, -1):
        reg[:, i] = rest % 10
        rest //= 10
    head = np.tile(np.array([CREDIT_CHARS.index(kind[0]), CREDIT_CHARS.index(kind[1])]), (n, 1))
    code17 = np.concatenate([head, reg, body, org_check[:, None]], axis=1)
    check = 31 - (code17 * CREDIT_WEIGHTS).sum(axis=1) % 31
    check = np.where(check == 31, 0, check)
    full = np.concatenate([code17, check[:, None]], axis=1)
    lut = np.frombuffer(CREDIT_CHARS.encode("ascii"), dtype=np.uint8)
    raw = np.ascontiguousarray(lut[full]).view("S18").ravel()
    return pl.Series(raw.astype("U18"))


# ---------------------------------------------------------------- damaged forms


def to_fifteen(id_no: str) -> str | None:
    """Legacy 15-digit form (century and check digit dropped); None when born after 1999."""
    if id_no[6:8] != "19":
        return None
    return id_no[:6] + id_no[8:17]


def to_fullwidth(s: str) -> str:
    """Replace ASCII digits (and X) with full-width ones."""
    return s.translate(_FULLWIDTH)


def with_separators(id_no: str, sep: str) -> str:
    """Insert ``sep`` between region, birth date and sequence (``441302 19800101 1234``)."""
    return f"{id_no[:6]}{sep}{id_no[6:14]}{sep}{id_no[14:]}"


def mistype_digit(id_no: str, rng: np.random.Generator) -> str:
    """Change one digit of positions 6..16; the check character then fails."""
    pos = int(rng.integers(6, 17))
    old = int(id_no[pos])
    new = (old + int(rng.integers(1, 10))) % 10
    out = id_no[:pos] + str(new) + id_no[pos + 1 :]
    assert not id_is_valid(out)
    return out


def transpose_digits(id_no: str, rng: np.random.Generator) -> str:
    """Swap two adjacent, different digits among the first 17; the check then fails."""
    candidates = [i for i in range(16) if id_no[i] != id_no[i + 1]]
    # prefer the birth date / sequence part, as keying errors there are common
    inner = [i for i in candidates if i >= 6] or candidates
    pos = int(inner[int(rng.integers(0, len(inner)))])
    out = id_no[:pos] + id_no[pos + 1] + id_no[pos] + id_no[pos + 2 :]
    assert not id_is_valid(out)
    return out


def mistype_two_digits(id_no: str, rng: np.random.Generator) -> str:
    """Change two different digits of positions 6..16; the check character then fails."""
    while True:
        p1, p2 = (int(x) for x in rng.choice(np.arange(6, 17), size=2, replace=False))
        out = list(id_no)
        for pos in (p1, p2):
            out[pos] = str((int(out[pos]) + int(rng.integers(1, 10))) % 10)
        s = "".join(out)
        if not id_is_valid(s):  # (one in eleven still passes the check: draw again)
            return s


def legacy_with_typo(id_no: str, rng: np.random.Generator) -> str | None:
    """The legacy 15-digit form with one mistyped digit of the birth date or
    sequence (positions 6..14 of the 15); None when born after 1999. It still
    upgrades to a valid-looking 18-digit number, but one that is nobody's."""
    fifteen = to_fifteen(id_no)
    if fifteen is None:
        return None
    pos = int(rng.integers(6, 15))
    new = (int(fifteen[pos]) + int(rng.integers(1, 10))) % 10
    return fifteen[:pos] + str(new) + fifteen[pos + 1 :]
