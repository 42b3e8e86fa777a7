"""From lower bounds of counts to bounds of every objective, and the compulsory counts.

Everything here follows the exact semantics (``docs/semantics.md`` rules 10-15); the counts
are lower bounds over a set of mappings (arrays: one entry per set), so each objective's
bound holds for every mapping of the set:

* energy is a sum of counts times nonnegative energies (rule 14), so bounded counts bound it;
* runtime (rule 12) is at least the first step's ingress delay, plus every step's compute
  delay, plus the drain; at least the first step plus the later steps' cycles (bounded per
  step class by the largest of the class's summed delays) plus the drain; at least the sum of every step's ingress delay plus the drain (each
  step costs at least its ingress delay, and a delay of ``n > 0`` words is at least
  ``ceil(n / bw)`` when the NoC latency is >= 1); likewise for egress; and at least the
  off-chip words over the off-chip bandwidth. Delays grow with words, so bounded words
  give bounded delays;
* EDP is at least the product of the two bounds; throughput at most MACs over the runtime
  bound; area and power grow with the L1 and L2 sizes (``costmodel.area_power``).

:func:`compulsory` gives counts every legal mapping reaches whatever its tiles and order:
each used input and filter element is fetched once, each output written once, and the MACs
are spread over at most ``busy_pes`` PEs.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from mapsearch.bounds import _kernel
from mapsearch.costmodel import area_power
from mapsearch.hardware import Hardware
from mapsearch.layers import Layer
from mapsearch.objectives import Objective

FloatArray = npt.NDArray[np.float64]

#: Objectives whose bound is only the trivial 0 (``peak NoC bandwidth`` needs every step).
WEAK_OBJECTIVES: tuple[str, ...] = ("noc_bw",)


@dataclass(frozen=True, slots=True, kw_only=True)
class CountBounds:
    """Lower bounds of the counts of each of ``B`` sets of mappings (arrays of shape ``(B,)``).

    ``compute_macs``: the sum over steps of the largest MACs of a PE (rule 12's compute
    delay times the vector width); ``first_ingress_words``: words fetched at the first step
    and ``first_compute_macs`` its largest MACs of a PE; ``later_step_cycles``: the cycles
    of the steps after the first (each the largest of its delays); ``egress_words``: outputs
    written back before the drain; ``drain_words``: at the drain.
    """

    l1_writes_input: FloatArray
    l1_writes_filter: FloatArray
    l2_reads_input: FloatArray
    l2_reads_filter: FloatArray
    l2_reads_output: FloatArray
    l2_writes_input: FloatArray
    l2_writes_filter: FloatArray
    l2_writes_output: FloatArray
    compute_macs: FloatArray
    first_ingress_words: FloatArray
    first_compute_macs: FloatArray
    later_step_cycles: FloatArray
    egress_words: FloatArray
    drain_words: FloatArray
    offchip_words: FloatArray
    l1_words: FloatArray

    @classmethod
    def of_rows(cls, rows: FloatArray) -> CountBounds:
        """The counts of ``rows`` ``(16, B)``, a row per field in order (:data:`FIELDS`)."""
        return cls(**dict(zip(FIELDS, rows, strict=True)))

    def at_least(self, other: CountBounds) -> CountBounds:
        """The larger of two bounds of the same sets, count by count."""
        return CountBounds(
            **{
                f: np.maximum(getattr(self, f), getattr(other, f))
                for f in CountBounds.__dataclass_fields__
            }
        )


#: Objectives whose bound is that of the energy or of the runtime (:func:`objective_bounds`),
#: by their code in ``_kernel.costs``.
COST_CODES = {
    "latency": _kernel.LATENCY,
    "energy": _kernel.ENERGY,
    "edp": _kernel.EDP,
    "throughput": _kernel.THROUGHPUT,
}
#: :class:`CountBounds`' fields, in order.
FIELDS = tuple(CountBounds.__dataclass_fields__)
#: The rows of the L1 and the off-chip words in counts given as rows (:data:`FIELDS` order).
L1_ROW, OFFCHIP_ROW = FIELDS.index("l1_words"), FIELDS.index("offchip_words")


def ceil_down(x: FloatArray | float) -> FloatArray:
    """``ceil`` of a bound computed in floating point, never above the exact ceiling: the
    value is first lowered by more than the rounding of the sums and products behind it."""
    v = np.asarray(x, dtype=np.float64)
    return np.ceil(v - 1e-12 * np.abs(v) - 1e-9)


def energy_bound(c: CountBounds, layer: Layer, hardware: Hardware) -> FloatArray:
    """Rule 14 on bounded counts: L1 reads are the MACs for each tensor, output L1 writes too."""
    e, macs = hardware.energy, _macs(layer)
    return (
        e.mac * macs
        + e.l1_read * 3 * macs
        + e.l1_write * (c.l1_writes_input + c.l1_writes_filter + macs)
        + e.l2_read * (c.l2_reads_input + c.l2_reads_filter + c.l2_reads_output)
        + e.l2_write * (c.l2_writes_input + c.l2_writes_filter + c.l2_writes_output)
    )


@functools.cache
def _macs(layer: Layer) -> float:
    """The layer's MACs (a property that counts them on every read)."""
    return float(layer.macs)


def runtime_bound(c: CountBounds, hardware: Hardware) -> FloatArray:
    """Rule 12 on bounded counts (see the module docstring; compiled, one pass per set)."""
    arrays = (
        c.first_ingress_words,
        c.drain_words,
        c.compute_macs,
        c.first_compute_macs,
        c.later_step_cycles,
        c.l2_reads_input + c.l2_reads_filter + c.l2_reads_output,
        c.egress_words,
        c.offchip_words,
    )
    scalars = (
        hardware.noc_latency_cycles,
        hardware.noc_bw_words_per_cycle,
        hardware.vector_width,
        hardware.offchip_bw_words_per_cycle,
    )
    floats = [np.asarray(a, dtype=np.float64) for a in arrays]
    if any(a.shape != floats[0].shape for a in floats):
        floats = list(np.broadcast_arrays(*floats))
    out: FloatArray = _kernel.runtime_floor(*floats, *(float(v) for v in scalars))
    return out


def _energy_runtime(c: CountBounds, layer: Layer, hardware: Hardware) -> tuple[FloatArray, ...]:
    """:func:`energy_bound` and :func:`runtime_bound` (the same floats), in one compiled pass
    when every count is one float per set (the counts of
    :func:`mapsearch.bounds.combine.count_bounds`): on a node's few children the numpy
    operations of the two cost more than the arithmetic."""
    arrays = [np.asarray(getattr(c, f)) for f in FIELDS]
    shape = arrays[0].shape
    if len(shape) != 1 or any(a.shape != shape or a.dtype != _FLOAT for a in arrays):
        return energy_bound(c, layer, hardware), runtime_bound(c, hardware)  # broadcast
    # np.stack's checks cost more than the copy, checked above
    return _row_energy_runtime(np.array(arrays), layer, hardware)


def _row_energy_runtime(
    rows: FloatArray, layer: Layer, hardware: Hardware
) -> tuple[FloatArray, FloatArray]:
    """:func:`_energy_runtime` of counts given as :func:`row_objective_bounds`' rows."""
    out: tuple[FloatArray, FloatArray] = _kernel.energy_runtime(
        rows, *energy_runtime_args(layer, hardware)
    )
    return out


def energy_runtime_args(
    layer: Layer, hardware: Hardware
) -> tuple[float, float, FloatArray, float, float, float, float]:
    """The arguments of ``_kernel.energy_runtime`` after the counts (and of
    ``_kernel.costs`` between the objectives and the L1 limit)."""
    e, macs = hardware.energy, _macs(layer)
    return (
        e.mac * macs + e.l1_read * 3 * macs,
        macs,
        _energies(e.l1_write, e.l2_read, e.l2_write),
        float(hardware.noc_latency_cycles),
        float(hardware.noc_bw_words_per_cycle),
        float(hardware.vector_width),
        float(hardware.offchip_bw_words_per_cycle),
    )


#: The dtype :func:`_energy_runtime` compiles for (compared as a dtype: cheaper than a type).
_FLOAT = np.dtype(np.float64)


@functools.cache
def _energies(l1_write: float, l2_read: float, l2_write: float) -> FloatArray:
    """The energies of an L1 write, an L2 read and an L2 write as one array (read-only)."""
    out = np.asarray([l1_write, l2_read, l2_write], dtype=np.float64)
    out.flags.writeable = False
    return out


def later_enough(
    c: CountBounds, layer: Layer, hardware: Hardware, objective: str, cost: float
) -> FloatArray:
    """Per set, later-step cycles that lift the bound of ``objective``'s cost to ``cost`` or
    more (``inf`` when that is not the latency's or the throughput's bound): the later
    steps' cycles raise the runtime bound one for one (:func:`runtime_bound`)."""
    runtime = np.inf
    if objective == "latency":
        runtime = cost
    elif objective == "throughput" and cost < 0:  # cost -MACs / runtime
        runtime = _macs(layer) / -cost
    arrays = (c.first_ingress_words, c.drain_words, c.first_compute_macs, c.later_step_cycles)
    ingress, drain, first, _ = np.broadcast_arrays(*(np.asarray(a, np.float64) for a in arrays))
    if not np.isfinite(runtime):
        return np.full(ingress.shape, np.inf)
    out: FloatArray = _kernel.later_needed(
        ingress,
        drain,
        first,
        float(runtime),
        float(hardware.noc_latency_cycles),
        float(hardware.noc_bw_words_per_cycle),
        float(hardware.vector_width),
    )
    return out


def objective_bounds(
    c: CountBounds, layer: Layer, hardware: Hardware, objectives: tuple[Objective, ...]
) -> FloatArray:
    """Per set and objective, the bound of the objective's *cost* (value x sign): a lower
    bound of a minimised objective, minus an upper bound of a maximised one. Shape ``(B, n)``."""
    energy = runtime = np.zeros(0)
    if any(o.name in COST_CODES for o in objectives):
        energy, runtime = _energy_runtime(c, layer, hardware)
    return _costs(energy, runtime, c.l1_words, c.offchip_words, layer, hardware, objectives)


def row_objective_bounds(
    rows: FloatArray, layer: Layer, hardware: Hardware, objectives: tuple[Objective, ...]
) -> FloatArray:
    """:func:`objective_bounds` of counts given as one ``(16, B)`` array, a row per field of
    :class:`CountBounds` in order (:func:`mapsearch.bounds.combine.count_bounds`): the
    same floats without a :class:`CountBounds` taken apart again (a node's bounds read only
    its objectives)."""
    energy = runtime = np.zeros(0)
    if any(o.name in COST_CODES for o in objectives):
        energy, runtime = _row_energy_runtime(rows, layer, hardware)
    return _costs(energy, runtime, rows[L1_ROW], rows[OFFCHIP_ROW], layer, hardware, objectives)


def _costs(
    energy: FloatArray,
    runtime: FloatArray,
    l1_words: FloatArray,
    offchip_words: FloatArray,
    layer: Layer,
    hardware: Hardware,
    objectives: tuple[Objective, ...],
) -> FloatArray:
    """:func:`objective_bounds` from the energy and runtime bounds and the L1 and off-chip
    words."""
    hw = (hardware.num_pes, hardware.vector_width, hardware.noc_bw_words_per_cycle)

    def value(name: str) -> FloatArray:
        if name == "latency":
            return runtime
        if name == "energy":
            return energy
        if name == "edp":
            return energy * runtime
        if name == "throughput":
            return -_macs(layer) / np.maximum(runtime, 1.0)
        if name == "area":
            return area_power.area_um2(*hw, l1_words, offchip_words)
        if name == "power":
            return area_power.power_mw(*hw, l1_words, offchip_words)
        if name == "l1":
            return l1_words
        if name == "l2":
            return offchip_words
        if name == "noc_bw":
            return np.zeros_like(l1_words)
        raise KeyError(name)

    out: FloatArray = np.array([value(o.name) for o in objectives], dtype=np.float64).T
    return out


def used_input(layer: Layer) -> int:
    """Input elements some MAC reads: along a window, ``(Y' - 1) * stride + R`` rows when the
    windows overlap or touch, else ``Y' * R`` (rows between windows are never read)."""
    size = 1
    for d in layer.tensors["input"]:
        w = layer.filter_of(d)
        if w is None:
            size *= layer.size(d)
            continue
        out, r, s = layer.out_size(d), layer.size(w), layer.stride_along(d)
        size *= (out - 1) * s + r if r >= s else out * r
    return size


def spread_dims(layer: Layer) -> tuple[str, ...]:
    """The dimensions that head a group of the compute's spread: all but the filter
    dimensions of windows (counted with their window). The least sum over steps of the
    busiest PE's MACs is the product over these groups of :func:`group_spread`
    (``docs/semantics.md`` section 3)."""
    filters = {w for _, w in layer.windows}
    return tuple(d for d in layer.dim_names if d not in filters)


def group_spread(layer: Layer, d: str, units: int, split: bool) -> int:
    """Least sum over steps of the busiest unit's MACs of dimension ``d``'s group spread over
    ``units`` units (the product over the levels that map it spatially; 1 when none does).
    The group covers its ``E`` output positions (with the whole filter
    along a window unless ``split``), at most ``units`` per step and never fewer than one
    per busy unit, so its busiest unit works on at least ``ceil(E / min(units, E))``
    positions over the steps, times the filter size; a split group at least
    ``ceil(E R / units)`` MACs."""
    extent = layer.out_size(d)
    w = layer.filter_of(d)
    r = layer.size(w) if w is not None else 1
    if split:  # at most ``units`` of the group's extent x r MACs per step
        return -(-(extent * r) // max(units, 1))
    return -(-extent // min(max(units, 1), extent)) * r


def compulsory(layer: Layer, busy_pes: int | FloatArray) -> CountBounds:
    """Counts every legal mapping of ``layer`` reaches when at most ``busy_pes`` PEs work at
    once (one entry per value of ``busy_pes``)."""
    busy = np.atleast_1d(np.asarray(busy_pes, dtype=np.float64))
    ones = np.ones_like(busy)
    inp = float(used_input(layer)) * ones
    filt = float(layer.tensor_size("filter")) * ones
    out = float(layer.tensor_size("output")) * ones
    return CountBounds(
        l1_writes_input=inp,
        l1_writes_filter=filt,
        l2_reads_input=inp,
        l2_reads_filter=filt,
        l2_reads_output=0 * ones,
        l2_writes_input=inp,
        l2_writes_filter=filt,
        l2_writes_output=out,
        compute_macs=ceil_down(float(layer.macs) / np.maximum(busy, 1.0)),
        first_ingress_words=2 * ones,
        first_compute_macs=ones,
        later_step_cycles=0 * ones,
        egress_words=0 * ones,
        drain_words=ones,
        offchip_words=inp + filt + out,
        l1_words=6 * ones,
    )


def maestro_floors(
    layer: Layer, hardware: Hardware, objectives: tuple[Objective, ...]
) -> FloatArray:
    """Per objective, a bound of its cost over every *feasible* mapping under the ``maestro``
    semantics, from that model's own rules only: it marks infeasible a runtime below
    ``ceil(MACs / (busy PEs x vector width))`` and charges every MAC its MAC energy and
    one L1 read of input and filter. Objectives with no such rule get the trivial bound
    (0, or ``-inf`` for a maximised one)."""
    macs = float(layer.macs)
    runtime = float(-(-layer.macs // (hardware.num_pes * hardware.vector_width)))
    e = hardware.energy
    energy = macs * (e.mac + 2 * e.l1_read)
    values = {
        "latency": runtime,
        "energy": energy,
        "edp": energy * runtime,
        "throughput": -macs / runtime,
    }
    return np.asarray([values.get(o.name, 0.0) for o in objectives], dtype=np.float64)
