"""The exact step cycles of the step classes a set of mappings fixes (the runtime of a
plateau's leaves).

:func:`mapsearch.bounds.combine.count_bounds` bounds a step class's cycles by the largest of
its *summed* compute, ingress and egress delays; the model (``docs/semantics.md`` rules
12-13) sums each *step's* largest delay, each rounded up on its own. When the steps'
delays vary (a step computes for 2-3 cycles and fetches for 1-5), the sum of the maxima is
well above the largest sum, and a node of such leaves stays under the best point.

Where a set fixes a class (every group has one configuration and plays one part there),
the class's steps are those of any mapping of the set: the cases of the groups' distinct
runtime rows, exactly as the model enumerates them
(:func:`mapsearch.costmodel._exact_combine.combine_parts`, reused here on those rows). The
later classes' steps are disjoint, so the sum over the fixed ones is a lower bound of the
later steps' cycles (:attr:`CountBounds.later_step_cycles`), and equals it when every class
is fixed. A part where the model may walk the group with others (``coupled``) is not a
product of the groups' rows: a class with one is left out.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import numpy.typing as npt

from mapsearch.bounds.counts import CountBounds
from mapsearch.bounds.table import StructureTable
from mapsearch.costmodel._exact_combine import combine_parts
from mapsearch.costmodel._exact_groups import (
    _COLS,
    _JOINT,
    PartTable,
    _Core,
    core_piece,
    part_table,
    piece,
)
from mapsearch.costmodel.batch import MappingBatch
from mapsearch.costmodel.exact import _group_core, _plan
from mapsearch.costmodel.exact_factors import _factors
from mapsearch.directives import DirectiveKind
from mapsearch.hardware import Hardware

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

#: Objectives whose bound grows with the runtime bound (the others need no step cycles).
TIMED = ("latency", "edp", "throughput")

#: A part with no steps: the combination skips a class where some group plays it.
_EMPTY = piece(
    np.zeros((1, len(_COLS)), dtype=np.int64),
    np.zeros(1, dtype=np.int64),
    np.zeros(1, dtype=np.int64),
    np.zeros((0, len(_JOINT)), dtype=np.int64),
    np.zeros(0, dtype=np.int64),
)


class StepRows:
    """The distinct runtime rows of every configuration and part of one structure table's
    groups, read from the model's group cores on first use and kept (one decode per group)."""

    def __init__(self, table: StructureTable) -> None:
        self.table = table
        #: per group: the index of each configuration's first part in :attr:`_parts`' table
        self._start: list[IntArray | None] = [None] * len(table.groups)
        #: per group: whether each configuration's part may be walked with other groups
        self._coupled: list[BoolArray | None] = [None] * len(table.groups)
        self._pieces: list[IntArray] = [_EMPTY]
        self._n_parts = 1  # parts in the pieces so far (the empty piece has one)
        self._table: PartTable | None = None

    def _group(self, g: int) -> tuple[IntArray, BoolArray]:
        """Group ``g``'s configurations added to the pieces: their first parts and coupling."""
        start, coupled = self._start[g], self._coupled[g]
        if start is not None and coupled is not None:
            return start, coupled
        table, grp = self.table, self.table.groups[g]
        orders = (0,) * table.n_levels
        combos = [0] * len(table.groups)
        genotypes = []
        for first in grp.first.tolist():
            combos[g] = first
            genotypes.append(table.genotype(orders, tuple(combos)))
        decoded = table.space.decode(np.stack(genotypes), table.num_pes)
        assert decoded.batch is not None and len(decoded.rows) == len(genotypes)  # tabulated
        batch = decoded.batch.take(np.argsort(decoded.rows))
        cores = _group_cores(table, batch, grp.name)
        n_parts = len(grp.parts)
        start = self._n_parts + n_parts * np.arange(len(cores), dtype=np.int64)
        self._n_parts += n_parts * len(cores)
        coupled = np.asarray([_factors(core).coupled for core in cores], dtype=bool)
        self._pieces += [core_piece(core) for core in cores]
        self._start[g], self._coupled[g], self._table = start, coupled, None
        return start, coupled

    def later_cycles(
        self, mask: BoolArray, configs: IntArray, hardware: Hardware, rows: BoolArray
    ) -> FloatArray:
        """Per set ``b``, the exact cycles of the later step classes the set fixes (0 for a
        set with no such class, or not among ``rows``).

        ``mask`` ``(B, C, G, P)`` or ``(1, C, G, P)``: the parts each group may play in each
        class; ``configs`` ``(B, G)``: each group's one configuration (-1: several).
        """
        B, G = configs.shape
        sets = np.flatnonzero(rows & (configs >= 0).all(axis=1))
        out = np.zeros(B)
        if not sets.size:
            return out
        m = sets if mask.shape[0] > 1 else np.zeros_like(sets)
        later = mask[m, 1:]  # (n, C - 1, G, P): the first step is bounded apart
        which = np.argmax(later, axis=3)  # (n, C - 1, G)
        fixed = (later.sum(axis=3) == 1).all(axis=2)  # (n, C - 1)
        local = np.zeros((G, sets.size, mask.shape[1]), dtype=np.int64)  # 0: the empty piece
        for g in range(G):
            start, coupled = self._group(g)
            a = configs[sets, g]
            fixed &= ~coupled[a[:, None], which[:, :, g]]
            local[g, :, 1:] = start[a][:, None] + which[:, :, g]
        local[:, :, 1:] *= fixed[None]
        done = fixed.any(axis=1)
        if not done.any():
            return out
        if self._table is None:
            self._table = part_table(self._pieces)[0]
        table = self._table
        at = np.flatnonzero(done)
        cycles = combine_parts(
            np.zeros((G, at.size), dtype=np.int64),
            np.ascontiguousarray(local[:, at]),
            np.arange(at.size, dtype=np.int64),
            -1,
            table.nrows,
            table.sums,
            table.jstart,
            table.jlens,
            table.joint,
            table.jcount,
            hardware.vector_width,
            hardware.noc_latency_cycles,
            hardware.noc_bw_words_per_cycle,
            np.zeros(0, dtype=np.int64),
        )[2]
        out[sets[at]] = cycles
        return out

    def tighten(
        self,
        counts: CountBounds,
        mask: BoolArray,
        configs: IntArray,
        hardware: Hardware,
        rows: BoolArray | None = None,
    ) -> CountBounds:
        """``counts`` with the later steps' cycles at least those of the classes each set
        fixes (:meth:`later_cycles`; all sets unless ``rows`` says which)."""
        if rows is None:
            rows = np.ones(configs.shape[0], dtype=bool)
        later = self.later_cycles(mask, configs, hardware, rows)
        return dataclasses.replace(
            counts, later_step_cycles=np.maximum(counts.later_step_cycles, later)
        )


def _group_cores(table: StructureTable, batch: MappingBatch, name: str) -> list[_Core]:
    """The model's core of group ``name`` for each mapping of ``batch`` (one template),
    keyed as :func:`mapsearch.costmodel.exact_factors.group_factors` keys it."""
    t = batch.template
    clusters = batch.sizes[:, [j for j, k in enumerate(t.kinds) if k is DirectiveKind.CLUSTER]]
    top = table.num_pes // np.maximum(np.prod(clusters, axis=1), 1)
    units = np.concatenate([top[:, None], clusters], axis=1)
    plan = _plan(table.layer, t)
    k = next(i for i, spec in enumerate(plan.specs) if spec.name == name)
    spec, shape = plan.specs[k], plan.shapes[k]
    key = np.concatenate(
        [batch.sizes[:, spec.columns], batch.offsets[:, spec.columns], units[:, spec.levels]],
        axis=1,
    )
    return [
        _group_core(table.layer, shape.spec, shape.directives, shape.n_levels, tuple(row))[0]
        for row in key.tolist()
    ]
