"""``relief-match review import``: read the lists caseworkers return, store their outcomes.

A returned file is ``flags.xlsx`` (the sheet with a 疑点编号 column) or
``flags.csv`` as exported and re-saved by Excel or WPS: UTF-8 with or without
BOM, or GB18030; comma- or tab-separated. Columns are found by their header
(:data:`HEADERS`, Chinese as the writers name them, or the English names) in
any order, on any of the first rows; other columns are ignored, and rows may
have been deleted or re-sorted. Rows whose 核查结果 is empty are skipped.

Each filled row is checked: its 疑点编号 must be a finding of a completed run
under ``OUT/runs/`` (its ``flags.parquet``), 核查结果 one of
:data:`~relief_match.review.store.OUTCOME_CODES`, 核查日期 a date (2026-12-01,
2026/12/1, 2026.12.1, 2026年12月1日, 20261201; in an xlsx also a date cell or an
Excel serial number; not after today), 追回金额 money (1234.5, 1,234.50,
¥1234.5, 1234.5元; not negative, at most two decimals). A bad row is reported
by file, row and column, never with its values (they may be personal data),
and is not imported; the valid rows are (with ``strict``: nothing is imported
when any row is bad). Appending is idempotent (:func:`~relief_match.review.store.append`).
"""

from __future__ import annotations

import csv
import io
import re
import secrets
import unicodedata
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from relief_match.errors import UnusableInputError, UsageError
from relief_match.review.store import OUTCOME_CODES, OUTCOME_ZH, append, open_store, store_path
from relief_match.runs.files import read_json, sha256_file
from relief_match.runs.lock import OutputLock

#: Field -> the headers it is recognised by (Chinese as in flags.csv, English as in flags.parquet).
HEADERS: dict[str, tuple[str, ...]] = {
    "finding_id": ("疑点编号", "finding_id"),
    "outcome": ("核查结果", "outcome", "review_outcome"),
    "recovered_amount": ("追回金额", "recovered_amount"),
    "reviewer": ("核查人", "reviewer"),
    "review_date": ("核查日期", "review_date"),
    "note": ("核查说明", "note", "review_note"),
    "household_id": ("家庭编号", "household_id"),
    "rule_id": ("规则编号", "rule_id"),
}
REQUIRED = ("finding_id", "outcome")
#: How many rows from the top a header row is looked for in.
HEADER_SEARCH_ROWS = 20
XLSX_SUFFIXES = (".xlsx", ".xlsm")
CSV_SUFFIXES = (".csv", ".txt", ".tsv")

_DATE_RE = re.compile(
    r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?"
    r"(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?$"
)
_COMPACT_DATE_RE = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
_SERIAL_RE = re.compile(r"^\d{1,7}(?:\.0+)?$")
_MONEY_RE = re.compile(r"^(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?$")
#: Excel's day 0 (serial 1 is 1900-01-01; Excel counts a 29 Feb 1900 that never was).
_EXCEL_EPOCH = date(1899, 12, 30)
_EARLIEST = date(2000, 1, 1)


@dataclass(frozen=True)
class Rejection:
    """A row that was not imported: where it is and why (never its values)."""

    file: str
    row: int
    column: str
    reason: str


@dataclass
class FileResult:
    """What one returned file held."""

    file: str
    sha256: str
    sheet: str | None
    rows: int = 0  # data rows below the header
    blank: int = 0  # rows without an outcome (skipped)
    valid: int = 0
    rejected: int = 0


@dataclass
class ImportReport:
    """What ``review import`` did; ``asdict()`` for machines, ``asstr()`` for people."""

    import_id: str
    store: str
    strict: bool
    files: list[FileResult] = field(default_factory=list)
    rejections: list[Rejection] = field(default_factory=list)
    appended: int = 0  # new outcomes in the store (repeats of stored ones are not)

    @property
    def valid(self) -> int:
        """Valid outcome rows over all files."""
        return sum(f.valid for f in self.files)

    def asdict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "import_id": self.import_id,
            "store": self.store,
            "strict": self.strict,
            "valid": self.valid,
            "appended": self.appended,
            "already_stored": self.valid - self.appended,
            "rejected": len(self.rejections),
            "files": [asdict(f) for f in self.files],
            "rejections": [asdict(r) for r in self.rejections],
        }

    def asstr(self) -> str:
        """A few lines for people (the rejected rows are printed as a table by the CLI)."""
        lines = [
            f"{f.file}: {f.rows} rows, {f.valid} outcomes, {f.rejected} rejected,"
            f" {f.blank} without an outcome" + (f" (sheet {f.sheet})" if f.sheet else "")
            for f in self.files
        ]
        if self.strict and self.rejections:
            lines.append(f"nothing imported (--strict): {len(self.rejections)} rows rejected")
        else:
            lines.append(
                f"{self.appended} new outcomes stored in {self.store}"
                f" ({self.valid - self.appended} already there)"
            )
        return "\n".join(lines)


@dataclass(frozen=True)
class Table:
    """A returned file's rows: spreadsheet row number -> field -> text (None when empty)."""

    sheet: str | None
    xlsx: bool
    columns: dict[str, str]  # field -> the header it was found under
    rows: list[tuple[int, dict[str, str | None]]]


def _cell(value: Any) -> str | None:
    if value is None:
        return None
    text = unicodedata.normalize("NFKC", str(value)).strip()
    return text or None


def _header_map(cells: Sequence[Any]) -> dict[str, int]:
    names = {h.casefold(): f for f, hs in HEADERS.items() for h in hs}
    found: dict[str, int] = {}
    for i, c in enumerate(cells):
        text = (_cell(c) or "").lstrip("\ufeff").casefold()
        if text in names and names[text] not in found:
            found[names[text]] = i
    return found


def _table(grid: list[list[Any]], sheet: str | None, xlsx: bool) -> Table | None:
    """The rows below the first row naming 疑点编号 and 核查结果 (None: no such row)."""
    for h, header in enumerate(grid[:HEADER_SEARCH_ROWS]):
        cols = _header_map(header)
        if all(f in cols for f in REQUIRED):
            rows = [
                (h + 2 + i, {f: _cell(r[j]) if j < len(r) else None for f, j in cols.items()})
                for i, r in enumerate(grid[h + 1 :])
            ]
            return Table(sheet, xlsx, {f: _cell(header[j]) or f for f, j in cols.items()}, rows)
    return None


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("gb18030")


def read_returned(path: Path) -> Table:
    """Read a returned flags file.

    Raises:
        UsageError: not an xlsx or CSV file.
        UnusableInputError: unreadable, or no sheet has the 疑点编号 and 核查结果 columns.
    """
    suffix = path.suffix.lower()
    table: Table | None = None
    try:
        if suffix in XLSX_SUFFIXES:
            import fastexcel

            reader = fastexcel.read_excel(str(path))
            for name in reader.sheet_names:
                frame = reader.load_sheet(name, header_row=None, dtypes="string").to_polars()
                table = _table([list(r) for r in frame.iter_rows()], name, True)
                if table is not None:
                    break
        elif suffix in CSV_SUFFIXES:
            text = _decode(path.read_bytes())
            first = next((line for line in text.splitlines() if line.strip()), "")
            delimiter = "\t" if first.count("\t") > first.count(",") else ","
            grid = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
            table = _table([list(r) for r in grid], None, False)
        else:
            raise UsageError(f"{path.name}: not a returned list (expected .xlsx or .csv)")
    except (OSError, UnicodeDecodeError, csv.Error, ValueError) as exc:
        raise UnusableInputError(f"{path.name}: cannot be read ({type(exc).__name__})") from None
    except Exception as exc:  # fastexcel's own errors: a damaged or password-protected file
        if type(exc).__module__.split(".")[0] != "fastexcel":
            raise
        raise UnusableInputError(f"{path.name}: cannot be read as xlsx") from None
    if table is None:
        raise UnusableInputError(
            f"{path.name}: no header row with the columns 疑点编号 and 核查结果",
            hint="return the flags.csv/flags.xlsx of a run with its header row",
        )
    return table


def parse_date(text: str, *, xlsx: bool, today: date | None = None) -> date:
    """A 核查日期 cell as a date (see the module docstring). Raises ValueError."""
    m = _DATE_RE.match(text) or _COMPACT_DATE_RE.match(text)
    if m:
        value = date(int(m[1]), int(m[2]), int(m[3]))
    elif xlsx and _SERIAL_RE.match(text) and 0 < float(text) < 2958466:
        value = _EXCEL_EPOCH + timedelta(days=int(float(text)))
    else:
        raise ValueError("not a date (write it as 2026-12-01)")
    if not _EARLIEST <= value <= (today or date.today()):
        raise ValueError(f"a review date must lie between {_EARLIEST} and today")
    return value


def parse_money(text: str) -> Decimal:
    """A 追回金额 cell in yuan (see the module docstring). Raises ValueError."""
    t = text.replace(" ", "").removeprefix("¥").removesuffix("元").removesuffix("yuan")
    if not _MONEY_RE.match(t):
        raise ValueError("not an amount of money in yuan (write it as 1234.50)")
    try:
        value = Decimal(t.replace(",", ""))
    except InvalidOperation:  # pragma: no cover - the pattern admits only numbers
        raise ValueError("not an amount of money in yuan") from None
    cents = value.quantize(Decimal("0.01"))
    if abs(value - cents) > Decimal("0.000001"):
        raise ValueError("an amount of money has at most two decimals")
    if cents >= Decimal(10) ** 12:
        raise ValueError("not a plausible amount of money")
    return cents


def known_findings(out: Path) -> dict[str, tuple[str | None, str | None, str | None]]:
    """finding_id -> (finding_key, household_id, rule_id) over every completed run's flags.parquet."""
    import pyarrow.parquet as pq

    found: dict[str, tuple[str | None, str | None, str | None]] = {}
    runs = sorted((out / "runs").iterdir()) if (out / "runs").is_dir() else []
    for run in runs:
        summary = read_json(run / "run_summary.json") or {}
        flags = run / "flags.parquet"
        if summary.get("command") != "run" or summary.get("status") != "completed":
            continue
        if not flags.is_file() or "finding_id" not in pq.read_schema(flags).names:
            continue
        want = ["finding_id", "finding_key", "household_id", "rule_id"]
        names = pq.read_schema(flags).names
        cols = pq.read_table(flags, columns=[c for c in want if c in names]).to_pydict()
        ids = cols["finding_id"]
        for i, fid in enumerate(ids):
            if fid is not None:
                found[fid] = tuple(  # type: ignore[assignment]
                    cols[c][i] if c in cols else None for c in want[1:]
                )
    return found


def _check_row(
    values: dict[str, str | None],
    table: Table,
    known: dict[str, tuple[str | None, str | None, str | None]],
    today: date,
) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    """The outcome of one filled row, and its problems as (field, reason)."""
    problems: list[tuple[str, str]] = []
    fid = values.get("finding_id")
    if fid is None:
        problems.append(("finding_id", "no finding id (疑点编号)"))
    elif fid not in known:
        problems.append(("finding_id", "unknown finding id: not in any completed run's list"))
    outcome = OUTCOME_CODES.get((values.get("outcome") or "").replace(" ", ""))
    if outcome is None:
        accepted = "/".join([*OUTCOME_ZH.values(), *OUTCOME_ZH])
        problems.append(("outcome", f"unknown outcome: use one of {accepted}"))
    parsed: dict[str, Any] = {}
    for name, parse in (
        ("review_date", lambda t: parse_date(t, xlsx=table.xlsx, today=today)),
        ("recovered_amount", parse_money),
    ):
        text = values.get(name)
        try:
            parsed[name] = None if text is None else parse(text)
        except ValueError as exc:
            problems.append((name, str(exc)))
    key, household, rule = known.get(fid or "", (None, None, None))
    row = {
        "finding_id": fid,
        "finding_key": key,
        "household_id": household or values.get("household_id"),
        "rule_id": rule or values.get("rule_id"),
        "outcome": outcome,
        "reviewer": values.get("reviewer"),
        "note": values.get("note"),
        **parsed,
    }
    return row, problems


def import_outcomes(
    paths: Sequence[Path], out: Path, *, strict: bool = False, today: date | None = None
) -> ImportReport:
    """Read every returned file, then store the valid outcomes in one transaction.

    Holds ``out``'s lock (a nightly run reads the store). With ``strict``,
    nothing is stored when any row is rejected. ``today``: the latest review
    date accepted (default: the machine's date).

    Raises:
        UsageError: ``out`` has no run folders.
        UnusableInputError: a file cannot be read or has no 疑点编号/核查结果 header.
        OutputLockedError: another relief-match process holds ``out``'s lock.
    """
    if not (out / "runs").is_dir():
        raise UsageError(f"{out} has no runs: import outcomes into the --out of the nightly run")
    now = datetime.now().replace(microsecond=0)
    report = ImportReport(
        f"{now:%Y%m%dT%H%M%S}-{secrets.token_hex(3)}", str(store_path(out)), strict
    )
    with OutputLock(out, "review import"):
        known = known_findings(out)
        rows: list[dict[str, Any]] = []
        for path in paths:
            table = read_returned(path)
            result = FileResult(path.name, sha256_file(path), table.sheet, len(table.rows))
            report.files.append(result)
            for number, values in table.rows:
                if values.get("outcome") is None:
                    result.blank += 1
                    continue
                row, problems = _check_row(values, table, known, today or now.date())
                for name, reason in problems:
                    column = table.columns.get(name, HEADERS[name][0])
                    report.rejections.append(Rejection(path.name, number, column, reason))
                if problems:
                    result.rejected += 1
                    continue
                result.valid += 1
                rows.append(
                    {
                        **row,
                        "source_file": path.name,
                        "source_row": number,
                        "file_sha256": result.sha256,
                    }
                )
        if strict and report.rejections:
            return report
        with open_store(out) as con:
            report.appended = append(con, rows, import_id=report.import_id, imported_at=now)
    return report
