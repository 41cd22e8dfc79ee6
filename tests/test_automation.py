"""The schedule and the sensor request the right months, and are off by default."""

from datetime import datetime
from zoneinfo import ZoneInfo

import dagster as dg

from pipelines.definitions import defs


def test_schedule_runs_the_previous_month_and_is_off():
    schedule = defs.resolve_schedule_def("nsi_monthly_schedule")
    assert schedule.cron_schedule == "0 6 3 * *" and schedule.execution_timezone == "Asia/Shanghai"
    assert schedule.default_status == dg.DefaultScheduleStatus.STOPPED
    for tick, month in [(datetime(2025, 1, 3, 6, tzinfo=ZoneInfo("Asia/Shanghai")), "2024-12"),
                        (datetime(2024, 7, 3, 6, tzinfo=ZoneInfo("Asia/Shanghai")), "2024-06")]:
        context = dg.build_schedule_context(scheduled_execution_time=tick)
        requests = schedule.evaluate_tick(context).run_requests
        assert [r.partition_key for r in requests] == [month]


def test_sensor_waits_for_all_four_exports(tmp_path):
    from nsi import settings
    from pipelines.definitions import build_definitions
    defs = build_definitions(settings.load({"NSI_DATA_DIR": str(tmp_path)}))
    sensor = defs.resolve_sensor_def("nsi_exports_sensor")
    assert sensor.default_status == dg.DefaultSensorStatus.STOPPED
    from assets.partitions import monthly_partitions
    month = monthly_partitions.get_partition_keys()[-1]
    for source, ext in [("hotline", "csv"), ("police", "csv"), ("disputes", "xlsx")]:
        (tmp_path / "raw" / source).mkdir(parents=True)
        (tmp_path / "raw" / source / f"{month}.{ext}").write_text("x")
    assert sensor.evaluate_tick(dg.build_sensor_context(repository_def=defs.get_repository_def())).run_requests == []
    (tmp_path / "raw" / "survey").mkdir()
    (tmp_path / "raw" / "survey" / f"{month}.xlsx").write_text("x")
    first = sensor.evaluate_tick(dg.build_sensor_context(repository_def=defs.get_repository_def())).run_requests
    assert [r.partition_key for r in first] == [month]
    again = sensor.evaluate_tick(dg.build_sensor_context(repository_def=defs.get_repository_def())).run_requests
    assert again[0].run_key == first[0].run_key  # same files: Dagster skips the repeated key
    (tmp_path / "raw" / "survey" / f"{month}.xlsx").write_text("corrected")
    assert sensor.evaluate_tick(dg.build_sensor_context(repository_def=defs.get_repository_def())).run_requests[0].run_key != first[0].run_key
