"""Named SQL fragments: the logic several checks share, written once in ``rules/fragments.yaml``.

Like a dbt or SQLMesh macro, a fragment is expanded textually by the loader
before any static analysis, so what sqlglot checks, what DuckDB runs and what
a later Spark translation sees is plain SQL. A check calls a fragment as
``@name`` (no arguments) or ``@name(arg, ...)``; inside the fragment each
argument is ``@arg``. Arguments are SQL text (a column, a literal, an
expression, another fragment call), split at the top-level commas. Fragments
may call fragments. ``@`` inside a quoted string is left alone.

``rules/fragments.yaml``::

    fragments:
      month_span:
        doc: The months first_month..last_month as 2025-01至2025-03 (one month alone: 2025-01).
        args: [first_month, last_month]
        sql: CASE WHEN @first_month = @last_month THEN @first_month ELSE ... END

Example:
    >>> frags = {"twice": Fragment(doc="x", args=["v"], sql="@v + @v")}
    >>> expand_fragments("SELECT @twice(a.n), '@twice'", frags)
    "SELECT a.n + a.n, '@twice'"
"""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict, Field

#: A quoted string (kept as is) or a fragment call ``@name``.
_TOKEN = re.compile(r"'(?:[^']|'')*'|@([a-z][a-z0-9_]*)")

#: Expansions allowed for one SQL text (guards against a fragment calling itself).
MAX_EXPANSIONS = 200


class FragmentError(ValueError):
    """A fragment call that cannot be expanded (unknown name, wrong arguments, a cycle)."""


class Fragment(BaseModel):
    """One named fragment of ``rules/fragments.yaml``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    doc: str = Field(min_length=1)
    args: list[str] = Field(default_factory=list)
    sql: str = Field(min_length=1)


class FragmentsFile(BaseModel):
    """The whole ``rules/fragments.yaml``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    fragments: dict[str, Fragment]


def _call_args(sql: str, start: int) -> tuple[list[str], int]:
    """The arguments of the call whose ``(`` is at ``start``, and the index after its ``)``."""
    args: list[str] = []
    depth, quoted, begin = 0, False, start + 1
    for i in range(start, len(sql)):
        ch = sql[i]
        if ch == "'":
            quoted = not quoted
        elif quoted:
            continue
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth == 0:
                args.append(sql[begin:i].strip())
                return ([] if args == [""] else args), i + 1
        elif ch == "," and depth == 1:
            args.append(sql[begin:i].strip())
            begin = i + 1
    raise FragmentError(f"unclosed argument list at {sql[start - 20 : start + 20]!r}")


def _substitute(body: str, values: dict[str, str]) -> str:
    """``body`` with each ``@arg`` outside quotes replaced by its value."""

    def one(m: re.Match[str]) -> str:
        name = m.group(1)
        return values[name] if name in values else m.group(0)

    return _TOKEN.sub(one, body)


def expand_fragments(sql: str, fragments: dict[str, Fragment]) -> str:
    """``sql`` with every fragment call replaced by the fragment's SQL.

    Raises:
        FragmentError: an unknown fragment, a wrong number of arguments, or
            calls nested deeper than :data:`MAX_EXPANSIONS` (a cycle).
    """
    pos, n = 0, 0
    while (m := _TOKEN.search(sql, pos)) is not None:
        name = m.group(1)
        if name is None:
            pos = m.end()
            continue
        if name not in fragments:
            raise FragmentError(f"unknown fragment @{name} (known: {sorted(fragments)})")
        fragment = fragments[name]
        end, args = m.end(), list[str]()
        if fragment.args:
            if not sql.startswith("(", end):
                raise FragmentError(f"@{name} needs arguments ({', '.join(fragment.args)})")
            args, end = _call_args(sql, end)
        if len(args) != len(fragment.args):
            raise FragmentError(
                f"@{name} takes {len(fragment.args)} argument(s) "
                f"({', '.join(fragment.args)}), got {len(args)}"
            )
        n += 1
        if n > MAX_EXPANSIONS:
            raise FragmentError(f"more than {MAX_EXPANSIONS} fragment expansions: a cycle?")
        body = _substitute(fragment.sql.strip(), dict(zip(fragment.args, args, strict=True)))
        sql = sql[: m.start()] + body + sql[end:]
        pos = m.start()
    return sql
