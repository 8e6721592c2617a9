"""Vectorised normalisers for the values departments deliver.

Every public ``normalize_*`` function takes a polars expression (the raw column,
normally ``pl.String``; other dtypes are cast to ``pl.String``) and returns a
**Struct** expression with the fields

- ``value``: the normalised, typed value (null when missing or invalid),
- ``status``: ``"ok"`` | ``"repaired"`` | ``"invalid"`` | ``"missing"``,
- ``repair``: null, or the repair kinds applied, comma-separated,
- ``error``: null, or a short English reason when ``status == "invalid"``,

plus the type-specific extras fixed in ``docs/design.md`` section 2. The result
keeps the name of the input expression (``normalize_id_no(pl.col("id_no"))`` is
named ``id_no``) when polars can determine it. ``repair`` is only set on
``repaired`` values (and on a ``missing`` date that was a placeholder for
"unknown", ``placeholder_date``, so that it can be counted), ``error`` only on
``invalid`` ones.

Every normaliser removes invisible characters (Unicode format characters such
as U+200B and U+FEFF, and the soft hyphen: :data:`relief_match.text.INVISIBLE_CHARS`)
and counts them as the repair ``invisible_chars``; none of them is in a clean
value, so the fast paths send such values to the slow path unchanged.

How it stays fast (the nightly job pushes ~50 M values through these)
----------------------------------------------------------------------
- Expensive intermediate results are hidden fields of a struct, built with a
  few ``struct.with_fields`` steps and dropped by ``struct.eval`` at the end,
  so nothing expensive is computed twice whether the caller runs eagerly
  (where polars does no common-sub-expression elimination) or lazily. The
  chains are kept short: polars' planning time grows with their depth.
- Most values are clean. Each normaliser first runs a cheap *fast path* over
  all rows (integer arithmetic, a cast, one membership test or one regex) that
  recognises values which are valid exactly as delivered. Only the remaining
  rows are ``filter``-ed into the full cleaning pipeline (the *slow path*) and
  ``gather``-ed back into place. Both paths give identical results for a
  clean value; the tests check this.
- Credit codes repeat a lot (one employer, many insured), so that normaliser
  runs the full pipeline once per distinct value.
- The only per-value Python is the traditional -> simplified conversion of
  names (``str.translate`` with a table built once from OpenCC), run once per
  distinct name and only for names containing a character it changes.

Modules
-------
- :mod:`.pipeline`: statuses, placeholders, full-width folding, the struct
  pipeline and the fast/slow split shared by all normalisers;
- :mod:`.ids`: 居民身份证号 (GB 11643);
- :mod:`.codes`: 统一社会信用代码 (GB 32100) and district codes;
- :mod:`.names`: person names;
- :mod:`.dates`: dates, months, Excel serials;
- :mod:`.numbers`: money, integers, decimals;
- :mod:`.enums`: sex, enumerations, free text.
"""

from __future__ import annotations

from relief_match.ingest.normalize.codes import normalize_credit_code, normalize_district_code
from relief_match.ingest.normalize.dates import normalize_date, normalize_month
from relief_match.ingest.normalize.enums import normalize_enum, normalize_sex, normalize_str
from relief_match.ingest.normalize.ids import (
    id_checksum_char,
    is_valid_id_no,
    normalize_id_no,
    upgrade_id15,
)
from relief_match.ingest.normalize.names import normalize_name
from relief_match.ingest.normalize.numbers import normalize_float, normalize_int, normalize_money
from relief_match.ingest.normalize.pipeline import INVALID, MISSING, OK, REPAIRED, STATUSES

__all__ = [
    "INVALID",
    "MISSING",
    "OK",
    "REPAIRED",
    "STATUSES",
    "id_checksum_char",
    "is_valid_id_no",
    "normalize_credit_code",
    "normalize_date",
    "normalize_district_code",
    "normalize_enum",
    "normalize_float",
    "normalize_id_no",
    "normalize_int",
    "normalize_money",
    "normalize_month",
    "normalize_name",
    "normalize_sex",
    "normalize_str",
    "upgrade_id15",
]
