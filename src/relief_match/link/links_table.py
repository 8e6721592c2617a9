"""The stage's output: ``_rm_links`` in the layout of
:data:`relief_match.link.layout.LINKS_LAYOUT`, and ``links.parquet``."""

from __future__ import annotations

from pathlib import Path

import duckdb

from relief_match.db import table_exists
from relief_match.link.exact import EXACT, lit
from relief_match.link.layout import LINKS_LAYOUT
from relief_match.link.one_to_one import UNDECIDED
from relief_match.link.prepare import PROB
from relief_match.link.settings import LinkSettings
from relief_match.sqlident import quote_ident as q


def write_links(
    con: duckdb.DuckDBPyConnection, settings: LinkSettings, gv: dict[str, dict[str, int]]
) -> None:
    """Create ``_rm_links``: the ID-route links and the chosen probabilistic
    links (with each comparison's level and the Chinese evidence text), one
    row per reference, in :data:`LINKS_LAYOUT` (column order and types)."""
    label_cols = []
    agree_items = []
    diff_items = []
    for comp in settings.comparisons:
        col = f"p.gamma_{comp.name}"
        whens = " ".join(
            f"WHEN {gv[comp.name][lv.label]} THEN {lit(lv.label)}" for lv in comp.levels
        )
        label_cols.append(f"CASE {col} {whens} END AS {q(comp.name + '_match')}")
        agree_vals = [gv[comp.name][lv.label] for lv in comp.levels if lv.agrees]
        if agree_vals:
            agree_items.append(
                f"CASE WHEN {col} IN ({', '.join(map(str, agree_vals))}) THEN {lit(comp.zh)} END"
            )
        diff_whens = " ".join(
            f"WHEN {gv[comp.name][lv.label]} THEN {lit(lv.zh)}"
            for lv in comp.levels
            if not lv.agrees and not lv.is_null
        )
        if diff_whens:
            diff_items.append(f"CASE {col} {diff_whens} END")
    agrees = f"list_filter([{', '.join(agree_items)}], lambda x: x IS NOT NULL)"
    diffs = f"list_filter([{', '.join(diff_items)}], lambda x: x IS NOT NULL)"
    evidence = f"""concat_ws('，',
        CASE WHEN len({agrees}) > 0 THEN array_to_string({agrees}, '、') || '一致' END,
        CASE WHEN len({diffs}) > 0 THEN array_to_string({diffs}, '，') END)"""
    known = {c.name for c in settings.comparisons}
    detail = []
    for name in ("id_no", "name", "birth", "sex", "district"):
        out = "id_match" if name == "id_no" else f"{name}_match"
        detail.append(f"{q(name + '_match')} AS {out}" if name in known else f"NULL AS {out}")
    layout = ", ".join(f"CAST({q(c)} AS {t}) AS {q(c)}" for c, t in LINKS_LAYOUT.items())
    con.execute(
        f"""CREATE OR REPLACE TABLE _rm_links AS
        SELECT {layout} FROM (
            SELECT extract, "row", role, person_id, route,
                   CAST(1.0 AS DOUBLE) AS match_probability,
                   CAST(NULL AS DOUBLE) AS match_weight,
                   CASE WHEN route = 'exact' THEN '身份证号一致'
                        ELSE '身份证号修复后一致' END AS evidence,
                   CASE WHEN route = 'exact' THEN 'exact' ELSE 'repaired' END AS id_match,
                   CAST(NULL AS VARCHAR) AS name_match, CAST(NULL AS VARCHAR) AS birth_match,
                   CAST(NULL AS VARCHAR) AS sex_match, CAST(NULL AS VARCHAR) AS district_match,
                   CAST(1 AS BIGINT) AS n_candidates
            FROM {EXACT}
            UNION ALL
            SELECT extract, "row", role, person_id, 'probabilistic' AS route,
                   CAST(round(p, 6) AS DOUBLE) AS match_probability,
                   CAST(round(w, 4) AS DOUBLE) AS match_weight,
                   evidence, {", ".join(detail)}, n_candidates
            FROM (SELECT p.*, {evidence} AS evidence, {", ".join(label_cols)} FROM {PROB} p)
        ) ORDER BY extract, "row", role"""
    )


_UNDECIDED_COLS = (
    "extract",
    "row",
    "role",
    "person_id",
    "match_probability",
    "match_weight",
    "n_candidates",
)


def write_link_table(con: duckdb.DuckDBPyConnection, out_path: Path) -> int:
    """Write ``_rm_links`` joined with the person's household(s) to parquet,
    followed by the references too close to call (route
    ``too_close_to_call``, the best candidate person, no link).

    One row per (link, household of the linked person); returns the number
    of rows written.
    """
    out = Path(out_path)
    out.parent.mkdir(parents=True, exist_ok=True)
    links = "_rm_links"
    if table_exists(con, UNDECIDED):
        cols = ", ".join(
            {
                "route": "'too_close_to_call' AS route",
                "evidence": "'两个以上候选人员难以区分，未关联' AS evidence",
            }.get(c, q(c) if c in _UNDECIDED_COLS else f"NULL AS {q(c)}")
            for c in LINKS_LAYOUT
        )
        links = f"(SELECT * FROM _rm_links UNION ALL SELECT {cols} FROM {UNDECIDED})"
    sql = f"""SELECT l.*, mp.household_id
        FROM {links} l
        LEFT JOIN (SELECT DISTINCT person_id, household_id FROM _rm_member_person) mp
            USING (person_id)
        ORDER BY l.extract, l."row", l.role, mp.household_id"""
    con.execute(f"COPY ({sql}) TO {lit(str(out))} (FORMAT parquet)")
    row = con.execute(f"SELECT count(*) FROM read_parquet({lit(str(out))})").fetchall()[0]
    return int(row[0]) if row else 0
