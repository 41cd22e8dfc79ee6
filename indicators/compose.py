"""`nsi compose`: the engine on any indicator table, for what-if work and independent recomputation.

X.csv: first column `unit`, then one numeric column per indicator code; an empty cell is missing.
S.csv: `code,parent,weight,direction[,goal_lo,goal_hi]`, one row per indicator and per aggregate;
       `parent` empty only for the root; weights relative among siblings; direction 1/-1 for
       indicators, empty for aggregates.
R.csv: `unit`, one column per aggregate (root included), and `rank` on the root.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl

from indicators.engine import EngineError, Node, Structure, aggregate, normalise, rank


class ComposeInputError(ValueError):
    pass


def _number(path: Path, line: int, column: str, text: str | None, required: bool) -> float | None:
    if text is None or str(text).strip() == "":
        if required:
            raise ComposeInputError(f"{path.name}, row {line}, column {column}: a value is required")
        return None
    try:
        return float(text)
    except ValueError as exc:
        raise ComposeInputError(f"{path.name}, row {line}, column {column}: '{text}' is not a number") from exc


def read_structure(path: Path) -> Structure:
    path = Path(path)
    frame = pl.read_csv(path, infer_schema=False)
    missing = [c for c in ("code", "parent", "weight", "direction") if c not in frame.columns]
    if missing:
        raise ComposeInputError(f"{path.name}: missing column(s) {', '.join(missing)}")
    nodes = []
    for line, row in enumerate(frame.iter_rows(named=True), start=2):
        if not row["code"]:
            raise ComposeInputError(f"{path.name}, row {line}, column code: empty")
        direction = _number(path, line, "direction", row["direction"], False)
        if direction is not None and direction not in (1, -1):
            raise ComposeInputError(f"{path.name}, row {line}, column direction: must be 1 or -1")
        nodes.append(Node(
            code=row["code"].strip(), parent=(row["parent"] or "").strip() or None,
            weight=_number(path, line, "weight", row["weight"], True),
            direction=int(direction) if direction is not None else None,
            goal_lo=_number(path, line, "goal_lo", row.get("goal_lo"), False),
            goal_hi=_number(path, line, "goal_hi", row.get("goal_hi"), False),
        ))
    try:
        return Structure(nodes)
    except EngineError as exc:
        raise ComposeInputError(f"{path.name}: {exc}") from exc


def read_indicators(path: Path, structure: Structure) -> tuple[list[str], np.ndarray]:
    path = Path(path)
    frame = pl.read_csv(path, infer_schema=False)
    if not frame.columns or frame.columns[0] != "unit":
        raise ComposeInputError(f"{path.name}: the first column must be `unit`")
    absent = [c for c in structure.indicators if c not in frame.columns]
    if absent:
        raise ComposeInputError(f"{path.name}: no column for indicator(s) {', '.join(absent)} of the structure")
    units = frame["unit"].to_list()
    if len(set(units)) != len(units):
        raise ComposeInputError(f"{path.name}: unit names must be unique")
    values = np.full((len(units), len(structure.indicators)), np.nan)
    for j, code in enumerate(structure.indicators):
        for i, text in enumerate(frame[code].to_list()):
            number = _number(path, i + 2, code, text, False)
            values[i, j] = np.nan if number is None else number
    return units, values


def compose(indicators_csv: Path, structure_csv: Path, normalisation: str, aggregation: str) -> pl.DataFrame:
    structure = read_structure(structure_csv)
    units, values = read_indicators(indicators_csv, structure)
    scores = normalise(values, structure, normalisation)
    if aggregation == "geometric":
        if normalisation == "zscore":
            raise ComposeInputError("geometric aggregation needs positive scores; use minmax or goalposts with it")
        scores = 1 + scores * 0.99  # [0, 100] → [1, 100], so a unit at the bottom does not zero its parent
    result = aggregate(scores, structure, aggregation)
    columns = {"unit": units}
    for code in structure.nodes:
        if code.code in structure.aggregates:
            columns[code.code] = result.values[code.code]
    columns["rank"] = [int(r) if r > 0 else None for r in rank(result.values[structure.root])]
    return pl.DataFrame(columns)
