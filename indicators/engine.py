"""The composite-indicator engine: normalise → weight → aggregate → rank, and decompose changes.

Pure functions on numpy arrays (units × indicators), independent of Dagster and of the safety
index itself; `nsi compose` runs it on any table. Steps follow COINr's separation and rules:
direction is applied by reversing the scale; missing children are left out of their parent's mean
with the remaining weights renormalised (`reweight`), or the parent is withheld when less than a
declared share of its weight is present (`withhold`).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np

NORMALISATIONS = ("goalposts", "minmax", "zscore")
AGGREGATIONS = ("arithmetic", "geometric")


class EngineError(ValueError):
    pass


@dataclass(frozen=True)
class Node:
    code: str
    parent: str | None
    weight: float
    direction: int | None = None  # indicators only
    goal_lo: float | None = None
    goal_hi: float | None = None


@dataclass
class Structure:
    nodes: list[Node]
    indicators: list[str] = field(init=False)
    aggregates: list[str] = field(init=False)
    root: str = field(init=False)

    def __post_init__(self):
        codes = [n.code for n in self.nodes]
        if len(set(codes)) != len(codes):
            raise EngineError(f"structure: duplicate codes {sorted({c for c in codes if codes.count(c) > 1})}")
        roots = [n.code for n in self.nodes if not n.parent]
        if len(roots) != 1:
            raise EngineError(f"structure: exactly one node needs an empty parent (the root); found {roots or 'none'}")
        self.root = roots[0]
        by_code = {n.code: n for n in self.nodes}
        for n in self.nodes:
            if n.parent and n.parent not in by_code:
                raise EngineError(f"structure: {n.code} has parent {n.parent}, which is not in the structure")
            if not np.isfinite(n.weight) or n.weight <= 0:
                raise EngineError(f"structure: {n.code} needs a positive weight")
        parents = {n.parent for n in self.nodes if n.parent}
        self.indicators = [n.code for n in self.nodes if n.code not in parents]
        self.aggregates = [n.code for n in self.nodes if n.code in parents]
        for code in self.indicators:
            if by_code[code].direction not in (1, -1):
                raise EngineError(f"structure: indicator {code} needs direction 1 or -1")
        for code in self.aggregates:
            if by_code[code].direction not in (None,):
                raise EngineError(f"structure: {code} has children, so it is an aggregate and takes no direction")
        # Cycles would make the order below loop; a root reachable from every node rules them out.
        for n in self.nodes:
            seen, current = set(), n
            while current.parent:
                if current.code in seen:
                    raise EngineError(f"structure: cycle through {current.code}")
                seen.add(current.code)
                current = by_code[current.parent]
        self._by_code = by_code

    def node(self, code: str) -> Node:
        return self._by_code[code]

    def children(self, code: str) -> list[Node]:
        return [n for n in self.nodes if n.parent == code]

    def depth(self, code: str) -> int:
        d, node = 0, self._by_code[code]
        while node.parent:
            d, node = d + 1, self._by_code[node.parent]
        return d

    def bottom_up(self) -> list[str]:
        return sorted(self.aggregates, key=self.depth, reverse=True)


# ------------------------------------------------------------------------------------- normalise
def normalise(values: np.ndarray, structure: Structure, method: str = "goalposts",
              among: np.ndarray | None = None) -> np.ndarray:
    """(…, units, indicators in structure.indicators order) → scores; NaN stays NaN. Leading axes (e.g.
    Monte-Carlo draws) are normalised each on its own. `among` (a boolean mask over units) names the units
    whose values set minmax's range and zscore's mean and sd (default every unit); the others are scored
    on that scale (minmax clipped to 0..100), as the city is on its districts'."""
    if method not in NORMALISATIONS:
        raise EngineError(f"normalisation must be one of {', '.join(NORMALISATIONS)}")
    values = np.asarray(values, dtype=float)
    scores = np.full_like(values, np.nan)
    chosen = np.ones(values.shape[-2], bool) if among is None else np.asarray(among, bool)
    for j, code in enumerate(structure.indicators):
        node = structure.node(code)
        x = values[..., j]
        if method == "goalposts":
            if node.goal_lo is None or node.goal_hi is None or not node.goal_lo < node.goal_hi:
                raise EngineError(f"goalposts: indicator {code} needs goal_lo < goal_hi")
            s = np.clip((x - node.goal_lo) / (node.goal_hi - node.goal_lo) * 100, 0, 100)
            scores[..., j] = s if node.direction == 1 else 100 - s
            continue
        part = np.where(chosen, x, np.nan)
        present = np.isfinite(part)
        with np.errstate(invalid="ignore", divide="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN slices: left missing below
            if method == "minmax":
                lo = np.nanmin(part, axis=-1, keepdims=True)
                hi = np.nanmax(part, axis=-1, keepdims=True)
                # a constant indicator carries no information: left missing, as COINr gives NaN
                # units outside `among` may fall beyond the range: clipped, as goalposts clip
                s = np.clip(np.where(hi > lo, (x - lo) / (hi - lo) * 100, np.nan), 0, 100)
                scores[..., j] = s if node.direction == 1 else 100 - s
            else:
                mean = np.nanmean(part, axis=-1, keepdims=True)
                sd = np.nanstd(part, axis=-1, ddof=1, keepdims=True)
                usable = (present.sum(axis=-1, keepdims=True) >= 2) & (sd > 0)
                scores[..., j] = np.where(usable, (x - mean) / np.where(usable, sd, 1), np.nan) * node.direction
    return scores


# ------------------------------------------------------------------------------------- aggregate
@dataclass
class Aggregated:
    values: dict[str, np.ndarray]  # every node (indicators = their scores) → per-unit value
    effective_weights: np.ndarray  # units × indicators: weight of each indicator in the root
    withheld: dict[str, np.ndarray]  # aggregate → per-unit bool


def aggregate(scores: np.ndarray, structure: Structure, method: str = "arithmetic", missing: str = "reweight",
              min_weight_present: float = 0.0, weights: dict[str, np.ndarray] | None = None) -> Aggregated:
    """scores: (…, units, indicators). `weights` replaces the structure's weights, per node an array that
    broadcasts against the leading axes and units (e.g. one weight per Monte-Carlo draw, shape (draws, 1))."""
    if method not in AGGREGATIONS:
        raise EngineError(f"aggregation must be one of {', '.join(AGGREGATIONS)}")
    scores = np.asarray(scores, dtype=float)
    if method == "geometric" and np.any(scores[np.isfinite(scores)] <= 0):
        raise EngineError("geometric aggregation needs scores > 0 (COINr's rule); normalise to [1, 100] "
                          "or use arithmetic")
    values = {code: scores[..., j] for j, code in enumerate(structure.indicators)}
    # Weight of each child within its parent, per unit, after leaving out missing children.
    local: dict[str, np.ndarray] = {}
    withheld: dict[str, np.ndarray] = {}
    for code in structure.bottom_up():
        children = structure.children(code)
        matrix = np.stack([values[c.code] for c in children], axis=-1)
        if weights is None:
            child_weights = np.array([c.weight for c in children], dtype=float)
        else:
            child_weights = np.stack([np.asarray(weights[c.code], dtype=float) for c in children], axis=-1)
        present = np.isfinite(matrix)
        weight_present = (present * child_weights).sum(axis=-1)
        share = weight_present / child_weights.sum(axis=-1)
        hold = (weight_present == 0) | ((missing == "withhold") & (share < min_weight_present))
        with np.errstate(invalid="ignore", divide="ignore"):
            w = np.where(present, child_weights, 0.0) / np.where(weight_present > 0, weight_present, 1)[..., None]
            if method == "arithmetic":
                result = np.nansum(np.where(present, matrix, 0.0) * w, axis=-1)
            else:
                result = np.exp(np.nansum(np.where(present, np.log(np.where(present, matrix, 1.0)), 0.0) * w, axis=-1))
        values[code] = np.where(hold, np.nan, result)
        withheld[code] = hold
        for k, child in enumerate(children):
            local[child.code] = np.where(hold, np.nan, w[..., k])
    effective = np.ones(scores.shape)
    for j, code in enumerate(structure.indicators):
        node = structure.node(code)
        while node.parent:
            effective[..., j] *= local[node.code]
            node = structure.node(node.parent)
    return Aggregated(values, effective, withheld)


def rank(values: np.ndarray) -> np.ndarray:
    """1 = highest; ties share the best (lowest) rank of their group; missing gets no rank (0).
    Ranks along the last axis, so a months × units array is ranked month by month."""
    # Scores that differ only by floating-point noise (e.g. 50 and 49.999999999) are ties.
    values = np.round(np.asarray(values, dtype=float), 9)
    greater = values[..., None, :] > values[..., :, None]  # [.., i, j]: unit j above unit i (NaN is never above)
    return np.where(np.isfinite(values), 1 + greater.sum(axis=-1), 0).astype(int)


# ------------------------------------------------------------------------------------- decompose
def decompose(before: Aggregated, after: Aggregated, scores_before: np.ndarray, scores_after: np.ndarray,
              structure: Structure, method: str = "arithmetic") -> tuple[np.ndarray, np.ndarray]:
    """Per unit (and along any leading axes): contribution of each indicator to the root's change, and the re-weighting term.

    Arithmetic: I = Σ eᵢ sᵢ, so ΔI = Σ eᵢ' Δsᵢ (indicators present in both periods, weighted as now)
    + Σ (eᵢ' − eᵢ) sᵢ (re-weighting when the set of present indicators changed). Geometric:
    ln I = Σ eᵢ ln sᵢ, split by the logarithmic mean (LMDI), so the parts again add up to ΔI.
    """
    root = structure.root
    i0, i1 = before.values[root], after.values[root]
    e0 = np.nan_to_num(before.effective_weights)
    e1 = np.nan_to_num(after.effective_weights)
    s0, s1 = np.asarray(scores_before, float), np.asarray(scores_after, float)
    both = np.isfinite(s0) & np.isfinite(s1)
    if method == "arithmetic":
        contributions = np.where(both, e1 * (np.nan_to_num(s1) - np.nan_to_num(s0)), 0.0)
        reweighting = (np.where(np.isfinite(s1), e1 * np.nan_to_num(s1), 0).sum(axis=-1)
                       - np.where(np.isfinite(s0), e0 * np.nan_to_num(s0), 0).sum(axis=-1)
                       - contributions.sum(axis=-1))
    else:
        with np.errstate(divide="ignore", invalid="ignore"):
            log_terms = np.where(both, e1 * (np.log(np.where(both, s1, 1)) - np.log(np.where(both, s0, 1))), 0.0)
            dlog = np.log(i1) - np.log(i0)
            mean = np.where(np.abs(dlog) > 1e-12, (i1 - i0) / dlog, i0)
        contributions = log_terms * mean[..., None]
        reweighting = (i1 - i0) - contributions.sum(axis=-1)
    unknown = ~(np.isfinite(i0) & np.isfinite(i1))
    contributions[unknown] = np.nan
    reweighting[unknown] = np.nan
    return contributions, reweighting
