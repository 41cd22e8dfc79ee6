"""Who receives which briefing: the recipients file, validated on load.

One entry per district code and one for the city (the committee, which receives the city
overview). Every district must have a recipient, and an address may belong to one entry only:
a shared address would put one district's briefing in another district's inbox.
"""

from __future__ import annotations

from dataclasses import dataclass
from email.utils import parseaddr
from pathlib import Path

import yaml
from email_validator import EmailNotValidError, validate_email
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from nsi.messages import _
from nsi.reference import CITY_CODE, load_reference

REPO = Path(__file__).resolve().parent.parent.parent
DEFAULT_FILE = Path("config") / "recipients.yaml"
EXAMPLE_FILE = REPO / "config" / "recipients.example.yaml"


class RecipientsError(ValueError):
    pass


@dataclass(frozen=True)
class Office:
    code: str
    name: str  # the office, e.g. 玄武区委政法委
    area: str  # what its briefing is about, e.g. 玄武区 or 南京市
    addresses: tuple[str, ...]


@dataclass(frozen=True)
class Recipients:
    path: Path
    sender: tuple[str, str]  # (display name, address) of the From header
    offices: tuple[Office, ...]

    def office(self, code: str) -> Office:
        return next(o for o in self.offices if o.code == code)


def recipients_path(configured: str | None) -> Path | None:
    """The NSI_RECIPIENTS setting, else config/recipients.yaml; None when neither exists or it is `off`."""
    configured = (configured or "").strip()
    if configured.lower() == "off":
        return None
    if configured:
        path = Path(configured)
        if not path.exists():
            raise RecipientsError(_("NSI_RECIPIENTS names {path}, which does not exist").format(path=path))
        return path
    for candidate in (Path.cwd() / DEFAULT_FILE, REPO / DEFAULT_FILE):
        if candidate.exists():
            return candidate
    return None


def _address(value, where: str) -> str:
    if not isinstance(value, str):
        raise RecipientsError(_("{where}: an address must be text, got {value}").format(where=where, value=repr(value)))
    try:
        return validate_email(value.strip(), check_deliverability=False).normalized
    except EmailNotValidError as exc:
        raise RecipientsError(_("{where}: '{value}' is not a valid e-mail address ({error})").format(
            where=where, value=value, error=exc)) from None


class OfficeEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")
    office: str = Field(min_length=1)  # the office's name
    addresses: list[str]

    @field_validator("addresses", mode="before")
    @classmethod
    def one_or_many(cls, value):
        return [value] if isinstance(value, str) else value


class RecipientsFile(BaseModel):
    """The layout of the file; what the entries say (codes, addresses) is checked in `parse`."""

    model_config = ConfigDict(extra="forbid")
    version: int | str | None = None
    sender: str  # the From address of the messages
    offices: dict[int | str, OfficeEntry]  # district code (unquoted in YAML: a number) (or the city's) → office and its addresses


def _layout_problem(error: ValidationError, name: str) -> str:
    item = error.errors(include_url=False)[0]
    location = ".".join(str(part) for part in item["loc"]) or _("(top level)")
    return f"{name}: {location}: {item['msg']}"


def parse(data, path: Path) -> Recipients:
    name = path.name
    try:
        layout = RecipientsFile.model_validate(data)
    except ValidationError as exc:
        raise RecipientsError(_layout_problem(exc, name)) from None
    sender_name, sender_address = parseaddr(layout.sender)
    sender = (sender_name.strip(), _address(sender_address or layout.sender, f"{name}: sender"))
    if not layout.offices:
        raise RecipientsError(_("{name}: 'offices' must map each district code (and {city} for the city) to an office "
                                "and its addresses").format(name=name, city=CITY_CODE))
    reference = load_reference()
    areas = {code: reference.name(code) for code in [*reference.district_codes, CITY_CODE]}
    offices, owner = [], {}
    for raw_code, entry in layout.offices.items():
        code = str(raw_code).strip()
        where = f"{name}: offices.{code}"  # a place in the file, not a sentence
        if code not in areas:
            raise RecipientsError(_("{where}: unknown code {code}; the district codes are {codes} and {city} for the "
                                    "city").format(where=where, code=code, codes=", ".join(reference.district_codes),
                                                   city=CITY_CODE))
        if not entry.addresses:
            raise RecipientsError(_("{where}: 'addresses' must list at least one address").format(where=where))
        addresses = []
        for position, value in enumerate(entry.addresses, start=1):
            address = _address(value, _("{where}: address {position}").format(where=where, position=position))
            key = address.lower()
            if key in owner and owner[key] != code:
                raise RecipientsError(_("{where}: address {address} is also configured for {other}; each address "
                                        "may receive one district's briefing only").format(
                                            where=where, address=address, other=owner[key]))
            owner[key] = code
            if address not in addresses:
                addresses.append(address)
        offices.append(Office(code, entry.office.strip(), areas[code], tuple(addresses)))
    missing = [c for c in [*reference.district_codes, CITY_CODE] if c not in {o.code for o in offices}]
    if missing:
        named = ", ".join(f"{c} {areas[c]}" for c in missing)
        raise RecipientsError(_("{name}: no recipient for {offices}; every district and the city need one").format(
            name=name, offices=named))
    order = {c: i for i, c in enumerate([*reference.district_codes, CITY_CODE])}
    return Recipients(path, sender, tuple(sorted(offices, key=lambda o: order[o.code])))


def load(path: Path) -> Recipients:
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RecipientsError(_("{path}: the recipients file does not exist").format(path=path)) from None
    except yaml.YAMLError as exc:
        raise RecipientsError(_("{file}: not valid YAML: {error}").format(file=path.name, error=exc)) from None
    return parse(data, path)
