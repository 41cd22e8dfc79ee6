"""What a briefing may say: change readings, named drivers and warning rows, on small hand-built cases."""

import pytest
from scipy.stats import norm

from indicators.methodology import Narration, by_version
from indicators.narration import change_reading, named_drivers, warning_rows, z_of


def v1():
    return by_version("v1")


def with_narration(change_level=0.95, driver_level=0.998):
    return v1().model_copy(update={"narration": Narration(change_level=change_level, driver_level=driver_level)})


def test_z_is_the_two_sided_normal_quantile():
    assert z_of(0.95) == pytest.approx(1.959964, abs=1e-6)
    assert z_of(0.998) == pytest.approx(3.090232, abs=1e-6)
    assert norm.cdf(z_of(0.8)) - norm.cdf(-z_of(0.8)) == pytest.approx(0.8)


def test_change_within_its_band_reads_flat():
    m = with_narration(change_level=0.95)
    assert change_reading(None, 1.0, m) is None
    assert change_reading(3.0, 2.0, m) == "flat"  # 3.0 ≤ 1.96·2
    assert change_reading(-3.0, 2.0, m) == "flat"
    assert change_reading(4.0, 2.0, m) == "up"  # 4.0 > 3.92
    assert change_reading(-4.0, 2.0, m) == "down"
    assert change_reading(0.0, 0.0, m) == "flat"


def test_v1_reads_changes_at_the_old_threshold():
    m = v1()
    assert m.narration is None
    assert change_reading(0.05, 10.0, m) == "flat" and change_reading(-0.05, 0.0, m) == "flat"
    assert change_reading(0.06, 10.0, m) == "up" and change_reading(-0.06, 10.0, m) == "down"


def test_a_driver_is_named_only_outside_its_own_band():
    m = with_narration(driver_level=0.998)
    assert [r["indicator"] for r in named_drivers([{"indicator": "A3", "contribution_mom": 1.0, "sd": 0.2}], m)] == ["A3"]
    assert named_drivers([{"indicator": "A3", "contribution_mom": 1.0, "sd": 0.5}], m) == []
    assert named_drivers([{"indicator": "A3", "contribution_mom": 1.0, "sd": 0.0}], m) == []
    assert named_drivers([{"indicator": "A3", "contribution_mom": None, "sd": 0.1}], m) == []
    rows = [{"indicator": "A1", "contribution_mom": -2.0, "sd": 0.1}, {"indicator": "B2", "contribution_mom": 5.0, "sd": 1.0},
            {"indicator": "C1", "contribution_mom": 0.3, "sd": 0.1}, {"indicator": "D1", "contribution_mom": 9.0, "sd": 8.0}]
    named = named_drivers(rows, m)
    assert [(r["indicator"], r["side"]) for r in named] == [("B2", "up"), ("A1", "down")]  # 0.3 ≤ 3.09·0.1; 9 ≤ 24.7


def test_v1_names_drivers_as_the_first_briefings_did():
    from reports.briefing import drivers_clause
    m = v1()
    rows = [{"indicator": "A1", "contribution_mom": 0.9, "sd": 5.0}, {"indicator": "A2", "contribution_mom": 0.4, "sd": 5.0},
            {"indicator": "A3", "contribution_mom": 0.2, "sd": 5.0}, {"indicator": "B1", "contribution_mom": -0.05, "sd": 0.0},
            {"indicator": "B2", "contribution_mom": -0.7, "sd": 0.0}, {"indicator": "C1", "contribution_mom": None, "sd": None}]
    named = named_drivers(rows, m)
    # The two largest each way beyond 0.05 points, whatever their noise; the largest first.
    assert [(r["indicator"], r["side"]) for r in named] == [("A1", "up"), ("B2", "down"), ("A2", "up")]
    names = {r["indicator"]: r["indicator"] for r in rows}
    sentence = drivers_clause(named, names, m)
    assert "A1（+0.9分）、A2（+0.4分）" in sentence and "B2（−0.7分）" in sentence and "A3" not in sentence


def test_warning_rows_are_every_row_with_a_warning():
    rows = [{"code": "320104", "indicator": "A1", "warning": "明显差于近12个月常态"},
            {"code": "320102", "indicator": "B2", "warning": None},
            {"code": "320102", "indicator": "C1", "warning": "明显好于近12个月常态"},
            {"code": "320102", "indicator": "A3", "warning": "明显差于近12个月常态"}]
    assert [(r["code"], r["indicator"]) for r in warning_rows(rows)] == [("320102", "A3"), ("320102", "C1"),
                                                                         ("320104", "A1")]
    assert warning_rows([]) == []


def test_a_warned_indicator_is_a_driver_beyond_the_lower_band():
    # 2.5 SDs: inside the 99.8% band (3.09 SDs), outside the 90% one (1.64); named only with a warning.
    plain = with_narration(driver_level=0.998)
    warned_rule = plain.model_copy(update={"narration": plain.narration.model_copy(update={"warned_driver_level": 0.9})})
    rows = [{"indicator": "A3", "contribution_mom": -2.5, "sd": 1.0, "warning": "明显差于近12个月常态（…）"},
            {"indicator": "A2", "contribution_mom": 2.5, "sd": 1.0, "warning": None},
            {"indicator": "B2", "contribution_mom": 1.2, "sd": 1.0, "warning": "明显好于近12个月常态（…）"}]
    assert named_drivers(rows, plain) == []
    assert [(d["indicator"], d["side"]) for d in named_drivers(rows, warned_rule)] == [("A3", "down")]
    # the band of an unwarned indicator is unchanged
    rows[1]["contribution_mom"] = 3.2
    assert [d["indicator"] for d in named_drivers(rows, warned_rule)] == ["A2", "A3"]
