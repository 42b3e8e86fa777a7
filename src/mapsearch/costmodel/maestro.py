"""The cost model with MAESTRO's semantics, for batches of mixed templates.

Reproduces the numbers of MAESTRO (maestro-project/maestro, commit 4eb08d1,
``AnalyzeClusterLevel_V2``) as described in ``docs/maestro_model.md``, including its known
simplifications (no temporal accumulation of outputs, stride ignored in output counts,
per-step off-chip floor at the top level). Cases MAESTRO gets plainly wrong are scored but
marked infeasible with a reason: a MAC count different from the layer's, a physically
impossible runtime (below ``ceil(MACs / (busy PEs x vector width))``, the busy PEs being the
most that ever work at once, from :attr:`mapsearch.directives.nest.StepModel.busy_pes`), or
a case on which MAESTRO divides by zero.

A batch's rows may differ in loop order, spatial dimensions, directive kinds, cluster sizes
and number of levels. One compiled call completes each row's levels
(:mod:`._maestro_layout`) and enumerates its own iteration cases (:mod:`._maestro_kernel`),
another times them, and numpy assembles the report.

Entry points:

- :func:`evaluate_batch` (layer, hardware, batch) -> :class:`Report`, what
  ``costmodel.evaluate_batch(..., semantics="maestro")`` calls;
- :func:`analyze` + :func:`timing`: the reuse analysis depends on the PE count only; the
  timing (NoC bandwidth and latency, off-chip bandwidth, vector width) is a cheap pass over
  its case tables, so a hardware sweep analyses once and times many designs;
- :func:`runtime_sweep`: runtimes for an array of NoC bandwidths, shape ``(n_bw, B)``.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from mapsearch.costmodel import _maestro_kernel as kernel
from mapsearch.costmodel import area_power
from mapsearch.costmodel._maestro_layout import (
    CLUSTER,
    MAX_CLUSTERS,
    MAX_LEVELS,
    WINDOW_OF,
    layer_consts,
    row_problems,
)
from mapsearch.costmodel.batch import MappingBatch
from mapsearch.costmodel.report import Report, TensorCounts
from mapsearch.errors import MappingError, UnsupportedError
from mapsearch.hardware import Hardware
from mapsearch.layers import Layer

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

#: MAESTRO's NoC delay for ``words``: ``latency + ceil(words / bw) - 1`` (0 words:
#: ``latency - 1``), on ints.
noc_delay_cycles = kernel.noc_delay
#: Mappings scored per chunk by :func:`evaluate_batch` (bounds the case tables' memory).
CHUNK = 16384
STATE_NAMES = ("Init", "Steady", "Edge")


@dataclass(frozen=True, slots=True, kw_only=True)
class MaestroCase:
    """One live iteration case of a level instance (``docs/maestro_model.md`` sections 5-6):
    the state of every directive (by variable), how often it occurs, the words sent per
    step, the busiest unit's MACs and the sub-cluster instances it waits for (-1: none)."""

    states: dict[str, str]
    occurrences: int
    ingress_input: int
    ingress_filter: int
    egress: int
    busiest_unit_macs: int
    sub_clusters: tuple[int, int]


@dataclass(frozen=True, slots=True, kw_only=True)
class MaestroInstance:
    """One analysed level instance of a mapping: its level, dimensions, units, the active
    units of its last spatial fold and its live cases (MAESTRO's order)."""

    level: int
    dims: dict[str, int]
    units: int
    last_fold_units: int
    cases: tuple[MaestroCase, ...]

    def case(self, **states: str) -> MaestroCase:
        """The case whose named variables are in the given states, every other in Init."""
        for c in self.cases:
            if all(c.states[v] == states.get(v, "Init") for v in c.states):
                return c
        raise KeyError(f"no live case with states {states}")


@dataclass(frozen=True, slots=True, kw_only=True)
class MaestroAnalysis:
    """Everything of a batch that does not depend on NoC bandwidth/latency, off-chip
    bandwidth or vector width: the case tables of every analysed level instance
    (``cases``/``tables``, columns of :mod:`._maestro_kernel`; ``row_tables[b]`` = first table
    and count of row ``b``), the top-level counters (``top``), each row's number of levels,
    loop order (``var``, ``(B, MAX_LEVELS, D)``) and units per level. Build it with
    :func:`analyze`; time it with :func:`timing`.
    """

    layer: Layer
    num_pes: int
    size: int
    n_levels: IntArray
    var: IntArray
    units: IntArray
    cases: IntArray
    tables: IntArray
    row_tables: IntArray
    top: IntArray
    l1_words: IntArray
    busy_pes: IntArray
    too_few_pes: BoolArray

    def instance(self, row: int, table: int = 0) -> MaestroInstance:
        """Level instance ``table`` of mapping ``row`` (0: its top level; a case's
        ``sub_clusters`` name the others)."""
        first, count = self.row_tables[row]
        if not 0 <= table < count:
            raise IndexError(f"mapping {row} has {count} level instances, not {table}")
        t = self.tables[first + table]
        lvars = layer_consts(self.layer).vars
        lv = int(t[kernel.T_LEVEL])
        var = self.var[row, lv]
        cases = []
        for c in self.cases[t[kernel.T_START] : t[kernel.T_START] + t[kernel.T_COUNT]]:
            code, states = int(c[kernel.STATES]), {}
            for v in var.tolist():
                states[lvars.names[v]] = STATE_NAMES[code % 3]
                code //= 3
            kids = (int(c[kernel.KID]), int(c[kernel.KID_EE]))
            cases.append(
                MaestroCase(
                    states=states,
                    occurrences=int(c[kernel.OCC]),
                    ingress_input=int(c[kernel.INGRESS_INPUT]),
                    ingress_filter=int(c[kernel.INGRESS_FILTER]),
                    egress=int(c[kernel.EGRESS]),
                    busiest_unit_macs=int(c[kernel.MU]),
                    sub_clusters=tuple(k - first if k >= 0 else -1 for k in kids),  # type: ignore[arg-type]
                )
            )
        return MaestroInstance(
            level=lv,
            dims={
                n: int(t[kernel.N_TABLE_COLS + v])
                for v, n in enumerate(lvars.names[: lvars.n_input_vars])
            },
            units=int(self.units[row, lv]),
            last_fold_units=int(t[kernel.T_PE]),
            cases=tuple(cases),
        )


def analyze(layer: Layer, num_pes: int, batch: MappingBatch) -> MaestroAnalysis:
    """The speed-independent part of the maestro model for ``batch`` on ``num_pes`` PEs.

    Raises :class:`MappingError` (or :class:`UnsupportedError`, for more than three Cluster
    levels) naming the rows MAESTRO cannot read, with their positions in ``rows``.
    """
    try:
        consts = layer_consts(layer)
    except UnsupportedError as e:
        raise UnsupportedError(f"{e} (layer {layer.name!r})") from None
    lvars = consts.vars
    B = len(batch)
    n_clusters = np.count_nonzero(batch.kinds == CLUSTER, axis=1)
    deep = np.flatnonzero(n_clusters > MAX_CLUSTERS)
    if deep.size:
        raise UnsupportedError(
            f"MAESTRO supports at most {MAX_CLUSTERS} Cluster levels; {deep.size} of {B} "
            f"mapping(s) have more, e.g. mapping {deep[0]} has {n_clusters[deep[0]]}",
            rows=deep.tolist(),
        )
    D = lvars.n_input_vars
    # room for the largest level instance (see ``analyze_rows``), or more for big batches
    most_cases = kernel.most_cases(D)
    cases = np.empty((max(4 * most_cases, 8 * B), kernel.N_CASE_COLS), np.int64)
    tables = np.empty(
        (max(4 * most_cases, 2 * B), kernel.N_TABLE_COLS + len(lvars.names)), np.int64
    )
    row_tables = np.empty((B, 2), np.int64)
    top = np.empty((B, kernel.N_TOP_COLS), np.int64)
    info = np.empty((kernel.N_INFO, B), np.int64)
    var = np.zeros((B, MAX_LEVELS, D), np.int64)
    units = np.zeros((B, MAX_LEVELS), np.int64)
    n_cases = n_tables = done = 0
    while True:
        n_cases, n_tables, done = kernel.analyze_rows(
            done,
            n_cases,
            n_tables,
            most_cases,
            batch.kinds,
            batch.dims,
            batch.sizes,
            batch.offsets,
            num_pes,
            consts.codes,
            consts.dims,
            lvars.mask,
            lvars.tensor_vars,
            lvars.tensor_len,
            lvars.alias,
            consts.windows,
            cases,
            tables,
            row_tables,
            top,
            info,
            var,
            units,
        )
        if done == B:
            break
        # row ``done`` could overflow a buffer (possibly one of its own instances): double
        # both and resume from that row
        cases = np.concatenate([cases, np.empty_like(cases)])
        tables = np.concatenate([tables, np.empty_like(tables)])
    bad = np.flatnonzero(info[kernel.R_OK] == 0)
    if bad.size:
        first = int(bad[0])
        where = f"mapping {first} of {B}: " if B > 1 else ""
        raise MappingError(
            [f"{where}{p}" for p in row_problems(layer, batch.kinds[first], batch.dims[first])]
            + ([f"and {bad.size - 1} more mapping(s)"] if bad.size > 1 else []),
            rows=bad.tolist(),
        )
    return MaestroAnalysis(
        layer=layer,
        num_pes=num_pes,
        size=B,
        n_levels=info[kernel.R_LEVELS],
        var=var,
        units=units,
        cases=cases[:n_cases],
        tables=tables[:n_tables],
        row_tables=row_tables,
        top=top,
        l1_words=info[kernel.R_L1_WORDS],
        busy_pes=info[kernel.R_BUSY_PES],
        too_few_pes=info[kernel.R_TOO_FEW_PES] != 0,
    )


@dataclass(frozen=True, slots=True)
class MaestroTiming:
    """Top-level timing results (cycles, words per cycle), arrays over the batch."""

    runtime_cycles: IntArray
    peak_noc_bw: IntArray
    avg_noc_bw: FloatArray
    offchip_bw: IntArray
    avg_utilized_pes: FloatArray
    delay_min: dict[str, IntArray]
    delay_max: dict[str, IntArray]
    delay_avg: dict[str, FloatArray]
    divide_by_zero: BoolArray


def _scratch(analysis: MaestroAnalysis) -> tuple[IntArray, FloatArray]:
    """Per-table runtime and utilisation scratch for the kernel's timing of ``analysis``."""
    most = int(analysis.row_tables[:, 1].max(initial=0)) + 1
    return np.zeros(most, np.int64), np.zeros(most)


def timing(
    analysis: MaestroAnalysis,
    *,
    noc_bw_words_per_cycle: int,
    noc_latency_cycles: int,
    offchip_bw_words_per_cycle: int,
    vector_width: int,
) -> MaestroTiming:
    """Runtime and bandwidth metrics of an analysed batch for one set of hardware speeds."""
    out = np.zeros((analysis.size, kernel.N_TIME_COLS))
    kernel.time_rows(
        analysis.cases,
        analysis.tables,
        analysis.row_tables,
        analysis.top,
        analysis.n_levels,
        noc_bw_words_per_cycle,
        noc_latency_cycles,
        offchip_bw_words_per_cycle,
        vector_width,
        out,
        *_scratch(analysis),
    )
    ints = out.astype(np.int64)
    names = ("ingress", "egress", "compute")
    return MaestroTiming(
        runtime_cycles=ints[:, kernel.RUNTIME],
        peak_noc_bw=ints[:, kernel.PEAK_BW],
        avg_noc_bw=out[:, kernel.AVG_BW],
        offchip_bw=ints[:, kernel.OFFCHIP_BW],
        avg_utilized_pes=out[:, kernel.UTIL],
        delay_min={n: ints[:, kernel.DELAY_MIN + k] for k, n in enumerate(names)},
        delay_max={n: ints[:, kernel.DELAY_MAX + k] for k, n in enumerate(names)},
        delay_avg={n: out[:, kernel.DELAY_AVG + k] for k, n in enumerate(names)},
        divide_by_zero=out[:, kernel.DIVIDE_BY_ZERO] != 0,
    )


def runtime_sweep(
    layer: Layer,
    hardware: Hardware,
    batch: MappingBatch,
    noc_bws_words_per_cycle: npt.ArrayLike,
) -> IntArray:
    """Runtime (cycles) of every mapping for each NoC bandwidth: shape ``(n_bw, B)``.

    The reuse analysis runs once and only the timing is repeated per bandwidth. Other
    hardware values (PEs, latency, off-chip bandwidth, vector width) come from ``hardware``.
    """
    an = analyze(layer, hardware.num_pes, batch)
    bws = np.asarray(noc_bws_words_per_cycle, dtype=np.int64).reshape(-1)
    out = np.zeros((len(bws), len(batch)), np.int64)
    kernel.runtime_rows(
        an.cases,
        an.tables,
        an.row_tables,
        an.top,
        an.n_levels,
        bws,
        hardware.noc_latency_cycles,
        hardware.offchip_bw_words_per_cycle,
        hardware.vector_width,
        out,
        *_scratch(an),
    )
    return out


def evaluate_batch(layer: Layer, hardware: Hardware, batch: MappingBatch) -> Report:
    """Score every mapping of ``batch`` with MAESTRO's semantics (``docs/maestro_model.md``).

    Counts are in words; energy uses ``hardware.energy`` (MAESTRO's screen total with
    18.61 -> L2 read/write energies, 1.68 -> L1, 1 -> MAC); area and power use MAESTRO's
    formulas with the *required* L1/L2 sizes (section 10). Large batches are scored in
    chunks of ``CHUNK`` mappings (bounded memory).
    """
    if len(batch) > CHUNK:
        return Report.concat(
            [
                evaluate_batch(
                    layer, hardware, batch.take(np.arange(a, min(a + CHUNK, len(batch))))
                )
                for a in range(0, len(batch), CHUNK)
            ]
        )
    an = analyze(layer, hardware.num_pes, batch)
    tm = timing(
        an,
        noc_bw_words_per_cycle=hardware.noc_bw_words_per_cycle,
        noc_latency_cycles=hardware.noc_latency_cycles,
        offchip_bw_words_per_cycle=hardware.offchip_bw_words_per_cycle,
        vector_width=hardware.vector_width,
    )
    return _report(an, tm, hardware)


@functools.lru_cache(maxsize=64)
def _staged_words(layer: Layer) -> tuple[int, int, int]:
    """Words of the input and filter tensors (each written to L2 once) and of the output
    (read from L2 once)."""
    (_, in_vars), (_, w_vars), (_, out_vars) = layer_consts(layer).vars.tensors
    return (
        _tensor_words(layer, in_vars),
        _tensor_words(layer, w_vars),
        _tensor_words(layer, out_vars, output=True),
    )


def _tensor_words(layer: Layer, vars_: tuple[str, ...], *, output: bool = False) -> int:
    """Elements of a tensor indexed by ``vars_`` (outputs: ``Y - R + 1`` rows whatever the
    stride, quirk 8)."""
    n = 1
    for v in vars_:
        if output and v in WINDOW_OF and layer.filter_of(v) is not None:
            n *= layer.size(v) - layer.size(WINDOW_OF[v][0]) + 1
        else:
            n *= layer.size(v)
    return n


def _report(an: MaestroAnalysis, tm: MaestroTiming, hw: Hardware) -> Report:
    """Assemble the Report: counters (section 6), buffers (7), energy, area, power (10)."""
    layer, B, top = an.layer, an.size, an.top
    layer_macs = layer.macs
    in_words, w_words, out_words = _staged_words(layer)

    def const(value: int) -> IntArray:
        return np.full(B, value, dtype=np.int64)

    macs = top[:, kernel.MACS]
    l1_out = top[:, kernel.L1_OUTPUT]
    l2_reads = TensorCounts(
        input=top[:, kernel.L2_READ_INPUT],
        filter=top[:, kernel.L2_READ_FILTER],
        output=const(out_words),
    )
    l2_writes = TensorCounts(
        input=const(in_words),
        filter=const(w_words),
        output=top[:, kernel.L2_WRITE_OUTPUT],
    )
    # Quirk 9: MAESTRO's L1 writes of inputs copy the L2 read counter.
    l1_reads = TensorCounts(input=macs, filter=macs, output=l1_out)
    l1_writes = TensorCounts(input=l2_reads.input, filter=l2_reads.filter, output=l1_out)
    e = hw.energy
    runtime = np.ascontiguousarray(tm.runtime_cycles)
    energy = np.empty((kernel.N_ENERGY, B))
    l2_size, ideal, code = np.empty(B, np.int64), np.empty(B, np.int64), np.empty(B, np.int64)
    kernel.report_rows(
        top,
        runtime,
        an.busy_pes,
        an.too_few_pes,
        tm.divide_by_zero,
        layer_macs,
        hw.vector_width,
        in_words,
        w_words,
        out_words,
        e.l1_read,
        e.l1_write,
        e.l2_read,
        e.l2_write,
        e.mac,
        energy,
        l2_size,
        ideal,
        code,
    )
    l1_size = an.l1_words
    # the problems behind the bits of ``code``
    problems = (
        f"the clusters need more PEs than the {hw.num_pes} available (MAESTRO crashes)",
        "a top-level step has zero compute delay (MAESTRO divides by zero)",
        f"MAESTRO's MAC count differs from the layer's {layer_macs}",
        "runtime is below the ideal {ideal} cycles (MACs / {busy} PEs that can "
        "work at once / vector width): physically impossible",
    )
    reason = [""] * B
    texts: dict[int, str] = {}
    for i in np.flatnonzero(code).tolist():
        k = int(code[i])
        if k not in texts:
            texts[k] = "; ".join(m for bit, m in enumerate(problems) if k >> bit & 1)
        reason[i] = texts[k]
        if k & kernel.RUNTIME_BELOW_IDEAL:
            reason[i] = reason[i].format(ideal=ideal[i], busy=an.busy_pes[i])
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
        peak_noc_bw_words_per_cycle=tm.peak_noc_bw.astype(np.float64),
        avg_noc_bw_words_per_cycle=tm.avg_noc_bw,
        offchip_bw_words_per_cycle=tm.offchip_bw.astype(np.float64),
        avg_utilized_pes=tm.avg_utilized_pes,
        ingress_delay_min=tm.delay_min["ingress"],
        ingress_delay_max=tm.delay_max["ingress"],
        ingress_delay_avg=tm.delay_avg["ingress"],
        egress_delay_min=tm.delay_min["egress"],
        egress_delay_max=tm.delay_max["egress"],
        egress_delay_avg=tm.delay_avg["egress"],
        compute_delay_min=tm.delay_min["compute"],
        compute_delay_max=tm.delay_max["compute"],
        compute_delay_avg=tm.delay_avg["compute"],
        energy_l1=TensorCounts(
            input=energy[kernel.E_L1],
            filter=energy[kernel.E_L1 + 1],
            output=energy[kernel.E_L1 + 2],
        ),
        energy_l2=TensorCounts(
            input=energy[kernel.E_L2],
            filter=energy[kernel.E_L2 + 1],
            output=energy[kernel.E_L2 + 2],
        ),
        energy_mac=energy[kernel.E_MAC],
        energy_total=energy[kernel.E_TOTAL],
        energy_unit=e.unit,
        area_um2=area_power.area_um2(
            hw.num_pes, hw.vector_width, hw.noc_bw_words_per_cycle, l1_size, l2_size
        ),
        power_mw=area_power.power_mw(
            hw.num_pes, hw.vector_width, hw.noc_bw_words_per_cycle, l1_size, l2_size
        ),
        feasible=code == 0,
        reason=tuple(reason),
    )
