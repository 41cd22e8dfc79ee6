"""The audit as documents: audit.json (every number), audit.md (tables, for review beside the
methodology file) and audit.pdf (the same with charts, for the committee).

The same warehouse, methodology and audit settings give the same bytes: dates come from the range,
numbers are formatted here, and the PDF is rendered like the briefings (reports.pdf_writer).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

import jinja2
import polars as pl
from markupsafe import Markup, escape

from indicators.audit import ROOT, Audit, allowed_at_bounds
from indicators.methodology import Methodology
from nsi.month import Month
from reports.charts import FONT, GRID, HIGHLIGHT, INK, MUTED, OTHER, _svg
from reports.render import SHANGHAI

LEVELS_ZH = {"indicator–indicator": "指标—指标（同一分项）", "indicator–sub-index": "指标—所属分项",
             "indicator–composite": "指标—平安指数", "sub-index–sub-index": "分项—分项", "sub-index–composite": "分项—平安指数"}
FLAGS_ZH = {"collinear": "高度共线", "negative": "负相关", "weak": "弱相关"}


@dataclass(frozen=True)
class AuditFiles:
    json: bytes
    markdown: bytes
    pdf: bytes


def _names(methodology: Methodology) -> dict[str, str]:
    names = {s.code: s.name_zh for s in methodology.sub_indices}
    names.update({i.code: i.name_zh for i in methodology.indicators})
    names[ROOT] = "平安指数"
    return names


def _f(x, digits: int = 2) -> str:
    return "—" if x is None else f"{x:.{digits}f}".replace("-", "−")


def _pct(x) -> str:
    return "—" if x is None else f"{x * 100:.1f}%"


def findings(audit: Audit, methodology: Methodology, settings) -> list[str]:
    """The flags in sentences, most consequential first: what the committee should look at."""
    names = _names(methodology)
    out = []
    for r in audit.importance.filter(pl.col("flag")).iter_rows(named=True):
        out.append(f"{r['code']} {names[r['code']]}：数据给出的重要性 {_f(r['importance'])}，名义权重 {_f(r['nominal_weight'], 4)}"
                   f"（{_f(r['ratio'])} 倍）。")
    for r in audit.correlations.filter(pl.col("flag").is_not_null()).iter_rows(named=True):
        out.append(f"{r['a']} {names[r['a']]} 与 {r['b']} {names[r['b']]}：{FLAGS_ZH[r['flag']]}，r = {_f(r['r'])}（n = {r['n']}）。")
    for r in audit.consistency.filter(pl.col("alpha_flag")).iter_rows(named=True):
        out.append(f"{names[r['group']]}（{r['members']}）：Cronbach's α = {_f(r['alpha'])}，"
                   f"低于 {settings.flags.cronbach_alpha_below:g}；第一主成分解释 {_pct(r['pc1_share'])} 的方差。")
    for r in audit.distributions.filter(pl.col("at_bound_flag")).iter_rows(named=True):
        out.append(f"{r['indicator']} {names[r['indicator']]}：{_pct(r['share_at_0'] + r['share_at_100'])} 的得分在上下限上"
                   f"（0 分 {_pct(r['share_at_0'])}，100 分 {_pct(r['share_at_100'])}）。")
    for r in audit.distributions.filter(pl.col("treat")).iter_rows(named=True):
        out.append(f"{r['indicator']} {names[r['indicator']]}：偏度 {_f(r['skew'])}、峰度 {_f(r['kurtosis'])}，"
                   "按 COINr 规则需要处理（缩尾或取对数）。")
    return out


def as_json(audit: Audit, methodology_sha256: str, settings_sha256: str) -> bytes:
    document = {
        "methodology": audit.methodology, "methodology_sha256": methodology_sha256,
        "audit_settings_version": audit.settings_version, "audit_settings_sha256": settings_sha256,
        "months": audit.months, "district_months": audit.district_months, "sensitivity_runs": audit.sensitivity_runs,
        **{name: getattr(audit, name).to_dicts() for name in
           ("distributions", "correlations", "indicator_matrix", "consistency", "importance", "leave_one_out", "sensitivity")},
    }
    return (json.dumps(document, ensure_ascii=False, indent=2, allow_nan=False) + "\n").encode("utf-8")


# ------------------------------------------------------------------------------------------ charts
# The briefings' palette: the nominal weight light, what the data gives dark.
NOMINAL, DATA = OTHER, HIGHLIGHT


def paired_bars(rows: list[tuple[str, float, float]], label: str, width: int = 480) -> Markup:
    """Per row, the nominal weight (light) above the data-given importance (dark), on one scale."""
    left, right, row = 70, 40, 16
    height = 18 + row * len(rows)
    top = max([max(a, b) for _, a, b in rows] + [0.01])
    scale = (width - left - right) / top
    body = [f'<rect x="{left}" y="2" width="8" height="6" fill="{NOMINAL}"/><text x="{left + 11}" y="8" font-size="7" fill="{INK}" {FONT}>名义权重</text>',
            f'<rect x="{left + 60}" y="2" width="8" height="6" fill="{DATA}"/><text x="{left + 71}" y="8" font-size="7" fill="{INK}" {FONT}>数据给出的重要性</text>']
    for k, (name, nominal, data) in enumerate(rows):
        y = 14 + k * row
        body.append(f'<text x="{left - 4}" y="{y + 10}" font-size="7.5" text-anchor="end" fill="{INK}" {FONT}>{escape(name)}</text>')
        body.append(f'<rect x="{left}" y="{y + 1}" width="{nominal * scale:.1f}" height="6" fill="{NOMINAL}"/>')
        body.append(f'<rect x="{left}" y="{y + 7}" width="{data * scale:.1f}" height="6" fill="{DATA}"/>')
        body.append(f'<text x="{left + max(nominal, data) * scale + 3:.1f}" y="{y + 11}" font-size="7" fill="{MUTED}" {FONT}>{data:.3f}</text>')
    return _svg(width, height, body, label)


def heatmap(codes: list[str], matrix: dict[tuple[str, str], float | None], label: str, cell: int = 22) -> Markup:
    """A correlation matrix: blue above zero, red below, stronger colour for larger |r|."""
    left = top = 26
    size = left + cell * len(codes) + 4
    body = []
    for k, c in enumerate(codes):
        body.append(f'<text x="{left - 3}" y="{top + k * cell + cell * 0.65:.1f}" font-size="7" text-anchor="end" fill="{INK}" {FONT}>{escape(c)}</text>')
        body.append(f'<text x="{left + k * cell + cell / 2:.1f}" y="{top - 5}" font-size="7" text-anchor="middle" fill="{INK}" {FONT}>{escape(c)}</text>')
    for i, a in enumerate(codes):
        for j, b in enumerate(codes):
            r = 1.0 if a == b else matrix.get((a, b), matrix.get((b, a)))
            if r is None:
                colour = GRID
            else:
                strength = min(1.0, abs(r))
                base = (29, 78, 137) if r >= 0 else (163, 51, 51)
                colour = "#" + "".join(f"{round(255 - (255 - v) * strength):02x}" for v in base)
            body.append(f'<rect x="{left + j * cell}" y="{top + i * cell}" width="{cell - 1}" height="{cell - 1}" fill="{colour}"/>')
            if r is not None and a != b:
                ink = "#ffffff" if abs(r) > 0.55 else INK
                body.append(f'<text x="{left + j * cell + cell / 2:.1f}" y="{top + i * cell + cell * 0.62:.1f}" font-size="6" '
                            f'text-anchor="middle" fill="{ink}" {FONT}>{_f(r, 1)}</text>')
    return _svg(size, size, body, label)


# ------------------------------------------------------------------------------------------ documents
def _context(audit: Audit, methodology: Methodology, settings, methodology_sha256: str) -> dict:
    names = _names(methodology)
    codes = [i.code for i in methodology.indicators]
    matrix = {(r["a"], r["b"]): r["r"] for r in audit.indicator_matrix.iter_rows(named=True)}

    def importance_chart(level: str, label: str) -> Markup:
        rows = audit.importance.filter(pl.col("level") == level).iter_rows(named=True)
        return paired_bars([(f"{r['code']} {names[r['code']]}", r["nominal_weight"], r["importance"] or 0.0) for r in rows],
                           label)

    return {
        "audit": audit, "methodology": methodology, "settings": settings, "names": names,
        "methodology_sha256": methodology_sha256, "first": audit.months[0], "last": audit.months[-1],
        "findings": findings(audit, methodology, settings), "f": _f, "pct": _pct,
        "bound_share": allowed_at_bounds(methodology, settings),
        "levels_zh": LEVELS_ZH, "flags_zh": FLAGS_ZH,
        "heatmap": heatmap(codes, matrix, "指标得分的相关系数"),
        "sub_chart": importance_chart("sub-index", "分项：名义权重与数据给出的重要性"),
        "indicator_chart": importance_chart("indicator", "指标：名义权重与数据给出的重要性"),
    }


def _environment() -> jinja2.Environment:
    from reports.pdf import TEMPLATES_DIR
    return jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES_DIR), autoescape=jinja2.select_autoescape(["html.j2"]),
                              undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)


def write(audit: Audit, methodology: Methodology, settings, methodology_sha256: str, settings_sha256: str) -> AuditFiles:
    from reports.pdf import PdfJob
    from reports.pdf_writer import write_pdf

    context = _context(audit, methodology, settings, methodology_sha256)
    env = _environment()
    markdown = env.get_template("audit.md.j2").render(**context)
    html = env.get_template("audit.html.j2").render(**context)
    json_bytes = as_json(audit, methodology_sha256, settings_sha256)
    end = Month.parse(audit.months[-1]).end
    created = datetime(end.year, end.month, end.day, tzinfo=SHANGHAI)
    identifier = f"NSI-audit-{audit.methodology}-{audit.months[0]}-{audit.months[-1]}"
    pdf = write_pdf(PdfJob(code="audit", html=html, attachment_csv=json_bytes.decode("utf-8"), attachment_name="audit.json",
                           created=created, identifier=identifier))
    return AuditFiles(json=json_bytes, markdown=markdown.encode("utf-8"), pdf=pdf)


# ------------------------------------------------------------------------------------------ the stage
@dataclass(frozen=True)
class AuditRun:
    audit: Audit
    files: AuditFiles
    methodology: Methodology
    folder_name: str
    findings: list[str]


def methodology_to_audit(choice: str | None, stored_versions: list[str]) -> tuple[Methodology, bytes]:
    """A version name (v1), a methodology file (a draft not yet in indicators/methodology), or, by
    default, the version the range's last month was computed with. Returns it with its file's bytes."""
    from pathlib import Path

    from indicators.methodology import METHODOLOGY_DIR, MethodologyError, by_version, load_file

    if choice and (choice.endswith((".yaml", ".yml")) or "/" in choice):
        path = Path(choice)
        if not path.is_file():
            raise MethodologyError(f"{choice}: no such methodology file")
        return load_file(path), path.read_bytes()
    version = choice or (stored_versions[-1] if stored_versions else None)
    if version is None:
        raise MethodologyError("the range has no computed month: run `nsi run` on it first")
    methodology = by_version(version)
    return methodology, (METHODOLOGY_DIR / f"{version}.yaml").read_bytes()


def audit_range(con, first: str, last: str, districts: list[str], choice: str | None = None,
                settings_path=None) -> AuditRun:
    import hashlib

    from indicators.audit import SETTINGS_FILE, audit, district_values, load_settings
    from indicators.methodology import MethodologyError

    values = district_values(con, first, last, districts)
    if values.is_empty():
        raise MethodologyError(f"no indicator values between {first} and {last}: run `nsi run {first} --to {last}` first")
    months = values.select("month", "methodology_version").unique().sort("month")
    methodology, text = methodology_to_audit(choice, months["methodology_version"].to_list())
    if (months["methodology_version"] != methodology.version).any():
        # Months computed under another version are audited on the values this methodology gives them.
        from indicators.range_values import values_over
        from nsi.reference import load_reference

        values = values_over(con, first, last, methodology, load_reference()).filter(
            pl.col("code").is_in(districts)).select(values.columns)
    settings_file = settings_path or SETTINGS_FILE
    settings = load_settings(settings_file)
    result = audit(values.drop("methodology_version"), methodology, districts, settings)
    files = write(result, methodology, settings, hashlib.sha256(text).hexdigest(),
                  hashlib.sha256(settings_file.read_bytes()).hexdigest())
    return AuditRun(result, files, methodology, f"{methodology.version}_{result.months[0]}_{result.months[-1]}",
                    findings(result, methodology, settings))
