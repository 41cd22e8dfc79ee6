"""The labelled corpus of free text: snippets in the styles of the three sources, each with its row's
own personal values and every planted item marked, and how a scrubber is measured on it.

The snippets come from `free_text` (the code that writes the sample's exports), with people drawn
from `people` and places from the reference data. `python -m nsi.sample.corpus PATH` writes the
corpus the tests ship (tests/data/pii_corpus.jsonl); the same seed writes the same bytes.

Measuring: the scrubbed text is aligned with the original, character by character (a replacement
token counts as one character that matches nothing). A personal item is *removed* when none of its
letters, digits or Chinese characters is still in place; a kept item (date, amount, count, case
number, street, road, service number) is *kept* when all of its characters are.
"""

from __future__ import annotations

import json
import re
import sys
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from difflib import SequenceMatcher
from pathlib import Path

from nsi.reference import Reference, load_reference
from nsi.sample import free_text as ft
from nsi.sample import world

SEED = 20240314
PER_STYLE = 1500
# The personal columns of each source's vocabulary whose values a row carries into its free text.
OWN_COLUMNS = {
    "police": {"caller_name": "name", "caller_phone": "phone", "incident_address": "address"},
    "hotline": {"requester_name": "name", "caller_phone": "phone", "contact_phone": "phone", "id_number": "id_number",
                "incident_address": "address"},
    "disputes": {"party_name": "name", "mediator": "name", "party_phone": "phone", "party_id_number": "id_number",
                 "party_address": "address"},
}
TOPICS = {
    "police": [sub for table in world.POLICE_SUBCATEGORIES.values() for sub in table],
    "hotline": [matter[2] for matter in world.HOTLINE_MATTERS if matter[2] != "其他"],
    "disputes": list(world.DISPUTE_TYPES),
}
TOKEN = "\ue000"  # stands for a replacement token when aligning: no snippet holds it
TOKENS = re.compile(r"\[(?:电话|证件号|银行卡号|邮箱|QQ号|微信号|车牌|姓名|地址)\]")
HALFWIDTH = str.maketrans({chr(c): chr(c - 0xFEE0) for c in (*range(0xFF10, 0xFF1A), *range(0xFF21, 0xFF3B),
                                                               *range(0xFF41, 0xFF5B), 0xFF0D, 0xFF0F, 0xFF0E, 0xFF0B)})


def _column_phone(ch: ft.Chooser) -> str:
    """A phone as the structured column holds it (as people.phones writes them)."""
    if ch.chance(0.8):
        return ft.mobile(ch)
    number = ft.landline(ch)
    return ch.pick((f"025-{number}", f"(025){number}", number))


def _row(style: str, ch: ft.Chooser, ref: Reference) -> tuple[dict[str, str], ft.Own, ft.Context]:
    code = ch.pick(ref.district_codes)
    district = ref.districts[code]
    street = ch.pick(ref.streets_of(code)).name
    month = ch.between(1, 12)
    ctx = ft.Context(district.name_zh, street, ch.pick(TOPICS[style]), 2024, month, district.short_zh)
    rest, _ = ft._address_rest(ch)
    address = ft.Address(district.name_zh, street, rest)
    names = [ft.name(ch)] + ([ft.name(ch)] if style == "disputes" else [])
    phones = [_column_phone(ch)] + ([_column_phone(ch) if ch.chance(0.6) else ""] if style == "hotline" else [])
    has_id = style == "disputes" or (style == "hotline" and ch.chance(0.15))
    id_number = ft.id_number(ch, 2024, ch.chance(0.1)) if has_id else ""
    own = ft.Own(names, phones, id_number, address)
    values = dict(zip([c for c, k in OWN_COLUMNS[style].items() if k == "name"], names))
    values.update(zip([c for c, k in OWN_COLUMNS[style].items() if k == "phone"], phones))
    if style != "police":
        values[next(c for c, k in OWN_COLUMNS[style].items() if k == "id_number")] = id_number
    values[next(c for c, k in OWN_COLUMNS[style].items() if k == "address")] = f"江苏省南京市{district.name_zh}{street}{rest}"
    return values, own, ctx


def build(seed: int = SEED, per_style: int = PER_STYLE, ref: Reference | None = None) -> list[dict]:
    ref = ref or load_reference()
    ch = ft.Chooser(seed)
    records = []
    for style in ft.STYLES:
        for _ in range(per_style):
            values, own, ctx = _row(style, ch, ref)
            snippet = ft.write(style, ch, own, ctx)
            records.append({"style": style, "text": snippet.text, "own": values,
                            "items": [{"kind": i.kind, "form": i.form, "label": i.label, "own": i.own,
                                       "start": i.start, "end": i.end} for i in snippet.items]})
    return records


# One JSON object per line: style, text, own (column → value) and items, each item written as
# [kind, form, label, own, start, end] (start and end count characters of the text).
ITEM_FIELDS = ("kind", "form", "label", "own", "start", "end")


def dumps(records: list[dict]) -> bytes:
    lines = []
    for r in records:
        line = {"style": r["style"], "text": r["text"], "own": r["own"],
                "items": [[item[f] for f in ITEM_FIELDS] for item in r["items"]]}
        lines.append(json.dumps(line, ensure_ascii=False, separators=(",", ":")) + "\n")
    return "".join(lines).encode("utf-8")


def read(path: Path) -> list[dict]:
    records = []
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        r = json.loads(line)
        records.append({**r, "items": [dict(zip(ITEM_FIELDS, item)) for item in r["items"]]})
    return records


# ------------------------------------------------------------------------------------ measuring
def bucket(item: dict) -> str:
    """The line of the results an item counts in: its kind, and for names how they can be recognised."""
    return f"name ({item['label']})" if item["kind"] == "name" else item["kind"]


@dataclass
class Tally:
    found: Counter = field(default_factory=Counter)  # personal: removed; kept kinds: kept intact
    total: Counter = field(default_factory=Counter)
    misses: dict = field(default_factory=lambda: defaultdict(list))  # bucket → (text, item text) examples
    characters_kept: int = 0  # characters outside every personal item that stayed in place
    characters: int = 0

    def share(self, key: str) -> float:
        return self.found[key] / self.total[key] if self.total[key] else float("nan")


def kept_positions(original: str, scrubbed: str) -> set[int]:
    """Positions of `original` that are still in place in `scrubbed`."""
    a = original.translate(HALFWIDTH)  # the scrub works on half-width text
    b = TOKENS.sub(TOKEN, scrubbed)
    kept: set[int] = set()
    for block in SequenceMatcher(None, a, b, autojunk=False).get_matching_blocks():
        kept.update(range(block.a, block.a + block.size))
    return kept


def _significant(text: str, start: int, end: int) -> list[int]:
    return [i for i in range(start, end) if text[i].isalnum()]


def measure(records: list[dict], scrubbed: list[str | None], keep_examples: int = 5) -> Tally:
    tally = Tally()
    for record, out in zip(records, scrubbed):
        text = record["text"]
        kept = kept_positions(text, out or "")
        personal = set()
        for item in record["items"]:
            key, span = bucket(item), range(item["start"], item["end"])
            tally.total[key] += 1
            if item["kind"] in ft.PERSONAL_KINDS:
                personal.update(span)
                ok = not any(i in kept for i in _significant(text, item["start"], item["end"]))
            else:
                ok = all(i in kept for i in span)
            if ok:
                tally.found[key] += 1
            elif len(tally.misses[key]) < keep_examples:
                tally.misses[key].append((text[item["start"]:item["end"]], out))
        outside = [i for i in range(len(text)) if i not in personal]
        tally.characters += len(outside)
        tally.characters_kept += sum(1 for i in outside if i in kept)
    return tally


def own_frame(records: list[dict]):
    """The records as the extract sees them: the text beside the row's personal columns."""
    import polars as pl

    columns = sorted({c for cols in OWN_COLUMNS.values() for c in cols})
    return pl.DataFrame({"text": [r["text"] for r in records],
                         **{c: [r["own"].get(c) or None for r in records] for c in columns}},
                        schema={"text": pl.Utf8, **{c: pl.Utf8 for c in columns}})


def scrub_records(records: list[dict], with_own_values: bool = True, ref: Reference | None = None) -> list[str | None]:
    """The texts through the extract's free-text scrub, with the rows' own values or without them."""
    import polars as pl

    from nsi.ingest import pii
    from nsi.ingest.extract import place_names, scrub_free_text

    frame = own_frame(records)
    kinds = {c: k for cols in OWN_COLUMNS.values() for c, k in cols.items()} if with_own_values else {}
    values = frame.select([pii.NORMALISERS[k](pl.col(c)).alias(f"_pii_{c}") for c, k in kinds.items()])
    return scrub_free_text(frame, "text", values, {f"_pii_{c}": k for c, k in kinds.items()},
                           place_names(ref or load_reference())).to_list()


def main(argv: list[str]) -> None:
    if len(argv) != 1:
        sys.exit("usage: python -m nsi.sample.corpus PATH  (writes the labelled corpus as JSON lines)")
    Path(argv[0]).write_bytes(dumps(build()))


if __name__ == "__main__":
    main(sys.argv[1:])
