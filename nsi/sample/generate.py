"""`nsi sample`: write realistic raw exports, as the four source systems deliver them, and the truth.

For each month and source: the month's clean records → the columns of the chosen dialect (`dialects.py`)
→ export text in the system's own formats → planted defects (unless clean) → rows re-exported from the
previous month and duplicates → one file under raw/<source>/<YYYY-MM>.<ext>, and
raw/<source>/<YYYY-MM>.defects.csv listing each planted defect by its row in the file (as a spreadsheet
numbers it: the header is row 1, or 2 under a title row) and its canonical column.
"""

from __future__ import annotations

import multiprocessing
import os
import zlib
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl

from nsi.exports import SOURCES
from nsi.month import Month, months_between
from nsi.reference import Reference, load_reference
from nsi.sample import defects
from nsi.sample.dialects import (DIALECT_NAMES, DIALECTS, EXTENSIONS, MIXED, NATIVE, NATIVES, Dialect,
                                 dialect_named, dialects_of)
from nsi.sample.scenario import ORDINARY, Scenario, scenario_of  # noqa: F401 - scenario_of: for `nsi sample`
from nsi.sample.sources import SOURCE_INDEX, generate_clean
from nsi.sample.translate import finish, translate
from nsi.sample.writers import write_export
from nsi.scale import DECLARATION

EXCEL_DAYS_TO_UNIX_EPOCH = 25569  # 1899-12-30 (Excel's day 0) to 1970-01-01
DEFECT_COLUMNS = ["source", "month", "row", "kind", "effect", "column", "detail"]

# Where each source's format noise goes: its phone columns (the first gets full-width digits) and the
# category column that gets stray spaces; a dialect without one of the phone columns skips it.
PHONE_COLUMNS = {"police": ["caller_phone"], "hotline": ["caller_phone", "contact_phone"],
                 "disputes": ["party_phone"], "survey": ["phone"]}
SPACED_COLUMNS = {"police": ["category"], "hotline": ["request_type"], "disputes": ["dispute_type"],
                  "survey": ["q_satisfaction"]}
ID_NUMBER_COLUMNS = {"hotline": "id_number", "disputes": "party_id_number"}

# Streams of the seeded generators beside the records' own (sources.generate_clean).
EXPORT_STREAM, TRANSLATION_STREAM, MIXED_STREAM = 99, 98, 97


def _stream_rng(seed: int, source: str, month: Month, stream: int,
                chosen: Dialect | None = None) -> np.random.Generator:
    """A generator per (seed, source, month, purpose); the native export keeps the one it always had."""
    key = [seed, SOURCE_INDEX[source], month.year, month.month, stream]
    if chosen is not None and chosen.name != NATIVE:
        key.append(zlib.crc32(chosen.name.encode("ascii")))
    return np.random.default_rng(key)


def _format_cells(dialect: Dialect, frame: pl.DataFrame, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Every column as an object array of what the file will hold (text, or date/number cells in a sheet)."""
    n = frame.height
    formats = dialect.time_formats
    shares = np.cumsum([s for s, _ in formats])
    selector = np.searchsorted(shares, rng.random(n) * shares[-1])
    out: dict[str, np.ndarray] = {}
    for column in dialect.columns:
        series = frame[column.key]
        if column.kind in ("datetime", "date"):
            values = np.empty(n, dtype=object)
            values[:] = ""
            present = series.is_not_null().to_numpy()
            for i, (_, fmt) in enumerate(formats):
                mask = (selector == i) & present
                if not mask.any():
                    continue
                part = series.filter(pl.Series(mask))
                if fmt == "cell":
                    values[mask] = np.array(part.to_list(), dtype=object)
                elif fmt == "serial":
                    as_dt = part.cast(pl.Datetime("ms"))
                    days = as_dt.dt.epoch("ms").to_numpy() / 86_400_000 + EXCEL_DAYS_TO_UNIX_EPOCH
                    values[mask] = np.round(days, 6) if column.kind == "datetime" else days.astype(int)
                    if dialect.extension == "csv":
                        values[mask] = np.array([_serial_text(v) for v in values[mask]], dtype=object)
                else:
                    values[mask] = np.array(part.dt.strftime(fmt).to_list(), dtype=object)
            out[column.key] = values
        elif column.kind in ("int", "float"):
            if dialect.extension != "csv":
                out[column.key] = np.array(series.to_list(), dtype=object)
            else:
                out[column.key] = np.array(series.cast(pl.Utf8).fill_null("").to_list(), dtype=object)
        else:
            out[column.key] = np.array(series.to_list(), dtype=object)
    for key in dialect.carried:
        out[key] = np.array(frame[key].to_list(), dtype=object)
    return out


def _serial_text(value) -> str:
    text = f"{value:.6f}".rstrip("0").rstrip(".")
    return text


def _written_like(dialect: Dialect, when: datetime):
    """A timestamp as the dialect mostly writes it (a cell, or text in its commonest format)."""
    fmt = dialect.time_formats[0][1]
    return when if fmt == "cell" else when.strftime(fmt)


def _plant(dialect: Dialect, frame: pl.DataFrame, cols: dict[str, np.ndarray], truth_district: np.ndarray,
           jiangbei: np.ndarray, uids: np.ndarray, rng: np.random.Generator, month: Month) -> list[defects.Planted]:
    """The defects the dialect's columns can carry: district drift only where the district text is copied."""
    source = dialect.source
    p = defects.Planter(rng, cols, uids)
    if dialect.district_drift:
        defects.plant_district_drift(p, truth_district, jiangbei)
    defects.plant_bad_times(p, dialect.time_column, month.key)
    if source == "police":
        has_arrival = np.array([v != "" for v in cols["arrival_time"]])
        rows = p.pick(has_arrival, "arrival_before_dispatch", exclusive=True)
        for r in rows:
            # Swap the two clocks: arrival before dispatch.
            cols["arrival_time"][r], cols["dispatch_time"][r] = cols["dispatch_time"][r], cols["arrival_time"][r]
        p.record(rows, "arrival_before_dispatch", "arrival_time", "arrival before dispatch")
    elif source == "hotline":
        closed = np.array([v != "" for v in cols["closed_time"]]) & np.array([v != "" for v in cols["accepted_time"]])
        rows = p.pick(closed, "closed_before_intake", exclusive=True)
        accepted = frame["accepted_time"].to_list()
        for r in rows:
            before = accepted[r] - timedelta(hours=int(rng.integers(1, 48)))
            cols["closed_time"][r] = _written_like(dialect, before)
        p.record(rows, "closed_before_intake", "closed_time", "closure before intake")
    elif source == "survey":
        answered = np.array([v != "" for v in cols["q_safety"]])
        rows = p.pick(answered, "invalid_answer", exclusive=True)
        cols["q_safety"][rows] = "X"
        p.record(rows, "invalid_answer", "q_safety", "X")
    phones = [c for c in PHONE_COLUMNS[source] if c in cols]
    defects.plant_format_noise(p, phones, SPACED_COLUMNS[source])
    if source in ID_NUMBER_COLUMNS:
        defects.plant_bad_ids(p, ID_NUMBER_COLUMNS[source])
    return p.planted


def build_export(source: str, ref: Reference, month: Month, frame: pl.DataFrame, seed: int, clean: bool,
                 previous_clean: pl.DataFrame | None, chosen: Dialect | None = None,
                 ) -> tuple[dict[str, np.ndarray], pl.DataFrame]:
    """The export's cells (in file order) and the ground truth of planted defects, from the clean records.

    `chosen` is the dialect to write (default: the source's native one)."""
    chosen = chosen or NATIVES[source]
    rng = _stream_rng(seed, source, month, EXPORT_STREAM, chosen)
    records = translate(chosen, frame, ref, _stream_rng(seed, source, month, TRANSLATION_STREAM, chosen), month)
    cols = _format_cells(chosen, records, rng)
    n = frame.height
    uids = np.arange(n)
    planted: list[defects.Planted] = []
    if not clean:
        district = frame["_district"].to_numpy()
        jiangbei_codes = {s.street_code for s in ref.streets.values() if s.jiangbei}
        jiangbei = np.isin(frame["_street_code"].to_numpy(), list(jiangbei_codes))
        planted = _plant(chosen, frame, cols, district, jiangbei, uids, rng, month)
        # Rows of the previous month's last two days, exported again.
        if previous_clean is not None and previous_clean.height:
            last_days = previous_clean.select(pl.col(chosen.time_column).cast(pl.Datetime("ms"))
                                              >= pl.lit(datetime.combine(month.start.date(), datetime.min.time()))
                                              - pl.duration(days=2)).to_series()
            previous = translate(chosen, previous_clean, ref,
                                 _stream_rng(seed, source, month.previous(), TRANSLATION_STREAM, chosen), month)
            tail = previous.filter(last_days)
            picked = tail.filter(pl.Series(rng.random(tail.height) < defects.RATES["reexport"][1]))
            if picked.height:
                prev_cols = _format_cells(chosen, picked, rng)
                cols = {k: np.concatenate([prev_cols[k], cols[k]]) for k in cols}
                uids = np.r_[np.arange(n, n + picked.height), uids]
                for uid in range(n, n + picked.height):
                    planted.append(defects.Planted(uid, "reexport", "drop", chosen.id_column, "previous month's row"))
    finish(chosen, cols)
    if not clean:
        # Exact duplicates, each right after its original.
        dup_rows = np.flatnonzero(rng.random(len(uids)) < defects.RATES["duplicate"][1])
        if len(dup_rows):
            positions = np.sort(np.r_[np.arange(len(uids)), dup_rows])
            new_uids = np.arange(len(uids) + 10**7, len(uids) + 10**7 + len(dup_rows))
            is_copy = np.r_[False, positions[1:] == positions[:-1]]
            cols = {k: v[positions] for k, v in cols.items()}
            copy_uids = uids[positions].copy()
            copy_uids[is_copy] = new_uids
            for uid in new_uids:
                planted.append(defects.Planted(int(uid), "duplicate", "drop", chosen.id_column,
                                               "exact copy of the row above"))
            uids = copy_uids
    first_data_row = 2 + chosen.title_rows
    row_of_uid = {int(u): i + first_data_row for i, u in enumerate(uids)}
    truth = pl.DataFrame(
        {
            "source": [source] * len(planted),
            "month": [month.key] * len(planted),
            "row": [row_of_uid[p.uid] for p in planted],
            "kind": [p.kind for p in planted],
            "effect": [p.effect for p in planted],
            "column": [p.column for p in planted],
            "detail": [p.detail for p in planted],
        },
        schema={c: (pl.Int64 if c == "row" else pl.Utf8) for c in DEFECT_COLUMNS},
    ).sort("row", "kind")
    return cols, truth


def resolve_dialects(names: Iterable[str], sources: Iterable[str]) -> dict[str, str]:
    """What `--dialect` asks of each source: a dialect name, or MIXED. A dialect names its own source;
    `native` and `mixed` apply to every source no other name claims. Raises ValueError on a bad request."""
    names, sources = list(dict.fromkeys(names)), list(sources)
    if unknown := [n for n in names if n not in (*DIALECT_NAMES, MIXED)]:
        raise ValueError(f"unknown dialect(s) {', '.join(unknown)}; choose from {', '.join((*DIALECT_NAMES, MIXED))}")
    catch_all = [n for n in names if n in (NATIVE, MIXED)]
    if len(catch_all) > 1:
        raise ValueError("--dialect native and --dialect mixed both apply to every other source; give one of them")
    wanted: dict[str, str] = {}
    for name in names:
        if name in catch_all:
            continue
        source = DIALECTS[name].source
        if source in wanted:
            raise ValueError(f"--dialect {wanted[source]} and --dialect {name} are both {source} dialects; "
                             "give one per source")
        if source not in sources:
            raise ValueError(f"--dialect {name} is a {source} dialect, but {source} is not among the sources written")
        wanted[source] = name
    return {s: wanted.get(s, catch_all[0] if catch_all else NATIVE) for s in sources}


def dialect_of_month(source: str, month: Month, wanted: str, seed: int) -> Dialect:
    """The dialect a source-month is written in; MIXED picks one of the source's, native included, from the seed."""
    if wanted != MIXED:
        return dialect_named(source, wanted)
    options = dialects_of(source)
    return options[int(_stream_rng(seed, source, month, MIXED_STREAM).integers(len(options)))]


def _sample_source(data_dir: Path, source: str, first: Month, last: Month, scale: float, seed: int, clean: bool,
                   wanted: str, progress: Callable[[str, Month], None] | None, reference_dir: str | None,
                   scenario: Scenario = ORDINARY) -> list[Path]:
    """One source's months in order: each month's records also give the next month its re-exports."""
    ref = load_reference(reference_dir)
    written: list[Path] = []
    previous: pl.DataFrame | None = None
    for month in months_between(first, last):
        chosen = dialect_of_month(source, month, wanted, seed)
        if previous is None and not clean:
            previous = generate_clean(source, ref, month.previous(), scale, seed, scenario)
        frame = generate_clean(source, ref, month, scale, seed, scenario)
        cols, truth = build_export(source, ref, month, frame, seed, clean, previous, chosen)
        folder = data_dir / "raw" / source
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{month.key}.{chosen.extension}"
        write_export(chosen, cols, path, month)
        _remove_other_exports(path)
        truth_path = folder / f"{month.key}.defects.csv"
        truth.write_csv(truth_path)
        written += [path, truth_path]
        previous = None if clean else frame
        if progress:
            progress(source, month)
    return written


def _remove_other_exports(path: Path) -> None:
    """One export per source-month: the month written before in a dialect with another file type goes."""
    for extension in EXTENSIONS:
        other = path.with_suffix(f".{extension}")
        if other != path:
            other.unlink(missing_ok=True)


def sample(data_dir: Path, first: Month, last: Month, scale: float = 1.0, seed: int = 20240101, clean: bool = False,
           sources: Iterable[str] = SOURCES, progress: Callable[[str, Month], None] | None = None,
           reference_dir: str | None = None, workers: int | None = None,
           dialects: Mapping[str, str] | None = None, scenario: Scenario = ORDINARY) -> list[Path]:
    """Write every export of the months first..last; returns the paths written.

    `dialects` maps a source to the dialect name it is written in, or MIXED (see `resolve_dialects`);
    a source it leaves out is written in its native dialect. `scenario`: a steady city and planted
    shifts (`nsi.sample.scenario`), recorded in raw/sample.json.

    Sources are independent, so they are generated in parallel processes (110 alone is about half
    the work); each process reports finished months through a queue for the progress display.
    """
    sources = list(sources)
    wanted = {s: (dialects or {}).get(s, NATIVE) for s in sources}
    months = months_between(first, last)
    chosen = {m.key: {s: dialect_of_month(s, m, wanted[s], seed).name for s in SOURCES if s in wanted} for m in months}
    workers = max(1, min(workers or os.cpu_count() or 1, len(sources)))
    if workers == 1:
        written = [p for s in sources for p in _sample_source(data_dir, s, first, last, scale, seed, clean, wanted[s],
                                                             progress, reference_dir, scenario)]
        record_sample(data_dir, months, scale, seed, clean, chosen, scenario)
        return written
    # Largest first, so the long 110 job starts at once.
    order = sorted(sources, key=lambda s: ("police", "hotline", "survey", "disputes").index(s))
    with multiprocessing.Manager() as manager:
        queue = manager.Queue()
        with ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn")) as pool:
            futures = [pool.submit(_sample_source, data_dir, s, first, last, scale, seed, clean, wanted[s],
                                   _QueueProgress(queue), reference_dir, scenario) for s in order]
            pending = set(futures)
            while pending:
                done, pending = wait(pending, timeout=0.2, return_when=FIRST_COMPLETED)
                _drain(queue, progress)
                for future in done:
                    future.result()  # re-raise a worker's error here
            _drain(queue, progress)
        written = [p for f in futures for p in f.result()]
    record_sample(data_dir, months, scale, seed, clean, chosen, scenario)
    return written


def record_sample(data_dir: Path, months: list[Month], scale: float, seed: int, clean: bool,
                  dialects: Mapping[str, Mapping[str, str]] | None = None, scenario: Scenario = ORDINARY) -> Path:
    """raw/sample.json: which months are synthetic, at which scale (read by nsi.scale), the dialect
    each source-month was written in (`dialects`: month key → source → dialect name), and what the
    scenario planted in the month (`steady`, the `shifts` in force; absent for the ordinary city).
    Sources written before in the same month keep their recorded dialect."""
    import json

    path = data_dir / "raw" / DECLARATION
    record = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    for month in months:
        known = {**record.get(month.key, {}).get("dialects", {}), **(dialects or {}).get(month.key, {})}
        record[month.key] = {"scale": scale, "seed": seed, "clean": clean,
                             "dialects": {s: known[s] for s in SOURCES if s in known}, **scenario.record(month)}
    partial = path.with_name(".sample.json.part")
    partial.write_text(json.dumps(dict(sorted(record.items())), indent=1, ensure_ascii=False), encoding="utf-8")
    partial.replace(path)
    return path


class _QueueProgress:
    def __init__(self, queue):
        self.queue = queue

    def __call__(self, source: str, month: Month) -> None:
        self.queue.put((source, month.key))


def _drain(queue, progress: Callable[[str, Month], None] | None) -> None:
    while not queue.empty():
        source, key = queue.get()
        if progress:
            progress(source, Month.parse(key))
