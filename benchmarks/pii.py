"""The free-text scrub on the labelled corpus: recall per personal kind, what stays of the rest, speed.

Usage: python benchmarks/pii.py [CORPUS]   (default tests/data/pii_corpus.jsonl)

Recall: the share of planted items none of whose letters, digits or Chinese characters is left in
place (`nsi.sample.corpus.measure`). Kept: the share of non-personal items (dates, amounts, counts,
case numbers, streets, roads, 110/12345) left whole. Both as the extract runs the scrub (with the
row's own personal columns) and with the patterns alone. Speed: the corpus repeated to 225,000
snippets through the extract's scrub, best of three.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from nsi.sample import corpus
from nsi.sample.free_text import KEPT_KINDS, PERSONAL_KINDS

REPEAT = 50


def main() -> None:
    path = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parent.parent / "tests/data/pii_corpus.jsonl"
    records = corpus.read(path)
    with_own = corpus.measure(records, corpus.scrub_records(records, with_own_values=True))
    alone = corpus.measure(records, corpus.scrub_records(records, with_own_values=False))
    styles = ", ".join(f"{style} {sum(r['style'] == style for r in records)}" for style in ("police", "hotline", "disputes"))
    print(f"{len(records)} snippets ({styles})")
    print()
    print("| kind | items | removed (with the row's values) | removed (patterns alone) |")
    print("|---|---|---|---|")
    buckets = [b for b in sorted(with_own.total) if b.split(" ")[0] in PERSONAL_KINDS]
    for bucket in buckets:
        print(f"| {bucket} | {with_own.total[bucket]:,} | {with_own.found[bucket]:,} ({with_own.share(bucket):.1%}) "
              f"| {alone.found[bucket]:,} ({alone.share(bucket):.1%}) |")
    print()
    print("| kept kind | items | kept whole |")
    print("|---|---|---|")
    for bucket in KEPT_KINDS:
        print(f"| {bucket} | {with_own.total[bucket]:,} | {with_own.found[bucket]:,} ({with_own.share(bucket):.1%}) |")
    print(f"| every character outside a personal item | {with_own.characters:,} | {with_own.characters_kept:,} "
          f"({with_own.characters_kept / with_own.characters:.2%}) |")
    for bucket, misses in sorted(with_own.misses.items()):
        for item, out in misses[:2]:
            print(f"  not removed ({bucket}): {item!r} in {out!r}")

    many = records * REPEAT
    best = min(_timed(lambda: corpus.scrub_records(many, with_own_values=True)) for _ in range(3))
    characters = sum(len(r["text"]) for r in many)
    print()
    print(f"speed: {len(many):,} snippets ({characters / 1e6:.1f} M characters) in {best:.2f} s, "
          f"{len(many) / best:,.0f} snippets/s")


def _timed(run) -> float:
    start = time.perf_counter()
    run()
    return time.perf_counter() - start


if __name__ == "__main__":
    main()
