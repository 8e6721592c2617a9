"""The answer key's tables: planted cases and decoys, true links, injected defects."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl

from relief_match.privacy import mask_id_no
from relief_match.synth.city import City
from relief_match.synth.spec import EXTRACTS
from relief_match.synth.writer import Written

#: The link difficulty an injected ID/name defect gives a reference.
_DIFF_OF_DEFECT = {
    "id_15digit": "messy_id",
    "id_fullwidth": "messy_id",
    "id_lower_x": "messy_id",
    "id_space": "messy_id",
    "id_hyphen": "messy_id",
    "id_tab": "messy_id",
    "id_typo": "fuzzy_typo",
    "id_transposed": "fuzzy_transposed",
    "id_placeholder": "fuzzy_no_id",
    "id_empty": "fuzzy_no_id",
    "name_traditional": "traditional",
}


def near_miss_kind(note: str) -> str:
    """The decoy kind named in a decoy's note (``near_miss=<kind>; …``)."""
    return note.split(";", 1)[0].removeprefix("near_miss=")


def write_key_csv(df: pl.DataFrame, path: Path) -> None:
    """Write an answer-key table as UTF-8 CSV (empty for null)."""
    path.write_bytes(df.write_csv(null_value="", quote_style="necessary").encode("utf-8"))


def cases_frame(city: City, written: dict[str, Written], empty: set[str]) -> pl.DataFrame:
    rows = []
    for c in city.cases:
        if c.evidence_extract in empty:
            continue
        tb = city.tables[c.evidence_extract]
        uid = tb.tags[c.case_id]
        pid = city.pid(c.pidx)
        rows.append(
            {
                "case_id": f"C{c.case_id:05d}",
                "kind": c.kind,
                "rule_id": c.rule_id,
                "household_id": c.house.hid,
                "member_id_no": pid,
                "member_id_masked": mask_id_no(pid),
                "evidence_extract": c.evidence_extract,
                "evidence_row": int(written[c.evidence_extract].row_of_uid[uid]),
                "link_difficulty": c.difficulty,
                "amount_at_risk": None if c.amount is None else f"{c.amount / 100:.2f}",
                "note": c.note,
            }
        )
    schema = {
        "case_id": pl.String,
        "kind": pl.String,
        "rule_id": pl.String,
        "household_id": pl.String,
        "member_id_no": pl.String,
        "member_id_masked": pl.String,
        "evidence_extract": pl.String,
        "evidence_row": pl.Int64,
        "link_difficulty": pl.String,
        "amount_at_risk": pl.String,
        "note": pl.String,
    }
    return pl.DataFrame(rows, schema=schema)


def links_frame(city: City, written: dict[str, Written], empty: set[str]) -> pl.DataFrame:
    schema = {
        "extract": pl.String,
        "row": pl.Int64,
        "role": pl.String,
        "true_id_no": pl.String,
        "link_difficulty": pl.String,
        "kind": pl.String,
    }
    frames = []
    for ex in EXTRACTS:
        tb = city.tables[ex.name]
        if ex.name in empty or not tb.links:
            continue
        w = written[ex.name]
        uids = np.concatenate([np.asarray(b.uids, dtype=np.int64) for b in tb.links])
        sizes = [len(b.uids) for b in tb.links]
        roles = np.repeat(np.array([b.role for b in tb.links], dtype=object), sizes)
        kinds = np.repeat(np.array([b.kind for b in tb.links], dtype=object), sizes)
        diff = np.concatenate(
            [
                np.full(len(b.uids), b.difficulty, dtype=object)
                if isinstance(b.difficulty, str)
                else np.asarray(b.difficulty, dtype=object)
                for b in tb.links
            ]
        )
        true_id = pl.concat([pl.Series(b.true_id, dtype=pl.String) for b in tb.links])
        # background references damaged by an injected defect get that defect's difficulty
        if w.id_defect_by_uid:
            d_uid = np.array([u for u, _ in w.id_defect_by_uid], dtype=np.int64)
            d_col = np.array([c for _, c in w.id_defect_by_uid], dtype=object)
            d_new = np.array(
                [_DIFF_OF_DEFECT.get(k, "") for k in w.id_defect_by_uid.values()], dtype=object
            )
            for idc, namec, role in ex.refs:
                for col in (idc, namec):
                    sel = (d_col == col) & (d_new != "")
                    if col is None or not sel.any():
                        continue
                    su, sn = d_uid[sel], d_new[sel]
                    order = np.argsort(su)
                    su, sn = su[order], sn[order]
                    i = np.clip(np.searchsorted(su, uids), 0, len(su) - 1)
                    hit = (su[i] == uids) & (roles == role) & (kinds == "background")
                    if col == idc:
                        hit &= (diff == "clean") | (diff == "traditional")
                    else:
                        hit &= diff == "clean"
                        hit &= sn[i] == "traditional"
                    diff[hit] = sn[i][hit]
        frames.append(
            pl.DataFrame(
                {
                    "extract": pl.Series([ex.name] * len(uids), dtype=pl.String),
                    "row": w.row_of_uid[uids],
                    "role": pl.Series(roles.astype(str), dtype=pl.String),
                    "true_id_no": true_id,
                    "link_difficulty": pl.Series(diff.astype(str), dtype=pl.String),
                    "kind": pl.Series(kinds.astype(str), dtype=pl.String),
                },
                schema=schema,
            )
        )
    if not frames:
        return pl.DataFrame(schema=schema)
    return pl.concat(frames).sort(["extract", "row", "role"], maintain_order=True)


def defects_frame(city: City, written: dict[str, Written]) -> pl.DataFrame:
    ext, files, rows, cols, kinds, exps = [], [], [], [], [], []
    for ex in EXTRACTS:
        w = written[ex.name]
        tb = city.tables[ex.name]
        recs = (
            [(int(w.row_of_uid[u]), c, k, e) for u, c, k, e in tb.defects]
            if not w.plan.empty
            else []
        )
        for r, c, k, e in recs + w.defects:
            ext.append(ex.name)
            files.append(w.plan.filename)
            rows.append(r if r > 0 else None)
            cols.append(c or None)
            kinds.append(k)
            exps.append(e)
    df = pl.DataFrame(
        {
            "extract": ext,
            "file": files,
            "row": pl.Series(rows, dtype=pl.Int64),
            "column": pl.Series(cols, dtype=pl.String),
            "defect": kinds,
            "expected": exps,
        },
        schema={
            "extract": pl.String,
            "file": pl.String,
            "row": pl.Int64,
            "column": pl.String,
            "defect": pl.String,
            "expected": pl.String,
        },
    )
    return df.sort(["extract", "row", "column", "defect"], nulls_last=False, maintain_order=True)
