"""Fault injection, value level (issue 9): one implausible or invisible value
at a time, injected into a copy of the bundled sample delivery.

Each test runs the whole job in a subprocess and checks: no crash,
reconciliation (rows read = used + quarantined per extract), the faulty rows
quarantined or repaired with the expected reason, the other rows used, no
full ID number in stdout, stderr, run.log, flags.csv, households.csv or
quarantine.csv, and, where the fault leaves the data's meaning intact, the
same findings as the clean delivery. Faults that would change the meaning of
a real record are injected into added copies of a record, so that the
findings must stay the same whatever the job decides about the copy.
"""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import duckdb
import pytest

from relief_match.catalog import header_key, load_catalog
from relief_match.privacy import mask_id_no

SAMPLE = Path(__file__).resolve().parents[1] / "sample_data" / "delivery"
AS_OF = "2026-11-28"
CATALOG = load_catalog()
FULL_ID = re.compile(r"(?<![0-9])[0-9]{17}[0-9Xx](?![0-9Xx])")
ID_CELL = re.compile(r"^[0-9]{17}[0-9Xx]$")
INVISIBLE = ["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad"]

MEMBERS = "civil_affairs/recipients_members.csv"
PAYMENTS = "civil_affairs/benefit_payments.csv"
VEHICLES = "public_security/motor_vehicles.csv"

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def _outputs(out_dir: Path) -> Path:
    """Where a run's outputs are: ``out/latest`` once runs are kept apart."""
    latest = out_dir / "latest"
    return latest if latest.exists() else out_dir


@dataclass
class Run:
    out: Path
    returncode: int
    stdout: str
    stderr: str

    @cached_property
    def dir(self) -> Path:
        return _outputs(self.out)

    @cached_property
    def summary(self) -> dict[str, Any]:
        return dict(json.loads((self.dir / "run_summary.json").read_text(encoding="utf-8")))

    def extract(self, name: str) -> dict[str, Any]:
        return next(e for e in self.summary["ingest"]["extracts"] if e["extract"] == name)

    @cached_property
    def quarantine(self) -> list[dict[str, str]]:
        text = (self.dir / "quarantine.csv").read_text(encoding="utf-8-sig")
        return list(csv.DictReader(io.StringIO(text)))

    def kept(self, file: str, lines: list[int]) -> list[int]:
        """Those of ``lines`` not quarantined (for any reason)."""
        out = {int(q["row"]) for q in self.quarantine if q["file"] == file}
        return [n for n in lines if n not in out]

    def quarantined(self, file: str, row: int) -> dict[str, str]:
        hits = [q for q in self.quarantine if q["file"] == file and q["row"] == str(row)]
        assert len(hits) == 1, (file, row, hits)
        return hits[0]

    @cached_property
    def flags(self) -> list[dict[str, str]]:
        text = (self.dir / "flags.csv").read_text(encoding="utf-8-sig")
        return list(csv.DictReader(io.StringIO(text)))

    @cached_property
    def findings(self) -> set[tuple[str, str, str]]:
        return {(f["家庭编号"], f["规则编号"], f["成员身份证号"]) for f in self.flags}

    def sql(self, query: str) -> list[tuple[Any, ...]]:
        with duckdb.connect(str(self.dir / "relief_match.duckdb"), read_only=True) as con:
            return con.execute(query).fetchall()


def _run(delivery: Path, out: Path) -> Run:
    cmd = [sys.executable, "-m", "relief_match", "run", str(delivery), "--out", str(out)]
    proc = subprocess.run(
        [*cmd, "--as-of", AS_OF], capture_output=True, text=True, timeout=600, check=False
    )
    return Run(out, proc.returncode, proc.stdout, proc.stderr)


class CsvFile:
    """A delivered CSV file edited line by line (its encoding and line ends kept)."""

    def __init__(self, delivery: Path, rel: str):
        self.path = delivery / rel
        self.rel = rel
        data = self.path.read_bytes()
        for enc in ("utf-8-sig", "gb18030"):
            try:
                text = data.decode(enc)
                break
            except UnicodeDecodeError:
                continue
        self.encoding = "utf-8-sig" if data.startswith(b"\xef\xbb\xbf") else enc
        self.newline = "\r\n" if "\r\n" in text else "\n"
        self.lines = text.split(self.newline)
        while self.lines and self.lines[-1] == "":
            self.lines.pop()
        spec = CATALOG[Path(rel).stem]
        header = next(csv.reader([self.lines[0]]))
        self.width = len(header)
        self.index = {
            spec.header_map[header_key(h)]: i
            for i, h in enumerate(header)
            if header_key(h) in spec.header_map
        }

    def row(self, line: int) -> list[str]:
        """The cells of physical line ``line`` (1 = the header)."""
        return next(csv.reader([self.lines[line - 1]]))

    def get(self, line: int, column: str) -> str:
        return self.row(line)[self.index[column]]

    def _format(self, cells: list[str]) -> str:
        buf = io.StringIO()
        csv.writer(buf, lineterminator="").writerow(cells)
        return buf.getvalue()

    def set(self, line: int, column: str, value: str) -> None:
        cells = self.row(line)
        cells[self.index[column]] = value
        self.lines[line - 1] = self._format(cells)

    def append(self, cells: list[str]) -> int:
        """Add a data row; returns its physical line number."""
        self.lines.append(self._format(cells))
        return len(self.lines)

    def append_copy(self, line: int, **changes: str) -> int:
        cells = self.row(line)
        for column, value in changes.items():
            cells[self.index[column]] = value
        return self.append(cells)

    def cells(self, **values: str) -> list[str]:
        out = [""] * self.width
        for column, value in values.items():
            out[self.index[column]] = value
        return out

    def record_lines(self) -> list[int]:
        """Lines of ordinary records (full width, a valid ID where there is one)."""
        return [
            n
            for n in range(2, len(self.lines) + 1)
            if len(self.row(n)) == self.width and any(c.strip() for c in self.row(n))
        ]

    def save(self) -> None:
        text = self.newline.join(self.lines) + self.newline
        self.path.write_bytes(text.encode(self.encoding))


@pytest.fixture(scope="module")
def clean(tmp_path_factory: pytest.TempPathFactory) -> Run:
    base = tmp_path_factory.mktemp("clean")
    shutil.copytree(SAMPLE, base / "delivery")
    run = _run(base / "delivery", base / "out")
    _check(run)
    return run


def _inject(tmp_path: Path, rel: str, edit: Callable[[CsvFile], Any]) -> tuple[Run, Any]:
    """Copy the sample delivery, edit one CSV file, run the job and check it."""
    delivery = tmp_path / "delivery"
    shutil.copytree(SAMPLE, delivery)
    f = CsvFile(delivery, rel)
    info = edit(f)
    f.save()
    run = _run(delivery, tmp_path / "out")
    _check(run)
    return run, info


def _check(run: Run) -> None:
    """No crash, reconciliation, no full ID number anywhere it could leak."""
    assert run.returncode == 0, run.stderr[-2000:]
    ingest = run.summary["ingest"]
    assert ingest["totals"]["reconciles"]
    for e in ingest["extracts"]:
        assert e["rows_read"] == e["rows_used"] + e["rows_quarantined"], e["extract"]
    texts = {"stdout": run.stdout, "stderr": run.stderr}
    for name in ("run.log", "flags.csv", "households.csv", "quarantine.csv"):
        texts[name] = (run.dir / name).read_text(encoding="utf-8-sig")
    for name, text in texts.items():
        found = FULL_ID.search(text)
        assert found is None, f"full ID number in {name}"


def _same_rows_used(run: Run, clean: Run, extract: str, delta: int = 0) -> None:
    assert run.extract(extract)["rows_used"] == clean.extract(extract)["rows_used"] + delta


# --------------------------------------------------------------------------
# implausible amounts
# --------------------------------------------------------------------------


def test_an_amount_in_scientific_notation_is_quarantined(tmp_path: Path, clean: Run) -> None:
    def edit(f: CsvFile) -> list[int]:
        line = f.record_lines()[0]
        return [f.append_copy(line, amount="1e9"), f.append_copy(line, amount="1.5E+03")]

    run, lines = _inject(tmp_path, PAYMENTS, edit)
    for line in lines:
        q = run.quarantined(PAYMENTS, line)
        assert (q["column"], q["reason"]) == ("amount", "invalid_money")
        assert "scientific notation" in q["message"]
    _same_rows_used(run, clean, "benefit_payments")
    assert run.findings == clean.findings


def test_a_twenty_digit_amount_is_quarantined_not_flagged_as_overpaid(
    tmp_path: Path, clean: Run
) -> None:
    def edit(f: CsvFile) -> int:
        return f.append_copy(f.record_lines()[0], amount="99999999999999999999")

    run, line = _inject(tmp_path, PAYMENTS, edit)
    q = run.quarantined(PAYMENTS, line)
    assert (q["column"], q["reason"]) == ("amount", "invalid_money")
    assert "too many digits" in q["message"]
    _same_rows_used(run, clean, "benefit_payments")
    assert run.findings == clean.findings
    assert max(float(f["风险金额"] or 0) for f in run.flags) < 1e9


def test_an_amount_above_the_plausible_range_is_quarantined_naming_the_bound(
    tmp_path: Path, clean: Run
) -> None:
    def edit(f: CsvFile) -> int:
        return f.append_copy(f.record_lines()[0], amount="150000.00")

    run, line = _inject(tmp_path, PAYMENTS, edit)
    q = run.quarantined(PAYMENTS, line)
    assert (q["column"], q["reason"], q["raw_value"]) == ("amount", "out_of_range", "150000.00")
    assert "maximum of 100000 yuan" in q["message"]
    assert "150000" not in q["message"]
    _same_rows_used(run, clean, "benefit_payments")
    assert run.findings == clean.findings


def test_every_money_column_declares_a_plausible_range() -> None:
    for spec in CATALOG:
        for c in spec.columns:
            if c.type == "money":
                assert c.min is not None and c.max is not None, (spec.extract, c.name)


# --------------------------------------------------------------------------
# totals and footer rows
# --------------------------------------------------------------------------


def test_a_footer_row_counting_the_records_is_a_totals_row(tmp_path: Path, clean: Run) -> None:
    def edit(f: CsvFile) -> int:
        return f.append(f.cells(household_id="共8054条记录", pay_month="2026-10", amount="1200.00"))

    run, line = _inject(tmp_path, PAYMENTS, edit)
    assert run.quarantined(PAYMENTS, line)["reason"] == "totals_row"
    _same_rows_used(run, clean, "benefit_payments")
    assert run.findings == clean.findings


def test_a_row_without_any_id_or_key_is_a_totals_row(tmp_path: Path, clean: Run) -> None:
    def edit(f: CsvFile) -> int:
        return f.append(f.cells(pay_month="2026-10", amount="48234.00"))

    run, line = _inject(tmp_path, PAYMENTS, edit)
    q = run.quarantined(PAYMENTS, line)
    assert q["reason"] == "totals_row"
    assert "no ID, name or record number" in q["message"]
    _same_rows_used(run, clean, "benefit_payments")
    assert run.findings == clean.findings


# --------------------------------------------------------------------------
# placeholder dates
# --------------------------------------------------------------------------

PLACEHOLDER_DATES = ["19000101", "1900-01-01", "0000-00-00", "9999-12-31"]


def test_placeholder_dates_in_a_nullable_column_are_unknown(tmp_path: Path, clean: Run) -> None:
    def edit(f: CsvFile) -> list[tuple[int, str]]:
        lines = f.record_lines()[5 : 5 + len(PLACEHOLDER_DATES)]
        for line, value in zip(lines, PLACEHOLDER_DATES, strict=True):
            f.set(line, "birth_date", value)
        return [(line, f.get(line, "id_no")) for line in lines]

    run, rows = _inject(tmp_path, MEMBERS, edit)
    members = run.extract("recipients_members")
    assert members["repairs"]["birth_date:placeholder_date"] == len(
        clean.kept(MEMBERS, [line for line, _ in rows])
    )
    _same_rows_used(run, clean, "recipients_members")
    for line, _ in rows:
        staged = run.sql(f"SELECT birth_date FROM recipients_members WHERE _row = {line}")
        assert staged == [(None,)]
    assert run.findings == clean.findings


def test_placeholder_dates_in_a_required_column_quarantine_the_row(
    tmp_path: Path, clean: Run
) -> None:
    def edit(f: CsvFile) -> list[int]:
        line = f.record_lines()[0]
        return [f.append_copy(line, registration_date=v) for v in PLACEHOLDER_DATES]

    run, lines = _inject(tmp_path, VEHICLES, edit)
    for line in lines:
        q = run.quarantined(VEHICLES, line)
        assert (q["column"], q["reason"]) == ("registration_date", "missing_value")
        assert "placeholder" in q["message"]
    _same_rows_used(run, clean, "motor_vehicles")
    assert run.findings == clean.findings


# --------------------------------------------------------------------------
# invisible characters
# --------------------------------------------------------------------------


def test_invisible_characters_in_names_and_ids_are_removed(tmp_path: Path, clean: Run) -> None:
    def edit(f: CsvFile) -> list[int]:
        lines = [n for n in f.record_lines() if ID_CELL.match(f.get(n, "id_no"))]
        lines = [n for n in lines if len(f.get(n, "name")) >= 2][: 4 * len(INVISIBLE)]
        for i, line in enumerate(lines):
            ch = INVISIBLE[i % len(INVISIBLE)]
            name, id_no = f.get(line, "name"), f.get(line, "id_no")
            f.set(line, "name", name[:1] + ch + name[1:])
            f.set(line, "id_no", id_no[:6] + ch + id_no[6:])
        return lines

    run, lines = _inject(tmp_path, MEMBERS, edit)
    repairs = run.extract("recipients_members")["repairs"]
    n = len(clean.kept(MEMBERS, lines))
    assert repairs["name:invisible_chars"] == n
    assert repairs["id_no:invisible_chars"] == n
    _same_rows_used(run, clean, "recipients_members")
    assert run.findings == clean.findings


def test_a_zero_width_space_in_a_third_of_member_names_changes_no_finding(
    tmp_path: Path, clean: Run
) -> None:
    def edit(f: CsvFile) -> list[int]:
        lines = [n for n in f.record_lines() if len(f.get(n, "name")) >= 2][::3]
        for line in lines:
            name = f.get(line, "name")
            f.set(line, "name", name[:1] + "\u200b" + name[1:])
        return lines

    run, lines = _inject(tmp_path, MEMBERS, edit)
    n = len(clean.kept(MEMBERS, lines))
    assert n > len(lines) * 0.9
    assert run.extract("recipients_members")["repairs"]["name:invisible_chars"] == n
    _same_rows_used(run, clean, "recipients_members")
    assert run.findings == clean.findings


# --------------------------------------------------------------------------
# ID numbers where they do not belong
# --------------------------------------------------------------------------


def test_an_id_number_appended_to_a_name_is_stripped_and_never_shown(
    tmp_path: Path, clean: Run
) -> None:
    def edit(f: CsvFile) -> list[int]:
        lines = [n for n in f.record_lines() if ID_CELL.match(f.get(n, "id_no"))]
        for line in lines:
            f.set(line, "name", f.get(line, "name") + f.get(line, "id_no"))
        return lines

    run, lines = _inject(tmp_path, MEMBERS, edit)
    members = run.extract("recipients_members")
    assert members["repairs"]["name:digits_removed"] == len(clean.kept(MEMBERS, lines))
    _same_rows_used(run, clean, "recipients_members")
    assert run.findings == clean.findings
    assert not any(re.search("[0-9]{6}", f["成员姓名"]) for f in run.flags)
    notes = run.sql(
        "SELECT name_note, name_raw, id_no FROM recipients_members WHERE name_note IS NOT NULL"
    )
    masked = {mask_id_no(id_no) for _, _, id_no in notes if id_no}
    assert len(notes) >= len(clean.kept(MEMBERS, lines))
    assert {note.split("；")[-1] for note, _, _ in notes} >= masked - {""}
    assert not any(FULL_ID.search(raw or "") for _, raw, _ in notes)


def test_an_id_number_shifted_into_a_date_column_is_masked_in_quarantine(
    tmp_path: Path, clean: Run
) -> None:
    def edit(f: CsvFile) -> tuple[int, str]:
        line = next(n for n in f.record_lines() if ID_CELL.match(f.get(n, "id_no")))
        id_no = f.get(line, "id_no")
        return f.append_copy(line, birth_date=id_no), id_no

    run, (line, id_no) = _inject(tmp_path, MEMBERS, edit)
    q = run.quarantined(MEMBERS, line)
    assert (q["column"], q["reason"]) == ("birth_date", "invalid_date")
    assert q["raw_value"] == mask_id_no(id_no)
    assert id_no not in q["message"]
    _same_rows_used(run, clean, "recipients_members")
    assert run.findings == clean.findings
