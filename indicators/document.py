"""docs/methodology.md, generated from the methodology files and the indicator catalogue so the
document cannot drift from them.

    python -m indicators.document > docs/methodology.md      (a test checks the file is current)
"""

from __future__ import annotations

import json
from pathlib import Path

from indicators.index import warning_text
from indicators.methodology import Catalogue, CountTestWarning, Methodology, all_versions, catalogue
from indicators.narration import z_of

DIRECTION = {1: "+ (higher is safer)", -1: "− (lower is safer)"}


def _sql(text: str) -> str:
    return f"`{text}`".replace("|", "\\|")  # a table cell ends at an unescaped |


def _records(where: str) -> str:
    return "all records" if where.upper() == "TRUE" else f"records where {_sql(where)}"


def _concern(source: str, concern) -> str:
    said = []
    if concern.counted_by is not None:
        said.append(f"the records {concern.counted_by} counts")
    if concern.categories is not None:
        said.append(f"{', '.join(concern.categories)}")
    return f"{source} by `{concern.column}`: {' among '.join(reversed(said)) if said else 'all records'}"


def render_version(m: Methodology) -> list[str]:
    low, high = m.geometric_range
    lines = [f"## Version {m.version} (from {m.valid_from})", "", f"**{m.title}**", ""]
    lines += [
        f"- Normalisation: {m.normalisation}; each indicator is mapped to 0–100 between its goalposts "
        "(clipped), reversed for direction −.",
        f"- Aggregation: weighted {m.aggregation} mean, indicators → sub-indices → composite"
        + (f" (scores mapped to [{low:g}, {high:g}] first)." if m.aggregation == "geometric"
           else f"; a geometric mean would first map the scores to [{low:g}, {high:g}]."),
        f"- Missing data: `{m.missing.rule}`: a missing indicator is left out and the remaining weights are "
        "renormalised, and the row is flagged"
        + (f"; an aggregate with less than {m.missing.min_weight_present:.0%} of its weight present is withheld."
           if m.missing.rule == "withhold" else "."),
        f"- Population: {m.population_basis}.",
        f"- Survey: a district with fewer than {m.survey_min_completes} completes has no "
        f"{', '.join(survey_codes(m))} that month (flagged).",
        *_uncertainty_lines(m),
        *_warning_lines(m),
        *_small_number_lines(m),
        f"- Goalposts: {m.goalpost_basis}",
        "- 突出问题 (top problems) of a briefing: the five most frequent values of a column among the safety-relevant "
        "records of a source, on its record set: " + "; ".join(_concern(source, c) for source, c in m.concerns.items()) + ".",
        "", "| sub-index | weight | indicator | weight in sub-index | effective weight | direction | goalposts | "
        "minimum denominator | unit | definition |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for sub in m.sub_indices:
        for i in sub.indicators:
            lines.append(
                f"| {sub.code} {sub.name_zh} ({sub.name_en}) | {sub.weight:g} | {i.code} {i.name_zh} ({i.name_en}) | "
                f"{i.weight:g} | {i.weight * sub.weight:.4f} | {DIRECTION[i.direction]} | "
                f"{i.goalposts[0]:g} – {i.goalposts[1]:g} | {i.min_denominator or '–'} | {i.unit} | "
                f"{i.definition_zh}<br>{i.definition} |")
    if m.notes:
        lines += ["", "Notes:", ""] + [f"- {n}" for n in m.notes]
    if m.changes:
        lines += ["", "Changes from the previous version, each with its reason:", "",
                  "| change | why |", "|---|---|"]
        lines += [f"| {c.what} | {c.why} |".replace("\n", " ") for c in m.changes]
    return lines + [""]


def survey_codes(m: Methodology) -> list[str]:
    kinds = {e.code: e.denominator for e in catalogue().indicators}
    return [i.code for i in m.indicators if kinds[i.code] == "post_stratified_share"]


def _uncertainty_lines(m: Methodology) -> list[str]:
    mc = m.monte_carlo
    chances = ", ".join(f"{method} {chance:.0%}" for method, chance in mc.normalisations.items())
    p_low, p_mid, p_high = (f"{p:g}" for p in mc.percentiles)
    redrawn = ("survey values redrawn within their sampling error" if mc.sampling == "survey" else
               "every indicator redrawn from its sampling distribution (counts Poisson, shares Jeffreys Beta, the "
               "arrival-time median and survey shares normal on their standard error), for the month and for the "
               "months its changes compare with")
    lines = [f"- Intervals: the {p_low}th, {p_mid}th and {p_high}th percentiles (`rank_p05`, `rank_p50`, `rank_p95`; "
             f"`index_uncertainty`) over {mc.draws} Monte-Carlo draws seeded by the month: every weight "
             f"×(1 ± {mc.weight_jitter:.0%}) renormalised among its siblings, normalisation drawn as {chances}, "
             f"{redrawn}."]
    if m.narration is None:
        lines.append("- Narration: a change or contribution above 0.05 points is narrated; at most two drivers each way.")
    else:
        n = m.narration
        lines.append(f"- Narration: a change within z({n.change_level:g}) = {z_of(n.change_level):.2f} standard deviations "
                     f"of its draws reads 基本持平 (在正常波动范围内); an indicator is named as a driver only when its "
                     f"contribution lies beyond z({n.driver_level:g}) = {z_of(n.driver_level):.2f} standard deviations "
                     "of its own draws.")
    return lines


def _warning_lines(m: Methodology) -> list[str]:
    ew, example = m.early_warning, m.indicators[0]
    if isinstance(ew, CountTestWarning):
        widened = ("; the variance is widened by what the trailing months vary beyond their sampling noise "
                   "(a dispersion of at least 1)" if ew.overdispersion else "")
        return [f"- Early warnings: a value its district's own trailing {ew.trailing_months} months make improbable "
                f"at two-sided α = {ew.alpha:g}, tested on its counts: a rate's count against the trailing months' "
                "rate (exact Poisson ratio test), a share's numerator against their pooled share (Fisher's exact "
                f"test), a median or survey share against their mean on its standard error{widened}; at least "
                f"{ew.min_history} months with a value, and no warning when fewer than {ew.min_expected:g} cases "
                "are expected this month."]
    return [f"- Early warnings: an indicator more than {ew.threshold:g} robust standard deviations from the median of "
            f"its own trailing {ew.trailing_months} months (robust SD = {ew.mad_factor:g}·MAD, at least "
            f"{ew.spread_floor:g}·|median|; at least {ew.min_history} months with a value), e.g. "
            f"「{example.code} {example.name_zh}：{warning_text(True, ew.threshold + 0.3, ew.trailing_months)}」."]


def _small_number_lines(m: Methodology) -> list[str]:
    lines = []
    if any(i.min_denominator for i in m.indicators):
        lines.append("- Minimum denominators (column below): a share with fewer cases in its denominator, or a median "
                     "or survey share with a smaller n, is left out and flagged, its siblings re-weighted.")
    if m.smoothing is not None:
        lines.append(f"- Smoothing: {', '.join(m.smoothing.indicators)} are shrunk towards the city by empirical Bayes "
                     "(shares beta-binomial, rates Poisson-gamma), the prior's strength estimated from the spread "
                     "between the districts; `indicator_values.value_raw` keeps the value before.")
    if m.max_share_at_bounds is not None:
        lines.append(f"- Scores at a bound: no indicator may score exactly 0 or 100 in more than "
                     f"{m.max_share_at_bounds:.0%} of the baseline's district-months (`nsi audit` flags one that does).")
    return lines


def render_catalogue(c: Catalogue) -> list[str]:
    denominators = {
        "per_residents": lambda f: f"{_records(f['count'])}, per {c.rate_per:,} residents",
        "share": lambda f: f"{_records(f['numerator'])} / {_records(f['of'])}",
        "median": lambda f: f"median of {_sql(f['median'])} over {_records(f['where'])}",
        "post_stratified_share": lambda f: f"answers where {_sql(f['positive'])} / answers where "
                                           f"{_sql(f['answered'])}, post-stratified to age × sex",
    }
    lines = [f"## Indicator catalogue (version {c.version})", "",
             "What each indicator computes, from `indicators/catalogue.yaml`: DuckDB SQL over the record set of "
             "its source for the month, per district and, from all records, for the city (survey shares: per "
             "district, the city being the population-weighted mean).", "",
             "| indicator | source | denominator | formula |", "|---|---|---|---|"]
    lines += [f"| {e.code} | {e.source} | {e.denominator} | {denominators[e.denominator](e.formula)} |"
              for e in c.indicators]
    for source, sql in c.records.items():
        lines += ["", f"Records of `{source}`:", "", "```sql", sql, "```"]
    return lines + [""]


COMPARISON_FILE = Path(__file__).resolve().parent.parent / "docs" / "methodology-comparison.json"
EVALUATION_DIR = Path(__file__).resolve().parent.parent / "docs" / "evaluation"


def _pct(x) -> str:
    return "–" if x is None else f"{100 * x:.1f}%"


def _2(x) -> str | None:
    return None if x is None else f"{x:.2f}"


def render_comparison(data: dict) -> list[str]:
    """The section comparing two versions, from `python -m indicators.compare_versions`' file."""
    a, b = data["versions"]
    va, vb = a["version"], b["version"]
    rows = [
        ("indicators", a["indicators"], b["indicators"]),
        ("district-months", a["district_months"], b["district_months"]),
        ("scores at 0 or 100, all indicators", _pct(a["share_at_bound_all"]), _pct(b["share_at_bound_all"])),
        ("the indicator most at a bound", f"{a['worst_at_bound']['indicator']} {_pct(a['worst_at_bound']['share'])}",
         f"{b['worst_at_bound']['indicator']} {_pct(b['worst_at_bound']['share'])}"),
        *[(f"Cronbach's α, {g}", _2(a["cronbach_alpha"].get(g)), _2(b["cronbach_alpha"].get(g)))
          for g in sorted(set(a["cronbach_alpha"]) | set(b["cronbach_alpha"]))],
        ("indicator importance / nominal weight, range",
         " – ".join(f"{x:g}" for x in a["importance_ratio_range"]), " – ".join(f"{x:g}" for x in b["importance_ratio_range"])),
        ("indicators and sub-indices flagged for importance", a["importance_flags"], b["importance_flags"]),
        ("mean rank shift leaving one indicator out, range",
         " – ".join(f"{x:g}" for x in a["mean_abs_rank_shift_leave_one_indicator_out"]),
         " – ".join(f"{x:g}" for x in b["mean_abs_rank_shift_leave_one_indicator_out"])),
    ]
    lines = [f"## {va} against {vb} on the sample", "",
             f"Both versions audited (`nsi audit`'s statistics) on the same district-months {data['first']} … "
             f"{data['last']}, each on the values it would publish (months computed under the other version "
             "recomputed from the loaded records). Generated into `docs/methodology-comparison.json` by "
             f"`python -m indicators.compare_versions {data['first']} {data['last']} {va} {vb}` on the calibration "
             f"baseline of {vb} (its goalpost basis above).", "",
             f"| figure | {va} | {vb} |", "|---|---|---|"]
    lines += [f"| {what} | {x if x is not None else '–'} | {y if y is not None else '–'} |" for what, x, y in rows]
    if "rankings" in data:
        r = data["rankings"]
        lines += ["", f"The two rankings of the same district-months: Spearman's ρ {r['spearman']:g}; a district's rank "
                  f"differs by {r['mean_abs_rank_difference']:.2f} places on average (at most {r['max_abs_rank_difference']}); "
                  f"{_pct(r['share_same_rank'])} keep their rank."]
    return lines + [""]


def render_evaluations(directory: Path) -> list[str]:
    """The section with the evaluation of the narration (`python -m indicators.evaluate`), one file per run."""
    files = sorted(directory.glob("*.md")) if directory.is_dir() else []
    if not files:
        return []
    lines = ["## Evaluation of the narration", "",
             "Does a steady city stay quiet and is a planted shift named? `python -m indicators.evaluate` (not part "
             "of the test suite; `tests/test_evaluate.py` checks its logic on small cases) writes a steady 24-month "
             "sample (`nsi sample --steady`), the same city with a planted shift, runs both through `nsi run` and "
             "judges every district-month with the briefing's own decision functions. Its reports, copied into "
             "`docs/evaluation/`:", ""]
    for path in files:
        text = path.read_text(encoding="utf-8").strip().splitlines()
        lines += [f"### {path.stem}", "", *[("#" * 2 + line) if line.startswith("## ") else line
                                             for line in text[1:] if not line.startswith("# ")], ""]
    return lines


def render() -> str:
    lines = ["# Methodology of the Nanjing Safety Index", "",
             "Generated by `python -m indicators.document` from `indicators/methodology/*.yaml` and",
             "`indicators/catalogue.yaml`; do not edit by hand.",
             "A month is computed with the latest version whose start month is not after it; the version used is",
             "recorded in every row of `safety_index` and `indicator_values`.", "",
             "The composite is the weighted mean of the sub-indices, each the weighted mean of its indicators' scores.",
             "The change of the composite on last month is split exactly into one contribution per indicator",
             "(effective weight now × change of its score) plus a re-weighting term when the set of indicators present",
             "changed. Each version states how its rank intervals are drawn and when an indicator is an early",
             "warning. Early warnings and missing indicators are written out in Chinese in the 说明 column of",
             "index.csv and in the briefing.", "",
             "Survey indicators are post-stratified to each district's age × sex structure (cells weighted by their",
             "population share); their 95% interval is a Wilson interval on the design's effective sample size, so it",
             "does not collapse to a point at the 99% ceiling. The city figure is the population-weighted mean of the",
             "districts.", ""]
    for version in all_versions():
        lines += render_version(version)
    if COMPARISON_FILE.is_file():
        lines += render_comparison(json.loads(COMPARISON_FILE.read_text(encoding="utf-8")))
    lines += render_evaluations(EVALUATION_DIR)
    lines += render_catalogue(catalogue())
    return "\n".join(lines)


if __name__ == "__main__":
    print(render(), end="")
