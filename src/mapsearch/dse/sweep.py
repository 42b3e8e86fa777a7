"""The streaming sweep: chunks of designs evaluated with numpy, folded into a summary.

A chunk is a contiguous range of design indices (see :class:`~mapsearch.dse.space.DesignSpace`
for the numbering). For every design of a chunk the kernel computes area and power from the
provisioned capacities, and validity: every layer's mapping is feasible on the design's core,
the L1 (per PE) and L2 capacities hold what the mapping requires for every layer, and the
area and power budgets are met. Runtime, energy and MACs come from the per-core table
(:mod:`mapsearch.dse.analysis`), gathered per design. A chunk returns only counts, the best
design per objective, its own Pareto front and a small deterministic sample (for plots), so
a sweep of any size runs in memory bounded by the chunk size. Chunks are independent and run
through joblib: the result does not depend on the chunking or on the number of workers.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import joblib
import numpy as np
import numpy.typing as npt

from mapsearch.dse.analysis import CoreTable, CoreTotals
from mapsearch.dse.hwcost import MAESTRO_AREA_POWER, AreaPowerModel
from mapsearch.dse.space import DesignSpace
from mapsearch.errors import UnknownNameError, UnsupportedError
from mapsearch.objectives import (
    Constraints,
    Objective,
    get_objective,
    get_objectives,
    mm2_from_um2,
    nondominated,
)

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]


#: Objectives a sweep can rank designs by (names of :data:`mapsearch.objectives.OBJECTIVES`;
#: whole model: sums over layers).
SWEEP_OBJECTIVES = ("throughput", "energy", "latency", "edp", "area", "power")
#: Designs broadcast at once (memory: a few float64 arrays of this many rows per layer).
DEFAULT_CHUNK_SIZE = 1 << 19

#: Invalidity reasons counted by a sweep (a design may fail several).
REASONS = ("mapping", "l1", "l2", "area", "power")

#: Designs kept for plots: about this many, spread evenly over the space.
SAMPLE_TARGET = 20_000


def check_objectives(names: Sequence[str]) -> tuple[Objective, ...]:
    """The sweep objectives called ``names`` (repeats dropped); unknown names raise with
    close matches, objectives a sweep cannot rank by say which it can."""
    objectives = get_objectives(list(dict.fromkeys(get_objective(n).name for n in names)))
    for o in objectives:
        if o.name not in SWEEP_OBJECTIVES:
            raise UnsupportedError(
                f"objective {o.name!r} cannot rank a hardware sweep; use "
                + ", ".join(SWEEP_OBJECTIVES)
            )
    return objectives


def _budget(limit: float | None) -> float:
    return math.inf if limit is None else limit


@dataclass(frozen=True, slots=True, kw_only=True)
class SweepProblem:
    """Everything a chunk needs; small and picklable (ships to workers)."""

    space: DesignSpace
    totals: CoreTotals
    objectives: tuple[Objective, ...]
    constraints: Constraints = field(default_factory=Constraints)
    model: AreaPowerModel = MAESTRO_AREA_POWER

    def __post_init__(self) -> None:
        check_objectives([o.name for o in self.objectives])
        if len(self.totals.runtime_cycles) != self.space.n_cores:
            raise ValueError("the core table does not match the design space")
        c = self.constraints
        if not c.buffers or any(
            v is not None
            for v in (c.max_noc_bw_words_per_cycle, c.max_offchip_bw_words_per_cycle, c.max_pes)
        ):
            raise UnsupportedError(
                "a hardware sweep checks buffers and honours area and power budgets only; "
                "narrow the axes instead of the other limits"
            )

    @property
    def area_budget_um2(self) -> float:
        return _budget(self.constraints.area_budget_um2)

    @property
    def power_budget_mw(self) -> float:
        return _budget(self.constraints.power_budget_mw)

    @property
    def sample_stride(self) -> int:
        return max(1, self.space.size // SAMPLE_TARGET)


@dataclass(frozen=True, slots=True, kw_only=True)
class DesignMetrics:
    """Whole-model quantities of some designs, shape (n,), named as in a cost-model
    ``Report`` so that the objectives of :mod:`mapsearch.objectives` read them alike."""

    runtime_cycles: FloatArray
    energy_total: FloatArray
    macs: FloatArray
    area_um2: FloatArray
    power_mw: FloatArray

    @property
    def edp(self) -> FloatArray:
        return self.energy_total * self.runtime_cycles

    @property
    def throughput_macs_per_cycle(self) -> FloatArray:
        return self.macs / np.maximum(self.runtime_cycles, 1.0)


@dataclass(frozen=True, slots=True, kw_only=True)
class Designs:
    """Designs evaluated by the sweep kernel: every array has shape (n,)."""

    index: IntArray
    core: IntArray
    l1_words: IntArray
    l2_words: IntArray
    area_um2: FloatArray
    power_mw: FloatArray
    fails: dict[str, BoolArray]  # reason -> the design fails it

    def metrics(self, totals: CoreTotals) -> DesignMetrics:
        """The designs' whole-model quantities (the per-core ones gathered from ``totals``)."""
        return DesignMetrics(
            runtime_cycles=totals.runtime_cycles[self.core],
            energy_total=totals.energy[self.core],
            macs=totals.macs[self.core],
            area_um2=self.area_um2,
            power_mw=self.power_mw,
        )

    @property
    def valid(self) -> BoolArray:
        bad = np.zeros(len(self.index), dtype=bool)
        for f in self.fails.values():
            bad |= f
        return ~bad


def evaluate_designs(problem: SweepProblem, index: npt.ArrayLike) -> Designs:
    """Area, power and validity of the designs ``index`` (vectorised, any order)."""
    sp, t = problem.space, problem.totals
    idx = np.asarray(index, dtype=np.int64)
    core, i1, i2 = sp.unravel(idx)
    pes, vw, bw = (a[core] for a in sp.core_axes())
    l1 = np.asarray(sp.l1_words, dtype=np.int64)[i1]
    l2 = np.asarray(sp.l2_words, dtype=np.int64)[i2]
    area = np.asarray(problem.model.area_um2(pes, vw, bw, l1, l2), dtype=np.float64)
    power = np.asarray(problem.model.power_mw(pes, vw, bw, l1, l2), dtype=np.float64)
    fails = {
        "mapping": ~t.feasible[core],
        "l1": l1 < t.l1_req_words[core],
        "l2": l2 < t.l2_req_words[core],
        "area": ~(area <= problem.area_budget_um2),
        "power": ~(power <= problem.power_budget_mw),
    }
    return Designs(
        index=idx, core=core, l1_words=l1, l2_words=l2, area_um2=area, power_mw=power, fails=fails
    )


def objective_matrix(problem: SweepProblem, d: Designs) -> FloatArray:
    """Objectives of designs ``d`` as minimised columns, shape (n, k)."""
    m = d.metrics(problem.totals)
    return np.stack([o.sign * o.value(m) for o in problem.objectives], axis=1)


def tiebreak_matrix(problem: SweepProblem, d: Designs) -> FloatArray:
    """Tie-break keys of designs ``d``, shape (n, 3): among designs with equal objectives the
    smallest key wins. Area, then power, then the design index (power first when power is
    an objective and area is not)."""
    first, second = (d.power_mw, d.area_um2) if _power_first(problem) else (d.area_um2, d.power_mw)
    return np.stack([first, second, d.index.astype(np.float64)], axis=1)


def _power_first(problem: SweepProblem) -> bool:
    names = {o.name for o in problem.objectives}
    return "power" in names and "area" not in names


@dataclass(frozen=True, slots=True, kw_only=True)
class Front:
    """A set of non-dominated designs: indices, minimised objectives, tie-break keys."""

    index: IntArray
    objectives: FloatArray  # (m, k), minimised
    tiebreak: FloatArray  # (m, 3): see tiebreak_matrix

    @classmethod
    def empty(cls, k: int) -> Front:
        return cls(
            index=np.zeros(0, dtype=np.int64),
            objectives=np.zeros((0, k)),
            tiebreak=np.zeros((0, 3)),
        )

    def __len__(self) -> int:
        return len(self.index)

    def reduced(self) -> Front:
        keep = nondominated(self.objectives, self.tiebreak)
        return Front(
            index=self.index[keep], objectives=self.objectives[keep], tiebreak=self.tiebreak[keep]
        )

    def merged(self, other: Front) -> Front:
        return Front(
            index=np.concatenate([self.index, other.index]),
            objectives=np.concatenate([self.objectives, other.objectives]),
            tiebreak=np.concatenate([self.tiebreak, other.tiebreak]),
        ).reduced()


@dataclass(frozen=True, slots=True, kw_only=True)
class ChunkResult:
    """What one chunk (or a fold of several) contributes to the sweep's result.

    ``best`` is a front per objective holding its single best design (ties: smaller area,
    power, index). ``sample`` holds the sampled designs that are valid. ``kept`` holds the
    indices ``--keep`` asked for (empty otherwise).
    """

    n_designs: int
    n_valid: int
    fails: dict[str, int]
    front: Front
    best: tuple[Front, ...]
    sample: IntArray
    kept: IntArray

    def merged(self, other: ChunkResult) -> ChunkResult:
        return ChunkResult(
            n_designs=self.n_designs + other.n_designs,
            n_valid=self.n_valid + other.n_valid,
            fails={r: self.fails[r] + other.fails[r] for r in REASONS},
            front=self.front.merged(other.front),
            best=tuple(a.merged(b) for a, b in zip(self.best, other.best, strict=True)),
            sample=np.concatenate([self.sample, other.sample]),
            kept=np.zeros(0, dtype=np.int64),
        )


def _per_core_first_min(core: IntArray, a: FloatArray, b: FloatArray) -> IntArray:
    """Positions of the lexicographic minimum of (a, b, position) per run of equal ``core``.

    ``core`` must be non-decreasing (designs of one core are contiguous in a chunk).
    """
    n = len(core)
    starts = np.flatnonzero(np.r_[True, core[1:] != core[:-1]])
    lengths = np.diff(np.r_[starts, n])
    amin = np.repeat(np.minimum.reduceat(a, starts), lengths)
    b_at = np.where(a == amin, b, np.inf)
    bmin = np.repeat(np.minimum.reduceat(b_at, starts), lengths)
    hit = np.flatnonzero((a == amin) & (b_at == bmin))
    _, first = np.unique(core[hit], return_index=True)
    return hit[first]


def _range_costs(
    problem: SweepProblem, start: int, stop: int
) -> tuple[FloatArray, FloatArray, dict[str, BoolArray]]:
    """Area (um^2), power (mW) and failed rules of designs ``[start, stop)``.

    NOTE: designs are rows of (core, L1) by columns of L2, so everything that depends on
    the core or on L1 is computed once per row and broadcast along L2; elementwise results
    are identical to :func:`evaluate_designs`. Falls back to it when the rows the range
    touches hold many more designs than the range itself (a huge L2 axis, tiny chunks).
    """
    sp, t = problem.space, problem.totals
    n1, n2 = len(sp.l1_words), len(sp.l2_words)
    r0, r1 = start // n2, (stop - 1) // n2 + 1
    if (r1 - r0) * n2 > 2 * (stop - start) + 64:
        d = evaluate_designs(problem, np.arange(start, stop, dtype=np.int64))
        return d.area_um2, d.power_mw, d.fails
    core, i1 = np.divmod(np.arange(r0, r1, dtype=np.int64), n1)
    pes, vw, bw = (a[core][:, None] for a in sp.core_axes())
    l1 = np.asarray(sp.l1_words, dtype=np.int64)[i1][:, None]
    l2 = np.asarray(sp.l2_words, dtype=np.int64)[None, :]
    lo, hi = start - r0 * n2, stop - r0 * n2

    def flat(a: npt.NDArray[Any]) -> npt.NDArray[Any]:
        return np.broadcast_to(a, (r1 - r0, n2)).reshape(-1)[lo:hi]

    area = flat(np.asarray(problem.model.area_um2(pes, vw, bw, l1, l2), dtype=np.float64))
    power = flat(np.asarray(problem.model.power_mw(pes, vw, bw, l1, l2), dtype=np.float64))
    fails = {
        "mapping": flat(~t.feasible[core][:, None]),
        "l1": flat(l1 < t.l1_req_words[core][:, None]),
        "l2": flat(l2 < t.l2_req_words[core][:, None]),
        "area": ~(area <= problem.area_budget_um2),
        "power": ~(power <= problem.power_budget_mw),
    }
    return area, power, fails


def evaluate_chunk(problem: SweepProblem, start: int, stop: int, keep: str = "") -> ChunkResult:
    """Evaluate designs ``[start, stop)``; ``keep`` is "", "all" or "valid"."""
    area, power, fails = _range_costs(problem, start, stop)
    bad = np.zeros(stop - start, dtype=bool)
    for failed in fails.values():
        bad |= failed
    vpos = np.flatnonzero(~bad)
    # Candidates for the front. Per-core objectives are equal across a core's designs, and
    # area/power only tell designs of a core apart: within a core only the designs that are
    # best on the area/power objective used (or, with none used, on the tie-break) can be on
    # the front, so one per core is enough unless both area and power are objectives.
    caps = [o for o in problem.objectives if not o.per_core]
    if len(caps) < 2 and len(vpos):
        first, second = (power, area) if _power_first(problem) else (area, power)
        vcore = (start + vpos) // problem.space.n_capacities
        cand = vpos[_per_core_first_min(vcore, first[vpos], second[vpos])]
    else:
        cand = vpos
    core, i1, i2 = problem.space.unravel(start + cand)
    sub = Designs(
        index=start + cand,
        core=core,
        l1_words=np.asarray(problem.space.l1_words, dtype=np.int64)[i1],
        l2_words=np.asarray(problem.space.l2_words, dtype=np.int64)[i2],
        area_um2=area[cand],
        power_mw=power[cand],
        fails={},
    )
    f = objective_matrix(problem, sub)
    tb = tiebreak_matrix(problem, sub)
    front = Front(index=sub.index, objectives=f, tiebreak=tb).reduced()
    best = tuple(
        Front(index=sub.index, objectives=f[:, j : j + 1], tiebreak=tb).reduced()
        for j in range(f.shape[1])
    )
    stride = problem.sample_stride
    first_sample = -(-start // stride) * stride
    spos = np.arange(first_sample, stop, stride, dtype=np.int64) - start
    sample = start + spos[~bad[spos]]
    if keep == "all":
        kept = np.arange(start, stop, dtype=np.int64)
    else:
        kept = start + vpos if keep == "valid" else np.zeros(0, dtype=np.int64)
    return ChunkResult(
        n_designs=stop - start,
        n_valid=len(vpos),
        fails={r: int(np.count_nonzero(fails[r])) for r in REASONS},
        front=front,
        best=best,
        sample=sample,
        kept=kept,
    )


def chunks(size: int, chunk_size: int) -> Iterator[tuple[int, int]]:
    """``[start, stop)`` ranges covering ``range(size)``."""
    if chunk_size < 1:
        raise ValueError(f"chunk_size must be >= 1, got {chunk_size}")
    for s in range(0, size, chunk_size):
        yield s, min(s + chunk_size, size)


@dataclass(frozen=True, slots=True, kw_only=True)
class SweepResult:
    """The outcome of a sweep: counts, the Pareto designs and the best per objective.

    ``front`` holds design indices ordered by the first objective (best first).
    """

    problem: SweepProblem
    table: CoreTable
    n_designs: int
    n_valid: int
    fails: dict[str, int]
    front: IntArray
    best: dict[str, int]  # objective name -> design index (-1 when no design is valid)
    sample: IntArray
    analysis_s: float
    sweep_s: float

    @property
    def wall_s(self) -> float:
        return self.analysis_s + self.sweep_s

    @property
    def designs_per_s(self) -> float:
        return self.n_designs / max(self.wall_s, 1e-9)

    def records(self, index: npt.ArrayLike) -> dict[str, npt.NDArray[np.generic]]:
        """Column name -> array for designs ``index`` (whole-model numbers)."""
        return design_records(self.problem, index)


def design_records(
    problem: SweepProblem, index: npt.ArrayLike
) -> dict[str, npt.NDArray[np.generic]]:
    """Every column of the designs ``index``: axes, whole-model metrics, validity."""
    d = evaluate_designs(problem, index)
    t = problem.totals
    m = d.metrics(t)
    pes, vw, bw = (a[d.core] for a in problem.space.core_axes())
    valid = d.valid
    mask = np.zeros(len(d.index), dtype=np.int64)
    for bit, r in enumerate(REASONS):
        mask |= d.fails[r].astype(np.int64) << bit
    labels = np.array(
        [
            "+".join(r for bit, r in enumerate(REASONS) if m >> bit & 1)
            for m in range(1 << len(REASONS))
        ],
        dtype=object,
    )
    reasons = labels[mask]
    return {
        "design": d.index,
        "pes": pes,
        "vector_width": vw,
        "noc_bw_words_per_cycle": bw,
        "l1_words": d.l1_words,
        "l2_words": d.l2_words,
        "runtime_cycles": m.runtime_cycles,
        "throughput_macs_per_cycle": m.throughput_macs_per_cycle,
        "energy": m.energy_total,
        "edp": m.edp,
        "area_mm2": mm2_from_um2(d.area_um2),
        "power_mw": d.power_mw,
        "l1_req_words": t.l1_req_words[d.core],
        "l2_req_words": t.l2_req_words[d.core],
        "macs": t.macs[d.core],
        "valid": valid,
        "invalid_because": reasons,
    }


def kept_records(
    problem: SweepProblem, table: CoreTable, index: npt.ArrayLike
) -> dict[str, npt.NDArray[np.generic]]:
    """:func:`design_records` plus every layer's runtime and energy
    (``runtime_cycles:<layer>``, then ``energy:<layer>``)."""
    rec = design_records(problem, index)
    core, _, _ = problem.space.unravel(index)
    for j, layer in enumerate(table.layers):
        rec[f"runtime_cycles:{layer.name}"] = table.runtime_cycles[core, j]
    for j, layer in enumerate(table.layers):
        rec[f"energy:{layer.name}"] = table.energy[core, j]
    return rec


ProgressFn = Callable[[ChunkResult, float], None]
KeptFn = Callable[[dict[str, npt.NDArray[np.generic]]], None]


def sweep(
    problem: SweepProblem,
    table: CoreTable,
    *,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    jobs: int = 1,
    keep: str = "",
    on_chunk: ProgressFn | None = None,
    on_kept: KeptFn | None = None,
    analysis_s: float = 0.0,
) -> SweepResult:
    """Run every chunk (joblib, ``jobs`` workers, any backend set by
    ``joblib.parallel_config``) and fold the results in design order.

    ``on_chunk(total_so_far, elapsed_s)`` is called after each chunk (progress display);
    ``on_kept(records)`` receives the :func:`kept_records` of the designs ``keep`` asked
    for ("all" or "valid"), chunk by chunk, in design order.
    """
    if keep not in ("", "all", "valid"):
        raise UnknownNameError("keep mode", keep, ("all", "valid"))
    k = len(problem.objectives)
    acc = ChunkResult(
        n_designs=0,
        n_valid=0,
        fails=dict.fromkeys(REASONS, 0),
        front=Front.empty(k),
        best=tuple(Front.empty(1) for _ in range(k)),
        sample=np.zeros(0, dtype=np.int64),
        kept=np.zeros(0, dtype=np.int64),
    )
    t0 = time.perf_counter()
    results = joblib.Parallel(n_jobs=jobs, return_as="generator")(
        joblib.delayed(evaluate_chunk)(problem, s, e, keep)
        for s, e in chunks(problem.space.size, chunk_size)
    )
    for r in results:
        if on_kept is not None and len(r.kept):
            on_kept(kept_records(problem, table, r.kept))
        acc = acc.merged(r)
        if on_chunk is not None:
            on_chunk(acc, time.perf_counter() - t0)
    sweep_s = time.perf_counter() - t0
    order = np.lexsort(acc.front.objectives.T[::-1]) if len(acc.front) else np.zeros(0, int)
    return SweepResult(
        problem=problem,
        table=table,
        n_designs=acc.n_designs,
        n_valid=acc.n_valid,
        fails=acc.fails,
        front=acc.front.index[order],
        best={
            o.name: int(b.index[0]) if len(b) else -1
            for o, b in zip(problem.objectives, acc.best, strict=True)
        },
        sample=acc.sample,
        analysis_s=analysis_s,
        sweep_s=sweep_s,
    )
