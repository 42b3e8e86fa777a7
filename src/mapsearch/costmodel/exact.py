"""The ``exact`` semantics: data movement counted exactly under the step model.

Definition: ``docs/semantics.md``, as implemented by the simulator
(:mod:`mapsearch.costmodel.simulate`). This module
computes the same numbers analytically (see :mod:`mapsearch.costmodel._exact_groups` for
the factorisation) and fills a :class:`Report`:

* counts in words: L1 reads = MACs for every tensor (one operand read and one accumulator
  read per MAC), L1 writes = elements fetched per PE (input, filter) and MACs (output);
  L2 reads = distinct elements multicast per step, plus partial-sum read-backs (output);
  L2 writes = elements filled from DRAM (input, filter), written-back partial sums (output);
* runtime = first step (ingress + compute) + every later step
  ``max(ingress, compute, egress)`` + final drain, floored by off-chip traffic / bandwidth;
* L1 requirement = 2 x (the largest tile of each tensor, summed; double-buffered), L2
  requirement = the tensors' used footprint (everything stays resident in L2);
* energy = accesses x the hardware's energy table, MACs x MAC energy.

Mappings outside the factorised class raise :class:`UnsupportedError`; MappingErrors from
unfolding (e.g. more clusters than PEs) mark the mapping infeasible.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from mapsearch.costmodel import area_power
from mapsearch.costmodel._exact_groups import (
    GroupSpec,
    GroupSummary,
    Totals,
    combine,
    group_model,
    summarize,
    template_groups,
    template_loop_groups,
)
from mapsearch.costmodel.batch import MappingBatch, Template
from mapsearch.costmodel.report import Report, TensorCounts
from mapsearch.directives import DirectiveKind
from mapsearch.directives.nest import StepModel, unfold
from mapsearch.errors import MappingError, UnsupportedError
from mapsearch.hardware import Hardware
from mapsearch.layers import Layer

IntArray = npt.NDArray[np.int64]

#: Group summaries already computed, by (layer, template, group, the group's parameters):
#: a pure function's memo, so searches that revisit a group's tiling pay for it once.
_SUMMARIES: dict[tuple[Layer, Template, GroupSpec, bytes], GroupSummary] = {}
_SUMMARIES_MAX = 20_000


def evaluate_batch(layer: Layer, hardware: Hardware, batch: MappingBatch) -> Report:
    """Score every mapping of ``batch`` with the exact semantics (one Report, arrays of (B,)).

    Each dimension group's factors depend only on that group's directives and unit counts,
    so every distinct group configuration of the batch is summarised once; the groups are
    then combined for all mappings at once with numpy.
    """
    B = len(batch)
    t = batch.template
    ccols = [j for j, k in enumerate(t.kinds) if k is DirectiveKind.CLUSTER]
    mcols = [j for j, k in enumerate(t.kinds) if k is not DirectiveKind.CLUSTER]
    clusters = batch.sizes[:, ccols]
    top = hardware.num_pes // np.maximum(np.prod(clusters, axis=1), 1)
    units = np.concatenate([top[:, None], clusters], axis=1)
    reasons = [""] * B
    valid = (top >= 1) & (clusters >= 1).all(axis=1)
    valid &= (batch.sizes[:, mcols] >= 1).all(axis=1) & (batch.offsets[:, mcols] >= 1).all(axis=1)
    for i in np.flatnonzero(~valid):
        reasons[i] = (
            f"Cluster sizes {clusters[i].tolist()} need more than {hardware.num_pes} PEs"
            if top[i] < 1
            else "sizes, offsets and cluster sizes must be >= 1"
        )
    idx = np.flatnonzero(valid)
    if idx.size == 0:
        return _report(layer, hardware, B, idx, None, reasons)
    specs = template_groups(layer, t.kinds, t.dims)
    loop_groups = template_loop_groups(layer, t.kinds, t.dims)
    level_of = np.cumsum([k is DirectiveKind.CLUSTER for k in t.kinds]).tolist()  # per column
    groups: list[tuple[IntArray, list[GroupSummary]]] = []
    refused: dict[int, str] = {}  # position in idx -> why
    try:  # the template's structure, checked once (the rows' sizes are checked above)
        unfold(layer, batch.mapping(int(idx[0])), hardware.num_pes)
    except MappingError as e:  # the template itself cannot be unfolded
        msg = "; ".join(e.problems)
        return _report(layer, hardware, B, idx[:0], None, [msg] * B)
    for spec in specs:
        key = np.concatenate(
            [
                batch.sizes[idx][:, spec.columns],
                batch.offsets[idx][:, spec.columns],
                units[idx][:, spec.levels],
            ],
            axis=1,
        )
        first, inv = _distinct_rows(key)
        summaries = []
        for f in first.tolist():
            ck = (layer, t, spec, key[f].tobytes())
            s = _SUMMARIES.get(ck)
            if s is None:
                s = summarize(_group_model(layer, t, spec, level_of, key[f]), spec, loop_groups)
                if len(_SUMMARIES) >= _SUMMARIES_MAX:
                    _SUMMARIES.clear()
                _SUMMARIES[ck] = s
            summaries.append(s)
        for n, s in enumerate(summaries):
            if s.problem:
                for pos in np.flatnonzero(inv == n).tolist():
                    refused.setdefault(pos, s.problem)
        groups.append((inv, summaries))
    if refused:
        _refuse(batch, idx, refused)
    n_classes = int(groups[0][1][0].sums.shape[0])
    totals = combine(groups, n_classes, hardware)
    bad = np.flatnonzero(totals.steps != totals.exec_steps)
    if bad.size:
        _refuse(
            batch,
            idx,
            {
                int(n): f"step classes cover {totals.steps[n]} of {totals.exec_steps[n]} "
                "executed steps"
                for n in bad
            },
        )
    wrong_macs = totals.macs != layer.macs
    l1_over = totals.l1_size_words > hardware.l1_size_words
    for n in np.flatnonzero(wrong_macs | l1_over).tolist():
        why: list[str] = []
        if wrong_macs[n]:
            why.append(f"computes {totals.macs[n]} MACs, the layer has {layer.macs}")
        if l1_over[n]:
            why.append(
                f"needs {totals.l1_size_words[n]} L1 words per PE, "
                f"hardware has {hardware.l1_size_words}"
            )
        reasons[int(idx[n])] = "; ".join(why)
    return _report(layer, hardware, B, idx, totals, reasons)


def _distinct_rows(key: IntArray) -> tuple[IntArray, IntArray]:
    """The first occurrence of every distinct row of ``key`` and each row's distinct index.

    Rows of non-negative numbers are packed into one int64 each (mixed radix, first column
    most significant) when they fit, which ``np.unique`` sorts much faster than rows.
    """
    if key.shape[1] == 0:
        return np.zeros(1, dtype=np.int64), np.zeros(key.shape[0], dtype=np.int64)
    radix = key.max(axis=0) + 1
    if key.min() >= 0 and np.prod(radix.astype(np.float64)) < 2.0**62:
        packed = np.zeros(key.shape[0], dtype=np.int64)
        for col, r in zip(key.T, radix.tolist(), strict=True):
            packed = packed * r + col
        _, first, inv = np.unique(packed, return_index=True, return_inverse=True)
    else:
        _, first, inv = np.unique(key, axis=0, return_index=True, return_inverse=True)
    return first, inv.ravel().astype(np.int64)


def _group_model(
    layer: Layer, t: Template, spec: GroupSpec, level_of: list[int], key: IntArray
) -> StepModel:
    """The group's model from its key row (sizes, offsets of ``spec.columns``, then units of
    ``spec.levels``); other levels get one unit, which the group's core does not read."""
    n = len(spec.columns)
    values = key.tolist()
    units = [1] * (1 + sum(k is DirectiveKind.CLUSTER for k in t.kinds))
    for lv, u in zip(spec.levels, values[2 * n :], strict=True):
        units[lv] = u
    levels: list[list[tuple[DirectiveKind, str, int, int]]] = [[] for _ in units]
    for j, size, offset in zip(spec.columns, values[:n], values[n : 2 * n], strict=True):
        levels[level_of[j]].append((t.kinds[j], t.dims[j], size, offset))
    return group_model(layer, tuple(units), levels)


def _refuse(batch: MappingBatch, idx: IntArray, refused: dict[int, str]) -> None:
    """Raise UnsupportedError naming every refused mapping; ``rows`` holds their batch
    positions so a caller can score the others with ``batch.take``."""
    rows = sorted(int(idx[n]) for n in refused)
    n0 = min(refused)
    raise UnsupportedError(
        f"{len(rows)} of {len(batch)} mapping(s) are outside the exact model's class "
        f"(docs/semantics.md section 3), e.g. mapping {int(idx[n0])} "
        f"[{batch.mapping(int(idx[n0]))}]: {refused[n0]}",
        rows=rows,
    )


def _report(
    layer: Layer,
    hw: Hardware,
    B: int,
    idx: IntArray,
    tot: Totals | None,
    reasons: list[str],
) -> Report:
    """Scatter the combined totals of the valid mappings ``idx`` into a Report of ``B`` rows."""

    def arr(values: IntArray | npt.NDArray[np.float64] | None) -> npt.NDArray[Any]:
        out = np.zeros(B)
        if values is not None:
            out[idx] = values
        return out

    def get(name: str, k: int | None = None) -> npt.NDArray[Any]:
        if tot is None:
            return np.zeros(B)
        v = getattr(tot, name)
        return arr(v if k is None else v[k])

    macs = get("macs")
    runtime = get("runtime_cycles")
    steps = np.maximum(get("steps"), 1.0)
    l1_reads = TensorCounts(input=macs, filter=macs, output=macs)
    l1_writes = TensorCounts(
        input=get("l1_writes_input"), filter=get("l1_writes_filter"), output=macs
    )
    l2_reads = TensorCounts(
        input=get("l2_reads", 0), filter=get("l2_reads", 1), output=get("l2_reads", 2)
    )
    l2_writes = TensorCounts(
        input=get("l2_writes", 0), filter=get("l2_writes", 1), output=get("l2_writes", 2)
    )
    e = hw.energy
    energy_l1 = TensorCounts.energy(l1_reads, l1_writes, e.l1_read, e.l1_write)
    energy_l2 = TensorCounts.energy(l2_reads, l2_writes, e.l2_read, e.l2_write)
    energy_mac = macs * e.mac
    l1_size = get("l1_size_words")
    l2_size = get("offchip_words")
    safe_rt = np.maximum(runtime, 1.0)
    noc_words = l2_reads.total() + l2_writes.output
    feasible = np.array([not r for r in reasons], dtype=bool)
    return Report(
        semantics="exact",
        macs=macs,
        runtime_cycles=runtime,
        l1_reads=l1_reads,
        l1_writes=l1_writes,
        l2_reads=l2_reads,
        l2_writes=l2_writes,
        l1_size_words=l1_size,
        l2_size_words=l2_size,
        l2_required_words=np.zeros(B, dtype=np.int64),
        peak_noc_bw_words_per_cycle=get("peak_noc_bw"),
        avg_noc_bw_words_per_cycle=noc_words / safe_rt,
        offchip_bw_words_per_cycle=get("offchip_words") / safe_rt,
        avg_utilized_pes=get("active_pe_steps") / steps,
        ingress_delay_min=get("delay_min", 0),
        ingress_delay_max=get("delay_max", 0),
        ingress_delay_avg=get("delay_sum", 0) / steps,
        egress_delay_min=get("delay_min", 1),
        egress_delay_max=get("delay_max", 1),
        egress_delay_avg=get("delay_sum", 1) / steps,
        compute_delay_min=get("delay_min", 2),
        compute_delay_max=get("delay_max", 2),
        compute_delay_avg=get("delay_sum", 2) / steps,
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
        feasible=feasible,
        reason=tuple(reasons),
    )
