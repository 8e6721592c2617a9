"""The columns of the caseworker files, their Chinese labels and the legend sheet.

Each file's columns are :class:`Column` rows: the Chinese header, the English
name of the value in the row dicts the writers build, and the cell kind.
Fill-in columns (``fill=True``) are written empty for the caseworker to fill
in place (``relief-match review import`` reads them back); a column with
``choices`` gets a drop-down of those values in the xlsx.
"""

from __future__ import annotations

from dataclasses import dataclass

from relief_match.review.history import CHANGE_ZH as HISTORY_CHANGE_ZH
from relief_match.review.store import OUTCOME_ZH

#: Match route -> Chinese label shown to caseworkers.
ROUTE_ZH: dict[str | None, str] = {
    "exact": "身份证号一致",
    "repaired_id": "身份证号修复后一致",
    "probabilistic": "模糊匹配",
    None: "家庭记录（无需人员匹配）",
}

#: amount_kind -> Chinese label (a check without an amount says so).
AMOUNT_KIND_ZH: dict[str | None, str] = {
    "exact": "精确",
    "estimate": "估算",
    "none": "不计金额",
    None: "",
}

#: change (review.history) -> Chinese label.
CHANGE_ZH: dict[str | None, str] = {None: ""}
CHANGE_ZH.update(HISTORY_CHANGE_ZH.items())

#: Marks an earlier outcome recorded under a different finding id.
EVIDENCE_CHANGED_ZH = "（证据已变化）"


@dataclass(frozen=True)
class Column:
    """One output column: Chinese header, English (row key / parquet) name, cell kind."""

    zh: str
    en: str
    kind: str = "text"  # text | int | score | money | prob
    fill: bool = False  # empty, for the caseworker to fill in
    choices: tuple[str, ...] = ()  # xlsx drop-down values


#: The caseworker's fill-in columns, read back by ``relief-match review import``.
REVIEW_FILL_COLUMNS: tuple[Column, ...] = (
    Column("核查结果", "fill_outcome", fill=True, choices=tuple(OUTCOME_ZH.values())),
    Column("追回金额", "fill_recovered_amount", fill=True),
    Column("核查人", "fill_reviewer", fill=True),
    Column("核查日期", "fill_review_date", fill=True),
    Column("核查说明", "fill_review_note", fill=True),
)

#: flags.csv / flags.xlsx columns, in order.
FLAGS_COLUMNS: tuple[Column, ...] = (
    Column("排名", "rank", "int"),
    Column("疑点编号", "finding_id"),
    Column("变化", "change_zh"),
    Column("家庭编号", "household_id"),
    Column("规则名称", "rule_title_zh"),
    Column("规则编号", "rule_id"),
    Column("风险分值", "score", "score"),
    Column("风险金额", "amount_at_risk", "money"),
    Column("金额性质", "amount_kind_zh"),
    Column("成员姓名", "member_name"),
    Column("成员身份证号", "member_id_masked"),
    Column("匹配方式", "route_zh"),
    Column("匹配概率", "match_probability", "prob"),
    Column("原因", "reason_zh"),
    Column("证据来源", "evidence_extract"),
    Column("证据行号", "evidence_row", "int"),
    Column("区县", "district_name"),
    Column("区县代码", "district_code"),
    Column("救助类型", "benefit_type"),
    Column("证据文件", "evidence_file"),
    Column("匹配依据", "match_evidence"),
    Column("数据日期", "as_of"),
    Column("上次核查结果", "last_outcome_zh"),
    *REVIEW_FILL_COLUMNS,
)

#: households.csv / households.xlsx columns, in order.
HOUSEHOLDS_COLUMNS: tuple[Column, ...] = (
    Column("排名", "rank", "int"),
    Column("变化", "change_zh"),
    Column("家庭编号", "household_id"),
    Column("区县", "district_name"),
    Column("区县代码", "district_code"),
    Column("救助类型", "benefit_type"),
    Column("风险总分", "total_score", "score"),
    Column("最高单项分值", "max_score", "score"),
    Column("问题数", "n_findings", "int"),
    Column("规则数", "n_checks", "int"),
    Column("规则名称", "rule_titles_zh"),
    Column("规则编号", "rule_ids"),
    Column("确定金额合计", "amount_exact", "money"),
    Column("估算金额合计", "amount_estimate", "money"),
    Column("涉及成员", "member_names"),
    Column("数据日期", "as_of"),
)

#: resolved.csv: the previous run's findings no longer produced.
RESOLVED_COLUMNS: tuple[Column, ...] = (
    Column("疑点编号", "finding_id"),
    Column("变化", "change_zh"),
    Column("家庭编号", "household_id"),
    Column("规则名称", "rule_title_zh"),
    Column("规则编号", "rule_id"),
    Column("成员姓名", "member_name"),
    Column("成员身份证号", "member_id_masked"),
    Column("消失原因", "reason_zh"),
    Column("原因代码", "reason"),
    Column("上次运行", "previous_run_id"),
    Column("数据日期", "as_of"),
)

#: suppressed.csv: findings not listed because a review found them 不属实/有合理解释.
SUPPRESSED_COLUMNS: tuple[Column, ...] = (
    Column("疑点编号", "finding_id"),
    Column("家庭编号", "household_id"),
    Column("规则名称", "rule_title_zh"),
    Column("规则编号", "rule_id"),
    Column("成员姓名", "member_name"),
    Column("成员身份证号", "member_id_masked"),
    Column("风险金额", "amount_at_risk", "money"),
    Column("原因", "reason_zh"),
    Column("区县", "district_name"),
    Column("区县代码", "district_code"),
    Column("核查结果", "outcome_zh"),
    Column("核查日期", "review_date"),
    Column("核查人", "reviewer"),
    Column("核查说明", "review_note"),
    Column("数据日期", "as_of"),
)

_FLAG_HELP: dict[str, str] = {
    "排名": "复核优先顺序，1 = 最先核查（按风险分值、金额从高到低）",
    "疑点编号": "疑点的稳定编号：同一家庭、规则、成员和同一条证据每晚编号相同；证据变化（另一条记录、日期或金额超出容差）时编号改变",
    "变化": "与上一次发布的清单相比：新增 = 上次没有；持续 = 上次已列出、仍未消失",
    "家庭编号": "民政救助家庭编号",
    "规则名称": "疑点规则的中文名称",
    "规则编号": "规则的英文代码（rules/checks/<代码>.yaml）",
    "风险分值": "0–100：100 × 规则权重 × 匹配概率 × 金额系数（金额系数随风险金额按对数增长，10万元封顶；无金额时为1/3）",
    "风险金额": "可能多发的救助金（元）",
    "金额性质": "精确 = 按发放记录直接计算的多发金额；估算 = 条件成立期间该户领取的救助金，是上限估计，不同规则的估算可能重叠；不计金额 = 该规则不计算金额",
    "成员姓名": "疑点涉及的家庭成员",
    "成员身份证号": "身份证号（中间8位已隐去）",
    "匹配方式": "部门记录如何对应到该成员：身份证号一致、修复后一致或模糊匹配",
    "匹配概率": "该对应关系成立的概率（模糊匹配低于1）",
    "原因": "一句话说明疑点及其证据",
    "证据来源": "证据所在的部门数据（抽取表名）",
    "证据行号": "证据在该部门交付文件中的行号",
    "区县": "家庭所在区县名称（GB/T 2260 行政区划代码表，见 rules/districts.csv）",
    "区县代码": "6位行政区划代码",
    "救助类型": "低保、特困等",
    "证据文件": "证据所在的交付文件",
    "匹配依据": "模糊匹配的依据（如姓名一致、身份证号差一位）",
    "数据日期": "本次运行的数据截止日期（as-of）",
    "上次核查结果": "该疑点此前录入的核查结果；带“（证据已变化）”的是同一家庭、规则、成员在证据变化前的结果",
    "核查结果": "【请填写】属实 / 不属实 / 有合理解释 / 核查中（下拉选择）。不属实、有合理解释的疑点在证据不变时不再列出",
    "追回金额": "【请填写】已追回或将追回的金额（元）",
    "核查人": "【请填写】核查人姓名",
    "核查日期": "【请填写】核查日期，如 2026-12-01",
    "核查说明": "【请填写】核查情况说明",
}

#: Notes below the column list of the legend sheet.
LEGEND_NOTES: tuple[tuple[str, str], ...] = (
    (
        "风险分值",
        "score = 100 × 权重 × 匹配概率 × min(1, A(金额))，A(a) = (1 + log10(1 + a/1000)) / "
        "(1 + log10(101))：A(0) = 0.333，A(1,000) = 0.433，A(10,000) = 0.679，A(100,000) = 1",
    ),
    ("估算与精确", _FLAG_HELP["金额性质"]),
    (
        "填写核查结果",
        "在黄色表头的列中填写，保存后用 relief-match review import 导入；可删除或重排行，"
        "不要修改疑点编号。也接受英文代码 confirmed、false_positive、explained、in_progress",
    ),
)


def legend_rows(columns: tuple[Column, ...], as_of: str | None) -> list[tuple[str, str]]:
    """The legend sheet's rows: every column with its meaning, then the notes."""
    rows = [("本清单数据日期", as_of)] if as_of else []
    rows += [(c.zh, _FLAG_HELP.get(c.zh, "")) for c in columns]
    return [*rows, ("", ""), *LEGEND_NOTES]
