"""Time of a month's Monte Carlo: v1's rank intervals drawn one at a time (as first published) against the
draws scored all at once, and the whole simulation of a month with its two comparison months.

Usage: python -m benchmarks.uncertainty [ROUNDS]   (synthetic values between the goalposts, 11 districts + city)
"""

from __future__ import annotations

import sys
import time
from itertools import accumulate

import numpy as np

from indicators.engine import aggregate, normalise, rank
from indicators.index import structure_of
from indicators.methodology import by_version
from indicators.uncertainty import MonthArrays, rank_intervals, simulate


def one_draw_at_a_time(raw, se, methodology, seed):
    mc = methodology.monte_carlo
    edges = list(zip(mc.normalisations, accumulate(mc.normalisations.values())))
    rng = np.random.default_rng(seed)
    base = structure_of(methodology)
    ranks = np.zeros((mc.draws, raw.shape[0]), dtype=int)
    for draw in range(mc.draws):
        weights = {n.code: n.weight * (1 + rng.uniform(-mc.weight_jitter, mc.weight_jitter)) for n in base.nodes}
        structure = structure_of(methodology, weights)
        values = raw + np.where(np.isfinite(se), rng.standard_normal(raw.shape) * np.nan_to_num(se), 0.0)
        u = rng.random()
        method = next((m for m, edge in edges if u < edge), edges[-1][0])
        ranks[draw] = rank(aggregate(normalise(values, structure, method), structure).values["NSI"])
    return np.percentile(ranks, list(mc.percentiles), axis=0, method="nearest").T


def best_of(rounds, work) -> float:
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    v1 = by_version("v1")
    every = v1.model_copy(update={"monte_carlo": v1.monte_carlo.model_copy(update={"sampling": "all"})})
    rng = np.random.default_rng(1)
    lo = np.array([i.goalposts[0] for i in v1.indicators])
    hi = np.array([i.goalposts[1] for i in v1.indicators])
    raw = lo + rng.random((12, 16)) * (hi - lo)
    se = np.full(raw.shape, np.nan)
    se[:, 13:] = 0.01
    counts = np.round(raw * 50)
    month = MonthArrays(counts / 50, counts / 50, counts, np.full(raw.shape, 50.0), se)
    assert (one_draw_at_a_time(raw[:11], se[:11], v1, 7) == rank_intervals(raw[:11], se[:11], v1, 7)).all()
    structure = structure_of(v1)
    units = [f"u{k}" for k in range(12)]
    print(f"{v1.monte_carlo.draws} draws, 11 districts × 16 indicators, best of {rounds}")
    print(f"v1 rank intervals, one draw at a time  {best_of(rounds, lambda: one_draw_at_a_time(raw[:11], se[:11], v1, 7)) * 1e3:8.1f} ms")
    print(f"v1 rank intervals, all draws at once   {best_of(rounds, lambda: rank_intervals(raw[:11], se[:11], v1, 7)) * 1e3:8.1f} ms")
    for name, m in (("survey", v1), ("all", every)):
        took = best_of(rounds, lambda: simulate(m, structure, 7, units, 11, month, month, month).rows("2024-03", m))
        print(f"month + last month + last year, sampling {name:6} {took * 1e3:6.1f} ms (with the index_uncertainty rows)")


if __name__ == "__main__":
    main()
