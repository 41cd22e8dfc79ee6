"""The indicator catalogue: validated on load with messages naming file and key; the SQL and the
document are generated from it."""

import pytest
import yaml

from indicators import document
from indicators.methodology import CATALOGUE_FILE, MethodologyError, catalogue, load_catalogue
from indicators.values import PER, source_sql


def edited(tmp_path, change):
    data = yaml.safe_load(CATALOGUE_FILE.read_text(encoding="utf-8"))
    change(data)
    path = tmp_path / "catalogue.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def entry(data, code):
    return next(e for e in data["indicators"] if e["code"] == code)


def test_catalogue_loads_18_indicators_of_four_sources():
    c = catalogue()
    assert c.version == 2 and len(c.indicators) == 18 and PER == c.rate_per == 10_000
    assert {e.source for e in c.indicators} == set(c.records) == {"police", "hotline", "disputes", "survey"}


@pytest.mark.parametrize("change, message", [
    (lambda d: entry(d, "B2").update(source="courts"),
     "catalogue.yaml: indicators.6.source: Input should be 'police', 'hotline', 'disputes' or 'survey'"),
    (lambda d: entry(d, "B2").pop("of"), "catalogue.yaml: indicators.6: Value error, B2: a share indicator needs `of`"),
    (lambda d: entry(d, "A1").update(count=" "), "catalogue.yaml: indicators.0.count: String should have at least 1 character"),
    (lambda d: entry(d, "A1").update(numerator="TRUE"), "catalogue.yaml: indicators.0: Value error, A1: a per_residents indicator takes no `numerator`"),
    (lambda d: entry(d, "A1").update(denominator="ratio"), "catalogue.yaml: indicators.0.denominator: Input should be"),
    (lambda d: entry(d, "C2").update(source="survey"),
     "catalogue.yaml: indicators.10: Value error, C2: survey indicators, and only they, are post_stratified_share"),
    (lambda d: d["indicators"].append(dict(entry(d, "A1"))), "catalogue.yaml: indicators: Value error, A1 appear(s) more than once"),
    (lambda d: d["records"].pop("hotline"),
     "catalogue.yaml: (top level): Value error, indicators.C1: no record set for source hotline under `records`"),
    (lambda d: d.pop("version"), "catalogue.yaml: version: Field required"),
    (lambda d: d.update(rate_per=0), "catalogue.yaml: rate_per: Input should be greater than 0"),
])
def test_broken_catalogue_is_refused_naming_file_and_key(tmp_path, change, message):
    with pytest.raises(MethodologyError) as error:
        load_catalogue(edited(tmp_path, change))
    assert message in str(error.value)


def test_catalogue_that_is_not_yaml_is_refused(tmp_path):
    path = tmp_path / "catalogue.yaml"
    path.write_text("version: 1\nindicators: [{code: A1\n", encoding="utf-8")
    with pytest.raises(MethodologyError, match="^catalogue.yaml: not valid YAML"):
        load_catalogue(path)


def test_indicator_sql_is_generated_from_the_catalogue():
    for e in catalogue().indicators:
        sql = source_sql(e.source)
        for formula in e.formula.values():
            assert formula in sql, (e.code, formula)
        assert f'"{e.code}_' in sql
    assert "$city" in source_sql("police") and "320100" not in source_sql("police")


def test_methodology_document_shows_the_catalogue():
    text = document.render()
    assert "## Indicator catalogue (version 2)" in text
    for e in catalogue().indicators:
        row = next(line for line in text.splitlines() if line.startswith(f"| {e.code} | {e.source} | {e.denominator} |"))
        for formula in e.formula.values():
            assert formula == "TRUE" or f"`{formula}`" in row, (e.code, formula)
    for sql in catalogue().records.values():
        assert sql in text
