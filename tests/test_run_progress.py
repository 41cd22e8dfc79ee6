"""The progress display hears each finished step once, from the instance as the events are stored; the event
log kept open per file writes what Dagster's own SQLite event log reads."""

import dagster as dg

from pipelines.event_log import SqliteEventLogStorageKeptOpen
from pipelines.run import step_listener


@dg.op
def first():
    return 1


@dg.op
def second(value):
    return value + 1


@dg.op
def broken(value):
    raise ValueError("no")


@dg.job
def two_steps():
    second(first())
    broken(first.alias("again")())


def test_each_finished_step_is_heard_once_as_it_finishes():
    import uuid

    heard, run_id = [], str(uuid.uuid4())
    with dg.DagsterInstance.ephemeral() as instance:
        listener = step_listener(lambda step, status: heard.append((step, status)))
        instance.add_event_listener(run_id, listener)
        result = two_steps.execute_in_process(instance=instance, run_id=run_id, raise_on_error=False)
        assert not result.success
        assert sorted(heard) == [("again", "done"), ("broken", "failed"), ("first", "done"), ("second", "done")]
        # The same step's event heard again is not said twice.
        listener(next(e for e in instance.all_logs(run_id) if e.dagster_event and e.dagster_event.step_key == "first"
                      and e.dagster_event.event_type_value == "STEP_SUCCESS"))
    assert len(heard) == 4


def test_events_kept_open_are_read_by_dagsters_own_sqlite_event_log(tmp_path):
    from dagster._core.storage.event_log.sqlite.sqlite_event_log import SqliteEventLogStorage

    base = tmp_path / "history" / "runs"
    with dg.DagsterInstance.ephemeral() as instance:
        kept = SqliteEventLogStorageKeptOpen(str(base))
        kept.register_instance(instance)
        result = two_steps.execute_in_process(instance=instance, raise_on_error=False)
        for entry in instance.all_logs(result.run_id):
            kept.store_event(entry)
        written = [e.dagster_event_type for e in kept.get_logs_for_run(result.run_id)]
        kept.dispose()
    plain = SqliteEventLogStorage(str(base))
    assert [e.dagster_event_type for e in plain.get_logs_for_run(result.run_id)] == written
    assert len(written) > 10
