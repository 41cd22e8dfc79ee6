"""The synthetic city: volumes, per-district differences and category mixes (domain brief §2–§3).

Figures tagged [E] in the brief are estimates; they are kept together here so a reader can see the
whole synthetic world on one page, and tests can check the generated data against the same figures.
"""

from __future__ import annotations

# Per month for the whole city at --scale 1.0 (domain brief §2).
CITY_MONTHLY_VOLUME = {
    "police_valid": 330_000,
    "police_invalid_ratio": 0.75,  # invalid calls per valid incident in the export (0.5–1×)
    "hotline_accepted": 150_000,
    "hotline_dispatched_share": 35_000 / 150_000,
    "disputes": 15_000,
}
SURVEY_COMPLETES_PER_DISTRICT = 300  # a design choice of the survey, so --scale leaves it alone

# Per-capita volume multipliers by district (domain brief §2, "District mix").
POLICE_RATE = {
    "320102": 1.3, "320104": 1.3, "320106": 1.3,
    "320116": 0.8, "320117": 0.8, "320118": 0.8,
}
HOTLINE_RATE = {"320102": 1.15, "320104": 1.15, "320106": 1.15, "320116": 0.85, "320117": 0.85, "320118": 0.85}
DISPUTE_RATE = {"320116": 1.2, "320117": 1.2, "320118": 1.2}
# Labour disputes ×1.2 where migrant labour concentrates; land/neighbour disputes ×1.5 in the rural south/north.
LABOUR_DISPUTE_FACTOR = {"320115": 1.2, "320111": 1.2, "320113": 1.2}
RURAL_DISPUTE_FACTOR = {"320116": 1.5, "320117": 1.5, "320118": 1.5}

# Arrival minutes (接警→到达): log-normal medians by district kind (domain brief §3).
ARRIVAL_MEDIAN_MINUTES = {"urban_core": 6.5, "urban": 8.0, "suburban": 10.0, "rural": 15.0}
ARRIVAL_SIGMA = 0.45

# 110 valid incidents by first-level category (%), and 刑事 by second level.
POLICE_CATEGORIES = {
    "群众求助": 25.0, "交通事故": 15.0, "纠纷": 20.0, "治安": 12.0, "刑事": 3.0,
    "火灾": 0.5, "举报投诉": 1.0, "其他": 23.5,
}
POLICE_SUBCATEGORIES = {
    "刑事": {"电信诈骗": 45.0, "盗窃": 35.0, "伤害": 8.0, "抢劫抢夺": 1.0, "其他刑事": 11.0},
    "治安": {"殴打他人": 35.0, "寻衅滋事": 15.0, "赌博": 10.0, "扰乱秩序": 25.0, "其他治安": 15.0},
    "纠纷": {"邻里纠纷": 35.0, "家庭纠纷": 30.0, "经济纠纷": 35.0},
    "交通事故": {"财产损失事故": 85.0, "伤人事故": 14.0, "亡人事故": 1.0},
    "火灾": {"建筑火灾": 40.0, "车辆火灾": 20.0, "其他火灾": 40.0},
    "群众求助": {"走失寻人": 15.0, "开锁求助": 25.0, "其他求助": 60.0},
    "举报投诉": {"举报": 60.0, "投诉": 40.0},
    "其他": {"咨询": 50.0, "其他": 50.0},
}
POLICE_INVALID_KINDS = {"骚扰电话": 30.0, "误拨": 30.0, "重复报警": 25.0, "无声电话": 15.0}
POLICE_CHANNELS = {"电话": 88.0, "短信": 3.0, "视频": 1.0, "一键报警": 3.0, "网上": 5.0}
POLICE_OUTCOMES = {"现场调解": 35.0, "移交": 20.0, "立案": 10.0, "不属实": 5.0, "现场处置": 30.0}

# 12345 (domain brief §3).
HOTLINE_CHANNELS = {"电话": 70.0, "我的南京APP": 10.0, "微信": 8.0, "网站": 7.0, "短信": 2.0, "信件": 1.0, "省平台交办": 2.0}
HOTLINE_REQUEST_TYPES = {"咨询": 55.0, "求助": 24.0, "投诉": 11.0, "举报": 4.0, "建议": 1.6, "表扬": 0.4, "其他": 4.0}
# (一级, 二级, 三级, weight %, safety-related, summer factor, winter factor)
HOTLINE_MATTERS = (
    ("社会保障", "社会保险", "社保缴费", 11.0, False, 1.0, 1.0),
    ("交通运输", "车管交警", "违章处理", 9.0, False, 1.0, 1.0),
    ("城乡建设", "市容环境", "占道经营", 8.0, False, 1.2, 0.9),
    ("城乡建设", "物业管理", "维修基金", 9.0, False, 1.0, 1.0),
    ("公用事业", "供水", "停水", 6.0, False, 1.5, 1.3),
    ("公用事业", "供水", "水管冻裂", 0.5, False, 0.2, 6.0),
    ("公用事业", "供电", "停电", 4.0, False, 1.5, 1.0),
    ("劳动保障", "劳动关系", "欠薪", 4.0, False, 0.9, 1.5),
    ("教育", "学校管理", "招生入学", 4.0, False, 1.3, 0.8),
    ("医疗卫生", "医疗服务", "挂号就诊", 4.0, False, 1.0, 1.1),
    ("市场监管", "消费维权", "预付卡", 6.0, False, 1.0, 1.0),
    ("住房保障", "房屋租赁", "租赁纠纷", 4.5, False, 1.0, 1.0),
    ("公共安全", "社会治安", "治安隐患", 1.5, True, 1.1, 1.0),
    ("公共安全", "消防安全", "消防通道堵塞", 0.8, True, 1.0, 1.2),
    ("公共安全", "燃气安全", "燃气泄漏", 0.5, True, 0.8, 1.5),
    ("公共安全", "交通安全", "交通设施损坏", 0.7, True, 1.0, 1.0),
    ("环境保护", "噪音扰民", "夜间施工", 1.2, True, 1.8, 0.7),
    ("环境保护", "噪音扰民", "烧烤摊广场舞", 0.8, True, 2.0, 0.5),
    ("其他", "其他", "其他", 23.5, False, 1.0, 1.0),
)
HOTLINE_STATUS_CLOSED = {"已办结": 55.0, "已回访": 45.0}
HOTLINE_CALLBACK_METHODS = {"电话回访": 85.0, "短信回访": 15.0}
# On-time closure and callback satisfaction by district: small, stable differences.
HOTLINE_ON_TIME = {"default": 0.992, "320115": 0.996, "320117": 0.985, "320118": 0.986}
HOTLINE_SATISFIED = {"default": 0.915, "320115": 0.935, "320105": 0.93, "320116": 0.89, "320118": 0.895}
HOTLINE_REPEAT_CALLER_SHARE = 0.08  # calls from someone who already called about the same matter this month

# Disputes (domain brief §3; Nanjing default mix, %).
DISPUTE_TYPES = {
    "邻里纠纷": 18.0, "婚姻家庭纠纷": 14.0, "物业纠纷": 12.0, "劳动争议": 12.0, "损害赔偿纠纷": 12.0,
    "合同纠纷": 10.0, "消费纠纷": 5.0, "房屋宅基地纠纷": 4.0, "交通事故纠纷": 4.0, "医疗纠纷": 1.0, "其他纠纷": 8.0,
}
DISPUTE_ORIGINS = {"网格排查": 35.0, "当事人申请": 30.0, "110公调对接": 15.0, "12345转办": 10.0, "法院委派": 5.0, "信访": 5.0}
DISPUTE_RISK = {"黄": 88.0, "橙": 9.0, "红": 3.0}
DISPUTE_RESULTS_CLOSED = {"调解成功": 92.0, "调解不成功": 4.0, "终止调解": 1.5, "转诉讼": 1.3, "转仲裁": 0.8, "转信访": 0.4}
DISPUTE_CLOSE_MEDIAN_DAYS = 6.0
DISPUTE_CLOSE_SIGMA = 1.0
DISPUTE_SUCCESS_BY_DISTRICT = {"320113": 0.95, "320116": 0.88, "320117": 0.89}

# Survey (domain brief §3).
SURVEY_OUTCOMES_NONCOMPLETE = {"拒访": 30.0, "空号": 12.0, "停机": 8.0, "关机": 10.0, "无人接听": 25.0,
                                "接通后挂断": 10.0, "限制呼入": 3.0, "信息有误": 2.0}
SURVEY_NONCOMPLETE_PER_COMPLETE = 2.0
SURVEY_SAFETY = ("安全", "比较安全", "不太安全", "不安全")
SURVEY_SAFETY_SHARE = {"default": (0.72, 0.272, 0.006, 0.002)}
SURVEY_SAFETY_TOPBOX_BY_DISTRICT = {"320118": 0.80, "320117": 0.78, "320102": 0.76, "320111": 0.68, "320115": 0.69}
SURVEY_SATISFACTION = ("满意", "比较满意", "不太满意", "不满意")
SURVEY_SATISFIED_SHARE = 0.97
SURVEY_TREND = {"好转": 48.0, "一样": 49.0, "变差": 3.0}
SURVEY_PROBLEMS = ("盗窃", "诈骗", "黄赌毒", "黑恶", "交通秩序", "噪音", "无")
SURVEY_AGE_GROUPS = ("16-25", "26-30", "31-40", "41-50", "51-60", "61-70", "71+")
# Sample skews older (who answers the phone); the population structure used to re-weight is in the methodology.
SURVEY_AGE_SAMPLE_SHARE = (0.08, 0.09, 0.17, 0.19, 0.21, 0.17, 0.09)
SURVEY_MALE_SHARE = 0.46
SURVEY_PHONE_MOBILE_SHARE = 0.75  # mobile:landline ≈ 3:1


def rate(table: dict, code: str, default: float = 1.0) -> float:
    return table.get(code, table.get("default", default))
