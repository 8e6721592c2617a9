"""Shared relations: what several checks read, built once per run before the checks.

Like the staging models of a dbt project, each relation is declared once here
(name, SQL, columns, meaning) and every check that needs it reads the
``_rm_*`` table instead of repeating its own CTE. The engine builds them after
linking and before the first check (:func:`build_relations`), as temporary
tables on the run's connection; the loader knows their layouts, so the static
checks (sqlglot, the dry-run bind) treat them like the link tables.

A relation's parameters are bound the way a check's are: ``$name`` in its SQL,
values from ``rules/params.yaml``, never pasted into the text. A check that
reads a relation must declare the relation's parameters and require its
source extracts (the loader checks both), so that a check never runs on a
relation built without its inputs.

Example:
    >>> [r.name for r in RELATIONS]
    ['_rm_household', '_rm_member', '_rm_household_head', '_rm_active_household', '_rm_household_pay', '_rm_person_link', '_rm_member_link']
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import duckdb

from relief_match.link.layout import LINKS_LAYOUT
from relief_match.rules.schema import Layout
from relief_match.rules.spec import ParamSpec
from relief_match.sqlident import quote_ident


@dataclass(frozen=True)
class Relation:
    """One shared relation.

    Attributes:
        name: the table name checks read (``_rm_...``).
        doc: what one row means (rendered into rules/README.md).
        sql: one SELECT over staged extracts and link tables.
        layout: its columns -> DuckDB types (a test holds them to the SQL).
        sources: the tables it reads; a check reading it must require those
            that are extracts.
        params: the ``$name`` parameters its SQL uses.
    """

    name: str
    doc: str
    sql: str
    layout: Layout
    sources: tuple[str, ...]
    params: tuple[str, ...] = ()


#: The columns naming a member, as every member relation returns them.
_MEMBER_LAYOUT: Layout = {
    "household_id": "VARCHAR",
    "person_id": "VARCHAR",
    "member_name": "VARCHAR",
    "member_id_no": "VARCHAR",
}

#: The columns of a trusted link, from ``_rm_links`` (``evidence`` as ``match_evidence``).
_LINK_LAYOUT: Layout = {
    **{c: LINKS_LAYOUT[c] for c in ("extract", "row", "role", "person_id", "route")},
    "match_probability": LINKS_LAYOUT["match_probability"],
    "match_evidence": LINKS_LAYOUT["evidence"],
}

RELATIONS: tuple[Relation, ...] = (
    Relation(
        name="_rm_household",
        doc=(
            "One row per household: each attribute as first recorded (the first "
            "non-empty value in delivery order, when a household has several rows)."
        ),
        sql="""
            SELECT household_id,
                   arg_min(benefit_type, _row) FILTER (WHERE benefit_type IS NOT NULL) AS benefit_type,
                   arg_min(district_code, _row) FILTER (WHERE district_code IS NOT NULL) AS district_code,
                   arg_min(status, _row) FILTER (WHERE status IS NOT NULL) AS status,
                   arg_min(end_date, _row) FILTER (WHERE end_date IS NOT NULL) AS end_date,
                   arg_min(member_count, _row) FILTER (WHERE member_count IS NOT NULL) AS member_count,
                   arg_min(monthly_amount, _row) FILTER (WHERE monthly_amount IS NOT NULL)
                       AS monthly_amount,
                   arg_min(declared_monthly_income, _row)
                       FILTER (WHERE declared_monthly_income IS NOT NULL) AS declared_monthly_income
            FROM recipients_households
            GROUP BY household_id
        """,
        layout={
            "household_id": "VARCHAR",
            "benefit_type": "VARCHAR",
            "district_code": "VARCHAR",
            "status": "VARCHAR",
            "end_date": "DATE",
            "member_count": "BIGINT",
            "monthly_amount": "DOUBLE",
            "declared_monthly_income": "DOUBLE",
        },
        sources=("recipients_households",),
    ),
    Relation(
        name="_rm_member",
        doc=(
            "One row per household and member person: the member's first row "
            "(`member_row`), name and ID as recorded on that row."
        ),
        sql="""
            SELECT m.household_id, mp.person_id, min(m._row) AS member_row,
                   arg_min(coalesce(m.name, m.name_raw), m._row) AS member_name,
                   arg_min(coalesce(m.id_no, m.id_no_clean, m.id_no_raw), m._row) AS member_id_no
            FROM recipients_members AS m
            JOIN _rm_member_person AS mp ON mp.member_row = m._row
            WHERE m.household_id IS NOT NULL
            GROUP BY m.household_id, mp.person_id
        """,
        layout={**_MEMBER_LAYOUT, "member_row": "BIGINT"},
        sources=("recipients_members", "_rm_member_person"),
    ),
    Relation(
        name="_rm_household_head",
        doc=(
            "One row per household: the member who represents it in a household-level "
            "finding (the first row with relation 户主, else the household's first member "
            "row), name and ID as recorded on that row."
        ),
        sql="""
            SELECT m.household_id, mp.person_id,
                   coalesce(m.name, m.name_raw) AS member_name,
                   coalesce(m.id_no, m.id_no_clean, m.id_no_raw) AS member_id_no
            FROM recipients_members AS m
            LEFT JOIN _rm_member_person AS mp ON mp.member_row = m._row
            WHERE m.household_id IS NOT NULL
            QUALIFY row_number() OVER (
                PARTITION BY m.household_id
                ORDER BY CASE WHEN m.relation = '户主' THEN 0 ELSE 1 END, m._row) = 1
        """,
        layout=dict(_MEMBER_LAYOUT),
        sources=("recipients_members", "_rm_member_person"),
    ),
    Relation(
        name="_rm_active_household",
        doc=(
            "The households still receiving assistance: status in "
            "`active_household_statuses` on any of their rows."
        ),
        sql="""
            SELECT DISTINCT household_id
            FROM recipients_households
            WHERE list_contains($active_household_statuses, status)
        """,
        layout={"household_id": "VARCHAR"},
        sources=("recipients_households",),
        params=("active_household_statuses",),
    ),
    Relation(
        name="_rm_household_pay",
        doc="What a household was paid per month: the sum of its payment rows of that month.",
        sql="""
            SELECT household_id, pay_month, sum(amount) AS amount
            FROM benefit_payments
            WHERE household_id IS NOT NULL AND pay_month IS NOT NULL
            GROUP BY household_id, pay_month
        """,
        layout={"household_id": "VARCHAR", "pay_month": "DATE", "amount": "DOUBLE"},
        sources=("benefit_payments",),
    ),
    Relation(
        name="_rm_person_link",
        doc=(
            "Each department reference linked to a person with `match_probability` at "
            "least `min_link_probability` (the rows of `_rm_links` a check may trust)."
        ),
        sql="""
            SELECT l.extract, l.row, l.role, l.person_id, l.route, l.match_probability,
                   l.evidence AS match_evidence
            FROM _rm_links AS l
            WHERE l.match_probability >= $min_link_probability
        """,
        layout=dict(_LINK_LAYOUT),
        sources=("_rm_links",),
        params=("min_link_probability",),
    ),
    Relation(
        name="_rm_member_link",
        doc=(
            "Each trusted department reference (`_rm_person_link`) whose person is a "
            "recipient member: one row per reference and household of that person."
        ),
        sql="""
            SELECT mem.household_id, mem.person_id, mem.member_name, mem.member_id_no,
                   l.extract, l.row, l.role, l.route, l.match_probability, l.match_evidence
            FROM _rm_person_link AS l
            JOIN _rm_member AS mem ON mem.person_id = l.person_id
        """,
        layout={**_MEMBER_LAYOUT, **_LINK_LAYOUT},
        sources=("_rm_person_link", "_rm_member"),
    ),
)

#: Relation name -> relation.
RELATIONS_BY_NAME: dict[str, Relation] = {r.name: r for r in RELATIONS}


def relation_inputs(name: str) -> set[str]:
    """Every table a relation is built from, through the relations it reads in turn.

    Example:
        >>> sorted(relation_inputs("_rm_member_link"))  # doctest: +NORMALIZE_WHITESPACE
        ['_rm_links', '_rm_member', '_rm_member_person', '_rm_person_link', 'recipients_members']
    """
    out: set[str] = set()
    for source in RELATIONS_BY_NAME[name].sources:
        out.add(source)
        if source in RELATIONS_BY_NAME:
            out |= relation_inputs(source)
    return out


def relation_params(name: str) -> set[str]:
    """The parameters a relation uses, with those of the relations it is built from."""
    names = {name} | relation_inputs(name)
    return {p for n in names if n in RELATIONS_BY_NAME for p in RELATIONS_BY_NAME[n].params}


def _relation_values(relation: Relation, params: Mapping[str, ParamSpec]) -> dict[str, Any]:
    """The values bound to a relation's ``$name`` placeholders.

    Raises:
        KeyError: a parameter that ``params`` does not define.
    """
    values: dict[str, Any] = {}
    for name in relation.params:
        value = params[name].value
        values[name] = list(value) if isinstance(value, list) else value
    return values


def build_relation(
    con: duckdb.DuckDBPyConnection, relation: Relation, params: Mapping[str, ParamSpec]
) -> None:
    """Create (or replace) one relation as a temporary table on ``con``.

    Raises:
        duckdb.Error: its SQL fails (a missing source table, a bad parameter).
        KeyError: a parameter that ``params`` does not define.
    """
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {quote_ident(relation.name)} AS {relation.sql}",
        _relation_values(relation, params),
    )


def build_relations(
    con: duckdb.DuckDBPyConnection,
    params: Mapping[str, ParamSpec],
    names: Iterable[str],
    tables: set[str],
) -> list[str]:
    """Build the named relations whose source tables exist.

    Args:
        con: the run's connection (staged extracts and link tables present).
        params: all parameters.
        names: the relations the checks of the run read.
        tables: the tables that exist on ``con`` (relations built here are added).

    Returns:
        The relations built; a relation whose sources were not delivered is
        left out (every check reading it requires those sources and is skipped).
    """
    built: list[str] = []
    for relation in RELATIONS:  # a relation comes after the relations it reads
        if relation.name in names and set(relation.sources) <= tables | set(built):
            build_relation(con, relation, params)
            built.append(relation.name)
    return built
