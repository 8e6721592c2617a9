"""Privacy: the one place ID numbers are masked.

A person's ID number is personal data. Caseworker files show it masked, logs and
messages never show it. The rule: keep the first six characters (the issuing
district) and the last four, replace everything between with ``*``:
``441302199001011234`` -> ``441302********1234`` (eight stars for an 18-digit
ID, five for a legacy 15-digit one). Values of ten characters or fewer are
masked completely (same length).

This module sits at the bottom of the import graph: every stage may use it, it
imports nothing of the project.
"""

from __future__ import annotations

import re

#: An ID-number-shaped run of characters inside free text: 15 to 18 digits,
#: ASCII or full-width (the last may be ``X``), not part of a longer run of digits.
ID_IN_TEXT_RE = re.compile(
    r"(?<![0-9\uff10-\uff19])[0-9\uff10-\uff19]{14,17}[0-9\uff10-\uff19Xx\uff38\uff58]"
    r"(?![0-9\uff10-\uff19Xx\uff38\uff58])"
)
#: A run of six or more digits (ASCII or full-width; spaces or hyphens between
#: them; an ``X`` at the end) where no digits belong, e.g. an ID number typed
#: into a name. The pattern works in Python's ``re`` and in polars alike.
DIGIT_RUN_RE = re.compile(
    r"[0-9\uff10-\uff19](?:[\s\-]*[0-9\uff10-\uff19]){5,}(?:[\s\-]*[Xx\uff38\uff58])?"
)
#: Full-width digits and X -> ASCII.
_FOLD_DIGITS = {0xFF10 + i: str(i) for i in range(10)} | {0xFF38: "X", 0xFF58: "x"}


def mask_id_no(id_no: object) -> str:
    """Mask an ID number for display; ``None`` or blanks give ``""``.

    Example:
        >>> mask_id_no("44130219900101123X")
        '441302********123X'
    """
    if id_no is None:
        return ""
    s = str(id_no).strip()
    if not s:
        return ""
    if len(s) <= 10:
        return "*" * len(s)
    return s[:6] + "*" * (len(s) - 10) + s[-4:]


def mask_id(id_no: object) -> str | None:
    """Like :func:`mask_id_no`, but ``None`` when there is no ID.

    Example:
        >>> mask_id("441302199001011231")
        '441302********1231'
        >>> mask_id("  ") is None
        True
    """
    out = mask_id_no(id_no)
    return out or None


def mask_ids_in_text(text: str) -> str:
    """Mask every ID-number-shaped run of digits inside ``text``.

    Example:
        >>> mask_ids_in_text("于思芳441323199001011231")
        '于思芳441323********1231'
    """
    return ID_IN_TEXT_RE.sub(lambda m: mask_id_no(m.group(0)), text)


def mask_digit_run(run: str) -> str:
    """Mask a run of digits found where no digits belong (e.g. inside a name).

    Separators (spaces, hyphens) are dropped and full-width digits folded; a
    run of 15 or 18 characters (an ID number) is masked like
    :func:`mask_id_no`, any other run (a phone or account number) completely.

    Example:
        >>> mask_digit_run("441323 19900101 1231")
        '441323********1231'
        >>> mask_digit_run("13812345678")
        '***********'
    """
    digits = "".join(c for c in run.translate(_FOLD_DIGITS) if c.isascii() and c.isalnum())
    digits = digits.upper()
    if len(digits) in (15, 18):
        return mask_id_no(digits)
    return "*" * len(digits)


def mask_digit_runs(text: str) -> str:
    """``text`` with every :data:`DIGIT_RUN_RE` run masked (:func:`mask_digit_run`).

    Example:
        >>> mask_digit_runs("于思芳441323199001011231")
        '于思芳441323********1231'
    """
    return DIGIT_RUN_RE.sub(lambda m: mask_digit_run(m.group(0)), text)
