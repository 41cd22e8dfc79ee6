"""Methodology files: validated on load with messages naming file and key; versions by month; every
methodological number read from the file; the doc is current."""

import shutil
from pathlib import Path

import numpy as np
import polars as pl
import pytest
import yaml

from indicators import document
from indicators.index import INDEX_SCHEMA, INDICATOR_SCHEMA, compute_month, early_warnings, rank_intervals
from indicators.methodology import METHODOLOGY_DIR, MethodologyError, all_versions, for_month, load_file
from indicators.values import COLUMNS
from nsi.month import Month
from nsi.reference import CITY_CODE, load_reference

REPO = Path(__file__).resolve().parent.parent


def edited(tmp_path, change):
    data = yaml.safe_load((METHODOLOGY_DIR / "v1.yaml").read_text(encoding="utf-8"))
    change(data)
    path = tmp_path / "v1.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def test_v1_loads_with_16_indicators_and_weights_summing_to_one():
    m = for_month("2024-02")
    assert m.version == "v1" and len(m.indicators) == 16
    assert sum(s.weight for s in m.sub_indices) == pytest.approx(1)
    assert [s.code for s in m.sub_indices] == ["A", "B", "C", "D"]


@pytest.mark.parametrize("change, message", [
    (lambda d: d["sub_indices"][0].update(weight=0.5), "v1.yaml: (top level): Value error, sub_indices: weights sum to 1.150000, not 1"),
    (lambda d: d["sub_indices"][1]["indicators"][0].update(weight=0.5), "sub_indices.B: indicator weights sum to 1.300000"),
    (lambda d: d["sub_indices"][0]["indicators"][0].update(goalposts=[5, 1]), "sub_indices.0.indicators.0.goalposts"),
    (lambda d: d["sub_indices"][0]["indicators"][0].update(code="A9"), "sub_indices.A.A9: not in catalogue.yaml (catalogued: A1,"),
    # The source is the catalogue's, declared once.
    (lambda d: d["sub_indices"][0]["indicators"][0].update(source="police"),
     "v1.yaml: sub_indices.0.indicators.0.source: Extra inputs are not permitted"),
    (lambda d: d["sub_indices"][0]["indicators"][0].update(direction=0), "sub_indices.0.indicators.0.direction"),
    (lambda d: d["sub_indices"][0]["indicators"][0].update(weight=-1), "sub_indices.0.indicators.0.weight"),
    (lambda d: d.pop("aggregation"), "v1.yaml: aggregation: Field required"),
    (lambda d: d.pop("monte_carlo"), "v1.yaml: monte_carlo: Field required"),
    (lambda d: d["monte_carlo"].update(draws=0), "v1.yaml: monte_carlo.draws: Input should be greater than or equal to 1"),
    (lambda d: d["monte_carlo"].update(weight_jitter=1.0), "v1.yaml: monte_carlo.weight_jitter: Input should be less than 1"),
    (lambda d: d["monte_carlo"].update(normalisations={"goalposts": 0.5, "minmax": 0.3}),
     "v1.yaml: monte_carlo.normalisations: Value error, chances sum to 0.800000, not 1"),
    (lambda d: d["monte_carlo"].update(normalisations={"zscore": 1}), "v1.yaml: monte_carlo.normalisations.zscore.[key]"),
    (lambda d: d["monte_carlo"].update(percentiles=[95, 50, 5]), "v1.yaml: monte_carlo.percentiles: Value error, percentiles must be"),
    (lambda d: d["early_warning"].update(threshold=0), "v1.yaml: early_warning.threshold: Input should be greater than 0"),
    (lambda d: d["early_warning"].update(min_history=13), "v1.yaml: early_warning: Value error, min_history 13 exceeds trailing_months 12"),
    (lambda d: d["early_warning"].update(spread_floor=-0.1), "v1.yaml: early_warning.spread_floor: Input should be greater than or equal to 0"),
    (lambda d: d["early_warning"].pop("mad_factor"), "v1.yaml: early_warning.mad_factor: Field required"),
    (lambda d: d.update(geometric_range=[0, 100]), "v1.yaml: geometric_range: Value error, geometric_range must be"),
    (lambda d: d.update(survey_min_completes=0), "v1.yaml: survey_min_completes: Input should be greater than or equal to 1"),
])
def test_invalid_methodology_is_named(tmp_path, change, message):
    with pytest.raises(MethodologyError) as error:
        load_file(edited(tmp_path, change))
    assert message in str(error.value)


def test_month_uses_the_version_valid_for_it(tmp_path):
    shutil.copyfile(METHODOLOGY_DIR / "v1.yaml", tmp_path / "v1.yaml")
    data = yaml.safe_load((METHODOLOGY_DIR / "v1.yaml").read_text(encoding="utf-8"))
    data.update(version="v2", valid_from="2025-01")
    (tmp_path / "v2.yaml").write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    assert for_month("2024-12", str(tmp_path)).version == "v1"
    assert for_month("2025-01", str(tmp_path)).version == "v2"
    with pytest.raises(MethodologyError, match="no methodology version is valid for 2022-12"):
        for_month("2022-12", str(tmp_path))
    all_versions.cache_clear()


def test_methodology_document_is_generated_from_the_files():
    current = (REPO / "docs" / "methodology.md").read_text(encoding="utf-8")
    assert current == document.render(), "docs/methodology.md is stale: run python -m indicators.document > docs/methodology.md"
    for indicator in for_month("2024-03").indicators:
        assert indicator.name_zh in current


def test_methodology_document_shows_the_numbers_of_each_file(tmp_path):
    def change(d):
        d["monte_carlo"].update(draws=123, weight_jitter=0.1, percentiles=[10, 50, 90])
        d["early_warning"].update(threshold=2.5, trailing_months=10, mad_factor=1.5, spread_floor=0.05)
        d.update(survey_min_completes=150, geometric_range=[2, 100])
    text = "\n".join(document.render_version(load_file(edited(tmp_path, change))))
    for shown in ("over 123 Monte-Carlo draws", "×(1 ± 10%)", "the 10th, 50th and 90th percentiles",
                  "more than 2.5 robust standard deviations", "trailing 10 months", "1.5·MAD", "0.05·|median|",
                  "近10个月常态", "fewer than 150 completes", "[2, 100]"):
        assert shown in text, shown
    v1 = "\n".join(document.render_version(for_month("2024-02")))
    assert "over 400 Monte-Carlo draws" in v1 and "more than 3 robust standard deviations" in v1


# ------------------------------------------------------------- the numbers change what is computed
def districts_and_city(m):
    """Indicator values between the goalposts, as indicator_values rows for the 11 districts and the city."""
    units = [*load_reference().district_codes, CITY_CODE]
    rng = np.random.default_rng(3)
    rows = [{"month": "2024-03", "code": u, "indicator": i.code,
             "value": i.goalposts[0] + rng.random() * (i.goalposts[1] - i.goalposts[0])}
            for u in units for i in m.indicators]
    return pl.DataFrame(rows, schema=COLUMNS)


def raw_of(values, m):
    districts = values.filter(pl.col("code") != CITY_CODE)
    return districts.pivot(on="indicator", index="code", values="value").select([i.code for i in m.indicators]).to_numpy()


def test_monte_carlo_numbers_are_read_from_the_file(tmp_path):
    v1 = for_month("2024-02")
    raw = raw_of(districts_and_city(v1), v1)
    no_error = np.full(raw.shape, np.nan)
    usual = rank_intervals(raw, no_error, v1, 7)
    assert (usual[:, 0] < usual[:, 2]).any() and (usual[:, 0] != usual[:, 1]).any()
    one_draw = load_file(edited(tmp_path, lambda d: d["monte_carlo"].update(draws=1)))
    single = rank_intervals(raw, no_error, one_draw, 7)
    assert (single[:, 0] == single[:, 2]).all()
    # The same seeded draws; the file's first percentile is v1's median.
    shifted = load_file(edited(tmp_path, lambda d: d["monte_carlo"].update(percentiles=[50, 60, 70])))
    assert (rank_intervals(raw, no_error, shifted, 7)[:, 0] == usual[:, 1]).all()


def test_compute_month_draws_as_the_file_says(tmp_path):
    v1 = for_month("2024-02")
    values = districts_and_city(v1)

    def index_of(m):
        return compute_month(Month(2024, 3), values, m, load_reference(), pl.DataFrame(schema=INDEX_SCHEMA(m)),
                             pl.DataFrame(schema=INDICATOR_SCHEMA), pl.DataFrame(schema=COLUMNS)).index

    usual = index_of(v1).filter(pl.col("code") != CITY_CODE)
    assert (usual["rank_p05"] < usual["rank_p95"]).any()
    # No jitter and one normalisation: every draw ranks as the index does.
    fixed = load_file(edited(tmp_path, lambda d: d["monte_carlo"].update(weight_jitter=0, normalisations={"goalposts": 1})))
    exact = index_of(fixed).filter(pl.col("code") != CITY_CODE)
    assert exact["rank_p05"].to_list() == exact["rank"].to_list() == exact["rank_p95"].to_list()
    # The geometric mean maps scores onto the file's range first.
    def geometric(low):
        m = load_file(edited(tmp_path, lambda d: d.update(aggregation="geometric", geometric_range=[low, 100])))
        return index_of(m)["composite"].to_list()
    assert geometric(1) != geometric(10)


HISTORY = [10.0, 10.4, 9.8, 10.1, 9.9, 10.3, 10.0, 9.7, 10.2, 10.1, 9.9, 10.0]  # median 10, MAD 0.1


def warned(value, m, months=12):
    history = pl.DataFrame({"month": [f"2023-{k:02d}" for k in range(1, 13)], "code": "320102", "indicator": "A1",
                            "value": HISTORY}).tail(months)
    current = pl.DataFrame({"code": ["320102"], "indicator": ["A1"], "value": [value]})
    return early_warnings(current, history, m).get(("320102", "A1"))


def test_early_warning_numbers_are_read_from_the_file(tmp_path):
    v1 = for_month("2024-02")

    def variant(**numbers):
        return load_file(edited(tmp_path, lambda d: d["early_warning"].update(numbers)))

    # v1: the robust SD is the floor 0.02·10 = 0.2, over 1.4826·MAD ≈ 0.15; 10.7 is 3.5 of them away.
    assert warned(10.7, v1).startswith("明显差于近12个月常态（比中位数高3.5个")
    assert warned(10.7, variant(threshold=4)) is None
    assert warned(10.5, v1) is None
    assert warned(10.5, variant(spread_floor=0.01)) is not None
    assert warned(10.5, variant(spread_floor=0.01, mad_factor=3)) is None
    assert warned(10.7, v1, months=10) is not None
    assert warned(10.7, variant(min_history=12), months=10) is None
    assert warned(10.7, variant(trailing_months=10, min_history=6)).startswith("明显差于近10个月常态")
