"""What each source system's export looks like: file format, encoding and column headers.

One declaration per source, shared by the sample generator (which writes the first header of each
column) and the extractor (which accepts every listed variant). Canonical names are snake_case.
Columns marked `pii` hold personal data that must be masked at the boundary; `free_text` columns
can carry personal data inside prose and are scrubbed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

SOURCES = ("hotline", "police", "disputes", "survey")


@dataclass(frozen=True)
class Column:
    name: str
    headers: tuple[str, ...]  # first = what our sample generator writes; the rest are variants seen in exports
    required: bool = True
    pii: str | None = None  # phone | id_number | name | address
    free_text: bool = False
    kind: str = "text"  # text | datetime | date | int | float


@dataclass(frozen=True)
class ExportSpec:
    source: str
    label_zh: str
    extension: str  # csv | xlsx
    encoding: str | None  # for CSV as written by the source system
    title_rows: int  # rows above the header (merged title) in the delivered file
    id_column: str
    time_column: str
    columns: tuple[Column, ...] = field(default_factory=tuple)

    @property
    def header_map(self) -> dict[str, str]:
        return {h: c.name for c in self.columns for h in c.headers}

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)


def _c(name: str, *headers: str, **kw) -> Column:
    return Column(name, tuple(headers), **kw)


POLICE = ExportSpec(
    source="police",
    label_zh="110接处警",
    extension="csv",
    encoding="gbk",
    title_rows=0,
    id_column="case_id",
    time_column="receive_time",
    columns=(
        _c("case_id", "接警单号", "警情编号"),
        _c("report_time", "报警时间", kind="datetime"),
        _c("receive_time", "接警时间", kind="datetime"),
        _c("report_channel", "报警方式"),
        _c("caller_phone", "报警电话", "报警人电话", pii="phone", required=False),
        _c("caller_name", "报警人姓名", "报警人", pii="name", required=False),
        _c("incident_address", "事发地址", "发案地址", pii="address", required=False),
        _c("longitude", "经度", kind="float", required=False),
        _c("latitude", "纬度", kind="float", required=False),
        _c("category", "警情类别", "警情类别一级", "一级类别"),
        _c("subcategory", "警情细类", "警情类别二级", "二级类别", required=False),
        _c("summary", "警情简要", "简要警情", free_text=True, required=False),
        _c("is_valid", "是否有效警情", "有效警情"),
        _c("receiving_unit", "接警单位", required=False),
        _c("handling_unit", "处警单位", "管辖单位", required=False),
        _c("dispatch_time", "派警时间", kind="datetime", required=False),
        _c("arrival_time", "到达现场时间", "到场时间", kind="datetime", required=False),
        _c("outcome", "处警结果", required=False),
        _c("feedback_category", "反馈类别", "反馈警情类别", required=False),
        _c("district", "所属区", "所属区县", "行政区划"),
        _c("street", "所属街道", "街道", required=False),
    ),
)

HOTLINE = ExportSpec(
    source="hotline",
    label_zh="12345热线工单",
    extension="csv",
    encoding="utf-8-sig",
    title_rows=0,
    id_column="order_id",
    time_column="accepted_time",
    columns=(
        _c("order_id", "工单编号", "工单号"),
        _c("accepted_time", "受理时间", "来电时间", kind="datetime"),
        _c("channel", "诉求渠道", "来源渠道"),
        _c("request_type", "诉求类型"),
        _c("category_l1", "一级分类", "事项分类一级"),
        _c("category_l2", "二级分类", "事项分类二级", required=False),
        _c("category_l3", "三级分类", "事项分类三级", required=False),
        _c("title", "标题", "工单标题", free_text=True, required=False),
        _c("content", "诉求内容", "来电内容", free_text=True, required=False),
        _c("caller_phone", "来电号码", pii="phone", required=False),
        _c("contact_phone", "联系电话", pii="phone", required=False),
        _c("requester_name", "诉求人姓名", "来电人姓名", pii="name", required=False),
        _c("id_number", "身份证号", "证件号码", pii="id_number", required=False),
        _c("incident_address", "事发地址", pii="address", required=False),
        _c("district", "所属区", "所属区县"),
        _c("street", "所属街道", "街道", required=False),
        _c("handling_unit", "承办单位", required=False),
        _c("dispatch_time", "派单时间", kind="datetime", required=False),
        _c("due_time", "办理时限", kind="datetime", required=False),
        _c("closed_time", "办结时间", kind="datetime", required=False),
        _c("status", "办理状态"),
        _c("on_time", "是否按时办结", required=False),
        _c("result", "办理结果", free_text=True, required=False),
        _c("callback_method", "回访方式", required=False),
        _c("satisfaction", "满意度", "回访满意度", required=False),
        _c("is_repeat", "是否重复诉求", required=False),
        _c("related_order_id", "关联工单号", required=False),
    ),
)

DISPUTES = ExportSpec(
    source="disputes",
    label_zh="矛盾纠纷调解",
    extension="xlsx",
    encoding=None,
    title_rows=1,
    id_column="dispute_id",
    time_column="registered_date",
    columns=(
        _c("dispute_id", "纠纷编号"),
        _c("registered_date", "登记日期", "登记时间", kind="date"),
        _c("origin", "来源", "纠纷来源"),
        _c("dispute_type", "纠纷类型"),
        _c("risk_level", "风险等级"),
        _c("people_involved", "涉及人数", kind="int", required=False),
        _c("amount_yuan", "涉及金额(元)", "涉及金额", kind="float", required=False),
        _c("district", "所属区", "区"),
        _c("street", "所属街道", "街道", required=False),
        _c("community", "社区", required=False),
        _c("grid", "网格", required=False),
        _c("mediation_org", "调解组织", required=False),
        _c("mediator", "调解员", pii="name", required=False),
        _c("party_name", "当事人姓名", pii="name", required=False),
        _c("party_id_number", "当事人身份证号", pii="id_number", required=False),
        _c("party_phone", "当事人电话", pii="phone", required=False),
        _c("party_address", "当事人住址", pii="address", required=False),
        _c("accepted_date", "受理日期", kind="date", required=False),
        _c("closed_date", "办结日期", kind="date", required=False),
        _c("result", "调解结果"),
        _c("agreement_form", "协议形式", required=False),
        _c("fulfilment", "履行情况", required=False),
        _c("satisfaction", "回访满意度", required=False),
        _c("summary", "纠纷简要", "简要情况", free_text=True, required=False),
    ),
)

SURVEY = ExportSpec(
    source="survey",
    label_zh="群众安全感调查",
    extension="xlsx",
    encoding=None,
    title_rows=0,
    id_column="sample_id",
    time_column="interview_date",
    columns=(
        _c("sample_id", "样本编号"),
        _c("wave", "调查批次"),
        _c("interview_date", "访问日期", kind="date"),
        _c("phone", "电话号码", pii="phone", required=False),
        _c("phone_type", "号码类型", required=False),
        _c("district", "所属区", "区"),
        _c("street", "所属街道", "街道", required=False),
        _c("urban_rural", "城乡", required=False),
        _c("sex", "性别", required=False),
        _c("age_group", "年龄段", required=False),
        _c("resident_1y", "本地居住满一年", required=False),
        _c("q_safety", "安全感评价", "Q1安全感"),
        _c("q_trend", "治安比去年", required=False),
        _c("q_problems", "身边突出治安问题", required=False),
        _c("q_satisfaction", "政法工作满意度", "政法队伍满意度"),
        _c("outcome", "访问结果"),
        _c("interviewer", "访员编号", required=False),
        _c("duration_s", "访问时长(秒)", kind="int", required=False),
    ),
)

SPECS: dict[str, ExportSpec] = {s.source: s for s in (HOTLINE, POLICE, DISPUTES, SURVEY)}
