"""The 17 extracts of the data contract (section 2), as the generator writes them.

This is the generator's own copy of the *outside* contract (English and
Chinese header names, column types), deliberately independent of the
project's ``schemas/`` so that the synthetic city tests the reader rather
than mirroring it.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Col:
    """One column: English name, Chinese header, contract type, enum values."""

    name: str
    zh: str
    type: str  # str id_no name sex enum district date month money wan int float credit
    values: tuple[str, ...] = ()
    nullable: bool = False


@dataclass(frozen=True)
class Extract:
    """One extract: department folder, columns, person references (id col, name col, role)."""

    name: str
    department: str
    title_zh: str
    columns: tuple[Col, ...]
    refs: tuple[tuple[str, str | None, str], ...] = ()

    @property
    def col_names(self) -> list[str]:
        return [c.name for c in self.columns]

    def col(self, name: str) -> Col:
        return next(c for c in self.columns if c.name == name)


SEX = ("男", "女")
BENEFIT_TYPES = ("低保", "特困", "低保边缘")
HH_STATUS = ("在保", "停保", "退出")
RELATIONS = ("户主", "配偶", "子女", "父母", "孙子女", "兄弟姐妹", "其他")
REG_TYPES = ("结婚", "离婚")
HUKOU_STATUS = ("正常", "死亡", "迁出", "注销")
VEHICLE_TYPES = (
    "小型汽车",
    "中型客车",
    "大型货车",
    "轻型货车",
    "摩托车",
    "低速货车",
    "三轮汽车",
    "残疾人专用车",
)
USE_TYPES = ("非营运", "营运", "货运")
VEHICLE_STATUS = ("正常", "注销", "报废", "被盗抢")
INSURANCE_TYPES = ("职工养老", "职工医疗", "失业", "工伤", "城乡居民养老")
PENSION_TYPES = ("企业职工", "机关事业", "城乡居民")
EMPLOYER_TYPES = ("机关", "事业单位", "国有企业")
PF_STATUS = ("正常", "封存", "销户")
PROPERTY_USES = ("住宅", "商业", "办公", "工业", "车位", "宅基地")
PROPERTY_STATUS = ("现势", "注销")
ENT_STATUS = ("存续", "在业", "注销", "吊销")
HOLDER_TYPES = ("自然人", "法人")
IB_STATUS = ("存续", "注销", "吊销")


def _id(name: str, zh: str) -> Col:
    return Col(name, zh, "id_no", nullable=True)


def _nm(name: str, zh: str) -> Col:
    return Col(name, zh, "name", nullable=True)


EXTRACTS: tuple[Extract, ...] = (
    Extract(
        "recipients_households", "civil_affairs", "救助对象家庭",
        (
            Col("household_id", "家庭编号", "str"),
            Col("benefit_type", "救助类型", "enum", BENEFIT_TYPES),
            Col("district_code", "区县代码", "district"),
            Col("township", "镇街", "str"),
            Col("address", "家庭住址", "str"),
            Col("status", "保障状态", "enum", HH_STATUS),
            Col("start_date", "纳入日期", "date"),
            Col("end_date", "退出日期", "date", nullable=True),
            Col("monthly_amount", "月保障金额", "money"),
            Col("declared_monthly_income", "申报家庭月收入", "money"),
            Col("member_count", "家庭人口数", "int"),
        ),
    ),
    Extract(
        "recipients_members", "civil_affairs", "救助家庭成员",
        (
            Col("household_id", "家庭编号", "str"),
            _id("id_no", "身份证号"),
            _nm("name", "姓名"),
            Col("sex", "性别", "sex", SEX),
            Col("birth_date", "出生日期", "date"),
            Col("relation", "与户主关系", "enum", RELATIONS),
        ),
        (("id_no", "name", "member"),),
    ),
    Extract(
        "benefit_payments", "civil_affairs", "救助金发放记录",
        (
            Col("household_id", "家庭编号", "str"),
            Col("pay_month", "发放月份", "month"),
            Col("amount", "发放金额", "money"),
            _id("payee_id_no", "领取人身份证号"),
        ),
        (("payee_id_no", None, "payee"),),
    ),
    Extract(
        "marriage_registrations", "civil_affairs", "婚姻登记",
        (
            _id("party_a_id_no", "男方身份证号"),
            _nm("party_a_name", "男方姓名"),
            _id("party_b_id_no", "女方身份证号"),
            _nm("party_b_name", "女方姓名"),
            Col("reg_type", "登记类型", "enum", REG_TYPES),
            Col("reg_date", "登记日期", "date"),
        ),
        (("party_a_id_no", "party_a_name", "party_a"), ("party_b_id_no", "party_b_name", "party_b")),
    ),
    Extract(
        "hukou_registry", "public_security", "户籍人口",
        (
            _id("id_no", "身份证号"),
            _nm("name", "姓名"),
            Col("sex", "性别", "sex", SEX),
            Col("birth_date", "出生日期", "date"),
            Col("hukou_no", "户号", "str"),
            Col("address", "户籍地址", "str"),
            Col("district_code", "区县代码", "district"),
            Col("status", "户籍状态", "enum", HUKOU_STATUS),
            Col("status_date", "状态变更日期", "date", nullable=True),
        ),
        (("id_no", "name", "resident"),),
    ),
    Extract(
        "motor_vehicles", "public_security", "机动车登记",
        (
            Col("plate_no", "号牌号码", "str"),
            _id("owner_id_no", "所有人身份证号"),
            _nm("owner_name", "所有人姓名"),
            Col("vehicle_type", "车辆类型", "enum", VEHICLE_TYPES),
            Col("use_type", "使用性质", "enum", USE_TYPES),
            Col("registration_date", "初次登记日期", "date"),
            Col("status", "机动车状态", "enum", VEHICLE_STATUS),
        ),
        (("owner_id_no", "owner_name", "owner"),),
    ),
    Extract(
        "detentions", "public_security", "在押服刑人员",
        (
            _id("id_no", "身份证号"),
            _nm("name", "姓名"),
            Col("start_date", "入所日期", "date"),
            Col("end_date", "出所日期", "date", nullable=True),
            Col("facility", "羁押场所", "str"),
        ),
        (("id_no", "name", "detainee"),),
    ),
    Extract(
        "death_certificates", "health", "死亡医学证明",
        (
            Col("certificate_no", "证明编号", "str"),
            _id("id_no", "身份证号"),
            _nm("name", "姓名"),
            Col("sex", "性别", "sex", SEX),
            Col("birth_date", "出生日期", "date"),
            Col("death_date", "死亡日期", "date"),
            Col("district_code", "区县代码", "district"),
        ),
        (("id_no", "name", "deceased"),),
    ),
    Extract(
        "social_insurance", "human_resources", "社保缴费",
        (
            _id("id_no", "身份证号"),
            _nm("name", "姓名"),
            Col("employer_name", "单位名称", "str"),
            Col("employer_credit_code", "单位信用代码", "credit"),
            Col("insurance_type", "险种", "enum", INSURANCE_TYPES),
            Col("contribution_month", "缴费月份", "month"),
            Col("wage_base", "缴费基数", "money"),
        ),
        (("id_no", "name", "insured"),),
    ),
    Extract(
        "pension_payments", "human_resources", "养老金发放",
        (
            _id("id_no", "身份证号"),
            _nm("name", "姓名"),
            Col("pension_type", "养老金类型", "enum", PENSION_TYPES),
            Col("pay_month", "发放月份", "month"),
            Col("amount", "发放金额", "money"),
        ),
        (("id_no", "name", "pensioner"),),
    ),
    Extract(
        "unemployment_benefits", "human_resources", "失业保险金",
        (
            _id("id_no", "身份证号"),
            _nm("name", "姓名"),
            Col("start_month", "起始月份", "month"),
            Col("end_month", "终止月份", "month"),
            Col("monthly_amount", "月发放金额", "money"),
        ),
        (("id_no", "name", "beneficiary"),),
    ),
    Extract(
        "public_employees", "human_resources", "机关事业单位人员",
        (
            _id("id_no", "身份证号"),
            _nm("name", "姓名"),
            Col("employer_name", "单位名称", "str"),
            Col("employer_type", "单位类型", "enum", EMPLOYER_TYPES),
            Col("start_date", "入职日期", "date"),
            Col("end_date", "离职日期", "date", nullable=True),
        ),
        (("id_no", "name", "employee"),),
    ),
    Extract(
        "provident_fund_accounts", "housing_fund", "住房公积金账户",
        (
            Col("account_no", "账号", "str"),
            _id("id_no", "身份证号"),
            _nm("name", "姓名"),
            Col("employer_name", "单位名称", "str"),
            Col("status", "账户状态", "enum", PF_STATUS),
            Col("monthly_deposit", "月缴存额", "money"),
            Col("last_deposit_month", "最后缴存月份", "month"),
            Col("balance", "余额", "money"),
        ),
        (("id_no", "name", "account_holder"),),
    ),
    Extract(
        "real_estate", "natural_resources", "不动产登记",
        (
            Col("certificate_no", "不动产权证号", "str"),
            _id("owner_id_no", "权利人身份证号"),
            _nm("owner_name", "权利人姓名"),
            Col("property_use", "用途", "enum", PROPERTY_USES),
            Col("area_m2", "面积", "float"),
            Col("location", "坐落", "str"),
            Col("district_code", "区县代码", "district"),
            Col("registration_date", "登记日期", "date"),
            Col("status", "权利状态", "enum", PROPERTY_STATUS),
            Col("share", "共有份额", "float"),
        ),
        (("owner_id_no", "owner_name", "owner"),),
    ),
    Extract(
        "enterprises", "market_regulation", "企业登记",
        (
            Col("credit_code", "统一社会信用代码", "credit"),
            Col("enterprise_name", "企业名称", "str"),
            Col("enterprise_type", "企业类型", "str"),
            _nm("legal_rep_name", "法定代表人"),
            _id("legal_rep_id_no", "法定代表人身份证号"),
            Col("registered_capital", "注册资本(万元)", "wan"),
            Col("established_date", "成立日期", "date"),
            Col("status", "登记状态", "enum", ENT_STATUS),
            Col("deregistered_date", "注销日期", "date", nullable=True),
        ),
        (("legal_rep_id_no", "legal_rep_name", "legal_rep"),),
    ),
    Extract(
        "shareholders", "market_regulation", "股东及出资",
        (
            Col("credit_code", "统一社会信用代码", "credit"),
            _nm("holder_name", "股东名称"),
            _id("holder_id_no", "股东证件号"),
            Col("holder_type", "股东类型", "enum", HOLDER_TYPES),
            Col("subscribed_capital", "认缴出资(万元)", "wan"),
        ),
        (("holder_id_no", "holder_name", "shareholder"),),
    ),
    Extract(
        "individual_businesses", "market_regulation", "个体工商户",
        (
            Col("credit_code", "统一社会信用代码", "credit"),
            Col("business_name", "字号名称", "str"),
            _nm("operator_name", "经营者姓名"),
            _id("operator_id_no", "经营者身份证号"),
            Col("industry", "行业", "str"),
            Col("established_date", "成立日期", "date"),
            Col("status", "登记状态", "enum", IB_STATUS),
        ),
        (("operator_id_no", "operator_name", "operator"),),
    ),
)  # fmt: skip

BY_NAME: dict[str, Extract] = {e.name: e for e in EXTRACTS}

# Money-like totals column used by a 合计 row, per extract (None: a row count goes in col 2).
TOTALS_COLUMN: dict[str, str | None] = {
    "recipients_households": "monthly_amount",
    "benefit_payments": "amount",
    "social_insurance": "wage_base",
    "pension_payments": "amount",
    "unemployment_benefits": "monthly_amount",
    "provident_fund_accounts": "balance",
    "real_estate": "area_m2",
    "enterprises": "registered_capital",
    "shareholders": "subscribed_capital",
}

EXTRA_COLUMNS = ("备注", "remark", "数据来源", "更新时间", "经办人")
