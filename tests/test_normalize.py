"""Behaviour of the value normalisers (design.md section 2) on the defects of
data-contract.md section 3."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import Any

import polars as pl
import pytest

from relief_match import privacy
from relief_match.ingest import normalize as nz
from relief_match.ingest.normalize import codes, dates, enums, ids, names, numbers, pipeline

VALID_ID = "11010519491231002X"  # GB 11643 example: 1949-12-31, female
VALID_ID_MALE = "441302199001011231"  # Huizhou 惠城区, 1990-01-01, 17th digit 3: male
VALID_ID15 = "110105491231002"  # legacy form of VALID_ID
VALID_USCC = "91110000600037341L"

STANDARD_FIELDS = ["value", "status", "repair", "error"]


def run(
    fn: Callable[..., pl.Expr], inputs: Sequence[Any], /, **kwargs: Any
) -> list[dict[str, Any]]:
    """Normalise ``inputs`` (a String column) and check the struct invariants."""
    df = pl.DataFrame({"x": list(inputs)}, schema={"x": pl.String})
    out = df.select(fn(pl.col("x"), **kwargs)).unnest("x")
    rows = out.to_dicts()
    for raw, row in zip(inputs, rows, strict=True):
        status = row["status"]
        assert status in nz.STATUSES, (raw, row)
        # (a placeholder date is the one missing value that names a repair)
        placeholder = status == nz.MISSING and row["repair"] == "placeholder_date"
        assert (row["repair"] is not None) == (status == nz.REPAIRED or placeholder), (raw, row)
        assert (row["error"] is not None) == (status == nz.INVALID), (raw, row)
        assert (row["value"] is None) == (status in (nz.INVALID, nz.MISSING)), (raw, row)
    return rows


def one(fn: Callable[..., pl.Expr], value: Any, /, **kwargs: Any) -> dict[str, Any]:
    return run(fn, [value], **kwargs)[0]


# --------------------------------------------------------------------------
# struct shape
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fn", "kwargs", "schema"),
    [
        (
            nz.normalize_id_no,
            {},
            {
                "value": pl.String,
                "status": pl.String,
                "repair": pl.String,
                "error": pl.String,
                "clean": pl.String,
                "birth_date": pl.Date,
                "sex": pl.String,
            },
        ),
        (nz.normalize_credit_code, {}, dict.fromkeys(STANDARD_FIELDS, pl.String)),
        (
            nz.normalize_name,
            {},
            {
                **dict.fromkeys(STANDARD_FIELDS, pl.String),
                "note": pl.String,
                "usable": pl.Boolean,
            },
        ),
        (nz.normalize_sex, {}, dict.fromkeys(STANDARD_FIELDS, pl.String)),
        (nz.normalize_enum, {"values": ["a"]}, dict.fromkeys(STANDARD_FIELDS, pl.String)),
        (nz.normalize_district_code, {}, dict.fromkeys(STANDARD_FIELDS, pl.String)),
        (nz.normalize_str, {}, dict.fromkeys(STANDARD_FIELDS, pl.String)),
        (nz.normalize_date, {}, {**dict.fromkeys(STANDARD_FIELDS, pl.String), "value": pl.Date}),
        (nz.normalize_month, {}, {**dict.fromkeys(STANDARD_FIELDS, pl.String), "value": pl.Date}),
        (
            nz.normalize_money,
            {},
            {**dict.fromkeys(STANDARD_FIELDS, pl.String), "value": pl.Float64},
        ),
        (nz.normalize_int, {}, {**dict.fromkeys(STANDARD_FIELDS, pl.String), "value": pl.Int64}),
        (
            nz.normalize_float,
            {},
            {**dict.fromkeys(STANDARD_FIELDS, pl.String), "value": pl.Float64},
        ),
    ],
)
def test_every_normaliser_returns_the_documented_struct_named_after_its_input(
    fn: Callable[..., pl.Expr], kwargs: dict[str, Any], schema: dict[str, Any]
) -> None:
    df = pl.DataFrame({"col": ["x", None, ""]}, schema={"col": pl.String})
    for frame in (
        df.select(fn(pl.col("col"), **kwargs)),
        df.lazy().select(fn(pl.col("col"), **kwargs)).collect(),
    ):
        assert frame.columns == ["col"]
        assert frame.schema["col"] == pl.Struct(schema)
        assert frame.height == 3


def test_normalisers_work_on_empty_frames_and_in_with_columns() -> None:
    empty = pl.DataFrame({"id_no": []}, schema={"id_no": pl.String})
    assert empty.select(nz.normalize_id_no(pl.col("id_no"))).height == 0
    df = pl.DataFrame({"id_no": [VALID_ID, "bad"], "name": ["陳大文", "王伟"]})
    out = df.with_columns(
        nz.normalize_id_no(pl.col("id_no")).alias("id_n"),
        nz.normalize_name(pl.col("name")).alias("name_n"),
    )
    assert out["id_n"].struct.field("status").to_list() == ["ok", "invalid"]
    assert out["name_n"].struct.field("value").to_list() == ["陈大文", "王伟"]


def test_streaming_engine_gives_the_same_result() -> None:
    values = [VALID_ID, VALID_ID15, " 陳 大文(已故)", "2023/1/5", "1,234元", None]
    df = pl.DataFrame({"x": values})
    exprs = [
        nz.normalize_id_no(pl.col("x")).alias("a"),
        nz.normalize_name(pl.col("x")).alias("b"),
        nz.normalize_date(pl.col("x")).alias("c"),
        nz.normalize_money(pl.col("x")).alias("d"),
    ]
    eager = df.select(exprs)
    streamed = df.lazy().select(exprs).collect(engine="streaming")
    assert eager.equals(streamed)


def test_non_string_input_is_cast_to_text() -> None:
    df = pl.DataFrame({"id_no": [110105491231002], "amount": [1234.5], "code": [441302]})
    out = df.select(
        nz.normalize_id_no(pl.col("id_no")),
        nz.normalize_money(pl.col("amount")),
        nz.normalize_district_code(pl.col("code")),
    )
    assert out["id_no"].struct.field("value").to_list() == [VALID_ID]
    assert out["amount"].struct.field("value").to_list() == [1234.5]
    assert out["code"].struct.field("value").to_list() == ["441302"]


# --------------------------------------------------------------------------
# 居民身份证号
# --------------------------------------------------------------------------


def test_valid_id_is_ok_and_unchanged() -> None:
    row = one(nz.normalize_id_no, VALID_ID)
    assert row == {
        "value": VALID_ID,
        "status": "ok",
        "repair": None,
        "error": None,
        "clean": VALID_ID,
        "birth_date": dt.date(1949, 12, 31),
        "sex": "女",
    }


def test_sex_comes_from_the_parity_of_the_seventeenth_digit() -> None:
    male, female = run(nz.normalize_id_no, [VALID_ID_MALE, VALID_ID])
    assert (male["sex"], male["birth_date"]) == ("男", dt.date(1990, 1, 1))
    assert female["sex"] == "女"


@pytest.mark.parametrize("raw", [f" {VALID_ID} ", f"\t{VALID_ID}\u3000", f"{VALID_ID}\n"])
def test_surrounding_whitespace_on_an_id_still_counts_as_ok(raw: str) -> None:
    row = one(nz.normalize_id_no, raw)
    assert (row["value"], row["status"]) == (VALID_ID, "ok")


def test_fifteen_digit_id_is_upgraded_to_eighteen() -> None:
    row = one(nz.normalize_id_no, VALID_ID15)
    assert row["value"] == VALID_ID
    assert row["status"] == "repaired"
    assert row["repair"] == "id15to18"
    assert row["clean"] == VALID_ID
    assert (row["birth_date"], row["sex"]) == (dt.date(1949, 12, 31), "女")


def test_lowercase_x_check_digit_is_uppercased() -> None:
    row = one(nz.normalize_id_no, VALID_ID.lower())
    assert (row["value"], row["status"], row["repair"]) == (VALID_ID, "repaired", "lowercase_x")


def test_fullwidth_digits_in_an_id_are_folded() -> None:
    fullwidth = "".join(chr(ord(c) + 0xFEE0) for c in VALID_ID)  # １１０…Ｘ
    row = one(nz.normalize_id_no, fullwidth)
    assert (row["value"], row["status"], row["repair"]) == (VALID_ID, "repaired", "fullwidth")


@pytest.mark.parametrize(
    "raw",
    [
        "110105 19491231 002X",
        "110105-19491231-002X",
        "110105\t19491231\t002X",
        "110105\u300019491231002X",
        "1101 0519 4912 3100 2X",
        "110105－19491231－002X",
    ],
)
def test_spaces_hyphens_and_tabs_inside_an_id_are_removed(raw: str) -> None:
    row = one(nz.normalize_id_no, raw)
    assert (row["value"], row["status"]) == (VALID_ID, "repaired")
    assert "whitespace" in row["repair"].split(",")


def test_every_repair_applied_to_an_id_is_listed() -> None:
    row = one(nz.normalize_id_no, " １１０１０５ 19491231-002x ")
    assert row["value"] == VALID_ID
    assert row["repair"] == "fullwidth,whitespace,lowercase_x"
    row = one(nz.normalize_id_no, "110105 491231 002")
    assert (row["value"], row["repair"]) == (VALID_ID, "whitespace,id15to18")


def test_wrong_check_digit_is_invalid_but_the_cleaned_id_is_kept() -> None:
    typo = VALID_ID[:10] + "2" + VALID_ID[11:]  # one mistyped digit
    row = one(nz.normalize_id_no, f" {typo[:6]} {typo[6:]}")
    assert row["status"] == "invalid"
    assert row["error"] == "bad id checksum"
    assert row["value"] is None
    assert row["clean"] == typo  # kept for fuzzy matching
    assert (row["birth_date"], row["sex"]) == (None, None)


def test_two_swapped_digits_in_an_id_are_invalid() -> None:
    swapped = VALID_ID[:15] + VALID_ID[16] + VALID_ID[15] + VALID_ID[17:]
    assert swapped != VALID_ID
    row = one(nz.normalize_id_no, swapped)
    assert (row["status"], row["error"], row["clean"]) == ("invalid", "bad id checksum", swapped)


def test_id_with_an_impossible_birth_date_is_invalid_even_with_a_correct_check_digit() -> None:
    body = "11010519490230002"  # 30 February
    raw = body + nz.id_checksum_char(body)
    row = one(nz.normalize_id_no, raw)
    assert (row["status"], row["error"], row["clean"]) == ("invalid", "bad id birth date", raw)
    body = "11010518991231002"  # before 1900
    row = one(nz.normalize_id_no, body + nz.id_checksum_char(body))
    assert row["error"] == "bad id birth date"


def test_fifteen_digit_id_with_an_impossible_date_is_invalid_but_clean_is_upgraded() -> None:
    row = one(nz.normalize_id_no, "110105491331002")  # month 13
    assert (row["status"], row["error"]) == ("invalid", "bad id birth date")
    assert row["clean"] == nz.upgrade_id15("110105491331002")


@pytest.mark.parametrize(
    ("raw", "error"),
    [
        ("1101051949123100", "bad id length"),
        ("110105194912310021X", "bad id length"),
        ("1101051949123", "bad id length"),
        ("11010519491231002A", "bad id characters"),
        ("1101051949X231002X", "bad id characters"),
        ("11010549123100X", "bad id characters"),
        ("+1101051949123100X", "bad id characters"),
        ("身份证11010519491231002X", "bad id characters"),
    ],
)
def test_malformed_ids_are_invalid_with_a_reason(raw: str, error: str) -> None:
    row = one(nz.normalize_id_no, raw)
    assert (row["status"], row["error"]) == ("invalid", error)


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "   ",
        None,
        "无",
        "/",
        "0",
        "-",
        "--",
        "000000000000000000",
        "000000000000000",
        "NULL",
        "null",
        "None",
        "nan",
        "空",
        "N/A",
    ],
)
def test_id_placeholders_are_missing(raw: str | None) -> None:
    row = one(nz.normalize_id_no, raw)
    assert row["status"] == "missing"
    assert (row["clean"], row["birth_date"], row["sex"]) == (None, None, None)


def test_an_id_whose_birth_date_contradicts_the_birth_date_column_can_be_detected() -> None:
    # the normaliser exposes the embedded date and sex; validation compares them
    df = pl.DataFrame({"id_no": [VALID_ID], "birth_date": [dt.date(1950, 1, 1)], "sex": ["男"]})
    out = df.with_columns(nz.normalize_id_no(pl.col("id_no")).alias("n")).select(
        date_conflict=pl.col("n").struct.field("birth_date") != pl.col("birth_date"),
        sex_conflict=pl.col("n").struct.field("sex") != pl.col("sex"),
    )
    assert out.row(0) == (True, True)


# scalar helpers ------------------------------------------------------------


def test_id_checksum_char_matches_the_standard_examples() -> None:
    assert nz.id_checksum_char("11010519491231002") == "X"
    assert nz.id_checksum_char("44130219900101123") == "1"
    with pytest.raises(ValueError):
        nz.id_checksum_char("1101051949123100")
    with pytest.raises(ValueError):
        nz.id_checksum_char("1101051949123100X")


def test_is_valid_id_no_checks_the_exact_string() -> None:
    assert nz.is_valid_id_no(VALID_ID)
    assert not nz.is_valid_id_no(VALID_ID.lower())
    assert not nz.is_valid_id_no(f" {VALID_ID}")
    assert not nz.is_valid_id_no(VALID_ID15)
    assert not nz.is_valid_id_no(VALID_ID[:-1] + "1")
    body = "11010519490230002"
    assert not nz.is_valid_id_no(body + nz.id_checksum_char(body))


def test_upgrade_id15_inserts_the_century_and_a_check_digit() -> None:
    assert nz.upgrade_id15(VALID_ID15) == VALID_ID
    with pytest.raises(ValueError):
        nz.upgrade_id15("11010549123100X")


@pytest.mark.parametrize(
    ("raw", "masked"),
    [
        ("441302199001011231", "441302********1231"),
        ("11010519491231002X", "110105********002X"),
        ("110105491231002", "110105*****1002"),
        ("12345678901", "123456*8901"),
        ("1234567890", "**********"),
        ("", ""),
        (None, ""),
    ],
)
def test_mask_id_no_keeps_the_first_six_and_last_four(raw: str | None, masked: str) -> None:
    assert privacy.mask_id_no(raw) == masked


# --------------------------------------------------------------------------
# 统一社会信用代码
# --------------------------------------------------------------------------


def test_valid_credit_code_is_ok() -> None:
    row = one(nz.normalize_credit_code, VALID_USCC)
    assert (row["value"], row["status"]) == (VALID_USCC, "ok")


@pytest.mark.parametrize(
    ("raw", "repair"),
    [
        (VALID_USCC.lower(), "lowercase"),
        ("9111 0000 6000 3734 1L", "whitespace"),
        ("91110000-600037341-L", "whitespace"),
        ("".join(chr(ord(c) + 0xFEE0) for c in VALID_USCC), "fullwidth"),
        (f"\u3000{VALID_USCC} ", None),
    ],
)
def test_credit_code_cleanup_is_counted_as_a_repair(raw: str, repair: str | None) -> None:
    row = one(nz.normalize_credit_code, raw)
    assert row["value"] == VALID_USCC
    assert row["repair"] == repair


@pytest.mark.parametrize(
    ("raw", "error"),
    [
        ("91110000600037341M", "bad credit code checksum"),
        ("91110000600073341L", "bad credit code checksum"),
        ("9111000060003734", "bad credit code length"),
        ("91110000600037341I", "bad credit code characters"),  # I, O, S, V, Z never occur
        ("9111000060003734OL", "bad credit code characters"),
    ],
)
def test_bad_credit_codes_are_invalid_with_a_reason(raw: str, error: str) -> None:
    row = one(nz.normalize_credit_code, raw)
    assert (row["status"], row["error"]) == ("invalid", error)


def test_credit_code_placeholders_are_missing() -> None:
    rows = run(nz.normalize_credit_code, ["", None, "无", "/", "000000000000000000"])
    assert {r["status"] for r in rows} == {"missing"}


def test_repeated_credit_codes_are_normalised_consistently() -> None:
    values = [VALID_USCC, "bad", VALID_USCC.lower(), None, VALID_USCC, "bad"] * 50
    rows = run(nz.normalize_credit_code, values)
    assert [r["status"] for r in rows[:6]] == [
        "ok",
        "invalid",
        "repaired",
        "missing",
        "ok",
        "invalid",
    ]
    assert rows[6:12] == rows[:6]


# --------------------------------------------------------------------------
# 姓名
# --------------------------------------------------------------------------


def test_clean_simplified_name_is_ok() -> None:
    row = one(nz.normalize_name, "王伟")
    assert row == {
        "value": "王伟",
        "status": "ok",
        "repair": None,
        "error": None,
        "note": None,
        "usable": True,
    }


@pytest.mark.parametrize(
    ("raw", "simplified"),
    [
        ("陳", "陈"),
        ("陳大文", "陈大文"),
        ("張偉", "张伟"),
        ("歐陽娜娜", "欧阳娜娜"),
        ("劉麗華", "刘丽华"),
    ],
)
def test_traditional_characters_are_converted_to_simplified(raw: str, simplified: str) -> None:
    row = one(nz.normalize_name, raw)
    assert (row["value"], row["status"], row["repair"]) == (simplified, "repaired", "traditional")


@pytest.mark.parametrize("raw", ["沈思华", "沈静", "王乾", "于琳", "后明", "范冰", "钟伟", "萧红"])
def test_simplified_names_are_never_changed_by_the_conversion(raw: str) -> None:
    # OpenCC's phrase conversion would turn 沈思华 into 沉思华 and 王乾 into 王干
    row = one(nz.normalize_name, raw)
    assert (row["value"], row["status"]) == (raw, "ok")


def test_traditional_and_simplified_spellings_of_a_name_meet() -> None:
    pairs = [
        ("沈思華", "沈思华"),
        ("於琳", "于琳"),
        ("鍾偉", "钟伟"),
        ("蕭紅", "萧红"),
        ("範冰", "范冰"),
    ]
    rows = run(nz.normalize_name, [t for t, _ in pairs])
    assert [r["value"] for r in rows] == [s for _, s in pairs]


@pytest.mark.parametrize("raw", ["王 伟", "王\u3000伟", "王  伟", "王\t伟"])
def test_spaces_inside_a_chinese_name_are_removed(raw: str) -> None:
    row = one(nz.normalize_name, raw)
    assert (row["value"], row["repair"]) == ("王伟", "whitespace")


def test_surrounding_spaces_on_a_name_still_count_as_ok() -> None:
    row = one(nz.normalize_name, "\u3000王伟 ")
    assert (row["value"], row["status"]) == ("王伟", "ok")


@pytest.mark.parametrize("dot", ["•", "・", "．", ".", "‧", "∙", "⋅"])
def test_middle_dot_variants_in_minority_names_are_folded(dot: str) -> None:
    row = one(nz.normalize_name, f"买买提{dot}艾力")
    assert (row["value"], row["repair"]) == ("买买提·艾力", "middle_dot")


def test_a_name_with_the_standard_middle_dot_is_ok() -> None:
    row = one(nz.normalize_name, "买买提·艾力")
    assert (row["value"], row["status"]) == ("买买提·艾力", "ok")


@pytest.mark.parametrize(
    ("raw", "name", "note"),
    [
        ("张三(已故)", "张三", "已故"),
        ("李四（户主）", "李四", "户主"),
        ("王五[迁出]", "王五", "迁出"),
        ("赵六【死亡】", "赵六", "死亡"),
        ("张三 (已故)", "张三", "已故"),
        ("张三(已故)(户主)", "张三", "已故；户主"),
        ("张三（已故", "张三", "已故"),
    ],
)
def test_bracketed_notes_are_moved_out_of_the_name(raw: str, name: str, note: str) -> None:
    row = one(nz.normalize_name, raw)
    assert (row["value"], row["note"], row["status"]) == (name, note, "repaired")
    assert row["repair"] == "note_removed"


def test_several_name_repairs_are_all_listed() -> None:
    row = one(nz.normalize_name, " 陳 大文（户主）")
    assert row["value"] == "陈大文"
    assert row["repair"] == "traditional,whitespace,note_removed"
    assert row["note"] == "户主"


@pytest.mark.parametrize("raw", ["?", "???", "？？", "*", "＊＊", "□", "■■", "○", "? *"])
def test_names_made_only_of_placeholder_marks_are_unusable(raw: str) -> None:
    row = one(nz.normalize_name, raw)
    assert (row["status"], row["usable"], row["value"]) == ("invalid", False, None)


@pytest.mark.parametrize("raw", ["王?明", "王*明", "王□明", "？明"])
def test_names_with_an_unreadable_rare_character_are_kept_for_fuzzy_matching(raw: str) -> None:
    row = one(nz.normalize_name, raw)
    assert (row["value"], row["status"], row["usable"]) == (raw, "ok", True)


@pytest.mark.parametrize(
    ("raw", "value"), [("Zhang Wei", "Zhang Wei"), (" zhang wei ", "zhang wei"), ("LI", "LI")]
)
def test_pinyin_names_are_kept_as_delivered(raw: str, value: str) -> None:
    row = one(nz.normalize_name, raw)
    assert (row["value"], row["status"], row["usable"]) == (value, "ok", True)


@pytest.mark.parametrize("raw", ["陈小ming", "王wei", "张莉华", "欧阳纳娜"])
def test_rare_characters_written_as_pinyin_or_homophones_are_kept(raw: str) -> None:
    # nothing to repair: the linker's fuzzy name comparison deals with them
    row = one(nz.normalize_name, raw)
    assert (row["value"], row["status"], row["usable"]) == (raw, "ok", True)


@pytest.mark.parametrize("raw", ["", "  ", None, "无", "/", "-", "NULL", "不详", "(已故)"])
def test_empty_or_placeholder_names_are_missing(raw: str | None) -> None:
    row = one(nz.normalize_name, raw)
    assert (row["status"], row["usable"]) == ("missing", False)


def test_a_name_that_is_only_a_note_keeps_the_note() -> None:
    assert one(nz.normalize_name, "(已故)")["note"] == "已故"


def test_many_repeated_names_convert_consistently() -> None:
    values = ["陳大文", "王伟", "張偉", None, "陳大文"] * 400
    rows = run(nz.normalize_name, values)
    assert [r["value"] for r in rows[:5]] == ["陈大文", "王伟", "张伟", None, "陈大文"]
    assert rows[5:10] == rows[:5]


# --------------------------------------------------------------------------
# 性别, enumerations, district codes, free strings
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "value", "status"),
    [
        ("男", "男", "ok"),
        ("女", "女", "ok"),
        (" 女 ", "女", "ok"),
        ("1", "男", "repaired"),
        ("2", "女", "repaired"),
        ("1.0", "男", "repaired"),
        ("M", "男", "repaired"),
        ("F", "女", "repaired"),
        ("m", "男", "repaired"),
        ("f", "女", "repaired"),
        ("Male", "男", "repaired"),
        ("female", "女", "repaired"),
        ("男性", "男", "repaired"),
        ("女性", "女", "repaired"),
        ("Ｆ", "女", "repaired"),
    ],
)
def test_sex_codes_are_mapped_to_chinese(raw: str, value: str, status: str) -> None:
    row = one(nz.normalize_sex, raw)
    assert (row["value"], row["status"]) == (value, status)


def test_sex_repairs_are_named() -> None:
    assert one(nz.normalize_sex, "1")["repair"] == "sex_code"
    assert one(nz.normalize_sex, "２")["repair"] == "fullwidth,sex_code"


@pytest.mark.parametrize("raw", ["0", "9", "", None, "未知", "未说明", "无"])
def test_unknown_or_unspecified_sex_is_missing(raw: str | None) -> None:
    assert one(nz.normalize_sex, raw)["status"] == "missing"


@pytest.mark.parametrize("raw", ["3", "X", "男女", "unknown"])
def test_unknown_sex_codes_are_invalid(raw: str) -> None:
    row = one(nz.normalize_sex, raw)
    assert (row["status"], row["error"]) == ("invalid", f"unknown sex code '{raw}'")


VEHICLE_TYPES = ["小型汽车", "中型客车", "摩托车", "残疾人专用车"]


@pytest.mark.parametrize(
    ("raw", "value", "status", "repair"),
    [
        ("小型汽车", "小型汽车", "ok", None),
        (" 摩托车 ", "摩托车", "ok", None),
        ("\u3000摩托车\u3000", "摩托车", "ok", None),
        ("小型 汽车", "小型汽车", "repaired", "whitespace"),
    ],
)
def test_enum_values_match_after_stripping(
    raw: str, value: str, status: str, repair: str | None
) -> None:
    row = one(nz.normalize_enum, raw, values=VEHICLE_TYPES)
    assert (row["value"], row["status"], row["repair"]) == (value, status, repair)


def test_enum_fullwidth_ascii_is_folded() -> None:
    row = one(nz.normalize_enum, "ＡＢ", values=["AB", "CD"])
    assert (row["value"], row["status"], row["repair"]) == ("AB", "repaired", "fullwidth")


def test_unknown_enum_code_is_invalid_and_quoted() -> None:
    row = one(nz.normalize_enum, " 飞机 ", values=VEHICLE_TYPES)
    assert (row["status"], row["error"]) == ("invalid", "unknown code '飞机'")


@pytest.mark.parametrize("raw", ["", "  ", None, "无", "/"])
def test_empty_enum_is_missing(raw: str | None) -> None:
    assert one(nz.normalize_enum, raw, values=VEHICLE_TYPES)["status"] == "missing"


def test_a_placeholder_that_is_an_allowed_enum_value_is_kept() -> None:
    row = one(nz.normalize_enum, "无", values=["有", "无"])
    assert (row["value"], row["status"]) == ("无", "ok")


@pytest.mark.parametrize(
    ("raw", "value", "status"),
    [
        ("441302", "441302", "ok"),
        (" 441302 ", "441302", "ok"),
        ("441302.0", "441302", "ok"),
        ("４４１３０２", "441302", "repaired"),
        ("44130", None, "invalid"),
        ("4413020", None, "invalid"),
        ("惠城区", None, "invalid"),
        ("", None, "missing"),
        ("000000", None, "missing"),
        (None, None, "missing"),
    ],
)
def test_district_codes_must_be_six_digits(raw: str | None, value: str | None, status: str) -> None:
    row = one(nz.normalize_district_code, raw)
    assert (row["value"], row["status"]) == (value, status)


@pytest.mark.parametrize(
    ("raw", "value", "status"),
    [
        ("  惠州市惠城区  ", "惠州市惠城区", "ok"),
        ("\u3000粤L12345\u3000", "粤L12345", "ok"),
        ("a  b", "a  b", "ok"),
        ("", None, "missing"),
        ("\u3000 ", None, "missing"),
        (None, None, "missing"),
    ],
)
def test_free_text_is_stripped_and_empty_is_missing(
    raw: str | None, value: str | None, status: str
) -> None:
    row = one(nz.normalize_str, raw)
    assert (row["value"], row["status"]) == (value, status)


# --------------------------------------------------------------------------
# dates and months
# --------------------------------------------------------------------------

JAN5 = dt.date(2023, 1, 5)


@pytest.mark.parametrize(
    "raw",
    [
        "2023/1/5",
        "2023/01/05",
        "20230105",
        "2023年1月5日",
        "2023年01月05日",
        "2023.01.05",
        "2023-1-5",
        "2023-01-05 00:00:00",
        "2023-01-05 00:00:00.000000",
        "2023-01-05T08:30:00",
        "2023 年 1 月 5 日",
    ],
)
def test_common_date_formats_are_recognised(raw: str) -> None:
    row = one(nz.normalize_date, raw)
    assert (row["value"], row["status"], row["repair"]) == (JAN5, "repaired", "date_format")


def test_iso_date_is_ok() -> None:
    assert one(nz.normalize_date, "2023-01-05") == {
        "value": JAN5,
        "status": "ok",
        "repair": None,
        "error": None,
    }
    assert one(nz.normalize_date, " 2023-01-05\u3000")["status"] == "ok"


@pytest.mark.parametrize("raw", ["44931", "44931.0", "44931.75", "４４９３１"])
def test_excel_serial_numbers_are_converted(raw: str) -> None:
    row = one(nz.normalize_date, raw)
    assert (row["value"], row["status"]) == (JAN5, "repaired")
    assert "excel_serial" in row["repair"].split(",")


def test_excel_serials_use_the_1900_date_system() -> None:
    rows = run(nz.normalize_date, ["61", "25569", "2958465", "2958466"])
    assert rows[0]["value"] == dt.date(1900, 3, 1)
    assert rows[1]["value"] == dt.date(1970, 1, 1)
    assert rows[2]["repair"] == "placeholder_date"  # 9999-12-31: "unknown"
    assert rows[3]["error"] == "date out of range"


def test_fullwidth_dates_are_folded() -> None:
    row = one(nz.normalize_date, "２０２３－０１－０５")
    assert (row["value"], row["repair"]) == (JAN5, "fullwidth,date_format")


@pytest.mark.parametrize(
    "raw",
    [
        "2023-02-30",
        "2023-02-29",
        "2023-13-01",
        "2023-00-10",
        "20231301",
        "2023年2月30日",
        "2023/4/31",
    ],
)
def test_impossible_dates_are_invalid(raw: str) -> None:
    row = one(nz.normalize_date, raw)
    assert (row["status"], row["error"]) == ("invalid", "impossible date")


def test_leap_day_is_a_real_date() -> None:
    assert one(nz.normalize_date, "2024-02-29")["value"] == dt.date(2024, 2, 29)
    assert one(nz.normalize_date, "2000/2/29")["value"] == dt.date(2000, 2, 29)
    assert one(nz.normalize_date, "1900-02-29")["error"] == "impossible date"


@pytest.mark.parametrize("raw", ["1899-12-29", "2101-01-01", "0999-01-01", "9999-12-30"])
def test_dates_outside_1900_to_2100_are_invalid(raw: str) -> None:
    row = one(nz.normalize_date, raw)
    assert (row["status"], row["error"]) == ("invalid", "date out of range")


@pytest.mark.parametrize("raw", ["abc", "05/01/2023", "2023-01", "Jan 5 2023", "2023-01-05x"])
def test_unrecognised_dates_are_invalid(raw: str) -> None:
    assert one(nz.normalize_date, raw)["status"] == "invalid"


@pytest.mark.parametrize(
    "raw", ["", None, "无", "/", "-", "0", "0000-00-00", "00000000", "NULL", "NaT"]
)
def test_date_placeholders_are_missing(raw: str | None) -> None:
    assert one(nz.normalize_date, raw)["status"] == "missing"


JAN = dt.date(2023, 1, 1)


@pytest.mark.parametrize(
    ("raw", "status"),
    [
        ("2023-01", "ok"),
        (" 2023-01 ", "ok"),
        ("202301", "repaired"),
        ("2023年1月", "repaired"),
        ("2023年01月", "repaired"),
        ("2023/1", "repaired"),
        ("2023.01", "repaired"),
        ("2023-1", "repaired"),
        ("2023-01-05", "repaired"),
        ("2023/1/31", "repaired"),
        ("2023-01-31 00:00:00", "repaired"),
        ("20230105", "repaired"),
        ("２０２３－０１", "repaired"),
    ],
)
def test_month_formats_give_the_first_of_the_month(raw: str, status: str) -> None:
    row = one(nz.normalize_month, raw)
    assert (row["value"], row["status"]) == (JAN, status)


def test_month_repairs_are_named() -> None:
    assert one(nz.normalize_month, "202301")["repair"] == "date_format"
    assert one(nz.normalize_month, "44931")["repair"] == "excel_serial"
    assert one(nz.normalize_month, "２０２３－０１")["repair"] == "fullwidth,date_format"


@pytest.mark.parametrize(
    ("raw", "error"),
    [
        ("2023-13", "impossible month"),
        ("202300", "impossible month"),
        ("2023-02-30", "impossible date"),
        ("1899-11", "date out of range"),
        ("abc", "unrecognised month"),
    ],
)
def test_impossible_months_are_invalid(raw: str, error: str) -> None:
    row = one(nz.normalize_month, raw)
    assert (row["status"], row["error"]) == ("invalid", error)


@pytest.mark.parametrize("raw", ["", None, "无", "0", "000000"])
def test_month_placeholders_are_missing(raw: str | None) -> None:
    assert one(nz.normalize_month, raw)["status"] == "missing"


# --------------------------------------------------------------------------
# numbers
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "value", "repair"),
    [
        ("1234.5", 1234.5, None),
        ("1234.50", 1234.5, None),
        (" 1234.5 ", 1234.5, None),
        ("-50", -50.0, None),
        ("0", 0.0, None),
        ("1,234.50", 1234.5, "thousands_sep"),
        ("1,234,567", 1234567.0, "thousands_sep"),
        ("1234.5元", 1234.5, "currency_suffix"),
        ("¥1234.5", 1234.5, "currency_suffix"),
        ("￥1,234.50", 1234.5, "thousands_sep,currency_suffix"),
        ("１２３４.５", 1234.5, "fullwidth"),
        ("１，２３４．５元", 1234.5, "thousands_sep,currency_suffix,fullwidth"),
        ("1.5万", 15000.0, "wan_unit"),
        ("1.5万元", 15000.0, "currency_suffix,wan_unit"),
        ("12.345", 12.35, None),
        ("0.125", 0.13, None),
        ("-0.125", -0.13, None),
    ],
)
def test_money_in_yuan(raw: str, value: float, repair: str | None) -> None:
    row = one(nz.normalize_money, raw)
    assert row["value"] == pytest.approx(value)
    assert row["repair"] == repair
    assert row["status"] == ("ok" if repair is None else "repaired")


@pytest.mark.parametrize(
    ("raw", "value", "repair"),
    [
        ("50", 50.0, None),
        ("50万", 50.0, "currency_suffix"),
        ("50万元", 50.0, "currency_suffix"),
        ("500000元", 50.0, "currency_suffix,wan_unit"),
        ("1,000", 1000.0, "thousands_sep"),
    ],
)
def test_money_in_wan_stays_in_wan(raw: str, value: float, repair: str | None) -> None:
    row = one(nz.normalize_money, raw, unit="wan")
    assert (row["value"], row["repair"]) == (pytest.approx(value), repair)


def test_money_unit_must_be_yuan_or_wan() -> None:
    with pytest.raises(ValueError):
        nz.normalize_money(pl.col("x"), unit="usd")


@pytest.mark.parametrize("raw", ["abc", "12元3", "1.2.3", "inf", "--5"])
def test_non_numeric_money_is_invalid(raw: str) -> None:
    row = one(nz.normalize_money, raw)
    assert (row["status"], row["error"]) == ("invalid", "not a number")


@pytest.mark.parametrize("raw", ["", None, "无", "-", "NULL", "nan"])
def test_money_placeholders_are_missing(raw: str | None) -> None:
    assert one(nz.normalize_money, raw)["status"] == "missing"


@pytest.mark.parametrize(
    ("raw", "value", "status"),
    [
        ("3", 3, "ok"),
        ("3.0", 3, "ok"),
        ("3.00", 3, "ok"),
        ("-2", -2, "ok"),
        ("0", 0, "ok"),
        ("1,234", 1234, "repaired"),
        ("３", 3, "repaired"),
        ("3.5", None, "invalid"),
        ("abc", None, "invalid"),
        ("99999999999999999999", None, "invalid"),
        ("", None, "missing"),
        ("无", None, "missing"),
    ],
)
def test_integers(raw: str, value: int | None, status: str) -> None:
    row = one(nz.normalize_int, raw)
    assert (row["value"], row["status"]) == (value, status)


@pytest.mark.parametrize(
    ("raw", "value", "repair"),
    [
        ("0.5", 0.5, None),
        ("1", 1.0, None),
        ("120.75", 120.75, None),
        ("1,234.5", 1234.5, "thousands_sep"),
        ("０.５", 0.5, "fullwidth"),
        ("50%", 0.5, "percent"),
    ],
)
def test_floats(raw: str, value: float, repair: str | None) -> None:
    row = one(nz.normalize_float, raw)
    assert (row["value"], row["repair"]) == (pytest.approx(value), repair)


def test_float_placeholders_and_garbage() -> None:
    rows = run(nz.normalize_float, ["", "无", "x", "nan", "inf"])
    assert [r["status"] for r in rows] == ["missing", "missing", "invalid", "missing", "invalid"]


# --------------------------------------------------------------------------
# the fast path and the full pipeline agree
# --------------------------------------------------------------------------

MIXED = [
    VALID_ID,
    VALID_ID_MALE,
    VALID_ID15,
    VALID_ID.lower(),
    " 110105 19491231 002X ",
    "11010519491231002Y",
    "王伟",
    "陳大文",
    "王 伟",
    "买买提•艾力",
    "张三(已故)",
    "???",
    "Zhang Wei",
    "2023-01-05",
    "2023/1/5",
    "2023-02-30",
    "2023-01",
    "202301",
    "44931",
    "1,234.5",
    "1234.5",
    "3.0",
    "3",
    "-7",
    "441302",
    "441302.0",
    "４４１３０２",
    "男",
    "1",
    "M",
    "0",
    "",
    "无",
    None,
    "0.5",
    "50%",
    "1e3",
    "王\u200b伟",
    "\ufeff" + VALID_ID,
    "于思芳441323199001011231",
    "441323199001011231",
    "1900-01-01",
    "19000101",
    "9999-12-31",
    "1900-01",
    "0000-00-00",
    "男\u00ad",
    " H001\u2060 ",
]


@pytest.mark.parametrize(
    ("public", "full"),
    [
        (nz.normalize_id_no, ids._id_full),
        (nz.normalize_name, names._name_full),
        (nz.normalize_date, dates._date_full),
        (nz.normalize_month, dates._month_full),
        (nz.normalize_sex, enums._sex_full),
        (nz.normalize_district_code, codes._district_full),
        (nz.normalize_int, numbers._int_full),
        (nz.normalize_float, numbers._float_full),
        (nz.normalize_str, enums._str_full),
    ],
)
def test_fast_path_and_full_pipeline_agree(
    public: Callable[[pl.Expr], pl.Expr], full: Callable[[pl.Expr], pl.Expr]
) -> None:
    df = pl.DataFrame({"x": MIXED}, schema={"x": pl.String})
    fast = df.select(public(pl.col("x"))).unnest("x")
    slow = df.select(full(pipeline.as_text(pl.col("x"))).alias("x")).unnest("x")
    assert fast.equals(slow)


# --------------------------------------------------------------------------
# invisible characters (Unicode Cf and the soft hyphen)
# --------------------------------------------------------------------------

INVISIBLE = ["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad"]


def test_the_invisible_class_is_the_unicode_format_characters() -> None:
    import re
    import unicodedata

    from relief_match.text import INVISIBLE_RE

    pattern = re.compile(INVISIBLE_RE)
    for code in range(0x110000):
        ch = chr(code)
        category = unicodedata.category(ch)
        if category == "Cf":
            assert pattern.match(ch), hex(code)
        elif pattern.match(ch):
            assert category == "Cn", hex(code)  # format characters of a newer Unicode


@pytest.mark.parametrize("ch", INVISIBLE)
@pytest.mark.parametrize(
    ("fn", "kwargs", "clean"),
    [
        (nz.normalize_name, {}, "王伟"),
        (nz.normalize_name, {}, "Zhang Wei"),
        (nz.normalize_id_no, {}, VALID_ID),
        (nz.normalize_credit_code, {}, VALID_USCC),
        (nz.normalize_district_code, {}, "441302"),
        (nz.normalize_enum, {"values": ["在保", "停保"]}, "在保"),
        (nz.normalize_sex, {}, "女"),
        (nz.normalize_str, {}, "H0001"),
        (nz.normalize_date, {}, "2023-01-05"),
        (nz.normalize_month, {}, "2023-01"),
        (nz.normalize_money, {}, "1234.5"),
        (nz.normalize_int, {}, "3"),
        (nz.normalize_float, {}, "0.5"),
    ],
)
def test_invisible_characters_are_removed_and_counted(
    fn: Callable[..., pl.Expr], kwargs: dict[str, Any], clean: str, ch: str
) -> None:
    expected = one(fn, clean, **kwargs)["value"]
    for dirty in (ch + clean, clean[:1] + ch + clean[1:], clean + ch):
        row = one(fn, dirty, **kwargs)
        assert row["value"] == expected, repr(dirty)
        assert row["status"] == "repaired"
        assert "invisible_chars" in row["repair"].split(",")


def test_an_id_with_a_zero_width_space_is_no_longer_a_whitespace_repair() -> None:
    assert one(nz.normalize_id_no, VALID_ID[:6] + "\u200b" + VALID_ID[6:])["repair"] == (
        "invisible_chars"
    )
    assert one(nz.normalize_id_no, VALID_ID[:6] + " " + VALID_ID[6:])["repair"] == "whitespace"


def test_a_name_made_only_of_invisible_characters_is_missing() -> None:
    assert one(nz.normalize_name, "\u200b\ufeff")["status"] == "missing"
    assert one(nz.normalize_str, "\u200b")["status"] == "missing"


# --------------------------------------------------------------------------
# digits inside a name
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "name", "note"),
    [
        ("于思芳441323199001011231", "于思芳", "441323********1231"),
        ("441323199001011231于思芳", "于思芳", "441323********1231"),
        ("于思芳 44132319900101123x", "于思芳", "441323********123X"),
        ("于思芳４４１３２３１９９００１０１１２３１", "于思芳", "441323********1231"),
        ("于思芳 441323 19900101 1231", "于思芳", "441323********1231"),
        ("于思芳13812345678", "于思芳", "***********"),
        ("Zhang Wei 441323199001011231", "Zhang Wei", "441323********1231"),
        ("于思芳(户主)441323199001011231", "于思芳", "户主；441323********1231"),
    ],
)
def test_digits_typed_into_a_name_move_to_the_note_masked(raw: str, name: str, note: str) -> None:
    row = one(nz.normalize_name, raw)
    assert (row["value"], row["status"], row["note"]) == (name, "repaired", note)
    assert "digits_removed" in row["repair"].split(",")


def test_a_name_that_is_only_an_id_number_is_missing_with_the_masked_id_as_note() -> None:
    row = one(nz.normalize_name, "441323199001011231")
    assert (row["value"], row["status"], row["note"]) == (None, "missing", "441323********1231")


@pytest.mark.parametrize("raw", ["王伟2", "王伟12345", "李四 3号"])
def test_a_short_number_in_a_name_is_left_alone(raw: str) -> None:
    assert one(nz.normalize_name, raw)["note"] is None


def test_mask_digits_in_names_masks_only_the_digit_runs() -> None:
    s = pl.Series(["于思芳441323199001011231", "王伟", None, "王伟2"])
    assert names.mask_digits_in_names(s).to_list() == [
        "于思芳441323********1231",
        "王伟",
        None,
        "王伟2",
    ]


# --------------------------------------------------------------------------
# placeholder dates
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        "19000101",
        "1900-01-01",
        "1900/1/1",
        "1900-01-01 00:00:00",
        "0000-00-00",
        "00000000",
        "9999-12-31",
        "99991231",
        "9999/12/31",
        "1899-12-30",
        "1899-12-31",
        "0",
        "1",
        "2958465",
    ],
)
def test_placeholder_dates_mean_unknown(raw: str) -> None:
    row = one(nz.normalize_date, raw)
    assert (row["value"], row["status"], row["repair"]) == (None, "missing", "placeholder_date")


@pytest.mark.parametrize("raw", ["1900-01", "190001", "9999-12", "1899-12", "19000101", "0000-00"])
def test_placeholder_months_mean_unknown(raw: str) -> None:
    row = one(nz.normalize_month, raw)
    assert (row["value"], row["status"], row["repair"]) == (None, "missing", "placeholder_date")


@pytest.mark.parametrize("raw", ["1900-01-02", "1900-03-01", "9999-12-30", "1900-02"])
def test_dates_next_to_a_placeholder_are_not_placeholders(raw: str) -> None:
    fn = nz.normalize_month if len(raw) == 7 else nz.normalize_date
    assert one(fn, raw)["repair"] != "placeholder_date"


def test_ordinary_missing_dates_name_no_repair() -> None:
    assert [r["repair"] for r in run(nz.normalize_date, ["", "无", "-", None])] == [None] * 4


# --------------------------------------------------------------------------
# implausible money
# --------------------------------------------------------------------------


@pytest.mark.parametrize("raw", ["1e9", "1E9", "1.5E+03", "2.5e-1", "1e999", "1e9元", "１e９"])
def test_money_in_scientific_notation_is_invalid(raw: str) -> None:
    row = one(nz.normalize_money, raw)
    assert (row["status"], row["error"]) == ("invalid", "scientific notation")
    assert one(nz.normalize_money, raw, unit="wan")["error"] == "scientific notation"


@pytest.mark.parametrize(
    "raw", ["99999999999999999999", "10000000000000", "-10000000000000", "1,000,000,000,000,000"]
)
def test_money_with_thirteen_or_more_integer_digits_is_invalid(raw: str) -> None:
    row = one(nz.normalize_money, raw)
    assert (row["status"], row["error"]) == ("invalid", "too many digits")


def test_the_largest_plausible_amounts_still_parse() -> None:
    assert one(nz.normalize_money, "9999999999999")["value"] == 9999999999999.0
    assert one(nz.normalize_money, "123456789012.34")["value"] == 123456789012.34


def test_decimals_other_than_money_still_accept_scientific_notation() -> None:
    assert one(nz.normalize_float, "1.5e2")["value"] == 150.0
