"""The report's sections, each a ``<section>`` with its charts and tables, and the whole page."""

from __future__ import annotations

from datetime import datetime
from html import escape

from relief_match.output.report import charts as ch
from relief_match.output.report.data import RunData
from relief_match.output.report.html import (
    CSS,
    REASON_ZH,
    STATUS_ZH,
    card,
    note,
    section,
    table,
    yuan,
)
from relief_match.output.writers import ROUTE_ZH


def _glance(d: RunData) -> str:
    s = d.summary
    rules = s.get("rules") or {}
    exact = sum(f.get("amount_at_risk") or 0 for f in d.findings if f.get("amount_kind") == "exact")
    est = sum(
        f.get("amount_at_risk") or 0 for f in d.findings if f.get("amount_kind") == "estimate"
    )
    status = str(s.get("status", "?"))
    code = s.get("exit_code")
    c = d.change
    if c.get("previous_run") or "open" in c:
        change = (
            f"新增 {c.get('new', '—')} · 持续 {c.get('open', '—')} · 已消失 {c.get('gone', '—')}"
        )
    else:
        change = f"新增 {c.get('new', '—')}"
    cards = [
        card("核查基准日 as_of", str(s.get("as_of", "?"))),
        card(
            "运行状态 status",
            f"{STATUS_ZH.get(status, status)}（退出码 {code}）",
            f"用时 {float(s.get('seconds') or 0):.0f} 秒",
            alert=status != "completed" or bool(code),
        ),
        card("疑点家庭 households", f"{d.n_households:,}"),
        card("疑点 findings", f"{int(rules.get('n_findings', len(d.findings))):,}"),
        card("涉及金额·精确 exact", yuan(exact), "依据发放记录计算"),
        card("涉及金额·估算 estimate", yuan(est), "按标准估算，各规则间可能重叠，不与精确金额相加"),
        card("较上次运行 change", change, f"上次运行：{c.get('previous_run') or '无'}"),
    ]
    body = f'<div class="cards">{"".join(cards)}</div>'
    body += note(f"数据批次 delivery：{s.get('delivery', '?')}")
    body += note(f"变化的比较方式：{c.get('method', '—')}")
    if s.get("summary_is_provisional"):
        body += note("本页由运行本身在写完名单后生成：用时截至生成报告时。")
    for w in s.get("warnings") or []:
        body += note(f"警告：{w}", "note warn")
    if s.get("error"):
        body += note(f"错误：{s['error'].get('message', '')}", "note warn")
    return section("glance", "当晚一览 The night at a glance", body)


def _per(d: RunData, key: str) -> dict[str, list[float]]:
    """key -> [findings, exact amount, estimated amount]."""
    out: dict[str, list[float]] = {}
    for f in d.findings:
        row = out.setdefault(str(f.get(key) or "—"), [0, 0.0, 0.0])
        row[0] += 1
        kind = f.get("amount_kind")
        if kind in ("exact", "estimate"):
            row[1 if kind == "exact" else 2] += float(f.get("amount_at_risk") or 0)
    return out


def _amount_series(rows: list[list[float]]) -> list[tuple[str, list[float], str]]:
    return [
        ("精确金额", [r[1] for r in rows], ch.BLUE),
        ("估算金额", [r[2] for r in rows], ch.LIGHT_BLUE),
    ]


def _checks(d: RunData) -> str:
    per = _per(d, "rule_id")
    checks = (d.summary.get("rules") or {}).get("checks") or []
    ran = [c for c in checks if c.get("status") == "ran"] or [
        {"rule_id": k, "title_zh": ""} for k in per
    ]
    ran.sort(key=lambda c: -per.get(c["rule_id"], [0])[0])
    labels = [f"{c.get('title_zh', '')} {c['rule_id']}".strip() for c in ran]
    rows = [per.get(c["rule_id"], [0, 0.0, 0.0]) for c in ran]
    body = '<div class="grid"><div>'
    body += ch.hbar(
        "chart-check-findings", "各规则疑点数", labels, [("疑点", [r[0] for r in rows], ch.BLUE)]
    )
    body += "</div><div>"
    body += ch.hbar("chart-check-amount", "各规则涉及金额（元）", labels, _amount_series(rows))
    body += "</div></div>"
    idle = [c for c in checks if c.get("status") != "ran"]
    if idle:
        body += note("未运行的规则：")
        body += table(
            ["规则编号", "名称", "状态", "原因"],
            [
                [c.get("rule_id"), c.get("title_zh", ""), c.get("status"), c.get("reason") or ""]
                for c in idle
            ],
        )
    return section("checks", "按规则 Findings per check", body)


def _districts(d: RunData) -> str:
    from relief_match.output.districts import load_districts

    names = load_districts()
    per = sorted(_per(d, "district_code").items(), key=lambda kv: -kv[1][0])
    labels = [f"{names[k]} {k}" if k in names else str(k) for k, _ in per]
    rows = [v for _, v in per]
    body = '<div class="grid"><div>'
    body += ch.hbar(
        "chart-district-findings",
        "各区县疑点数",
        labels,
        [("疑点", [r[0] for r in rows], ch.BLUE)],
    )
    body += "</div><div>"
    body += ch.hbar("chart-district-amount", "各区县涉及金额（元）", labels, _amount_series(rows))
    body += "</div></div>"
    return section("districts", "按区县 Findings per district", body)


def _households(d: RunData) -> str:
    if not d.households_header:
        return section(
            "households", "重点家庭 Top households", note("本次运行没有 households.csv。")
        )
    numeric = {
        i
        for i, h in enumerate(d.households_header)
        if h
        in ("排名", "风险总分", "最高单项分值", "问题数", "规则数", "确定金额合计", "估算金额合计")
    }
    body = note(
        f"households.csv 的前 {len(d.households_rows)} 行（共 {d.n_households:,} 户，身份证号已脱敏）。"
    )
    body += table(d.households_header, d.households_rows, numeric)
    return section("households", "重点家庭 Top households", body)


def _quality(d: RunData) -> str:
    extracts = (d.summary.get("ingest") or {}).get("extracts") or []
    labels = [e["extract"] for e in extracts]
    used = [
        max(int(e.get("rows_used") or 0) - int(e.get("rows_repaired") or 0), 0) for e in extracts
    ]
    rep = [min(int(e.get("rows_repaired") or 0), int(e.get("rows_used") or 0)) for e in extracts]
    quar = [int(e.get("rows_quarantined") or 0) for e in extracts]
    body = '<div class="grid"><div>'
    body += ch.hbar(
        "chart-quality-rows",
        "各数据表读入行数：使用 / 修复后使用 / 隔离",
        labels,
        [("直接使用", used, ch.GREEN), ("修复后使用", rep, ch.ORANGE), ("隔离", quar, ch.RED)],
    )
    body += "</div><div>"
    reasons = d.quarantine_reasons
    body += ch.hbar(
        "chart-quarantine-reasons",
        "隔离原因（行数）",
        [f"{REASON_ZH.get(r, r)} {r}" for r, _ in reasons],
        [("行数", [n for _, n in reasons], ch.RED)],
    )
    body += "</div></div>"
    body += table(
        ["数据表 extract", "部门", "读入", "修复", "隔离", "使用", "状态", "不可用原因"],
        [
            [
                e["extract"],
                e.get("department", ""),
                e.get("rows_read", 0),
                e.get("rows_repaired", 0),
                e.get("rows_quarantined", 0),
                e.get("rows_used", 0),
                e.get("status", ""),
                ""
                if e.get("usable", True)
                else REASON_ZH.get(e.get("unusable_reason") or "", e.get("unusable_reason") or ""),
            ]
            for e in extracts
        ],
        {2, 3, 4, 5},
    )
    unusable = d.summary.get("unusable_extracts") or {}
    checks = (d.summary.get("rules") or {}).get("checks") or []
    if unusable:
        body += note("缺失或不可用的数据表，以及因此停用的规则：", "note warn")
        body += table(
            ["数据表", "原因", "停用的规则"],
            [
                [
                    x,
                    f"{REASON_ZH.get(r, r)} ({r})",
                    "、".join(
                        c["rule_id"]
                        for c in checks
                        if c.get("status") != "ran" and x in str(c.get("reason") or "")
                    )
                    or "—",
                ]
                for x, r in unusable.items()
            ],
        )
    else:
        body += note("所有数据表均已送达且可用。")
    return section("quality", "数据质量 Data quality", body)


def _linking(d: RunData) -> str:
    link = d.summary.get("link") or {}
    routes = link.get("links_by_route") or {}
    order = [r for r in ("exact", "repaired_id", "probabilistic") if r in routes] + [
        r for r in routes if r not in ("exact", "repaired_id", "probabilistic")
    ]
    threshold = float(link.get("min_probability") or 0.9)
    settings = d.manifest.get("settings") or {}
    check_t = settings.get("min_link_probability") or threshold
    body = '<div class="grid"><div>'
    body += ch.hbar(
        "chart-link-routes",
        "各匹配方式的链接数",
        [f"{ROUTE_ZH.get(r, r)} {r}" for r in order],
        [("链接", [int(routes[r]) for r in order], ch.BLUE)],
    )
    body += "</div><div>"
    body += ch.histogram(
        "chart-link-probability",
        "模糊匹配链接的匹配概率分布",
        d.probabilities,
        threshold=threshold,
        xlabel="匹配概率 match probability",
    )
    body += "</div></div>"
    sent = int(link.get("unresolved_refs") or 0) + int(link.get("valid_id_candidates") or 0)
    n_prob = int(routes.get("probabilistic") or 0)
    below = sum(1 for p in d.probabilities if p < float(check_t))
    body += note(
        f"送入模糊匹配的引用 {sent:,} 条，采用的模糊链接 {n_prob:,} 条；"
        f"约 {max(sent - n_prob, 0):,} 条因匹配概率低于阈值 {threshold:g} 或没有候选而未采用"
        "（低于阈值的候选对不保存在运行目录中）。"
    )
    body += note(
        f"已采用但低于规则使用阈值 {float(check_t):g} 的链接：{below:,} 条（规则不使用这些链接）。"
    )
    return section("linking", "人员匹配 Linking", body)


def _hit_rate(d: RunData) -> str:
    review = d.summary.get("hit_rate") or d.summary.get("review")
    rows = review.get("checks") if isinstance(review, dict) else review
    if isinstance(rows, dict):
        rows = [
            {"rule_id": k, **(v if isinstance(v, dict) else {"hit_rate": v})}
            for k, v in rows.items()
        ]
    if not rows or not isinstance(rows, list):
        return section(
            "hit-rate",
            "核查结果 Hit rate",
            '<p class="empty">尚无核查结果（no review outcomes yet）。</p>',
        )
    rows = [r for r in rows if isinstance(r, dict)]
    keys = list(dict.fromkeys(k for r in rows for k in r))
    body = ""
    rated = [r for r in rows if isinstance(r.get("hit_rate"), int | float)]
    if rated:
        body += ch.hbar(
            "chart-hit-rate",
            "各规则核查属实率（%）",
            [str(r.get("rule_id", "?")) for r in rated],
            [("属实率", [100 * float(r["hit_rate"]) for r in rated], ch.GREEN)],
            value_fmt=lambda v: f"{v:.0f}%",
        )
    recovered = sum(
        float(r.get(k) or 0)
        for r in rows
        for k in ("recovered", "amount_recovered")
        if isinstance(r.get(k), int | float)
    )
    body += note(f"已追回金额合计：{yuan(recovered)}")
    body += table(keys, [[r.get(k, "") for k in keys] for r in rows])
    return section("hit-rate", "核查结果 Hit rate", body)


def _trend(d: RunData) -> str:
    nights = [t["as_of"] for t in d.trend]
    charts = (
        ("chart-trend-findings", "每晚疑点数与新增疑点数", "findings", "new", "疑点", "新增"),
        (
            "chart-trend-amount",
            "每晚涉及金额（元）",
            "amount_exact",
            "amount_estimate",
            "精确金额",
            "估算金额",
        ),
    )
    body = '<div class="grid">'
    for chart_id, title, first, second, first_zh, second_zh in charts:
        lines = [
            (first_zh, [t[first] for t in d.trend], ch.BLUE),
            (
                second_zh,
                [t[second] for t in d.trend],
                ch.ORANGE if second == "new" else ch.LIGHT_BLUE,
            ),
        ]
        body += f"<div>{ch.trend(chart_id, title, nights, lines)}</div>"
    body += "</div>"
    body += table(
        ["基准日", "运行", "疑点", "新增", "精确金额", "估算金额"],
        [
            [
                t["as_of"],
                t["run_id"],
                t["findings"],
                "—" if t["new"] is None else t["new"],
                yuan(t["amount_exact"]),
                yuan(t["amount_estimate"]),
            ]
            for t in reversed(d.trend)
        ],
        {2, 3, 4, 5},
    )
    return section("trend", f"趋势 Trend（最近 {len(d.trend)} 次运行）", body)


def _footer(d: RunData) -> str:
    versions = d.manifest.get("versions") or {}
    v = "，".join(f"{k} {val}" for k, val in versions.items()) if isinstance(versions, dict) else ""
    body = note(f"运行目录：{d.run_dir}")
    body += note("本页依据的文件：" + "、".join(d.sources))
    if v:
        body += note(f"软件版本：{v}")
    body += note("本页不含完整身份证号；重点家庭表与 households.csv 一样已脱敏。")
    return section("sources", "来源 Sources", body)


def render(d: RunData) -> str:
    """The whole page."""
    s = d.summary
    built = datetime.now().isoformat(timespec="seconds")
    parts = [
        _glance(d),
        _checks(d),
        _districts(d),
        _households(d),
        _quality(d),
        _linking(d),
        _hit_rate(d),
        _trend(d),
        _footer(d),
    ]
    title = f"救助核查运行报告 {s.get('as_of', '')} · {s.get('run_id', d.run_dir.name)}"
    return (
        '<!DOCTYPE html>\n<html lang="zh-CN"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title><style>{CSS}</style></head><body>"
        f"<header><h1>救助核查夜间运行报告</h1><p>运行 {escape(str(s.get('run_id', d.run_dir.name)))}"
        f" · 核查基准日 {escape(str(s.get('as_of', '?')))} · 报告生成于 {built}"
        f" · relief-match {escape(str(s.get('relief_match_version', '')))}</p></header>"
        f"<main>{''.join(parts)}</main></body></html>\n"
    )
