"""When things happen: monthly multipliers, Spring Festival, weekdays, trends and one-off shocks.

The figures are those of the domain brief (§2); they live here, beside the generator that uses them,
because they describe the synthetic world, not the methodology.
"""

from __future__ import annotations

import calendar as _cal
from datetime import date, timedelta

import numpy as np

MEAN_MONTH_DAYS = 365.25 / 12

# Mean 1.0 over the year (domain brief §2).
MONTHLY_MULTIPLIER = {
    "police": (0.95, 0.85, 0.97, 1.00, 1.03, 1.08, 1.12, 1.12, 1.02, 0.98, 0.94, 0.94),
    "hotline": (0.95, 0.82, 1.00, 1.00, 1.02, 1.08, 1.15, 1.13, 1.02, 0.92, 0.95, 0.96),
    "disputes": (1.10, 0.75, 1.05, 1.00, 1.00, 1.00, 1.05, 1.00, 0.98, 0.92, 1.00, 1.15),
}

# First day (除夕 + 1 = 正月初一) of the Spring Festival week; the dip covers the 7 days from 除夕.
SPRING_FESTIVAL_EVE = {
    2022: date(2022, 1, 31),
    2023: date(2023, 1, 21),
    2024: date(2024, 2, 9),
    2025: date(2025, 1, 28),
    2026: date(2026, 2, 16),
    2027: date(2027, 2, 5),
    2028: date(2028, 1, 25),
}
FESTIVAL_HOTLINE_FACTOR = 0.52  # 12345 falls 40–55% that week
FESTIVAL_POLICE_REBOUND = 1.06  # 110 rises in the 4–6 weeks after, as workers return

# Day-of-week factors, Monday first; mean 1.0.
WEEKDAY_FACTOR = {
    "hotline": np.array([1.22, 1.10, 1.05, 1.02, 0.98, 0.86, 0.77]),
    "police": np.array([0.96, 0.95, 0.96, 0.98, 1.06, 1.10, 0.99]),
    "disputes": np.array([1.15, 1.10, 1.08, 1.06, 1.05, 0.80, 0.76]),
}

# Slow trends, per year since 2023 (multiplicative).
ANNUAL_TREND = {"police": 1.03, "hotline": 1.05, "disputes": 0.98}
TREND_BASE_YEAR = 2023

# One-off shocks: (source, first day, last day, factor, what happened). They are not smoothed away.
SHOCKS = (
    ("hotline", date(2023, 7, 24), date(2023, 7, 30), 1.6, "heatwave: power, water and AC-noise requests"),
    ("hotline", date(2024, 1, 22), date(2024, 1, 24), 2.0, "cold snap: frozen and burst pipes"),
    ("hotline", date(2024, 7, 25), date(2024, 7, 25), 3.0, "storm outage: one-day surge of calls"),
    ("police", date(2024, 10, 1), date(2024, 10, 3), 1.25, "National Day crowds"),
    ("hotline", date(2025, 8, 4), date(2025, 8, 10), 1.5, "heatwave: power, water and AC-noise requests"),
    ("police", date(2025, 12, 31), date(2025, 12, 31), 1.4, "New Year's Eve"),
)


def month_days(year: int, month: int) -> list[date]:
    return [date(year, month, d) for d in range(1, _cal.monthrange(year, month)[1] + 1)]


def festival_week(year: int) -> list[date]:
    eve = SPRING_FESTIVAL_EVE.get(year)
    return [eve + timedelta(days=i) for i in range(7)] if eve else []


def daily_intensity(source: str, year: int, month: int, steady: bool = False) -> np.ndarray:
    """Relative daily weight for each day of the month; sum / days = the month's volume factor.

    `steady`: only the weekday profile, scaled so every month has the volume of a mean month (sum =
    MEAN_MONTH_DAYS): no season, trend, festival or shock, and February as busy as March."""
    days = month_days(year, month)
    weekday = WEEKDAY_FACTOR[source][[d.weekday() for d in days]]
    if steady:
        return weekday * (MEAN_MONTH_DAYS / weekday.sum())
    base = MONTHLY_MULTIPLIER[source][month - 1] * ANNUAL_TREND[source] ** ((year - TREND_BASE_YEAR) + (month - 1) / 12)
    factor = np.full(len(days), base) * weekday
    festival = set(festival_week(year))
    eve = SPRING_FESTIVAL_EVE.get(year)
    for i, d in enumerate(days):
        if source == "hotline" and d in festival:
            factor[i] *= FESTIVAL_HOTLINE_FACTOR
        if source == "police" and eve and eve + timedelta(days=7) <= d < eve + timedelta(days=42):
            factor[i] *= FESTIVAL_POLICE_REBOUND
        for shock_source, first, last, shock_factor, _ in SHOCKS:
            if shock_source == source and first <= d <= last:
                factor[i] *= shock_factor
    return factor
