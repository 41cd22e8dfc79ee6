"""Two methodology versions side by side on the same district-months, for docs/methodology.md.

    python -m indicators.compare_versions 2023-01 2024-02 v1 v2 > docs/methodology-comparison.json

Each version is audited (indicators.audit) on the values it would publish for the range
(indicators.range_values: months computed under another version are recomputed under it), and the
figures the committee compares are kept: the share of scores at a bound (all indicators and the worst),
Cronbach's α of each sub-index, how far the data-given importance strays from the nominal weights, the
rank shift when one indicator is left out, and how far the two rankings differ. `python -m
indicators.document` renders the file as the section "v1 against v2".
"""

from __future__ import annotations

import argparse
import json

import duckdb
import numpy as np
from scipy import stats

from indicators.audit import ROOT, audit, build, panel, ranks_of, scores_of
from indicators.methodology import by_version
from indicators.range_values import values_over
from nsi import settings
from nsi.reference import load_reference
from nsi.warehouse import database_path

DIGITS = 4


def _r(x) -> float | None:
    return None if x is None or not np.isfinite(x) else round(float(x), DIGITS)


def version_figures(values, methodology, districts) -> tuple[dict, np.ndarray]:
    result = audit(values.drop("methodology_version"), methodology, districts)
    dist = result.distributions
    at_bound = (dist["share_at_0"] + dist["share_at_100"]).to_list()
    scored = dist["n"].to_list()
    worst = int(np.argmax(at_bound))
    consistency = {r["group"]: _r(r["alpha"]) for r in result.consistency.iter_rows(named=True)}
    ratios = [r["ratio"] for r in result.importance.filter(result.importance["level"] == "indicator")
              .iter_rows(named=True) if r["ratio"] is not None]
    loo = result.leave_one_out.filter(result.leave_one_out["level"] == "indicator")
    p = panel(values.drop("methodology_version"), methodology, districts)
    ranks = ranks_of(p, build(p, methodology, scores_of(p, methodology))[ROOT])
    figures = {
        "version": methodology.version,
        "indicators": len(methodology.indicators),
        "district_months": result.district_months,
        "share_at_bound_all": _r(sum(a * n for a, n in zip(at_bound, scored)) / sum(scored)),
        "worst_at_bound": {"indicator": dist["indicator"][worst], "share": _r(at_bound[worst])},
        "at_bound": {code: _r(a) for code, a in zip(dist["indicator"], at_bound)},
        "cronbach_alpha": consistency,
        "importance_ratio_range": [_r(min(ratios)), _r(max(ratios))] if ratios else None,
        "importance_flags": int(result.importance["flag"].sum()),
        "mean_abs_rank_shift_leave_one_indicator_out": [_r(loo["mean_abs_rank_shift"].min()),
                                                         _r(loo["mean_abs_rank_shift"].max())],
    }
    return figures, ranks


def compare(con, first: str, last: str, versions: list[str]) -> dict:
    reference = load_reference()
    districts = reference.district_codes
    out, rankings = {"first": first, "last": last, "versions": []}, []
    for version in versions:
        methodology = by_version(version)
        values = values_over(con, first, last, methodology, reference)
        figures, ranks = version_figures(values, methodology, districts)
        out["versions"].append(figures)
        rankings.append(ranks)
    if len(rankings) == 2:
        both = (rankings[0] > 0) & (rankings[1] > 0)
        shift = np.abs(rankings[0][both] - rankings[1][both])
        out["rankings"] = {"spearman": _r(stats.spearmanr(rankings[0][both], rankings[1][both]).statistic),
                           "mean_abs_rank_difference": _r(shift.mean()), "max_abs_rank_difference": int(shift.max()),
                           "share_same_rank": _r(np.mean(shift == 0))}
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m indicators.compare_versions", description=__doc__.split("\n\n")[0])
    parser.add_argument("first")
    parser.add_argument("last")
    parser.add_argument("versions", nargs=2)
    args = parser.parse_args(argv)
    con = duckdb.connect(str(database_path(settings.load().root)), read_only=True)
    try:
        result = compare(con, args.first, args.last, args.versions)
    finally:
        con.close()
    print(json.dumps(result, ensure_ascii=False, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
