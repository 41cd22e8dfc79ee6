"""Deliver a published month: each office its own briefing, exactly once per revision, on the record.

The briefing sent is the file of the month's current published revision, checked against the
sha256 in its manifest. Every message is written to the office's outbox
(out/<month>/outbox/<code>/, inside the published revision) and, when an SMTP server is
configured, sent. Each office's outcome is a row of the `deliveries` table and an entry in the
revision's manifest.json under "deliveries"; an office counts as served for a revision once a
message was sent to it (or, with no server configured, written to its outbox), and is not served
again unless a new revision is published or a resend is asked for.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb
import polars as pl

from nsi.delivery import message as messages
from nsi.delivery.recipients import Office, Recipients
from nsi.delivery.smtp import DeliveryFailed, SmtpSettings, send
from nsi.messages import N_, _
from nsi.publication import manifest as manifests
from nsi.publication import revisions
from nsi.publication.index_table import HEADERS
from nsi.reference import CITY_CODE
from nsi.warehouse import database_path

SHANGHAI = ZoneInfo("Asia/Shanghai")
DELIVERIES_DDL = """CREATE TABLE IF NOT EXISTS deliveries (
    month VARCHAR, revision INTEGER, code VARCHAR, office VARCHAR, addresses VARCHAR,
    attachment_sha256 VARCHAR, message_id VARCHAR, status VARCHAR, correction_of INTEGER,
    attempts INTEGER, error VARCHAR, outbox_file VARCHAR, run_id VARCHAR, delivered_at TIMESTAMPTZ)"""
STATUS_WORDS = {"sent": N_("sent"), "outbox": N_("written to the outbox (no SMTP server configured)"),
                "failed": N_("FAILED")}
# What delivery says on the console and in the run's log. A failure's text is also the office's recorded
# `error` (the deliveries table, the manifest), which is the same in every language: it stays English.
TEXT = {
    "not_published": N_("{month} is not published; run `nsi run {month}` first"),
    "no_briefing": N_("{month} revision {revision} has no briefing {file}"),
    "delivered_before": N_("revision {revision} already delivered on {when}; --resend sends it again"),
    "correction": N_("correction of revision {revision}"),
    "resent": N_("sent again (--resend)"),
    "first": N_("first delivery"),
    "logged": N_("{code} {office}: {status} ({why})"),
}
def said(key: str) -> str:
    """One of TEXT's messages in the language in use."""
    return _(TEXT[key])


ALTERED = "{file} no longer matches its manifest sha256; it was altered after publication"


class DeliveryError(Exception):
    """The month cannot be delivered at all (not published, files missing)."""


@dataclass
class Planned:
    office: Office
    attachment: Path
    sha256: str
    facts: messages.MessageFacts  # what the message says about the briefing
    send: bool
    why: str  # why it is sent or skipped, in words


@dataclass
class Outcome:
    office: Office
    status: str  # sent | outbox | failed | skipped
    why: str
    message_id: str | None = None
    attempts: int = 0


@dataclass
class DeliveryReport:
    month: str
    revision: int
    outcomes: list[Outcome] = field(default_factory=list)

    @property
    def failed(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.status == "failed"]


def _published(root: Path, month: str) -> tuple[int, Path, dict]:
    revision = revisions.current_revision(root, month)
    if revision is None:
        raise DeliveryError(said("not_published").format(month=month))
    folder = revisions.revisions_dir(root, month) / f"rev-{revision}"
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    return revision, folder, manifest


def _index_rows(folder: Path) -> dict[str, tuple[str, str]]:
    """code → (composite, rank) exactly as printed in the published index.csv."""
    table = pl.read_csv(folder / "index.csv", infer_schema=False)
    code, composite, rank = HEADERS["code"], HEADERS["composite"], HEADERS["rank"]
    return {row[code]: (row[composite] or "", row[rank] or "") for row in table.iter_rows(named=True)}


def _standing(manifest: dict, code: str) -> dict:
    """What the message says of the office's month beyond composite and rank, from the revision's manifest
    (the numbers the attached briefing was made from): the changes of its composite and its early warnings.
    The city's message also counts the districts' warnings."""
    row = next((r for r in manifest.get("index", []) if r["code"] == code), {})
    warnings = manifest.get("early_warnings", [])
    own = tuple(f"{' '.join(filter(None, [w['indicator'], w.get('name_zh')]))}：{w['warning']}"
                for w in warnings if w["code"] == code)
    others = sum(1 for w in warnings if w["code"] != CITY_CODE) if code == CITY_CODE else 0
    return {"change_mom": row.get("change_mom"), "change_yoy": row.get("change_yoy"), "warnings": own,
            "other_warnings": others}


def _history(con: duckdb.DuckDBPyConnection, month: str) -> dict[str, list[tuple]]:
    exists = con.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = 'deliveries'").fetchone()[0]
    if not exists:
        return {}
    rows = con.execute("SELECT code, revision, status, delivered_at FROM deliveries WHERE month = ? "
                       "ORDER BY delivered_at", [month]).fetchall()
    by_code: dict[str, list[tuple]] = {}
    for code, revision, status, at in rows:
        by_code.setdefault(code, []).append((revision, status, at))
    return by_code


def plan(root: Path, month: str, recipients: Recipients, con: duckdb.DuckDBPyConnection,
         smtp: SmtpSettings | None, resend: bool = False) -> tuple[int, list[Planned]]:
    revision, folder, manifest = _published(root, month)
    recorded = {o["path"]: o["sha256"] for o in manifest["outputs"]}
    index = _index_rows(folder)
    history = _history(con, month)
    districts = sum(1 for o in recipients.offices if o.code != CITY_CODE)
    planned = []
    for office in recipients.offices:
        relative = f"reports/{office.code}.pdf"
        attachment = folder / relative
        if relative not in recorded or not attachment.exists():
            raise DeliveryError(said("no_briefing").format(month=month, revision=revision, file=relative))
        served = [(r, s, at) for r, s, at in history.get(office.code, [])
                  if s == "sent" or (s == "outbox" and smtp is None)]
        earlier = [r for r, _status, _at in served if r < revision]
        this = [at for r, _status, at in served if r == revision]
        composite, rank = index.get(office.code, ("", ""))
        correction = manifest.get("correction")
        facts = messages.MessageFacts(month, revision, composite, rank if office.code != CITY_CODE else "", districts,
                                     max(earlier) if earlier else None,
                                     manifest.get("reason") if earlier or correction else None,
                                     correction, **_standing(manifest, office.code))
        if this and not resend:
            when = this[-1].astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")
            planned.append(Planned(office, attachment, recorded[relative], facts, False,
                                   said("delivered_before").format(revision=revision, when=when)))
            continue
        why = (said("correction").format(revision=facts.corrects) if facts.corrects
               else said("resent") if this else said("first"))
        planned.append(Planned(office, attachment, recorded[relative], facts, True, why))
    return revision, planned


def plan_read_only(root: Path, month: str, recipients: Recipients, smtp: SmtpSettings | None,
                   resend: bool = False) -> tuple[int, list[Planned]]:
    """The plan of a dry run, from a read-only look at the warehouse: nothing is written."""
    database = database_path(root)
    if not database.exists():
        raise DeliveryError(said("not_published").format(month=month))
    con = duckdb.connect(str(database), read_only=True)
    try:
        return plan(root, month, recipients, con, smtp, resend)
    finally:
        con.close()


def deliver(root: Path, month: str, recipients: Recipients, con: duckdb.DuckDBPyConnection,
            smtp: SmtpSettings | None, run_id: str, resend: bool = False, log=lambda text: None,
            wait=None, now=lambda: datetime.now(SHANGHAI)) -> DeliveryReport:
    """Deliver every office whose plan says so; record each outcome as it happens."""
    con.execute(DELIVERIES_DDL)
    revision, planned = plan(root, month, recipients, con, smtp, resend)
    report = DeliveryReport(month, revision)
    folder = root / "out" / month
    for item in planned:
        if not item.send:
            report.outcomes.append(Outcome(item.office, "skipped", item.why))
            continue
        pdf = item.attachment.read_bytes()
        if hashlib.sha256(pdf).hexdigest() != item.sha256:
            outcome = Outcome(item.office, "failed", ALTERED.format(file=item.attachment.name))
            _record(con, folder, month, revision, item, outcome, None, run_id, now())
            report.outcomes.append(outcome)
            log(f"{item.office.code} {item.office.name}: {outcome.why}")  # the recorded error, as recorded
            continue
        sent_at = now()
        message = messages.build(item.facts, item.office, recipients.sender, pdf, item.sha256, sent_at)
        outbox_file = _write_outbox(folder, item.office.code, month, revision, message.as_bytes())
        if smtp is None:
            outcome = Outcome(item.office, "outbox", item.why, message["Message-ID"])
        else:
            try:
                attempts = send(smtp, message, list(item.office.addresses), wait=wait)
                outcome = Outcome(item.office, "sent", item.why, message["Message-ID"], attempts)
            except DeliveryFailed as exc:
                outcome = Outcome(item.office, "failed", str(exc), message["Message-ID"], exc.attempts)
        _record(con, folder, month, revision, item, outcome, outbox_file, run_id, sent_at)
        report.outcomes.append(outcome)
        log(said("logged").format(code=item.office.code, office=item.office.name,
                                     status=_(STATUS_WORDS[outcome.status]), why=outcome.why))
    return report


def _write_outbox(folder: Path, code: str, month: str, revision: int, data: bytes) -> Path:
    box = folder / "outbox" / code
    box.mkdir(parents=True, exist_ok=True)
    number = 1 + sum(1 for _file in box.glob(f"{month}_{code}_rev{revision}_*.eml"))
    target = box / f"{month}_{code}_rev{revision}_{number}.eml"
    partial = box / f".{target.name}.part"
    partial.write_bytes(data)
    partial.replace(target)
    return target


def _record(con, folder: Path, month: str, revision: int, item: Planned, outcome: Outcome,
            outbox_file: Path | None, run_id: str, at: datetime) -> None:
    relative_outbox = outbox_file.relative_to(folder).as_posix() if outbox_file else None
    error = outcome.why if outcome.status == "failed" else None
    con.execute("INSERT INTO deliveries VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [month, revision, item.office.code, item.office.name, ", ".join(item.office.addresses), item.sha256,
                 outcome.message_id, outcome.status, item.facts.corrects, outcome.attempts, error, relative_outbox,
                 run_id, at])
    # The manifest of the revision keeps the same record, so the published folder alone tells who got what.
    manifest_path = folder / "manifest.json"
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    manifest.setdefault("deliveries", []).append({
        "code": item.office.code, "office": item.office.name, "addresses": list(item.office.addresses),
        "revision": revision, "attachment": f"reports/{item.office.code}.pdf", "attachment_sha256": item.sha256,
        "message_id": outcome.message_id, "status": outcome.status, "correction_of": item.facts.corrects,
        "attempts": outcome.attempts, "error": error, "outbox_file": relative_outbox, "run_id": run_id,
        "at": at.isoformat(timespec="seconds")})
    manifests.write(manifest, folder)
