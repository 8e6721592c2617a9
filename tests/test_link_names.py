"""Name folding and term frequencies across the stages: a name is folded by one
function (:func:`relief_match.text.fold_name`) wherever the linker looks at it,
and the staged names the ingest stage writes fold to the same key as the
delivered ones."""

from __future__ import annotations

from pathlib import Path

import duckdb
import polars as pl
import pytest

from relief_match.ingest.normalize import normalize_name
from relief_match.link import PersonReference, load_settings
from relief_match.link.features import build_names_table, features_sql
from relief_match.link.prepare import TF, build_name_term_frequencies
from relief_match.text import fold_name, name_pinyin

ROOT = Path(__file__).resolve().parents[1]
SETTINGS = ROOT / "rules" / "linkage" / "settings.yaml"

# the ways a clerk writes the same names (traditional, spaces, dot variants,
# unreadable-character marks) and a few others
_RAW_NAMES = [
    "陳偉",
    "陈伟",
    "陈 伟",
    " 陳 偉 ",
    "乾隆",
    "阿依古丽•买买提",
    "阿依古丽・买买提",
    "阿依古丽·买买提",
    "王*明",
    "王＊明",
    "王?明",
    "王□明",
    "沈思华",
    "Zhang Wei",
    "張偉（户主）",
]


def _staged(raw: list[str]) -> list[str | None]:
    """The names as the ingest stage stages them."""
    df = pl.DataFrame({"name": raw}, schema={"name": pl.String})
    return df.select(normalize_name(pl.col("name")).struct.field("value")).to_series().to_list()


def test_staged_names_fold_to_the_key_of_the_delivered_name() -> None:
    """Staging is a part of folding: fold(staged) == fold(delivered, notes removed)."""
    staged = _staged(_RAW_NAMES)
    for raw, st in zip(_RAW_NAMES, staged, strict=True):
        assert st is not None, raw
        delivered = raw.split("（")[0]
        assert fold_name(st) == fold_name(delivered), (raw, st)
        assert fold_name(fold_name(st)) == fold_name(st)


def test_a_name_shared_by_half_the_population_gets_its_true_frequency() -> None:
    """The population extract's names, staged by the real normaliser, are
    counted by folded name: 陈伟 written four ways by half the population has
    frequency 1/2, not the weight of a rare name."""
    forms = ["陳偉", "陈伟", "陈 伟", " 陳 偉 "]
    pop = [forms[i % 4] for i in range(500)] + [f"李{chr(0x4E00 + 300 + i)}" for i in range(500)]
    staged = _staged(pop)
    con = duckdb.connect()
    con.register("_frame", pl.DataFrame({"name": staged}, schema={"name": pl.String}))
    con.execute("CREATE TABLE hukou_registry AS SELECT * FROM _frame")
    # the linker's two sides hold folded names
    con.execute("CREATE TABLE l AS SELECT * FROM (VALUES ('陈伟'), ('王?明')) t(name)")
    con.execute(f"CREATE TABLE r AS SELECT * FROM (VALUES ('{fold_name(pop[501])}')) t(name)")
    refs = [PersonReference("hukou_registry", "resident", "id_no", "name")]
    build_name_term_frequencies(con, refs, load_settings(SETTINGS), "l", "r")
    tf = dict(con.execute(f"SELECT name, tf_name FROM {TF}").fetchall())
    assert tf["陈伟"] == pytest.approx(0.5)
    assert tf[fold_name(pop[501])] == pytest.approx(1 / 1000)
    # a name nobody in the population has counts as one
    assert tf["王?明"] == pytest.approx(1 / 1000)


def test_pinyin_with_tones_tells_apart_what_toneless_pinyin_does_not() -> None:
    assert name_pinyin("王伟", tones=True) == name_pinyin("王玮", tones=True) == "wang2wei3"
    assert name_pinyin("王伟") == name_pinyin("王维")
    assert name_pinyin("王伟", tones=True) != name_pinyin("王维", tones=True)


def test_swapped_given_names_and_a_dropped_dot_share_their_characters() -> None:
    con = duckdb.connect()
    names = ["何建华", "何华建", "何建", "阿依古丽·买买提", "阿依古丽买买提"]
    con.execute(
        "CREATE TABLE src AS SELECT * FROM (VALUES "
        + ", ".join(f"('{n}')" for n in names)
        + ") t(name_in)"
    )
    con.execute(
        """CREATE TABLE s AS SELECT NULL::VARCHAR AS id_src, name_in, NULL::VARCHAR AS sex_in,
           NULL::DATE AS birth_in, NULL::VARCHAR AS district FROM src"""
    )
    build_names_table(con, "SELECT name_in FROM src", "n")
    sql = features_sql("s", birth_year_min=1900, birth_year_max=2100, names_table="n")
    keys = dict(con.execute(f"SELECT name, name_key FROM ({sql})").fetchall())
    assert keys["何建华"] == keys["何华建"] != keys["何建"]
    assert keys["阿依古丽·买买提"] == keys["阿依古丽买买提"]
