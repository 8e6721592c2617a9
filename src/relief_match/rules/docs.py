"""Render the generated parts of ``rules/README.md``: checks, shared relations, SQL fragments.

The check files are the one declaration of each check,
:data:`~relief_match.rules.relations.RELATIONS` the one declaration of each
shared relation and ``rules/fragments.yaml`` of each SQL fragment; the
README's sections between ``<!-- checks:start -->`` and ``<!-- checks:end -->``
(and the ``relations`` and ``fragments`` markers) are generated from them so
that the documentation cannot drift (a test compares them).

Usage::

    python -m relief_match.rules.docs            # rewrite rules/README.md in place
    python -m relief_match.rules.docs --check    # exit 1 when it is out of date
"""

from __future__ import annotations

import sys
from pathlib import Path

from relief_match.rules.fragments import Fragment
from relief_match.rules.relations import RELATIONS
from relief_match.rules.spec import CheckSet

START = "<!-- checks:start -->"
END = "<!-- checks:end -->"
RELATIONS_START = "<!-- relations:start -->"
RELATIONS_END = "<!-- relations:end -->"
FRAGMENTS_START = "<!-- fragments:start -->"
FRAGMENTS_END = "<!-- fragments:end -->"

_AMOUNT_ZH = {
    "exact": "exact (精确)",
    "estimate": "estimate (估算)",
    "none": "none (无金额)",
}


def _param_value(checks: CheckSet, name: str) -> str:
    p = checks.params[name]
    if p.table is not None:
        return f"table of {len(p.table)} rows (`_rm_param_{name}`)"
    if isinstance(p.value, list):
        return "[" + ", ".join(str(v) for v in p.value) + "]"
    return str(p.value)


def render_checks(checks: CheckSet) -> str:
    """The generated Markdown: summary table, one section per check, parameter table."""
    out: list[str] = ["| rule_id | 中文 | weight | amount |", "|---|---|---|---|"]
    out += [
        f"| [{c.id}](#{c.id.lower()}--{c.spec.title_zh}) | {c.spec.title_zh} | {c.spec.weight} "
        f"| {_AMOUNT_ZH[c.spec.amount_kind]} |"
        for c in checks
    ]
    out.append("")
    for check in checks:
        s = check.spec
        requires = ", ".join(f"`{x}`" for x in s.requires)
        if s.requires_any:
            requires += "; " + "; ".join(
                "one of " + " / ".join(f"`{x}`" for x in group) for group in s.requires_any
            )
        if s.optional:
            requires += "; optional " + ", ".join(f"`{x}`" for x in s.optional)
        params = ", ".join(f"`{p}`" for p in s.params) or "—"
        out.append(f"### {s.id} — {s.title_zh}\n")
        out.append(
            f"*{s.title_en}.* Weight **{s.weight}**, amount **{_AMOUNT_ZH[s.amount_kind]}**.\n"
        )
        out.append(f"**What it finds, and how.** {s.description.strip()}\n")
        out.append("**Near misses (never a finding; each has a case in `tests/rules_cases/`):**\n")
        out += [f"- `{n.id}`: {n.zh}" for n in s.near_misses]
        out.append("")
        out.append(f"**Needs:** {requires}. **Parameters:** {params}.\n")
        out.append(f"**Policy source:** {s.policy_source}\n")
    out.append("### Parameters (`rules/params.yaml`)\n")
    out.append("| name | value | valid from | source |")
    out.append("|---|---|---|---|")
    for name, p in sorted(checks.params.items()):
        source = " ".join(p.source.split()).replace("|", "\\|")
        out.append(f"| `{name}` | {_param_value(checks, name)} | {p.valid_from} | {source} |")
    return "\n".join(out).rstrip() + "\n"


def render_relations() -> str:
    """The generated Markdown table of the shared relations."""
    out = [
        "| relation | columns | one row is | parameters | built from |",
        "|---|---|---|---|---|",
    ]
    for r in RELATIONS:
        columns = ", ".join(f"`{c}` {t}" for c, t in r.layout.items())
        params = ", ".join(f"`{p}`" for p in r.params) or "—"
        sources = ", ".join(f"`{t}`" for t in r.sources)
        out.append(f"| `{r.name}` | {columns} | {r.doc} | {params} | {sources} |")
    return "\n".join(out) + "\n"


def render_fragments(fragments: dict[str, Fragment]) -> str:
    """The generated Markdown table of the SQL fragments."""
    out = ["| fragment | call | what it gives |", "|---|---|---|"]
    for name, f in sorted(fragments.items()):
        call = f"@{name}({', '.join(f.args)})" if f.args else f"@{name}"
        doc = " ".join(f.doc.split()).replace("|", "\\|")
        out.append(f"| `{name}` | `{call}` | {doc} |")
    return "\n".join(out) + "\n"


def replace_block(text: str, block: str, start: str = START, end: str = END) -> str:
    """Put ``block`` between the markers ``start`` and ``end`` of ``text``.

    Raises:
        ValueError: when the markers are missing.
    """
    try:
        head, rest = text.split(start, 1)
        _, tail = rest.split(end, 1)
    except ValueError as exc:
        raise ValueError(f"README lacks the {start} / {end} markers") from exc
    return f"{head}{start}\n\n{block}\n{end}{tail}"


def current_block(text: str, start: str = START, end: str = END) -> str:
    """The text between the markers (stripped of the blank lines around it)."""
    rest = text.split(start, 1)[1]
    block = rest.split(end, 1)[0]
    return block.strip("\n") + "\n"


def main(argv: list[str] | None = None) -> int:
    """Rewrite (or with ``--check`` verify) the generated parts of ``rules/README.md``."""
    from relief_match.rules.loader import load_checks, load_fragments

    args = sys.argv[1:] if argv is None else argv
    root = Path.cwd()
    checks = load_checks(root / "rules", root / "schemas")
    readme = root / "rules" / "README.md"
    text = readme.read_text(encoding="utf-8")
    blocks = [
        (render_checks(checks), START, END),
        (render_relations(), RELATIONS_START, RELATIONS_END),
        (
            render_fragments(load_fragments(root / "rules" / "fragments.yaml", [])),
            FRAGMENTS_START,
            FRAGMENTS_END,
        ),
    ]
    if "--check" in args:
        ok = all(current_block(text, start, end) == block for block, start, end in blocks)
        if not ok:
            print("rules/README.md is out of date: run python -m relief_match.rules.docs")
        return 0 if ok else 1
    for block, start, end in blocks:
        text = replace_block(text, block, start, end)
    readme.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
