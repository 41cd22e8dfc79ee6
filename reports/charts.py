"""Charts as inline SVG, drawn by hand: text stays text in the report font, bytes are deterministic.

Every label passes through `escape`, so a category or street name from an export can never become
markup. Marks of one style are one path (the grid, the bars of one colour): WeasyPrint
styles, lays out and draws every SVG element as a node of the document, and a path of many parts costs
about what one part does. Colours are a single-hue sequential scale whose steps differ in lightness, so the charts
still read in greyscale print; the highlighted district is dark, everything else light.
"""

from __future__ import annotations

import math
from typing import NamedTuple

from markupsafe import Markup, escape

FONT = 'font-family="NSI Sans"'
INK = "#1f2d3d"
MUTED = "#8a96a3"
GRID = "#d9dee4"
HIGHLIGHT = "#1d4e89"
OTHER = "#b8c7d9"
# Five stepped classes, light to dark (lightness 92% → 28%), readable in greyscale.
STEPS = ("#eef3f9", "#c6d6ea", "#8fb0d6", "#4f7fb8", "#1d4e89")
STEP_TEXT = (INK, INK, INK, "#ffffff", "#ffffff")


def _num(x: float) -> str:
    return f"{x:.1f}"


def _box(x: float, y: float, w: float, h: float) -> str:
    return f"M{_num(x)},{_num(y)}h{_num(w)}v{_num(h)}h{_num(-w)}Z"


def _rounded(x: float, y: float, w: float, h: float, r: float) -> str:
    """A rectangle with corners of radius r, as <rect rx="r"> draws it."""
    return (f"M{_num(x + r)},{_num(y)}h{_num(w - 2 * r)}a{r},{r} 0 0,1 {r},{r}v{_num(h - 2 * r)}"
            f"a{r},{r} 0 0,1 {-r},{r}h{_num(2 * r - w)}a{r},{r} 0 0,1 {-r},{-r}v{_num(2 * r - h)}a{r},{r} 0 0,1 {r},{-r}Z")


def _svg(width: int, height: int, body: list[str], label: str) -> Markup:
    return Markup(f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
                  f'viewBox="0 0 {width} {height}" role="img" aria-label="{escape(label)}">' + "".join(body) + "</svg>")


def trend(months: list[str], district: list[float | None], city: list[float | None], district_name: str,
          width: int = 480, height: int = 190) -> Markup:
    """13-month line: the district solid and dark, the city dashed and grey."""
    left, right, top, bottom = 34, 10, 12, 34
    values = [v for v in district + city if v is not None]
    lo = math.floor((min(values) - 2) / 5) * 5 if values else 0
    hi = math.ceil((max(values) + 2) / 5) * 5 if values else 100
    lo, hi = max(lo, 0), min(hi, 100) if hi > lo else lo + 5
    plot_w, plot_h = width - left - right, height - top - bottom
    x = lambda i: left + (plot_w * i / max(len(months) - 1, 1))
    y = lambda v: top + plot_h * (1 - (v - lo) / (hi - lo))
    body = []
    ticks = range(int(lo), int(hi) + 1, 5 if hi - lo <= 30 else 10)
    grid = "".join(f"M{left},{_num(y(tick))}H{width - right}" for tick in ticks)
    body.append(f'<path d="{grid}" stroke="{GRID}" stroke-width="0.6"/>')
    for tick in ticks:
        body.append(f'<text x="{left - 4}" y="{_num(y(tick) + 3)}" font-size="8" text-anchor="end" fill="{MUTED}" {FONT}>{tick}</text>')
    for i, month in enumerate(months):
        if i % 2 == 0 or i == len(months) - 1:
            body.append(f'<text x="{_num(x(i))}" y="{height - bottom + 13}" font-size="7.5" text-anchor="middle" fill="{MUTED}" {FONT}>{escape(month[2:])}</text>')

    def line(series, colour, dash, width_):
        points = [(x(i), y(v)) for i, v in enumerate(series) if v is not None]
        if len(points) > 1:
            path = " ".join(f"{_num(px)},{_num(py)}" for px, py in points)
            body.append(f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="{width_}" {dash}/>')
        for px, py in points:  # one element per month: the UI's history chart (assets/metadata_values.py) counts them
            body.append(f'<circle cx="{_num(px)}" cy="{_num(py)}" r="1.8" fill="{colour}"/>')

    is_city = district_name == "南京市"
    if not is_city:
        line(city, MUTED, 'stroke-dasharray="4 3"', 1.2)
    line(district, HIGHLIGHT, "", 1.8)
    legend_y = height - 8
    if is_city:
        return _svg(width, height, body, "南京市平安指数13个月走势")
    body.append(f'<line x1="{left}" x2="{left + 18}" y1="{legend_y - 3}" y2="{legend_y - 3}" stroke="{HIGHLIGHT}" stroke-width="1.8"/>')
    body.append(f'<text x="{left + 22}" y="{legend_y}" font-size="8" fill="{INK}" {FONT}>{escape(district_name)}</text>')
    body.append(f'<line x1="{left + 90}" x2="{left + 108}" y1="{legend_y - 3}" y2="{legend_y - 3}" stroke="{MUTED}" stroke-width="1.2" stroke-dasharray="4 3"/>')
    body.append(f'<text x="{left + 112}" y="{legend_y}" font-size="8" fill="{INK}" {FONT}>南京市</text>')
    return _svg(width, height, body, f"{district_name}与全市平安指数13个月走势")


class RankedBar(NamedTuple):
    """A district in the ranking chart: its composite, the composite's Monte-Carlo interval (None: not known)
    and its rank as the briefing prints it (第3位（2–6）, or 未排名)."""
    name: str
    value: float
    low: float | None
    high: float | None
    rank: str


def ranking(rows: list[RankedBar], highlight: str | None, width: int = 480, height: int = 230) -> Markup:
    """Horizontal bars of all districts in rank order, the reader's district dark; under each bar a thin line
    spans the interval of its composite, and the right column gives its rank with the rank's interval.

    The interval line runs under the bar, not across it, so that it shows on the dark bar as on the light
    ones and in greyscale print."""
    left, top, rank_column, label_room = 58, 6, 62, 24
    plot = width - left - rank_column - label_room
    x = lambda v: left + plot * max(0.0, min(v, 100.0)) / 100.0
    row = (height - top - 6) / max(len(rows), 1)
    body, bars, whiskers = [], {OTHER: "", HIGHLIGHT: ""}, ""
    for i, r in enumerate(rows):
        y0 = top + i * row
        bars[HIGHLIGHT if r.name == highlight else OTHER] += _box(left, y0 + row * 0.1, x(r.value) - left, row * 0.5)
        end = x(r.value)
        if r.low is not None and r.high is not None:
            wy, cap = y0 + row * 0.78, row * 0.14
            whiskers += (f"M{_num(x(r.low))},{_num(wy)}H{_num(x(r.high))}"
                         f"M{_num(x(r.low))},{_num(wy - cap)}v{_num(2 * cap)}M{_num(x(r.high))},{_num(wy - cap)}v{_num(2 * cap)}")
            end = max(end, x(r.high))
        weight = ' font-weight="700"' if r.name == highlight else ""
        baseline = _num(y0 + row * 0.62)
        body.append(f'<text x="{left - 5}" y="{baseline}" font-size="8.5" text-anchor="end" fill="{INK}"{weight} {FONT}>{escape(r.name)}</text>')
        body.append(f'<text x="{_num(end + 3)}" y="{_num(y0 + row * 0.52)}" font-size="8" fill="{INK}"{weight} {FONT}>{r.value:.1f}</text>')
        body.append(f'<text x="{width - 2}" y="{baseline}" font-size="7.5" text-anchor="end" fill="{INK}"{weight} {FONT}>{escape(r.rank)}</text>')
    marks = [f'<path d="{d}" fill="{colour}"/>' for colour, d in bars.items() if d]
    if whiskers:
        marks.append(f'<path d="{whiskers}" fill="none" stroke="{INK}" stroke-width="0.9"/>')
    return _svg(width, height, marks + body, "各区平安指数及其区间、排名及其区间")


def radar(labels: list[str], solid: list[float | None], solid_label: str, dashed: list[float | None] | None,
          dashed_label: str | None, size: int = 240) -> Markup:
    """Sub-indices on 0–100 axes: `solid` filled dark, `dashed` (what it is compared with) as a dashed outline.

    The legend names both, so it says what is compared: a district with the city, or the city with an
    earlier month of its own.
    """
    cx = cy = size / 2
    radius = size / 2 - 50  # room for the axis labels
    n = len(labels)
    angle = lambda k: -math.pi / 2 + 2 * math.pi * k / n
    point = lambda k, v: (cx + radius * (v / 100) * math.cos(angle(k)), cy + radius * (v / 100) * math.sin(angle(k)))
    rings = "".join("M" + "L".join(f"{_num(px)},{_num(py)}" for px, py in (point(k, ring) for k in range(n))) + "Z"
                    for ring in (25, 50, 75, 100))
    axes = "".join(f"M{_num(cx)},{_num(cy)}L{_num(px)},{_num(py)}" for px, py in (point(k, 100) for k in range(n)))
    body = [f'<path d="{rings}{axes}" fill="none" stroke="{GRID}" stroke-width="0.6"/>']
    for k, label in enumerate(labels):
        lx, ly = point(k, 122)
        anchor = "middle" if abs(lx - cx) < 5 else ("start" if lx > cx else "end")
        body.append(f'<text x="{_num(lx)}" y="{_num(ly + 3)}" font-size="8.5" text-anchor="{anchor}" fill="{INK}" {FONT}>{escape(label)}</text>')

    def shape(values, fill, opacity, stroke, dash):
        pts = " ".join(f"{_num(px)},{_num(py)}" for px, py in (point(k, v or 0) for k, v in enumerate(values)))
        body.append(f'<polygon points="{pts}" fill="{fill}" fill-opacity="{opacity}" stroke="{stroke}" '
                    f'stroke-width="1.4" {dash}/>')

    if dashed is not None:
        shape(dashed, "none", 0, MUTED, 'stroke-dasharray="4 3"')
    shape(solid, HIGHLIGHT, 0.22, HIGHLIGHT, "")
    legend = f"实线：{escape(solid_label)}" + (f"　虚线：{escape(dashed_label)}" if dashed is not None else "")
    body.append(f'<text x="4" y="{size - 4}" font-size="7.5" fill="{MUTED}" {FONT}>{legend}</text>')
    title = f"{solid_label}分项指数" + (f"与{dashed_label}对比" if dashed is not None else "")
    return _svg(size, size, body, title)


# Schematic tile positions (column, row): north of the river at the top, 高淳 at the bottom.
TILES = {
    "320116": (2, 0), "320111": (1, 1), "320106": (2, 1), "320113": (3, 1), "320105": (1, 2), "320102": (2, 2),
    "320104": (3, 2), "320114": (1, 3), "320115": (2, 3), "320117": (2, 4), "320118": (2, 5),
}


def classes(values: list[float]) -> list[float]:
    """Four breaks for five classes: equal intervals over the month's range, rounded to 0.5."""
    lo, hi = min(values), max(values)
    if hi - lo < 1e-9:
        hi = lo + 1
    return [round((lo + (hi - lo) * k / 5) * 2) / 2 for k in range(1, 5)]


def tile_map(values: dict[str, float | None], names: dict[str, str], highlight: str | None,
             tile: int = 44, gap: int = 4) -> Markup:
    present = [v for v in values.values() if v is not None]
    breaks = classes(present) if present else [20, 40, 60, 80]
    step = lambda v: sum(v >= b for b in breaks)
    width, height = 5 * (tile + gap) + 120, 6 * (tile + gap) + 4
    body, tiles = [], {}  # tiles by (fill, outline): one path each
    for code, (col, row) in TILES.items():
        x0, y0 = col * (tile + gap) + 2, row * (tile + gap) + 2
        value = values.get(code)
        k = step(value) if value is not None else 0
        fill = STEPS[k] if value is not None else "#ffffff"
        outline = f'stroke="{INK}" stroke-width="2"' if code == highlight else f'stroke="{GRID}" stroke-width="0.8"'
        tiles[fill, outline] = tiles.get((fill, outline), "") + _rounded(x0, y0, tile, tile, 3)
        colour = STEP_TEXT[k] if value is not None else INK
        short = names[code].removesuffix("区")
        body.append(f'<text x="{x0 + tile / 2}" y="{y0 + 18}" font-size="8.5" text-anchor="middle" fill="{colour}" {FONT}>{escape(short)}</text>')
        label = "—" if value is None else f"{value:.1f}"
        body.append(f'<text x="{x0 + tile / 2}" y="{y0 + 32}" font-size="8.5" text-anchor="middle" fill="{colour}" {FONT}>{label}</text>')
    # The highlighted tile last, so that no neighbour's outline is drawn over its thick one.
    body[:0] = [f'<path d="{d}" fill="{fill}" {outline}/>' for (fill, outline), d in
                sorted(tiles.items(), key=lambda item: INK in item[0][1])]
    lx = 5 * (tile + gap) + 10
    edges = [min(present) if present else 0, *breaks, max(present) if present else 100]
    for k in range(5):
        y0 = 10 + k * 18
        body.append(f'<rect x="{lx}" y="{y0}" width="14" height="12" fill="{STEPS[k]}" stroke="{GRID}" stroke-width="0.6"/>')
        body.append(f'<text x="{lx + 19}" y="{y0 + 9.5}" font-size="7.5" fill="{INK}" {FONT}>{edges[k]:.1f}–{edges[k + 1]:.1f}</text>')
    body.append(f'<text x="{lx}" y="{10 + 5 * 18 + 8}" font-size="7" fill="{MUTED}" {FONT}>示意图，非地图</text>')
    return _svg(width, height, body, "各区平安指数分级示意图")
