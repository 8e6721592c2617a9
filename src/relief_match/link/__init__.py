"""Link stage: department person references -> social-assistance member persons.

Route 1 (``exact`` / ``repaired_id``) joins valid normalised IDs in DuckDB;
route 2 (``probabilistic``) scores references whose ID is missing or invalid
with a trained Splink model against the members and the non-members who
compete with them (resolve against everyone); each reference links to at most
one person, and only when its best person is a member. Writes
``_rm_persons``, ``_rm_member_person``, ``_rm_links`` and
``_rm_link_undecided`` (design.md §4).

Modules: ``linking`` (run_linking), ``training`` (train_linker), ``prepare``
(the steps both share), ``exact`` (ID routes), ``features``, ``idnear``
(blocking for IDs with two errors), ``population`` (the non-member
competitors), ``probabilistic`` (Splink), ``model_file`` (model.json),
``one_to_one``, ``links_table`` (_rm_links, links.parquet), ``reports``,
``settings``, ``references``, ``layout``.

Example:
    >>> from relief_match.link import PersonReference, run_linking
    >>> refs = [PersonReference("motor_vehicles", "owner", "owner_id_no", "owner_name")]
    >>> report = run_linking(con, refs, settings_path, model_path)  # doctest: +SKIP
    >>> print(report.asstr())  # doctest: +SKIP
"""

from __future__ import annotations

from relief_match.link.layout import LINKS_COLUMNS, LINKS_LAYOUT
from relief_match.link.linking import run_linking
from relief_match.link.links_table import write_link_table
from relief_match.link.references import PersonReference
from relief_match.link.reports import LinkReport, TrainReport
from relief_match.link.settings import LinkSettings, load_settings
from relief_match.link.training import train_linker

__all__ = [
    "LINKS_COLUMNS",
    "LINKS_LAYOUT",
    "LinkReport",
    "LinkSettings",
    "PersonReference",
    "TrainReport",
    "load_settings",
    "run_linking",
    "train_linker",
    "write_link_table",
]
