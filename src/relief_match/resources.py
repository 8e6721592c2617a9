"""Where the shipped defaults live: schemas, rules (checks, params, linkage
model) and the sample delivery.

An installed wheel carries them as package data under ``relief_match/defaults/``
(``pyproject.toml`` maps the project's top-level ``schemas/``, ``rules/`` and
``sample_data/`` folders there), read through :mod:`importlib.resources`. A
source checkout (an editable install, or running from the clone) reads the
top-level folders themselves, so editing ``rules/checks/*.yaml`` in the clone
takes effect at once.

A bureau that wants its own editable copy runs ``relief-match init DIR`` and
points ``schemas_dir`` / ``rules_dir`` at it.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path
from typing import Literal

DefaultName = Literal["schemas", "rules", "sample_data"]
DEFAULT_NAMES: tuple[DefaultName, ...] = ("schemas", "rules", "sample_data")


def default_dir(name: DefaultName) -> Path:
    """The shipped folder ``name`` (``schemas``, ``rules`` or ``sample_data``).

    Raises:
        FileNotFoundError: neither the package data nor a source checkout has it
            (a broken installation).
    """
    packaged = files("relief_match") / "defaults" / name
    if packaged.is_dir():
        return Path(str(packaged))
    checkout = Path(__file__).resolve().parents[2] / name
    if checkout.is_dir():
        return checkout
    raise FileNotFoundError(
        f"the shipped {name}/ folder is missing from this installation of relief-match"
        " (reinstall the package)"
    )
