"""Clean, typed records of one month for each source system.

Each function returns a polars frame with the canonical columns (those of the native dialects in
`dialects.py`; typed: datetimes as datetimes) plus `_district` (the true GB/T code) for the defect
planter and the tests. Dialects, defects and export formatting come later (`translate.py`,
`defects.py`, `writers.py`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
import polars as pl

from nsi.month import Month
from nsi.reference import Reference
from nsi.sample import free_text, people, world
from nsi.sample.calendar import MEAN_MONTH_DAYS, SPRING_FESTIVAL_EVE, daily_intensity, month_days
from nsi.sample.scenario import ORDINARY, Scenario, police_cell_weights, volume_multiplier

EXPORT_LAG_DAYS = 5  # exports are taken a few days after the month closes

HOURS_HOTLINE = np.array([2, 1, 1, 1, 1, 2, 4, 8, 12, 15, 15, 12, 9, 10, 11, 10, 9, 8, 6, 5, 4, 3, 3, 2], float)
HOURS_POLICE = np.array([6, 4, 3, 2, 2, 2, 3, 4, 5, 5, 5, 5, 5, 5, 5, 5, 5, 6, 6, 7, 8, 8, 8, 7], float)
CENTROIDS = {
    "320102": (118.80, 32.05), "320104": (118.79, 32.02), "320105": (118.73, 32.00), "320106": (118.77, 32.07),
    "320111": (118.63, 32.06), "320113": (118.90, 32.12), "320114": (118.75, 31.99), "320115": (118.84, 31.95),
    "320116": (118.84, 32.34), "320117": (119.03, 31.65), "320118": (118.88, 31.33),
}


def export_time(month: Month) -> datetime:
    """When the source system took the month's export: a few days after the month closed."""
    return month.end + timedelta(days=EXPORT_LAG_DAYS, hours=9)


def _choice(rng: np.random.Generator, table: dict, n: int) -> np.ndarray:
    keys = np.array(list(table))
    p = np.array(list(table.values()), float)
    return keys[rng.choice(len(keys), size=n, p=p / p.sum())]


def _district_counts(rng, ref: Reference, year: int, expected_city: float, rates: dict,
                     shifted: dict[str, float] | None = None) -> dict[str, int]:
    """Poisson counts per district; `shifted` multiplies a district's expected count on top of the city's
    split (a planted shift adds records there without taking any from the other districts)."""
    weights = {c: ref.population(c, year)[0] * rates.get(c, 1.0) for c in ref.district_codes}
    if shifted:
        total = sum(weights.values())
        return {c: int(rng.poisson(expected_city * w / total * shifted.get(c, 1.0))) for c, w in weights.items()}
    total = sum(weights.values())
    return {c: int(rng.poisson(expected_city * w / total)) for c, w in weights.items()}


def _timestamps(rng, month: Month, source: str, n: int, hours: np.ndarray, steady: bool = False) -> np.ndarray:
    """n timestamps in the month, following the daily intensity and an hour-of-day profile."""
    intensity = daily_intensity(source, month.year, month.month, steady)
    day = rng.choice(len(intensity), size=n, p=intensity / intensity.sum())
    hour = rng.choice(24, size=n, p=hours / hours.sum())
    seconds = day * 86400 + hour * 3600 + rng.integers(0, 3600, n)
    return np.datetime64(month.start, "s") + seconds.astype("timedelta64[s]")


def _streets(rng, ref: Reference, districts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A street for each record (name, code), drawn within its district."""
    names = np.empty(len(districts), dtype=object)
    codes = np.empty(len(districts), dtype=object)
    for code in np.unique(districts):
        mask = districts == code
        streets = ref.streets_of(code)
        # Forest farms and farms are real places but rarely where things happen.
        weights = np.array([0.1 if s.kind in ("林场", "农场") else 1.0 for s in streets])
        pick = rng.choice(len(streets), size=int(mask.sum()), p=weights / weights.sum())
        names[mask] = np.array([s.name for s in streets], dtype=object)[pick]
        codes[mask] = np.array([s.street_code for s in streets], dtype=object)[pick]
    return names.astype(str), codes.astype(str)


def _repeat_per_district(codes: dict[str, int]) -> np.ndarray:
    return np.concatenate([np.full(n, c) for c, n in codes.items()]) if codes else np.array([], dtype=str)


def _ids_by_day(prefix: str, times: np.ndarray, width: int) -> np.ndarray:
    """Sequence numbers restart each day, as in the real systems (e.g. 2024031500123)."""
    days = times.astype("datetime64[D]")
    order = np.argsort(times, kind="stable")
    seq = np.empty(len(times), dtype=np.int64)
    sorted_days = days[order]
    boundaries = np.r_[0, np.flatnonzero(sorted_days[1:] != sorted_days[:-1]) + 1]
    counter = np.arange(len(times)) - np.repeat(boundaries, np.diff(np.r_[boundaries, len(times)]))
    seq[order] = counter + 1
    day_text = np.char.replace(days.astype(str), "-", "")
    return np.char.add(np.char.add(prefix, day_text), np.char.zfill(seq.astype(str), width))


def _names_of(ref: Reference, codes: np.ndarray) -> np.ndarray:
    lookup = {c: ref.name(c) for c in ref.district_codes}
    return np.vectorize(lookup.get, otypes=[str])(codes) if len(codes) else codes


def _frame(columns: dict) -> pl.DataFrame:
    """polars takes numpy datetimes at ms resolution, not s."""
    def fix(values):
        if isinstance(values, np.ndarray) and values.dtype == np.dtype("datetime64[s]"):
            return values.astype("datetime64[ms]")
        if isinstance(values, np.ndarray) and values.dtype.kind in "UO":
            return pl.Series(values.tolist(), dtype=pl.Utf8)  # much faster than from fixed-width numpy text
        return values
    return pl.DataFrame({name: fix(values) for name, values in columns.items()})


@dataclass(frozen=True)
class FreeText:
    """Where a source's free text goes and what of the record it carries."""

    column: str
    style: str
    topic: str  # the column the text is about (subcategory, matter, dispute type)
    names: tuple[str, ...]
    phones: tuple[str, ...]
    id_number: str | None
    address: str


FREE_TEXT = {
    "police": FreeText("summary", "police", "subcategory", ("caller_name",), ("caller_phone",), None, "incident_address"),
    "hotline": FreeText("content", "hotline", "category_l3", ("requester_name",), ("caller_phone", "contact_phone"),
                        "id_number", "incident_address"),
    "disputes": FreeText("summary", "disputes", "dispute_type", ("party_name", "mediator"), ("party_phone",),
                         "party_id_number", "party_address"),
}


def _free_text_rows(frame: pl.DataFrame, spec: FreeText, ref: Reference, month: Month, rows: np.ndarray | None,
                    ) -> tuple[np.ndarray, list[free_text.Own], list[free_text.Context]]:
    """The rows that have a free text (`rows`; default all), with their own values and what they are about."""
    index = np.flatnonzero(rows) if rows is not None else np.arange(frame.height)
    part = frame[index]
    shorts = {c: ref.districts[c].short_zh for c in ref.district_codes}
    columns = [part[c].to_list() for c in ("district", "street", spec.topic, spec.address, "_district", *spec.names,
                                            *spec.phones)]
    ids = part[spec.id_number].to_list() if spec.id_number else [""] * part.height
    owns, contexts = [], []
    for i, (district, street, about, full, code, *personal) in enumerate(zip(*columns)):
        rest = full[len("江苏省南京市") + len(district) + len(street):]
        owns.append(free_text.Own(personal[:len(spec.names)], personal[len(spec.names):], ids[i],
                                  free_text.Address(district, street, rest)))
        contexts.append(free_text.Context(district, street, about, month.year, month.month, shorts[code]))
    return index, owns, contexts


def _with_free_text(frame: pl.DataFrame, source: str, seed: int, ref: Reference, month: Month,
                    rows: np.ndarray | None = None) -> pl.DataFrame:
    """The records' free text (free_text.write), carrying each row's own name, phones, ID and address
    in the forms people write them."""
    spec = FREE_TEXT[source]
    index, owns, contexts = _free_text_rows(frame, spec, ref, month, rows)
    values = np.full(frame.height, "", dtype=object)
    values[index] = free_text.texts(spec.style, seed, owns, contexts)
    return frame.with_columns(pl.Series(spec.column, values.tolist(), dtype=pl.Utf8))


def _lognormal_minutes(rng, median: np.ndarray, sigma: float) -> np.ndarray:
    return np.exp(np.log(median) + sigma * rng.standard_normal(len(median)))


# ------------------------------------------------------------------------------------------ 110
def _police_shifts(scenario: Scenario, month: Month) -> dict[str, dict[tuple[str, str], float]]:
    """District → (category, subcategory) → factor, for the districts a shift of 110 records reaches."""
    shifted = {c: scenario.cell_factors("police", c, month) for c in scenario.shifted_districts("police", month)}
    return {c: f for c, f in shifted.items() if f}


def _redraw_police_categories(rng, category: np.ndarray, district: np.ndarray,
                              shifts: dict[str, dict[tuple[str, str], float]]) -> np.ndarray:
    """A shifted district's first-level categories, drawn again with each category weighted by how much
    its subcategories were multiplied."""
    category = category.copy()
    for code, factors in shifts.items():
        mask = district == code
        table = {c: world.POLICE_CATEGORIES[c] * sum(w / sum(subs.values()) * factors.get((c, s), 1.0)
                                                      for s, w in subs.items())
                 for c, subs in world.POLICE_SUBCATEGORIES.items()}
        category[mask] = _choice(rng, table, int(mask.sum()))
    return category


def _redraw_police_subcategories(rng, category: np.ndarray, subcategory: np.ndarray, district: np.ndarray,
                                 shifts: dict[str, dict[tuple[str, str], float]]) -> np.ndarray:
    """Within a shifted district's category, the subcategories drawn again where their factors differ."""
    subcategory = subcategory.copy()
    for code, factors in shifts.items():
        for cat, subs in world.POLICE_SUBCATEGORIES.items():
            if len({factors.get((cat, s), 1.0) for s in subs}) == 1:
                continue  # the whole category moved: its mix is unchanged
            mask = (district == code) & (category == cat)
            table = {s: w * factors.get((cat, s), 1.0) for s, w in subs.items()}
            subcategory[mask] = _choice(rng, table, int(mask.sum()))
    return subcategory


def police(rng: np.random.Generator, ref: Reference, month: Month, scale: float, text_seed: int,
           scenario: Scenario = ORDINARY) -> pl.DataFrame:
    factor = daily_intensity("police", month.year, month.month, scenario.steady).sum() / MEAN_MONTH_DAYS
    expected_valid = world.CITY_MONTHLY_VOLUME["police_valid"] * scale * factor
    shifts = _police_shifts(scenario, month)
    weights = police_cell_weights()
    valid_counts = _district_counts(rng, ref, month.year, expected_valid, world.POLICE_RATE,
                                    {c: volume_multiplier(weights, f) for c, f in shifts.items()})
    invalid_counts = {c: int(rng.poisson(n * world.CITY_MONTHLY_VOLUME["police_invalid_ratio"]))
                      for c, n in valid_counts.items()}
    district = np.concatenate([_repeat_per_district(valid_counts), _repeat_per_district(invalid_counts)])
    is_valid = np.r_[np.ones(sum(valid_counts.values()), bool), np.zeros(sum(invalid_counts.values()), bool)]
    n = len(district)
    # The export is by 接警时间, so that stamp lies in the month; the call itself came seconds earlier.
    receive_time = _timestamps(rng, month, "police", n, HOURS_POLICE, scenario.steady)
    report_time = receive_time - rng.integers(3, 40, n).astype("timedelta64[s]")

    category = _choice(rng, world.POLICE_CATEGORIES, n)
    if shifts:
        category = _redraw_police_categories(rng, category, district, shifts)
    eve = None if scenario.steady else SPRING_FESTIVAL_EVE.get(month.year)
    if eve and eve.month == month.month:
        # Fireworks: fire incidents spike on 除夕 night.
        on_eve = (receive_time.astype("datetime64[D]") == np.datetime64(eve)) & (rng.random(n) < 0.04)
        category = np.where(on_eve, "火灾", category)
    subcategory = np.empty(n, dtype=object)
    for cat, table in world.POLICE_SUBCATEGORIES.items():
        mask = category == cat
        subcategory[mask] = _choice(rng, table, int(mask.sum()))
    if shifts:
        subcategory = _redraw_police_subcategories(rng, category, subcategory, district, shifts)
    invalid_kind = _choice(rng, world.POLICE_INVALID_KINDS, n)
    category = np.where(is_valid, category, "无效警情")
    subcategory = np.where(is_valid, subcategory.astype(str), invalid_kind)

    dispatched = is_valid & (category != "其他")
    dispatch_time = receive_time + (60 * _lognormal_minutes(rng, np.full(n, 1.5), 0.5)).astype("timedelta64[s]")
    kinds = {c: ref.districts[c].kind for c in ref.district_codes}
    median = np.vectorize(lambda c: world.ARRIVAL_MEDIAN_MINUTES[kinds[c]], otypes=[float])(district)
    if (arrival_shift := scenario.scalar_factors("arrival_minutes", district, month)) is not None:
        median = median * arrival_shift
    travel = _lognormal_minutes(rng, median, world.ARRIVAL_SIGMA) - 1.5
    arrival_time = dispatch_time + (60 * np.maximum(travel, 0.5)).astype("timedelta64[s]")

    street, street_code = _streets(rng, ref, district)
    district_name = _names_of(ref, district)
    caller_name = people.names(rng, n)
    caller_phone = people.phones(rng, n, 0.8)
    address = people.addresses(rng, n, district_name, street)
    lon = np.array([CENTROIDS[c][0] for c in district]) + rng.normal(0, 0.03, n)
    lat = np.array([CENTROIDS[c][1] for c in district]) + rng.normal(0, 0.03, n)
    with_summary = is_valid & (rng.random(n) < 0.6)
    feedback = np.where(rng.random(n) < 0.1, _choice(rng, world.POLICE_CATEGORIES, n), category)
    feedback = np.where(is_valid, feedback, "无效警情")
    short = {c: ref.districts[c].short_zh for c in ref.district_codes}
    unit = np.char.add(np.char.add(np.vectorize(short.get, otypes=[str])(district), "分局"),
                       np.char.add(np.char.replace(np.char.replace(street, "街道", ""), "镇", ""), "派出所"))

    frame = _frame({
        "case_id": _ids_by_day("J", receive_time, 6),
        "report_time": report_time,
        "receive_time": receive_time,
        "report_channel": _choice(rng, world.POLICE_CHANNELS, n),
        "caller_phone": caller_phone,
        "caller_name": caller_name,
        "incident_address": address,
        "longitude": np.round(lon, 5),
        "latitude": np.round(lat, 5),
        "category": category,
        "subcategory": subcategory.astype(str),
        "summary": np.full(n, ""),  # written below, from the finished records
        "is_valid": np.where(is_valid, "是", "否"),
        "receiving_unit": np.full(n, "南京市公安局110指挥中心"),
        "handling_unit": np.where(is_valid, unit, ""),
        "dispatch_time": np.where(dispatched, dispatch_time, np.datetime64("NaT")),
        "arrival_time": np.where(dispatched, arrival_time, np.datetime64("NaT")),
        "outcome": np.where(dispatched, _choice(rng, world.POLICE_OUTCOMES, n), ""),
        "feedback_category": feedback,
        "district": district_name,
        "street": street,
        "_district": district,
        "_street_code": street_code,
        "_has_summary": with_summary,
    })
    # Written in the order of the finished records, as `planted_free_text` reads them.
    frame = frame.sort("receive_time", "case_id")
    return _with_free_text(frame, "police", text_seed, ref, month, frame["_has_summary"].to_numpy()).drop("_has_summary")


# ---------------------------------------------------------------------------------------- 12345
def _matter_factors(scenario: Scenario, month: Month) -> dict[str, np.ndarray]:
    """District → factor of each matter (in HOTLINE_MATTERS order), for the districts a shift reaches."""
    out = {}
    for code in scenario.shifted_districts("hotline", month):
        if factors := scenario.cell_factors("hotline", code, month):
            out[code] = np.array([factors.get(m[2], 1.0) for m in world.HOTLINE_MATTERS])
    return out


def hotline(rng: np.random.Generator, ref: Reference, month: Month, scale: float, text_seed: int,
            scenario: Scenario = ORDINARY) -> pl.DataFrame:
    factor = daily_intensity("hotline", month.year, month.month, scenario.steady).sum() / MEAN_MONTH_DAYS
    expected = world.CITY_MONTHLY_VOLUME["hotline_accepted"] * scale * factor
    season = None if scenario.steady else 5 if month.month in (6, 7, 8) else 6 if month.month in (12, 1, 2) else None
    weights = np.array([m[3] * (m[season] if season else 1.0) for m in world.HOTLINE_MATTERS])
    shifts = _matter_factors(scenario, month)
    counts = _district_counts(rng, ref, month.year, expected, world.HOTLINE_RATE,
                              {c: volume_multiplier(dict(enumerate(weights)), dict(enumerate(f)))
                               for c, f in shifts.items()})
    district = _repeat_per_district(counts)
    n = len(district)
    accepted = _timestamps(rng, month, "hotline", n, HOURS_HOTLINE, scenario.steady)

    matter = rng.choice(len(weights), size=n, p=weights / weights.sum())
    for code, factors in shifts.items():
        mask = district == code
        shifted = weights * factors
        matter[mask] = rng.choice(len(weights), size=int(mask.sum()), p=shifted / shifted.sum())
    l1, l2, l3 = (np.array([m[i] for m in world.HOTLINE_MATTERS])[matter] for i in range(3))
    request_type = _choice(rng, world.HOTLINE_REQUEST_TYPES, n)
    # Complaints, reports and help requests are dispatched; consultations are mostly answered directly.
    # With the type mix above this dispatches ≈ 35k of 150k (hotline_dispatched_share).
    p_dispatch = np.where(np.isin(request_type, ["投诉", "举报", "求助"]), 0.55, 0.03)
    dispatched = rng.random(n) < p_dispatch

    street, street_code = _streets(rng, ref, district)
    district_name = _names_of(ref, district)
    requester = people.names(rng, n)
    caller_phone = people.phones(rng, n, 0.85)
    # Repeat callers: the same person calls again about the same matter within the month.
    repeat = rng.random(n) < world.HOTLINE_REPEAT_CALLER_SHARE
    order_ids = _ids_by_day("", accepted, 5)
    related = np.full(n, "", dtype=object)
    for code in np.unique(district):
        idx = np.flatnonzero(district == code)
        idx = idx[np.argsort(accepted[idx], kind="stable")]
        for pos in np.flatnonzero(repeat[idx]):
            if pos == 0:
                continue
            earlier = idx[rng.integers(0, pos)]
            here = idx[pos]
            caller_phone[here] = caller_phone[earlier]
            requester[here] = requester[earlier]
            matter[here] = matter[earlier]
            l1[here], l2[here], l3[here] = l1[earlier], l2[earlier], l3[earlier]
            if rng.random() < 0.7:
                related[here] = order_ids[earlier]
    repeat_flag = related != ""

    dispatch_time = accepted + (3600 * rng.uniform(0.2, 4.0, n)).astype("timedelta64[s]")
    due_time = dispatch_time + np.timedelta64(5, "D")
    on_time_p = np.vectorize(lambda c: world.rate(world.HOTLINE_ON_TIME, c), otypes=[float])(district)
    if (on_time_shift := scenario.scalar_factors("on_time", district, month)) is not None:
        on_time_p = on_time_p * on_time_shift
    late = rng.random(n) > on_time_p
    work_hours = np.minimum(np.exp(np.log(40) + 0.8 * rng.standard_normal(n)), 5 * 24 - 1)
    closed = np.where(late, due_time + (3600 * rng.uniform(1, 120, n)).astype("timedelta64[s]"),
                      dispatch_time + (3600 * work_hours).astype("timedelta64[s]"))
    exported_at = np.datetime64(export_time(month), "s")
    in_progress = dispatched & (closed > exported_at)
    is_closed = dispatched & ~in_progress
    called_back = is_closed & (rng.random(n) < 0.45)
    satisfied_p = np.vectorize(lambda c: world.rate(world.HOTLINE_SATISFIED, c), otypes=[float])(district)
    if (satisfied_shift := scenario.scalar_factors("satisfied", district, month)) is not None:
        satisfied_p = satisfied_p * satisfied_shift
    satisfied = rng.random(n) < satisfied_p
    satisfaction = np.where(satisfied, np.where(rng.random(n) < 0.8, "满意", "基本满意"), "不满意")
    status = np.where(in_progress, "办理中", np.where(called_back, "已回访", "已办结"))
    odd = rng.random(n)
    status = np.where(is_closed & (odd < 0.005), "退单", np.where(is_closed & (odd > 0.995), "重办", status))

    # Drawn where the content's phone and share of personal data used to be, so every column after
    # it keeps its values; the content itself is written from the finished records (free_text).
    people.phones(rng, n, 0.9)
    rng.random(n)
    has_id = rng.random(n) < 0.15
    ids = people.id_numbers(rng, n, ref.district_codes + ["320103", "320107", "320124", "320125"], month.year)
    contact = np.where(rng.random(n) < 0.6, people.phones(rng, n, 0.9), "")
    unit = np.where(np.isin(l1, ["公共安全"]), np.char.add(district_name, "应急管理局"),
                    np.char.add(street, "办事处"))
    unit = np.char.replace(unit, "街道办事处", "街道办事处")

    frame = _frame({
        "order_id": order_ids,
        "accepted_time": accepted,
        "channel": _choice(rng, world.HOTLINE_CHANNELS, n),
        "request_type": request_type,
        "category_l1": l1,
        "category_l2": l2,
        "category_l3": l3,
        "title": np.char.add(np.char.add(street, "："), l3),
        "content": np.full(n, ""),
        "caller_phone": caller_phone,
        "contact_phone": contact,
        "requester_name": requester,
        "id_number": np.where(has_id, ids, ""),
        "incident_address": people.addresses(rng, n, district_name, street),
        "district": district_name,
        "street": street,
        "handling_unit": np.where(dispatched, unit, ""),
        "dispatch_time": np.where(dispatched, dispatch_time, np.datetime64("NaT")),
        "due_time": np.where(dispatched, due_time, np.datetime64("NaT")),
        "closed_time": np.where(is_closed, closed, np.datetime64("NaT")),
        "status": np.where(dispatched, status, "已办结"),
        "on_time": np.where(is_closed, np.where(closed <= due_time, "是", "否"), ""),
        "result": np.where(dispatched, np.where(is_closed, "已按要求办理并答复市民", ""), "已直接答复"),
        "callback_method": np.where(called_back, _choice(rng, world.HOTLINE_CALLBACK_METHODS, n), ""),
        "satisfaction": np.where(called_back, satisfaction, ""),
        "is_repeat": np.where(repeat_flag, "是", "否"),
        "related_order_id": related.astype(str),
        "_district": district,
        "_street_code": street_code,
        "_repeat_caller": repeat,
    })
    return _with_free_text(frame.sort("accepted_time", "order_id"), "hotline", text_seed, ref, month)


# ------------------------------------------------------------------------------------- disputes
def _dispute_type_weights(code: str, year_end: bool) -> np.ndarray:
    """The district's mix of dispute types (in DISPUTE_TYPES order), unnormalised."""
    types = list(world.DISPUTE_TYPES)
    w = np.array(list(world.DISPUTE_TYPES.values()))
    w[types.index("劳动争议")] *= world.LABOUR_DISPUTE_FACTOR.get(code, 1.0) * (1.5 if year_end else 1.0)
    for t in ("邻里纠纷", "房屋宅基地纠纷"):
        w[types.index(t)] *= world.RURAL_DISPUTE_FACTOR.get(code, 1.0)
    return w


def disputes(rng: np.random.Generator, ref: Reference, month: Month, scale: float, text_seed: int,
             scenario: Scenario = ORDINARY) -> pl.DataFrame:
    factor = daily_intensity("disputes", month.year, month.month, scenario.steady).sum() / MEAN_MONTH_DAYS
    expected = world.CITY_MONTHLY_VOLUME["disputes"] * scale * factor
    types = list(world.DISPUTE_TYPES)
    year_end = month.month in (12, 1) and not scenario.steady
    shifts = {c: np.array([f.get(t, 1.0) for t in types]) for c in scenario.shifted_districts("disputes", month)
              if (f := scenario.cell_factors("disputes", c, month))}
    counts = _district_counts(rng, ref, month.year, expected, world.DISPUTE_RATE,
                              {c: volume_multiplier(dict(enumerate(_dispute_type_weights(c, year_end))),
                                                    dict(enumerate(f))) for c, f in shifts.items()})
    district = _repeat_per_district(counts)
    n = len(district)
    dispute_type = np.empty(n, dtype=object)
    for code in counts:
        mask = district == code
        w = _dispute_type_weights(code, year_end)
        if code in shifts:
            w = w * shifts[code]
        dispute_type[mask] = np.array(types, dtype=object)[rng.choice(len(types), size=int(mask.sum()), p=w / w.sum())]
    dispute_type = dispute_type.astype(str)

    registered = _timestamps(rng, month, "disputes", n, HOURS_HOTLINE, scenario.steady).astype("datetime64[D]")
    accepted = registered + rng.choice([0, 0, 0, 1, 2], size=n).astype("timedelta64[D]")
    days_to_close = np.ceil(np.exp(np.log(world.DISPUTE_CLOSE_MEDIAN_DAYS) + world.DISPUTE_CLOSE_SIGMA * rng.standard_normal(n)))
    closed = accepted + days_to_close.astype("timedelta64[D]")
    export_day = np.datetime64(export_time(month).date())
    open_case = closed > export_day
    success_p = np.vectorize(lambda c: world.DISPUTE_SUCCESS_BY_DISTRICT.get(c, 0.92), otypes=[float])(district)
    if (success_shift := scenario.scalar_factors("mediation_success", district, month)) is not None:
        success_p = success_p * success_shift
    success = rng.random(n) < success_p
    other = dict(world.DISPUTE_RESULTS_CLOSED)
    other.pop("调解成功")
    result = np.where(success, "调解成功", _choice(rng, other, n))
    result = np.where(open_case, "在调", result)
    risk = _choice(rng, world.DISPUTE_RISK, n)
    # Labour and land disputes run hotter.
    hot = np.isin(dispute_type, ["劳动争议", "房屋宅基地纠纷"]) & (rng.random(n) < 0.08)
    risk = np.where(hot, "橙", risk)

    street, street_code = _streets(rng, ref, district)
    district_name = _names_of(ref, district)
    community = np.char.add(np.char.add(np.char.replace(street, "街道", ""), rng.integers(1, 12, n).astype(str)), "社区")
    party = people.names(rng, n)
    party_phone = people.phones(rng, n, 0.85)
    amount = np.where(np.isin(dispute_type, ["婚姻家庭纠纷", "邻里纠纷"]), 0.0,
                      np.round(np.exp(np.log(8000) + 1.2 * rng.standard_normal(n)), -1))
    rng.random(n)  # where the summary's phone used to be drawn: the columns after it keep their values
    seq_ids = _ids_by_day("MD", registered.astype("datetime64[s]"), 4)

    frame = _frame({
        "dispute_id": seq_ids,
        "registered_date": registered.astype("datetime64[D]"),
        "origin": _choice(rng, world.DISPUTE_ORIGINS, n),
        "dispute_type": dispute_type,
        "risk_level": risk,
        "people_involved": rng.integers(2, 9, n),
        "amount_yuan": amount,
        "district": district_name,
        "street": street,
        "community": community,
        "grid": np.char.add(community, np.char.add(np.char.add("第", rng.integers(1, 20, n).astype(str)), "网格")),
        "mediation_org": np.char.add(street, "人民调解委员会"),
        "mediator": people.names(rng, n),
        "party_name": party,
        "party_id_number": people.id_numbers(rng, n, ref.district_codes + ["320103", "320107"], month.year),
        "party_phone": party_phone,
        "party_address": people.addresses(rng, n, district_name, street),
        "accepted_date": accepted,
        "closed_date": np.where(open_case, np.datetime64("NaT"), closed),
        "result": result,
        "agreement_form": np.where(result == "调解成功", np.where(rng.random(n) < 0.7, "书面", "口头"), ""),
        "fulfilment": np.where(result == "调解成功", np.where(rng.random(n) < 0.95, "已履行", "未履行"), ""),
        "satisfaction": np.where(open_case, "", np.where(rng.random(n) < 0.95, "满意", "不满意")),
        "summary": np.full(n, ""),
        "_district": district,
        "_street_code": street_code,
    })
    return _with_free_text(frame.sort("registered_date", "dispute_id"), "disputes", text_seed, ref, month)


# --------------------------------------------------------------------------------------- survey
def survey(rng: np.random.Generator, ref: Reference, month: Month, scale: float, text_seed: int,
           scenario: Scenario = ORDINARY) -> pl.DataFrame:
    del scale  # the sample size is a design choice of the survey, not a volume
    del text_seed  # no free text
    completes = {c: world.SURVEY_COMPLETES_PER_DISTRICT for c in ref.district_codes}
    noncompletes = {c: int(rng.poisson(world.SURVEY_COMPLETES_PER_DISTRICT * world.SURVEY_NONCOMPLETE_PER_COMPLETE))
                    for c in ref.district_codes}
    district = np.concatenate([_repeat_per_district(completes), _repeat_per_district(noncompletes)])
    complete = np.r_[np.ones(sum(completes.values()), bool), np.zeros(sum(noncompletes.values()), bool)]
    n = len(district)
    days = [d for d in month_days(month.year, month.month) if d.weekday() < 6]
    day = np.array(days, dtype="datetime64[D]")[rng.integers(0, len(days), n)]

    top = np.vectorize(lambda c: world.SURVEY_SAFETY_TOPBOX_BY_DISTRICT.get(c, 0.72), otypes=[float])(district)
    if (top_shift := scenario.scalar_factors("top_box", district, month)) is not None:
        top = top * top_shift
    u = rng.random(n)
    safety = np.where(u < top, "安全", np.where(u < 1 - 0.008, "比较安全", np.where(u < 1 - 0.002, "不太安全", "不安全")))
    u2 = rng.random(n)
    very, satisfied = 0.70, world.SURVEY_SATISFIED_SHARE
    if (satisfied_shift := scenario.scalar_factors("survey_satisfied", district, month)) is not None:
        very, satisfied = very * satisfied_shift, satisfied * satisfied_shift
    satisfaction = np.where(u2 < very, "满意", np.where(u2 < satisfied, "比较满意",
                                                        np.where(u2 < 0.99, "不太满意", "不满意")))
    mobile = rng.random(n) < world.SURVEY_PHONE_MOBILE_SHARE
    phone = np.where(mobile, people.mobiles(rng, n), people.landlines(rng, n))
    street, street_code = _streets(rng, ref, district)
    kinds = np.vectorize(lambda c: ref.districts[c].kind, otypes=[str])(district)
    urban = np.where(np.isin(kinds, ["urban_core", "urban"]), rng.random(n) < 0.97, rng.random(n) < 0.55)
    ages = np.array(world.SURVEY_AGE_GROUPS)[rng.choice(7, size=n, p=np.array(world.SURVEY_AGE_SAMPLE_SHARE))]
    problems = np.array(world.SURVEY_PROBLEMS)[rng.integers(0, len(world.SURVEY_PROBLEMS), n)]
    problems2 = np.array(world.SURVEY_PROBLEMS[:-1])[rng.integers(0, len(world.SURVEY_PROBLEMS) - 1, n)]
    problems = np.where((problems != "无") & (rng.random(n) < 0.3) & (problems != problems2),
                        np.char.add(np.char.add(problems, "、"), problems2), problems)
    outcome = np.where(complete, "完成", _choice(rng, world.SURVEY_OUTCOMES_NONCOMPLETE, n))
    seq = np.arange(n)
    sample_id = np.char.add(np.char.add(np.char.add("S", month.key.replace("-", "")), district),
                            np.char.zfill((seq + 1).astype(str), 5))

    def answer(values):
        return np.where(complete, values, "")

    frame = _frame({
        "sample_id": sample_id,
        "wave": np.full(n, f"{month.year}年{month.month}月"),
        "interview_date": day,
        "phone": phone,
        "phone_type": np.where(mobile, "手机", "固话"),
        "district": _names_of(ref, district),
        "street": street,
        "urban_rural": answer(np.where(urban, "城镇", "乡村")),
        "sex": answer(np.where(rng.random(n) < world.SURVEY_MALE_SHARE, "男", "女")),
        "age_group": answer(ages),
        "resident_1y": answer(np.full(n, "是")),
        "q_safety": answer(safety),
        "q_trend": answer(_choice(rng, world.SURVEY_TREND, n)),
        "q_problems": answer(problems),
        "q_satisfaction": answer(satisfaction),
        "outcome": outcome,
        "interviewer": np.char.add("F", np.char.zfill(rng.integers(1, 60, n).astype(str), 3)),
        "duration_s": np.where(complete, rng.integers(180, 600, n), rng.integers(0, 40, n)),
        "_district": district,
        "_street_code": street_code,
    })
    return frame.sort("interview_date", "sample_id")


GENERATORS = {"hotline": hotline, "police": police, "disputes": disputes, "survey": survey}
SOURCE_INDEX = {"hotline": 1, "police": 2, "disputes": 3, "survey": 4}
FREE_TEXT_STREAM = 96  # beside the records' own stream, so the free text can change without moving a record


def _text_seed(source: str, month: Month, seed: int) -> int:
    return int(np.random.default_rng([seed, SOURCE_INDEX[source], month.year, month.month, FREE_TEXT_STREAM])
               .integers(2**62))


def generate_clean(source: str, ref: Reference, month: Month, scale: float, seed: int,
                   scenario: Scenario = ORDINARY) -> pl.DataFrame:
    """The month's true records; the same (seed, source, month, scenario) always gives the same frame."""
    rng = np.random.default_rng([seed, SOURCE_INDEX[source], month.year, month.month])
    return GENERATORS[source](rng, ref, month, scale, _text_seed(source, month, seed), scenario)


def planted_free_text(frame: pl.DataFrame, source: str, ref: Reference, month: Month, seed: int,
                      ) -> list[free_text.Snippet | None]:
    """The free text of the month's records (`generate_clean`) with every planted item marked: what a
    scan for leaks looks for. None where a record has no text."""
    spec = FREE_TEXT[source]
    rows = frame[spec.column].to_numpy() != ""
    index, owns, contexts = _free_text_rows(frame, spec, ref, month, rows)
    chooser = free_text.Chooser(_text_seed(source, month, seed))
    snippets: list[free_text.Snippet | None] = [None] * frame.height
    for i, own, ctx in zip(index, owns, contexts):
        snippets[i] = free_text.write(spec.style, chooser, own, ctx)
    return snippets


__all__ = ["Month", "generate_clean", "GENERATORS"]
