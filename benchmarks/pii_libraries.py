"""Libraries that find personal data in Chinese text, measured on the same labelled corpus as the scrub.

Usage: python benchmarks/pii_libraries.py [CORPUS]   (default tests/data/pii_corpus.jsonl)

The candidates are not dependencies of the project; install them into a scratch environment first:
`pip install jionlp phonenumbers jieba rjieba`. Each is given the texts half-width (as the extract
cleans them); what it finds is replaced, and the result measured as `benchmarks/pii.py` measures the
scrub (`nsi.sample.corpus.measure`): recall for the kinds the library looks for, whether the kept
items (dates, amounts, case numbers, streets, 110 …) survive, and snippets per second.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path

from nsi.ingest import scrub
from nsi.ingest.extract import place_names
from nsi.reference import load_reference
from nsi.sample import corpus
from nsi.sample.free_text import KEPT_KINDS

Spans = list[tuple[int, int]]


def _replace(text: str, spans: Spans) -> str:
    out, last = [], 0
    for start, end in sorted(spans):
        if start < last:
            start = last
        if start >= end:
            continue
        out += [text[last:start], "[姓名]"]  # any token: only what is left in place is measured
        last = end
    return "".join(out) + text[last:]


def phonenumbers_phones() -> Callable[[str], Spans]:
    import phonenumbers

    return lambda text: [(m.start, m.end) for m in phonenumbers.PhoneNumberMatcher(text, "CN")]


def jionlp_numbers() -> Callable[[str], Spans]:
    import jionlp

    finders = (jionlp.extract_phone_number, jionlp.extract_id_card, jionlp.extract_email, jionlp.extract_qq,
               jionlp.extract_wechat_id, jionlp.extract_motor_vehicle_licence_plate)

    def find(text: str) -> Spans:
        return [tuple(hit["offset"]) for f in finders for hit in f(text, detail=True)]
    return find


def _tagged_names(pairs) -> Spans:
    spans, at = [], 0
    for word, flag in pairs:
        if flag.startswith("nr"):
            spans.append((at, at + len(word)))
        at += len(word)
    return spans


def jieba_names() -> Callable[[str], Spans]:
    import jieba
    import jieba.posseg

    jieba.setLogLevel(60)
    return lambda text: _tagged_names((p.word, p.flag) for p in jieba.posseg.cut(text))


def rjieba_names() -> Callable[[str], Spans]:
    import rjieba

    return lambda text: _tagged_names(rjieba.tag(text))


CANDIDATES = {
    "phonenumbers (PhoneNumberMatcher, CN)": (phonenumbers_phones, ("phone",)),
    "jionlp 1.5 (extract_phone_number, _id_card, _email, _qq, _wechat_id, _motor_vehicle_licence_plate)":
        (jionlp_numbers, ("phone", "id_number", "email", "qq", "wechat", "plate")),
    "jieba 0.42 posseg (nr tags)": (jieba_names, ("name (labelled)", "name (own)", "name (unlabelled)")),
    "rjieba 0.2 tag (nr tags)": (rjieba_names, ("name (labelled)", "name (own)", "name (unlabelled)")),
}


def main() -> None:
    path = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parent.parent / "tests/data/pii_corpus.jsonl"
    records = corpus.read(path)
    texts = [r["text"].translate(corpus.HALFWIDTH) for r in records]
    places = place_names(load_reference())
    scrub.scrub_texts(texts[:10], places)  # the patterns compile on first use
    start = time.perf_counter()
    scrubbed = scrub.scrub_texts([r["text"] for r in records], places)
    seconds = time.perf_counter() - start
    ours = corpus.measure(records, scrubbed)
    _report("this project's scrub, patterns alone", ours, seconds, len(records),
            sorted(b for b in ours.total if b not in KEPT_KINDS))
    for label, (make, kinds) in CANDIDATES.items():
        try:
            find = make()
        except ImportError as exc:
            print(f"{label}: not installed ({exc.name})")
            continue
        find(texts[0])  # dictionaries and models load on first use
        start = time.perf_counter()
        scrubbed = [_replace(t, find(t)) for t in texts]
        seconds = time.perf_counter() - start
        _report(label, corpus.measure(records, scrubbed), seconds, len(records), kinds)


def _report(label: str, tally: corpus.Tally, seconds: float, n: int, kinds) -> None:
    found = ", ".join(f"{k} {tally.share(k):.1%}" for k in kinds)
    kept = min(tally.share(k) for k in KEPT_KINDS)
    print(f"{label}: {n / seconds:,.0f} snippets/s; removed: {found}; kept items intact (worst kind): {kept:.1%}; "
          f"characters outside personal items kept: {tally.characters_kept / tally.characters:.1%}")


if __name__ == "__main__":
    main()
