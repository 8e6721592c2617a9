"""The layout of ``_rm_links``, the table the linking stage hands to the checks.

Declared once here: the linker writes it, the rules stage (and its case-file
tests) create it empty from this declaration, the outputs read it.
"""

from __future__ import annotations

#: column -> DuckDB type, in table order.
LINKS_LAYOUT: dict[str, str] = {
    "extract": "VARCHAR",
    "row": "BIGINT",
    "role": "VARCHAR",
    "person_id": "VARCHAR",
    "route": "VARCHAR",
    "match_probability": "DOUBLE",
    "match_weight": "DOUBLE",
    "evidence": "VARCHAR",
    "id_match": "VARCHAR",
    "name_match": "VARCHAR",
    "birth_match": "VARCHAR",
    "sex_match": "VARCHAR",
    "district_match": "VARCHAR",
    "n_candidates": "BIGINT",
}

LINKS_COLUMNS: tuple[str, ...] = tuple(LINKS_LAYOUT)
