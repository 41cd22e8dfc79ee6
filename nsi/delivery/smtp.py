"""Sending over SMTP: STARTTLS and login from the environment, retries with backoff on transient errors.

Nothing here is read from the repository: the server, the account and its password come from the
NSI_SMTP_* settings (nsi.settings) only, and without NSI_SMTP_HOST nothing is sent at all.
"""

from __future__ import annotations

import ipaddress
import os
import smtplib
import socket
import ssl
from email.message import EmailMessage

from pydantic import BaseModel, ConfigDict, SecretStr
from tenacity import Retrying, retry_if_exception, stop_after_attempt, wait_exponential

from nsi.messages import _
from nsi.settings import Settings, SettingsError


class SmtpConfigError(SettingsError):
    pass


class SmtpSettings(BaseModel):
    """The mail server, from the NSI_SMTP_* settings; the rules that span several of them are checked here."""

    model_config = ConfigDict(frozen=True)
    host: str
    port: int = 587
    starttls: bool = True
    username: str | None = None
    password: SecretStr | None = None
    ca_file: str | None = None  # a private CA for the government mail relay
    attempts: int = 4
    backoff_seconds: float = 2.0
    timeout_seconds: float = 30.0

    @classmethod
    def from_settings(cls, settings: Settings) -> SmtpSettings | None:
        """None when NSI_SMTP_HOST is unset: delivery then only writes the outbox."""
        if not settings.smtp_host:
            return None
        smtp = cls(host=settings.smtp_host, port=settings.smtp_port, starttls=settings.smtp_starttls,
                   username=settings.smtp_user, password=settings.smtp_password,
                   ca_file=str(settings.smtp_ca_file) if settings.smtp_ca_file else None,
                   attempts=settings.smtp_attempts, backoff_seconds=settings.smtp_backoff_seconds,
                   timeout_seconds=settings.smtp_timeout_seconds)
        if smtp.username and not smtp.password:
            raise SmtpConfigError(_("NSI_SMTP_USER is set but NSI_SMTP_PASSWORD is not"))
        if smtp.username and not smtp.starttls and not _is_loopback(smtp.host):
            raise SmtpConfigError(_("NSI_SMTP_STARTTLS=0 with a login would send the password in clear; "
                                    "turn STARTTLS on (the default) or use a relay on this machine"))
        if smtp.ca_file and not os.path.exists(smtp.ca_file):
            raise SmtpConfigError(_("NSI_SMTP_CA_FILE names {path}, which does not exist").format(path=smtp.ca_file))
        return smtp

    def describe(self) -> str:
        """The server as the console names it."""
        tls = "STARTTLS" if self.starttls else _("no TLS")
        if self.username:
            return _("{host}:{port} ({tls}, login {user})").format(host=self.host, port=self.port, tls=tls,
                                                                   user=self.username)
        return _("{host}:{port} ({tls})").format(host=self.host, port=self.port, tls=tls)


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class DeliveryFailed(Exception):
    def __init__(self, message: str, attempts: int, accepted: list[str]):
        super().__init__(message)
        self.attempts = attempts
        self.accepted = accepted


class _Refused(Exception):
    """Some addresses were refused; `permanent` when every refusal is a 5xx answer."""

    def __init__(self, refused: dict[str, tuple[int, bytes]]):
        self.refused = refused
        self.permanent = all(code >= 500 for code, _text in refused.values())
        super().__init__("; ".join(f"{address} refused ({code} {text.decode(errors='replace')})"
                                   for address, (code, text) in refused.items()))


def _transient(error: BaseException) -> bool:
    if isinstance(error, _Refused):
        return not error.permanent
    if isinstance(error, (smtplib.SMTPAuthenticationError, smtplib.SMTPNotSupportedError, ssl.SSLCertVerificationError)):
        return False
    if isinstance(error, smtplib.SMTPResponseException):
        return error.smtp_code < 500
    return isinstance(error, (OSError, smtplib.SMTPException))


def _describe(error: BaseException) -> str:
    if isinstance(error, ConnectionRefusedError):
        return "the server refused the connection"
    if isinstance(error, (socket.timeout, TimeoutError)):
        return "the server did not answer in time"
    if isinstance(error, smtplib.SMTPAuthenticationError):
        return f"login refused ({error.smtp_code})"
    if isinstance(error, smtplib.SMTPResponseException):
        return f"the server answered {error.smtp_code} {error.smtp_error.decode(errors='replace')}"
    return str(error) or type(error).__name__


def send(settings: SmtpSettings, message: EmailMessage, addresses: list[str], wait=None) -> int:
    """Send to every address; retry what failed transiently with exponential backoff.

    An address that accepted the message is not sent to again on a retry, so no inbox gets two
    copies. Returns the number of attempts; raises DeliveryFailed once the attempts are used up
    or at a permanent refusal.
    """
    remaining = list(addresses)
    accepted: list[str] = []
    attempts = 0
    retrying = Retrying(stop=stop_after_attempt(settings.attempts), retry=retry_if_exception(_transient),
                        wait=wait or wait_exponential(multiplier=settings.backoff_seconds, max=300), reraise=True)
    try:
        for attempt in retrying:
            with attempt:
                attempts += 1
                refused = _send_once(settings, message, remaining)
                accepted += [a for a in remaining if a not in refused]
                remaining = [a for a in remaining if a in refused]
                if refused:
                    raise _Refused(refused)
    except Exception as error:  # noqa: BLE001 - every failure becomes the office's recorded error
        raise DeliveryFailed(f"{_describe(error)} (after {attempts} attempt{'s' if attempts > 1 else ''})",
                             attempts, accepted) from error
    return attempts


def _send_once(settings: SmtpSettings, message: EmailMessage, addresses: list[str]) -> dict:
    with smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout_seconds) as smtp:
        smtp.ehlo()
        if settings.starttls:
            context = ssl.create_default_context(cafile=settings.ca_file)
            smtp.starttls(context=context)
            smtp.ehlo()
        if settings.username:
            smtp.login(settings.username, settings.password.get_secret_value())
        try:
            return smtp.send_message(message, to_addrs=addresses)
        except smtplib.SMTPRecipientsRefused as exc:
            return exc.recipients
