"""Accumulates the rows of one extract, with the side information the answer key needs.

Every row gets a *uid* (its position before shuffling). Defects, person links
and case evidence are recorded against uids; the writer turns them into the
spreadsheet-style row numbers of the delivered file.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import polars as pl

from relief_match.synth.spec import Extract


@dataclass
class LinkBlock:
    """Person links of many rows at once (one role)."""

    uids: np.ndarray
    role: str
    true_id: list[str] | pl.Series
    kind: str
    difficulty: list[str] | str


@dataclass
class TableBuilder:
    """Rows of one extract as canonical strings (dates ``YYYY-MM-DD``, months ``YYYY-MM``)."""

    extract: Extract
    frames: list[pl.DataFrame] = field(default_factory=list)
    prot: list[np.ndarray] = field(default_factory=list)
    n: int = 0
    pending: list[dict[str, str | None]] = field(default_factory=list)
    pending_prot: list[bool] = field(default_factory=list)
    defects: list[tuple[int, str, str, str]] = field(default_factory=list)
    links: list[LinkBlock] = field(default_factory=list)
    tags: dict[int, int] = field(default_factory=dict)

    def _flush(self) -> None:
        if not self.pending:
            return
        cols = self.extract.col_names
        df = pl.DataFrame(
            {c: [r.get(c) for r in self.pending] for c in cols},
            schema={c: pl.String for c in cols},
        )
        self.frames.append(df)
        self.prot.append(np.array(self.pending_prot, dtype=bool))
        self.pending = []
        self.pending_prot = []

    def add_frame(self, df: pl.DataFrame, *, protected: bool | np.ndarray = False) -> np.ndarray:
        """Append rows (all extract columns, as strings); return their uids."""
        self._flush()
        cols = self.extract.col_names
        df = df.select([pl.col(c).cast(pl.String) for c in cols])
        uids = np.arange(self.n, self.n + df.height)
        self.frames.append(df)
        p = np.asarray(protected, dtype=bool)
        self.prot.append(np.broadcast_to(p, (df.height,)).copy())
        self.n += df.height
        return uids

    def add_row(self, row: dict[str, str | None], *, protected: bool = True) -> int:
        """Append one row given as a dict of column -> string; return its uid."""
        unknown = set(row) - set(self.extract.col_names)
        if unknown:
            raise KeyError(f"{self.extract.name}: unknown columns {unknown}")
        self.pending.append(row)
        self.pending_prot.append(protected)
        uid = self.n
        self.n += 1
        return uid

    def defect(self, uid: int, column: str, kind: str, expected: str) -> None:
        """Record a defect deliberately built into a row."""
        self.defects.append((uid, column, kind, expected))

    def link(self, uid: int, role: str, true_id: str, kind: str, difficulty: str) -> None:
        """Record that the row's ``role`` reference truly is person ``true_id``."""
        self.links.append(LinkBlock(np.array([uid]), role, [true_id], kind, [difficulty]))

    def link_many(
        self,
        uids: np.ndarray,
        role: str,
        true_id: list[str] | pl.Series,
        kind: str,
        difficulty: str = "clean",
    ) -> None:
        """Record links of many rows at once."""
        if len(uids):
            self.links.append(LinkBlock(np.asarray(uids), role, true_id, kind, difficulty))

    def tag(self, case_id: int, uid: int) -> None:
        """Mark the row as the evidence of a case."""
        self.tags[case_id] = uid

    def finish(self) -> tuple[pl.DataFrame, np.ndarray]:
        """All rows (by uid) and the protected mask."""
        self._flush()
        cols = self.extract.col_names
        if self.frames:
            df = pl.concat(self.frames, how="vertical", rechunk=False)
            prot = np.concatenate(self.prot)
        else:
            df = pl.DataFrame(schema={c: pl.String for c in cols})
            prot = np.zeros(0, dtype=bool)
        self.frames = []
        self.prot = []
        assert df.height == self.n, (self.extract.name, df.height, self.n)
        return df, prot
