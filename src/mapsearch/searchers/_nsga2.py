"""NSGA-II survivor selection on a cost array: DEAP's ``tools.selNSGA2`` (``nd="standard"``),
survivor for survivor and in its order, without its objects.

DEAP compares ``Fitness`` objects pair by pair in Python: about 20 ms a generation of 256
candidates, several times the cost model's time for the generation. Here the dominance of
every pair is one array comparison; the fronts are peeled, the crowding distances summed
and the last front sorted exactly as DEAP does (same order of fronts and of their members,
same floating-point sums, Python's stable sort on the same keys), so a run's survivors,
and with them its children, are DEAP's.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from mapsearch.spaces.genes import IntArray


def select(costs: np.ndarray, k: int) -> IntArray:
    """Indices of the ``k`` survivors among rows of ``costs`` (``(n, n_objectives)``, lower
    is better; no NaN), in the order ``selNSGA2`` returns them."""
    fronts = _fronts(costs, k)
    chosen = [i for front in fronts[:-1] for i in front]
    left = k - len(chosen)
    if left > 0:
        last = fronts[-1]
        distance = _crowding(costs[last])
        ranked = sorted(range(len(last)), key=distance.__getitem__, reverse=True)
        chosen += [last[i] for i in ranked[:left]]
    return np.asarray(chosen, dtype=np.int64)


def _fronts(costs: np.ndarray, k: int) -> list[list[int]]:
    """``sortNondominated``: the fronts, until at least ``min(n, k)`` rows are in one.

    Rows of equal costs form one group (in the order of its first row), a front lists its
    groups' rows together; a front is made of the groups whose last dominating group is in
    the previous front, in the order DEAP finds them (its lists of dominated groups are in
    group order)."""
    groups: dict[tuple[float, ...], list[int]] = {}
    for i, row in enumerate(costs.tolist()):
        groups.setdefault(tuple(row), []).append(i)
    members = list(groups.values())
    fits = np.asarray(list(groups), dtype=np.float64).reshape(len(members), -1)
    no_worse = np.all(fits[:, None, :] <= fits[None, :, :], axis=2)
    dominates: npt.NDArray[np.bool_] = no_worse & np.any(
        fits[:, None, :] < fits[None, :, :], axis=2
    )
    dominated = [np.flatnonzero(row).tolist() for row in dominates]
    left = dominates.sum(axis=0).tolist()  # per group, the groups dominating it not yet peeled
    current = [g for g, n in enumerate(left) if n == 0]
    fronts = [[i for g in current for i in members[g]]]
    placed, wanted = len(fronts[0]), min(len(costs), k)
    while placed < wanted:
        front: list[int] = []
        following: list[int] = []
        for g in current:
            for d in dominated[g]:
                left[d] -= 1
                if left[d] == 0:
                    following.append(d)
                    placed += len(members[d])
                    front += members[d]
        fronts.append(front)
        current = following
    return fronts


def _crowding(costs: np.ndarray) -> list[float]:
    """``assignCrowdingDist`` of a front: per objective in turn, its rows stably sorted from
    the previous objective's order, the two ends infinite, each other row adding its
    neighbours' gap over the objective's range times the number of objectives."""
    n, n_obj = costs.shape
    order = np.arange(n)
    distance = np.zeros(n)
    with np.errstate(invalid="ignore", over="ignore"):  # inf and NaN as Python floats make
        for o in range(n_obj):
            order = order[np.argsort(costs[order, o], kind="stable")]
            values = costs[order, o]
            distance[order[0]] = distance[order[-1]] = np.inf
            if values[-1] == values[0]:
                continue
            norm = n_obj * float(values[-1] - values[0])
            distance[order[1:-1]] += (values[2:] - values[:-2]) / norm
    return distance.tolist()
