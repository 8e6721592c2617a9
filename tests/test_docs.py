"""The README documents every setting, command and exit code the code declares."""

from __future__ import annotations

from pathlib import Path

from relief_match import errors
from relief_match.config import SETTINGS

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")


def test_readme_documents_every_setting_and_its_environment_variable() -> None:
    for s in SETTINGS:
        assert f"`{s.name}`" in README, s.name
        assert s.env in README, s.env


def test_readme_documents_every_exit_code() -> None:
    codes = {v for k, v in vars(errors).items() if k.startswith("EXIT_") and isinstance(v, int)}
    assert len(codes) >= 6
    for code in codes:
        assert f"\n| {code} |" in README, code


def test_readme_documents_every_command() -> None:
    from relief_match.cli import app

    for cmd in app.registered_commands:
        name = cmd.name or (cmd.callback.__name__ if cmd.callback else "")
        assert f"relief-match {name.replace('_', '-')}" in README, name


def test_design_rules_section_lists_the_shared_relations_and_fragments() -> None:
    from relief_match.rules import RELATIONS
    from relief_match.rules.loader import load_fragments

    root = Path(__file__).resolve().parents[1]
    design = (root / "docs" / "design.md").read_text(encoding="utf-8")
    assert "shared/data-contract" not in design and "(data-contract.md)" in design
    rules = design.split("## 5. Rules", 1)[1].split("\n## 6.", 1)[0]
    for relation in RELATIONS:
        assert f"`{relation.name}`" in rules, relation.name
    for name in load_fragments(root / "rules" / "fragments.yaml", []):
        assert f"`{name}`" in rules, name
