"""Blocking for IDs with two errors: two mistyped digits, or an adjacent swap
plus a mistyped digit, without comparing every pair.

The 17 body digits are cut into five windows (region, year, month, day,
sequence). Two errors touch at most two windows, so three stay intact: the
pair agrees on one of the ten keys "these three windows". Each key is one
hash join of the unresolved profiles with an invalid ID against the persons;
the joined pairs are kept only when the bodies differ by at most two digits
position-wise, or by three with one adjacent swap among them (SQL on
substrings; no edit distance, which costs ~9 s per million pairs). A swap
across a window border plus a mistyped digit in a third window touches three
windows and is not found here.
"""

from __future__ import annotations

from itertools import combinations

import duckdb

#: (first, last) 1-based positions of the five windows of the ID body.
WINDOWS: tuple[tuple[int, int], ...] = ((1, 6), (7, 10), (11, 12), (13, 14), (15, 17))


def window_key_sql(col: str, keep: tuple[int, ...]) -> str:
    """SQL: the windows ``keep`` of the 17-digit body ``col``, concatenated."""
    return " || ".join(
        f"substr({col}, {WINDOWS[w][0]}, {WINDOWS[w][1] - WINDOWS[w][0] + 1})" for w in keep
    )


def window_keys() -> list[tuple[int, ...]]:
    """Every choice of three of the five windows."""
    return list(combinations(range(len(WINDOWS)), 3))


def near_id_sql(l17: str, r17: str) -> str:
    """SQL: two 17-digit bodies within two mistyped digits, or one adjacent swap
    plus one mistyped digit (position-wise counts)."""
    swap = (
        f"list_bool_or([substr({l17}, i, 1) = substr({r17}, i + 1, 1) "
        f"AND substr({l17}, i + 1, 1) = substr({r17}, i, 1) "
        f"AND substr({l17}, i, 1) <> substr({l17}, i + 1, 1) FOR i IN range(1, 17)])"
    )
    return f"(hamming({l17}, {r17}) <= 2 OR (hamming({l17}, {r17}) = 3 AND {swap}))"


def near_id_pairs(con: duckdb.DuckDBPyConnection, left: str, right: str, out: str) -> int:
    """Create ``out(unique_id_l, unique_id_r)``: the pairs of ``left`` profiles
    without a valid ID and ``right`` persons whose bodies (``id17``) are within
    two errors. Returns their number."""
    # one join per statement: ten joins in one UNION ALL build ten hash tables
    # at once, which cannot spill under a low memory_limit
    raw = f"{out}_raw"
    for i, keep in enumerate(window_keys()):
        into = f"INSERT INTO {raw}" if i else f"CREATE OR REPLACE TEMP TABLE {raw} AS"
        con.execute(
            f"""{into}
            SELECT l.unique_id AS unique_id_l, r.unique_id AS unique_id_r
            FROM (SELECT unique_id, id17 FROM {left} WHERE NOT id_ok AND id17 IS NOT NULL) l
            JOIN (SELECT unique_id, id17 FROM {right} WHERE id17 IS NOT NULL) r
              ON {window_key_sql("l.id17", keep)} = {window_key_sql("r.id17", keep)}
            WHERE {near_id_sql("l.id17", "r.id17")}"""
        )
    con.execute(f"CREATE OR REPLACE TEMP TABLE {out} AS SELECT DISTINCT * FROM {raw} ORDER BY 1, 2")
    con.execute(f"DROP TABLE {raw}")
    row = con.execute(f"SELECT count(*) FROM {out}").fetchall()[0]
    return int(row[0]) if row else 0
