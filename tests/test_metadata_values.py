"""The tables and charts the UI shows for a month (assets/metadata_values.py), without Dagster runs."""

import base64

import polars as pl

from assets.metadata_values import city_numbers, frame_table, history_chart, history_months
from nsi.month import Month

SUBS = {"A": "治安状况", "B": "矛盾化解"}


def test_a_frame_becomes_a_typed_table_with_its_columns_renamed():
    frame = pl.DataFrame({"column": ["q_safety"], "rows": [5], "share": [0.25], "known": [False]})
    table = frame_table(frame, {"rows": "行数"})
    assert [(c.name, c.type) for c in table.schema.columns] == [
        ("column", "string"), ("行数", "int"), ("share", "float"), ("known", "bool")]
    assert [r.data for r in table.records] == [{"column": "q_safety", "行数": 5, "share": 0.25, "known": False}]


def test_the_history_is_the_thirteen_months_up_to_the_month_across_the_year():
    months = history_months(Month.parse("2024-02"))
    assert months[0] == "2023-02" and months[-1] == "2024-02" and len(months) == 13
    assert "2023-12" in months and "2024-01" in months and sorted(months) == months


def test_the_chart_draws_the_known_months_and_lists_their_figures():
    months = history_months(Month.parse("2024-03"))
    chart = history_chart(months, {"2024-01": 54.104, "2024-03": 62.846}).value
    image, figures = chart.split("\n\n")
    svg = base64.b64decode(image.split("base64,", 1)[1].rstrip(")")).decode("utf-8")
    assert svg.startswith("<svg") and svg.count("<circle") == 2  # one point per computed month, none for gaps
    assert figures == "南京市平安指数：2024-01 54.10 · 2024-03 62.85"


def test_city_numbers_are_plain_numbers_and_a_missing_value_stays_missing():
    index = pl.DataFrame({"code": ["320102", "320100"], "composite": [70.0, 61.23456],
                          "A": [80.0, float("nan")], "B": [60.0, None]}, schema_overrides={"B": pl.Float64})
    assert city_numbers(index, SUBS) == {"city_composite": 61.23, "city_A 治安状况": None, "city_B 矛盾化解": None}
