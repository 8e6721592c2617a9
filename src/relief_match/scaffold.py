"""``relief-match init DIR``: a bureau's own editable copy of the shipped
schemas and rules, with a commented settings file pointing at them.

Like ``dbt init`` / ``sqlmesh init``: the package's defaults stay untouched
(an upgrade brings new defaults), and the bureau edits its copy, under its own
version control, and runs with ``--config DIR/relief-match.toml``.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path

from relief_match.config import SETTINGS
from relief_match.errors import UsageError
from relief_match.resources import DefaultName, default_dir

#: The copied folders; sample data stays in the package (it is not configuration).
COPIED: tuple[DefaultName, ...] = ("schemas", "rules")
CONFIG_NAME = "relief-match.toml"


@dataclass
class InitReport:
    """What ``init`` wrote."""

    target: Path
    files: list[str] = field(default_factory=list)

    def asstr(self) -> str:
        return (
            f"wrote {len(self.files)} files into {self.target}\n"
            f"  schemas/, rules/ (checks, params.yaml, linkage/) and {CONFIG_NAME}\n"
            f"run with: relief-match run DELIVERY --config {self.target / CONFIG_NAME}"
        )


def _config_text(target: Path) -> str:
    lines = [
        "# relief-match settings. A command-line flag beats the environment",
        "# (RELIEF_MATCH_<NAME>), which beats this file, which beats the default.",
        "# Uncomment and edit what you need; paths may be absolute or relative to",
        "# the folder the job is started from.",
        "",
        f'schemas_dir = "{(target / "schemas").resolve()}"',
        f'rules_dir = "{(target / "rules").resolve()}"',
        "",
    ]
    for s in SETTINGS:
        if s.name in ("schemas_dir", "rules_dir"):
            continue
        lines.append(f"# {s.name}: {s.help} (environment {s.env})")
        lines.append(f"# {s.name} = ...")
        lines.append("")
    return "\n".join(lines)


def init_project(target: Path, *, force: bool = False) -> InitReport:
    """Copy the shipped ``schemas/`` and ``rules/`` into ``target`` and write
    ``relief-match.toml`` pointing at them.

    Raises:
        UsageError: ``target`` is a file, or already holds a copy and ``force`` is false.
    """
    if target.exists() and not target.is_dir():
        raise UsageError(f"{target} is a file, not a folder")
    existing = [n for n in (*COPIED, CONFIG_NAME) if (target / n).exists()]
    if existing and not force:
        raise UsageError(f"{target} already holds {', '.join(existing)}; pass --force to overwrite")
    target.mkdir(parents=True, exist_ok=True)
    report = InitReport(target)
    for name in COPIED:
        src = default_dir(name)
        dst = target / name
        if dst.exists():
            shutil.rmtree(dst)
        shutil.copytree(src, dst, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        report.files += sorted(str(p.relative_to(target)) for p in dst.rglob("*") if p.is_file())
    (target / CONFIG_NAME).write_text(_config_text(target), encoding="utf-8")
    report.files.append(CONFIG_NAME)
    return report
