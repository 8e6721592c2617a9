"""The two entry points of the rules stage, under their historical module name.

Prefer ``from relief_match.rules import load_checks, run_checks``; this module
keeps ``relief_match.rules.engine.load_checks`` / ``run_checks`` importable for
callers written against it. Loading lives in :mod:`relief_match.rules.loader`,
running in :mod:`relief_match.rules.runner`.
"""

from __future__ import annotations

from relief_match.rules.loader import load_checks
from relief_match.rules.runner import run_checks

__all__ = ["load_checks", "run_checks"]
