"""Delivery: each office receives exactly its own published briefing, once per revision, on the record.

A real SMTP server (aiosmtpd) runs on loopback with STARTTLS (a test CA made by trustme) and login.
"""

import email
import email.policy
import hashlib
import json
import shutil
import socket
from email.message import EmailMessage
from pathlib import Path

import duckdb
import pytest
import trustme
import yaml
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from conftest import run_nsi
from tenacity import wait_none

from nsi.delivery import deliver as delivery
from nsi.delivery.recipients import EXAMPLE_FILE, RecipientsError, parse
from nsi.delivery.recipients import load as load_recipients
from nsi.delivery.smtp import SmtpConfigError, SmtpSettings
from nsi.publication import revisions
from nsi.publication.manifest import sha256_of
from nsi.publication.work import work_dir
from nsi.settings import SettingsError
from nsi.settings import load as load_settings

MONTH = "2024-03"
USER, PASSWORD = "pingan-index", "not-a-real-password"


class Mailboxes:
    """The server's side: every accepted message with its envelope recipients, and what it refused."""

    def __init__(self):
        self.accepted: list[tuple[list[str], bytes]] = []
        self.refuse: dict[str, str] = {}
        self.refused: list[str] = []
        self.logins: list[tuple[str, bool]] = []

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse:
            self.refused.append(address)
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.accepted.append((list(envelope.rcpt_tos), envelope.original_content))
        return "250 Message accepted for delivery"

    def authenticate(self, server, session, envelope, mechanism, auth_data):
        ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (USER.encode(), PASSWORD.encode())
        self.logins.append((mechanism, session.ssl is not None))
        return AuthResult(success=ok)

    def inbox(self, address: str) -> list[EmailMessage]:
        return [email.message_from_bytes(data, policy=email.policy.default)
                for recipients, data in self.accepted if address in recipients]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def certificate_authority(tmp_path_factory):
    ca = trustme.CA()
    folder = tmp_path_factory.mktemp("ca")
    ca.cert_pem.write_to_path(str(folder / "ca.pem"))
    return ca, folder / "ca.pem"


@pytest.fixture
def smtp_server(certificate_authority):
    ca, ca_file = certificate_authority
    import ssl
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    mailboxes = Mailboxes()
    port = free_port()
    controller = Controller(mailboxes, hostname="127.0.0.1", port=port, tls_context=context, require_starttls=True,
                            authenticator=mailboxes.authenticate, auth_required=True, auth_require_tls=True)
    controller.start()
    env = {"NSI_SMTP_HOST": "127.0.0.1", "NSI_SMTP_PORT": str(port), "NSI_SMTP_USER": USER,
           "NSI_SMTP_PASSWORD": PASSWORD, "NSI_SMTP_CA_FILE": str(ca_file), "NSI_SMTP_ATTEMPTS": "3",
           "NSI_SMTP_BACKOFF_SECONDS": "0.05"}
    yield mailboxes, env
    controller.stop()


@pytest.fixture
def published(ingested_q1, tmp_path):
    """A private copy of the published Q1 data and a recipients file for it."""
    root, _ = ingested_q1
    work = tmp_path / "data"
    shutil.copytree(root, work, symlinks=True)
    recipients = tmp_path / "recipients.yaml"
    shutil.copyfile(EXAMPLE_FILE, recipients)
    return work, recipients


def attachments(message: EmailMessage) -> list[tuple[str, bytes]]:
    return [(part.get_filename(), part.get_content()) for part in message.iter_attachments()]


def deliveries(root: Path) -> list[tuple]:
    con = duckdb.connect(str(root / "warehouse" / "nsi.duckdb"), read_only=True)
    try:
        return con.execute("SELECT code, revision, status, attempts, attachment_sha256, message_id, correction_of "
                           "FROM deliveries ORDER BY delivered_at").fetchall()
    finally:
        con.close()


def test_each_office_receives_exactly_its_own_briefing_once(published, smtp_server):
    root, recipients_file = published
    mailboxes, smtp_env = smtp_server
    recipients = load_recipients(recipients_file)
    env = {**smtp_env, "NSI_RECIPIENTS": str(recipients_file)}
    gaochun = recipients.office("320118").addresses[0]
    mailboxes.refuse[gaochun] = "451 4.3.0 mailbox temporarily unavailable"

    # Dry run: who would receive which file, with its sha256; nothing sent, nothing recorded.
    dry = run_nsi(["deliver", MONTH, "--dry-run"], root, env_extra=env)
    listed = dry.stderr.splitlines()
    for office in recipients.offices:
        sha = sha256_of(root / "out" / MONTH / "reports" / f"{office.code}.pdf")
        (line,) = [text for text in listed if text.startswith(f"would send {office.code} {office.name}")]
        assert f"published/{MONTH}/rev-1/reports/{office.code}.pdf sha256 {sha}" in line
        assert all(address in line for address in office.addresses)
    listed = dry.stderr
    assert "would deliver to 12 of 12 offices" in listed
    assert not mailboxes.accepted and not (root / "out" / MONTH / "outbox").exists()

    # One office's server refuses (temporarily): retried, then failed; the other eleven go out.
    first = run_nsi(["deliver", MONTH], root, check=False, env_extra=env)
    assert first.returncode == 1, first.stderr
    assert "NOT DELIVERED 2024-03 高淳区委政法委 (320118)" in first.stderr
    assert "451" in first.stderr and "after 3 attempts" in first.stderr
    assert mailboxes.refused == [gaochun] * 3
    assert mailboxes.logins and all(mechanism and over_tls for mechanism, over_tls in mailboxes.logins)
    for office in recipients.offices:
        published_pdf = (root / "out" / MONTH / "reports" / f"{office.code}.pdf").read_bytes()
        for address in office.addresses:
            inbox = mailboxes.inbox(address)
            if office.code == "320118":
                assert inbox == []
                continue
            assert len(inbox) == 1, (office.code, address)
            (name, data), = attachments(inbox[0])
            assert data == published_pdf, office.code  # byte-identical to the published revision
            assert office.area in name and "第1版" in name
            assert inbox[0]["X-NSI-District"] == office.code
            assert "2024年3月" in inbox[0]["Subject"] and "【更正】" not in inbox[0]["Subject"]
    # No mailbox holds another district's file.
    own = {a: hashlib.sha256((root / "out" / MONTH / "reports" / f"{o.code}.pdf").read_bytes()).hexdigest()
           for o in recipients.offices for a in o.addresses}
    for envelope, data in mailboxes.accepted:
        message = email.message_from_bytes(data, policy=email.policy.default)
        (_, pdf), = attachments(message)
        assert {own[a] for a in envelope} == {hashlib.sha256(pdf).hexdigest()}
    rows = deliveries(root)
    assert sorted((r[0], r[2]) for r in rows) == sorted(
        (o.code, "failed" if o.code == "320118" else "sent") for o in recipients.offices)
    assert next(r for r in rows if r[0] == "320118")[3] == 3

    # The message states the month, the composite, the rank and the revision, in Chinese.
    index = {line.split(",")[1]: line.split(",") for line in
             (root / "out" / MONTH / "index.csv").read_text(encoding="utf-8-sig").splitlines()[1:]}
    text = mailboxes.inbox(recipients.office("320102").addresses[0])[0].get_body(("plain",)).get_content()
    assert f"平安指数为 {index['320102'][3]}" in text and f"排第 {index['320102'][8]} 位" in text and "第1版" in text
    # … the change of its composite in words, as the published index.csv prints it, and its early warnings.
    header = (root / "out" / MONTH / "index.csv").read_text(encoding="utf-8-sig").splitlines()[0].split(",")
    for office in recipients.offices:
        if office.code == "320118":
            continue
        text = mailboxes.inbox(office.addresses[0])[0].get_body(("plain",)).get_content()
        row = dict(zip(header, index[office.code]))
        for label, column in (("环比（较上月）", "环比变化"), ("同比（较上年同月）", "同比变化")):
            printed = row[column]
            words = ("无可比数据" if printed == "" else "持平" if float(printed) == 0
                     else f"{'+' if float(printed) > 0 else '−'}{abs(float(printed)):.1f}分")
            assert label + words in text, (office.code, label, printed)
        warned = duckdb.connect(str(root / "warehouse" / "nsi.duckdb"), read_only=True).execute(
            "SELECT indicator, warning FROM indicator_values WHERE month = ? AND code = ? AND warning IS NOT NULL",
            [MONTH, office.code]).fetchall()
        assert ("本月无预警指标。" in text) == (not warned)
        assert all(f"{indicator} " in text and warning in text for indicator, warning in warned)

    # Again, with the server mended: only the office that missed it receives it; nobody gets a second copy.
    mailboxes.refuse.clear()
    count = len(mailboxes.accepted)
    second = run_nsi(["deliver", MONTH], root, env_extra=env)
    assert "delivery succeeded" in second.stderr
    assert len(mailboxes.accepted) == count + 1 and mailboxes.accepted[-1][0] == [gaochun]
    third = run_nsi(["deliver", MONTH], root, env_extra=env)
    assert "nothing sent" in third.stderr and len(mailboxes.accepted) == count + 1

    # Every message is in its office's outbox too, and the manifest of the revision records each delivery.
    manifest = json.loads((root / "out" / MONTH / "manifest.json").read_text(encoding="utf-8"))
    sent = [d for d in manifest["deliveries"] if d["status"] == "sent"]
    assert sorted(d["code"] for d in sent) == sorted(o.code for o in recipients.offices)
    for entry in sent:
        eml = root / "out" / MONTH / entry["outbox_file"]
        assert eml.parent.name == entry["code"]
        saved = email.message_from_bytes(eml.read_bytes(), policy=email.policy.default)
        assert saved["Message-ID"] == entry["message_id"]
        assert hashlib.sha256(attachments(saved)[0][1]).hexdigest() == entry["attachment_sha256"]
    # Delivery adds records only: the published files still match their manifest.
    for output in manifest["outputs"]:
        assert sha256_of(root / "out" / MONTH / output["path"]) == output["sha256"]



def smtp_settings(env: dict) -> SmtpSettings | None:
    """The mail server of these NSI_* variables alone."""
    return SmtpSettings.from_settings(load_settings(env))


def republish_with_corrected_briefings(root: Path) -> None:
    """Publish revision 2 of the month through the publication code, with every briefing changed."""
    work = work_dir(root, MONTH)
    for pdf in (work / "reports").glob("*.pdf"):
        pdf.write_bytes(pdf.read_bytes() + b"%corrected\n")
    manifest = json.loads((work / "manifest.json").read_text(encoding="utf-8"))
    for output in manifest["outputs"]:
        output["sha256"] = sha256_of(work / output["path"])
    (work / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    assert revisions.publish(root, MONTH, "热线数据重新导出").revision == 2


def test_a_new_revision_is_sent_again_as_a_correction(published, smtp_server):
    root, recipients_file = published
    mailboxes, smtp_env = smtp_server
    recipients = load_recipients(recipients_file)
    smtp = smtp_settings(smtp_env)
    con = duckdb.connect(str(root / "warehouse" / "nsi.duckdb"))
    try:
        first = delivery.deliver(root, MONTH, recipients, con, smtp, "run-1", wait=wait_none())
        assert {o.status for o in first.outcomes} == {"sent"}
        republish_with_corrected_briefings(root)
        second = delivery.deliver(root, MONTH, recipients, con, smtp, "run-2", wait=wait_none())
        assert second.revision == 2 and {o.status for o in second.outcomes} == {"sent"}
        again = delivery.deliver(root, MONTH, recipients, con, smtp, "run-3", wait=wait_none())
        assert {o.status for o in again.outcomes} == {"skipped"}
        resent = delivery.deliver(root, MONTH, recipients, con, smtp, "run-4", resend=True, wait=wait_none())
        assert {o.status for o in resent.outcomes} == {"sent"}
    finally:
        con.close()
    for office in recipients.offices:
        inbox = mailboxes.inbox(office.addresses[0])
        assert [m["X-NSI-Revision"] for m in inbox] == ["1", "2", "2"]
        correction = inbox[1]
        assert correction["Subject"].startswith("【更正】") and "第2版" in correction["Subject"]
        text = correction.get_body(("plain",)).get_content()
        assert "替代此前发送的第1版" in text and "热线数据重新导出" in text
        rev2 = (root / "published" / MONTH / "rev-2" / "reports" / f"{office.code}.pdf").read_bytes()
        assert attachments(correction)[0][1] == rev2 and rev2.endswith(b"%corrected\n")
    rows = deliveries(root)
    assert [r[6] for r in rows if r[1] == 2][:12] == [1] * 12
    assert (root / "published" / MONTH / "rev-2" / "outbox").is_dir()


def test_the_message_of_a_correction_says_why_and_names_the_warnings():
    from nsi.delivery import message
    office = parse(yaml.safe_load(EXAMPLE_FILE.read_text(encoding="utf-8")), EXAMPLE_FILE).office("320102")
    correction = {"revision": 3, "previous_revision": 2, "date": "2024-04-20", "reason": "热线数据重新导出。"}
    facts = message.MessageFacts("2024-03", 3, "61.2", "4", 11, None, None, correction, change_mom=-1.26,
                                 change_yoy=0.04, warnings=("B2 调解成功率：明显差于近12个月常态（比中位数低3.1个稳健标准差）",))
    assert message.subject(facts, office).startswith("【更正】")  # never received revision 2: a correction all the same
    text = message.body(facts, office, "0" * 64)
    assert "【更正】本版为更正版（第3版，2024年4月20日更正），替代第2版，请以本版为准。更正原因：热线数据重新导出。" in text
    assert "环比（较上月）−1.3分，同比（较上年同月）持平。变化是否超出正常波动范围，以简报所述为准。" in text
    assert "本月预警1项：" in text and "B2 调解成功率：明显差于近12个月常态" in text
    delivered = message.MessageFacts("2024-03", 3, "61.2", "4", 11, 1, None, correction)
    assert "替代此前发送的第1版" in message.body(delivered, office, "0" * 64)
    first = message.MessageFacts("2024-03", 1, "61.2", "4", 11, None, None, change_mom=None, change_yoy=2.0)
    text = message.body(first, office, "0" * 64)
    assert "更正" not in text + message.subject(first, office)
    assert "环比（较上月）无可比数据，同比（较上年同月）+2.0分。" in text and "本月无预警指标。" in text
    none = message.body(message.MessageFacts("2024-03", 1, "61.2", "4", 11, None, None), office, "0" * 64)
    assert "环比（较上月）无可比数据，同比（较上年同月）无可比数据。" in none and "正常波动" not in none


def test_a_server_that_refuses_connections(published):
    root, recipients_file = published
    recipients = load_recipients(recipients_file)
    closed = SmtpSettings(host="127.0.0.1", port=free_port(), starttls=False, attempts=3)
    log = []
    con = duckdb.connect(str(root / "warehouse" / "nsi.duckdb"))
    try:
        report = delivery.deliver(root, MONTH, recipients, con, closed, "run-refused", log=log.append, wait=wait_none())
        assert len(report.failed) == 12
        assert all(o.attempts == 3 and "refused the connection" in o.why for o in report.failed)
        # Nothing counts as delivered: the next run tries every office again.
        _, planned = delivery.plan(root, MONTH, recipients, con, closed)
        assert all(p.send for p in planned)
    finally:
        con.close()
    # The messages are still in the outbox for a manual hand-over.
    assert sorted(p.name for p in (root / "out" / MONTH / "outbox").iterdir()) == sorted(o.code for o in recipients.offices)


def test_without_a_server_the_outbox_is_the_delivery(published):
    root, recipients_file = published
    recipients = load_recipients(recipients_file)
    con = duckdb.connect(str(root / "warehouse" / "nsi.duckdb"))
    try:
        report = delivery.deliver(root, MONTH, recipients, con, None, "run-outbox")
        assert {o.status for o in report.outcomes} == {"outbox"}
        assert {o.status for o in delivery.deliver(root, MONTH, recipients, con, None, "again").outcomes} == {"skipped"}
    finally:
        con.close()
    for office in recipients.offices:
        (eml,) = (root / "out" / MONTH / "outbox" / office.code).glob("*.eml")
        message = email.message_from_bytes(eml.read_bytes(), policy=email.policy.default)
        assert [a.addr_spec for a in message["To"].addresses] == list(office.addresses)
        assert attachments(message)[0][1] == (root / "out" / MONTH / "reports" / f"{office.code}.pdf").read_bytes()


def test_an_altered_briefing_is_not_sent(published):
    root, recipients_file = published
    recipients = load_recipients(recipients_file)
    target = root / "published" / MONTH / "rev-1" / "reports" / "320104.pdf"
    target.write_bytes(target.read_bytes() + b"tampered")
    con = duckdb.connect(str(root / "warehouse" / "nsi.duckdb"))
    try:
        report = delivery.deliver(root, MONTH, recipients, con, None, "run-x")
    finally:
        con.close()
    (failed,) = report.failed
    assert failed.office.code == "320104" and "altered after publication" in failed.why
    assert not (root / "out" / MONTH / "outbox" / "320104").exists()


def test_delivering_a_month_that_is_not_published(published):
    root, recipients_file = published
    result = run_nsi(["deliver", "2023-11", "--dry-run"], root, check=False, env_extra={"NSI_RECIPIENTS": str(recipients_file)})
    assert result.returncode == 2 and "2023-11 is not published; run `nsi run 2023-11` first" in result.stderr
    missing = run_nsi(["deliver", MONTH], root, check=False, env_extra={"NSI_RECIPIENTS": "off"})
    assert missing.returncode == 2 and "no recipients file" in missing.stderr


# ---- the recipients file ----------------------------------------------------------------------

def example():
    return yaml.safe_load(EXAMPLE_FILE.read_text(encoding="utf-8"))


def test_the_committed_example_is_valid():
    recipients = load_recipients(EXAMPLE_FILE)
    assert len(recipients.offices) == 12 and recipients.offices[-1].code == "320100"
    assert recipients.office("320115").addresses == ("zfw@jiangning.example.gov.cn", "duty@jiangning.example.gov.cn")


def _unknown_code(data):
    data["offices"]["320199"] = {"office": "某区委政法委", "addresses": ["x@example.gov.cn"]}


def _missing_district(data):
    del data["offices"]["320116"]


def _malformed_address(data):
    data["offices"]["320104"]["addresses"] = ["zfw@qinhuai.example.gov.cn", "zfw at qinhuai"]


def _shared_address(data):
    data["offices"]["320105"]["addresses"] = ["zfw@xuanwu.example.gov.cn"]


def _no_addresses(data):
    data["offices"]["320106"]["addresses"] = []


def _bad_sender(data):
    data["sender"] = "南京平安指数 <nobody>"


@pytest.mark.parametrize("change, message", [
    (_unknown_code, "recipients.yaml: offices.320199: unknown code 320199"),
    (_missing_district, "recipients.yaml: no recipient for 320116 六合区"),
    (_malformed_address, "recipients.yaml: offices.320104: address 2: 'zfw at qinhuai' is not a valid e-mail address"),
    (_shared_address, "recipients.yaml: offices.320105: address zfw@xuanwu.example.gov.cn is also configured for 320102"),
    (_no_addresses, "recipients.yaml: offices.320106: 'addresses' must list at least one address"),
    (_bad_sender, "recipients.yaml: sender: 'nobody' is not a valid e-mail address"),
])
def test_recipients_file_errors_name_the_entry(change, message):
    data = example()
    change(data)
    with pytest.raises(RecipientsError) as error:
        parse(data, Path("config/recipients.yaml"))
    assert message in str(error.value)


def test_recipients_file_that_is_not_yaml(tmp_path):
    broken = tmp_path / "recipients.yaml"
    broken.write_text("offices: [\n", encoding="utf-8")
    with pytest.raises(RecipientsError, match="recipients.yaml: not valid YAML"):
        load_recipients(broken)


def test_smtp_settings_come_from_the_environment_only():
    assert smtp_settings({}) is None
    settings = smtp_settings({"NSI_SMTP_HOST": "mail.example.gov.cn", "NSI_SMTP_USER": "u",
                                              "NSI_SMTP_PASSWORD": "secret"})
    assert (settings.port, settings.starttls) == (587, True) and "secret" not in repr(settings)
    with pytest.raises(SmtpConfigError, match="password in clear"):
        smtp_settings({"NSI_SMTP_HOST": "mail.example.gov.cn", "NSI_SMTP_STARTTLS": "0",
                                       "NSI_SMTP_USER": "u", "NSI_SMTP_PASSWORD": "p"})
    with pytest.raises(SmtpConfigError, match="NSI_SMTP_PASSWORD is not"):
        smtp_settings({"NSI_SMTP_HOST": "h", "NSI_SMTP_USER": "u"})
    with pytest.raises(SettingsError, match="NSI_SMTP_PORT='x' is not a number"):
        smtp_settings({"NSI_SMTP_HOST": "h", "NSI_SMTP_PORT": "x"})
