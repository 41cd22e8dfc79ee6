"""Personal data out of Chinese free text (警情简要, 诉求内容, 纠纷简要, …), vectorised in polars.

What goes, each replaced by a token that says what stood there:

- phones, however grouped: mobiles with spaces, dashes, dots, brackets, +86/0086/86 in front, or
  split by a line break; Nanjing landlines with 025 (with or without a dash or brackets, or after
  +86 25); a bare eight-digit landline only after a phone label (电话, 手机, 座机, 号码, …) or when it
  is the row's own number;
- ID numbers: 18 digits (the last may be X or x) with spaces or dashes anywhere, and the old 15-digit
  form when its birth date is one;
- bank cards: 16–19 digits with a card network's first digits that pass the Luhn check;
- e-mail addresses; QQ numbers and WeChat IDs after their labels; vehicle plates (苏A·12345);
- names after a role or kinship word (报警人, 来电人, 诉求人, 联系人, 当事人, 申请人, 被申请人, 市民,
  事主, 业主, 住户, 其子, 其妻, …), and a surname with 先生/女士/阿姨/师傅/某/某某;
- street addresses below the street level: road + house number (+ building, unit, room), compound +
  building, village + group. What stays is the district, the street (街道/镇) and the community,
  which the indicators and the analysts read, and a road named without a number (a place, not an
  address);
- the row's own personal values (its name, phone, ID and address columns) wherever they occur.

What stays: dates, times, amounts, counts, case and work-order numbers (their digits either start
with a date or carry letters, so no phone or card pattern takes them), 110, 12345 and the other
service numbers (too short for any pattern), street and district names.

Digits are matched between ASCII word boundaries (`(?-u:\\b)`): Chinese characters are not ASCII
word characters, so `电话13812345678` has a boundary before the 1, while a run of more digits (an order
number) or letters (J20240315000123) does not, and no pattern takes part of one. polars' regex engine
has no look-around; where a pattern needs the next character, it captures it and puts it back.
The replacement is a pure function of the text and the row's values: the same input, the same bytes.
"""

from __future__ import annotations

import polars as pl

from nsi.ingest.normalise import clean_text, update_where

TOKENS = {"phone": "[电话]", "id_number": "[证件号]", "bank_card": "[银行卡号]", "email": "[邮箱]", "qq": "[QQ号]",
          "wechat": "[微信号]", "plate": "[车牌]", "name": "[姓名]", "address": "[地址]"}

B = r"(?-u:\b)"
# Between two digits of one number: nothing, or up to three of space, dash, dot, line break ("138 - 1234").
SEP = r"[\s.\-]{0,3}"


def _digits(n: int) -> str:
    """n more digits, any of them separated."""
    return rf"(?:{SEP}\d){{{n}}}"


# ------------------------------------------------------------------------------------ numbers
EMAIL = r"[A-Za-z0-9][A-Za-z0-9._%+\-]*\s?[@＠]\s?[A-Za-z0-9](?:[A-Za-z0-9\-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}"
QQ = r"(?i)(Q\s?Q|扣扣)(号码|号)?([:：\s]{0,2})[1-9]\d{4,11}" + B
WECHAT = r"(?i)(微信号码|微信号|微信|V信|VX|WX)([:：\s]{0,2})[A-Za-z][A-Za-z0-9_\-]{5,19}" + B
WECHAT_GENERATED = r"(?i)" + B + r"wxid_[a-z0-9]{6,20}" + B  # the IDs WeChat gives: recognisable without a label
ID_18 = rf"{B}[1-9]{_digits(16)}{SEP}[\dXx]{B}"
ID_15 = rf"{B}[1-9]\d{{7}}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\d{{3}}{B}"
# Card numbers begin 3–6 (Amex, JCB, Visa, Mastercard, UnionPay 62) or 22–27 (Mastercard's 2-series);
# work orders begin with their year, 20…, so none of them is a candidate.
CARD = rf"{B}(?:[3-6]\d|2[2-7]){_digits(14)}(?:{SEP}\d){{0,3}}{B}"
COUNTRY = rf"(?:\+|{B}00|{B})86{SEP}"
MOBILE = rf"(?:{COUNTRY}|{B})1{SEP}[3-9]{_digits(9)}{B}|\(1[3-9]\d\)\d{{8}}{B}"
LANDLINE = rf"(?:{COUNTRY}(?:[(（]0?25[)）]|0?25)|[(（]0?25[)）]|{B}0?25){SEP}[2-9]{_digits(7)}{B}"
PHONE_LABEL = r"(电话号码|电话|手机号码|手机号|手机|座机|固话|号码|联系方式|来电|致电|拨打|回拨|(?i:tel))"
LABELLED_LANDLINE = rf"{PHONE_LABEL}([:：\s]{{0,2}})[2-9]{_digits(7)}{B}"
# 8412-3456 is written as a phone is; a bare run of eight digits (a date, an amount) is not taken.
DASHED_LANDLINE = rf"{B}[2-8]\d{{3}}-\d{{4}}{B}"
PLATE = (r"[京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼][A-HJ-NP-Za-hj-np-z]"
         rf"[\s·•・.\-]{{0,2}}[A-HJ-NP-Za-hj-np-z0-9]{{5,6}}{B}")

# -------------------------------------------------------------------------------------- names
# Common surnames, without the few that are far more often an ordinary word after a role word
# (和, 来, 时, 车, 师, 位, 修, …): a name with one of those is still found as the row's own value.
SURNAMES = ("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢"
            "姜崔钟谭陆汪范金石廖贾夏韦付傅方白邹孟熊秦邱江尹薛闫阎段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤常温康"
            "施文牛樊葛邢安齐易乔伍庞颜倪庄聂章鲁岳翟殷詹申欧耿关兰焦俞左柳甘祝包宁尚符舒阮柯纪梅童凌毕单季裴霍涂成苗谷"
            "盛曲翁冉骆蓝路游辛靳管柴蒙鲍华喻祁蒲房滕屈饶解牟艾尤阳穆农司卓古吉缪简项连芦麦褚娄窦戚岑景党宫费卜冷晏席卫"
            "米柏宗瞿桂全佟应臧闵苟邬边卞姬仇栾隋商刁沙荣巫寇桑郎甄丛仲虞敖巩佘池查麻苑迟邝官封谈匡鞠惠荆乐冀郁胥班储"
            "栗燕楚鄢劳谌奚皮粟冼蔺闻厉伊仝郜阚权帅屠朴练廉禹井祖漆巴丰卿狄计索宣晋初扈晁芮浦戈伏鹿薄邸雍辜羊乌裘亓邰"
            "赫杭况宿鲜逯隆茹诸嵇湛宾戎勾茅於揭尉冶束檀")
COMPOUND_SURNAMES = ("欧阳", "司马", "上官", "诸葛", "东方", "皇甫", "令狐", "慕容", "尉迟", "公孙", "长孙", "宇文", "司徒",
                     "夏侯", "南宫", "独孤", "端木", "轩辕", "呼延", "申屠", "闻人", "万俟")
# Characters that end a name rather than continue it: what people write right after one.
NAME_STOP = "组再多先近还均共每常拖因称与和及在于向对被把将说诉反要来去是系等的了也又都就已曾现今昨从自为打欠不没未报投求请经由拒找让叫跟同给之所们双方到至述问答住离遭受"
ROLE_WORDS = ("被申请人", "申请人", "报警人", "来电人", "诉求人", "联系人", "当事人", "投诉人", "举报人", "求助人", "反映人",
              "受害人", "被害人", "嫌疑人", "承租人", "出租人", "借款人", "出借人", "债务人", "债权人", "代理人", "负责人",
              "法定代表人", "监护人", "驾驶员", "驾驶人", "调解员", "网格员", "包工头", "工人代表", "市民", "居民", "村民",
              "事主", "业主", "住户", "租户", "租客", "房东", "邻居", "车主", "店主", "户主", "原告", "被告", "对方", "民警",
              "姓名", "名叫", "其子", "其妻", "其夫", "其女", "其父", "其母", "其兄", "其弟", "其姐", "其妹", "其孙", "其侄",
              "妻子", "丈夫", "儿子", "女儿", "父亲", "母亲", "家属", "亲属", "老板", "男子", "女子", "患者", "伤者")
HONORIFICS = ("先生", "女士", "小姐", "阿姨", "师傅", "大爷", "大妈", "奶奶", "爷爷", "同志")
_SURNAME = f"(?:{'|'.join(COMPOUND_SURNAMES)}|[{SURNAMES}])"
_GIVEN = rf"[\p{{Han}}&&[^{NAME_STOP}]]"
# A compound surname first (欧阳娜娜), then 某/某某, then one or two given characters; a name whose
# first given character is one of NAME_STOP (王和平, 王一鸣) is taken whole all the same.
NAME = rf"(?:{'|'.join(COMPOUND_SURNAMES)}){_GIVEN}{{1,2}}|[{SURNAMES}](?:某某?|{_GIVEN}{{1,2}}|\p{{Han}}{_GIVEN}?)"
_ROLE = f"(?:{'|'.join(ROLE_WORDS)})"
# Two role words may stand together (市民申请人王伟, 其子驾驶员李某): the name follows the second.
NAME_AFTER_ROLE = rf"({_ROLE}{_ROLE}?)((?:姓名|名叫|叫|为|是)?[:：\s]{{0,2}})(?:{NAME})"
# 张先生, 李女士; 王某, 赵某某, but not 于某日 or 于某地.
TITLED_NAME = rf"{_SURNAME}(?:{'|'.join(HONORIFICS)})|{_SURNAME}某某?([^日时地处天年月些种个类单位人]|$)"
MIGHT_ROLE = "|".join(ROLE_WORDS)
MIGHT_TITLE = "|".join((*HONORIFICS, "某"))

# ---------------------------------------------------------------------------------- addresses
# A road's name: Chinese characters that are neither administrative units nor the words around an
# address (在, 住, 于 …), so 新街口街道中山路18号 loses 中山路18号 and keeps its street. 道 stands inside
# road names (马道街) but never first: the 道 of 街道 is not taken into the road that follows.
_NOT_IN_A_ROAD = "省市区县镇乡街路巷廊坊号栋幢室村组在于住至到从往向称说反映因被把将对的与"
KEEP_MARK = "\u2063"  # (invisible separator) after a known place that ends as a road's name could: 汤泉农场
_PLACE = rf"[\p{{Han}}&&[^{_NOT_IN_A_ROAD}{KEEP_MARK}]]"
_FIRST = rf"[\p{{Han}}&&[^{_NOT_IN_A_ROAD}道{KEEP_MARK}]]"
_NAME = rf"{_FIRST}{_PLACE}{{0,6}}"
_NUMBER = r"(?:\d+|[一二三四五六七八九十百零〇两]+)(?:[-之]\d+)?号(?:院)?"
_FINER = rf"(?:{SEP}\d+(?:号楼|栋|幢|座|单元|层|楼|室|号))*(?:\d{{3,4}}(?:室)?)?"
ROAD_ADDRESS = rf"{_NAME}(?:大街|大道|路|街|巷|弄|道|廊|坊){_NUMBER}{_FINER}"
COMPOUND_ADDRESS = (rf"{_NAME}{_PLACE}?(?:小区|花园|新村|家园|佳园|公寓|苑|府|城|广场|大厦|公馆)(?:\d+期)?"
                    rf"{SEP}\d+(?:号楼|栋|幢|座|号|单元){_FINER}")
BUILDING_ADDRESS = rf"{B}\d+(?:号楼|栋|幢|座){_FINER}|{B}\d+单元\d+(?:室)?|{B}\d{{3,4}}室"
VILLAGE_ADDRESS = rf"{_FIRST}{_PLACE}{{0,3}}村(?:\d+|[一二三四五六七八九十]+)组(?:\d+号)?"
MIGHT_ADDRESS = r"号|栋|幢|单元|室|组"


# Patterns with the same replacement run as one alternation: one scan of the text instead of several.
# At each position the first alternative that matches wins, so the labelled forms come first.
ID_NUMBER = f"{ID_18}|{ID_15}"
PHONE = f"{LABELLED_LANDLINE}|{MOBILE}|{LANDLINE}|{DASHED_LANDLINE}"
ADDRESS = f"{ROAD_ADDRESS}|{COMPOUND_ADDRESS}|{VILLAGE_ADDRESS}|{BUILDING_ADDRESS}"
MIGHT_ACCOUNT = r"(?i)qq|q q|扣扣|微信|v信|vx|wx"


def scrub_accounts(text: pl.Expr) -> pl.Expr:
    """QQ numbers and WeChat IDs (the rows that name either)."""
    return (text.str.replace_all(QQ, "${1}${2}${3}" + TOKENS["qq"])
            .str.replace_all(WECHAT, "${1}${2}" + TOKENS["wechat"])
            .str.replace_all(WECHAT_GENERATED, TOKENS["wechat"]))


def scrub_ids(text: pl.Expr) -> pl.Expr:
    return text.str.replace_all(ID_NUMBER, TOKENS["id_number"])


def scrub_phones(text: pl.Expr) -> pl.Expr:
    """Phones, a label kept where it stood."""
    return text.str.replace_all(PHONE, "${1}${2}" + TOKENS["phone"])


def scrub_role_names(text: pl.Expr) -> pl.Expr:
    return text.str.replace_all(NAME_AFTER_ROLE, "${1}${2}" + TOKENS["name"])


def scrub_titled_names(text: pl.Expr) -> pl.Expr:
    return text.str.replace_all(TITLED_NAME, TOKENS["name"] + "${1}")


def scrub_addresses(text: pl.Expr, places: tuple[str, ...] = ()) -> pl.Expr:
    """Addresses down to the street level. `places`: names that must stay whole (streets, districts);
    those that end as a road's name could (汤泉农场) are marked off first, so no road runs into them."""
    guarded = [p for p in places if p and p[-1] not in _NOT_IN_A_ROAD + "道"]
    if guarded:
        text = text.str.replace_many(guarded, [p + KEEP_MARK for p in guarded])
    text = text.str.replace_all(ADDRESS, TOKENS["address"])
    return text.str.replace_all(KEEP_MARK, "", literal=True) if guarded else text


def luhn_valid(digits: str) -> bool:
    total = 0
    for i, d in enumerate(reversed(digits)):
        v = (ord(d) - 48) * (2 if i % 2 else 1)
        total += v - 9 if v > 9 else v
    return total % 10 == 0


def luhn(numbers: pl.Expr) -> pl.Expr:
    """The Luhn check of each number (separators ignored), vectorised: `luhn_valid` on a column."""
    digits = numbers.str.replace_all(r"[^0-9]", "").str.split("").list.reverse()
    doubled = pl.element().cast(pl.Int32) * (pl.int_range(pl.len()) % 2 + 1)
    return digits.list.eval(doubled - pl.when(doubled > 9).then(9).otherwise(0)).list.sum() % 10 == 0


def scrub_cards(frame: pl.DataFrame, column: str) -> pl.DataFrame:
    """Card numbers: candidates by pattern, kept where the Luhn check fails (a work order, a serial)."""
    text = pl.col(column)
    # The rows that hold a candidate, found with a plain match; the rest is done on those rows alone.
    index = frame.select(text.str.contains(CARD).fill_null(False).arg_true()).to_series()
    if index.len() == 0:
        return frame
    rows = frame.select(text.gather(index))
    candidates = rows.select(text.str.extract_all(CARD).explode().drop_nulls().unique().alias("c"))
    cards = candidates.filter(luhn(pl.col("c")))["c"].to_list()
    if not cards:
        return frame
    # Longest first: a card written twice, once with spaces, is replaced whole both times.
    cards.sort(key=len, reverse=True)
    values = rows.select(text.str.replace_many(cards, [TOKENS["bank_card"]] * len(cards))).to_series()
    return frame.with_columns(frame[column].scatter(index, values))


def scrub_own_values(frame: pl.DataFrame, column: str, own: dict[str, list[str]],
                     places: tuple[str, ...] = ()) -> pl.DataFrame:
    """The row's own values (normalised, in columns of `frame`), wherever they occur in its text.

    `own` maps a kind (name, address, phone, id_number) to the columns holding the row's values.
    An address is replaced by itself scrubbed, so its district and street stay. A phone is looked
    for as digits (also grouped 3-4-4, or 4-4 for a landline's eight-digit subscriber number).
    """
    out = frame
    text = pl.col(column)
    for kind, columns in own.items():
        for value_column in columns:
            value = pl.col(value_column)
            variants = [(value, TOKENS.get(kind, TOKENS["name"]))]
            if kind == "address":
                variants = [(value, scrub_addresses(value, places))]
            elif kind == "phone":
                # The patterns find a phone in every form but one: a bare eight-digit landline without
                # its label (8412 3456). The row's own number is looked for in that form too.
                subscriber = pl.when(value.str.starts_with("025")).then(value.str.slice(3))
                spaced = subscriber.str.slice(0, 4) + " " + subscriber.str.slice(4)
                variants = [(v, TOKENS["phone"]) for v in (value, subscriber, spaced)]
            for needle, replacement in variants:
                holds = (needle.str.len_chars() >= 2) & text.str.contains(needle, literal=True)
                # polars cannot replace a per-row pattern; split on it and join with the replacement.
                joined = text.str.split(needle).list.join(replacement if isinstance(replacement, pl.Expr)
                                                          else pl.lit(replacement))
                out = update_where(out, holds, column, joined)
    return out


def scrub(frame: pl.DataFrame, column: str, own: dict[str, list[str]] | None = None,
          places: tuple[str, ...] = ()) -> pl.Series:
    """The column's text without personal data. `own`: see `scrub_own_values` (names and addresses go
    first, before a pattern can take part of one; phones and IDs last, for forms no pattern knows);
    `places`: see `scrub_addresses`."""
    own = own or {}
    first = {k: v for k, v in own.items() if k in ("address", "name")}
    last = {k: v for k, v in own.items() if k in ("phone", "id_number")}
    out = scrub_own_values(frame, column, first, places)
    sample = out[column].head(1000)
    if sample.len() and sample.n_unique() * 4 <= sample.len():
        # A column of a few recurring texts (titles, stock replies): the patterns run once per text.
        distinct = out[column].drop_nulls().unique()
        scrubbed = _patterns(distinct.to_frame(), column, places)[column]
        out = out.with_columns(pl.col(column).replace_strict(distinct, scrubbed, return_dtype=pl.Utf8))
    else:
        out = _patterns(out, column, places)
    return scrub_own_values(out, column, last)[column]


def _patterns(frame: pl.DataFrame, column: str, places: tuple[str, ...]) -> pl.DataFrame:
    text = pl.col(column)
    out = update_where(frame, text.str.contains("@", literal=True) | text.str.contains("＠", literal=True), column,
                       text.str.replace_all(EMAIL, TOKENS["email"]))
    out = update_where(out, text.str.contains(MIGHT_ACCOUNT), column, scrub_accounts(text))
    # IDs and cards before phones: a mobile's pattern fits inside the last groups of a spaced card.
    out = out.with_columns(scrub_ids(text))
    out = scrub_cards(out, column)
    out = out.with_columns(scrub_phones(text))
    # A plate holds a Latin letter, which most texts do not: a cheap test spares them the plate pattern.
    out = update_where(out, text.str.contains(r"[A-Za-z]"), column, text.str.replace_all(PLATE, TOKENS["plate"]))
    # Two passes: the role words give the first its literal prefilter, which a surname in front would take away.
    out = update_where(out, text.str.contains(MIGHT_ROLE), column, scrub_role_names(text))
    out = update_where(out, text.str.contains(MIGHT_TITLE), column, scrub_titled_names(text))
    return update_where(out, text.str.contains(MIGHT_ADDRESS), column, scrub_addresses(text, places))


def scrub_texts(texts: list[str | None], places: tuple[str, ...] = ()) -> list[str | None]:
    """Texts cleaned as the extract cleans them (half-width, trimmed) and scrubbed by the patterns alone."""
    frame = pl.DataFrame({"t": texts}, schema={"t": pl.Utf8}).select(clean_text(pl.col("t")).alias("t"))
    return scrub(frame, "t", places=places).to_list()
