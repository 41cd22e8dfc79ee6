"""Methodology files: validated on load with messages naming file and key; versions by month; the doc is current."""

import shutil
from pathlib import Path

import pytest
import yaml

from indicators import document
from indicators.methodology import METHODOLOGY_DIR, MethodologyError, all_versions, for_month, load_file

REPO = Path(__file__).resolve().parent.parent


def edited(tmp_path, change):
    data = yaml.safe_load((METHODOLOGY_DIR / "v1.yaml").read_text(encoding="utf-8"))
    change(data)
    path = tmp_path / "v1.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def test_v1_loads_with_16_indicators_and_weights_summing_to_one():
    m = for_month("2024-03")
    assert m.version == "v1" and len(m.indicators) == 16
    assert sum(s.weight for s in m.sub_indices) == pytest.approx(1)
    assert [s.code for s in m.sub_indices] == ["A", "B", "C", "D"]


@pytest.mark.parametrize("change, message", [
    (lambda d: d["sub_indices"][0].update(weight=0.5), "v1.yaml: (top level): Value error, sub_indices: weights sum to 1.150000, not 1"),
    (lambda d: d["sub_indices"][1]["indicators"][0].update(weight=0.5), "sub_indices.B: indicator weights sum to 1.300000"),
    (lambda d: d["sub_indices"][0]["indicators"][0].update(goalposts=[5, 1]), "sub_indices.0.indicators.0.goalposts"),
    (lambda d: d["sub_indices"][0]["indicators"][0].update(code="A9"), "sub_indices.A.A9: no computation for this indicator"),
    (lambda d: d["sub_indices"][0]["indicators"][0].update(source="survey"), "sub_indices.A.A1: source must be police"),
    (lambda d: d["sub_indices"][0]["indicators"][0].update(direction=0), "sub_indices.0.indicators.0.direction"),
    (lambda d: d["sub_indices"][0]["indicators"][0].update(weight=-1), "sub_indices.0.indicators.0.weight"),
    (lambda d: d.pop("aggregation"), "v1.yaml: aggregation: Field required"),
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
