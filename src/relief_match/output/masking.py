"""Masking of ID numbers in caseworker-facing outputs.

``441302199001011234`` becomes ``441302********1234``: the first six characters
(the issuing district) and the last four are kept and everything in between is
replaced by ``*`` (eight stars for an 18-digit ID, five for a legacy 15-digit
one); values of ten characters or fewer are masked completely. This is the rule
of ``relief_match.ingest.normalize.mask_id_no``, which is used when available
so that every output masks identically; the local copy is the fallback.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from importlib import import_module


def _local_mask(s: str) -> str:
    if len(s) <= 10:
        return "*" * len(s)
    return s[:6] + "*" * (len(s) - 10) + s[-4:]


@lru_cache(maxsize=1)
def _ingest_mask() -> Callable[[str], str] | None:
    try:
        module = import_module("relief_match.ingest.normalize")
    except Exception:
        return None
    fn = getattr(module, "mask_id_no", None)
    return fn if callable(fn) else None


def mask_id(id_no: object) -> str | None:
    """Mask an ID number for display: first 6 + ``*`` + last 4.

    Args:
        id_no: the ID (any object; ``None`` and blanks give ``None``).

    Returns:
        The masked text, or ``None`` when there is no ID.

    Example:
        >>> mask_id("44130219900101123X")
        '441302********123X'
    """
    if id_no is None:
        return None
    s = str(id_no).strip()
    if not s:
        return None
    fn = _ingest_mask()
    if fn is not None:
        try:
            out = fn(s)
            if isinstance(out, str) and len(out) == len(s):
                return out
        except Exception:
            pass
    return _local_mask(s)
