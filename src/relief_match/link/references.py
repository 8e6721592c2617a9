"""The linker's record of one person reference: which columns of which staged
table name a person.

A schema file declares its references (:class:`relief_match.catalog.PersonRefSpec`,
without the extract); the linker works on :class:`PersonReference`, the same
declaration placed in its extract.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from relief_match.catalog import PersonRefSpec


@dataclass(frozen=True)
class PersonReference:
    """One person reference in one staged extract.

    Attributes:
        extract: staged table name, e.g. ``motor_vehicles``.
        role: free label, e.g. ``owner``; ``member`` for the anchor extract.
        id_no: name of the ``id_no`` column (staged with ``_raw/_clean/_status/
            _birth/_sex`` companions).
        name: name of the ``name`` column, or None when the extract has none
            (e.g. ``benefit_payments.payee_id_no``).
        sex, birth_date, district_code: optional column names in the extract.
        only_when: optional SQL condition over the extract's staged columns
            restricting which rows are person references (e.g.
            ``holder_type = '自然人'`` for shareholders).

    Example:
        ``PersonReference("motor_vehicles", "owner", "owner_id_no", "owner_name")``
    """

    extract: str
    role: str
    id_no: str
    name: str | None = None
    sex: str | None = None
    birth_date: str | None = None
    district_code: str | None = None
    only_when: str | None = None

    @classmethod
    def from_schema(cls, extract: str, ref: PersonRefSpec) -> PersonReference:
        """The reference a schema file declares for ``extract``."""
        return cls(extract=extract, **ref.model_dump())

    @classmethod
    def from_mapping(cls, extract: str, ref: dict[str, Any]) -> PersonReference:
        """Build a reference from a schema ``person_refs`` entry given as a mapping."""
        return cls.from_schema(extract, PersonRefSpec.model_validate(ref))
