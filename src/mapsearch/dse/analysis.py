"""Cost-model analysis of every core of a design space, once per (layer, core).

A core is (PE count, vector width, NoC bandwidth) plus the space's fixed NoC latency and
off-chip bandwidth. Neither cost-model semantics lets L1/L2 capacity change runtime or
energy (capacities are only compared with what the mapping requires), so this table is all
a sweep needs from the cost model; the L1 x L2 axes are broadcast later
(:mod:`mapsearch.dse.sweep`). Layers of identical shape are analysed once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import joblib
import numpy as np
import numpy.typing as npt

from mapsearch.costmodel import DEFAULT_SEMANTICS, MappingBatch, Report, Semantics, cost_model
from mapsearch.directives import Mapping
from mapsearch.dse.mappings import MappingProvider
from mapsearch.dse.space import DesignSpace
from mapsearch.errors import MapsearchError
from mapsearch.hardware import Hardware
from mapsearch.layers import Layer

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

_METRICS = ("runtime_cycles", "energy", "macs", "l1_req_words", "l2_req_words")


@dataclass(frozen=True, slots=True, kw_only=True)
class CoreTotals:
    """Whole-model numbers per core, shape (n_cores,): what a sweep chunk needs.

    Runtime, energy and MACs are sums over layers (layers run one after another); the
    L1 (per PE) and L2 requirements are maxima over layers; ``feasible`` says every layer's
    mapping is legal on the core and the cost model accepts it.
    """

    runtime_cycles: FloatArray
    energy: FloatArray
    macs: FloatArray
    l1_req_words: FloatArray
    l2_req_words: FloatArray
    feasible: BoolArray


@dataclass(frozen=True, slots=True, kw_only=True)
class CoreTable:
    """Per-layer cost-model results for every core: arrays of shape (n_cores, n_layers).

    ``reason[c * n_layers + l]`` says why layer ``l`` is infeasible on core ``c``
    ("" when feasible) and ``mapping[c * n_layers + l]`` is the mapping used there
    (None when the provider gave none). Energy is in ``energy_unit`` (the space's energy table).
    """

    layers: tuple[Layer, ...]
    mapping_names: tuple[str, ...]
    mapping: tuple[Mapping | None, ...]
    semantics: Semantics
    energy_unit: str
    runtime_cycles: FloatArray
    energy: FloatArray
    macs: FloatArray
    l1_req_words: FloatArray
    l2_req_words: FloatArray
    feasible: BoolArray
    reason: tuple[str, ...]

    def __post_init__(self) -> None:
        shape = self.runtime_cycles.shape
        if len(shape) != 2 or shape[1] != len(self.layers):
            raise ValueError(f"per-layer arrays must have shape (n_cores, {len(self.layers)})")
        if len(self.reason) != shape[0] * shape[1] or len(self.mapping) != len(self.reason):
            raise ValueError("reason and mapping must hold one entry per (core, layer)")

    @property
    def n_cores(self) -> int:
        return int(self.runtime_cycles.shape[0])

    def totals(self) -> CoreTotals:
        return CoreTotals(
            runtime_cycles=self.runtime_cycles.sum(axis=1),
            energy=self.energy.sum(axis=1),
            macs=self.macs.sum(axis=1),
            l1_req_words=self.l1_req_words.max(axis=1),
            l2_req_words=self.l2_req_words.max(axis=1),
            feasible=np.asarray(self.feasible.all(axis=1), dtype=bool),
        )

    def reasons_of(self, core: int) -> list[str]:
        """The infeasibility reasons of a core, prefixed with the layer name."""
        n = len(self.layers)
        return [
            f"{layer.name}: {self.reason[core * n + i]}"
            for i, layer in enumerate(self.layers)
            if self.reason[core * n + i]
        ]


def _layer_key(layer: Layer) -> tuple[object, ...]:
    return (layer.op, layer.dims, layer.stride_y, layer.stride_x)


def _mapping_problem(mapping: Mapping, layer: Layer, hardware: Hardware) -> str:
    """ "" when ``mapping`` is legal for ``layer`` on ``hardware``, else the problems."""
    from mapsearch.directives.validate import mapping_problems

    problems = mapping_problems(mapping, layer, hardware)
    return "; ".join(problems)


def _record(
    out: dict[str, FloatArray], feasible: BoolArray, s: int, j: int, r: Report, runtime: float
) -> str:
    """Store a one-mapping report (with ``runtime``) at core ``s``, layer ``j``; its reason."""
    out["runtime_cycles"][s, j] = runtime
    out["energy"][s, j] = r.energy_total[0]
    out["macs"][s, j] = r.macs[0]
    out["l1_req_words"][s, j] = r.l1_size_words[0]
    out["l2_req_words"][s, j] = r.l2_required_words[0]
    feasible[s, j] = bool(r.feasible[0])
    return r.reason[0] or ("" if r.feasible[0] else "infeasible")


def _analyse_pes(
    pes: int,
    space: DesignSpace,
    layers: Sequence[Layer],
    provider: MappingProvider,
    semantics: Semantics,
) -> tuple[dict[str, FloatArray], BoolArray, list[str], list[Mapping | None]]:
    """All (vector width, NoC bw) cores of one PE count: arrays (n_vw * n_bw, n_layers),
    reasons and mappings per (core, layer).

    The provider picks each layer's mapping once, for the first vector width, the middle
    NoC bandwidth and the largest L1 and L2 of the sweep. Per (layer, vector width) the
    mapping is scored in full at the fastest NoC and the other bandwidths only re-time it
    (one ``evaluate_sweep`` call of the model): of what a sweep reads only runtime depends on the
    bandwidth, and the one bandwidth-dependent feasibility rule (maestro: runtime below
    MACs / PEs / vector width) cannot newly fail at a runtime no smaller than the fastest
    one's; a bandwidth where the runtime is smaller is scored in full.
    """
    model = cost_model(semantics)
    bws = space.noc_bw_words_per_cycle
    n_bw, n_l = len(bws), len(layers)
    n_sub = len(space.vector_width) * n_bw
    out = {m: np.zeros((n_sub, n_l)) for m in _METRICS}
    feasible = np.zeros((n_sub, n_l), dtype=bool)
    reason = [""] * (n_sub * n_l)
    chosen: list[Mapping | None] = [None] * (n_sub * n_l)

    def hw(vw: int, bw: int) -> Hardware:
        return Hardware(
            name="dse",
            num_pes=pes,
            vector_width=vw,
            noc_bw_words_per_cycle=bw,
            noc_latency_cycles=space.noc_latency_cycles,
            offchip_bw_words_per_cycle=space.offchip_bw_words_per_cycle,
            word_bytes=space.word_bytes,
            energy=space.energy,
        )

    # the hardware a provider picks mappings for: the largest buffers of the sweep
    tune_hw = replace(
        hw(space.vector_width[0], bws[n_bw // 2]),
        l1_size_words=space.l1_words[-1],
        l2_size_words=space.l2_words[-1],
    )

    def fail(j: int, cores: range, why: str) -> None:
        for s in cores:
            out["runtime_cycles"][s, j] = out["energy"][s, j] = np.inf
            reason[s * n_l + j] = why

    for j, layer in enumerate(layers):
        try:
            mapping = provider(layer, tune_hw, semantics)
            problem = _mapping_problem(mapping, layer, hw(1, bws[-1]))
        except MapsearchError as e:
            fail(j, range(n_sub), str(e))
            continue
        for s in range(n_sub):
            chosen[s * n_l + j] = mapping
        if problem:
            fail(j, range(n_sub), problem)
            continue
        batch = MappingBatch.from_mappings([mapping], layer)
        for v, vw in enumerate(space.vector_width):
            base = v * n_bw
            try:
                fastest, swept = model.evaluate_sweep(layer, hw(vw, bws[-1]), batch, bws)
                runtimes = swept[:, 0]
            except MapsearchError as e:
                fail(j, range(base, base + n_bw), str(e))
                continue
            for b, bw in enumerate(bws):
                s = base + b
                if b == n_bw - 1:
                    r, rt = fastest, float(fastest.runtime_cycles[0])
                elif bool(fastest.feasible[0]) and runtimes[b] >= fastest.runtime_cycles[0]:
                    r, rt = fastest, float(runtimes[b])
                else:
                    try:
                        r = model.evaluate_batch(layer, hw(vw, bw), batch)
                    except MapsearchError as e:
                        fail(j, range(s, s + 1), str(e))
                        continue
                    rt = float(r.runtime_cycles[0])
                reason[s * n_l + j] = _record(out, feasible, s, j, r, rt)
    return out, feasible, reason, chosen


def analyse(
    space: DesignSpace,
    layers: Sequence[Layer],
    provider: MappingProvider,
    *,
    semantics: Semantics = DEFAULT_SEMANTICS,
    jobs: int = 1,
) -> CoreTable:
    """Score ``provider``'s mapping of every layer on every core of ``space``.

    One cost-model analysis per (distinct layer shape, core); PE counts are spread over
    ``jobs`` joblib workers (any backend set with ``joblib.parallel_config``).
    """
    if not layers:
        raise ValueError("a design-space sweep needs at least one layer")
    unique: dict[tuple[object, ...], int] = {}
    for layer in layers:
        unique.setdefault(_layer_key(layer), len(unique))
    reps = [next(x for x in layers if _layer_key(x) == k) for k in unique]
    parts = joblib.Parallel(n_jobs=jobs)(
        joblib.delayed(_analyse_pes)(p, space, reps, provider, semantics) for p in space.pes
    )
    col = np.array([unique[_layer_key(layer)] for layer in layers], dtype=np.int64)
    n_u = len(reps)
    arrays = {m: np.concatenate([p[0][m] for p in parts])[:, col] for m in _METRICS}
    feasible = np.concatenate([p[1] for p in parts])[:, col]
    flat_reason = [r for p in parts for r in p[2]]
    flat_mapping = [m for p in parts for m in p[3]]
    pick = [c * n_u + int(u) for c in range(len(feasible)) for u in col]
    return CoreTable(
        layers=tuple(layers),
        mapping_names=(provider.name,) * len(layers),
        mapping=tuple(flat_mapping[i] for i in pick),
        semantics=semantics,
        energy_unit=space.energy.unit,
        feasible=feasible,
        reason=tuple(flat_reason[i] for i in pick),
        **arrays,
    )
