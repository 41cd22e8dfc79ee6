"""What a briefing may say about a month: decisions, not sentences.

The briefing and the evaluation script both call these, so that a sentence and a count never disagree.
With the methodology's `narration` levels, a change reads as flat when it lies within its own noise band
(z·sd of its Monte-Carlo draws, index_uncertainty) and an indicator is named as a driver only when its
contribution lies outside its band; without them (v1), the fixed 0.05-point rule of the first briefings.
"""

from __future__ import annotations

from scipy.stats import norm

from indicators.methodology import Methodology
from indicators.uncertainty import NOISE

# v1: a change or contribution of at most this many points is not narrated; two drivers each way at most.
V1_THRESHOLD = 0.05
V1_DRIVERS_EACH_WAY = 2


def z_of(level: float) -> float:
    """The two-sided standard-normal quantile of a confidence level (0.95 → 1.96)."""
    return float(norm.ppf(0.5 + level / 2))


def band_quantity(quantity: str, methodology: Methodology) -> str:
    """The index_uncertainty quantity whose draws a band of `quantity` (change_mom, change_yoy,
    contribution_mom) is read from: with `narration.band: sampling`, its draws from sampling alone."""
    if methodology.narration is not None and methodology.narration.band == "sampling":
        return quantity + NOISE
    return quantity


def change_reading(change: float | None, sd: float | None, methodology: Methodology) -> str | None:
    """"up", "down" or "flat" (基本持平 / 在正常波动范围内); None when there is no change to read."""
    if change is None:
        return None
    if methodology.narration is None:
        band = V1_THRESHOLD
    else:
        band = z_of(methodology.narration.change_level) * (sd or 0.0)
    if abs(change) <= band:
        return "flat"
    return "up" if change > 0 else "down"


def named_drivers(rows: list[dict], methodology: Methodology) -> list[dict]:
    """The rows (indicator, contribution_mom, sd) named as drivers of the change, each with its `side`
    ("up"/"down"), the largest |contribution| first."""
    present = [r for r in rows if r.get("contribution_mom") is not None]
    if methodology.narration is None:
        ups = sorted((r for r in present if r["contribution_mom"] > V1_THRESHOLD),
                     key=lambda r: -r["contribution_mom"])[:V1_DRIVERS_EACH_WAY]
        downs = sorted((r for r in present if r["contribution_mom"] < -V1_THRESHOLD),
                       key=lambda r: r["contribution_mom"])[:V1_DRIVERS_EACH_WAY]
        named = ups + downs
    else:
        z = z_of(methodology.narration.driver_level)
        named = [r for r in present if (r.get("sd") or 0.0) > 0 and abs(r["contribution_mom"]) > z * r["sd"]]
    named = sorted(named, key=lambda r: (-abs(r["contribution_mom"]), r["indicator"]))
    return [{**r, "side": "up" if r["contribution_mom"] > 0 else "down"} for r in named]


def warning_rows(indicator_rows: list[dict]) -> list[dict]:
    """The rows with an early warning (for the city overview: every district's), by district and indicator."""
    return sorted((r for r in indicator_rows if r.get("warning")), key=lambda r: (r.get("code") or "", r["indicator"]))
