"""What the simulated source systems write: one declaration per dialect of a source's monthly export.

A dialect is a file format (CSV encoding and line ends, or an XLSX/XLS sheet), a header per column and
the codes and values the system uses. Every dialect is written from the same clean canonical records
(`sources.generate_clean`); `translate.py` turns those records into a dialect's columns with the tables
below (summarised in docs/sample-data.md, "Dialects"). `native` is the format the generator has always
written; the other dialects are the formats of real systems.

These declarations describe the simulated world only: the pipeline keeps its own vocabulary of what it
accepts, so nothing here is read by it.
"""

from __future__ import annotations

from dataclasses import dataclass

MIXED = "mixed"  # not a dialect: each source-month takes one of its source's dialects, chosen from the seed
NATIVE = "native"


@dataclass(frozen=True)
class Column:
    header: str
    name: str | None = None  # the canonical column the cells carry; None: a column of the system's own
    kind: str = "text"  # text | datetime | date | int | float: what the cell holds

    @property
    def key(self) -> str:
        """How the generator refers to the column: its canonical name, else its header."""
        return self.name or self.header


@dataclass(frozen=True)
class Dialect:
    name: str
    source: str
    label_zh: str  # what the system calls the export (XLSX title property, title row)
    extension: str  # csv | xlsx | xls
    id_column: str  # canonical names
    time_column: str
    columns: tuple[Column, ...]
    encoding: str | None = None  # CSV only
    line_end: str = "\n"  # CSV only
    sheet: str = "Sheet1"  # spreadsheets only
    title: str | None = None  # a merged row above the header; {year} and {month} are the export's month
    # How timestamps are written: (share, format); "cell" = a date/datetime cell, "serial" = an Excel
    # serial number, anything else a strftime format for text.
    time_formats: tuple[tuple[float, str], ...] = ((1.0, "cell"),)
    # The district column copies the recorded district text, so old names, typos and 江北新区 labels
    # can drift into it. Dialects that write the true district (or none) carry no such drift.
    district_drift: bool = False
    carried: tuple[str, ...] = ()  # helper values the translation leaves for after the defects are planted

    @property
    def title_rows(self) -> int:
        return 1 if self.title else 0

    @property
    def headers(self) -> list[str]:
        return [c.header for c in self.columns]

    def column(self, key: str) -> Column:
        return next(c for c in self.columns if c.key == key)


# ------------------------------------------------------------------------------------------ native
NATIVE_POLICE = Dialect(
    name=NATIVE, source="police", label_zh="110接处警", extension="csv", encoding="gbk", line_end="\r\n",
    id_column="case_id", time_column="receive_time", district_drift=True,
    # Police exports come from a Windows client (GBK, CRLF).
    time_formats=((0.85, "%Y-%m-%d %H:%M:%S"), (0.15, "%Y/%-m/%-d %-H:%M")),
    columns=(
        Column("接警单号", "case_id"),
        Column("报警时间", "report_time", "datetime"),
        Column("接警时间", "receive_time", "datetime"),
        Column("报警方式", "report_channel"),
        Column("报警电话", "caller_phone"),
        Column("报警人姓名", "caller_name"),
        Column("事发地址", "incident_address"),
        Column("经度", "longitude", "float"),
        Column("纬度", "latitude", "float"),
        Column("警情类别", "category"),
        Column("警情细类", "subcategory"),
        Column("警情简要", "summary"),
        Column("是否有效警情", "is_valid"),
        Column("接警单位", "receiving_unit"),
        Column("处警单位", "handling_unit"),
        Column("派警时间", "dispatch_time", "datetime"),
        Column("到达现场时间", "arrival_time", "datetime"),
        Column("处警结果", "outcome"),
        Column("反馈类别", "feedback_category"),
        Column("所属区", "district"),
        Column("所属街道", "street"),
    ),
)

NATIVE_HOTLINE = Dialect(
    name=NATIVE, source="hotline", label_zh="12345热线工单", extension="csv", encoding="utf-8-sig",
    id_column="order_id", time_column="accepted_time", district_drift=True,
    time_formats=((0.50, "%Y-%m-%d %H:%M:%S"), (0.25, "%Y-%m-%d %H:%M:%S.0"), (0.15, "%Y/%-m/%-d %-H:%M"),
                  (0.10, "serial")),
    columns=(
        Column("工单编号", "order_id"),
        Column("受理时间", "accepted_time", "datetime"),
        Column("诉求渠道", "channel"),
        Column("诉求类型", "request_type"),
        Column("一级分类", "category_l1"),
        Column("二级分类", "category_l2"),
        Column("三级分类", "category_l3"),
        Column("标题", "title"),
        Column("诉求内容", "content"),
        Column("来电号码", "caller_phone"),
        Column("联系电话", "contact_phone"),
        Column("诉求人姓名", "requester_name"),
        Column("身份证号", "id_number"),
        Column("事发地址", "incident_address"),
        Column("所属区", "district"),
        Column("所属街道", "street"),
        Column("承办单位", "handling_unit"),
        Column("派单时间", "dispatch_time", "datetime"),
        Column("办理时限", "due_time", "datetime"),
        Column("办结时间", "closed_time", "datetime"),
        Column("办理状态", "status"),
        Column("是否按时办结", "on_time"),
        Column("办理结果", "result"),
        Column("回访方式", "callback_method"),
        Column("满意度", "satisfaction"),
        Column("是否重复诉求", "is_repeat"),
        Column("关联工单号", "related_order_id"),
    ),
)

NATIVE_DISPUTES = Dialect(
    name=NATIVE, source="disputes", label_zh="矛盾纠纷调解", extension="xlsx",
    title="南京市矛盾纠纷调解台账（{year}年{month}月）",
    id_column="dispute_id", time_column="registered_date", district_drift=True,
    time_formats=((0.80, "cell"), (0.10, "%Y/%-m/%-d"), (0.10, "serial")),
    columns=(
        Column("纠纷编号", "dispute_id"),
        Column("登记日期", "registered_date", "date"),
        Column("来源", "origin"),
        Column("纠纷类型", "dispute_type"),
        Column("风险等级", "risk_level"),
        Column("涉及人数", "people_involved", "int"),
        Column("涉及金额(元)", "amount_yuan", "float"),
        Column("所属区", "district"),
        Column("所属街道", "street"),
        Column("社区", "community"),
        Column("网格", "grid"),
        Column("调解组织", "mediation_org"),
        Column("调解员", "mediator"),
        Column("当事人姓名", "party_name"),
        Column("当事人身份证号", "party_id_number"),
        Column("当事人电话", "party_phone"),
        Column("当事人住址", "party_address"),
        Column("受理日期", "accepted_date", "date"),
        Column("办结日期", "closed_date", "date"),
        Column("调解结果", "result"),
        Column("协议形式", "agreement_form"),
        Column("履行情况", "fulfilment"),
        Column("回访满意度", "satisfaction"),
        Column("纠纷简要", "summary"),
    ),
)

NATIVE_SURVEY = Dialect(
    name=NATIVE, source="survey", label_zh="群众安全感调查", extension="xlsx",
    id_column="sample_id", time_column="interview_date", district_drift=True,
    time_formats=((0.90, "cell"), (0.10, "%Y-%m-%d")),
    columns=(
        Column("样本编号", "sample_id"),
        Column("调查批次", "wave"),
        Column("访问日期", "interview_date", "date"),
        Column("电话号码", "phone"),
        Column("号码类型", "phone_type"),
        Column("所属区", "district"),
        Column("所属街道", "street"),
        Column("城乡", "urban_rural"),
        Column("性别", "sex"),
        Column("年龄段", "age_group"),
        Column("本地居住满一年", "resident_1y"),
        Column("安全感评价", "q_safety"),
        Column("治安比去年", "q_trend"),
        Column("身边突出治安问题", "q_problems"),
        Column("政法工作满意度", "q_satisfaction"),
        Column("访问结果", "outcome"),
        Column("访员编号", "interviewer"),
        Column("访问时长(秒)", "duration_s", "int"),
    ),
)

# ------------------------------------------------------------------------------------- police: jcj
JCJ = Dialect(
    name="jcj", source="police", label_zh="警情列表", extension="xlsx", sheet="警情数据", title="警情列表",
    id_column="case_id", time_column="receive_time",
    columns=(
        Column("警情编号", "case_id"),
        Column("报警时间", "report_time", "datetime"),
        Column("接警时间", "receive_time", "datetime"),
        Column("报警方式", "report_channel"),
        Column("报警人", "caller_name"),
        Column("报警电话", "caller_phone"),
        Column("所属分局"),
        Column("管辖单位", "handling_unit"),
        Column("警情地址", "incident_address"),
        Column("报警内容", "summary"),
        Column("处警情况", "outcome"),
        Column("接警报警类别", "category"),
        Column("接警报警类型"),
        Column("接警报警细类", "subcategory"),
        Column("接警报警子类"),
        Column("反馈报警类别", "feedback_category"),
        Column("反馈报警类型"),
        Column("反馈报警细类"),
        Column("反馈报警子类"),
        Column("派警时间", "dispatch_time", "datetime"),
        Column("到达现场时间", "arrival_time", "datetime"),
        Column("是否无效警情", "is_valid"),  # inverted: 1 = invalid
        Column("经度", "longitude", "float"),
        Column("纬度", "latitude", "float"),
    ),
)
JCJ_CATEGORY = {
    "刑事": "刑事类警情", "治安": "行政（治安）类警情", "交通事故": "道路交通类警情", "火灾": "火灾事故",
    "治安灾害事故": "灾害事故", "群众求助": "群众紧急求助", "纠纷": "纠纷", "举报投诉": "举报", "其他": "其他警情",
    "无效警情": "其他警情",
}
# Level 2 (接警报警类型): the system's own coarse groups, by canonical subcategory; the pipeline ignores it.
JCJ_GROUP = {
    "电信诈骗": "侵犯财产", "盗窃": "侵犯财产", "抢劫抢夺": "侵犯财产", "伤害": "侵犯人身", "其他刑事": "其他刑事",
    "殴打他人": "侵犯人身", "寻衅滋事": "扰乱秩序", "赌博": "扰乱秩序", "扰乱秩序": "扰乱秩序", "其他治安": "扰乱秩序",
    "邻里纠纷": "纠纷", "家庭纠纷": "纠纷", "经济纠纷": "纠纷",
    "财产损失事故": "交通事故", "伤人事故": "交通事故", "亡人事故": "交通事故",
    "建筑火灾": "火灾", "车辆火灾": "火灾", "其他火灾": "火灾",
    "走失寻人": "求助", "开锁求助": "求助", "其他求助": "求助",
    "举报": "举报", "投诉": "举报", "咨询": "其他", "其他": "其他",
    "骚扰电话": "其他", "误拨": "其他", "重复报警": "其他", "无声电话": "其他",
}
# Level 3 (接警报警细类) is the canonical subcategory except these; unlisted values pass unchanged.
JCJ_SUBCATEGORY_RENAMED = {"电信诈骗": "电信网络诈骗", "骚扰电话": "骚扰110"}
JCJ_INVALID_FLAG = {"否": "1", "是": "0"}  # 是否无效警情 from canonical is_valid
POLICE_BRANCH = "南京市公安局{short}分局"
JIANGBEI_BRANCH = "南京市公安局江北新区分局"  # 江北新区 streets answer to the new-area branch
POLICE_STATION = "{street}派出所"  # the street's name without its 街道/镇 suffix
STREET_SUFFIXES = ("街道", "镇")

# ------------------------------------------------------------------------------------ police: dump
DUMP = Dialect(
    name="dump", source="police", label_zh="接警单", extension="csv", encoding="utf-8", line_end="\n",
    id_column="case_id", time_column="receive_time", time_formats=((1.0, "%Y%m%d%H%M%S"),),
    columns=(
        Column("JJDBH", "case_id"),
        Column("BJSJ", "report_time", "datetime"),
        Column("JJSJ", "receive_time", "datetime"),
        Column("BJFSDM", "report_channel"),
        Column("BJDH", "caller_phone"),
        Column("BJRMC", "caller_name"),
        Column("LXDH"),  # a contact phone: the caller's for half the rows, blank otherwise
        Column("JQDZ", "incident_address"),
        Column("BJNR", "summary"),
        Column("XZQHDM", "district"),  # a code: the city's for most rows, else the true district's
        Column("GXDWDM", "street"),  # the true street's 12-digit code
        Column("GXDWMC", "handling_unit"),
        Column("JQLBDM", "category"),  # the final classification (canonical feedback_category)
        Column("JQLXDM"),
        Column("JQXLDM", "subcategory"),
        Column("JQZLDM"),
        Column("WXBS", "is_valid"),  # inverted: 1 = invalid
        Column("PJSJ", "dispatch_time", "datetime"),
        Column("DDXCSJ", "arrival_time", "datetime"),
        Column("JQCLJGDM", "outcome"),
        Column("JD", "longitude", "float"),
        Column("WD", "latitude", "float"),
    ),
)
DUMP_ID_PREFIX = "320100"  # replaces the leading J of the canonical case id
DUMP_CITY_CODE = "320100"  # XZQHDM of calls taken by the city 110 centre
DUMP_CITY_CODE_SHARE = 0.70
DUMP_CONTACT_PHONE_SHARE = 0.50
DUMP_ANONYMOUS = "匿名"
DUMP_CHANNEL_CODE = {"电话": "01", "短信": "02", "视频": "03", "一键报警": "04", "网上": "05"}
DUMP_CATEGORY_CODE = {
    "刑事": "010000", "治安": "020000", "交通事故": "030000", "火灾": "040000", "治安灾害事故": "050000",
    "群众求助": "060000", "纠纷": "070000", "举报投诉": "080000", "其他": "990000", "无效警情": "990000",
}
DUMP_SUBCATEGORY_CODE = {
    "电信诈骗": "01010001", "盗窃": "01010002", "伤害": "01010003", "抢劫抢夺": "01010004", "其他刑事": "01019999",
    "殴打他人": "02010001", "寻衅滋事": "02010002", "赌博": "02010003", "扰乱秩序": "02010004", "其他治安": "02019999",
    "邻里纠纷": "07010001", "家庭纠纷": "07010002", "经济纠纷": "07010003",
    "财产损失事故": "03010001", "伤人事故": "03010002", "亡人事故": "03010003",
    "建筑火灾": "04010001", "车辆火灾": "04010002", "其他火灾": "04019999",
    "走失寻人": "06010001", "开锁求助": "06010002", "其他求助": "06019999",
    "举报": "08010001", "投诉": "08010002", "咨询": "99010001", "其他": "99019999",
    "骚扰电话": "99020001", "误拨": "99020002", "重复报警": "99020003", "无声电话": "99020004",
}
DUMP_INVALID_FLAG = {"否": "1", "是": "0"}  # WXBS from canonical is_valid
DUMP_OUTCOME_CODE = {"现场调解": "01", "移交": "02", "立案": "03", "不属实": "04", "现场处置": "05"}

# ---------------------------------------------------------------------------------- hotline: jiesu
JIESU = Dialect(
    name="jiesu", source="hotline", label_zh="12345诉求表", extension="xls", sheet="工单明细",
    id_column="order_id", time_column="accepted_time", district_drift=True, carried=("_district_prefix",),
    columns=(
        Column("工单编号", "order_id"),
        Column("受理时间", "accepted_time", "datetime"),
        Column("来源渠道", "channel"),
        Column("诉求类型", "request_type"),
        Column("诉求标题", "title"),
        Column("市民诉求", "content"),
        Column("诉求人姓名", "requester_name"),
        Column("诉求人手机号", "caller_phone"),
        Column("身份证号", "id_number"),
        Column("事发地点", "incident_address"),
        Column("所属区域", "district"),
        Column("街道", "street"),
        Column("接诉分类一级", "category_l1"),
        Column("接诉分类二级", "category_l2"),
        Column("接诉分类三级", "category_l3"),
        Column("处理部门", "handling_unit"),
        Column("派单时间", "dispatch_time", "datetime"),
        Column("承诺时间", "due_time", "datetime"),
        Column("提交办结时间", "closed_time", "datetime"),
        Column("工单状态", "status"),
        Column("是否超期", "on_time"),  # inverted: 是 = late
        Column("回访结果", "satisfaction"),
        Column("重复次数", "is_repeat", "int"),
    ),
)
JIESU_ORDER_SEQUENCE_DIGITS = 8  # yyyymmdd + 8 digits
JIESU_REQUEST_TYPE = {"咨询": "咨询类", "求助": "求助类", "投诉": "投诉举报类", "举报": "投诉举报类", "建议": "建议类",
                      "表扬": "感谢类", "其他": "其他类"}
# (share, prefix) of 所属区域; the prefix goes only before a district name (ending 区 or 县).
JIESU_DISTRICT_PREFIXES = ((0.40, "江苏省南京市"), (0.30, "南京市"), (0.30, ""))
# 接诉分类 levels are numbered `N.名称` by position in these lists (order of first appearance in
# world.HOTLINE_MATTERS).
JIESU_CATEGORY_L1 = ("社会保障", "交通运输", "城乡建设", "公用事业", "劳动保障", "教育", "医疗卫生", "市场监管",
                     "住房保障", "公共安全", "环境保护", "其他")
JIESU_CATEGORY_L2 = ("社会保险", "车管交警", "市容环境", "物业管理", "供水", "供电", "劳动关系", "学校管理", "医疗服务",
                     "消费维权", "房屋租赁", "社会治安", "消防安全", "燃气安全", "交通安全", "噪音扰民", "其他")
JIESU_CATEGORY_L3 = ("社保缴费", "违章处理", "占道经营", "维修基金", "停水", "水管冻裂", "停电", "欠薪", "招生入学",
                     "挂号就诊", "预付卡", "租赁纠纷", "治安隐患", "消防通道堵塞", "燃气泄漏", "交通设施损坏", "夜间施工",
                     "烧烤摊广场舞", "其他")
JIESU_STATUS = {"已办结": "已办结", "已回访": "已办结", "办理中": "办理中", "退单": "已退单", "重办": "办理中",
                "待派": "待签收", "延期": "办理中"}
JIESU_OVERDUE = {"是": "否", "否": "是"}  # 是否超期 from canonical on_time
JIESU_REPEATS = {"是": 1, "否": 0}  # 重复次数 from canonical is_repeat

# -------------------------------------------------------------------------------- disputes: justice
JUSTICE = Dialect(
    name="justice", source="disputes", label_zh="人民调解案件", extension="xlsx", sheet="人民调解案件",
    id_column="dispute_id", time_column="registered_date",
    columns=(
        Column("案件编码", "dispute_id"),
        Column("案号"),
        Column("调委会名称", "mediation_org"),
        Column("所属区域", "district"),  # the true district, for 60% of rows
        Column("调解员", "mediator"),
        Column("受理日期", "registered_date", "date"),
        Column("案件来源", "origin"),
        Column("纠纷类别", "dispute_type"),
        Column("案件难度级别", "risk_level"),
        Column("纠纷简要情况", "summary"),
        Column("涉及人数", "people_involved", "int"),
        Column("涉案金额", "amount_yuan", "float"),
        Column("调解日期", "closed_date", "date"),
        Column("调解结果", "result"),
        Column("协议形式", "agreement_form"),
        Column("协议履行情况", "fulfilment"),
        Column("是否满意", "satisfaction"),
        Column("当事人姓名", "party_name"),
        Column("当事人证件号码", "party_id_number"),
        Column("当事人联系电话", "party_phone"),
    ),
)
JUSTICE_CASE_NUMBER = "（{year}）{short}调字第{seq:04d}号"  # seq: within the district and the month
JUSTICE_COMMITTEE = "{street}人民调解委员会"
JUSTICE_DISTRICT = "南京市{name}"
JUSTICE_DISTRICT_SHARE = 0.60  # the rest leave 所属区域 blank
JUSTICE_ORIGIN = {"网格排查": "主动", "当事人申请": "依申请", "110公调对接": "公安机关委托移送",
                  "12345转办": "其他部门委托移送", "法院委派": "法院委托移送", "信访": "信访部门委托移送"}
JUSTICE_TYPE = {
    "邻里纠纷": "邻里纠纷", "婚姻家庭纠纷": "婚姻家庭纠纷", "物业纠纷": "物业纠纷", "劳动争议": "劳动争议纠纷",
    "损害赔偿纠纷": "损害赔偿纠纷", "合同纠纷": "合同纠纷", "消费纠纷": "消费纠纷", "房屋宅基地纠纷": "房屋宅基地纠纷",
    "交通事故纠纷": "道路交通事故纠纷", "医疗纠纷": "医疗纠纷", "其他纠纷": "其他纠纷",
}
JUSTICE_DIFFICULTY = {"红": "重大", "橙": "较大", "黄": "一般"}
JUSTICE_RESULT = {"调解成功": "调解成功", "在调": "调解中"}
JUSTICE_RESULT_OTHERWISE = "调解不成功"  # every other canonical result
JUSTICE_AGREEMENT = {"书面": "书面协议", "口头": "口头协议"}
JUSTICE_SATISFIED = {"满意": "是", "不满意": "否"}

# ----------------------------------------------------------------------------------- disputes: grid
GRID = Dialect(
    name="grid", source="disputes", label_zh="矛盾纠纷排查化解", extension="xlsx", sheet="矛盾纠纷",
    id_column="dispute_id", time_column="registered_date", district_drift=True,
    time_formats=((1.0, "%Y-%m-%d %H:%M:%S"),),
    columns=(
        Column("事件编号", "dispute_id"),
        Column("登记时间", "registered_date", "datetime"),
        Column("事件来源", "origin"),
        Column("矛盾纠纷类型", "dispute_type"),
        Column("风险等级", "risk_level"),
        Column("涉及人数", "people_involved", "int"),
        Column("涉及金额", "amount_yuan", "float"),
        Column("所属区县", "district"),
        Column("所属街道", "street"),
        Column("所属社区", "community"),
        Column("所属网格", "grid"),
        Column("化解组织", "mediation_org"),
        Column("化解人员", "mediator"),
        Column("当事人", "party_name"),
        Column("当事人身份证", "party_id_number"),
        Column("当事人电话", "party_phone"),
        Column("当事人地址", "party_address"),
        Column("受理时间", "accepted_date", "datetime"),
        Column("办结时间", "closed_date", "datetime"),
        Column("化解结果", "result"),
        Column("简要情况", "summary"),
        # The platform's own bookkeeping, which the pipeline ignores.
        Column("事件状态"),
        Column("事件标题"),
        Column("事件分类"),
        Column("事件层级"),
        Column("上报人"),
        Column("上报方式"),
        Column("是否重点"),
        Column("是否群体性事件"),
        Column("是否涉稳"),
        Column("化解方式"),
        Column("办理时限", kind="datetime"),
        Column("是否超期"),
        Column("督办级别"),
        Column("流转次数", kind="int"),
        Column("备注"),
    ),
)
GRID_RISK = {"红": "红色", "橙": "橙色", "黄": "黄色"}
GRID_BLUE = "蓝色"
GRID_BLUE_SHARE = 0.20  # of the 黄 rows
GRID_RESULT = {"调解成功": "化解成功", "在调": "化解中"}
GRID_RESULT_OTHERWISE = "化解失败"
GRID_DEADLINE_DAYS = 30
GRID_REPORTED_BY_APP_SHARE = 0.80

# ------------------------------------------------------------------------------------- survey: cati
CATI = Dialect(
    name="cati", source="survey", label_zh="通话记录", extension="xlsx", sheet="通话记录",
    id_column="sample_id", time_column="interview_date", district_drift=True,
    time_formats=((1.0, "%Y-%m-%d %H:%M:%S"),),
    columns=(
        Column("序号", "sample_id"),
        Column("批次", "wave"),
        Column("拨打时间", "interview_date", "datetime"),
        Column("电话号码", "phone"),
        Column("接通状态", "outcome"),
        Column("所属区", "district"),
        Column("街道", "street"),
        Column("Q2.请问您在本地居住满一年了吗?", "resident_1y"),
        Column("B.城镇/农村", "urban_rural"),
        Column("Q3.请问您的年龄是?", "age_group"),
        Column("性别", "sex"),
        Column("Q7.请问在目前的社会治安环境下,您感觉安全吗?", "q_safety"),
        Column("Q9.您觉得本地社会治安与去年相比?", "q_trend"),
        Column("Q8.您身边突出的治安问题是?", "q_problems"),
        Column("Q10.您对政法队伍的工作满意吗?", "q_satisfaction"),
        Column("访员", "interviewer"),
        Column("通话时长", "duration_s", "int"),
    ),
)
CATI_SECOND_CALL = "-二次"  # appended to 批次 of a repeated attempt
CATI_SECOND_CALL_SHARE = 0.30  # of the non-completes
CATI_CALL_HOURS = (9, 21)  # calls from 09:00 to 20:59
CATI_BARE_LANDLINE_SHARE = 0.60  # of the 025-xxxxxxxx landlines, written as the 8 digits alone
CATI_OUTCOME = {"完成": "已接听", "拒访": "拒接", "空号": "空号", "停机": "停机", "关机": "关机", "无人接听": "无人接听",
                "接通后挂断": "接通后挂断", "限制呼入": "限制呼入", "信息有误": "信息有误"}
CATI_RESIDENT = {"是": "有"}
CATI_URBAN_RURAL = {"城镇": "城镇", "乡村": "农村"}
CATI_AGE = {"16-25": "16-25岁", "26-30": "26-30岁", "31-40": "31-40岁", "41-50": "41-50岁", "51-60": "51-60岁",
            "61-70": "61-70岁", "71+": "71岁以上"}
# Odd months ask Q7 on the 4-point scale as recorded; even months on a 5-point scale.
CATI_SAFETY_FIVE_POINT = {"安全": "很安全", "比较安全": "安全", "不太安全": "不太安全", "不安全": "很不安全"}
CATI_TREND = {"好转": "有好转", "一样": "和以前一样", "变差": "比以前差"}

# ---------------------------------------------------------------------------------------- registry
DIALECTS: dict[str, Dialect] = {d.name: d for d in (JCJ, DUMP, JIESU, JUSTICE, GRID, CATI)}
NATIVES: dict[str, Dialect] = {d.source: d for d in (NATIVE_POLICE, NATIVE_HOTLINE, NATIVE_DISPUTES, NATIVE_SURVEY)}
EXTENSIONS = ("csv", "xlsx", "xls")
DIALECT_NAMES = (*DIALECTS, NATIVE)  # what --dialect accepts, besides MIXED


def dialects_of(source: str) -> tuple[Dialect, ...]:
    """Every dialect a source's system writes, native first."""
    return (NATIVES[source], *(d for d in DIALECTS.values() if d.source == source))


def dialect_named(source: str, name: str) -> Dialect:
    """The source's dialect of that name (`native` names each source's own)."""
    return NATIVES[source] if name == NATIVE else DIALECTS[name]
