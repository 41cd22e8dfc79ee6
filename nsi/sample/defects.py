"""Data-quality problems real exports have (domain brief §5), planted at realistic rates.

Every planted defect is recorded in the ground truth with the effect a correct pipeline must have:
`fix` (the row is loaded after normalisation), `reject` (the row goes to rejects with a reason),
`drop` (a duplicate or re-exported row, dropped and counted), `note` (loaded; worth knowing).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from nsi.sample.people import id_check_digit

FULLWIDTH = str.maketrans("0123456789-:/ ", "０１２３４５６７８９－：／　")
OLD_NAMES = {"320104": ("白下区", "白下"), "320106": ("下关区",), "320117": ("溧水县",), "320118": ("高淳县",)}
OLD_CODES = {"320104": "320103", "320106": "320107", "320117": "320124", "320118": "320125"}
TYPOS = {"320114": ("雨花区",), "320105": ("建业区",)}
JIANGBEI_LABELS = ("江北新区", "江北新区", "320192", "320126")
UNKNOWN_DISTRICTS = ("外地", "不详", "南京", "")
MALFORMED_TIMES = ("待补录", "#VALUE!", "0000-00-00 00:00:00", "2024-02-30 25:61:00")

# (kind, effect, share of eligible rows)
RATES = {
    "old_name": ("fix", 0.03),
    "typo_name": ("fix", 0.02),
    "old_code": ("fix", 0.005),
    "jiangbei_label": ("fix", 0.5),
    "fullwidth_digits": ("fix", 0.005),
    "stray_spaces": ("fix", 0.01),
    "phone_as_number": ("fix", 0.02),
    "bad_id_check_digit": ("note", 0.01),
    "jiangbei_without_street": ("reject", 0.001),
    "unknown_district": ("reject", 0.0005),
    "blank_time": ("reject", 0.0005),
    "malformed_time": ("reject", 0.0005),
    "out_of_month": ("reject", 0.0003),
    "closed_before_intake": ("reject", 0.002),
    "arrival_before_dispatch": ("reject", 0.002),
    "invalid_answer": ("reject", 0.002),
    "duplicate": ("drop", 0.003),
    "reexport": ("drop", 0.1),  # of the previous month's last two days
}


@dataclass
class Planted:
    uid: int
    kind: str
    effect: str
    column: str
    detail: str


class Planter:
    """Mutates string columns of one export in place and remembers what it did."""

    def __init__(self, rng: np.random.Generator, columns: dict[str, np.ndarray], uids: np.ndarray):
        self.rng = rng
        self.columns = columns
        self.uids = uids
        self.taken = np.zeros(len(uids), bool)  # rows already carrying a reject/drop defect
        self.planted: list[Planted] = []

    def pick(self, eligible: np.ndarray, kind: str, exclusive: bool) -> np.ndarray:
        if exclusive:
            eligible = eligible & ~self.taken
        idx = np.flatnonzero(eligible)
        k = self.rng.binomial(len(idx), RATES[kind][1]) if len(idx) else 0
        chosen = np.sort(self.rng.choice(idx, size=k, replace=False)) if k else np.array([], dtype=np.int64)
        if exclusive:
            self.taken[chosen] = True
        return chosen

    def record(self, rows: np.ndarray, kind: str, column: str, detail) -> None:
        effect = RATES[kind][0]
        for i, row in enumerate(rows):
            text = detail[i] if isinstance(detail, (list, np.ndarray)) else detail
            self.planted.append(Planted(int(self.uids[row]), kind, effect, column, str(text)))


def plant_district_drift(p: Planter, district: np.ndarray, jiangbei: np.ndarray) -> None:
    """Into the district (and street) column: names that drifted, and rows that cannot be placed."""
    cols, rng = p.columns, p.rng
    # District column drift: old names, old codes, typos, 江北新区. One drift per row at most.
    drifted = np.zeros(len(district), bool)

    def drift(eligible: np.ndarray, kind: str, labels_for) -> None:
        rows = p.pick(eligible & ~drifted, kind, exclusive=False)
        labels = np.array([labels_for(r) for r in rows], dtype=object)
        cols["district"][rows] = labels
        drifted[rows] = True
        p.record(rows, kind, "district", labels)

    drift(np.isin(district, list(OLD_NAMES)), "old_name", lambda r: rng.choice(OLD_NAMES[district[r]]))
    drift(np.isin(district, list(TYPOS)), "typo_name", lambda r: TYPOS[district[r]][0])
    drift(np.isin(district, list(OLD_CODES)), "old_code", lambda r: OLD_CODES[district[r]])
    drift(jiangbei, "jiangbei_label", lambda r: JIANGBEI_LABELS[rng.integers(0, len(JIANGBEI_LABELS))])

    # Rows that cannot be placed or dated.
    everything = np.ones(len(district), bool)
    rows = p.pick(everything, "jiangbei_without_street", exclusive=True)
    cols["district"][rows] = "江北新区"
    cols["street"][rows] = ""
    p.record(rows, "jiangbei_without_street", "district", "江北新区, street blank")
    rows = p.pick(everything, "unknown_district", exclusive=True)
    labels = np.array(UNKNOWN_DISTRICTS, dtype=object)[rng.integers(0, len(UNKNOWN_DISTRICTS), len(rows))]
    cols["district"][rows] = labels
    cols["street"][rows] = ""
    p.record(rows, "unknown_district", "district", labels)


def plant_bad_times(p: Planter, time_column: str, month_key: str) -> None:
    """Into the column the export is cut by: rows that cannot be dated, or belong to another month."""
    cols, rng = p.columns, p.rng
    everything = np.ones(len(p.uids), bool)
    rows = p.pick(everything, "blank_time", exclusive=True)
    cols[time_column][rows] = ""
    p.record(rows, "blank_time", time_column, "blank")
    rows = p.pick(everything, "malformed_time", exclusive=True)
    labels = np.array(MALFORMED_TIMES, dtype=object)[rng.integers(0, len(MALFORMED_TIMES), len(rows))]
    cols[time_column][rows] = labels
    p.record(rows, "malformed_time", time_column, labels)
    year = month_key[:4]
    # Only stamps that spell out the year (not Excel serials), so the defect is really there.
    spelled = np.array([year in str(v) for v in cols[time_column]], dtype=bool)
    rows = p.pick(spelled, "out_of_month", exclusive=True)
    for r in rows:
        # A clock a year ahead: the year digits change, the rest of the stamp stays.
        cols[time_column][r] = str(cols[time_column][r]).replace(year, str(int(year) + 1), 1)
    p.record(rows, "out_of_month", time_column, f"year {int(year) + 1}")


def plant_format_noise(p: Planter, phone_columns: list[str], text_columns: list[str]) -> None:
    cols = p.columns
    n = len(p.uids)
    rows = p.pick(np.ones(n, bool), "fullwidth_digits", exclusive=False)
    column = phone_columns[0]
    for r in rows:
        cols[column][r] = str(cols[column][r]).translate(FULLWIDTH)
    p.record(rows, "fullwidth_digits", column, "full-width digits")
    rows = p.pick(np.ones(n, bool), "stray_spaces", exclusive=False)
    for r in rows:
        for c in text_columns:
            value = str(cols[c][r])
            cols[c][r] = f" {value} " if len(value) < 2 else f"{value[:-1]} {value[-1]} "
    p.record(rows, "stray_spaces", "+".join(text_columns), "leading/trailing/inner spaces")
    for column in phone_columns:
        landline = np.char.startswith(cols[column].astype(str), "025-")
        rows = p.pick(landline, "phone_as_number", exclusive=False)
        cols[column][rows] = [str(v).replace("025-", "25", 1) for v in cols[column][rows]]
        p.record(rows, "phone_as_number", column, "leading 0 lost")


def plant_bad_ids(p: Planter, column: str) -> None:
    values = p.columns[column].astype(str)
    rows = p.pick(np.char.str_len(values) == 18, "bad_id_check_digit", exclusive=False)
    for r in rows:
        v = str(p.columns[column][r])
        good = id_check_digit(v[:17])
        bad = "0" if good != "0" else "1"
        p.columns[column][r] = v[:17] + bad
    p.record(rows, "bad_id_check_digit", column, "check digit wrong")
