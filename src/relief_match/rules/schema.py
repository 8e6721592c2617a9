"""Staged table layouts the rules are written against.

The validate/stage step turns every delivered extract into one DuckDB table
whose columns follow design.md §3: an ``id_no`` column ``c`` becomes ``c``,
``c_raw``, ``c_clean``, ``c_status``, ``c_birth`` and ``c_sex``; a ``name``
column becomes ``c``, ``c_raw`` and ``c_note``; and so on, plus ``_row`` and
``_file``. This module derives those layouts from ``schemas/<dept>/<extract>.yaml``
so that the rules engine can check every column a check's SQL references, and
so that tests (and the engine, for optional extracts that were not delivered)
can create empty tables of the right shape.

The ``_rm_*`` tables written by the link stage (design.md §4) are declared
here too, as :data:`RM_TABLES`.

Example:
    >>> from pathlib import Path
    >>> layouts, problems = load_staged_layouts(Path("schemas"))
    >>> layouts["motor_vehicles"]["owner_id_no_clean"]
    'VARCHAR'
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

#: Column name -> DuckDB type, per staged table.
Layout = dict[str, str]

#: The 17 extracts of the data contract, with their department and Chinese title.
#: Used to validate ``requires`` when no schemas directory is given, and to name
#: evidence sources in outputs.
EXTRACTS: dict[str, tuple[str, str]] = {
    "recipients_households": ("civil_affairs", "救助对象家庭"),
    "recipients_members": ("civil_affairs", "救助家庭成员"),
    "benefit_payments": ("civil_affairs", "救助金发放记录"),
    "marriage_registrations": ("civil_affairs", "婚姻登记"),
    "hukou_registry": ("public_security", "户籍人口"),
    "motor_vehicles": ("public_security", "机动车登记"),
    "detentions": ("public_security", "在押服刑人员"),
    "death_certificates": ("health", "死亡医学证明"),
    "social_insurance": ("human_resources", "社保缴费"),
    "pension_payments": ("human_resources", "养老金发放"),
    "unemployment_benefits": ("human_resources", "失业保险金"),
    "public_employees": ("human_resources", "机关事业单位人员"),
    "provident_fund_accounts": ("housing_fund", "住房公积金账户"),
    "real_estate": ("natural_resources", "不动产登记"),
    "enterprises": ("market_regulation", "企业登记"),
    "shareholders": ("market_regulation", "股东及出资"),
    "individual_businesses": ("market_regulation", "个体工商户"),
}

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
    "_rm_links": {
        "extract": "VARCHAR",
        "row": "BIGINT",
        "role": "VARCHAR",
        "person_id": "VARCHAR",
        "route": "VARCHAR",
        "match_probability": "DOUBLE",
        "match_weight": "DOUBLE",
        "evidence": "VARCHAR",
    },
}

#: Prefix of the temporary tables that hold table-valued parameters.
PARAM_TABLE_PREFIX = "_rm_param_"


def load_staged_layouts(schemas_dir: Path) -> tuple[dict[str, Layout], list[tuple[Path, str]]]:
    """The staged layout (column -> DuckDB type) of every extract in ``schemas/``.

    The layouts come from :mod:`relief_match.catalog`, the one place that
    knows how a schema column becomes staged columns.

    Returns:
        ``(layouts, problems)``: extract name -> layout, and ``(path, message)``
        for schema problems, returned rather than raised so that the caller can
        report them together with its own.
    """
    from relief_match.catalog import load_catalog
    from relief_match.errors import ConfigError

    try:
        catalog = load_catalog(schemas_dir)
    except ConfigError as exc:
        return {}, [(Path(p), m) for p, m in exc.problems]
    return {spec.extract: spec.staged_layout() for spec in catalog}, []


def create_empty_table(con: Any, name: str, layout: Layout, *, temp: bool = False) -> None:
    """Create an empty table ``name`` with the given layout on a DuckDB connection.

    Args:
        con: a ``duckdb.DuckDBPyConnection``.
        name: table name (quoted with :func:`quote_ident`).
        layout: column name -> DuckDB type.
        temp: create a ``TEMP`` table (dropped when the connection closes).
    """
    cols = ", ".join(f"{quote_ident(c)} {t}" for c, t in layout.items())
    kind = "TEMP TABLE" if temp else "TABLE"
    con.execute(f"CREATE OR REPLACE {kind} {quote_ident(name)} ({cols})")


def quote_ident(name: str) -> str:
    """Quote a SQL identifier for DuckDB (the one quoting helper of the rules stage)."""
    return '"' + name.replace('"', '""') + '"'
