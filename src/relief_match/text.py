"""Chinese text: the one home of name folding, traditional->simplified and pinyin.

Both the ingest normaliser (which stages names) and the linker (which compares
them) use these functions, so a name is folded by one rule wherever it is
looked at: a term-frequency table counted over folded names is looked up by
folded names.

OpenCC is used character by character (:func:`t2s_table`), never phrase-wise:
a name is not running text, and phrases misfire on names (OpenCC turns 沈思华
into 沉思华 because 沈思 is the traditional spelling of 沉思).

This module sits at the bottom of the import graph and imports nothing of the
project.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

#: Middle-dot look-alikes folded to U+00B7 (U+00B7 itself is not listed).
DOT_CHARS = "\u2022\u30fb\uff0e.\u2027\u2219\u22c5\uff65\u0387\u2e31\u16eb"
#: Characters a clerk types for an unreadable character of a name.
PLACEHOLDER_CHARS = "?？*＊□■○〇"
#: Names written in pinyin (ASCII letters, spaces, apostrophes, dots, hyphens).
PINYIN_NAME_RE = r"^[A-Za-z][A-Za-z\s'’.·\-]*$"

#: Invisible characters: Unicode category Cf (format characters: zero-width
#: space U+200B, non-joiner U+200C, joiner U+200D, word joiner U+2060, BOM /
#: zero-width no-break space U+FEFF, bidi controls, the soft hyphen U+00AD…).
#: They render as nothing, so a clerk cannot see them, and they break every
#: comparison: they are removed from names, IDs, codes and enums (repair kind
#: ``invisible_chars``). Listed as ranges (Unicode 14, plus the format controls
#: U+13439..U+1343F that Unicode 15 adds) so that the class is the same in
#: Python's ``re`` and in polars' Rust regex.
INVISIBLE_CHARS = (
    "\u00ad\u0600-\u0605\u061c\u06dd\u070f\u0890\u0891\u08e2\u180e\u200b-\u200f"
    "\u202a-\u202e\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb"
    "\U000110bd\U000110cd\U00013430-\U0001343f\U0001bca0-\U0001bca3"
    "\U0001d173-\U0001d17a\U000e0001\U000e0020-\U000e007f"
)
#: A regex matching one invisible character (for ``re`` and polars alike).
INVISIBLE_RE = f"[{INVISIBLE_CHARS}]"

#: Code points whose single-character t2s conversion is looked up once.
CJK_RANGES = (
    (0x3400, 0x4DBF),
    (0x4E00, 0x9FFF),
    (0xF900, 0xFAFF),
    (0x20000, 0x2A6DF),
    (0x2A700, 0x2EBEF),
    (0x2F800, 0x2FA1F),
    (0x30000, 0x3134F),
)
#: Characters OpenCC maps away that are ordinary in simplified-Chinese names:
#: 乾 (qián, as in 乾坤; OpenCC reads it as 乾 "dry" -> 干).
T2S_KEEP = "乾"

_SPACES_RE = re.compile(r"\s+")
_DOTS_RE = re.compile(f"[{re.escape(DOT_CHARS)}]")
_UNREADABLE_RE = re.compile(f"[{re.escape(PLACEHOLDER_CHARS)}]")
_PINYIN_NAME_RE = re.compile(PINYIN_NAME_RE)
_INVISIBLE_RE = re.compile(INVISIBLE_RE)


def strip_invisible(text: str) -> str:
    """``text`` without its invisible characters (:data:`INVISIBLE_CHARS`).

    Example:
        >>> strip_invisible("王\u200b伟\u00ad")
        '王伟'
    """
    return _INVISIBLE_RE.sub("", text)


@lru_cache(maxsize=4)
def opencc_converter(config: str) -> Any:
    """The OpenCC converter for ``config`` (``t2s``, ``s2t``…), built once."""
    import opencc

    try:
        return opencc.OpenCC(config)
    except Exception:  # older opencc packages want the .json suffix
        return opencc.OpenCC(f"{config}.json")


@lru_cache(maxsize=1)
def t2s_table() -> dict[int, str]:
    """``str.translate`` table: each CJK character OpenCC ``t2s`` changes on its
    own -> its simplified form (:data:`T2S_KEEP` excepted).

    Character-wise conversion also keeps the normaliser's fast path exact: a
    name changes iff it contains one of these characters.
    """
    chars = [chr(c) for lo, hi in CJK_RANGES for c in range(lo, hi + 1)]
    t2s = opencc_converter("t2s")
    converted: list[str] = t2s.convert("\n".join(chars)).split("\n")
    if len(converted) != len(chars):  # pragma: no cover - defensive
        converted = [t2s.convert(c) for c in chars]
    return {
        ord(a): b for a, b in zip(chars, converted, strict=True) if a != b and a not in T2S_KEEP
    }


def to_simplified(name: str) -> str:
    """``name`` with traditional characters replaced, character by character."""
    return name.translate(t2s_table())


def to_traditional(text: str) -> str:
    """``text`` in traditional characters (OpenCC ``s2t``; may equal the input)."""
    return str(opencc_converter("s2t").convert(text))


@lru_cache(maxsize=65536)
def char_pinyin(ch: str) -> str:
    """Toneless lower-case pinyin of one character (the character itself when
    it has none)."""
    from pypinyin import Style, lazy_pinyin

    out = lazy_pinyin(ch, style=Style.NORMAL, errors="default")
    return "".join(out).lower() if out else ch


@lru_cache(maxsize=65536)
def char_pinyin_tone(ch: str) -> str:
    """Lower-case pinyin of one character with its tone as a digit (``wei3``;
    the character itself when it has none)."""
    from pypinyin import Style, lazy_pinyin

    out = lazy_pinyin(ch, style=Style.TONE3, errors="default", neutral_tone_with_five=True)
    return "".join(out).lower() if out else ch


class _CharMap(dict[int, str | None]):
    """A ``str.translate`` table that computes (and keeps) unseen characters."""

    def __init__(self, fn: Any) -> None:
        super().__init__()
        self._fn = fn

    def __missing__(self, code: int) -> str | None:
        value: str | None = self._fn(chr(code))
        self[code] = value
        return value


def _name_char(pinyin: Any) -> Any:
    """What a name character becomes in its pinyin: nothing for a middle dot
    or a space, itself lower-cased when ASCII, else ``pinyin(ch)``."""

    def one(ch: str) -> str | None:
        if ch == "\u00b7" or ch in DOT_CHARS or ch.isspace():
            return None
        if ch.isascii():
            return ch.lower()
        return str(pinyin(ch))

    return one


_PY_MAP = _CharMap(_name_char(char_pinyin))
_PYT_MAP = _CharMap(_name_char(char_pinyin_tone))


def is_pinyin_name(name: str) -> bool:
    """Whether ``name`` is written in pinyin (ASCII letters) rather than characters."""
    return bool(_PINYIN_NAME_RE.match(name))


def fold_name(name: str | None) -> str | None:
    """Fold a name for comparison: no whitespace, one middle dot, simplified,
    every unreadable character one ``?``.

    ``'陳 偉'`` -> ``'陈伟'``; ``'阿依古丽•买买提'`` -> ``'阿依古丽·买买提'``;
    ``'王＊'`` -> ``'王?'``. Pinyin-written names keep their letters (case is
    folded by :func:`name_pinyin`).
    """
    if name is None:
        return None
    stripped = name.strip()
    s = _SPACES_RE.sub("", stripped)
    if not s:
        return None
    if is_pinyin_name(stripped):
        return s
    s = to_simplified(_DOTS_RE.sub("\u00b7", s))
    return _UNREADABLE_RE.sub("?", s)


def name_pinyin(name: str | None, *, tones: bool = False) -> str | None:
    """Pinyin of a name, lower case, no separators; toneless unless ``tones``.

    ``'王伟'`` -> ``'wangwei'`` (``'wang2wei3'`` with tones), ``'Wang Wei'`` ->
    ``'wangwei'`` (a name written in pinyin has no tones either way).
    Characters without pinyin (``?``, ``*``, digits) are kept, so that ``王?``
    never equals ``王伟`` in pinyin. Middle dots are dropped.
    """
    if name is None:
        return None
    s = name.strip()
    if not s:
        return None
    if is_pinyin_name(s):
        letters = re.sub(r"[^A-Za-z]", "", s).lower()
        return letters or None
    return s.translate(_PYT_MAP if tones else _PY_MAP) or None


def data_fingerprint() -> str:
    """Versions of the text data the folding and pinyin depend on (OpenCC,
    pypinyin), for the linkage model's fingerprint: a model trained on one
    folding is refused under another."""
    from importlib.metadata import PackageNotFoundError, version

    parts = []
    for dist in ("opencc", "pypinyin"):
        try:
            parts.append(f"{dist}={version(dist)}")
        except PackageNotFoundError:  # pragma: no cover - both are dependencies
            parts.append(f"{dist}=?")
    return ";".join(parts)
