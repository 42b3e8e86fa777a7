"""The brute-force step simulator: the definition of the ``exact`` semantics.

It walks every global step and every PE, keeps each PE's L1 contents as sets of tensor
element indices, and counts what moves (every rule and choice is in ``docs/semantics.md``).
It reads the directives itself (rules 1-5) rather than through
:mod:`mapsearch.directives.nest`, so that the kernel's users are checked against an
independent reading. Deliberately simple: sets and loops, for layers of a few thousand
MACs. Tests use it as ground truth for :mod:`mapsearch.costmodel.exact`; search never calls it.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from mapsearch.directives import Cluster, Mapping, SpatialMap, Sz, TemporalMap
from mapsearch.errors import MappingError
from mapsearch.hardware import Hardware
from mapsearch.layers import Layer
from mapsearch.layers.layer import OP_TENSORS, TENSORS, WINDOWS, Op

#: Per-dimension half-open interval ``(lo, hi)``.
Interval = tuple[int, int]


@dataclass(frozen=True, slots=True, kw_only=True)
class Counts:
    """One count per tensor, in words."""

    input: int
    filter: int
    output: int

    def total(self) -> int:
        return self.input + self.filter + self.output


#: One map directive of a level after rule 2: (input dimension, spatial?, size, offset,
#: slice count, index of its loop in the flattened nest: the level's fold loop if spatial).
_Map = tuple[str, bool, int, int, int, int]


@dataclass(frozen=True, slots=True, kw_only=True)
class _Unfolded:
    """A mapping as the simulator reads it: units and directives per level, loop trips."""

    units: tuple[int, ...]
    levels: tuple[tuple[_Map, ...], ...]
    trips: tuple[int, ...]


def slice_count(size: int, offset: int, extent: int) -> int:
    """Number of slices of a ``(size, offset)`` directive over ``extent``: 1 if it fits, else
    ``ceil((extent - size) / offset) + 1`` (``docs/semantics.md`` rule 4)."""
    if size >= extent:
        return 1
    return -(-(extent - size) // offset) + 1


def _unfold(layer: Layer, hardware: Hardware, mapping: Mapping) -> _Unfolded:
    """Rules 1-4, written out independently of :mod:`mapsearch.directives.nest` (the
    simulator is the referee the kernel's users are tested against).

    Raises :class:`MappingError` for what the step model cannot give a meaning to: unknown or
    repeated dimensions in a level, sizes below 1, more than two SpatialMaps in a level,
    fewer PEs than the clusters need.
    """
    problems: list[str] = []
    clusters: list[int] = []
    raw_levels: list[list[TemporalMap | SpatialMap]] = [[]]
    for d in mapping.directives:
        if isinstance(d, Cluster):
            clusters.append(int(d.size) if isinstance(d.size, int) else layer.size(d.size.dim))
            raw_levels.append([])
        else:
            raw_levels[-1].append(d)
    if any(c < 1 for c in clusters):
        problems.append(f"cluster sizes must be >= 1, got {clusters}")
    top = hardware.num_pes // max(math.prod(clusters), 1)
    if top < 1:
        problems.append(
            f"Cluster sizes {clusters} need {math.prod(clusters)} PEs, hardware has "
            f"{hardware.num_pes}; use smaller clusters"
        )
    units = (top, *clusters)
    names = set(layer.dim_names)
    windows = {"Y'": ("Y", "R"), "X'": ("X", "S")}
    levels: list[tuple[_Map, ...]] = []
    trips: list[int] = []
    extent = dict(layer.dims)
    for i, raw in enumerate(raw_levels):
        level: list[_Map] = []
        seen: set[str] = set()
        n_spatial = 0
        fold = -1
        for d in raw:
            dim = d.dim
            try:
                size, offset = _value(d.size, layer), _value(d.offset, layer)
            except KeyError:
                problems.append(f"level {i}: {d} sizes a dimension the layer lacks")
                continue
            if dim in windows and windows[dim][0] in names:
                # rule 2: Y'(M, O) -> Y((M - 1) * stride + M_R, O * stride)
                inp, win = windows[dim]
                stride = layer.stride_along(inp)
                r = next((_value(e.size, layer) for e in raw if e.dim == win), layer.size(win))
                size, offset, dim = (size - 1) * stride + r, offset * stride, inp
            if dim not in names:
                problems.append(f"level {i}: {d} maps unknown dimension {d.dim!r}")
                continue
            if dim in seen:
                problems.append(f"level {i}: {d} maps {dim} a second time in the level")
                continue
            if size < 1 or offset < 1:
                problems.append(f"level {i}: {d} needs size and offset >= 1")
                continue
            seen.add(dim)
            n = slice_count(size, offset, extent[dim])
            spatial = isinstance(d, SpatialMap)
            if not spatial:
                trips.append(n)
                level.append((dim, False, size, offset, n, len(trips) - 1))
                continue
            n_spatial += 1
            if n_spatial > 2:
                problems.append(f"level {i}: {d} is a third SpatialMap in the level")
                continue
            if fold < 0:
                trips.append(-(-n // max(units[i], 1)))
                fold = len(trips) - 1
            level.append((dim, True, size, offset, n, fold))
        levels.append(tuple(level))
        for dim, _, size, _, _, _ in level:
            extent[dim] = min(size, extent[dim])
    if problems:
        raise MappingError(problems, mapping_name=mapping.name)
    return _Unfolded(units=units, levels=tuple(levels), trips=tuple(trips))


def _value(v: int | Sz, layer: Layer) -> int:
    return layer.size(v.dim) if isinstance(v, Sz) else int(v)


def pe_intervals(
    model: _Unfolded, layer: Layer, index: tuple[int, ...], pe: tuple[int, ...]
) -> dict[str, Interval] | None:
    """Each dimension's slice for PE ``pe`` at global step ``index`` (rule 5), or None if empty."""
    start = dict.fromkeys(layer.dim_names, 0)
    ival = {d: (0, s) for d, s in layer.dims}
    for i, level in enumerate(model.levels):
        for dim, spatial, size, offset, slices, loop in level:
            j = index[loop] * model.units[i] + pe[i] if spatial else index[loop]
            if j >= slices:
                return None
            s = start[dim] + j * offset
            lo, hi = max(s, ival[dim][0]), min(s + size, ival[dim][1])
            if lo >= hi:
                return None
            start[dim], ival[dim] = s, (lo, hi)
    return ival


def output_interval(layer: Layer, ival: dict[str, Interval], inp: str, win: str) -> Interval:
    """Output rows ``y'`` with ``y' * stride + r`` inside the Y slice for every ``r`` of the R slice."""
    stride = layer.stride_along(inp)
    (ylo, yhi), (rlo, rhi) = ival[inp], ival[win]
    lo = max(0, -(-(ylo - rlo) // stride))
    hi = min(layer.out_size(inp), (yhi - rhi) // stride + 1)
    return (lo, max(lo, hi))


class _Space:
    """Flat element indices of one tensor (or of the MAC space) from per-dimension intervals."""

    def __init__(self, dims: tuple[str, ...], shape: tuple[int, ...]) -> None:
        self.dims = dims
        self.shape = shape
        self.strides = tuple(math.prod(shape[k + 1 :]) for k in range(len(shape)))

    def flat(self, box: dict[str, Interval]) -> np.ndarray:
        idx = np.zeros((), dtype=np.int64)
        for d, st in zip(self.dims, self.strides, strict=True):
            lo, hi = box[d]
            idx = np.add.outer(idx, np.arange(lo, hi, dtype=np.int64) * st)
        return idx.ravel()

    def elements(self, box: dict[str, Interval]) -> set[int]:
        return set(self.flat(box).tolist())


@dataclass(frozen=True, slots=True, kw_only=True)
class SimResult:
    """Everything the simulator counts for one mapping (words; cycles).

    ``l2_reads.output`` are the partial-sum read-backs; ``l2_writes`` of input and filter are
    the distinct elements ever fetched (each comes from DRAM once); ``*_words`` and
    ``*_cycles`` tuples hold one entry per executed (non-skipped) step.
    """

    macs: int
    l1_reads: Counts
    l1_writes: Counts
    l2_reads: Counts
    l2_writes: Counts
    steps: int
    ingress_words: tuple[int, ...]
    egress_words: tuple[int, ...]
    compute_cycles: tuple[int, ...]
    step_cycles: tuple[int, ...]
    drain_words: int
    drain_cycles: int
    offchip_words: int
    runtime_cycles: int
    l1_size_words: int
    l2_size_words: int
    active_pe_steps: int

    @property
    def psum_reads(self) -> int:
        return self.l2_reads.output


def noc_delay(words: int, hardware: Hardware) -> int:
    """Rule 12: 0 for no words, else ``latency + ceil(words / bandwidth) - 1``."""
    if words == 0:
        return 0
    return hardware.noc_latency_cycles + -(-words // hardware.noc_bw_words_per_cycle) - 1


def _steps(model: _Unfolded) -> Iterator[tuple[int, ...]]:
    return itertools.product(*(range(t) for t in model.trips))


def simulate(layer: Layer, hardware: Hardware, mapping: Mapping) -> SimResult:
    """Run ``mapping`` on ``layer`` and ``hardware`` step by step; the ``exact`` ground truth.

    Raises :class:`MappingError` when the mapping computes a MAC twice or never (with the
    first offending MAC coordinates), or cannot be unfolded at all.
    """
    model = _unfold(layer, hardware, mapping)
    tensors = OP_TENSORS[layer.op]
    windows = WINDOWS if layer.op is not Op.GEMM else ()
    out_of = {inp: inp + "'" for inp, _ in windows}
    sizes = dict(layer.dims) | {"Y'": layer.out_y, "X'": layer.out_x}

    def tensor_dims(t: str) -> tuple[str, ...]:
        dims = tuple(d for d in layer.dim_names if d in tensors[t])
        return tuple(out_of.get(d, d) for d in dims) if t == "output" else dims

    spaces = {t: _Space(tensor_dims(t), tuple(sizes[d] for d in tensor_dims(t))) for t in TENSORS}
    mac_dims = tuple(out_of.get(d, d) for d in layer.dim_names)
    mac_space = _Space(mac_dims, tuple(sizes[d] for d in mac_dims))
    mac_count = np.zeros(math.prod(mac_space.shape), dtype=np.int64)

    pes = list(itertools.product(*(range(u) for u in model.units)))
    held: dict[str, list[set[int]]] = {t: [set() for _ in pes] for t in TENSORS}
    written: set[int] = set()
    fetched_ever: dict[str, set[int]] = {"input": set(), "filter": set()}
    l1_writes = {"input": 0, "filter": 0}
    l2_reads = {"input": 0, "filter": 0, "output": 0}
    l2_write_out = 0
    max_tile = dict.fromkeys(TENSORS, 0)
    ingress: list[int] = []
    egress: list[int] = []
    compute: list[int] = []
    macs_total = 0
    active_pe_steps = 0

    for index in _steps(model):
        boxes: list[tuple[int, dict[str, Interval], int]] = []
        for p, pe in enumerate(pes):
            ival = pe_intervals(model, layer, index, pe)
            if ival is None:
                continue
            box = dict(ival)
            for inp, win in windows:
                box[out_of[inp]] = output_interval(layer, ival, inp, win)
            macs = math.prod(box[d][1] - box[d][0] for d in mac_dims)
            if macs > 0:
                boxes.append((p, box, macs))
        if not boxes:
            continue  # rule 7: steps in which no PE computes are skipped
        union: dict[str, set[int]] = {"input": set(), "filter": set()}
        leaving: set[int] = set()
        entering: set[int] = set()
        for p, box, macs in boxes:
            mac_count[mac_space.flat(box)] += 1
            macs_total += macs
            for t in ("input", "filter"):
                tile = spaces[t].elements(box)
                new = tile - held[t][p]
                l1_writes[t] += len(new)
                union[t] |= new
                held[t][p] = tile
                max_tile[t] = max(max_tile[t], len(tile))
            tile = spaces["output"].elements(box)
            leaving |= held["output"][p] - tile
            entering |= tile - held["output"][p]
            held["output"][p] = tile
            max_tile["output"] = max(max_tile["output"], len(tile))
        written |= leaving
        readback = len(entering & written)
        for t in ("input", "filter"):
            l2_reads[t] += len(union[t])
            fetched_ever[t] |= union[t]
        l2_reads["output"] += readback
        l2_write_out += len(leaving)
        ingress.append(len(union["input"]) + len(union["filter"]) + readback)
        egress.append(len(leaving))
        vw = hardware.vector_width
        compute.append(max(-(-m // vw) for _, _, m in boxes))
        active_pe_steps += len(boxes)

    problems = _mac_problems(mac_count, mac_space)
    if problems:
        raise MappingError(problems, mapping_name=mapping.name)

    drain = set().union(*held["output"])
    l2_write_out += len(drain)
    step_cycles = [
        noc_delay(ingress[0], hardware) + compute[0],
        *(
            max(noc_delay(i, hardware), c, noc_delay(e, hardware))
            for i, c, e in zip(ingress[1:], compute[1:], egress[1:], strict=True)
        ),
    ]
    drain_cycles = noc_delay(len(drain), hardware)
    out_size = layer.tensor_size("output")
    offchip = len(fetched_ever["input"]) + len(fetched_ever["filter"]) + out_size
    runtime = max(
        sum(step_cycles) + drain_cycles, -(-offchip // hardware.offchip_bw_words_per_cycle)
    )
    return SimResult(
        macs=macs_total,
        l1_reads=Counts(input=macs_total, filter=macs_total, output=macs_total),
        l1_writes=Counts(input=l1_writes["input"], filter=l1_writes["filter"], output=macs_total),
        l2_reads=Counts(**l2_reads),
        l2_writes=Counts(
            input=len(fetched_ever["input"]),
            filter=len(fetched_ever["filter"]),
            output=l2_write_out,
        ),
        steps=len(ingress),
        ingress_words=tuple(ingress),
        egress_words=tuple(egress),
        compute_cycles=tuple(compute),
        step_cycles=tuple(step_cycles),
        drain_words=len(drain),
        drain_cycles=drain_cycles,
        offchip_words=offchip,
        runtime_cycles=runtime,
        l1_size_words=2 * sum(max_tile.values()),
        l2_size_words=offchip,
        active_pe_steps=active_pe_steps,
    )


def _mac_problems(mac_count: np.ndarray, space: _Space) -> list[str]:
    """Rule 6: every MAC exactly once; name the first few offenders by coordinates."""
    problems = []
    for what, mask in (
        ("never computed", mac_count == 0),
        ("computed more than once", mac_count > 1),
    ):
        bad = np.flatnonzero(mask)
        if bad.size:
            coords = [
                ", ".join(
                    f"{d}={c}"
                    for d, c in zip(space.dims, np.unravel_index(int(b), space.shape), strict=True)
                )
                for b in bad[:3]
            ]
            problems.append(
                f"{bad.size} MAC(s) {what}, e.g. ({'); ('.join(coords)}); "
                "fix the offsets/sizes so the slices tile every dimension exactly once"
            )
    return problems


__all__ = ["Counts", "SimResult", "noc_delay", "simulate", "slice_count"]
