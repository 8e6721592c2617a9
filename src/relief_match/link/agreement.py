"""How a newly trained model's links differ from the current model's on the
same delivery (what ``train-linker`` reports before anyone ships the model).

:func:`keep_links` copies ``_rm_links`` after each linking run;
:func:`compare_links` counts, per reference (extract, row, role), the links
the new model adds, removes, or gives to another person, and those it keeps.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import duckdb

from relief_match.sqlident import quote_ident as q

_KEY = ("extract", "row", "role")


@dataclass(frozen=True)
class LinkAgreement:
    """The links of the current and the new model on one delivery.

    ``kept`` references link to the same person under both; ``added`` are
    linked only by the new model, ``removed`` only by the current one, and
    ``changed`` to another person. Only probabilistic links can differ: the
    ID routes do not use the model.
    """

    current_model: str
    new_model: str
    current_links: int
    new_links: int
    kept: int
    added: int
    removed: int
    changed: int

    def asdict(self) -> dict[str, Any]:
        """A JSON-serialisable dict."""
        return asdict(self)

    def rows(self) -> list[tuple[str, int]]:
        """(label, count) rows for a table."""
        return [
            ("links, current model", self.current_links),
            ("links, new model", self.new_links),
            ("kept (same person)", self.kept),
            ("added by the new model", self.added),
            ("removed by the new model", self.removed),
            ("changed person", self.changed),
        ]

    def asstr(self) -> str:
        """A short text table."""
        lines = [f"agreement with the current model {self.current_model} on this delivery:"]
        lines += [f"  {label:<26}{n:>9}" for label, n in self.rows()]
        return "\n".join(lines)


def keep_links(con: duckdb.DuckDBPyConnection, name: str) -> None:
    """Copy ``_rm_links`` (references and the person each links to) to temp table ``name``."""
    cols = ", ".join(q(c) for c in (*_KEY, "person_id"))
    con.execute(f"CREATE OR REPLACE TEMP TABLE {q(name)} AS SELECT {cols} FROM _rm_links")


def compare_links(
    con: duckdb.DuckDBPyConnection,
    current: str,
    new: str,
    *,
    current_model: str,
    new_model: str,
) -> LinkAgreement:
    """Count kept / added / removed / changed links between two :func:`keep_links` tables."""
    on = " AND ".join(f"c.{q(k)} = n.{q(k)}" for k in _KEY)
    row = con.execute(
        f"""SELECT count(c.person_id), count(n.person_id),
               count(*) FILTER (WHERE c.person_id = n.person_id),
               count(*) FILTER (WHERE c.person_id IS NULL),
               count(*) FILTER (WHERE n.person_id IS NULL),
               count(*) FILTER (WHERE c.person_id <> n.person_id)
        FROM {q(current)} c FULL OUTER JOIN {q(new)} n ON {on}"""
    ).fetchall()[0]
    n_cur, n_new, kept, added, removed, changed = (int(v) for v in row)
    return LinkAgreement(
        current_model=current_model,
        new_model=new_model,
        current_links=n_cur,
        new_links=n_new,
        kept=kept,
        added=added,
        removed=removed,
        changed=changed,
    )
