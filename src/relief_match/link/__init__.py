"""Link stage: department person references -> social-assistance member persons.

Route 1 (``exact`` / ``repaired_id``) joins valid normalised IDs in DuckDB;
route 2 (``probabilistic``) scores references whose ID is missing or invalid
with a trained Splink model; each reference links to at most one person.
Writes ``_rm_persons``, ``_rm_member_person`` and ``_rm_links`` (design.md §4).

Example:
    >>> from relief_match.link import PersonRefSpec, run_linking
    >>> specs = [PersonRefSpec("motor_vehicles", "owner", "owner_id_no", "owner_name")]
    >>> report = run_linking(con, specs, settings_path, model_path)  # doctest: +SKIP
    >>> print(report.asstr())  # doctest: +SKIP
"""

from __future__ import annotations

from relief_match.link.runner import LINKS_COLUMNS, run_linking, train_linker, write_link_table
from relief_match.link.spec import (
    LinkReport,
    LinkSettings,
    PersonRefSpec,
    TrainReport,
    load_settings,
)

__all__ = [
    "LINKS_COLUMNS",
    "LinkReport",
    "LinkSettings",
    "PersonRefSpec",
    "TrainReport",
    "load_settings",
    "run_linking",
    "train_linker",
    "write_link_table",
]
