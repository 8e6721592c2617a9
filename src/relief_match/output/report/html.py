"""The report's HTML pieces: the inline CSS, cards, tables and notes (all text escaped)."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from html import escape
from typing import Any

#: Quarantine and unusable-extract reason codes -> Chinese (codes not listed are shown as is).
REASON_ZH = {
    "blank_row": "空行",
    "duplicate_row": "重复行",
    "ragged_row": "列数与表头不符",
    "totals_row": "合计行",
    "no_identifier": "无身份标识",
    "invalid_date": "日期无效",
    "invalid_month": "月份无效",
    "invalid_enum": "取值不在代码表内",
    "invalid_sex": "性别无效",
    "invalid_number": "数值无效",
    "missing": "未提供",
    "unreadable": "无法读取",
    "header_only": "只有表头",
    "missing_required_column": "缺少必需列",
    "no_usable_rows": "没有可用行",
}
STATUS_ZH = {"completed": "完成", "failed": "失败", "running": "运行中", "killed": "被中断"}

CSS = """
body{font-family:"Microsoft YaHei","PingFang SC","Hiragino Sans GB","Noto Sans CJK SC",
"Source Han Sans SC","WenQuanYi Zen Hei",SimHei,sans-serif;margin:0;background:#f4f5f7;color:#222}
main{max-width:1200px;margin:0 auto;padding:16px 24px 40px}
header{background:#1f3b57;color:#fff;padding:18px 24px}
header h1{margin:0;font-size:24px} header p{margin:4px 0 0;color:#cfdbe6;font-size:13px}
section{background:#fff;border-radius:6px;padding:14px 18px;margin:16px 0;
box-shadow:0 1px 2px rgba(0,0,0,.08)}
h2{font-size:18px;margin:0 0 10px;border-left:4px solid #1f5f8b;padding-left:8px}
.cards{display:flex;flex-wrap:wrap;gap:10px}
.card{flex:1 1 160px;border:1px solid #dde3ea;border-radius:6px;padding:8px 12px}
.card .k{font-size:12px;color:#667} .card .v{font-size:22px;font-weight:bold;margin-top:2px}
.card .s{font-size:12px;color:#667;margin-top:2px}
.card.alert{border-color:#c0392b} .card.alert .v{color:#c0392b}
.grid{display:flex;flex-wrap:wrap;gap:12px} .grid>div{flex:1 1 540px;min-width:0}
svg.chart{max-width:100%;height:auto;display:block}
table{border-collapse:collapse;font-size:12px;width:100%;margin-top:6px}
th,td{border-bottom:1px solid #e3e6ea;padding:3px 6px;text-align:left;white-space:nowrap}
th{background:#f0f3f6} td.n{text-align:right;font-variant-numeric:tabular-nums}
.scroll{overflow-x:auto} .note{font-size:12px;color:#667;margin:6px 0}
.warn{color:#a04000} .empty{color:#667;font-size:15px;padding:12px 0}
code{font-size:12px;background:#f0f3f6;padding:0 3px}
"""


def yuan(v: float) -> str:
    """An amount in yuan for people: ``1,234,567 元``."""
    return f"{v:,.0f} 元"


def card(key: str, value: str, sub: str = "", *, alert: bool = False) -> str:
    cls = "card alert" if alert else "card"
    s = f'<div class="s">{escape(sub)}</div>' if sub else ""
    return f'<div class="{cls}"><div class="k">{escape(key)}</div><div class="v">{escape(value)}</div>{s}</div>'


def table(
    header: Sequence[str], rows: Sequence[Sequence[Any]], numeric: Collection[int] = ()
) -> str:
    """An HTML table; columns in ``numeric`` right-aligned."""
    head = "".join(f"<th>{escape(str(h))}</th>" for h in header)
    body = "".join(
        "<tr>"
        + "".join(
            f'<td class="n">{escape(str(c))}</td>' if i in numeric else f"<td>{escape(str(c))}</td>"
            for i, c in enumerate(r)
        )
        + "</tr>"
        for r in rows
    )
    return f'<div class="scroll"><table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>'


def section(sid: str, title: str, body: str) -> str:
    return f'<section id="{sid}"><h2>{escape(title)}</h2>{body}</section>'


def note(text: str, cls: str = "note") -> str:
    return f'<p class="{cls}">{escape(text)}</p>'
