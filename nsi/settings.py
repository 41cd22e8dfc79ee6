"""Every environment variable the project reads (`NSI_*`), declared and validated in this one place.

`load()` reads them once per command and stops with one line naming the variable and what is wrong,
e.g. `NSI_SMTP_PORT='abc' is not a number`. The table of variables is in docs/operations.md.
Dagster's own `DAGSTER_HOME` is Dagster's; everything else the code needs arrives as an argument.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, ValidationError, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from nsi.messages import DEFAULT, LANGUAGES, N_, _

PREFIX = "NSI_"
# Rows ingestion holds at a time; its memory grows with this, not with the month (docs/ingest.md).
INGEST_BATCH_ROWS = 50_000
# DuckDB's memory while it loads a month (docs/ingest.md): without a limit it keeps the month's new blocks
# in memory until the connection closes, so the peak would grow with the city.
INGEST_MEMORY_MB = 300
LOCALE_VARIABLES = ("LC_ALL", "LC_MESSAGES", "LANG")  # POSIX order: the first one set decides


class SettingsError(ValueError):
    """One line naming the variable."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix=PREFIX, extra="ignore", frozen=True)

    data_dir: Path = Field(Path("data"), description="the data directory: raw/, archive/, warehouse/, work/, published/, out/")
    pii_key: SecretStr | None = Field(None, description="secret of the keyed hash of personal data; unset: a development key (the Dagster log of the run says so)")
    vocabulary_dir: Path | None = Field(None, description="the source vocabularies (default data/vocabularies of the code); see docs/ingest.md")
    recipients: str | None = Field(None, description="the recipients file (default config/recipients.yaml); `off`: deliver nothing")
    ingest_batch_rows: int = Field(INGEST_BATCH_ROWS, ge=1, description="rows of an export read, extracted and validated at a time: ingestion's memory is set by it, not by the month")
    ingest_memory_mb: int = Field(INGEST_MEMORY_MB, ge=50, description="DuckDB's memory (MB) while it loads a month into the warehouse; what is over is written to disk, in the warehouse folder")
    lock_wait_seconds: float = Field(1800.0, ge=0, description="how long a run waits for another run holding the warehouse")
    lang: Literal["zh", "en"] | None = Field(None, description="language of messages, zh or en (`nsi --lang` overrides it); unset: English if the locale (LC_ALL, LC_MESSAGES, LANG) is English, else Chinese")
    smtp_host: str | None = Field(None, description="mail server; unset: messages go to the outbox only")
    smtp_port: int = Field(587, ge=1, le=65535, description="mail server port")
    smtp_starttls: bool = Field(True, description="STARTTLS before login (1 or 0)")
    smtp_user: str | None = Field(None, description="login")
    smtp_password: SecretStr | None = Field(None, description="password of the login")
    smtp_ca_file: Path | None = Field(None, description="CA certificate of a private mail relay")
    smtp_attempts: int = Field(4, ge=1, description="attempts per office before it is marked failed")
    smtp_backoff_seconds: float = Field(2.0, ge=0, description="first wait between attempts (doubles)")
    smtp_timeout_seconds: float = Field(30.0, ge=0.1, description="network timeout of one attempt")

    @model_validator(mode="before")
    @classmethod
    def blank_is_unset(cls, values):
        """A blank value (`export NSI_SMTP_HOST=` or only spaces) is unset; other values lose their
        surrounding spaces, except secrets, which are taken as given (a key's spaces are part of its hashes)."""
        if not isinstance(values, dict):
            return values
        return {name: (value if name in SECRETS else value.strip()) if isinstance(value, str) else value
                for name, value in values.items() if not (isinstance(value, str) and not value.strip())}

    @property
    def root(self) -> Path:
        return self.data_dir.resolve()


SECRETS = {"pii_key", "smtp_password"}


class _GivenSettings(Settings):
    """Settings from a given mapping alone, by the same rules, without reading the process environment."""

    @classmethod
    def settings_customise_sources(cls, settings_cls, init_settings, **other_sources):
        return (init_settings,)


def language(env: Mapping[str, str] | None = None) -> str:
    """The language of messages: NSI_LANG when it names one, else English when the locale says so, else Chinese.

    Never raises: the language is needed to say what is wrong with the settings (a wrong NSI_LANG
    included, which `load()` reports)."""
    env = os.environ if env is None else env
    chosen = (env.get(variable("lang")) or "").strip()
    if chosen in LANGUAGES:
        return chosen
    for name in LOCALE_VARIABLES:
        if value := (env.get(name) or "").strip():
            return "en" if value.lower().startswith("en") else DEFAULT
    return DEFAULT


def variable(field: str) -> str:
    return PREFIX + field.upper()


def _problem(item: dict) -> str:
    name = variable(str(item["loc"][0])) if item["loc"] else "NSI_*"
    shown = f"{name}={item['input']!r}" if item.get("input") is not None and item["type"] != "missing" else name
    kind = item["type"]
    if kind in ("int_parsing", "float_parsing", "int_from_float", "finite_number"):
        return _("{variable} is not a number").format(variable=shown)
    if kind in OUT_OF_RANGE:
        bound = next(iter((item.get("ctx") or {}).values()), "")
        return _(OUT_OF_RANGE[kind]).format(variable=shown, bound=f"{bound:g}")
    if kind == "bool_parsing":
        return _("{variable}: use 1 or 0").format(variable=shown)
    if kind == "literal_error":
        choices = ", ".join(re.findall(r"'([^']*)'", item["ctx"]["expected"]))  # pydantic writes "'zh' or 'en'"
        return _("{variable}: use one of {choices}").format(variable=shown, choices=choices)
    return f"{shown}: {item['msg']}"


OUT_OF_RANGE = {
    "greater_than_equal": N_("{variable} is out of range (at least {bound})"),
    "greater_than": N_("{variable} is out of range (more than {bound})"),
    "less_than_equal": N_("{variable} is out of range (at most {bound})"),
    "less_than": N_("{variable} is out of range (less than {bound})"),
}


def load(env: Mapping[str, str] | None = None) -> Settings:
    """The settings from the process environment (or from `env` alone), validated; raises SettingsError."""
    try:
        if env is None:
            return Settings()
        return _GivenSettings(**{name[len(PREFIX):].lower(): value for name, value in env.items()
                                 if name.startswith(PREFIX) and name[len(PREFIX):].lower() in Settings.model_fields})
    except ValidationError as exc:
        raise SettingsError("; ".join(_problem(item) for item in exc.errors(include_url=False))) from None


def table() -> list[tuple[str, str, str]]:
    """(variable, default, meaning) of every setting, for the docs."""
    rows = []
    for name, field in Settings.model_fields.items():
        default = "" if field.default is None else {True: "1", False: "0"}.get(field.default, str(field.default))
        rows.append((variable(name), default, field.description or ""))
    return rows


def markdown() -> str:
    """The table of docs/operations.md: `python -m nsi.settings`."""
    lines = ["| variable | default | meaning |", "|---|---|---|"]
    lines += [f"| `{name}` | {f'`{default}`' if default else '—'} | {meaning} |" for name, default, meaning in table()]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(markdown(), end="")
