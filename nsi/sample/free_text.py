"""Free text as people write it in 110 summaries, 12345 requests and mediation case summaries,
with every personal item in it marked.

A snippet is written piece by piece: plain text, personal items (a phone in one of the many ways
people write one, an ID number, a bank card, an e-mail, a QQ or WeChat ID, a vehicle plate, a
name, a street address) and items that are not personal but must survive the scrub (dates,
amounts, counts, case numbers, street names, 110 and 12345). Each marked piece keeps its kind, the
form it was written in and its span, so the sample's exports (`sources.py`, which keep only the
text) and the labelled corpus of the tests (`nsi.sample.corpus`) come from the same code.

Randomness comes from `random.Random.random()` alone, whose sequence Python keeps stable for a seed,
so the same seed writes the same bytes.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from nsi.sample import people

PERSONAL_KINDS = ("phone", "id_number", "bank_card", "email", "qq", "wechat", "plate", "name", "address")
KEPT_KINDS = ("date", "amount", "count", "case_number", "street", "road", "service_number")
# How a name is recognisable as one: after a role or kinship word (or with 先生/女士, 某), as the
# row's own structured value written bare, or neither.
LABELLED, OWN, UNLABELLED = "labelled", "own", "unlabelled"
STYLES = ("police", "hotline", "disputes")

NOT_DIGITS = re.compile(r"[^0-9]")
FULLWIDTH_DIGITS = str.maketrans("0123456789", "０１２３４５６７８９")
COMPOUND_SURNAMES = ("欧阳", "司马", "上官", "诸葛", "东方", "皇甫", "令狐", "慕容", "尉迟", "公孙")
HONORIFICS = ("先生", "女士", "阿姨", "师傅", "大爷", "小姐")
PLATE_PROVINCES = "苏苏苏苏苏苏皖浙沪鲁"
PLATE_LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"
CARD_PREFIXES = ("622202", "622848", "621700", "621483", "623058", "625907", "436742", "518710", "545619")
MAIL_SYLLABLES = ("wang", "li", "zhang", "liu", "chen", "yang", "huang", "zhao", "zhou", "xu", "xiao", "ming",
                  "hua", "jun", "lei", "fang", "ying", "jie", "hong", "mei", "tian", "yu", "hao", "xin", "nj")
MAIL_DOMAINS = ("qq.com", "163.com", "126.com", "sina.com", "sohu.com", "foxmail.com", "139.com", "gmail.com",
                "outlook.com", "yahoo.com.cn", "njupt.edu.cn", "sina.cn")
ID_AREAS = ("320102", "320104", "320105", "320106", "320111", "320113", "320114", "320115", "320116", "320117",
            "320118", "320103", "320107", "340104", "321002", "320982")
COMPOUND_NAMES = ("翠屏", "金地", "万科", "银城", "苏宁", "朗诗", "仙林", "东方", "润泽", "龙江", "天润", "怡康",
                  "月牙湖", "清凉门", "锁金", "尧化", "百家湖", "凤凰", "紫金", "玉兰")
COMPOUND_SUFFIXES = ("小区", "花园", "新村", "家园", "苑", "公寓", "佳园")
VILLAGES = ("石塘", "龙袍", "桠溪", "和凤", "晶桥", "谷里", "汤泉", "星甸")
COMPANIES = ("某物业公司", "某装饰公司", "某餐饮店", "某建筑劳务公司", "某健身房", "某培训机构", "某快递网点")
VEHICLES = ("电动自行车", "电动车", "自行车", "小汽车", "摩托车", "三轮车")
SERVICE_NUMBERS = ("110", "12345", "120", "119", "122", "12315")
REASONS = ("琐事", "噪音", "漏水", "停车位", "欠款", "工资", "装修", "宠物", "宅基地边界", "赡养费", "房屋租赁",
           "交通事故赔偿", "彩礼")
KIN = ("其子", "其妻", "其夫", "其女", "其父", "其母", "其兄", "其弟")


# ------------------------------------------------------------------------------------- snippets
@dataclass(frozen=True)
class Item:
    kind: str
    form: str
    start: int
    end: int
    label: str = ""  # names only: LABELLED, OWN or UNLABELLED
    own: bool = False  # one of the row's own structured values


@dataclass(frozen=True)
class Snippet:
    text: str
    items: tuple[Item, ...]


class Writer:
    """Builds one snippet from pieces, keeping the span of each marked piece."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.marks: list[tuple] = []
        self.length = 0

    def text(self, value: str) -> Writer:
        self.parts.append(value)
        self.length += len(value)
        return self

    def mark(self, kind: str, form: str, value: str, label: str = "", own: bool = False) -> Writer:
        self.marks.append((kind, form, self.length, self.length + len(value), label, own))
        return self.text(value)

    def snippet(self, fullwidth: bool = False) -> Snippet:
        text = "".join(self.parts)
        # Some clients type digits in full width throughout; the mapping keeps every span.
        return Snippet(text.translate(FULLWIDTH_DIGITS) if fullwidth else text, tuple(Item(*m) for m in self.marks))


class TextWriter(Writer):
    """A Writer that keeps the text only: what an export needs, at a fraction of the cost."""

    def mark(self, kind: str, form: str, value: str, label: str = "", own: bool = False) -> Writer:
        return self.text(value)


class Chooser:
    """Choices from one seeded stream, through `random()` only (random() < 1, so int(random() * n) < n)."""

    def __init__(self, seed: int) -> None:
        self.random = random.Random(seed).random

    def chance(self, p: float) -> bool:
        return self.random() < p

    def below(self, n: int) -> int:
        return int(self.random() * n)

    def between(self, low: int, high: int) -> int:
        """An integer in [low, high]."""
        return low + int(self.random() * (high - low + 1))

    def pick(self, options: Sequence):
        return options[int(self.random() * len(options))]

    def digits(self, n: int) -> str:
        return str(int(self.random() * 10**n)).zfill(n)


# ------------------------------------------------------------------------------ personal values
def name(ch: Chooser) -> str:
    if ch.chance(0.03):
        return ch.pick(COMPOUND_SURNAMES) + ch.pick(people.GIVEN) + ch.pick(people.GIVEN)
    given = ch.pick(people.GIVEN) + ("" if ch.chance(0.35) else ch.pick(people.GIVEN))
    return ch.pick(people.SURNAMES) + given


def mobile(ch: Chooser) -> str:
    return ch.pick(people.MOBILE_PREFIXES.tolist()) + ch.digits(8)


def landline(ch: Chooser) -> str:
    """A Nanjing subscriber number, without the area code."""
    return ("8" if ch.chance(0.8) else "5") + ch.digits(7)


def id_number(ch: Chooser, year: int, lower_x: bool = False) -> str:
    """An 18-digit ID with its check digit; lower_x asks for one ending in x."""
    while True:
        first17 = (ch.pick(ID_AREAS) + str(year - ch.between(18, 80)) + f"{ch.between(1, 12):02d}"
                   + f"{ch.between(1, 28):02d}" + ch.digits(3))
        check = people.id_check_digit(first17)
        if not lower_x or check == "X":
            return first17 + (check.lower() if lower_x else check)


def luhn_digit(body: str) -> str:
    total = 0
    for i, d in enumerate(reversed(body)):
        v = int(d) * (2 if i % 2 == 0 else 1)
        total += v - 9 if v > 9 else v
    return str((10 - total % 10) % 10)


def bank_card(ch: Chooser) -> str:
    prefix = ch.pick(CARD_PREFIXES)
    length = 19 if prefix.startswith("62") and ch.chance(0.7) else 16
    body = prefix + ch.digits(length - len(prefix) - 1)
    return body + luhn_digit(body)


def email(ch: Chooser) -> str:
    if ch.chance(0.25):
        local = str(ch.between(10000, 3999999999))  # a QQ number as the mailbox
        return f"{local}@qq.com"
    local = ch.pick(MAIL_SYLLABLES) + (ch.pick(("", ".", "_", "-")) + ch.pick(MAIL_SYLLABLES) if ch.chance(0.7) else "")
    if ch.chance(0.6):
        local += str(ch.between(1, 2010))
    return f"{local}@{ch.pick(MAIL_DOMAINS)}"


def qq_number(ch: Chooser) -> str:
    return str(ch.between(1, 9)) + ch.digits(ch.between(4, 10))


def wechat_id(ch: Chooser) -> str:
    if ch.chance(0.3):
        return "wxid_" + "".join(ch.pick("abcdefghijkmnpqrstuvwxyz0123456789") for _ in range(ch.between(8, 14)))
    core = ch.pick(MAIL_SYLLABLES) + ch.pick(("", "_", "-")) + ch.pick(MAIL_SYLLABLES)
    core = core.capitalize() if ch.chance(0.3) else core
    return core + str(ch.between(1, 9999))


def plate(ch: Chooser) -> tuple[str, str]:
    province, letter = ch.pick(PLATE_PROVINCES), ch.pick(PLATE_LETTERS)
    alnum = "0123456789" * 3 + PLATE_LETTERS
    body = "".join(ch.pick(alnum) for _ in range(5))
    form = ch.pick(("dot", "dot", "plain", "space", "new_energy", "lower"))
    if form == "dot":
        return f"{province}{letter}·{body}", form
    if form == "space":
        return f"{province}{letter} {body}", form
    if form == "new_energy":
        return f"{province}{letter}{ch.pick('DF')}{ch.digits(5)}", form
    if form == "lower":
        return f"{province}{letter.lower()}{body.lower()}", form
    return f"{province}{letter}{body}", form


# --------------------------------------------------------------------------- the written forms
MOBILE_FORMS = {
    "plain": lambda d: d,
    "spaced": lambda d: f"{d[:3]} {d[3:7]} {d[7:]}",
    "dashed": lambda d: f"{d[:3]}-{d[3:7]}-{d[7:]}",
    "dotted": lambda d: f"{d[:3]}.{d[3:7]}.{d[7:]}",
    "plus86": lambda d: f"+86 {d}",
    "plus86_dashed": lambda d: f"+86-{d[:3]}-{d[3:7]}-{d[7:]}",
    "plus86_tight": lambda d: f"+86{d}",
    "0086": lambda d: f"0086 {d}",
    "0086_dashed": lambda d: f"0086-{d}",
    "86_dashed": lambda d: f"86-{d}",
    "fullwidth": lambda d: d.translate(FULLWIDTH_DIGITS),
    "fullwidth_spaced": lambda d: f"{d[:3]} {d[3:7]} {d[7:]}".translate(FULLWIDTH_DIGITS),
    "line_break": lambda d: f"{d[:3]} {d[3:7]}\n{d[7:]}",
    "line_break_tight": lambda d: f"{d[:7]}\n{d[7:]}",
    "grouped_4_4_3": lambda d: f"{d[:4]} {d[4:8]} {d[8:]}",
    "brackets": lambda d: f"({d[:3]}){d[3:]}",
}
# A subscriber number with Nanjing's area code, or (bare_*: after a phone label only) without it.
LANDLINE_FORMS = {
    "dashed": lambda n: f"025-{n}",
    "spaced": lambda n: f"025 {n[:4]} {n[4:]}",
    "paren": lambda n: f"(025){n}",
    "paren_fullwidth": lambda n: f"（025）{n}",
    "no_dash": lambda n: f"025{n}",
    "dash_grouped": lambda n: f"025-{n[:4]}-{n[4:]}",
    "plus86": lambda n: f"+86 25 {n[:4]} {n[4:]}",
    "plus86_dashed": lambda n: f"+86-25-{n}",
    "0086": lambda n: f"0086-25-{n}",
    "line_break": lambda n: f"025-{n[:4]}\n{n[4:]}",
    "fullwidth": lambda n: f"０２５－{n.translate(FULLWIDTH_DIGITS)}",
    "bare": lambda n: n,
    "bare_dashed": lambda n: f"{n[:4]}-{n[4:]}",
    "bare_spaced": lambda n: f"{n[:4]} {n[4:]}",
}
_MOBILE_NAMES, _LANDLINE_NAMES = tuple(MOBILE_FORMS), tuple(LANDLINE_FORMS)


def mobile_form(ch: Chooser, digits: str) -> tuple[str, str]:
    form = ch.pick(_MOBILE_NAMES)
    return MOBILE_FORMS[form](digits), form


def landline_form(ch: Chooser, number: str) -> tuple[str, str]:
    form = ch.pick(_LANDLINE_NAMES)
    return LANDLINE_FORMS[form](number), form


PHONE_LABELS = ("电话", "联系电话", "手机", "手机号", "联系方式", "电话号码", "座机", "回拨电话", "Tel:")


def phone_as_written(ch: Chooser, value: str) -> tuple[str, str]:
    """A phone value (mobile, or landline with or without 025) in one of the written forms."""
    digits = NOT_DIGITS.sub("", value)
    if len(digits) == 11 and digits.startswith("1"):
        return mobile_form(ch, digits)
    if digits.startswith("025") and len(digits) == 11:
        digits = digits[3:]
    elif digits.startswith("25") and len(digits) == 10:
        digits = digits[2:]
    text, form = landline_form(ch, digits[-8:])
    return text, f"landline_{form}"


ID_FORMS = {
    "plain": lambda v: v,
    "spaced_6_8_4": lambda v: f"{v[:6]} {v[6:14]} {v[14:]}",
    "spaced_fours": lambda v: " ".join(v[i:i + 4] for i in range(0, 18, 4)),
    "dashed": lambda v: f"{v[:6]}-{v[6:14]}-{v[14:]}",
    "fullwidth": lambda v: v.translate(FULLWIDTH_DIGITS),
    "line_break": lambda v: f"{v[:10]}\n{v[10:]}",
    "legacy15": lambda v: v[:6] + v[8:17],  # the old 15-digit number of the same person
}
_ID_NAMES = tuple(ID_FORMS)


def id_form(ch: Chooser, value: str) -> tuple[str, str]:
    if len(value) == 15:
        return value, "legacy15"
    form = ch.pick(_ID_NAMES)
    return ID_FORMS[form](value), form


def card_form(ch: Chooser, value: str) -> tuple[str, str]:
    form = ch.pick(("plain", "spaced", "dashed"))
    if form == "plain":
        return value, form
    return (" " if form == "spaced" else "-").join(value[i:i + 4] for i in range(0, len(value), 4)), form


def email_form(ch: Chooser, value: str) -> tuple[str, str]:
    form = ch.pick(("plain", "plain", "upper", "fullwidth_at"))
    if form == "upper":
        local, domain = value.split("@")
        return f"{local.capitalize()}@{domain.upper() if ch.chance(0.5) else domain}", form
    if form == "fullwidth_at":
        return value.replace("@", "＠"), form
    return value, form


# ------------------------------------------------------------------------------ one row's people
@dataclass
class Address:
    """A street address in its parts: the district and street stay after the scrub, the rest goes."""
    district: str  # 玄武区
    street: str  # 新街口街道
    rest: str  # 中山路18号3栋201室


@dataclass
class Own:
    """The row's own personal values, as its structured columns hold them."""
    names: list[str] = field(default_factory=list)
    phones: list[str] = field(default_factory=list)
    id_number: str = ""
    address: Address | None = None


@dataclass(frozen=True)
class Context:
    """What the record is about, for the text around the personal items."""
    district: str
    street: str
    topic: str  # 110 subcategory, 12345 third-level matter, dispute type
    year: int
    month: int
    short: str = "玄"  # the district's one-character short name, in case numbers


# people.ROADS has 江浦街道浦园路: the street is not part of the road.
ROADS = tuple(road.rsplit("街道", 1)[-1] for road in people.ROADS)


def _address_rest(ch: Chooser) -> tuple[str, str]:
    road = ch.pick(ROADS)
    number = str(ch.between(1, 399))
    form = ch.pick(("road_no", "road_no_building", "road_hyphen", "compound", "compound_unit", "rural", "road_no_yard"))
    if form == "road_no":
        return f"{road}{number}号", form
    if form == "road_no_building":
        return f"{road}{number}号{ch.between(1, 30)}栋{ch.between(1, 30)}0{ch.between(1, 6)}室", form
    if form == "road_hyphen":
        return f"{road}{number}-{ch.between(1, 9)}号", form
    if form == "road_no_yard":
        return f"{road}{number}号院{ch.between(1, 9)}号楼", form
    compound = ch.pick(COMPOUND_NAMES) + ch.pick(COMPOUND_SUFFIXES)
    if form == "compound":
        return f"{compound}{ch.between(1, 40)}栋{ch.between(1, 30)}0{ch.between(1, 4)}室", form
    if form == "compound_unit":
        return f"{compound}{ch.between(1, 40)}幢{ch.between(1, 4)}单元{ch.between(1, 30)}0{ch.between(1, 4)}", form
    return f"{ch.pick(VILLAGES)}村{ch.between(1, 12)}组{number}号", form


def write_address(w: Writer, ch: Chooser, address: Address | None, ctx: Context, own: bool) -> None:
    """An address as people write it: the full form, without 江苏省南京市, or the street part alone."""
    if address is None:
        rest, form = _address_rest(ch)
        address = Address(ctx.district, ctx.street, rest)
    else:
        form = "own"
    own = own and address is not None
    layout = ch.pick(("full", "city", "district", "street", "bare", "bare"))
    if layout == "full":
        w.text("江苏省南京市")
    elif layout == "city":
        w.text("南京市")
    if layout in ("full", "city", "district"):
        w.mark("street", "district", address.district)
    if layout in ("full", "city", "street"):
        w.mark("street", "street", address.street)
    w.mark("address", f"{form}_{layout}", address.rest, own=own)


# --------------------------------------------------------------------------- marked pieces
def write_name(w: Writer, ch: Chooser, value: str, own: bool, role: str | None = None) -> None:
    """A name: after a role or kinship word (with the separators people put between them), or bare,
    when only the row's own values can give it away (or nothing can)."""
    if role is not None:
        w.text(role + ch.pick(("", "", "", "：", ":", " ", "为", "姓名")))
        w.mark("name", "after_role", value, LABELLED, own)
        return
    w.mark("name", "bare", value, OWN if own else UNLABELLED, own)


def write_titled_name(w: Writer, ch: Chooser, value: str) -> None:
    """张先生, 李女士, 王某, 赵某某: a surname the honorific or 某 marks as a name."""
    surname = next((s for s in COMPOUND_SURNAMES if value.startswith(s)), value[0])
    if ch.chance(0.5):
        w.mark("name", "honorific", surname + ch.pick(HONORIFICS), LABELLED)
    else:
        w.mark("name", "mou", surname + ch.pick(("某", "某某")), LABELLED)


def write_phone(w: Writer, ch: Chooser, value: str, own: bool, label: str | None = None) -> None:
    """A phone after its label. Without one (label ""), only the row's own phones are written: a
    bare number of eight digits is a phone only to a reader who knows it."""
    text, form = phone_as_written(ch, value)
    if label is None:
        label = ch.pick(PHONE_LABELS)
    if label:
        w.text(label + ch.pick(("", "", "：", ":", " ")))
    w.mark("phone", form, text, own=own)


def write_id(w: Writer, ch: Chooser, value: str, own: bool) -> None:
    text, form = id_form(ch, value)
    w.text(ch.pick(("身份证号", "身份证", "身份证号码", "证件号码", "公民身份号码")) + ch.pick(("", "：", ":", " ")))
    w.mark("id_number", form, text, own=own)


def write_card(w: Writer, ch: Chooser) -> None:
    text, form = card_form(ch, bank_card(ch))
    w.text(ch.pick(("银行卡号", "卡号", "银行卡", "账号", "对方账户")) + ch.pick(("", "：", " ")))
    w.mark("bank_card", form, text)


def write_email(w: Writer, ch: Chooser) -> None:
    text, form = email_form(ch, email(ch))
    w.text(ch.pick(("邮箱", "电子邮箱", "邮箱地址", "E-mail:", "email："))).text(ch.pick(("", "：", " ")))
    w.mark("email", form, text)


def write_qq(w: Writer, ch: Chooser) -> None:
    label = ch.pick(("QQ", "QQ号", "qq", "QQ号码", "扣扣", "Q Q"))
    w.text(label + ch.pick(("", "：", ":", " ")))
    w.mark("qq", label, qq_number(ch))


def write_wechat(w: Writer, ch: Chooser) -> None:
    label = ch.pick(("微信", "微信号", "VX", "vx", "wx", "V信", "微信号码"))
    w.text(label + ch.pick(("", "：", ":", " ")))
    w.mark("wechat", label, wechat_id(ch))


def write_plate(w: Writer, ch: Chooser) -> None:
    text, form = plate(ch)
    w.text(ch.pick(("车牌", "车牌号", "牌照", "车牌号码为", "")))
    w.mark("plate", form, text)


DATE_FORMS = {
    "full": lambda y, m, d, h: f"{y}年{m}月{d}日",
    "month_day": lambda y, m, d, h: f"{m}月{d}日",
    "iso": lambda y, m, d, h: f"{y}-{m:02d}-{d:02d}",
    "slash": lambda y, m, d, h: f"{y}/{m}/{d}",
    "hour": lambda y, m, d, h: f"{m}月{d}日{h}时许",
    "clock": lambda y, m, d, h: f"{h}:{d * 2:02d}",
}
AMOUNT_FORMS = {
    "yuan": lambda v: f"{v}元",
    "thousands": lambda v: f"{v:,}元",
    "wan": lambda v: f"{v / 10000:g}万元",
    "rmb": lambda v: f"人民币{v}元",
    "about": lambda v: f"{v}余元",
    "decimal": lambda v: f"{v}.5元",
}
_DATE_NAMES, _AMOUNT_NAMES = tuple(DATE_FORMS), tuple(AMOUNT_FORMS)


def write_date(w: Writer, ch: Chooser, ctx: Context) -> None:
    form = ch.pick(_DATE_NAMES)
    w.mark("date", form, DATE_FORMS[form](ctx.year, ctx.month, ch.between(1, 28), ch.between(0, 23)))


def write_amount(w: Writer, ch: Chooser) -> None:
    form = ch.pick(_AMOUNT_NAMES)
    w.mark("amount", form, AMOUNT_FORMS[form](ch.between(2, 3000) * 10))


def write_count(w: Writer, ch: Chooser, unit: str | None = None) -> None:
    unit = unit or ch.pick(("人", "次", "名", "户", "辆", "天", "岁"))
    w.mark("count", unit, f"{ch.between(2, 90)}{unit}")


def write_case_number(w: Writer, ch: Chooser, ctx: Context, style: str) -> None:
    day = f"{ctx.year}{ctx.month:02d}{ch.between(1, 28):02d}"
    if style == "police":
        w.text(ch.pick(("接警单号", "警情编号", "关联警情"))).mark("case_number", "police", f"J{day}{ch.digits(6)}")
    elif style == "hotline":
        if ch.chance(0.5):
            w.text(ch.pick(("关联工单", "原工单号", "工单"))).mark("case_number", "order", f"{day}{ch.digits(5)}")
        else:
            w.text(ch.pick(("原工单号", "工单编号"))).mark("case_number", "order16", f"{day}{ch.digits(8)}")
    else:
        w.text("案号").mark("case_number", "mediation", f"({ctx.year})宁{ctx.short}民调字第{ch.between(1, 999)}号")


def write_service(w: Writer, ch: Chooser, number: str | None = None) -> None:
    w.mark("service_number", "service", number or ch.pick(SERVICE_NUMBERS))


def write_road(w: Writer, ch: Chooser) -> None:
    """A road without a house number is a place, not an address: it stays."""
    w.mark("road", "road", ch.pick(ROADS))


# ------------------------------------------------------------------------------------ templates
Template = Callable[[Writer, Chooser, Own, Context], None]
SPOUSES_AND_CHILDREN = ("妻子", "丈夫", "儿子", "女儿", "母亲", "父亲")


def _caller(own: Own, ch: Chooser) -> tuple[str, bool]:
    return (own.names[0], True) if own.names else (name(ch), False)


def _phone(own: Own, ch: Chooser) -> tuple[str, bool]:
    return (own.phones[0], True) if own.phones and own.phones[0] else (mobile(ch), False)


def _own_name(w: Writer, ch: Chooser, own: Own, role: str | None) -> None:
    write_name(w, ch, *_caller(own, ch), role)


def _own_phone(w: Writer, ch: Chooser, own: Own, label: str | None = None) -> None:
    write_phone(w, ch, *_phone(own, ch), label)


def _police_classic(w, ch, own, ctx):
    _own_name(w, ch, own, ch.pick(("报警人", "来电人")))
    w.text("（")
    _own_phone(w, ch, own, "")
    w.text("）称在")
    write_address(w, ch, own.address, ctx, own=True)
    w.text(f"附近发生{ctx.topic}，请求民警到场处置")


def _police_theft(w, ch, own, ctx):
    write_date(w, ch, ctx)
    w.text("，")
    _own_name(w, ch, own, ch.pick(("报警人", "事主")))
    w.text("报警称其停放在")
    write_address(w, ch, None, ctx, own=False)
    w.text(f"附近的{ch.pick(VEHICLES)}被盗，")
    write_plate(w, ch)
    w.text("，损失约")
    write_amount(w, ch)
    w.text("。")
    _own_phone(w, ch, own)


def _police_fraud(w, ch, own, ctx):
    _own_name(w, ch, own, "事主")
    w.text("（")
    write_id(w, ch, own.id_number or id_number(ch, ctx.year, ch.chance(0.3)), bool(own.id_number))
    w.text("）称于")
    write_date(w, ch, ctx)
    w.text("接到自称客服的电话，被骗")
    write_amount(w, ch)
    w.text("，已转账至")
    write_card(w, ch)
    w.text("，对方")
    if ch.chance(0.5):
        write_qq(w, ch)
    else:
        write_wechat(w, ch)
    w.text("，已拨打")
    write_service(w, ch, "110")


def _police_family(w, ch, own, ctx):
    _own_name(w, ch, own, "报警人")
    w.text("称其")
    write_name(w, ch, name(ch), False, ch.pick(SPOUSES_AND_CHILDREN))
    w.text("与邻居")
    write_name(w, ch, name(ch), False, "")
    w.text(f"因{ch.pick(REASONS)}发生口角，现场")
    write_count(w, ch, "人")
    w.text("，请求处置。")
    _own_phone(w, ch, own, "回拨电话")


def _police_missing(w, ch, own, ctx):
    _own_name(w, ch, own, "来电人")
    w.text("反映")
    write_name(w, ch, name(ch), False, ch.pick(KIN))
    w.text("（")
    write_id(w, ch, id_number(ch, ctx.year, ch.chance(0.3)), False)
    w.text("）于")
    write_date(w, ch, ctx)
    w.text("离家未归，")
    write_phone(w, ch, mobile(ch), False, "联系电话")
    w.text("，")
    write_wechat(w, ch)


def _police_traffic(w, ch, own, ctx):
    w.text("报警人称")
    write_road(w, ch)
    w.text("与")
    write_road(w, ch)
    w.text("交叉口发生交通事故，涉事车辆")
    write_plate(w, ch)
    w.text("、")
    write_plate(w, ch)
    w.text("，驾驶员")
    write_name(w, ch, name(ch), False, "")
    w.text("，无人员受伤。报警电话")
    _own_phone(w, ch, own, "")


def _police_quarrel(w, ch, own, ctx):
    write_name(w, ch, name(ch), False)
    w.text("与")
    write_name(w, ch, name(ch), False)
    w.text("在")
    write_address(w, ch, own.address, ctx, own=True)
    w.text(f"因{ch.pick(REASONS)}发生争执，")
    _own_name(w, ch, own, "报警人")
    w.text("请求民警调解，")
    write_case_number(w, ch, ctx, "police")


def _police_own_bare(w, ch, own, ctx):
    _own_name(w, ch, own, None)
    w.text("报警称")
    w.mark("street", "street", ctx.street)
    write_road(w, ch)
    w.text(f"附近有人{ctx.topic}，")
    write_count(w, ch, "人")
    w.text("受伤，已通知")
    write_service(w, ch, "120")
    w.text("，")
    write_titled_name(w, ch, name(ch))
    w.text("在场。")
    _own_phone(w, ch, own)
    w.text("，")
    write_email(w, ch)


POLICE: tuple[Template, ...] = (_police_classic, _police_classic, _police_classic, _police_theft, _police_fraud,
                                _police_family, _police_missing, _police_traffic, _police_quarrel, _police_own_bare)


def _hotline_classic(w, ch, own, ctx):
    w.text("市民来电反映")
    w.mark("street", "street", ctx.street)
    w.text(f"{ctx.topic}问题，请相关部门处理")
    if ch.chance(0.5):
        w.text("，")
        _own_phone(w, ch, own, "联系电话")
    if ch.chance(0.4):
        w.text("，")
        _own_name(w, ch, own, "联系人")


def _hotline_detailed(w, ch, own, ctx):
    _own_name(w, ch, own, "市民")
    w.text("来电反映：")
    write_address(w, ch, own.address, ctx, own=True)
    w.text(f"附近{ctx.topic}，已持续")
    write_count(w, ch, "天")
    w.text("，多次拨打")
    write_service(w, ch, "12345")
    w.text("未解决，")
    _own_phone(w, ch, own, "联系电话")
    w.text("，")
    write_email(w, ch)


def _hotline_wages(w, ch, own, ctx):
    _own_name(w, ch, own, "诉求人")
    w.text("（")
    write_id(w, ch, own.id_number or id_number(ch, ctx.year, ch.chance(0.3)), bool(own.id_number))
    w.text("）反映，")
    write_date(w, ch, ctx)
    w.text(f"起在{ch.pick(COMPANIES)}务工，被拖欠工资")
    write_amount(w, ch)
    w.text("，")
    write_name(w, ch, name(ch), False, "联系人")
    w.text("，")
    write_phone(w, ch, mobile(ch) if ch.chance(0.6) else landline(ch), False, "电话")
    w.text("，请求帮助追讨，工资卡")
    write_card(w, ch)


def _hotline_noise(w, ch, own, ctx):
    _own_name(w, ch, own, ch.pick(("业主", "住户")))
    w.text("反映")
    write_address(w, ch, None, ctx, own=False)
    w.text("，楼上住户")
    write_titled_name(w, ch, name(ch))
    w.text("装修噪音扰民，多次协调无果，")
    write_wechat(w, ch)
    w.text("，")
    _own_phone(w, ch, own)


def _hotline_repeat(w, ch, own, ctx):
    write_case_number(w, ch, ctx, "hotline")
    w.text("：")
    _own_name(w, ch, own, "市民")
    w.text(f"再次来电，称{ctx.topic}问题仍未解决，要求")
    write_date(w, ch, ctx)
    w.text("前答复，回电")
    _own_phone(w, ch, own, "")


def _hotline_titled(w, ch, own, ctx):
    write_titled_name(w, ch, _caller(own, ch)[0])
    w.text("来电反映")
    w.mark("street", "street", ctx.street)
    w.text(f"{ctx.topic}，涉及")
    write_count(w, ch, "户")
    w.text("居民，")
    write_qq(w, ch)
    w.text("，")
    _own_phone(w, ch, own, "联系方式")


def _hotline_road(w, ch, own, ctx):
    w.text("市民反映")
    write_road(w, ch)
    w.text(f"沿线{ctx.topic}，")
    _own_name(w, ch, own, None)
    w.text("称已向")
    write_service(w, ch, "12315")
    w.text("反映过")
    write_count(w, ch, "次")
    w.text("。来电号码")
    _own_phone(w, ch, own, "")
    if own.id_number:
        w.text("，")
        write_id(w, ch, own.id_number, True)


HOTLINE: tuple[Template, ...] = (_hotline_classic, _hotline_classic, _hotline_classic, _hotline_classic,
                                 _hotline_detailed, _hotline_wages, _hotline_noise, _hotline_repeat,
                                 _hotline_titled, _hotline_road)


def _disputes_classic(w, ch, own, ctx):
    _own_name(w, ch, own, "当事人")
    w.text(f"因{ctx.topic}申请调解")
    if ch.chance(0.3):
        w.text("，")
        _own_phone(w, ch, own, "电话")


def _disputes_parties(w, ch, own, ctx):
    _own_name(w, ch, own, "申请人")
    w.text("与")
    write_name(w, ch, name(ch), False, "被申请人")
    w.text(f"因{ch.pick(REASONS)}发生纠纷，涉及金额")
    write_amount(w, ch)
    w.text("，经")
    w.mark("street", "street", ctx.street)
    w.text("人民调解委员会调解，双方自愿达成协议，")
    write_case_number(w, ch, ctx, "disputes")


def _disputes_mou(w, ch, own, ctx):
    w.text("申请人")
    write_titled_name(w, ch, _caller(own, ch)[0])
    w.text("与被申请人")
    write_titled_name(w, ch, name(ch))
    w.text(f"因{ctx.topic}发生纠纷，")
    write_date(w, ch, ctx)
    w.text("达成调解协议，")
    write_count(w, ch, "人")
    w.text("参与调解")


def _disputes_detailed(w, ch, own, ctx):
    _own_name(w, ch, own, "当事人")
    w.text("（")
    _own_phone(w, ch, own, "")
    w.text("，")
    write_id(w, ch, own.id_number or id_number(ch, ctx.year), bool(own.id_number))
    w.text("）称其与")
    write_name(w, ch, name(ch), False, ch.pick(KIN))
    w.text(f"因{ctx.topic}产生矛盾，住")
    write_address(w, ch, own.address, ctx, own=True)


def _disputes_neighbours(w, ch, own, ctx):
    _own_name(w, ch, own, None)
    w.text("与")
    write_name(w, ch, name(ch), False)
    w.text("系邻居，因")
    write_address(w, ch, None, ctx, own=False)
    w.text("漏水问题发生纠纷，")
    mediator = (own.names[1], True) if len(own.names) > 1 else (name(ch), False)
    write_name(w, ch, *mediator, "调解员")
    w.text("组织双方协商，对方同意赔偿")
    write_amount(w, ch)


def _disputes_wages(w, ch, own, ctx):
    write_name(w, ch, name(ch), False, "包工头")
    w.text("拖欠")
    write_count(w, ch, "名")
    w.text("工人工资共计")
    write_amount(w, ch)
    w.text("，工人代表")
    _own_name(w, ch, own, None)
    w.text("（")
    _own_phone(w, ch, own, "")
    w.text("）申请调解，收款")
    write_card(w, ch)


def _disputes_vehicle(w, ch, own, ctx):
    _own_name(w, ch, own, "当事人")
    w.text("称其车辆")
    write_plate(w, ch)
    w.text("在")
    write_road(w, ch)
    w.text("被")
    write_name(w, ch, name(ch), False)
    w.text("驾驶的车辆刮擦，双方就赔偿")
    write_amount(w, ch)
    w.text("未达成一致，")
    write_email(w, ch)


DISPUTES: tuple[Template, ...] = (_disputes_classic, _disputes_classic, _disputes_classic, _disputes_parties,
                                  _disputes_mou, _disputes_detailed, _disputes_neighbours, _disputes_wages,
                                  _disputes_vehicle)
TEMPLATES = {"police": POLICE, "hotline": HOTLINE, "disputes": DISPUTES}


def write(style: str, ch: Chooser, own: Own, ctx: Context, writer: type[Writer] = Writer) -> Snippet:
    """One snippet in the style of the source, about the record, with the row's own values in it."""
    w = writer()
    ch.pick(TEMPLATES[style])(w, ch, own, ctx)
    return w.snippet(fullwidth=ch.chance(0.02))


def texts(style: str, seed: int, owns: Sequence[Own], contexts: Sequence[Context]) -> list[str]:
    """The free text of every record of an export: the same snippets, without their spans."""
    ch = Chooser(seed)
    return [write(style, ch, own, ctx, TextWriter).text for own, ctx in zip(owns, contexts)]
