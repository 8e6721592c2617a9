"""A caseworker's week, end to end, through the files a caseworker really handles.

Tonight's list is exported; outcomes are filled in the exported flags.xlsx and
in flags.csv re-saved the way Excel does on a Chinese Windows (GB18030, CRLF);
both are imported; the next run on the same delivery suppresses the findings
reviewed as 不属实/有合理解释, keeps 属实/核查中 with their outcome and marks every
other finding 持续; then the evidence of one suppressed finding changes in the
delivery and that finding comes back as 新增, noting the earlier outcome.
"""

from __future__ import annotations

import csv
import io
import json
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import polars as pl

from relief_match.resources import default_dir

AS_OF = "2026-11-28"
RUN = (sys.executable, "-m", "relief_match")


def _run(delivery: Path, out: Path) -> dict:
    done = subprocess.run(
        [*RUN, "run", str(delivery), "--out", str(out), "--as-of", AS_OF, "--log-format", "json"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads((out / "latest" / "run_summary.json").read_text(encoding="utf-8"))


def _fill_xlsx(src: Path, dst: Path, outcomes: dict[str, str]) -> None:
    """Fill 核查结果 (and the reviewer) in the exported sheet, save it again."""
    sheet = pl.read_excel(src, sheet_id=1, infer_schema_length=0)
    sheet = sheet.with_columns(
        pl.col("疑点编号").replace_strict(outcomes, default=None).alias("核查结果"),
        pl.when(pl.col("疑点编号").is_in(list(outcomes)))
        .then(pl.lit("王科员"))
        .otherwise(pl.col("核查人"))
        .alias("核查人"),
    )
    sheet.write_excel(dst, worksheet="疑点清单")


def _fill_csv_like_excel(src: Path, dst: Path, outcomes: dict[str, str]) -> None:
    """Fill 核查结果 in flags.csv and save it as Excel does: GB18030, CRLF, no BOM."""
    rows = list(csv.DictReader(io.StringIO(src.read_text(encoding="utf-8-sig"))))
    for row in rows:
        if row["疑点编号"] in outcomes:
            row["核查结果"] = outcomes[row["疑点编号"]]
            row["核查日期"] = "2026/11/29"
            row["核查说明"] = "入户核查"
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(rows[0]), lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(rows)
    dst.write_bytes(buf.getvalue().encode("gb18030"))


def test_outcomes_come_back_suppress_and_return_when_the_evidence_changes(
    tmp_path: Path,
) -> None:
    delivery = tmp_path / "delivery"
    shutil.copytree(default_dir("sample_data") / "delivery", delivery)
    out = tmp_path / "out"
    _run(delivery, out)
    tonight = pl.read_parquet(out / "latest" / "flags.parquet")
    assert set(tonight["change"]) == {"new"}  # the first night: everything is new

    vehicles = tonight.filter(pl.col("rule_id") == "VEHICLE").sort("rank")
    others = tonight.filter(pl.col("rule_id") != "VEHICLE").sort("rank")
    false_positive = vehicles["finding_id"][0]  # its evidence changes below
    explained, confirmed, in_progress = others["finding_id"][:3]
    _fill_xlsx(
        out / "latest" / "flags.xlsx",
        tmp_path / "返回_王科员.xlsx",
        {false_positive: "不属实", confirmed: "属实"},
    )
    _fill_csv_like_excel(
        out / "latest" / "flags.csv",
        tmp_path / "返回_李科员.csv",
        {explained: "有合理解释", in_progress: "核查中"},
    )
    returned = ("返回_王科员.xlsx", "返回_李科员.csv")
    imported = subprocess.run(
        [*RUN, "review", "import", *(str(tmp_path / f) for f in returned), "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert imported.returncode == 0, imported.stderr[-3000:]

    summary = _run(delivery, out)  # tomorrow, same delivery
    tomorrow = pl.read_parquet(out / "latest" / "flags.parquet")
    listed = set(tomorrow["finding_id"])
    assert false_positive not in listed and explained not in listed
    assert summary["review"]["suppressed_total"] == 2
    suppressed = (out / "latest" / "suppressed.csv").read_text(encoding="utf-8-sig")
    assert false_positive in suppressed and explained in suppressed
    outcome = dict(zip(tomorrow["finding_id"], tomorrow["review_outcome"], strict=True))
    assert outcome[confirmed] == "confirmed" and outcome[in_progress] == "in_progress"
    assert set(tomorrow["change"]) == {"open"}  # every other finding is still open
    assert tomorrow.height == tonight.height - 2
    shown = list(
        csv.DictReader(io.StringIO((out / "latest" / "flags.csv").read_text(encoding="utf-8-sig")))
    )
    by_id = {r["疑点编号"]: r for r in shown}
    assert by_id[confirmed]["上次核查结果"].startswith("属实")
    assert {r["变化"] for r in shown} == {"持续"}

    # the department corrects the vehicle record behind the false positive
    row = int(vehicles["evidence_row"][0])
    db = duckdb.connect(str(out / "latest" / "relief_match.duckdb"), read_only=True)
    (plate,) = db.execute("SELECT plate_no FROM motor_vehicles WHERE _row = ?", [row]).fetchone()
    db.close()
    path = delivery / "public_security" / "motor_vehicles.csv"
    raw = path.read_bytes()
    try:
        encoding = "utf-8-sig" if raw.startswith(b"\xef\xbb\xbf") else "utf-8"
        text = raw.decode(encoding)
    except UnicodeDecodeError:
        encoding, text = "gb18030", raw.decode("gb18030")
    assert text.count(plate) == 1
    path.write_bytes(
        text.replace(plate, plate[:-1] + ("8" if plate[-1] != "8" else "9")).encode(encoding)
    )

    _run(delivery, out)
    night3 = pl.read_parquet(out / "latest" / "flags.parquet")
    back = night3.filter(
        (pl.col("rule_id") == "VEHICLE") & (pl.col("finding_key") == vehicles["finding_key"][0])
    )
    assert back.height == 1
    assert back["finding_id"][0] != false_positive  # new evidence, new id
    assert back["change"][0] == "new"
    assert back["earlier_outcome"][0] == "false_positive"
    assert explained not in set(night3["finding_id"])  # still suppressed: unchanged evidence
