"""The import graph and module sizes: one home per concern, stages in one direction.

A later stage may import an earlier one, never the reverse:
bottom < ingest < validate < link < rules < spark < review < rank < output < api < cli
(spark: the Spark engine, which runs ingest and the checks' SQL on Spark).
synth and evaluate are product features beside the stages: they may use the
bottom modules and the stages' public APIs, no stage imports them, and
evaluate does not import synth; only the cli (which offers them as commands)
imports them, and they import neither api nor cli. Product code never imports
the tests.
Imports inside functions count too.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "relief_match"

#: The stages in import order; a module may import its own stage or an earlier one.
ORDER = (
    "bottom",
    "ingest",
    "validate",
    "link",
    "rules",
    "spark",
    "review",
    "rank",
    "output",
    "api",
    "cli",
)
#: Product features beside the stages (see the module docstring).
FEATURES = ("synth", "evaluate")

#: Modules allowed above 500 lines, with the reason (none today).
SIZE_EXCEPTIONS: dict[str, str] = {}
MAX_LINES = 500


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _group(module: str) -> str:
    """The stage (or feature) a ``relief_match`` module belongs to."""
    parts = module.split(".")
    if len(parts) == 1:
        return "bottom"
    top = parts[1]
    if top in ORDER or top in FEATURES:
        return top
    if top == "__main__":
        return "cli"
    return "bottom"


def _imports(path: Path, module: str) -> set[str]:
    """Every ``relief_match``/``tests`` module ``path`` imports, anywhere in the file."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name | ast.Attribute)
            and getattr(node.func, "id", getattr(node.func, "attr", "")) == "import_module"
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            found.add(node.args[0].value)
    return {m for m in found if m.split(".")[0] in ("relief_match", "tests")}


def _modules() -> list[tuple[Path, str]]:
    return [(p, _module_name(p)) for p in sorted(PACKAGE.rglob("*.py"))]


def _known(name: str) -> bool:
    """Whether ``name`` is a module or package of relief_match (not a name inside one)."""
    rel = Path(*name.split(".")[1:]) if "." in name else Path()
    return (PACKAGE / rel).with_suffix(".py").exists() or (PACKAGE / rel / "__init__.py").exists()


def _violation(importer: str, imported: str) -> str | None:
    if imported.split(".")[0] == "tests":
        return "product code imports the tests"
    if not _known(imported):
        return None
    src, dst = _group(importer), _group(imported)
    if src == dst:
        return None
    if dst in FEATURES:
        return None if src == "cli" else f"{src} imports the {dst} feature"
    if src in FEATURES:
        return f"the {src} feature imports {dst}" if dst in ("api", "cli") else None
    if ORDER.index(dst) > ORDER.index(src):
        return f"{src} imports the later stage {dst}"
    return None


def import_violations() -> list[str]:
    """Every import that goes against the stage order, as ``importer -> imported: why``."""
    out = []
    for path, module in _modules():
        for imported in sorted(_imports(path, module)):
            why = _violation(module, imported)
            if why:
                out.append(f"{module} -> {imported}: {why}")
    return out


def test_no_module_imports_a_later_stage_or_a_feature() -> None:
    assert import_violations() == []


def test_evaluate_does_not_import_synth() -> None:
    path = PACKAGE / "evaluate.py"
    assert not [
        m for m in _imports(path, "relief_match.evaluate") if m.startswith("relief_match.synth")
    ]


def test_the_checker_sees_violations() -> None:
    assert _violation("relief_match.rules.runner", "relief_match.output.writers")
    assert _violation("relief_match.output.writers", "relief_match.ingest.normalize") is None
    assert _violation("relief_match.ingest.readers", "relief_match.link")
    assert _violation("relief_match.evaluate", "relief_match.synth.cases")
    assert _violation("relief_match.rank.score", "relief_match.evaluate")
    assert _violation("relief_match.synth.writer", "tests.helpers")
    assert _violation("relief_match.synth.writer", "relief_match.ingest.normalize") is None
    assert _violation("relief_match.cli", "relief_match.api") is None
    assert _violation("relief_match.cli", "relief_match.synth") is None
    assert _violation("relief_match.synth.generator", "relief_match.api")


def test_no_module_is_over_500_lines() -> None:
    too_long = {
        module: n
        for path, module in _modules()
        if (n := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES
        and module not in SIZE_EXCEPTIONS
    }
    assert too_long == {}
