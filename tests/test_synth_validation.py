"""A synthetic delivery passes the project's own schemas apart from its injected defects,
which are quarantined or repaired exactly as the generator recorded them."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
import polars as pl
import pytest

from relief_match.catalog import load_catalog
from relief_match.db import table_exists
from relief_match.synth import generate
from relief_match.validate.delivery import ingest_delivery

SAMPLE = Path(__file__).resolve().parents[1] / "sample_data"


@pytest.fixture(scope="module", params=["sample_data", "fresh"])
def city(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    if request.param == "sample_data":
        return SAMPLE
    out = tmp_path_factory.mktemp("city")
    generate(3000, 777, date(2027, 3, 15), out, defect_rate=0.04)
    return out


@pytest.fixture(scope="module")
def staged(city: Path) -> tuple[duckdb.DuckDBPyConnection, pl.DataFrame]:
    con = duckdb.connect()
    ingest_delivery(city / "delivery", load_catalog(), con)
    defects = pl.read_csv(city / "answer_key" / "defects.csv", infer_schema=False).with_columns(
        pl.col("row").cast(pl.Int64)
    )
    return con, defects


def test_quarantine_holds_exactly_the_unrepairable_defects(staged) -> None:  # type: ignore[no-untyped-def]
    con, defects = staged
    expected = set(
        defects.filter(pl.col("expected") == "quarantined").select("file", "row").iter_rows()
    )
    got = set(con.sql("SELECT file, row FROM _rm_quarantine").pl().iter_rows())
    assert got == expected


def test_repaired_and_kept_defects_are_used(staged) -> None:  # type: ignore[no-untyped-def]
    con, defects = staged
    tables = [e.extract for e in load_catalog() if table_exists(con, e.extract)]
    used = set(
        con.sql(" UNION ALL ".join(f"SELECT _file AS file, _row AS row FROM {t}" for t in tables))
        .pl()
        .iter_rows()
    )
    quarantined = set(
        defects.filter(pl.col("expected") == "quarantined").select("file", "row").iter_rows()
    )
    for file, row, column, defect in (
        defects.filter((pl.col("expected") != "quarantined") & pl.col("row").is_not_null())
        .select("file", "row", "column", "defect")
        .iter_rows()
    ):
        if (file, row) in quarantined:  # another defect on the same row rejects it
            continue
        assert (file, row) in used, (file, row, column, defect)


def test_repaired_id_defects_are_marked_repaired(staged) -> None:  # type: ignore[no-untyped-def]
    con, defects = staged
    cat = load_catalog()
    id_kinds = ("id_15digit", "id_fullwidth", "id_lower_x", "id_space", "id_hyphen", "id_tab")
    rows = defects.filter(pl.col("defect").is_in(id_kinds) & (pl.col("expected") == "repaired"))
    assert rows.height > 0
    for extract, file, row, column in rows.select("extract", "file", "row", "column").iter_rows():
        assert cat[extract].column(column).type == "id_no"
        status = con.execute(
            f'SELECT "{column}_status" FROM {extract} WHERE _file = ? AND _row = ?', [file, row]
        ).fetchone()
        if status is not None:  # rows carrying a second, unrepairable defect are quarantined
            assert status[0] == "repaired", (extract, row, column)
