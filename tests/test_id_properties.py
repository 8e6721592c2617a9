"""Property tests of the ID and credit-code normalisers against python-stdnum.

``stdnum.cn.ric.is_valid`` checks the checksum, the birth date *and* the birth
place (its own table of division codes, by year); ``normalize_id_no`` checks
the checksum and that the birth date is a real date in 1900..2100, not the
place. The comparisons therefore use division codes that stdnum accepts for
every year, and add the 1900..2100 window to stdnum's answer. stdnum has no
15 -> 18 digit conversion; the reference upgrade below is built from
``ric.calc_check_digit``.
"""

from __future__ import annotations

import datetime as dt

import polars as pl
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from stdnum.cn import ric, uscc

from relief_match.ingest import normalize as nz
from relief_match.privacy import mask_id_no

SETTINGS = settings(max_examples=300, deadline=None)

#: Division codes stdnum's place table accepts for every birth year.
AREAS = ("110101", "110105", "310101", "440100", "440300", "330100")

FIRST_DAY = dt.date(1900, 1, 1)
DAYS_1900_2100 = (dt.date(2100, 12, 31) - FIRST_DAY).days
DAYS_1900_1999 = (dt.date(1999, 12, 31) - FIRST_DAY).days

areas = st.sampled_from(AREAS)
sequences = st.integers(min_value=0, max_value=999)


def _reference_check(body17: str) -> str:
    # calc_check_digit expects the number including its check digit
    return ric.calc_check_digit(body17 + "?")


def _valid_id(area: str, day: int, seq: int) -> str:
    body = f"{area}{FIRST_DAY + dt.timedelta(days=day):%Y%m%d}{seq:03d}"
    return body + _reference_check(body)


def _legacy_id(area: str, day: int, seq: int) -> str:
    return f"{area}{FIRST_DAY + dt.timedelta(days=day):%y%m%d}{seq:03d}"


def valid_ids() -> st.SearchStrategy[str]:
    """Valid 18-digit IDs, born 1900..2100, in division codes stdnum knows."""
    return st.builds(_valid_id, areas, st.integers(0, DAYS_1900_2100), sequences)


def legacy_ids() -> st.SearchStrategy[str]:
    """Legacy 15-digit IDs (born 1900..1999)."""
    return st.builds(_legacy_id, areas, st.integers(0, DAYS_1900_1999), sequences)


def _reference_upgrade(s15: str) -> str:
    body = s15[:6] + "19" + s15[6:]
    return body + _reference_check(body)


def _reference_valid(s: str) -> bool:
    """stdnum's verdict plus the 1900..2100 birth-year window."""
    if not ric.is_valid(s):
        return False
    return 1900 <= ric.get_birth_date(s).year <= 2100


#: Built once: building the expression costs about as much as running it on a
#: small frame, and each test runs hundreds of examples.
ID_EXPR = nz.normalize_id_no(pl.col("id_no"))
CODE_EXPR = nz.normalize_credit_code(pl.col("code"))


def _normalise(values: list[str]) -> pl.DataFrame:
    df = pl.DataFrame({"id_no": values}, schema={"id_no": pl.String})
    return df.select(ID_EXPR)["id_no"].struct.unnest()


def _dirty(s: str, how: int) -> str:
    """``s`` with delivery defects chosen by the bits of ``how``: full-width
    characters, lower case, a separator inside, padding around."""
    chars = list(s)
    if how & 1:
        chars = [chr(ord(c) + 0xFEE0) for c in chars]
    if how & 2:
        chars = [c.lower() for c in chars]
    sep = ["", " ", "-", "\t", "\u3000"][(how >> 2) % 5]
    pad = ["", " ", "\u3000"][(how >> 5) % 3]
    cut = 1 + (how >> 7) % (len(s) - 1)
    return pad + "".join(chars[:cut]) + sep + "".join(chars[cut:]) + pad


dirt = st.integers(min_value=0, max_value=2**12 - 1)


@SETTINGS
@given(st.lists(st.tuples(valid_ids(), dirt), min_size=1, max_size=20))
def test_every_valid_eighteen_digit_id_round_trips_unchanged(cases: list[tuple[str, int]]) -> None:
    # one frame: the IDs as they are, then a dirty delivery of each
    ids = [s for s, _ in cases]
    dirty = [_dirty(s, how) for s, how in cases]
    out = _normalise(ids + dirty)
    clean, repaired = out.head(len(ids)), out.tail(len(ids))
    assert clean["status"].to_list() == ["ok"] * len(ids)
    assert clean["value"].to_list() == ids
    assert clean["clean"].to_list() == ids
    assert clean["birth_date"].to_list() == [ric.get_birth_date(s) for s in ids]
    assert clean["sex"].to_list() == ["男" if int(s[16]) % 2 else "女" for s in ids]
    assert all(nz.is_valid_id_no(s) and _reference_valid(s) for s in ids)
    # the dirty forms normalise to the same IDs
    assert repaired["value"].to_list() == ids
    assert set(repaired["status"].to_list()) <= {"ok", "repaired"}


@SETTINGS
@given(st.lists(st.tuples(legacy_ids(), dirt), min_size=1, max_size=20))
def test_every_fifteen_digit_id_upgrades_like_the_reference(cases: list[tuple[str, int]]) -> None:
    ids = [s for s, _ in cases]
    expected = [_reference_upgrade(s) for s in ids]
    out = _normalise(ids + [_dirty(s, how) for s, how in cases])
    assert out["value"].to_list() == expected + expected
    assert out["status"].to_list() == ["repaired"] * (2 * len(ids))
    assert out.head(len(ids))["repair"].to_list() == ["id15to18"] * len(ids)
    assert all("id15to18" in r.split(",") for r in out["repair"])
    assert [nz.upgrade_id15(s) for s in ids] == expected
    assert all(ric.is_valid(s) for s in expected)


@SETTINGS
@given(
    st.lists(
        st.tuples(
            valid_ids(),
            st.integers(min_value=0, max_value=17),
            st.sampled_from("0123456789X"),
            st.integers(min_value=0, max_value=16),
        ),
        min_size=1,
        max_size=20,
    )
)
def test_a_single_mistyped_digit_or_two_swapped_digits_are_always_detected(
    cases: list[tuple[str, int, str, int]],
) -> None:
    typos, swaps = [], []
    for s, pos, char, swap_at in cases:
        if char != s[pos] and (pos == 17 or char != "X"):  # X only stands last
            typos.append(s[:pos] + char + s[pos + 1 :])
        swapped = s[:swap_at] + s[swap_at + 1] + s[swap_at] + s[swap_at + 2 :]
        if swapped != s and swapped[:17].isdigit():
            swaps.append(swapped)
    assume(typos or swaps)
    out = _normalise(typos + swaps)
    assert out["status"].to_list() == ["invalid"] * len(typos + swaps)
    assert out["clean"].to_list() == typos + swaps  # kept for fuzzy matching
    assert not any(nz.is_valid_id_no(s) for s in typos + swaps)


mutations = st.one_of(
    st.tuples(st.just("replace"), st.integers(0, 17), st.sampled_from("0123456789Xx")),
    st.tuples(st.just("swap"), st.integers(0, 16), st.just("")),
    st.tuples(st.just("delete"), st.integers(0, 17), st.just("")),
    st.tuples(st.just("none"), st.just(0), st.just("")),
)


def _mutate(s: str, mutation: tuple[str, int, str]) -> str:
    kind, pos, char = mutation
    if kind == "replace":
        return s[:pos] + char + s[pos + 1 :]
    if kind == "swap":
        return s[:pos] + s[pos + 1] + s[pos] + s[pos + 2 :]
    if kind == "delete":
        return s[:pos] + s[pos + 1 :]
    return s


random_ids = st.tuples(
    areas, st.text("0123456789", min_size=11, max_size=11), st.sampled_from("0123456789X")
).map("".join)


@SETTINGS
@given(
    st.lists(st.tuples(valid_ids(), mutations), min_size=1, max_size=20),
    st.lists(random_ids, min_size=1, max_size=20),
    st.lists(st.text(max_size=25), max_size=10),
)
def test_validity_agrees_with_stdnum_on_mutated_random_and_arbitrary_input(
    cases: list[tuple[str, tuple[str, int, str]]], randoms: list[str], texts: list[str]
) -> None:
    ids = [_mutate(s, m) for s, m in cases] + randoms
    out = _normalise(ids + texts)
    head = out.head(len(ids))
    for s, status, value in zip(ids, head["status"], head["value"], strict=True):
        expected = _reference_valid(s)  # stdnum upper-cases a lower-case x too
        assert (status in ("ok", "repaired")) == expected, s
        assert nz.is_valid_id_no(s) == (expected and s == s.upper()), s
        if expected:
            assert value == s.upper()
            assert status == ("ok" if s == s.upper() else "repaired")
    # arbitrary text never crashes; whatever is accepted is a valid ID
    rest = out.tail(len(texts))
    assert set(rest["status"].to_list()) <= set(nz.STATUSES)
    for status, value in zip(rest["status"], rest["value"], strict=True):
        assert (value is not None) == (status in ("ok", "repaired"))
        assert value is None or nz.is_valid_id_no(value)


@SETTINGS
@given(st.text(alphabet="0123456789", min_size=17, max_size=17))
def test_checksum_char_agrees_with_stdnum(body: str) -> None:
    assert nz.id_checksum_char(body) == _reference_check(body)


@SETTINGS
@given(st.text(alphabet="0123456789X", min_size=11, max_size=20))
def test_mask_keeps_length_and_ends(s: str) -> None:
    masked = mask_id_no(s)
    assert len(masked) == len(s)
    assert masked[:6] == s[:6]
    assert masked[-4:] == s[-4:]
    assert set(masked[6:-4]) <= {"*"}


# --------------------------------------------------------------------------
# 统一社会信用代码 vs stdnum.cn.uscc
# --------------------------------------------------------------------------

USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"


@st.composite
def valid_credit_codes(draw: st.DrawFn) -> str:
    # stdnum requires digits in the first 8 places; GB 32100 allows letters
    # in the first two, so the comparison sticks to digits there
    head = draw(st.text(alphabet="0123456789", min_size=8, max_size=8))
    tail = draw(st.text(alphabet=USCC_ALPHABET, min_size=9, max_size=9))
    body = head + tail
    assume(body.strip("0"))  # all zeros is a placeholder here
    return body + uscc.calc_check_digit(body)


def _normalise_codes(values: list[str]) -> pl.DataFrame:
    df = pl.DataFrame({"code": values}, schema={"code": pl.String})
    return df.select(CODE_EXPR)["code"].struct.unnest()


@SETTINGS
@given(
    st.lists(
        st.tuples(valid_credit_codes(), st.integers(8, 17), st.sampled_from(USCC_ALPHABET)),
        min_size=1,
        max_size=20,
    )
)
def test_credit_codes_round_trip_and_agree_with_stdnum(cases: list[tuple[str, int, str]]) -> None:
    codes = [c for c, _, _ in cases]
    mutated = [c[:pos] + char + c[pos + 1 :] for c, pos, char in cases]
    assume(all(c.strip("0") for c in mutated))  # all zeros is a placeholder here
    out = _normalise_codes(codes + mutated)
    valid, changed = out.head(len(codes)), out.tail(len(codes))
    assert valid["status"].to_list() == ["ok"] * len(codes)
    assert valid["value"].to_list() == codes
    assert [s == "ok" for s in changed["status"]] == [uscc.is_valid(c) for c in mutated]
    for (original, pos, char), status in zip(cases, changed["status"], strict=True):
        if char != original[pos]:
            assert status == "invalid"  # a single wrong character is always caught


invisible = st.sampled_from(["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad"])


@SETTINGS
@given(st.lists(st.tuples(valid_ids(), st.integers(0, 18), invisible), min_size=1, max_size=20))
def test_an_invisible_character_anywhere_in_an_id_is_removed(
    cases: list[tuple[str, int, str]],
) -> None:
    ids = [s for s, _, _ in cases]
    out = _normalise([s[:pos] + ch + s[pos:] for s, pos, ch in cases])
    assert out["value"].to_list() == ids
    assert out["repair"].to_list() == ["invisible_chars"] * len(ids)


@SETTINGS
@given(
    st.lists(st.tuples(valid_credit_codes(), st.integers(0, 18), invisible), min_size=1, max_size=9)
)
def test_an_invisible_character_anywhere_in_a_credit_code_is_removed(
    cases: list[tuple[str, int, str]],
) -> None:
    codes = [c for c, _, _ in cases]
    out = _normalise_codes([c[:pos] + ch + c[pos:] for c, pos, ch in cases])
    assert out["value"].to_list() == codes
    assert out["repair"].to_list() == ["invisible_chars"] * len(codes)
