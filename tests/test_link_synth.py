"""Link quality on a synthetic city, staged by the real reader/validator.

The synthetic city (``relief_match.synth.generate``) writes a delivery with the
contract's defects and an answer key (``answer_key/links.csv``) naming the true
person behind every reference that belongs to a recipient member and behind
every decoy namesake. The issue's targets: precision >= 0.99, recall >= 0.98,
recall >= 0.95 on fuzzy references, no decoy namesake linked.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
import pytest

from link_city import LinkQuality, evaluate_answer_key
from relief_match import api
from relief_match.config import resolve
from relief_match.link import run_linking
from relief_match.synth import generate

ROOT = Path(__file__).resolve().parents[1]
SETTINGS = ROOT / "rules" / "linkage" / "settings.yaml"
MODEL = ROOT / "rules" / "linkage" / "model.json"
AS_OF = date(2026, 11, 28)


def _link_city(
    out: Path, population: int, seed: int
) -> tuple[LinkQuality, duckdb.DuckDBPyConnection]:
    generate(population, seed, AS_OF, out)
    cfg = resolve(out / "delivery", out=out / "run", as_of=AS_OF.isoformat())
    catalog = api.load_catalog(cfg)
    con = api.open_db(cfg)
    ingest = api.stage(cfg, con, catalog)
    specs = api.person_refs(catalog, ingest.available)
    run_linking(con, specs, SETTINGS, MODEL)
    quality = evaluate_answer_key(
        con,
        str(out / "answer_key" / "links.csv"),
        name_columns={s.extract: s.name is not None for s in specs},
        specs=specs,
    )
    return quality, con


@pytest.fixture(scope="module")
def city(tmp_path_factory: pytest.TempPathFactory) -> tuple[LinkQuality, duckdb.DuckDBPyConnection]:
    return _link_city(tmp_path_factory.mktemp("link_city"), 20000, 7)


def _fuzzy_recall(q: LinkQuality) -> float:
    found = sum(f for d, (f, _e) in q.recall_by_difficulty.items() if d.startswith("fuzzy"))
    expected = sum(e for d, (_f, e) in q.recall_by_difficulty.items() if d.startswith("fuzzy"))
    return found / expected if expected else 1.0


def test_link_precision_and_recall_meet_the_targets(
    city: tuple[LinkQuality, duckdb.DuckDBPyConnection],
) -> None:
    q, _con = city
    assert q.precision >= 0.99, q.asstr()
    assert q.recall >= 0.98, q.asstr()
    assert _fuzzy_recall(q) >= 0.95, q.asstr()


def test_no_decoy_namesake_is_linked(city: tuple[LinkQuality, duckdb.DuckDBPyConnection]) -> None:
    q, _con = city
    assert q.decoys_linked == 0, q.asstr()


def test_every_difficulty_is_represented_and_linked(
    city: tuple[LinkQuality, duckdb.DuckDBPyConnection],
) -> None:
    q, _con = city
    for d in ("clean", "messy_id", "fuzzy_typo", "fuzzy_transposed", "traditional"):
        found, expected = q.recall_by_difficulty.get(d, (0, 0))
        assert expected > 0, (d, q.asstr())
        assert found / expected >= 0.95, (d, q.asstr())


def test_routes_match_the_reference_difficulty(
    city: tuple[LinkQuality, duckdb.DuckDBPyConnection],
) -> None:
    _q, con = city
    rows = dict(
        con.execute(
            """SELECT difficulty || '/' || route, count(*) FROM _city_eval
               WHERE is_linked AND ok GROUP BY ALL"""
        ).fetchall()
    )
    # clean IDs go the exact route, 15-digit / full-width / spaced IDs the repaired
    # route, mistyped and swapped IDs the probabilistic route
    assert rows.get("clean/exact", 0) > 0
    assert rows.get("messy_id/repaired_id", 0) > 0
    assert rows.get("fuzzy_typo/probabilistic", 0) > 0
    assert rows.get("fuzzy_transposed/probabilistic", 0) > 0
    assert rows.get("fuzzy_typo/exact", 0) == 0


@pytest.mark.slow
def test_link_quality_on_a_larger_city(tmp_path: Path) -> None:
    q, _con = _link_city(tmp_path, 120000, 11)
    assert q.precision >= 0.99 and q.recall >= 0.98 and q.decoys_linked == 0, q.asstr()
    assert _fuzzy_recall(q) >= 0.95, q.asstr()
