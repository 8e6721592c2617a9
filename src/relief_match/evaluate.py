"""Score a run's flags against a synthetic city's answer key.

``evaluate(key_dir, flags_path)`` matches flags to the key's cases on
``(rule_id, household_id, member_id_masked)`` and reports precision, recall
and F1 per check and overall, recall per link difficulty, the decoys that were
flagged, the average precision of the ranking and the accuracy of the exact
amounts (DECEASED, PAID_AFTER_EXIT, OVERPAID).

Matching rules:

- A flag whose key equals a planted case's is a true positive (once; a second
  flag with the same key is counted as a duplicate, not as a false positive).
- For the household-level checks (PAID_AFTER_EXIT, OVERPAID, REAL_ESTATE,
  INCOME_OVER_STANDARD) the member a run names is a presentation choice, so a
  flag that matches no case exactly still matches a planted case of the same
  check and household.
- Every other flag is a false positive; those matching a decoy are also listed
  as flagged decoys.
"""

from __future__ import annotations

import dataclasses
import io
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from relief_match.privacy import mask_id_no

HOUSEHOLD_LEVEL = ("PAID_AFTER_EXIT", "OVERPAID", "REAL_ESTATE", "INCOME_OVER_STANDARD")
#: The link difficulties always reported, in this order; any other difficulty
#: of the key's planted cases follows (a key from a newer generator).
DIFFICULTIES = (
    *("clean", "messy_id", "fuzzy_typo", "fuzzy_transposed", "fuzzy_no_id", "traditional"),
    *("two_typos", "legacy_typo", "name_swapped", "name_homophone"),
)

_ZH = {
    "排名": "rank",
    "家庭编号": "household_id",
    "规则编号": "rule_id",
    "成员身份证号": "member_id_masked",
    "风险金额": "amount_at_risk",
    "风险分值": "score",
}
_FW = str.maketrans("０１２３４５６７８９．，Ｘｘ", "0123456789.,Xx")


@dataclass(frozen=True)
class RuleScore:
    """Counts and scores of one check (or of all, as ``rule_id='ALL'``)."""

    rule_id: str
    planted: int
    flagged: int
    true_positives: int
    false_positives: int
    false_negatives: int
    duplicates: int
    decoys_flagged: int
    precision: float | None
    recall: float | None
    f1: float | None


@dataclass(frozen=True)
class DifficultyRecall:
    """Recall over the planted cases of one link difficulty."""

    difficulty: str
    planted: int
    found: int
    recall: float | None


@dataclass(frozen=True)
class DecoyHit:
    """A decoy that was flagged (a near miss reported as a finding)."""

    case_id: str
    rule_id: str
    household_id: str
    member_id_masked: str
    rank: float | None
    note: str


@dataclass(frozen=True)
class AmountScore:
    """Exact-amount accuracy over the true positives of one exact check."""

    rule_id: str
    matched: int
    exact: int
    accuracy: float | None


@dataclass(frozen=True)
class EvalReport:
    """Result of :func:`evaluate` (``asdict()`` for machines, ``asstr()`` for people)."""

    key_dir: str
    flags_path: str
    n_flags: int
    rules: tuple[RuleScore, ...]
    overall: RuleScore
    recall_by_difficulty: tuple[DifficultyRecall, ...]
    decoys_flagged: tuple[DecoyHit, ...]
    average_precision: float | None
    amounts: tuple[AmountScore, ...]
    missed_case_ids: tuple[str, ...] = field(default_factory=tuple)

    def asdict(self) -> dict[str, object]:
        """Plain-dict form (JSON-serialisable)."""
        return dataclasses.asdict(self)

    def asstr(self) -> str:
        """A readable table."""

        def f(x: float | None) -> str:
            return "    -" if x is None else f"{x:5.3f}"

        lines = [
            f"evaluation of {self.flags_path}",
            f"  against {self.key_dir}: {self.n_flags} flags",
            "",
            f"  {'rule_id':<24}{'planted':>8}{'flags':>7}{'TP':>6}{'FP':>6}{'FN':>6}{'dup':>5}"
            f"{'decoy':>6}{'prec':>7}{'recall':>7}{'F1':>7}",
        ]
        for s in (*self.rules, self.overall):
            if s is self.overall:
                lines.append("  " + "-" * 89)
            lines.append(
                f"  {s.rule_id:<24}{s.planted:>8}{s.flagged:>7}{s.true_positives:>6}"
                f"{s.false_positives:>6}{s.false_negatives:>6}{s.duplicates:>5}{s.decoys_flagged:>6}"
                f"  {f(s.precision)}  {f(s.recall)}  {f(s.f1)}"
            )
        lines += ["", f"  average precision of the ranking: {f(self.average_precision)}", ""]
        lines.append(f"  {'link difficulty':<24}{'planted':>8}{'found':>7}{'recall':>8}")
        for d in self.recall_by_difficulty:
            lines.append(f"  {d.difficulty:<24}{d.planted:>8}{d.found:>7}  {f(d.recall)}")
        lines += ["", f"  {'exact amounts':<24}{'matched':>8}{'exact':>7}{'accuracy':>10}"]
        for a in self.amounts:
            lines.append(f"  {a.rule_id:<24}{a.matched:>8}{a.exact:>7}    {f(a.accuracy)}")
        lines.append("")
        if self.decoys_flagged:
            lines.append(f"  decoys flagged ({len(self.decoys_flagged)}):")
            for h in self.decoys_flagged[:50]:
                lines.append(
                    f"    {h.case_id} {h.rule_id} {h.household_id} {h.member_id_masked}  {h.note}"
                )
            if len(self.decoys_flagged) > 50:
                lines.append(f"    ... {len(self.decoys_flagged) - 50} more")
        else:
            lines.append("  decoys flagged: none")
        return "\n".join(lines)


def _ratio(a: int, b: int) -> float | None:
    return None if b == 0 else a / b


def _f1(p: float | None, r: float | None) -> float | None:
    if p is None or r is None:
        return None
    return 0.0 if p + r == 0 else 2 * p * r / (p + r)


def _money(v: object) -> float | None:
    if v is None:
        return None
    if isinstance(v, int | float):
        return float(v)
    s = str(v).strip().translate(_FW).replace(",", "").replace("元", "")
    if not s:
        return None
    try:
        return float(s)
    except ValueError:
        return None


_MASKED = re.compile(r"^\S{6}\*+\S{4}$")


def _norm_masked(v: object) -> str:
    s = "" if v is None else str(v).strip().translate(_FW).upper()
    s = re.sub(r"[\s-]", "", s)
    if len(s) == 18 and "*" not in s:
        return mask_id_no(s)
    if _MASKED.match(s):
        return f"{s[:6]}********{s[-4:]}"
    return s


def read_flags(path: Path) -> pl.DataFrame:
    """Read flags (csv with Chinese or English headers, parquet or xlsx) into
    ``rule_id, household_id, member_id_masked, rank, amount_at_risk, _order``."""
    path = Path(path)
    raw = path.read_bytes()
    if raw[:4] == b"PAR1":
        df = pl.read_parquet(io.BytesIO(raw))
    elif raw[:2] == b"PK":
        import fastexcel

        df = fastexcel.read_excel(raw).load_sheet(0, dtypes="string").to_polars()
    else:
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            text = raw.decode("gb18030")
        df = pl.read_csv(io.BytesIO(text.encode("utf-8")), infer_schema=False)
    df = df.rename({c: _ZH[c] for c in df.columns if c in _ZH})
    if "member_id_masked" not in df.columns:
        if "member_id_no" in df.columns:
            df = df.with_columns(pl.col("member_id_no").alias("member_id_masked"))
        else:
            df = df.with_columns(pl.lit("").alias("member_id_masked"))
    for c in ("rule_id", "household_id"):
        if c not in df.columns:
            raise ValueError(f"{path}: flags have no {c} column")
    n = df.height
    rank = df["rank"].to_list() if "rank" in df.columns else list(range(1, n + 1))
    amount = df["amount_at_risk"].to_list() if "amount_at_risk" in df.columns else [None] * n
    return pl.DataFrame(
        {
            "rule_id": [("" if v is None else str(v).strip()) for v in df["rule_id"].to_list()],
            "household_id": [
                ("" if v is None else str(v).strip()) for v in df["household_id"].to_list()
            ],
            "member_id_masked": [_norm_masked(v) for v in df["member_id_masked"].to_list()],
            "rank": pl.Series([_money(v) for v in rank], dtype=pl.Float64),
            "amount_at_risk": pl.Series([_money(v) for v in amount], dtype=pl.Float64),
            "_order": list(range(n)),
        }
    )


def key_checks(key_dir: Path, cases: pl.DataFrame) -> tuple[list[str], list[str]]:
    """The checks an answer key covers (in its order) and those whose amounts are exact.

    Both come from the key's ``manifest.json`` (``counts.planted_by_rule`` and
    ``exact_amount_rules``); a key without a manifest covers the checks of its
    ``cases.csv`` in order of appearance and has no exact amounts.
    """
    manifest_path = key_dir / "manifest.json"
    if not manifest_path.exists():
        return cases["rule_id"].unique(maintain_order=True).to_list(), []
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    return list(manifest["counts"]["planted_by_rule"]), list(manifest["exact_amount_rules"])


def evaluate(key_dir: Path, flags_path: Path) -> EvalReport:
    """Score ``flags_path`` (flags.csv / flags.parquet) against the answer key in ``key_dir``.

    Args:
        key_dir: a synthetic city's ``answer_key`` folder (or the city folder holding it).
        flags_path: the run's flags, headed in Chinese or English.

    Returns:
        An :class:`EvalReport`.

    Example:
        >>> print(evaluate(Path("sample_data/answer_key"), Path("out/flags.csv")).asstr())  # doctest: +SKIP
    """
    key_dir = Path(key_dir)
    if not (key_dir / "cases.csv").exists() and (key_dir / "answer_key" / "cases.csv").exists():
        key_dir = key_dir / "answer_key"
    cases = pl.read_csv(key_dir / "cases.csv", infer_schema=False)
    flags = read_flags(Path(flags_path)).sort(["rank", "_order"], nulls_last=True)

    planted_rows = [r for r in cases.iter_rows(named=True) if r["kind"] == "planted"]
    decoy_rows = [r for r in cases.iter_rows(named=True) if r["kind"] == "decoy"]
    by_key: dict[tuple[str, str, str], list[dict[str, str]]] = {}
    by_hh: dict[tuple[str, str], list[dict[str, str]]] = {}
    for r in planted_rows:
        by_key.setdefault((r["rule_id"], r["household_id"], r["member_id_masked"]), []).append(r)
        if r["rule_id"] in HOUSEHOLD_LEVEL:
            by_hh.setdefault((r["rule_id"], r["household_id"]), []).append(r)
    decoy_key: dict[tuple[str, str, str], dict[str, str]] = {}
    decoy_hh: dict[tuple[str, str], dict[str, str]] = {}
    for r in decoy_rows:
        decoy_key.setdefault((r["rule_id"], r["household_id"], r["member_id_masked"]), r)
        if r["rule_id"] in HOUSEHOLD_LEVEL:
            decoy_hh.setdefault((r["rule_id"], r["household_id"]), r)

    matched: dict[str, float | None] = {}  # case_id -> flag amount
    tp: dict[str, int] = {}
    fp: dict[str, int] = {}
    dup: dict[str, int] = {}
    dec: dict[str, int] = {}
    flagged: dict[str, int] = {}
    hits: list[DecoyHit] = []
    seen_decoys: set[str] = set()
    relevant: list[bool] = []
    for rule, hid, masked, rank, amount, _ in flags.iter_rows():
        flagged[rule] = flagged.get(rule, 0) + 1
        cands = by_key.get((rule, hid, masked), [])
        fresh = [c for c in cands if c["case_id"] not in matched]
        if not fresh and not cands and rule in HOUSEHOLD_LEVEL:
            cands = by_hh.get((rule, hid), [])
            fresh = [c for c in cands if c["case_id"] not in matched]
        if fresh:
            matched[fresh[0]["case_id"]] = amount
            tp[rule] = tp.get(rule, 0) + 1
            relevant.append(True)
            continue
        relevant.append(False)
        if cands:
            dup[rule] = dup.get(rule, 0) + 1
            continue
        fp[rule] = fp.get(rule, 0) + 1
        d = decoy_key.get((rule, hid, masked))
        if d is None and rule in HOUSEHOLD_LEVEL:
            d = decoy_hh.get((rule, hid))
        if d is not None:
            dec[rule] = dec.get(rule, 0) + 1
            if d["case_id"] not in seen_decoys:
                seen_decoys.add(d["case_id"])
                hits.append(DecoyHit(d["case_id"], rule, hid, masked, rank, d.get("note") or ""))

    planted_by_rule: dict[str, int] = {}
    for r in planted_rows:
        planted_by_rule[r["rule_id"]] = planted_by_rule.get(r["rule_id"], 0) + 1
    key_rules, exact_rules = key_checks(key_dir, cases)
    rule_ids = key_rules + sorted((set(flagged) | set(planted_by_rule)) - set(key_rules))

    def score(rule: str, planted: int, t: int, f_: int, d: int, dc: int, fl: int) -> RuleScore:
        p = _ratio(t, t + f_)
        r = _ratio(t, planted)
        return RuleScore(rule, planted, fl, t, f_, planted - t, d, dc, p, r, _f1(p, r))

    rules = tuple(
        score(
            r,
            planted_by_rule.get(r, 0),
            tp.get(r, 0),
            fp.get(r, 0),
            dup.get(r, 0),
            dec.get(r, 0),
            flagged.get(r, 0),
        )
        for r in rule_ids
    )
    overall = score(
        "ALL",
        len(planted_rows),
        sum(tp.values()),
        sum(fp.values()),
        sum(dup.values()),
        sum(dec.values()),
        flags.height,
    )
    diffs = []
    planted_diffs = {r["link_difficulty"] for r in planted_rows if r["link_difficulty"]}
    for difficulty in (*DIFFICULTIES, *sorted(planted_diffs - set(DIFFICULTIES))):
        rows = [r for r in planted_rows if r["link_difficulty"] == difficulty]
        found = sum(1 for r in rows if r["case_id"] in matched)
        diffs.append(DifficultyRecall(difficulty, len(rows), found, _ratio(found, len(rows))))
    # average precision over the ranked list; every planted case is relevant
    ap_sum, hits_so_far = 0.0, 0
    for k, rel in enumerate(relevant, start=1):
        if rel:
            hits_so_far += 1
            ap_sum += hits_so_far / k
    ap = _ratio_f(ap_sum, len(planted_rows))
    amounts = []
    for rule in exact_rules:
        rows = [r for r in planted_rows if r["rule_id"] == rule and r["case_id"] in matched]
        exact = 0
        for r in rows:
            want = _money(r["amount_at_risk"])
            got = matched[r["case_id"]]
            if want is not None and got is not None and abs(got - want) < 1.0:
                exact += 1
        amounts.append(AmountScore(rule, len(rows), exact, _ratio(exact, len(rows))))
    missed = tuple(sorted(r["case_id"] for r in planted_rows if r["case_id"] not in matched))
    return EvalReport(
        key_dir=str(key_dir),
        flags_path=str(flags_path),
        n_flags=flags.height,
        rules=rules,
        overall=overall,
        recall_by_difficulty=tuple(diffs),
        decoys_flagged=tuple(hits),
        average_precision=ap,
        amounts=tuple(amounts),
        missed_case_ids=missed,
    )


def _ratio_f(a: float, b: int) -> float | None:
    return None if b == 0 else a / b
