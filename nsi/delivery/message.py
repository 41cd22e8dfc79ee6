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
    """What the message says about the attached facts."""

    month: str  # YYYY-MM
    revision: int
    composite: str  # as printed in index.csv
    rank: str  # empty for the city
    districts: int
    corrects: int | None  # the revision this one replaces for the office, if any was delivered
    reason: str | None  # why the month was published again


def month_zh(month: str) -> str:
    return f"{int(month[:4])}年{int(month[5:])}月"


def attachment_name(facts: MessageFacts, office: Office) -> str:
    return f"南京平安指数简报_{month_zh(facts.month)}_{office.area}_第{facts.revision}版.pdf"


def subject(facts: MessageFacts, office: Office) -> str:
    prefix = "【更正】" if facts.corrects else ""
    return f"{prefix}南京平安指数{month_zh(facts.month)}简报（{office.area}，第{facts.revision}版）"


def body(facts: MessageFacts, office: Office, sha256: str) -> str:
    month = month_zh(facts.month)
    if facts.rank:
        standing = (f"本月{office.area}平安指数为 {facts.composite}，"
                    f"在全市{facts.districts}个区中排第 {facts.rank} 位。")
    else:
        standing = f"本月全市平安指数为 {facts.composite}，各区指数与排名见附件。"
    lines = [f"{office.name}：", "",
             f"现发送{month}南京平安指数{office.area}简报（第{facts.revision}版），见附件。", standing]
    if facts.corrects:
        reason = f"更正原因：{facts.reason}。" if facts.reason else ""
        lines += ["", f"本版为更正版，替代此前发送的第{facts.corrects}版，请以本版为准。{reason}"]
    lines += ["", f"附件：{attachment_name(facts, office)}", f"SHA-256：{sha256}", "",
              "本邮件由南京平安指数系统发送，附件与发布版本逐字节一致。如有疑问，请联系市委政法委。"]
    return "\n".join(lines) + "\n"


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
