"""The message an office receives: a short Chinese note and its own briefing attached, byte for byte."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

from nsi.delivery.recipients import Office


@dataclass(frozen=True)
class MessageFacts:
    """What the message says about the attached briefing."""

    month: str  # YYYY-MM
    revision: int
    composite: str  # as printed in index.csv
    rank: str  # empty for the city
    districts: int
    corrects: int | None  # the revision this one replaces for the office, if any was delivered
    reason: str | None  # why the month was published again
    # The revision's `correction` in its manifest (revision, previous_revision, date, reason): a revision
    # after the first is a correction whether or not the office received the one it replaces.
    correction: dict | None = None
    change_mom: float | None = None  # the office's composite, change on last month (manifest index values)
    change_yoy: float | None = None  # and on the same month last year
    warnings: tuple[str, ...] = ()  # its early warnings, "<code> <indicator>：<text>" as the briefing prints them
    other_warnings: int = 0  # the city's message: how many early warnings the districts' briefings carry


def month_zh(month: str) -> str:
    return f"{int(month[:4])}年{int(month[5:])}月"


def attachment_name(facts: MessageFacts, office: Office) -> str:
    return f"南京平安指数简报_{month_zh(facts.month)}_{office.area}_第{facts.revision}版.pdf"


def is_correction(facts: MessageFacts) -> bool:
    return bool(facts.correction or facts.corrects)


def date_zh(date: str) -> str:
    return f"{int(date[:4])}年{int(date[5:7])}月{int(date[8:10])}日"


def change_words(change: float | None) -> str:
    """A change of the composite, to the one decimal the briefing prints. Signed points, not 上升 or 下降: whether
    a change is beyond its noise band is the briefing's to say (its interval comes from the index's draws)."""
    if change is None:
        return "无可比数据"
    if abs(change) < 0.05:
        return "持平"
    return f"{'+' if change > 0 else '−'}{abs(change):.1f}分"


def subject(facts: MessageFacts, office: Office) -> str:
    prefix = "【更正】" if is_correction(facts) else ""
    return f"{prefix}南京平安指数{month_zh(facts.month)}简报（{office.area}，第{facts.revision}版）"


def body(facts: MessageFacts, office: Office, sha256: str) -> str:
    month = month_zh(facts.month)
    if facts.rank:
        standing = (f"本月{office.area}平安指数为 {facts.composite}，"
                    f"在全市{facts.districts}个区中排第 {facts.rank} 位。")
    else:
        standing = f"本月全市平安指数为 {facts.composite}，各区指数与排名见附件。"
    area = office.area if facts.rank else "全市"
    change = f"{area}平安指数环比（较上月）{change_words(facts.change_mom)}，同比（较上年同月）{change_words(facts.change_yoy)}。"
    if facts.change_mom is not None or facts.change_yoy is not None:
        change += "变化是否超出正常波动范围，以简报所述为准。"
    if facts.warnings:
        warned = [f"{area}本月预警{len(facts.warnings)}项：", *(f"　{w}" for w in facts.warnings)]
    else:
        warned = [f"{area}本月无预警指标。"]
    if facts.other_warnings:
        warned.append(f"各区简报另有预警{facts.other_warnings}项，详见各区简报。")
    lines = [f"{office.name}：", ""]
    if is_correction(facts):
        lines += [correction_sentence(facts), ""]
    lines += [f"现发送{month}南京平安指数{office.area}简报（第{facts.revision}版），见附件。", standing, change, *warned]
    lines += ["", f"附件：{attachment_name(facts, office)}", f"SHA-256：{sha256}", "",
              "本邮件由南京平安指数系统发送，附件与发布版本逐字节一致。如有疑问，请联系市委政法委。"]
    return "\n".join(lines) + "\n"


def correction_sentence(facts: MessageFacts) -> str:
    """Why a correction is sent: which revision it replaces, when and why, first in the message."""
    correction = facts.correction or {}
    replaced = facts.corrects or correction.get("previous_revision")
    when = f"，{date_zh(correction['date'])}更正" if correction.get("date") else ""
    sent = "此前发送的" if facts.corrects else ""
    reason = (correction.get("reason") or facts.reason or "").rstrip("。.")
    why = f"更正原因：{reason}。" if reason else ""
    return f"【更正】本版为更正版（第{facts.revision}版{when}），替代{sent}第{replaced}版，请以本版为准。{why}"


def build(facts: MessageFacts, office: Office, sender: tuple[str, str], pdf: bytes, sha256: str,
          now: datetime) -> EmailMessage:
    message = EmailMessage()
    message["Subject"] = subject(facts, office)
    message["From"] = Address(display_name=sender[0], addr_spec=sender[1])
    message["To"] = [Address(display_name=office.name, addr_spec=a) for a in office.addresses]
    message["Date"] = format_datetime(now)
    domain = sender[1].rsplit("@", 1)[1]
    message["Message-ID"] = make_msgid(idstring=f"nsi.{facts.month}.{office.code}.rev{facts.revision}",
                                       domain=domain)
    message["X-NSI-Month"] = facts.month
    message["X-NSI-District"] = office.code
    message["X-NSI-Revision"] = str(facts.revision)
    message["X-NSI-Attachment-SHA256"] = sha256
    message.set_content(body(facts, office, sha256))
    message.add_attachment(pdf, maintype="application", subtype="pdf", filename=attachment_name(facts, office))
    return message
