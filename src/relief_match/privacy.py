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

#: An ID-number-shaped run of characters inside free text: 15 to 18 digits
#: (the last may be ``X``), not part of a longer run of digits.
ID_IN_TEXT_RE = re.compile(r"(?<![0-9])[0-9]{14,17}[0-9Xx](?![0-9Xx])")


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
