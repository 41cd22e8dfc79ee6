"""The message catalogue: every sentence the CLI, the run summary and the ingest errors show a person.

Messages are written in English in the code, as gettext message ids (`_("…")`, or `N_("…")` where a
message is named before it is shown), and translated in nsi/locale/<lang>/LC_MESSAGES/nsi.po;
the compiled nsi.mo beside it is what the program reads (standard `gettext`). Chinese is the
default; English is the message id itself, so it needs no catalogue of its own.

The language is chosen once per command (`use`): `nsi --lang`, else NSI_LANG, else the locale
(nsi.settings.language). It changes what is said, never what is stored or published: the
warehouse keeps rule codes, and the text of a rule is looked up when it is shown.

Updating the catalogue after changing a message: `bash scripts/messages.sh` (docs/operations.md,
"Languages"); tests/test_messages.py fails while a message has no translation or the .mo is stale.
"""

from __future__ import annotations

import gettext as _gettext
from pathlib import Path

DOMAIN = "nsi"
LOCALE_DIR = Path(__file__).resolve().parent / "locale"
LANGUAGES = ("zh", "en")
DEFAULT = "zh"
SOURCE = "en"  # the language of the message ids

_active: tuple[str, _gettext.NullTranslations] | None = None


def catalogue(language: str) -> _gettext.NullTranslations:
    """The translations of one language; the message ids themselves for English."""
    if language == SOURCE:
        return _gettext.NullTranslations()
    return _gettext.translation(DOMAIN, LOCALE_DIR, languages=[language])


def use(language: str) -> None:
    """Speak `language` from now on in this process. typer, whose `--help` headings and a few words are
    in the same catalogue, is pointed at it by pipelines.cli_messages."""
    global _active
    if language not in LANGUAGES:
        raise ValueError(f"unknown language {language!r}; choose from {', '.join(LANGUAGES)}")
    _active = (language, catalogue(language))


def language() -> str:
    """The language in use: the one chosen by `use`, else the one the environment asks for."""
    return _current()[0]


def _current() -> tuple[str, _gettext.NullTranslations]:
    global _active
    if _active is None:
        from nsi.settings import language as configured

        chosen = configured()
        _active = (chosen, catalogue(chosen))
    return _active


def _(message: str) -> str:
    """`message` (an English message id) in the language in use."""
    return _current()[1].gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return _current()[1].ngettext(singular, plural, n)


def N_(message: str) -> str:
    """Marks a message id for the catalogue where it is defined; `_()` translates it where it is shown."""
    return message


def Nn_(singular: str, plural: str) -> tuple[str, str]:
    """Marks a message with a plural for the catalogue; `ngettext` translates it where it is shown."""
    return singular, plural


def translator(language: str | None = None):
    """The `_` of one language (default: the language in use), for text rendered in a language of its own."""
    return _ if language is None else catalogue(language).gettext
