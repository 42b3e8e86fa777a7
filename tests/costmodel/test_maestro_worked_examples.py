"""docs/maestro_model.md section 11: VGG16 CONV3_1 with X-P and KC-P, intermediate numbers included.

The expected numbers are the hand derivations of that section (per-case volumes, step times,
totals), not outputs of this code.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from mapsearch.costmodel import maestro
from mapsearch.costmodel.batch import MappingBatch
from mapsearch.directives import Mapping
from mapsearch.hardware import Hardware
from mapsearch.layers import Layer

CONV3_1 = Layer.conv("CONV3_1", K=256, C=128, R=3, S=3, Y=56, X=56, model="VGG16")
# hw_pe256_bw64_offchip1e6: 256 PEs, NoC 64 words/cycle, latency 1, off-chip 1e6.
HW = Hardware(
    num_pes=256, noc_bw_words_per_cycle=64, noc_latency_cycles=1, offchip_bw_words_per_cycle=10**6
)
# accelerator_1.m: NoC 1000, off-chip 50.
HW_DEFAULT = Hardware(
    num_pes=256, noc_bw_words_per_cycle=1000, noc_latency_cycles=1, offchip_bw_words_per_cycle=50
)


def _report(mapping: Mapping, hw: Hardware = HW) -> object:
    return maestro.evaluate_batch(CONV3_1, hw, MappingBatch.from_mappings([mapping], CONV3_1))


def _instance(mapping: Mapping, table: int = 0) -> maestro.MaestroInstance:
    """Level instance ``table`` of ``mapping`` (0: the top level)."""
    batch = MappingBatch.from_mappings([mapping], CONV3_1)
    return maestro.analyze(CONV3_1, HW.num_pes, batch).instance(0, table)


def _one(a: np.ndarray) -> int:
    return int(a[0])


# --- X-P (one level) -------------------------------------------------------------------------
def test_xp_spatial_edge_units_and_steps(xp: Callable[..., Mapping]) -> None:
    top = _instance(xp())
    assert top.last_fold_units == 54  # 3 + 255 >= 56 columns: 54 active PEs, init-edge
    # T = 256 * 128 * 54 steps (K: 1+255, C: 1+127, Y: 1+53).
    assert sum(c.occurrences for c in top.cases) == 256 * 128 * 54
    rep = _report(xp())
    assert _one(rep.macs) == CONV3_1.macs  # type: ignore[attr-defined]
    assert rep.compute_delay_avg[0] == 9  # type: ignore[attr-defined]


def test_xp_per_case_ingress_volumes(xp: Callable[..., Mapping]) -> None:
    top = _instance(xp())
    all_init = top.case()
    assert all_init.ingress_input == 486  # 54 * (1*3*3)
    assert all_init.ingress_filter == 9
    assert all_init.busiest_unit_macs == 9  # mu = 1*1*3*3
    y = top.case(Y="Steady")
    assert y.ingress_input == 55  # 3 + 52*1 + 0 (partial last unit: u^e = 0)
    assert y.ingress_filter == 0
    c = top.case(C="Steady")  # Y wrapped around: reset
    assert c.ingress_input == 165  # 9 + 52*3 + 0
    assert c.ingress_filter == 9
    k = top.case(K="Steady")
    assert k.ingress_input == 0  # input not indexed by K
    assert k.ingress_filter == 9
    assert y.egress == 54


def test_xp_totals(xp: Callable[..., Mapping]) -> None:
    rep = _report(xp())
    assert _one(rep.l2_reads.input) == 100_883_686  # type: ignore[attr-defined]
    assert _one(rep.l2_reads.filter) == 294_912  # type: ignore[attr-defined]
    assert _one(rep.l2_writes.output) == 95_551_488  # type: ignore[attr-defined]
    # all-Init step 9 + delta(495) = 9 + 8 = 17, then 9 cycles per step.
    assert _one(rep.runtime_cycles) == 17 + 9 * 1_769_471  # type: ignore[attr-defined]
    assert _one(rep.l2_size_words) == 2 * 486 + 2 * 9 + 2 * 54  # type: ignore[attr-defined]
    assert _one(rep.l1_size_words) == 3 * 2 * 9  # type: ignore[attr-defined]
    assert _one(rep.peak_noc_bw_words_per_cycle) == 495 // 9  # type: ignore[attr-defined]
    assert _one(_report(xp(), HW_DEFAULT).runtime_cycles) == 15_925_249  # type: ignore[attr-defined]


# --- KC-P (two levels) -----------------------------------------------------------------------
def test_kcp_child_dimensions_and_runtime(kcp: Callable[..., Mapping]) -> None:
    top = _instance(kcp())
    assert top.units == 4  # floor(256 / 64) clusters
    kid, partial = top.case().sub_clusters
    assert partial == -1
    child = _instance(kcp(), kid)
    assert child.level == 1
    assert child.dims == {"C": 64, "K": 1, "N": 1, "R": 3, "S": 3, "X": 3, "Y": 3}
    (case,) = child.cases  # one all-Init case
    assert case.busiest_unit_macs == 9
    ingress = case.ingress_input + case.ingress_filter
    assert ingress == 64 * 9 + 64 * 9
    assert maestro.noc_delay_cycles(ingress, 64, 1) == 18  # child runtime 9 + 18 = 27


@pytest.mark.parametrize(
    ("states", "inp", "flt"),
    [
        ({}, 576, 4 * 576),  # all-Init: input single copy, filter per cluster
        ({"X": "Steady"}, 192, 0),  # 64*3*1
        ({"Y": "Steady"}, 576, 0),  # X reset
        ({"C": "Steady"}, 576, 2304),
        ({"K": "Steady"}, 0, 2304),
    ],
)
def test_kcp_top_case_volumes(
    kcp: Callable[..., Mapping], states: dict[str, str], inp: int, flt: int
) -> None:
    c = _instance(kcp()).case(**states)
    assert c.ingress_input == inp
    assert c.ingress_filter == flt


def test_kcp_totals(kcp: Callable[..., Mapping]) -> None:
    rep = _report(kcp())
    assert _one(rep.runtime_cycles) == 72 + 27 * 373_120 + 45 * 64 + 36 * 63  # type: ignore[attr-defined]
    assert _one(rep.l2_reads.input) == 576 * (1 + 64 + 6_784) + 192 * 366_336  # type: ignore[attr-defined]
    assert _one(rep.l2_writes.output) == 4 * 373_248  # type: ignore[attr-defined]
    # accelerator_1.m: every top step floored at floor(floor(5760 / 50) / 2) = 57 cycles.
    assert _one(_report(kcp(), HW_DEFAULT).runtime_cycles) == 57 * 373_248  # type: ignore[attr-defined]
