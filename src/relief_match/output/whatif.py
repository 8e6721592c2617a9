"""The files of ``relief-match whatif``: ``OUT/whatif/<timestamp>/``.

* ``whatif.csv``: one row per finding and per household added (新增), removed
  (移除) or changed (变化) against the published run (UTF-8 with BOM, Chinese
  headers, masked ID numbers, district names);
* ``whatif_summary.csv``: per check, findings and amounts in the published run
  and with the new parameters, and how many were added, removed, changed;
* ``params.yaml``: the parameters that were replaced.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import yaml

from relief_match.output.columns import Column
from relief_match.output.districts import load_districts
from relief_match.output.writers import write_csv
from relief_match.privacy import mask_id
from relief_match.runs.files import PRIVATE_DIR, SHARED, atomic_path

WHATIF_COLUMNS: tuple[Column, ...] = (
    Column("对象", "level_zh"),
    Column("变化", "change_zh"),
    Column("家庭编号", "household_id"),
    Column("区县", "district_name"),
    Column("区县代码", "district_code"),
    Column("规则名称", "rule_title_zh"),
    Column("规则编号", "rule_id"),
    Column("成员姓名", "member_name"),
    Column("成员身份证号", "member_id_masked"),
    Column("原风险金额", "published_amount", "money"),
    Column("新风险金额", "whatif_amount", "money"),
    Column("原因", "reason_zh"),
)

SUMMARY_COLUMNS: tuple[Column, ...] = (
    Column("规则名称", "rule_title_zh"),
    Column("规则编号", "rule_id"),
    Column("原疑点数", "published", "int"),
    Column("新疑点数", "whatif", "int"),
    Column("新增", "added", "int"),
    Column("移除", "removed", "int"),
    Column("变化", "changed", "int"),
    Column("原风险金额", "published_amount", "money"),
    Column("新风险金额", "whatif_amount", "money"),
)

_LEVEL_ZH = {"finding": "疑点", "household": "家庭"}
_CHANGE_ZH = {"added": "新增", "removed": "移除", "changed": "变化"}


def _new_dir(root: Path, now: dt.datetime) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    stamp = f"{now:%Y-%m-%dT%H%M%S}"
    for n in range(100):
        path = root / (stamp if n == 0 else f"{stamp}-{n}")
        try:
            path.mkdir(mode=PRIVATE_DIR)
        except FileExistsError:
            continue
        return path
    raise FileExistsError(f"cannot create a new folder under {root}")  # pragma: no cover


def write_whatif(report: Any, root: Path, now: dt.datetime | None = None) -> Any:
    """Write a :class:`relief_match.review.whatif.WhatIfReport` to ``root/<timestamp>/``;
    return the report with its ``out_dir`` set."""
    out_dir = _new_dir(root, now or dt.datetime.now())
    districts = load_districts()
    rows = [
        {
            **r,
            "level_zh": _LEVEL_ZH[r["level"]],
            "change_zh": _CHANGE_ZH[r["change"]],
            "member_id_masked": mask_id(r.get("member_id_no")),
            "district_name": districts.get(str(r.get("district_code")), ""),
        }
        for r in report.rows
    ]
    with atomic_path(out_dir / "whatif.csv", SHARED) as tmp:
        write_csv(tmp, WHATIF_COLUMNS, rows)
    with atomic_path(out_dir / "whatif_summary.csv", SHARED) as tmp:
        write_csv(tmp, SUMMARY_COLUMNS, [c.__dict__ for c in report.checks])
    with atomic_path(out_dir / "params.yaml", SHARED) as tmp:
        text = yaml.safe_dump({"params": report.overrides}, allow_unicode=True, sort_keys=False)
        tmp.write_text(f"# what-if on {report.run_dir}\n" + text, encoding="utf-8")
    report.out_dir = out_dir
    return report
