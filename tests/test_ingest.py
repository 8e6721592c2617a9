"""Reading and validating deliveries: formats, encodings, headers, quarantine."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import duckdb
import polars as pl
import pytest
import xlsxwriter
from stdnum.cn import uscc

from relief_match.catalog import ExtractSpec, load_catalog
from relief_match.ingest.readers import read_any
from relief_match.validate.delivery import ingest_delivery

CATALOG = load_catalog()


def _with_check(body17: str) -> str:
    from relief_match.ingest.normalize import id_checksum_char

    return body17 + id_checksum_char(body17)


ID_OK = _with_check("44130219900101123")
# an ID whose check character is X
ID_X = next(
    i for i in (_with_check(f"4413021990010{n:04d}") for n in range(100)) if i.endswith("X")
)

# A valid sample value per column type, and defects per type: (raw, expected)
# where expected is "repaired" (row used, repair counted) or "quarantined".
_VALID = {
    "str": "X001",
    "id_no": "441302199001011237",
    "credit_code": "91441300MA4UJ0XY0" + uscc.calc_check_digit("91441300MA4UJ0XY0"),
    "name": "陈国华",
    "sex": "男",
    "district_code": "441302",
    "date": "2023-01-05",
    "month": "2023-01",
    "money": "1234.50",
    "int": "2",
    "float": "0.5",
}
_DEFECTS: dict[str, list[tuple[str, str]]] = {
    "id_no": [
        ("441302900101123", "repaired"),  # legacy 15-digit
        (ID_OK.replace("4", "４"), "repaired"),  # full-width
        (ID_OK[:4] + " " + ID_OK[4:8] + "-" + ID_OK[8:12] + "\t" + ID_OK[12:], "repaired"),
        (ID_X.lower(), "repaired"),  # lower-case x check digit
        (ID_OK[:10] + str((int(ID_OK[10]) + 1) % 10) + ID_OK[11:], "kept"),  # mistyped digit
        ("无", "kept"),
        ("/", "kept"),
        ("000000000000000000", "kept"),
    ],
    "name": [
        ("陳國華", "repaired"),
        ("陈 国华", "repaired"),
        ("阿依古丽•买买提", "repaired"),
        ("张三(已故)", "repaired"),
        ("李四（户主）", "repaired"),
        ("???", "kept"),
    ],
    "date": [
        ("2023/1/5", "repaired"),
        ("20230105", "repaired"),
        ("2023年1月5日", "repaired"),
        ("2023.01.05", "repaired"),
        ("2023-02-30", "quarantined"),
    ],
    "month": [("202301", "repaired"), ("2023年1月", "repaired"), ("2023-13", "quarantined")],
    "money": [("1,234.50", "repaired"), ("1234.5元", "repaired"), ("１２３４.５", "repaired")],
    "sex": [
        ("1", "repaired"),
        ("2", "repaired"),
        ("M", "repaired"),
        (" 女 ", "ok"),
        ("X", "quarantined"),
    ],
    "enum": [("??unknown", "quarantined")],
    "credit_code": [("91441300MA4UJ0XY0X", "kept")],
    "district_code": [("4413", "quarantined")],
}


def _id_ok() -> str:
    return ID_OK


def _base_row(spec: ExtractSpec, i: int) -> dict[str, str]:
    row = {}
    for c in spec.columns:
        if c.type == "enum":
            row[c.name] = (c.values or ("",))[0]
        elif c.type == "id_no":
            row[c.name] = _id_ok()
        elif c.type == "float" and c.max is not None:
            row[c.name] = "0.5"
        else:
            row[c.name] = _VALID[c.type]
        if c.type == "str":
            row[c.name] = f"{c.name}-{i}"
    return row


def _write_csv(path: Path, header: list[str], rows: list[list[str]], encoding: str) -> None:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    w.writerows(rows)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(buf.getvalue().encode(encoding))


def _defect_delivery(tmp: Path) -> dict[str, list[tuple[int, str, str]]]:
    """Write every extract with every defect kind; return the expectations."""
    expected: dict[str, list[tuple[int, str, str]]] = {}
    encodings = ["utf-8", "utf-8-sig", "gb18030"]
    for k, spec in enumerate(CATALOG):
        rows: list[dict[str, str]] = []
        exp: list[tuple[int, str, str]] = []
        rows.append(_base_row(spec, 0))
        exp.append((2, "", "ok"))
        for c in spec.columns:
            for raw, outcome in _DEFECTS.get(c.type, []):
                r = _base_row(spec, len(rows))
                r[c.name] = raw
                rows.append(r)
                exp.append((len(rows) + 1, c.name, outcome))
        # header in Chinese for odd extracts, columns reversed, an extra column
        cols = [c for c in spec.columns][::-1]
        header = [c.zh if k % 2 else c.name for c in cols] + ["备注"]
        body = [[r[c.name] for c in cols] + ["x"] for r in rows]
        body.append(body[1])  # duplicated row
        exp.append((len(body) + 1, "", "duplicate_row"))
        body.append(body[0][:-2])  # ragged row
        exp.append((len(body) + 1, "", "ragged_row"))
        body.append(["合计"] + [""] * (len(header) - 1))  # totals row
        exp.append((len(body) + 1, "", "totals_row"))
        body.append([""] * len(header))  # trailing blank row
        exp.append((len(body) + 1, "", "blank_row"))
        _write_csv(tmp / spec.department / f"{spec.extract}.csv", header, body, encodings[k % 3])
        expected[spec.extract] = exp
    return expected


def test_every_extract_with_every_defect_kind_is_read_and_reconciled(tmp_path: Path) -> None:
    expected = _defect_delivery(tmp_path)
    con = duckdb.connect()
    report = ingest_delivery(tmp_path, CATALOG, con)
    assert report.available == set(CATALOG.extracts)
    q = con.sql("SELECT * FROM _rm_quarantine").pl()
    for ex in report.extracts:
        assert ex.reconciles, ex.extract
        exp = expected[ex.extract]
        qx = q.filter(pl.col("extract") == ex.extract)
        quarantined_rows = set(qx["row"].to_list())
        staged_rows = set(con.sql(f"SELECT _row FROM {ex.extract}").pl()["_row"].to_list())
        for row, col, outcome in exp:
            if outcome in ("quarantined", "duplicate_row", "ragged_row", "totals_row", "blank_row"):
                assert row in quarantined_rows, (ex.extract, row, col, outcome)
                msg = qx.filter(pl.col("row") == row)["message"][0]
                assert f"{ex.extract}.csv row {row}" in msg
                if col:
                    assert col in qx.filter(pl.col("row") == row)["column"][0]
                else:
                    assert outcome in qx.filter(pl.col("row") == row)["reason"][0]
            else:
                assert row in staged_rows, (ex.extract, row, col, outcome)
        assert ex.rows_repaired > 0
        assert any("备注" in n for n in ex.notes)


def test_repairs_are_counted_by_kind(tmp_path: Path) -> None:
    _defect_delivery(tmp_path)
    con = duckdb.connect()
    ingest_delivery(tmp_path, CATALOG, con)
    kinds = set(
        con.sql("SELECT DISTINCT kind FROM _rm_repairs WHERE extract='recipients_members'")
        .pl()["kind"]
        .to_list()
    )
    assert {"id15to18", "fullwidth", "traditional", "note_removed"} <= kinds


def _members_csv(header_zh: bool = False) -> str:
    h = (
        ["家庭编号", "身份证号", "姓名", "性别", "出生日期", "与户主关系"]
        if header_zh
        else ["household_id", "id_no", "name", "sex", "birth_date", "relation"]
    )
    return ",".join(h) + "\nH1," + _id_ok() + ",陳大文,1,1990-01-01,户主\n"


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030"])
def test_csv_encoding_is_detected_without_being_told(tmp_path: Path, encoding: str) -> None:
    p = tmp_path / "m.csv"
    p.write_bytes(_members_csv(header_zh=True).encode(encoding))
    t = read_any(p)
    assert t.encoding == encoding
    assert t.headers[0] == "家庭编号"
    assert t.frame["姓名"][0] == "陳大文"


def test_file_whose_extension_lies_is_read_by_its_content(tmp_path: Path) -> None:
    p = tmp_path / "m.xlsx"
    p.write_text(_members_csv(), encoding="utf-8")
    t = read_any(p)
    assert t.format == "csv"
    assert any("extension .xlsx" in n for n in t.notes)


def test_xlsx_with_excel_dates_and_serials(tmp_path: Path) -> None:
    import datetime as dt

    d = tmp_path / "civil_affairs"
    d.mkdir()
    wb = xlsxwriter.Workbook(str(d / "recipients_members.xlsx"))
    ws = wb.add_worksheet()
    ws.write_row(0, 0, ["姓名", "身份证号", "家庭编号", "出生日期", "性别", "与户主关系"])
    ws.write_row(1, 0, ["王伟", _id_ok(), "H1"])
    ws.write_datetime(1, 3, dt.datetime(1990, 1, 1), wb.add_format({"num_format": "yyyy-mm-dd"}))
    ws.write_row(1, 4, ["男", "户主"])
    ws.write_row(2, 0, ["李娜", "", "H1", 32874, "女", "配偶"])  # serial for 1990-01-01
    wb.close()
    con = duckdb.connect()
    rep = ingest_delivery(tmp_path, CATALOG, con)
    ex = next(e for e in rep.extracts if e.extract == "recipients_members")
    assert ex.rows_used == 2 and ex.formats == ["xlsx"]
    births = con.sql("SELECT birth_date FROM recipients_members ORDER BY _row").pl()
    assert births["birth_date"].cast(pl.String).to_list() == ["1990-01-01", "1990-01-01"]


def test_header_only_file_gives_an_empty_table_and_missing_files_are_reported(
    tmp_path: Path,
) -> None:
    d = tmp_path / "public_security"
    d.mkdir()
    (d / "detentions.csv").write_text("id_no,name,start_date,end_date,facility\n", encoding="utf-8")
    con = duckdb.connect()
    rep = ingest_delivery(tmp_path, CATALOG, con)
    by = {e.extract: e for e in rep.extracts}
    assert by["detentions"].status == "ok" and by["detentions"].rows_read == 0
    # an unusable extract's table is set aside, so no check reads it as delivered
    assert not by["detentions"].usable and by["detentions"].unusable_reason == "header_only"
    assert con.execute("SELECT count(*) FROM detentions__unusable").fetchone() == (0,)
    assert by["motor_vehicles"].status == "missing"
    assert "motor_vehicles" not in rep.available


def test_unreadable_file_is_reported_not_fatal(tmp_path: Path) -> None:
    d = tmp_path / "public_security"
    d.mkdir()
    (d / "motor_vehicles.parquet").write_bytes(b"PAR1 this is not parquet at all")
    con = duckdb.connect()
    rep = ingest_delivery(tmp_path, CATALOG, con)
    mv = next(e for e in rep.extracts if e.extract == "motor_vehicles")
    assert mv.status == "unreadable"
    assert any("unreadable" in n for n in mv.notes)


def test_english_and_chinese_headers_in_any_order_map_to_the_same_columns(tmp_path: Path) -> None:
    for zh in (False, True):
        d = tmp_path / str(zh) / "civil_affairs"
        d.mkdir(parents=True)
        (d / "recipients_members.csv").write_text(_members_csv(zh), encoding="utf-8")
        con = duckdb.connect()
        ingest_delivery(tmp_path / str(zh), CATALOG, con)
        row = con.execute(
            "SELECT household_id, name, name_raw, sex FROM recipients_members"
        ).fetchone()
        assert row == ("H1", "陈大文", "陳大文", "男")


def test_quoted_fields_with_commas_and_newlines(tmp_path: Path) -> None:
    d = tmp_path / "public_security"
    d.mkdir()
    (d / "detentions.csv").write_text(
        "id_no,name,start_date,end_date,facility\n"
        f'{_id_ok()},王伟,2024-01-01,,"惠州市第一看守所,二区"\n'
        f'{_id_ok()},王伟,2024-02-01,,"多行\n地址"\n',
        encoding="utf-8",
    )
    con = duckdb.connect()
    rep = ingest_delivery(tmp_path, CATALOG, con)
    det = next(e for e in rep.extracts if e.extract == "detentions")
    assert det.rows_used == 2
    rows = con.execute("SELECT _row, facility FROM detentions ORDER BY _row").fetchall()
    assert rows == [(2, "惠州市第一看守所,二区"), (3, "多行\n地址")]


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030"])
def test_chunked_reading_keeps_row_numbers_quotes_and_cross_chunk_duplicates(
    tmp_path: Path, encoding: str
) -> None:
    d = tmp_path / "public_security"
    d.mkdir()
    lines = ["id_no,name,start_date,end_date,facility"]
    for i in range(300):
        fac = f'"第{i}看守所,\n二区"' if i % 50 == 7 else f"第{i}看守所"
        lines.append(f"{ID_OK},王伟,2024-01-01,,{fac}")
    lines.append(lines[5])  # duplicate of a row far back, in another chunk
    (d / "detentions.csv").write_bytes(("\n".join(lines) + "\n").encode(encoding))
    con = duckdb.connect()
    rep = ingest_delivery(tmp_path, CATALOG, con, chunk_bytes=512)
    det = next(e for e in rep.extracts if e.extract == "detentions")
    assert det.rows_read == 301 and det.rows_used == 300 and det.rows_quarantined == 1
    rows = [r[0] for r in con.execute("SELECT _row FROM detentions ORDER BY _row").fetchall()]
    # _row is the physical line where a record starts: a record whose quoted
    # field spans two lines pushes the later ones down by one line.
    assert rows == [2 + i + sum(1 for k in range(i) if k % 50 == 7) for i in range(300)]
    q = con.execute("SELECT row, reason FROM _rm_quarantine").fetchall()
    assert q == [(302 + 6, "duplicate_row")]
    fac = con.execute("SELECT facility FROM detentions WHERE _row = 9").fetchone()
    assert fac == ("第7看守所,\n二区",)


def test_parallel_parquet_staging_gives_the_same_tables_as_one_worker(tmp_path: Path) -> None:
    """Two workers staging parquet parts behind views give the same rows, in
    the same order, and the same reports as one worker staging tables."""
    _defect_delivery(tmp_path / "delivery")
    one = duckdb.connect()
    rep1 = ingest_delivery(tmp_path / "delivery", CATALOG, one)
    two = duckdb.connect(str(tmp_path / "run.duckdb"))
    rep2 = ingest_delivery(
        tmp_path / "delivery", CATALOG, two, staging_dir=tmp_path / "staged", workers=2
    )
    assert [e.extract for e in rep2.extracts] == [s.extract for s in CATALOG]
    assert rep1.asdict()["totals"] == rep2.asdict()["totals"]
    for e1, e2 in zip(rep1.extracts, rep2.extracts, strict=True):
        assert (e1.rows_read, e1.rows_used, e1.repairs) == (e2.rows_read, e2.rows_used, e2.repairs)
        kind = two.execute(
            "SELECT table_type FROM information_schema.tables WHERE table_name = ?", [e2.extract]
        ).fetchall()
        assert kind == [("VIEW",)]
        assert (
            one.sql(f"SELECT * FROM {e1.extract}")
            .pl()
            .equals(two.sql(f"SELECT * FROM {e2.extract}").pl())
        ), e1.extract
    order = 'ORDER BY extract, file, row, "column", reason, message'
    assert (
        one.sql(f"SELECT * FROM _rm_quarantine {order}")
        .pl()
        .equals(two.sql(f"SELECT * FROM _rm_quarantine {order}").pl())
    )


def test_parquet_is_read_in_chunks_with_row_numbers_and_cross_chunk_duplicates(
    tmp_path: Path,
) -> None:
    d = tmp_path / "public_security"
    d.mkdir()
    rows = [
        {"id_no": ID_OK, "name": "王伟", "start_date": "2024-01-01", "facility": f"第{i}看守所"}
        for i in range(3000)
    ]
    rows.append(rows[5])  # a repeat of a row in the first chunk
    pl.DataFrame(rows).write_parquet(d / "detentions.parquet", row_group_size=500)
    con = duckdb.connect()
    rep = ingest_delivery(tmp_path, CATALOG, con, chunk_bytes=4096)
    det = next(e for e in rep.extracts if e.extract == "detentions")
    assert det.rows_read == 3001 and det.rows_used == 3000 and det.rows_quarantined == 1
    staged = [r[0] for r in con.execute("SELECT _row FROM detentions").fetchall()]
    assert staged == list(range(2, 3002))
    assert con.execute("SELECT row, reason FROM _rm_quarantine").fetchall() == [
        (3002, "duplicate_row")
    ]


def test_encoding_is_decided_where_the_text_is_not_ascii(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """ASCII is skipped; the first non-ASCII stretch decides (a long ASCII
    prefix does not hide a GB18030 file; a later GB18030 line does not turn a
    UTF-8 file into GB18030)."""
    from relief_match.ingest import csv_reader

    monkeypatch.setattr(csv_reader, "_CHUNK", 1024)
    monkeypatch.setattr(csv_reader, "_VOTE_BYTES", 4096)
    ascii_rows = "".join(f"{i},abc\n" for i in range(2000)).encode()
    cjk_rows = "".join(f"{i},王伟\n" for i in range(2000))
    late_gb = tmp_path / "late_gb.csv"
    late_gb.write_bytes(b"id,name\n" + ascii_rows + cjk_rows.encode("gb18030"))
    assert csv_reader.detect_encoding(late_gb) == "gb18030"
    utf8_then_gb = tmp_path / "utf8.csv"
    utf8_then_gb.write_bytes(b"id,name\n" + cjk_rows.encode("utf-8") + "9,张三\n".encode("gb18030"))
    assert csv_reader.detect_encoding(utf8_then_gb) == "utf-8"
    only_ascii = tmp_path / "ascii.csv"
    only_ascii.write_bytes(b"id,name\n" + ascii_rows)
    assert csv_reader.detect_encoding(only_ascii) == "utf-8"
