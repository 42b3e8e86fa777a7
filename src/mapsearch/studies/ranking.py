"""Which evaluations are best: the optimum of one objective, or the Pareto front of several."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from mapsearch.objectives.pareto import nondominated

IntArray = npt.NDArray[np.int64]


def best_rows(
    values: npt.NDArray[np.float64], feasible: npt.NDArray[np.bool_], signs: npt.ArrayLike
) -> IntArray:
    """Rows of the best feasible evaluations with finite values: the optimum, or the Pareto
    front sorted by the first objective.

    ``values`` has one column per objective in its own direction; ``signs`` is +1 for a
    minimised objective and -1 for a maximised one. Among equal objective vectors (and equal
    optima) the first row is kept, so rows in trial order keep the earliest trial. Empty when
    nothing is feasible.
    """
    ok = np.flatnonzero(feasible & np.isfinite(values).all(axis=1))
    if ok.size == 0:
        return ok.astype(np.int64)
    costs = values[ok] * np.asarray(signs, dtype=np.float64)
    if costs.shape[1] == 1:
        return ok[[int(np.argmin(costs[:, 0]))]].astype(np.int64)
    # NOTE: nondominated keeps the first row of equal vectors and returns the front in
    # lexicographic order, so by the first objective (fronts have no ties there).
    return ok[nondominated(costs)].astype(np.int64)
