"""Exports in the real systems' dialects load with the shipped vocabularies: the same month written as
the 110 spreadsheet export, the 接处警 database dump, the 12345 诉求表 (.xls), the justice and grid
mediation platforms and the CATI call log gives the index the same counts as the project's own
format, and each dialect's planted defects are caught row for row."""

from pathlib import Path

import polars as pl
import pytest
from conftest import run_nsi

from indicators.values import indicator_values
from nsi import vocabulary
from nsi.exports import EXTENSIONS
from nsi.ingest.extract import extract
from nsi.ingest.validate import validate
from nsi.month import Month
from nsi.reference import load_reference

MONTH = "2024-02"
DIALECT_SOURCES = ("hotline", "police", "disputes", "survey")
DIALECTS = {"jcj": "police", "dump": "police", "jiesu": "hotline", "justice": "disputes", "grid": "disputes",
            "cati": "survey"}
# Two runs cover every dialect: a source takes one dialect per month.
RUNS = {"first": ["dump", "jiesu", "justice", "cati"], "second": ["jcj", "grid"]}
INDICATOR_QUERY = ("SELECT code, indicator, numerator, denominator, n, round(value, 9) AS value FROM indicator_values "
                   "WHERE month = ? ORDER BY code, indicator")


def export_of(root, source):
    return next(p for e in EXTENSIONS if (p := root / "raw" / source / f"{MONTH}.{e}").exists())


def sample(root, *args):
    run_nsi(["sample", "--from", MONTH, "--scale", "0.01", *args], root)


def indicator_counts_in_process(root: Path) -> pl.DataFrame:
    """What the index asset computes from the month's exports, called as plain functions."""
    import duckdb

    from indicators.methodology import for_month
    from nsi.ingest.month import Folders, extract_month, load_month, record_extract
    from nsi.scale import declared_scale
    from nsi.warehouse import WAREHOUSE_CONFIG

    month, reference = Month.parse(MONTH), load_reference()
    folders = Folders(archive=root / "archive", extract=root / "extract")
    con = duckdb.connect(str(root / "counts.duckdb"), config=WAREHOUSE_CONFIG)
    try:
        for source in DIALECT_SOURCES:
            record_extract(con, extract_month(export_of(root, source), vocabulary.load(source), MONTH, reference,
                                              folders, "test", None))
            load_month(con, source, month, folders, "test")
        values = indicator_values(con, month, for_month(MONTH), reference, declared_scale(root / "raw", month))
    finally:
        con.close()
    return values.select("code", "indicator", "numerator", "denominator", "n", pl.col("value").round(9)).sort(
        "code", "indicator")


@pytest.fixture(scope="session")
def indexed(tmp_path_factory):
    """The clean month's indicator counts in the project's format and in every other dialect. The first set
    of dialects goes through `nsi run` as an analyst runs it; the others through the same functions in-process."""
    results = {}
    for name, dialects in {"native": [], **RUNS}.items():
        root = tmp_path_factory.mktemp(f"dialect-{name}")
        sample(root, "--clean", *[a for d in dialects for a in ("--dialect", d)])
        if name != "first":
            results[name] = (root, indicator_counts_in_process(root))
            continue
        run_nsi(["run", MONTH, "--stage", "ingest", "--stage", "index"], root, env_extra={"NSI_RECIPIENTS": "off"})
        import duckdb
        con = duckdb.connect(str(root / "warehouse" / "nsi.duckdb"), read_only=True)
        try:
            results[name] = (root, pl.DataFrame(con.execute(INDICATOR_QUERY, [MONTH]).arrow()))
        finally:
            con.close()
    return results


@pytest.mark.parametrize("run", list(RUNS))
def test_every_dialect_gives_the_index_the_same_counts(indexed, run):
    root, values = indexed[run]
    for dialect in RUNS[run]:
        source = DIALECTS[dialect]
        assert export_of(root, source).suffix == {"jiesu": ".xls", "dump": ".csv"}.get(dialect, ".xlsx")
    native = indexed["native"][1]
    assert values.height == native.height == 12 * 16
    joined = native.join(values, on=["code", "indicator"], suffix="_dialect")
    exact = joined.filter(pl.col("indicator") != "A5")
    for column in ("numerator", "denominator", "n", "value"):
        differs = exact.filter(pl.col(column).ne_missing(pl.col(f"{column}_dialect")))
        assert differs.height == 0, differs.select("code", "indicator", column, f"{column}_dialect").head(5)
    # The project's 110 format writes 15% of its stamps without seconds; the dialects keep them.
    arrival = joined.filter(pl.col("indicator") == "A5")
    assert (arrival["n"] == arrival["n_dialect"]).all()
    assert ((arrival["value"] - arrival["value_dialect"]).abs() < 1.0).all()


@pytest.mark.parametrize("dialect", list(DIALECTS))
def test_the_planted_defects_of_each_dialect_are_caught_row_for_row(dialect, tmp_path):
    source = DIALECTS[dialect]
    from nsi.sample.generate import sample as write_sample

    # Enough disputes for some rows to carry a defect (about 1,800; at 0.01 there are 90).
    write_sample(tmp_path, Month.parse(MONTH), Month.parse(MONTH), scale=0.2 if source == "disputes" else 0.01,
                 sources=[source], workers=1, dialects={source: dialect})
    path = export_of(tmp_path, source)
    truth = pl.read_csv(tmp_path / "raw" / source / f"{MONTH}.defects.csv")
    used = vocabulary.load(source)
    extracted = extract(path, used, load_reference(), None)
    # The only values the vocabulary does not know are the invalid answers planted on purpose.
    invalid = truth.filter(pl.col("kind") == "invalid_answer").height
    assert set(extracted.unknown_values["value"]) == ({"X"} if invalid else set()), extracted.unknown_values
    validated = validate(extracted, used, Month.parse(MONTH), "sha")
    assert validated.reconciles
    rejected = set(validated.rejects["row"].to_list())
    loaded = set(validated.loaded["_row"].to_list())
    planted_reject = set(truth.filter(pl.col("effect") == "reject")["row"].to_list())
    dropped = set(truth.filter(pl.col("effect") == "drop")["row"].to_list())
    assert planted_reject and planted_reject <= rejected, sorted(planted_reject - rejected)[:5]
    assert not rejected - planted_reject, sorted(rejected - planted_reject)[:5]
    assert not dropped & (rejected | loaded)
    fixed = set(truth.filter(pl.col("effect") == "fix")["row"].to_list()) - planted_reject - dropped
    assert fixed <= loaded
    assert len(validated.loaded["district_code"].unique()) == 11


def test_an_xls_export_continued_on_further_sheets_is_read_as_one_table(tmp_path, monkeypatch):
    """An Excel 97 sheet holds 65,536 rows; a month of 12345 continues on 工单明细(2), (3) …"""
    from nsi.sample import writers
    from nsi.sample.generate import sample as write_sample

    monkeypatch.setattr(writers, "XLS_SHEET_ROWS", 400)
    write_sample(tmp_path, Month.parse(MONTH), Month.parse(MONTH), scale=0.01, sources=["hotline"], workers=1,
                 dialects={"hotline": "jiesu"})
    path = export_of(tmp_path, "hotline")
    sheets = pl.read_excel(path, sheet_id=0, has_header=False, infer_schema_length=0)
    assert len(sheets) >= 3
    in_file = sum(frame.height - 1 for frame in sheets.values())
    used = vocabulary.load("hotline")
    extracted = extract(path, used, load_reference(), None)
    assert extracted.rows_read == in_file
    validated = validate(extracted, used, Month.parse(MONTH), "sha")
    truth = pl.read_csv(tmp_path / "raw/hotline" / f"{MONTH}.defects.csv")
    planted = set(truth.filter(pl.col("effect") == "reject")["row"].to_list())
    assert planted and planted == set(validated.rejects["row"].to_list())
