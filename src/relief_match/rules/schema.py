"""Table layouts the rules are written against: staged extracts and the link tables.

The validate/stage step turns every delivered extract into one DuckDB table
whose columns follow design.md §3 (an ``id_no`` column ``c`` becomes ``c``,
``c_raw``, ``c_clean``, ``c_status``, ...; plus ``_row`` and ``_file``). Those
layouts come from the catalog (``schemas/<dept>/<extract>.yaml``): adding an
extract means adding a schema file, nothing here.

The ``_rm_*`` tables written by the link stage (design.md §4) that checks may
read are :data:`RM_TABLES`; ``_rm_links`` is declared once, in
:mod:`relief_match.link.layout`.

Example:
    >>> from pathlib import Path
    >>> layouts, problems = load_staged_layouts(Path("schemas"))
    >>> layouts["motor_vehicles"]["owner_id_no_clean"]
    'VARCHAR'
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from relief_match.catalog import load_catalog
from relief_match.errors import ConfigError
from relief_match.link.layout import LINKS_LAYOUT
from relief_match.sqlident import quote_ident

#: Column name -> DuckDB type, per table.
Layout = dict[str, str]

#: Tables written by the link stage (design.md §4) that checks may read.
RM_TABLES: dict[str, Layout] = {
    "_rm_persons": {
        "person_id": "VARCHAR",
        "id_no": "VARCHAR",
        "name": "VARCHAR",
        "sex": "VARCHAR",
        "birth_date": "DATE",
        "district_code": "VARCHAR",
        "n_households": "BIGINT",
    },
    "_rm_member_person": {
        "member_row": "BIGINT",
        "person_id": "VARCHAR",
        "household_id": "VARCHAR",
    },
    "_rm_links": dict(LINKS_LAYOUT),
}

#: Prefix of the temporary tables that hold table-valued parameters.
PARAM_TABLE_PREFIX = "_rm_param_"


def load_staged_layouts(schemas_dir: Path) -> tuple[dict[str, Layout], list[tuple[Path, str]]]:
    """The staged layout (column -> DuckDB type) of every extract in ``schemas/``.

    Returns:
        ``(layouts, problems)``: extract name -> layout, and ``(path, message)``
        for schema problems, returned rather than raised so that the caller can
        report them together with its own.
    """
    try:
        catalog = load_catalog(schemas_dir)
    except ConfigError as exc:
        return {}, [(Path(p), m) for p, m in exc.problems]
    return {spec.extract: spec.staged_layout() for spec in catalog}, []


def contract_extracts() -> set[str]:
    """Names of the extracts of the shipped catalog (used when no schemas dir is given).

    Raises:
        ConfigError: when the shipped schema files are broken.
    """
    return {spec.extract for spec in load_catalog()}


def create_empty_table(con: Any, name: str, layout: Layout, *, temp: bool = False) -> None:
    """Create (or replace) an empty table ``name`` with the given layout.

    Args:
        con: a ``duckdb.DuckDBPyConnection``.
        name: table name.
        layout: column name -> DuckDB type.
        temp: create a ``TEMP`` table (dropped when the connection closes).
    """
    cols = ", ".join(f"{quote_ident(c)} {t}" for c, t in layout.items())
    kind = "TEMP TABLE" if temp else "TABLE"
    con.execute(f"CREATE OR REPLACE {kind} {quote_ident(name)} ({cols})")
