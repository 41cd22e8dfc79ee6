"""The share of the population a month's exports stand for: 1.0 for real exports.

A synthetic sample written with `nsi sample --scale s` stands for s of the population, so per-10k
rates are computed against s × population. The sample declares this beside its exports, in
raw/sample.json; real exports declare nothing. Only the index reads it (through the run's pins, so a
rebuild can pin the scale it was published with), and records the scale it used in `indicator_values`.
"""

from __future__ import annotations

import json
from pathlib import Path

from nsi.month import Month

DECLARATION = "sample.json"


def declared_scale(raw: Path, month: Month) -> float:
    path = raw / DECLARATION
    if not path.exists():
        return 1.0
    return float(json.loads(path.read_text(encoding="utf-8")).get(month.key, {}).get("scale", 1.0))
