"""Keep the message catalogue in step with the code (Babel): `python -m nsi.messages_build`.

Extracts every message id from the code, merges them into each translation's .po (new ids get an
empty translation, ids no longer in the code are dropped) and compiles the .mo the program reads.
The .mo is committed, so a fresh set-up needs no build step; the same .po always compiles to the
same bytes (fixed header dates: git keeps the history). `check()` is what tests/test_messages.py asks.
"""

from __future__ import annotations

import io
import string
import sys
from datetime import datetime, timezone
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

from nsi.messages import DOMAIN, LANGUAGES, LOCALE_DIR, SOURCE

REPO = LOCALE_DIR.parent.parent
CODE = ("nsi", "pipelines", "assets", "indicators", "reports")
METHODS = [("pipelines/cli.py", "pipelines.cli_messages:extract")] + [(f"{d}/**.py", "python") for d in CODE]
KEYWORDS = {"_": None, "N_": None, "ngettext": (1, 2), "Nn_": (1, 2)}
FIXED_DATE = datetime(2024, 1, 1, tzinfo=timezone.utc)
LANGUAGE_NAMES = {"zh": "Chinese"}


def translated_languages() -> list[str]:
    return [language for language in LANGUAGES if language != SOURCE]


def po_path(language: str) -> Path:
    return LOCALE_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.po"


def mo_path(language: str) -> Path:
    return po_path(language).with_suffix(".mo")


def extract() -> Catalog:
    """Every message id of the code, with the files it is in."""
    template = Catalog(project="nanjing-safety-index", domain=DOMAIN, creation_date=FIXED_DATE, fuzzy=False)
    top = {d for d in CODE}

    def inside_code(path: str) -> bool:
        relative = Path(path).relative_to(REPO).parts
        return bool(relative) and relative[0] in top and not any(p.startswith((".", "__")) for p in relative)

    for filename, lineno, message, comments, context in extract_from_dir(
            REPO, METHODS, keywords=KEYWORDS, comment_tags=("TRANSLATORS:",), strip_comment_tags=True,
            directory_filter=inside_code):
        template.add(message, None, [(filename, lineno)], auto_comments=comments, context=context)
    return template


def read(language: str) -> Catalog:
    with po_path(language).open("rb") as handle:
        return read_po(handle, locale=language, domain=DOMAIN)


def _po_bytes(catalog: Catalog) -> bytes:
    buffer = io.BytesIO()
    write_po(buffer, catalog, width=120, ignore_obsolete=True, include_lineno=False, sort_by_file=False)
    return buffer.getvalue()


def mo_bytes(catalog: Catalog) -> bytes:
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    return buffer.getvalue()


def _stamped(catalog: Catalog, language: str) -> Catalog:
    catalog.creation_date = catalog.revision_date = FIXED_DATE
    catalog.fuzzy = False
    catalog.project, catalog.version, catalog.msgid_bugs_address = "nanjing-safety-index", "1", ""
    catalog.copyright_holder = "the Nanjing Safety Index maintainers"
    catalog.language_team = catalog.last_translator = "nanjing-safety-index"
    catalog.header_comment = (f"# {LANGUAGE_NAMES[language]} messages of the Nanjing Safety Index (nsi).\n"
                              "# Written by `python -m nsi.messages_build`: edit the msgstr lines, then run it again.")
    catalog._num_plurals, catalog._plural_expr = None, None  # taken from the locale: one form for Chinese
    return catalog


def update() -> None:
    """Merge the code's message ids into every .po and compile every .mo."""
    template = extract()
    for language in translated_languages():
        path = po_path(language)
        if path.exists():
            catalog = read(language)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            catalog = Catalog(locale=language, domain=DOMAIN)
        catalog.update(template, no_fuzzy_matching=True, update_header_comment=False)
        catalog = _stamped(catalog, language)
        path.write_bytes(_po_bytes(catalog))
        mo_path(language).write_bytes(mo_bytes(read(language)))


def check() -> list[str]:
    """What is out of step: message ids without a translation, translations of ids the code no longer
    has, .po files not as `update` writes them, .mo files not compiled from their .po."""
    template = extract()
    wanted = {message.id for message in template if message.id}
    problems = []
    for language in translated_languages():
        catalog = read(language)
        have = {message.id for message in catalog if message.id}
        for message in template:
            if not message.id:
                continue
            found = catalog.get(message.id)
            strings = found.string if found is not None else None
            if found is None or found.fuzzy or not (all(strings) if isinstance(strings, tuple) else strings):
                problems.append(f"{language}: no translation of {_shown(message.id)}")
        for message_id in sorted(have - wanted, key=str):
            problems.append(f"{language}: {_shown(message_id)} is translated but no longer in the code")
        for message in catalog:
            if message.id and not same_placeholders(message):
                problems.append(f"{language}: the translation of {_shown(message.id)} changes its placeholders")
        if not mo_path(language).exists() or mo_path(language).read_bytes() != mo_bytes(catalog):
            problems.append(f"{language}: {mo_path(language).relative_to(REPO)} is not compiled from its .po")
    return problems


def same_placeholders(message) -> bool:
    """Whether the translation keeps the {placeholders} of its id (a lost or misspelt one fails at .format)."""
    ids = message.id if isinstance(message.id, tuple) else (message.id,)
    strings = message.string if isinstance(message.string, tuple) else (message.string,)
    if len(ids) > 1:  # one Chinese form for singular and plural: the placeholders of either
        allowed = _placeholders(ids[0]) | _placeholders(ids[1])
        return all(_placeholders(s) <= allowed for s in strings if s)
    return all(_placeholders(s) == _placeholders(ids[0]) for s in strings if s)


def _placeholders(text: str) -> set[str]:
    return {field for _, field, _, _ in string.Formatter().parse(text) if field is not None}


def _shown(message_id) -> str:
    text = message_id[0] if isinstance(message_id, tuple) else message_id
    return repr(text if len(text) <= 80 else text[:77] + "...")


if __name__ == "__main__":
    update()
    left = check()
    print("\n".join(left) or "the catalogue is complete", file=sys.stderr)
    sys.exit(1 if left else 0)
