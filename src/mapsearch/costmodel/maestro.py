"""The cost model with MAESTRO's semantics, vectorised over a batch of mappings.

Reproduces the numbers of MAESTRO (maestro-project/maestro, commit 4eb08d1,
``AnalyzeClusterLevel_V2``) as described in ``docs/maestro_model.md``, including its known
simplifications (no temporal accumulation of outputs, stride ignored in output counts,
per-step off-chip floor at the top level). Cases MAESTRO gets plainly wrong are scored but
marked infeasible with a reason: a MAC count different from the layer's, a physically
impossible runtime (below ``ceil(MACs / (busy PEs x vector width))``, the busy PEs being the
most that ever work at once, from :attr:`mapsearch.directives.nest.StepModel.busy_pes`), or
a case on which MAESTRO divides by zero.

Python loops run over levels, directives, tensors and iteration cases only; every quantity
is an int64 array over the mappings of the batch.

Entry points:

- :func:`evaluate_batch` (layer, hardware, batch) -> :class:`Report`, what
  ``costmodel.evaluate_batch(..., semantics="maestro")`` calls;
- :func:`analyze` + :func:`timing`: the reuse analysis depends on the PE count only; the
  timing (NoC bandwidth and latency, off-chip bandwidth, vector width) is a cheap pass over
  its case tables, so a hardware sweep analyses once and times many designs;
- :func:`runtime_sweep`: runtimes for an array of NoC bandwidths, shape ``(n_bw, B)``.

How cases are enumerated (sections 5-6): Init and Steady states outside the innermost
changing loop are merged (identical volumes), the per-case volumes are products of
per-directive factors shared between cases, and the sub-clusters of all cases of a level
are analysed together, once per distinct (mapping, edge pattern).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from mapsearch.costmodel import area_power
from mapsearch.costmodel._maestro_cases import (
    EDGE,
    INIT,
    STEADY,
    Case,
    Sizes,
    States,
    child_dims,
    level_sizes,
    level_states,
    take_level,
    take_sizes,
)
from mapsearch.costmodel._maestro_levels import (
    SPATIAL,
    WINDOW_OF,
    MaestroLevel,
    TensorVars,
    build_levels,
    tensor_vars,
)
from mapsearch.costmodel.batch import MappingBatch
from mapsearch.costmodel.report import Report, TensorCounts
from mapsearch.directives import DirectiveKind
from mapsearch.directives.nest import level_units, unfold_template
from mapsearch.hardware import Hardware
from mapsearch.layers import OUTPUT_DIMS, Layer

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]


def noc_delay_cycles(
    words: IntArray, bw_words_per_cycle: int | IntArray, latency_cycles: int
) -> IntArray:
    """MAESTRO's NoC delay for ``words``: ``latency + ceil(words / bw) - 1`` (0 words: latency - 1).

    ``bw_words_per_cycle`` may be an array broadcasting against ``words`` (a sweep).
    """
    d = words + (bw_words_per_cycle - 1)
    d //= bw_words_per_cycle
    d += latency_cycles - 1
    return d


@dataclass(frozen=True, slots=True)
class _Kid:
    """The sub-cluster analyses one case of a non-innermost level waits for (section 8).

    ``normal``/``edge_edge`` index the rows of the child table (full units / the partial
    last unit) that hold each parent mapping's sub-cluster problem.
    """

    child: int
    normal: IntArray
    edge_edge: IntArray | None
    use_edge_edge: BoolArray
    has_full: BoolArray


class _Table:
    """One analysed level instance: its live cases, independent of NoC and off-chip speed.

    ``(n_cases, B)`` int64 matrices, one row per live case: occurrences (0 where the case
    does not occur or is skipped), ingress and egress words per step, and either the
    busiest unit's MACs (innermost level, ``mu``) or, in ``kids``, the sub-cluster
    analyses the case waits for.
    """

    def __init__(self, capacity: int, n: int, *, innermost: bool) -> None:
        self.occ_m = np.empty((capacity, n), dtype=np.int64)
        self.ingress_m = np.empty((capacity, n), dtype=np.int64)
        self.egress_m = np.empty((capacity, n), dtype=np.int64)
        self.mu_m: IntArray | None = np.empty((capacity, n), dtype=np.int64) if innermost else None
        self.kids: list[_Kid] = []
        self.all_init: list[bool] = []
        self.util: FloatArray | None = None
        self.count = 0

    def add(self, occ: IntArray, ingress: IntArray, egress: IntArray, *, all_init: bool) -> int:
        i = self.count
        self.occ_m[i], self.ingress_m[i], self.egress_m[i] = occ, ingress, egress
        self.all_init.append(all_init)
        self.count += 1
        return i

    def finish(self) -> None:
        k = self.count
        self.occ_m, self.ingress_m, self.egress_m = (
            self.occ_m[:k],
            self.ingress_m[:k],
            self.egress_m[:k],
        )
        if self.mu_m is not None:
            self.mu_m = self.mu_m[:k]


@dataclass(frozen=True, slots=True, kw_only=True)
class MaestroAnalysis:
    """Everything of a batch that does not depend on NoC bandwidth/latency, off-chip
    bandwidth or vector width: the case tables of every analysed level instance (the top
    one first) and the top-level counters. Build it with :func:`analyze`; time it with
    :func:`timing` for as many hardware speeds as needed.
    """

    layer: Layer
    num_pes: int
    tv: TensorVars
    size: int
    tables: list[_Table]
    l2_read: dict[str, IntArray]
    l2_write_output: IntArray
    l1_output: IntArray
    macs: IntArray
    l2_buffers: dict[str, IntArray]
    l1_buffers: dict[str, IntArray]
    top_dims: dict[str, IntArray]
    too_few_pes: BoolArray
    busy_pes: IntArray


class _Analyzer:
    """Builds a :class:`MaestroAnalysis`: the recursive ``AnalyzeClusterLevel_V2`` walk.

    A level instance is analysed on a sub-batch: ``rows`` are positions in the original
    batch (they may repeat). The sub-clusters of all cases of an instance form one
    sub-batch of the distinct (parent mapping, edge pattern) pairs, so each distinct
    sub-cluster problem is analysed once.
    """

    def __init__(self, layer: Layer, num_pes: int, batch: MappingBatch) -> None:
        self.tv = tensor_vars(layer)
        levels, _ = build_levels(layer, num_pes, batch)
        self.too_few_pes = levels[0].units < 1
        self.busy_pes = _busy_pes(layer, num_pes, batch)
        if self.too_few_pes.any():
            top = levels[0]
            levels[0] = MaestroLevel(
                kinds=top.kinds,
                vars=top.vars,
                size=top.size,
                offset=top.offset,
                units=np.maximum(top.units, 1),
                dims=top.dims,
            )
        self.layer, self.num_pes, self.levels = layer, num_pes, levels
        self.sizes: list[Sizes] = [level_sizes(lv, self.tv) for lv in levels]
        self.B = len(batch)
        z = np.zeros(self.B, dtype=np.int64)
        self.l2_read: dict[str, IntArray] = {n: z.copy() for n, _ in self.tv.inputs}
        self.l2_write_output, self.l1_output, self.macs = z.copy(), z.copy(), z.copy()
        self.l2_buffers: dict[str, IntArray] = {}
        self.tables: list[_Table] = []

    def run(self) -> MaestroAnalysis:
        top = self.levels[0]
        self.analyze(0, {v: top.dims[v] for v in top.vars}, None)
        inner = self.sizes[-1]
        # Section 7: twice the innermost level's mapped tile per tensor (output in input
        # space, quirk 11); the mapped sizes are static, so every instance agrees.
        l1 = {
            name: 2 * _static_mapped(inner, vars_)
            for name, vars_ in (*self.tv.inputs, self.tv.output)
        }
        return MaestroAnalysis(
            layer=self.layer,
            num_pes=self.num_pes,
            tv=self.tv,
            size=self.B,
            tables=self.tables,
            l2_read=self.l2_read,
            l2_write_output=self.l2_write_output,
            l1_output=self.l1_output,
            macs=self.macs,
            l2_buffers=self.l2_buffers,
            l1_buffers=l1,
            top_dims=top.dims,
            too_few_pes=self.too_few_pes,
            busy_pes=self.busy_pes,
        )

    def analyze(self, idx: int, dims: dict[str, IntArray], rows: IntArray | None) -> int:
        """Analyse level ``idx`` with instance dimensions ``dims`` for the mappings ``rows``
        (``None``: the whole batch); return its table id."""
        level, sizes, tv = self.levels[idx], self.sizes[idx], self.tv
        if rows is not None:
            level, sizes = take_level(level, rows), take_sizes(sizes, rows)
        n = int(level.units.shape[0])
        is_top, innermost = idx == 0, idx == len(self.levels) - 1
        states = level_states(level, dims)
        cases = [(case, occ) for case, occ in _case_classes(states) if occ.any()]
        table = _Table(len(cases), n, innermost=innermost)
        tid = len(self.tables)
        self.tables.append(table)
        steps = np.zeros(n, dtype=np.int64)
        util_sum = np.zeros(n)
        first_case = True
        sp = level.kinds.index(SPATIAL)
        shared: dict[tuple[object, ...], IntArray] = {}
        pending: list[tuple[IntArray, Case, BoolArray, IntArray]] = []
        for case, occ in cases:
            c = Case(level, sizes, states, tv, case, shared)
            G = c.egress()
            F = {name: c.ingress(vars_) for name, vars_ in tv.inputs}
            if first_case and is_top:
                self.l2_buffers = {t: 2 * f for t, f in F.items()} | {"output": 2 * G}
            first_case = False
            mu = c.critical_psums()
            if is_top:
                macs = c.macs()
                self.l2_write_output += occ * G
                self.l1_output += occ * macs
            live = mu > 0
            if not live.any():
                continue
            w = occ * live
            sp_edge = c.is_edge[sp]
            active = np.where(sp_edge, sizes.pe, level.units)
            row = table.add(
                w, sum(F.values(), np.zeros(n, dtype=np.int64)), G, all_init=c.changing < 0
            )
            if innermost:
                assert table.mu_m is not None
                table.mu_m[row] = mu
                util_sum += w * active
            else:
                pending.append((w, c, sp_edge, active))
            if is_top:
                for name, f in F.items():
                    self.l2_read[name] += w * f
                self.macs += w * macs
            steps += w
        if pending:
            util_sum += self._children(idx, level, sizes, rows, pending, table)
        table.util = util_sum / np.maximum(steps, 1)
        table.finish()
        return tid

    def _children(
        self,
        idx: int,
        level: MaestroLevel,
        sizes: Sizes,
        rows: IntArray | None,
        pending: list[tuple[IntArray, Case, BoolArray, IntArray]],
        table: _Table,
    ) -> FloatArray:
        """Analyse the sub-clusters of every live case at once (sections 8, 9).

        Sets ``table.kids`` and returns the occurrence-weighted utilised PEs of the cases.
        """
        n = int(level.units.shape[0])
        d = len(level.vars)
        has_full = sizes.pe - 1 > 0
        requests: list[tuple[IntArray, IntArray]] = []
        plans = []
        for w, c, sp_edge, _ in pending:
            live = w > 0
            use_ee = sp_edge & c.has_ee[level.kinds.index(SPATIAL)]
            need_n = live & (~use_ee | has_full)
            need_ee = live & use_ee
            mask_n = c.child_edge_mask(False)
            requests.append((np.flatnonzero(need_n), mask_n))
            if need_ee.any():
                mask_ee = c.child_edge_mask(True)
                requests.append((np.flatnonzero(need_ee), mask_ee))
            plans.append((use_ee, need_ee.any()))
        # Bits of directives whose edge tile equals the full tile change nothing: clear them
        # so that equal sub-cluster problems of one mapping are analysed once.
        differs = np.zeros(n, dtype=np.int64)
        for j, v in enumerate(level.vars):
            differs |= (sizes.me[v] != sizes.m[v]).astype(np.int64) << j
        keys = np.concatenate([(r << d) | (m[r] & differs[r]) for r, m in requests])
        uniq, inverse = _dedupe(keys, n << d)
        parent_rows = uniq >> d
        child_rows = parent_rows if rows is None else rows[parent_rows]
        dims = child_dims(level, sizes, parent_rows, uniq & ((1 << d) - 1))
        child = self.analyze(idx + 1, dims, child_rows)
        c_util = self.tables[child].util
        assert c_util is not None
        util_sum = np.zeros(n)
        n_full = np.maximum(sizes.pe - 1, 0)
        cursor = 0
        it = iter(requests)
        for (w, _, _, active), (use_ee, with_ee) in zip(pending, plans, strict=True):
            positions = []
            for _ in range(2 if with_ee else 1):
                r, _mask = next(it)
                pos = np.zeros(n, dtype=np.int64)
                pos[r] = inverse[cursor : cursor + len(r)]
                cursor += len(r)
                positions.append(pos)
            n_util = c_util[positions[0]]
            util = n_util * active
            if with_ee:
                u_ee = c_util[positions[1]] + n_util * n_full
                util = np.where(use_ee, u_ee, util)
            util = np.where(util == 0, active, util)
            util_sum += w * util
            table.kids.append(
                _Kid(
                    child=child,
                    normal=positions[0],
                    edge_edge=positions[1] if with_ee else None,
                    use_edge_edge=use_ee,
                    has_full=has_full,
                )
            )
        return util_sum


def _busy_pes(layer: Layer, num_pes: int, batch: MappingBatch) -> IntArray:
    """The most PEs that ever work at once in each mapping (at least 1): the kernel's units
    that get a slice in some step, per level, multiplied."""
    t = batch.template
    clusters = [batch.sizes[:, j] for j, k in enumerate(t.kinds) if k is DirectiveKind.CLUSTER]
    top, *inner = level_units(np.full(len(batch), num_pes, dtype=np.int64), clusters)
    # rows with too few PEs for their clusters are infeasible anyway: count them on one unit
    units = (np.maximum(top, 1), *inner)
    # Only the spatially mapped dimensions matter (their slices depend on their own
    # directives, and on the filter's size for Y'/X'): unfold just those columns.
    spatial = {OUTPUT_DIMS.get(d, d) for k, d in zip(t.kinds, t.dims, strict=True) if k is SPATIAL}
    needed = spatial | {f for d in spatial if (f := layer.filter_of(d)) is not None}
    cols = [
        j
        for j, (k, d) in enumerate(zip(t.kinds, t.dims, strict=True))
        if k is DirectiveKind.CLUSTER or OUTPUT_DIMS.get(d, d) in needed
    ]
    nest = unfold_template(
        layer,
        [t.kinds[j] for j in cols],
        [t.dims[j] for j in cols],
        [batch.sizes[:, j] for j in cols],
        [batch.offsets[:, j] for j in cols],
        units,
    )
    return np.maximum(nest.busy_pes, 1)


def analyze(layer: Layer, num_pes: int, batch: MappingBatch) -> MaestroAnalysis:
    """The speed-independent part of the maestro model for ``batch`` on ``num_pes`` PEs."""
    return _Analyzer(layer, num_pes, batch).run()


@dataclass(frozen=True, slots=True)
class MaestroTiming:
    """Top-level timing results (cycles, words per cycle), arrays over the batch."""

    runtime_cycles: IntArray
    peak_noc_bw: IntArray
    avg_noc_bw: FloatArray
    offchip_bw: IntArray
    avg_utilized_pes: FloatArray
    delay_min: dict[str, FloatArray]
    delay_max: dict[str, FloatArray]
    delay_avg: dict[str, FloatArray]
    divide_by_zero: BoolArray


def _case_times(
    analysis: MaestroAnalysis, bws: IntArray, latency: int, vector_width: int
) -> tuple[IntArray, IntArray, IntArray, IntArray]:
    """Compute delay, step time, ingress and egress delay of every top-level case.

    One leading axis per NoC bandwidth of ``bws``: step times and delays have shape
    ``(n_bw, n_cases, B)``, the compute delay ``(n_bw or 1, n_cases, B)``. Section 8: a
    step costs ``compute + delta(ingress)`` in the all-Init case and ``max(delta(ingress),
    compute, delta(egress))`` otherwise (double buffering). The compute delay is
    ``ceil(mu / vector_width)`` at the innermost level and the slowest sub-cluster
    analysis's runtime above it. The off-chip floor is left to the caller.
    """
    bw = bws.reshape(-1, 1, 1)
    tables = analysis.tables
    memo: dict[int, IntArray] = {}

    def kappa(tab: _Table) -> IntArray:
        if tab.mu_m is not None:
            if vector_width == 1:
                return tab.mu_m[None]
            return ((tab.mu_m + (vector_width - 1)) // vector_width)[None]
        if not tab.kids:  # every case skipped
            return np.zeros((1, *tab.occ_m.shape), dtype=np.int64)
        rows = []
        for kid in tab.kids:
            child = runtime_of(kid.child)
            k = child[:, kid.normal]
            if kid.edge_edge is not None:  # arithmetic selects: faster than np.where
                k_ee = np.maximum(child[:, kid.edge_edge], k * kid.has_full)
                k = k + (k_ee - k) * kid.use_edge_edge
            rows.append(k)
        return np.stack(rows, axis=1)

    def steps(tab: _Table, k: IntArray) -> tuple[IntArray, IntArray, IntArray]:
        d_in = noc_delay_cycles(tab.ingress_m[None], bw, latency)
        d_out = noc_delay_cycles(tab.egress_m[None], bw, latency)
        t = np.maximum(d_out, k)
        np.maximum(t, d_in, out=t)
        if tab.all_init and tab.all_init[0]:
            t[:, 0] = k[:, 0] + d_in[:, 0]
        return t, d_in, d_out

    def runtime_of(tid: int) -> IntArray:
        hit = memo.get(tid)
        if hit is None:
            tab = tables[tid]
            t, _, _ = steps(tab, kappa(tab))
            hit = np.einsum("ij,bij->bj", tab.occ_m, t)
            memo[tid] = hit
        return hit

    top = tables[0]
    k = kappa(top)
    t, d_in, d_out = steps(top, k)
    return k, t, d_in, d_out


def _offchip_floors(analysis: MaestroAnalysis, offchip_bw: int) -> tuple[IntArray, IntArray]:
    """Per-step off-chip floor of the top level (section 8, quirk 4) and ``S2_in + S2_w``."""
    zero = np.zeros(analysis.size, dtype=np.int64)
    s_in = sum((analysis.l2_buffers[n] for n, _ in analysis.tv.inputs), zero)
    s_out = analysis.l2_buffers["output"]
    return np.maximum(s_in // offchip_bw // 2, s_out // offchip_bw // 2), s_in


def timing(
    analysis: MaestroAnalysis,
    *,
    noc_bw_words_per_cycle: int,
    noc_latency_cycles: int,
    offchip_bw_words_per_cycle: int,
    vector_width: int,
) -> MaestroTiming:
    """Runtime and bandwidth metrics of an analysed batch for one set of hardware speeds."""
    K, T, d_in, d_out = (
        x[0]
        for x in _case_times(
            analysis, np.array([noc_bw_words_per_cycle]), noc_latency_cycles, vector_width
        )
    )
    top = analysis.tables[0]
    W = top.occ_m
    floor, s_in = _offchip_floors(analysis, offchip_bw_words_per_cycle)
    s_out = analysis.l2_buffers["output"]
    runtime = np.einsum("ij,ij->j", W, np.maximum(T, floor, out=T))
    live = W > 0
    n_steps = np.maximum(W.sum(axis=0), 1).astype(np.float64)
    K1 = np.maximum(K, 1)
    words = np.maximum(top.ingress_m, top.egress_m)
    q = words // K1
    q *= live
    peak = q.max(axis=0, initial=0)
    words *= W
    avg_bw = (words // K1).sum(axis=0) / n_steps
    # MAESTRO halves the off-chip requirement after every case (quirk 16).
    offchip = np.zeros(analysis.size, dtype=np.int64)
    need = np.maximum(s_out, s_in) // K1
    for i in range(W.shape[0]):
        offchip = np.where(live[i], np.maximum(offchip, need[i]) // 2, offchip)
    dmin, dmax, davg = {}, {}, {}
    # Masked extrema without np.where: clip to +-big, -big/+big where live, +big/-big elsewhere.
    big = 1 << 62
    off_lo = live.astype(np.int64)
    off_lo *= -2 * big
    off_lo += big
    off_hi = np.negative(off_lo, out=q)
    for name, D in (("ingress", d_in), ("egress", d_out), ("compute", K1)):
        lo = np.maximum(D, off_lo).min(axis=0, initial=big)
        hi = np.minimum(D, off_hi).max(axis=0, initial=-big)
        dmin[name] = np.where(lo == big, 0, lo).astype(np.float64)
        dmax[name] = np.where(hi == -big, 0, hi).astype(np.float64)
        davg[name] = np.einsum("ij,ij->j", W, D) / n_steps
    assert top.util is not None
    return MaestroTiming(
        runtime_cycles=runtime,
        peak_noc_bw=peak,
        avg_noc_bw=avg_bw,
        offchip_bw=offchip,
        avg_utilized_pes=top.util,
        delay_min=dmin,
        delay_max=dmax,
        delay_avg=davg,
        divide_by_zero=(live & (K == 0)).any(axis=0),
    )


#: Elements (bandwidths x cases x mappings) timed at once by :func:`runtime_sweep`.
SWEEP_BLOCK = 1 << 22


def runtime_sweep(
    layer: Layer,
    hardware: Hardware,
    batch: MappingBatch,
    noc_bws_words_per_cycle: npt.ArrayLike,
) -> IntArray:
    """Runtime (cycles) of every mapping for each NoC bandwidth: shape ``(n_bw, B)``.

    The reuse analysis runs once and the timing is vectorised over the bandwidths as well
    (blocks of ``SWEEP_BLOCK`` elements), so a sweep costs a fraction of separate
    evaluations. Other hardware values (PEs, latency, off-chip bandwidth, vector width)
    come from ``hardware``.
    """
    an = analyze(layer, hardware.num_pes, batch)
    bws = np.asarray(noc_bws_words_per_cycle, dtype=np.int64).reshape(-1)
    floor, _ = _offchip_floors(an, hardware.offchip_bw_words_per_cycle)
    W = an.tables[0].occ_m
    step = max(1, SWEEP_BLOCK // max(W.size, 1))
    out = []
    for a in range(0, len(bws), step):
        _, T, _, _ = _case_times(
            an, bws[a : a + step], hardware.noc_latency_cycles, hardware.vector_width
        )
        out.append(np.einsum("ij,bij->bj", W, np.maximum(T, floor)))
    return np.concatenate(out)


def _dedupe(keys: IntArray, bound: int) -> tuple[IntArray, IntArray]:
    """``np.unique(keys, return_inverse=True)`` for keys in ``[0, bound)``, without sorting."""
    if bound > 8 * len(keys) + (1 << 20):
        uniq, inverse = np.unique(keys, return_inverse=True)
        return uniq, inverse.reshape(-1)
    seen = np.zeros(bound, dtype=bool)
    seen[keys] = True
    uniq = np.flatnonzero(seen)
    slot = np.empty(bound, dtype=np.int64)
    slot[uniq] = np.arange(len(uniq))
    return uniq, slot[keys]


def _case_classes(states: States) -> Iterator[tuple[tuple[int, ...], IntArray]]:
    """The iteration cases of a level, with Init and Steady merged outside the changing loop.

    A case is fixed by the innermost non-Init directive (position l, Steady or Edge) and by
    the states of the directives outside it. Outside l, Init and Steady give the same tile
    sizes, reuse and sub-cluster dimensions (section 6), so they are merged into one
    Init-labelled class occurring ``1 + #Steady`` times; only Edge stays apart. Inside l
    every directive is in Init. This turns 3^d cases into at most 2^(d+1) - 1.
    """
    d = len(states.mult)
    ones = states.mult[0][INIT]
    yield (INIT,) * d, ones
    merged = [m[INIT] + m[STEADY] for m in states.mult]
    has = [(bool(m[STEADY].any()), bool(m[EDGE].any())) for m in states.mult]
    for ell in range(d):
        for s_ell in (STEADY, EDGE):
            if not has[ell][s_ell - 1]:
                continue
            outer = [[INIT, EDGE] if has[j][1] else [INIT] for j in range(ell)]
            for prefix in itertools.product(*outer):
                occ = states.mult[ell][s_ell]
                for j, s in enumerate(prefix):
                    occ = occ * (merged[j] if s == INIT else states.mult[j][EDGE])
                yield (*prefix, s_ell) + (INIT,) * (d - ell - 1), occ


def _static_mapped(sizes: Sizes, vars_: tuple[str, ...]) -> IntArray:
    """``GetMappedVolume``: product of the mapped sizes of a tensor's variables (input space)."""
    out: IntArray | None = None
    for v in vars_:
        out = sizes.m[v] if out is None else out * sizes.m[v]
    assert out is not None
    return out


def evaluate_batch(layer: Layer, hardware: Hardware, batch: MappingBatch) -> Report:
    """Score every mapping of ``batch`` with MAESTRO's semantics (``docs/maestro_model.md``).

    Counts are in words; energy uses ``hardware.energy`` (MAESTRO's screen total with
    18.61 -> L2 read/write energies, 1.68 -> L1, 1 -> MAC); area and power use MAESTRO's
    formulas with the *required* L1/L2 sizes (section 10). Large batches are scored in
    chunks of ``CHUNK`` mappings (bounded memory, cache-friendly arrays).
    """
    if len(batch) > CHUNK:
        parts = [
            evaluate_batch(layer, hardware, batch.take(np.arange(a, min(a + CHUNK, len(batch)))))
            for a in range(0, len(batch), CHUNK)
        ]
        return Report.concat(parts)
    an = analyze(layer, hardware.num_pes, batch)
    tm = timing(
        an,
        noc_bw_words_per_cycle=hardware.noc_bw_words_per_cycle,
        noc_latency_cycles=hardware.noc_latency_cycles,
        offchip_bw_words_per_cycle=hardware.offchip_bw_words_per_cycle,
        vector_width=hardware.vector_width,
    )
    return _report(an, tm, hardware)


#: Mappings scored per chunk by :func:`evaluate_batch`.
CHUNK = 16384


def _report(an: MaestroAnalysis, tm: MaestroTiming, hw: Hardware) -> Report:
    """Assemble the Report: counters (section 6), buffers (7), energy, area, power (10)."""
    tv, layer, B = an.tv, an.layer, an.size
    f = np.float64
    size = an.top_dims

    def words(vars_: tuple[str, ...], *, output: bool = False) -> IntArray:
        out = np.ones(B, dtype=np.int64)
        for v in vars_:
            if output and tv.windows and v in WINDOW_OF:
                out = out * (size[v] - size[WINDOW_OF[v][0]] + 1)  # stride ignored (quirk 8)
            else:
                out = out * size[v]
        return out

    (in_name, in_vars), (w_name, w_vars) = tv.inputs
    macs = an.macs
    l1_out = an.l1_output
    l2_reads = TensorCounts(
        input=an.l2_read[in_name],
        filter=an.l2_read[w_name],
        output=words(tv.output[1], output=True),
    )
    l2_writes = TensorCounts(
        input=words(in_vars),
        filter=words(w_vars),
        output=an.l2_write_output,
    )
    # Quirk 9: MAESTRO's L1 writes of inputs copy the L2 read counter.
    l1_reads = TensorCounts(input=macs, filter=macs, output=l1_out)
    l1_writes = TensorCounts(input=l2_reads.input, filter=l2_reads.filter, output=l1_out)
    e = hw.energy
    energy_l1 = TensorCounts.energy(l1_reads, l1_writes, e.l1_read, e.l1_write)
    energy_l2 = TensorCounts.energy(l2_reads, l2_writes, e.l2_read, e.l2_write)
    energy_mac = macs.astype(np.float64) * e.mac
    zero = np.zeros(B, dtype=np.int64)
    l2_size = sum(an.l2_buffers.values(), zero)
    l1_size = sum(an.l1_buffers.values(), zero)
    runtime = tm.runtime_cycles

    # No schedule beats MACs / (the most PEs that ever work at once x vector width).
    ideal = -(-layer.macs // (an.busy_pes * hw.vector_width))
    impossible = runtime < ideal
    problems = (
        (
            an.too_few_pes,
            f"the clusters need more PEs than the {hw.num_pes} available (MAESTRO crashes)",
        ),
        (tm.divide_by_zero, "a top-level step has zero compute delay (MAESTRO divides by zero)"),
        (an.macs != layer.macs, f"MAESTRO's MAC count differs from the layer's {layer.macs}"),
        (
            impossible,
            "runtime is below the ideal {ideal} cycles (MACs / {busy} PEs that can "
            "work at once / vector width): physically impossible",
        ),
    )
    code = np.zeros(B, dtype=np.int64)
    for bit, (mask, _) in enumerate(problems):
        code |= mask.astype(np.int64) << bit
    present = np.flatnonzero(np.bincount(code, minlength=1))
    texts = np.empty(1 << len(problems), dtype=object)
    for k in present.tolist():
        texts[k] = "; ".join(msg for bit, (_, msg) in enumerate(problems) if k >> bit & 1)
    reason = (texts[present[0]],) * B if len(present) == 1 else tuple(texts[code].tolist())
    if impossible.any():
        reason = tuple(
            r.format(ideal=ideal[i], busy=an.busy_pes[i]) if impossible[i] else r
            for i, r in enumerate(reason)
        )
    return Report(
        semantics="maestro",
        macs=macs,
        runtime_cycles=runtime,
        l1_reads=l1_reads,
        l1_writes=l1_writes,
        l2_reads=l2_reads,
        l2_writes=l2_writes,
        l1_size_words=l1_size,
        l2_size_words=l2_size,
        l2_required_words=l2_size,
        peak_noc_bw_words_per_cycle=tm.peak_noc_bw.astype(f),
        avg_noc_bw_words_per_cycle=tm.avg_noc_bw,
        offchip_bw_words_per_cycle=tm.offchip_bw.astype(f),
        avg_utilized_pes=tm.avg_utilized_pes,
        ingress_delay_min=tm.delay_min["ingress"].astype(np.int64),
        ingress_delay_max=tm.delay_max["ingress"].astype(np.int64),
        ingress_delay_avg=tm.delay_avg["ingress"],
        egress_delay_min=tm.delay_min["egress"].astype(np.int64),
        egress_delay_max=tm.delay_max["egress"].astype(np.int64),
        egress_delay_avg=tm.delay_avg["egress"],
        compute_delay_min=tm.delay_min["compute"].astype(np.int64),
        compute_delay_max=tm.delay_max["compute"].astype(np.int64),
        compute_delay_avg=tm.delay_avg["compute"],
        energy_l1=energy_l1,
        energy_l2=energy_l2,
        energy_mac=energy_mac,
        energy_total=energy_l1.total() + energy_l2.total() + energy_mac,
        energy_unit=e.unit,
        area_um2=area_power.area_um2(
            hw.num_pes, hw.vector_width, hw.noc_bw_words_per_cycle, l1_size, l2_size
        ),
        power_mw=area_power.power_mw(
            hw.num_pes, hw.vector_width, hw.noc_bw_words_per_cycle, l1_size, l2_size
        ),
        feasible=code == 0,
        reason=reason,
    )
