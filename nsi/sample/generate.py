"""`nsi sample`: write realistic raw exports, as the four source systems deliver them, and the truth.

For each month and source: the month's clean records → export text in the system's own formats →
planted defects (unless clean) → rows re-exported from the previous month and duplicates → one file
under raw/<source>/<YYYY-MM>.<ext>, and raw/<source>/<YYYY-MM>.defects.csv listing each planted defect
by its row in the file (as a spreadsheet numbers it: the header is row 1, or 2 under a title row).
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl

from nsi.exports import SOURCES, SPECS, ExportSpec
from nsi.month import Month, months_between
from nsi.reference import Reference, load_reference
from nsi.sample import defects
from nsi.sample.sources import SOURCE_INDEX, generate_clean
from nsi.sample.writers import write_export
from nsi.scale import DECLARATION

EXCEL_DAYS_TO_UNIX_EPOCH = 25569  # 1899-12-30 (Excel's day 0) to 1970-01-01
DEFECT_COLUMNS = ["source", "month", "row", "kind", "effect", "column", "detail"]

# How each system writes its timestamps: (share, format); "serial" = an Excel serial number.
TIME_FORMATS = {
    "police": ((0.85, "%Y-%m-%d %H:%M:%S"), (0.15, "%Y/%-m/%-d %-H:%M")),
    "hotline": ((0.50, "%Y-%m-%d %H:%M:%S"), (0.25, "%Y-%m-%d %H:%M:%S.0"), (0.15, "%Y/%-m/%-d %-H:%M"), (0.10, "serial")),
    "disputes": ((0.80, "cell"), (0.10, "%Y/%-m/%-d"), (0.10, "serial")),
    "survey": ((0.90, "cell"), (0.10, "%Y-%m-%d")),
}


def _format_times(spec: ExportSpec, frame: pl.DataFrame, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Every column as an object array of what the file will hold (text, or date/number cells in XLSX)."""
    n = frame.height
    formats = TIME_FORMATS[spec.source]
    shares = np.cumsum([s for s, _ in formats])
    selector = np.searchsorted(shares, rng.random(n) * shares[-1])
    out: dict[str, np.ndarray] = {}
    for column in spec.columns:
        series = frame[column.name]
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
                    if spec.extension == "csv":
                        values[mask] = np.array([_serial_text(v) for v in values[mask]], dtype=object)
                else:
                    values[mask] = np.array(part.dt.strftime(fmt).to_list(), dtype=object)
            out[column.name] = values
        elif column.kind in ("int", "float"):
            if spec.extension == "xlsx":
                out[column.name] = np.array(series.to_list(), dtype=object)
            else:
                out[column.name] = np.array(series.cast(pl.Utf8).fill_null("").to_list(), dtype=object)
        else:
            out[column.name] = np.array(series.to_list(), dtype=object)
    return out


def _serial_text(value) -> str:
    text = f"{value:.6f}".rstrip("0").rstrip(".")
    return text


def _plant(source: str, spec: ExportSpec, frame: pl.DataFrame, cols: dict[str, np.ndarray], truth_district: np.ndarray,
           jiangbei: np.ndarray, uids: np.ndarray, rng: np.random.Generator, month: Month) -> list[defects.Planted]:
    p = defects.Planter(rng, cols, uids)
    defects.plant_common(p, truth_district, jiangbei, spec.time_column, month.key)
    if source == "police":
        has_arrival = np.array([v != "" for v in cols["arrival_time"]])
        rows = p.pick(has_arrival, "arrival_before_dispatch", exclusive=True)
        for r in rows:
            # Swap the two clocks: arrival before dispatch.
            cols["arrival_time"][r], cols["dispatch_time"][r] = cols["dispatch_time"][r], cols["arrival_time"][r]
        p.record(rows, "arrival_before_dispatch", "arrival_time", "arrival before dispatch")
        defects.plant_format_noise(p, ["caller_phone"], ["category"])
    elif source == "hotline":
        closed = np.array([v != "" for v in cols["closed_time"]]) & np.array([v != "" for v in cols["accepted_time"]])
        rows = p.pick(closed, "closed_before_intake", exclusive=True)
        accepted = frame["accepted_time"].to_list()
        for r in rows:
            before = accepted[r] - timedelta(hours=int(rng.integers(1, 48)))
            cols["closed_time"][r] = before.strftime("%Y-%m-%d %H:%M:%S")
        p.record(rows, "closed_before_intake", "closed_time", "closure before intake")
        defects.plant_format_noise(p, ["caller_phone", "contact_phone"], ["request_type"])
        defects.plant_bad_ids(p, "id_number")
    elif source == "disputes":
        defects.plant_format_noise(p, ["party_phone"], ["dispute_type"])
        defects.plant_bad_ids(p, "party_id_number")
    elif source == "survey":
        answered = np.array([v != "" for v in cols["q_safety"]])
        rows = p.pick(answered, "invalid_answer", exclusive=True)
        cols["q_safety"][rows] = "X"
        p.record(rows, "invalid_answer", "q_safety", "X")
        defects.plant_format_noise(p, ["phone"], ["q_satisfaction"])
    return p.planted


def build_export(source: str, ref: Reference, month: Month, frame: pl.DataFrame, seed: int, clean: bool,
                 previous_clean: pl.DataFrame | None) -> tuple[dict[str, np.ndarray], pl.DataFrame]:
    """The export's cells (in file order) and the ground truth of planted defects, from the clean records."""
    spec = SPECS[source]
    rng = np.random.default_rng([seed, SOURCE_INDEX[source], month.year, month.month, 99])
    cols = _format_times(spec, frame, rng)
    n = frame.height
    uids = np.arange(n)
    planted: list[defects.Planted] = []
    order = list(range(n))
    if not clean:
        district = frame["_district"].to_numpy()
        jiangbei_codes = {s.street_code for s in ref.streets.values() if s.jiangbei}
        jiangbei = np.isin(frame["_street_code"].to_numpy(), list(jiangbei_codes))
        planted = _plant(source, spec, frame, cols, district, jiangbei, uids, rng, month)
        # Rows of the previous month's last two days, exported again.
        if previous_clean is not None and previous_clean.height:
            tail = previous_clean.filter(pl.col(spec.time_column).cast(pl.Datetime("ms"))
                                         >= pl.lit(datetime.combine(month.start.date(), datetime.min.time()))
                                         - pl.duration(days=2))
            picked = tail.filter(pl.Series(rng.random(tail.height) < defects.RATES["reexport"][1]))
            if picked.height:
                prev_cols = _format_times(spec, picked, rng)
                cols = {k: np.concatenate([prev_cols[k], cols[k]]) for k in cols}
                uids = np.r_[np.arange(n, n + picked.height), uids]
                order = list(range(picked.height)) + [i + picked.height for i in order]
                for uid in range(n, n + picked.height):
                    planted.append(defects.Planted(uid, "reexport", "drop", spec.id_column, "previous month's row"))
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
                planted.append(defects.Planted(int(uid), "duplicate", "drop", spec.id_column, "exact copy of the row above"))
            uids = copy_uids
    first_data_row = 2 + spec.title_rows
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


def _sample_source(data_dir: Path, source: str, first: Month, last: Month, scale: float, seed: int, clean: bool,
                   progress: Callable[[str, Month], None] | None, reference_dir: str | None) -> list[Path]:
    """One source's months in order: each month's records also give the next month its re-exports."""
    ref = load_reference(reference_dir)
    spec = SPECS[source]
    written: list[Path] = []
    previous: pl.DataFrame | None = None
    for month in months_between(first, last):
        if previous is None and not clean:
            previous = generate_clean(source, ref, month.previous(), scale, seed)
        frame = generate_clean(source, ref, month, scale, seed)
        cols, truth = build_export(source, ref, month, frame, seed, clean, previous)
        folder = data_dir / "raw" / source
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{month.key}.{spec.extension}"
        write_export(spec, cols, path, month)
        truth_path = folder / f"{month.key}.defects.csv"
        truth.write_csv(truth_path)
        written += [path, truth_path]
        previous = None if clean else frame
        if progress:
            progress(source, month)
    return written


def sample(data_dir: Path, first: Month, last: Month, scale: float = 1.0, seed: int = 20240101, clean: bool = False,
           sources: Iterable[str] = SOURCES, progress: Callable[[str, Month], None] | None = None,
           reference_dir: str | None = None, workers: int | None = None) -> list[Path]:
    """Write every export of the months first..last; returns the paths written.

    Sources are independent, so they are generated in parallel processes (110 alone is about half
    the work); each process reports finished months through a queue for the progress display.
    """
    sources = list(sources)
    workers = max(1, min(workers or os.cpu_count() or 1, len(sources)))
    if workers == 1:
        written = [p for s in sources for p in _sample_source(data_dir, s, first, last, scale, seed, clean, progress, reference_dir)]
        record_sample(data_dir, months_between(first, last), scale, seed, clean)
        return written
    # Largest first, so the long 110 job starts at once.
    order = sorted(sources, key=lambda s: ("police", "hotline", "survey", "disputes").index(s))
    with multiprocessing.Manager() as manager:
        queue = manager.Queue()
        with ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn")) as pool:
            futures = [pool.submit(_sample_source, data_dir, s, first, last, scale, seed, clean,
                                   _QueueProgress(queue), reference_dir) for s in order]
            pending = set(futures)
            while pending:
                done, pending = wait(pending, timeout=0.2, return_when=FIRST_COMPLETED)
                _drain(queue, progress)
                for future in done:
                    future.result()  # re-raise a worker's error here
            _drain(queue, progress)
        written = [p for f in futures for p in f.result()]
    record_sample(data_dir, months_between(first, last), scale, seed, clean)
    return written


def record_sample(data_dir: Path, months: list[Month], scale: float, seed: int, clean: bool) -> Path:
    """raw/sample.json: which months are synthetic and at which scale (read by nsi.scale)."""
    import json

    path = data_dir / "raw" / DECLARATION
    record = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    for month in months:
        record[month.key] = {"scale": scale, "seed": seed, "clean": clean}
    partial = path.with_name(".sample.json.part")
    partial.write_text(json.dumps(dict(sorted(record.items())), indent=1), encoding="utf-8")
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
