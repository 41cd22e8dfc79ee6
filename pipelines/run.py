"""Run the monthly job for a month or a range through the Dagster instance, and summarise the outcome."""

from __future__ import annotations

import fcntl
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import dagster as dg

from nsi.messages import N_, _
from nsi.month import Month
from nsi.warehouse import writer_lock_path
from pipelines.problems import environment_problem

REPO = Path(__file__).resolve().parent.parent


def dagster_home(data_dir: Path) -> Path:
    """$DAGSTER_HOME, or <data dir>/dagster_home with the repo's dagster.yaml."""
    home = Path(os.environ.get("DAGSTER_HOME") or data_dir / "dagster_home")
    home.mkdir(parents=True, exist_ok=True)
    if not (home / "dagster.yaml").exists():
        shutil.copyfile(REPO / "dagster.yaml", home / "dagster.yaml")
    os.environ["DAGSTER_HOME"] = str(home)
    return home


def open_instance(home: Path) -> dg.DagsterInstance:
    """The Dagster instance, its storages created by one process at a time.

    Two runs started together on a new data directory would otherwise both create the SQLite tables,
    and one would fail with "table runs already exists".
    """
    with open(home / ".storage-init.lock", "a+") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            instance = dg.DagsterInstance.get()
            instance.get_runs(limit=1)  # run storage
            instance.all_logs("-")  # event log storage
            instance.all_instigator_state()  # schedule storage
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    return instance


def _plain_message(error) -> str:
    """Our own Failure description if there is one, else the innermost cause, without wrapper text."""
    while error is not None and error.cause is not None and error.cls_name != "Failure":
        error = error.cause
    if error is None:
        return _("failed")
    lines = (error.message or _("failed")).strip().splitlines()
    first_line = lines[0].split(": ", 1)[1] if lines[0].startswith(("dagster.", "nsi.")) else lines[0]
    # Our own Failures may carry findings below their first line (a file's headers, for one edit).
    return "\n".join([first_line, *lines[1:]]) if error.cls_name == "Failure" else first_line


def _error_text(error) -> str:
    """Every message along a step error's chain of causes, for recognising a fault of the machine."""
    texts = []
    while error is not None and len(texts) < 20:
        texts.append(error.message or "")
        error = error.cause or getattr(error, "context", None)
    return "\n".join(texts)


@dataclass
class RunOutcome:
    run_id: str
    success: bool
    failures: list[str] = field(default_factory=list)  # "step: message"
    failed_checks: list[str] = field(default_factory=list)


STEP_STATUS = {"done": N_("done"), "failed": N_("failed")}  # what `progress` hears of a step, as shown
STAGES = {
    "ingest": [f"{step}_{source}" for source in ("hotline", "police", "disputes", "survey") for step in ("extract", "valid")],
    "index": ["indicator_values", "safety_index"],
    "reports": ["district_reports"],
    "publish": ["publication"],
    "deliver": ["briefing_deliveries"],
}


def step_listener(progress):
    """An instance event listener that tells `progress(step, "done"|"failed")` of each finished step once.

    Dagster calls it with each new event of the run as the event is stored, so the display reads no
    event log (reading the whole log every half second cost about a second of a run).
    """
    kinds = {"STEP_SUCCESS": "done", "STEP_FAILURE": "failed"}
    seen: set[str] = set()

    def hear(entry) -> None:
        event = entry.dagster_event
        if event is None or event.event_type_value not in kinds or event.step_key in seen:
            return
        seen.add(event.step_key)
        progress(event.step_key, kinds[event.event_type_value])

    return hear


LOCK_NOTICE_SECONDS = 15  # how often a waiting run says again that it waits


def _watch_lock(lock: Path, run_id: str, notice, stop) -> None:
    """Say on the console that this run waits for another run's writer lock, with the holder and how long
    it has waited, and again every LOCK_NOTICE_SECONDS, until it holds the lock itself (or ends)."""
    import time

    started = time.monotonic()
    said = None
    while not stop.wait(0.5):
        try:
            holder = lock.read_text(encoding="utf-8").strip()
        except OSError:
            continue
        if run_id in holder:
            if said is not None:
                notice(_("the warehouse is free: {run} goes on after waiting {seconds:.0f} s").format(
                    run=run_id[:8], seconds=time.monotonic() - started))
            return
        waited = time.monotonic() - started
        if holder and waited >= 1 and (said is None or waited - said >= LOCK_NOTICE_SECONDS):
            notice(_("waiting for {holder} to finish writing the warehouse ({seconds:.0f} s so far; "
                     "NSI_LOCK_WAIT_SECONDS is how long to wait)").format(holder=holder, seconds=waited))
            said = waited


def steps_of(stages: list[str] | None) -> list[str]:
    return [name for stage in (stages or list(STAGES)) for name in STAGES[stage] if name != "indicator_values"]


def run_months(first: Month, last: Month, settings, stages: list[str] | None = None,
               progress=None, reason: str | None = None, resend: bool = False, rebuild=None, notice=None) -> RunOutcome:
    """One Dagster run of the monthly job over first..last, in this process.

    `rebuild` (pipelines.verify.Rebuild): run on its scratch data directory with its pins, in a
    throwaway instance, delivering nothing; otherwise the settings' data directory and its instance.
    `notice(text)` hears that the run waits for another run's hold on the warehouse.
    """
    from pipelines.definitions import JOB, build_definitions  # import here: loading definitions takes a second

    if rebuild is None:
        defs = build_definitions(settings)
        instance = open_instance(dagster_home(settings.root))
    else:
        defs = build_definitions(settings.model_copy(update={"data_dir": rebuild.data_dir, "recipients": "off"}),
                                 pins=rebuild.pins)
        instance = rebuild.instance
    job = defs.resolve_job_def(JOB)
    if first == last:
        kwargs = {"partition_key": first.key}
    else:
        kwargs = {"tags": {"dagster/asset_partition_range_start": first.key,
                           "dagster/asset_partition_range_end": last.key}}
    # The console shows our summary; the full log (with stack traces) stays in the instance and the UI.
    run_config = {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}
    # Config only for the steps of this run: Dagster refuses config for a step that is not in it.
    selected = {name for stage in (stages or list(STAGES)) for name in STAGES[stage]}
    ops = {"briefing_deliveries": {"config": {"resend": True}}} if resend else {}
    if reason:
        ops["publication"] = {"config": {"reason": reason}}
    ops = {step: config for step, config in ops.items() if step in selected}
    if ops:
        run_config["ops"] = ops
    if stages:
        kwargs["asset_selection"] = [dg.AssetKey(name) for name in sorted(selected)]
    import threading
    import uuid

    run_id = str(uuid.uuid4())
    stop = threading.Event()
    if progress:
        instance.add_event_listener(run_id, step_listener(progress))
    data_dir = rebuild.data_dir if rebuild is not None else settings.root
    waiter = threading.Thread(target=_watch_lock, args=(writer_lock_path(data_dir), run_id, notice, stop),
                              daemon=True) if notice else None
    if waiter:
        waiter.start()
    try:
        result = job.execute_in_process(run_config=run_config, instance=instance, raise_on_error=False, run_id=run_id, **kwargs)
    finally:
        stop.set()
        if waiter:
            waiter.join(timeout=10)
    failures = []
    for event in result.all_events:
        if event.event_type_value in ("STEP_FAILURE", "RESOURCE_INIT_FAILURE"):
            error = getattr(event.event_specific_data, "error", None)
            where = event.step_key or "run"
            message = f"{where}: {environment_problem(_error_text(error)) or _plain_message(error)}"
            if message not in failures:
                failures.append(message)
    failed_checks = [
        f"{e.event_specific_data.asset_key.to_user_string()}: {e.event_specific_data.check_name}"
        + (f" ({e.event_specific_data.description})" if getattr(e.event_specific_data, "description", None) else "")
        for e in result.all_events
        if e.event_type_value == "ASSET_CHECK_EVALUATION" and not e.event_specific_data.passed
    ]
    return RunOutcome(result.run_id, result.success, failures, failed_checks)
