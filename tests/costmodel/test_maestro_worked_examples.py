"""docs/maestro_model.md section 11: VGG16 CONV3_1 with X-P and KC-P, intermediate numbers included.

The expected numbers are the hand derivations of that section (per-case volumes, step times,
totals), not outputs of this code.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from mapsearch.costmodel import maestro
from mapsearch.costmodel._maestro_cases import (
    INIT,
    STEADY,
    Case,
    child_dims,
    level_sizes,
    level_states,
)
from mapsearch.costmodel._maestro_levels import build_levels, tensor_vars
from mapsearch.costmodel.batch import MappingBatch
from mapsearch.directives import Mapping
from mapsearch.hardware import Hardware
from mapsearch.layers import Layer

MappingFactory = Callable[..., Mapping]  # the xp and kcp fixtures (tests/conftest.py)
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


def _case(mapping: Mapping, states: dict[str, int], level: int = 0, dims=None) -> Case:  # type: ignore[no-untyped-def]
    """One iteration case of ``level`` (variables not named are in their Init state)."""
    tv = tensor_vars(CONV3_1)
    levels, _ = build_levels(CONV3_1, HW.num_pes, MappingBatch.from_mappings([mapping], CONV3_1))
    lv = levels[level]
    inst = dims if dims is not None else {v: lv.dims[v] for v in lv.vars}
    case = tuple(states.get(v, INIT) for v in lv.vars)
    return Case(lv, level_sizes(lv, tv), level_states(lv, inst), tv, case)


def _one(a: np.ndarray) -> int:
    return int(a[0])


# --- X-P (one level) -------------------------------------------------------------------------
def test_xp_spatial_edge_units_and_steps(xp: MappingFactory) -> None:
    c = _case(xp(), {})
    assert _one(c.sz.pe) == 54  # 3 + 255 >= 56 columns: 54 active PEs, init-edge
    assert bool(c.is_edge[c.level.index("X")][0])
    rep = _report(xp())
    assert _one(rep.macs) == CONV3_1.macs  # type: ignore[attr-defined]
    # T = 256 * 128 * 54 steps (K: 1+255, C: 1+127, Y: 1+53).
    assert rep.compute_delay_avg[0] == 9  # type: ignore[attr-defined]


def test_xp_per_case_ingress_volumes(xp: MappingFactory) -> None:
    inp, flt = ("N", "C", "Y", "X"), ("K", "C", "R", "S")
    all_init = _case(xp(), {})
    assert _one(all_init.ingress(inp)) == 486  # 54 * (1*3*3)
    assert _one(all_init.ingress(flt)) == 9
    assert _one(all_init.critical_psums()) == 9  # mu = 1*1*3*3
    y = _case(xp(), {"Y": STEADY})
    assert _one(y.ingress(inp)) == 55  # 3 + 52*1 + 0 (partial last unit: u^e = 0)
    assert _one(y.ingress(flt)) == 0
    c = _case(xp(), {"C": STEADY})  # Y wrapped around: reset
    assert _one(c.ingress(inp)) == 165  # 9 + 52*3 + 0
    assert _one(c.ingress(flt)) == 9
    k = _case(xp(), {"K": STEADY})
    assert _one(k.ingress(inp)) == 0  # input not indexed by K
    assert _one(k.ingress(flt)) == 9
    assert _one(y.egress()) == 54


def test_xp_totals(xp: MappingFactory) -> None:
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
def test_kcp_child_dimensions_and_runtime(kcp: MappingFactory) -> None:
    top = _case(kcp(), {})
    assert _one(top.level.units) == 4  # floor(256 / 64) clusters
    dims = child_dims(top.level, top.sz, np.array([0]), top.child_edge_mask(False))
    assert {v: _one(dims[v]) for v in ("K", "C", "R", "S", "Y", "X")} == {
        "K": 1,
        "C": 64,
        "R": 3,
        "S": 3,
        "Y": 3,
        "X": 3,
    }
    child = _case(kcp(), {}, level=1, dims=dims)
    assert _one(child.critical_psums()) == 9
    ingress = child.ingress(("N", "C", "Y", "X")) + child.ingress(("K", "C", "R", "S"))
    assert _one(ingress) == 64 * 9 + 64 * 9
    assert _one(maestro.noc_delay_cycles(ingress, 64, 1)) == 18  # child runtime 9 + 18 = 27


@pytest.mark.parametrize(
    ("states", "inp", "flt"),
    [
        ({}, 576, 4 * 576),  # all-Init: input single copy, filter per cluster
        ({"X": STEADY}, 192, 0),  # 64*3*1
        ({"Y": STEADY}, 576, 0),  # X reset
        ({"C": STEADY}, 576, 2304),
        ({"K": STEADY}, 0, 2304),
    ],
)
def test_kcp_top_case_volumes(
    states: dict[str, int], inp: int, flt: int, kcp: MappingFactory
) -> None:
    c = _case(kcp(), states)
    assert _one(c.ingress(("N", "C", "Y", "X"))) == inp
    assert _one(c.ingress(("K", "C", "R", "S"))) == flt


def test_kcp_totals(kcp: MappingFactory) -> None:
    rep = _report(kcp())
    assert _one(rep.runtime_cycles) == 72 + 27 * 373_120 + 45 * 64 + 36 * 63  # type: ignore[attr-defined]
    assert _one(rep.l2_reads.input) == 576 * (1 + 64 + 6_784) + 192 * 366_336  # type: ignore[attr-defined]
    assert _one(rep.l2_writes.output) == 4 * 373_248  # type: ignore[attr-defined]
    # accelerator_1.m: every top step floored at floor(floor(5760 / 50) / 2) = 57 cycles.
    assert _one(_report(kcp(), HW_DEFAULT).runtime_cycles) == 57 * 373_248  # type: ignore[attr-defined]
