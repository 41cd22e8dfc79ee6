"""The composite-indicator engine and `nsi compose`: a hierarchy computed by hand, and properties."""

import math

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import REPO, run_nsi
from indicators.engine import EngineError, Node, Structure, aggregate, decompose, normalise, rank

# ROOT ← P (weight 2) ← x1 (+, goalposts 0–4), x2 (−, 0–40);  ROOT ← x3 (weight 1, +, 0–10)
STRUCTURE_CSV = "code,parent,weight,direction,goal_lo,goal_hi\nROOT,,1,,,\nP,ROOT,2,,,\nx1,P,1,1,0,4\nx2,P,1,-1,0,40\nx3,ROOT,1,1,0,10\n"
INDICATORS_CSV = "unit,x1,x2,x3\nA,1,10,5\nB,2,20,\nC,3,0,7\n"


def structure():
    return Structure([Node("ROOT", None, 1), Node("P", "ROOT", 2), Node("x1", "P", 1, 1, 0, 4),
                      Node("x2", "P", 1, -1, 0, 40), Node("x3", "ROOT", 1, 1, 0, 10)])


VALUES = np.array([[1, 10, 5], [2, 20, np.nan], [3, 0, 7]], float)


def by_hand(method):
    """The example worked out step by step (B has no x3: ROOT is then P alone)."""
    if method == "goalposts":
        s = {"A": (25, 100 - 25, 50), "B": (50, 100 - 50, None), "C": (75, 100 - 0, 70)}
    elif method == "minmax":
        # x1 over 1..3; x2 over 0..20, reversed; x3 over 5..7 (B missing)
        s = {"A": (0, 100 - 50, 0), "B": (50, 100 - 100, None), "C": (100, 100 - 0, 100)}
    else:
        sd3 = math.sqrt(2)  # sample sd of (5, 7)
        s = {"A": (-1, -0.0, (5 - 6) / sd3), "B": (0, -1.0, None), "C": (1, 1.0, (7 - 6) / sd3)}
    out = {}
    for unit, (x1, x2, x3) in s.items():
        p = (x1 + x2) / 2
        out[unit] = (p, p if x3 is None else (2 * p + x3) / 3)
    return out


@pytest.mark.parametrize("method", ["goalposts", "minmax", "zscore"])
def test_hand_computed_arithmetic(method):
    st_ = structure()
    result = aggregate(normalise(VALUES, st_, method), st_)
    for i, unit in enumerate("ABC"):
        p, root = by_hand(method)[unit]
        assert result.values["P"][i] == pytest.approx(p)
        assert result.values["ROOT"][i] == pytest.approx(root)


def test_hand_computed_geometric():
    st_ = structure()
    scores = 1 + normalise(VALUES, st_, "goalposts") * 0.99
    result = aggregate(scores, st_, "geometric")
    g = lambda x: 1 + 0.99 * x
    p_a = math.sqrt(g(25) * g(75))
    root_a = (p_a ** 2 * g(50)) ** (1 / 3)
    assert result.values["P"][0] == pytest.approx(p_a)
    assert result.values["ROOT"][0] == pytest.approx(root_a)
    assert result.values["ROOT"][1] == pytest.approx(g(50))  # P alone
    with pytest.raises(EngineError, match="needs scores > 0"):
        aggregate(normalise(VALUES, st_, "minmax"), st_, "geometric")  # minmax puts a unit at 0


def test_rank_ties_share_the_best_rank():
    assert list(rank(np.array([50, 50, 81.6, np.nan, 10]))) == [2, 2, 1, 0, 4]
    assert list(rank(np.array([50.0, 49.99999999999, 1]))) == [1, 1, 3]


def test_withhold_rule():
    st_ = structure()
    scores = normalise(VALUES, st_, "goalposts")
    result = aggregate(scores, st_, "arithmetic", "withhold", min_weight_present=0.9)
    assert np.isnan(result.values["ROOT"][1]) and result.withheld["ROOT"][1]
    assert result.values["ROOT"][0] == pytest.approx(50)


@pytest.mark.parametrize("method, aggregation", [("goalposts", "arithmetic"), ("minmax", "arithmetic"),
                                                 ("zscore", "arithmetic"), ("goalposts", "geometric"),
                                                 ("minmax", "geometric")])
def test_nsi_compose_reproduces_the_hand_computation(tmp_path, method, aggregation):
    (tmp_path / "X.csv").write_text(INDICATORS_CSV)
    (tmp_path / "S.csv").write_text(STRUCTURE_CSV)
    run_nsi(["compose", "--indicators", "X.csv", "--structure", "S.csv", "--normalise", method,
             "--aggregate", aggregation, "--out", "R.csv"], tmp_path, cwd=tmp_path)
    result = pl.read_csv(tmp_path / "R.csv")
    assert result.columns == ["unit", "ROOT", "P", "rank"]
    if aggregation == "arithmetic":
        for row in result.iter_rows(named=True):
            p, root = by_hand(method)[row["unit"]]
            assert row["P"] == pytest.approx(p, abs=1e-5) and row["ROOT"] == pytest.approx(root, abs=1e-5)
    else:
        st_ = structure()
        expected = aggregate(1 + normalise(VALUES, st_, method) * 0.99, st_, "geometric").values["ROOT"]
        assert result["ROOT"].to_list() == pytest.approx(list(expected), abs=1e-5)
    roots = result["ROOT"].to_numpy()
    assert result["rank"].to_list() == [1 + int(np.sum(np.round(roots, 5) > round(r, 5))) for r in roots]


@pytest.mark.parametrize("structure_csv, message", [
    ("code,parent,weight,direction\nR,,1,\nQ,,1,\nx,R,1,1\n", "exactly one node needs an empty parent"),
    ("code,parent,weight,direction\nR,,1,\nx,R,1,2\n", "row 3, column direction: must be 1 or -1"),
    ("code,parent,weight,direction\nR,,1,\nx,R,,1\n", "row 3, column weight: a value is required"),
    ("code,parent,weight,direction\nR,,1,\nx,Z,1,1\n", "x has parent Z, which is not in the structure"),
    ("code,parent,weight,direction\nR,,1,\nx,R,1,1\ny,R,1,1\n", "no column for indicator(s) y"),
])
def test_compose_input_errors(tmp_path, structure_csv, message):
    (tmp_path / "X.csv").write_text("unit,x\nA,1\nB,2\n")
    (tmp_path / "S.csv").write_text(structure_csv)
    result = run_nsi(["compose", "--indicators", "X.csv", "--structure", "S.csv", "--normalise", "minmax",
                      "--out", "R.csv"], tmp_path, check=False, cwd=tmp_path)
    assert result.returncode == 2 and message in result.stderr
    assert not (tmp_path / "R.csv").exists()


# ------------------------------------------------------------------------------------ properties
def random_structure(draw):
    n_groups = draw(st.integers(1, 3))
    nodes = [Node("ROOT", None, 1)]
    for g in range(n_groups):
        nodes.append(Node(f"G{g}", "ROOT", draw(st.floats(0.1, 5))))
        for i in range(draw(st.integers(1, 3))):
            nodes.append(Node(f"i{g}{i}", f"G{g}", draw(st.floats(0.1, 5)), draw(st.sampled_from([1, -1])), 0.0, 100.0))
    return Structure(nodes)


@st.composite
def cases(draw):
    structure_ = random_structure(draw)
    units = draw(st.integers(2, 6))
    values = np.array([[draw(st.floats(0, 100)) for _ in structure_.indicators] for _ in range(units)])
    return structure_, values


@settings(max_examples=60, deadline=None)
@given(cases(), st.integers(0, 100), st.floats(0.5, 30))
def test_monotone_in_each_indicators_direction(case, pick, bump):
    structure_, values = case
    j = pick % len(structure_.indicators)
    direction = structure_.node(structure_.indicators[j]).direction
    before = aggregate(normalise(values, structure_), structure_).values["ROOT"]
    raised = values.copy()
    raised[:, j] = np.minimum(raised[:, j] + bump, 100)
    after = aggregate(normalise(raised, structure_), structure_).values["ROOT"]
    assert np.all(direction * (after - before) >= -1e-9)


@settings(max_examples=60, deadline=None)
@given(cases(), st.sampled_from(["goalposts", "minmax", "zscore"]), st.randoms())
def test_invariant_to_unit_order(case, method, rnd):
    structure_, values = case
    order = list(range(values.shape[0]))
    rnd.shuffle(order)
    base = aggregate(normalise(values, structure_, method), structure_).values["ROOT"]
    shuffled = aggregate(normalise(values[order], structure_, method), structure_).values["ROOT"]
    np.testing.assert_allclose(shuffled, base[order], atol=1e-9, equal_nan=True)  # summation order


@settings(max_examples=60, deadline=None)
@given(cases(), st.randoms())
def test_effective_weights_sum_to_one_with_missing(case, rnd):
    structure_, values = case
    holes = values.copy()
    for i in range(holes.shape[0]):
        j = rnd.randrange(holes.shape[1])
        if rnd.random() < 0.5 and np.isfinite(holes[i]).sum() > 1:
            holes[i, j] = np.nan
    result = aggregate(normalise(holes, structure_), structure_)
    np.testing.assert_allclose(np.nansum(result.effective_weights, axis=1), 1.0)


@settings(max_examples=80, deadline=None)
@given(cases(), st.sampled_from(["arithmetic", "geometric"]), st.randoms())
def test_contributions_sum_exactly_to_the_change(case, method, rnd):
    structure_, before_values = case
    after_values = np.clip(before_values + np.array([[rnd.uniform(-20, 20) for _ in row] for row in before_values]), 0, 100)
    if rnd.random() < 0.5:  # an indicator missing in one period: the re-weighting term takes it
        after_values[0, rnd.randrange(after_values.shape[1])] = np.nan
    lift = (lambda s: 1 + 0.99 * s) if method == "geometric" else (lambda s: s)
    s0, s1 = lift(normalise(before_values, structure_)), lift(normalise(after_values, structure_))
    a0, a1 = aggregate(s0, structure_, method), aggregate(s1, structure_, method)
    contributions, reweighting = decompose(a0, a1, s0, s1, structure_, method)
    change = a1.values["ROOT"] - a0.values["ROOT"]
    ok = np.isfinite(change)
    np.testing.assert_allclose(contributions.sum(axis=1)[ok] + reweighting[ok], change[ok], atol=1e-9)


def test_published_hdi_example_is_reproduced(tmp_path):
    """UNDP's HDI worked example (docs/external-example.md): published indices ×100, three decimals."""
    data = REPO / "tests/data/external"
    run_nsi(["compose", "--indicators", str(data / "hdi1999_indicators.csv"), "--structure",
             str(data / "hdi1999_structure.csv"), "--out", "R.csv"], tmp_path, cwd=tmp_path)
    ours = pl.read_csv(tmp_path / "R.csv")
    published = pl.read_csv(data / "hdi1999_published.csv")
    joined = published.join(ours, on="unit", suffix="_ours")
    assert joined.height == 3
    for column in ("LEI", "EDU", "GDPI", "HDI"):
        assert (joined[column] * 100 - joined[f"{column}_ours"]).abs().max() < 0.06, column
    assert joined["rank"].to_list() == joined["rank_ours"].to_list()


@pytest.mark.parametrize("name", ["tai2001", "tai2001six"])
def test_published_tai_ranking_is_reproduced(tmp_path, name):
    """UNDP's Technology Achievement Index, the OECD/JRC Handbook's case study: the published ranks of 23 countries."""
    data = REPO / "tests/data/external"
    run_nsi(["compose", "--indicators", str(data / f"{name}_indicators.csv"), "--structure",
             str(data / f"{name}_structure.csv"), "--normalise", "goalposts", "--out", "R.csv"], tmp_path, cwd=tmp_path)
    ours = pl.read_csv(tmp_path / "R.csv").select("unit", "rank")
    published = pl.read_csv(data / f"{name}_published.csv")
    joined = published.join(ours, on="unit", suffix="_ours")
    assert joined.height == published.height == 23
    assert joined["rank"].to_list() == joined["rank_ours"].to_list()
