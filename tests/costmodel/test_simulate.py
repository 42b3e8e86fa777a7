"""The step simulator on cases counted by hand (docs/semantics.md section 5 is the first)."""

from __future__ import annotations

import pytest

from mapsearch.costmodel.simulate import simulate, slice_count
from mapsearch.directives import Cluster, Mapping, SpatialMap, TemporalMap
from mapsearch.errors import MappingError
from mapsearch.hardware import Hardware
from mapsearch.layers import Layer

#: bandwidth 1 word/cycle, latency 1: the delay of n words is n cycles.
SLOW = Hardware(num_pes=2, noc_bw_words_per_cycle=1, noc_latency_cycles=1)


def m(*directives: TemporalMap | SpatialMap | Cluster) -> Mapping:
    return Mapping(directives=directives)


def test_slice_count() -> None:
    assert slice_count(3, 1, 5) == 3  # [0,3) [1,4) [2,5)
    assert slice_count(2, 2, 5) == 3  # [0,2) [2,4) [4,5): one edge slice
    assert slice_count(7, 7, 5) == 1


def test_worked_example_psum_readback_and_multicast() -> None:
    """docs/semantics.md section 5: 1x1 conv K2 C2 X3 on 2 PEs, K spatial, C outer, X inner."""
    layer = Layer.conv("w", K=2, C=2, R=1, S=1, Y=1, X=3)
    r = simulate(
        layer, SLOW, m(SpatialMap(1, 1, "K"), TemporalMap(1, 1, "C"), TemporalMap(1, 1, "X"))
    )
    assert r.macs == 12
    assert r.steps == 6
    assert r.ingress_words == (3, 1, 1, 5, 3, 3)
    assert r.egress_words == (0, 2, 2, 2, 2, 2)
    assert r.compute_cycles == (1,) * 6
    assert (r.l2_reads.input, r.l2_reads.filter, r.l2_reads.output) == (6, 4, 6)
    assert (r.l2_writes.input, r.l2_writes.filter, r.l2_writes.output) == (6, 4, 12)
    assert r.psum_reads == 6
    assert r.l2_reads.total() + r.l2_writes.output == sum(r.ingress_words) + sum(r.egress_words) + 2
    assert (r.l1_writes.input, r.l1_writes.filter) == (12, 4)
    assert r.drain_words == 2
    assert r.step_cycles == (4, 2, 2, 5, 3, 3)
    assert r.runtime_cycles == 21
    assert r.l1_size_words == 6
    assert r.l2_size_words == 16


def test_halo_multicast_across_pes() -> None:
    """Three PEs each take 3 columns of a 5-column row (S=3): 9 fetches, 5 distinct L2 reads."""
    layer = Layer.conv("h", K=1, C=1, R=1, S=3, Y=1, X=5)
    hw = Hardware(num_pes=3, noc_bw_words_per_cycle=1, noc_latency_cycles=1)
    r = simulate(layer, hw, m(SpatialMap(3, 1, "X"), TemporalMap(3, 3, "S")))
    assert r.steps == 1
    assert (r.l1_writes.input, r.l2_reads.input) == (9, 5)
    assert (r.l1_writes.filter, r.l2_reads.filter) == (9, 3)
    assert r.drain_words == 3
    # first step: ingress 8 + compute 3; drain 3
    assert r.runtime_cycles == 8 + 3 + 3


def test_stride_window_reuse() -> None:
    """Stride 2, S=3 on 5 columns: windows [0,3) and [2,5) share column 2."""
    layer = Layer.conv("s", K=1, C=1, R=1, S=3, Y=1, X=5, stride=2)
    hw = Hardware(num_pes=1, noc_bw_words_per_cycle=1, noc_latency_cycles=1)
    r = simulate(layer, hw, m(TemporalMap(3, 2, "X"), TemporalMap(3, 3, "S")))
    assert r.macs == layer.macs == 6
    assert r.ingress_words == (3 + 3, 2)
    assert r.egress_words == (0, 1)
    assert r.l2_writes.output == 2
    assert r.l2_reads.output == 0


def test_idle_units_keep_their_tiles() -> None:
    """K=3 on 2 PEs: PE 1 idles in the second fold and refetches nothing it still holds."""
    layer = Layer.conv("f", K=3, C=2, R=1, S=1, Y=1, X=1)
    r = simulate(layer, SLOW, m(TemporalMap(1, 1, "C"), SpatialMap(1, 1, "K")))
    # steps (c, fold): 4; filter tiles are (k, c): every element fetched once
    assert r.steps == 4
    assert r.l2_reads.filter == 6
    assert r.active_pe_steps == 2 + 1 + 2 + 1
    # input (c) multicast once per C step (the fold change keeps it)
    assert r.l2_reads.input == 2


def test_row_stationary_diagonal_is_legal() -> None:
    """A second SpatialMap advances with the first (unit p takes Y row p and R row p)."""
    layer = Layer.conv("rs", K=1, C=1, R=3, S=1, Y=5, X=1)
    hw = Hardware(num_pes=9)
    mapping = m(
        SpatialMap(1, 1, "Y'"),
        TemporalMap(1, 1, "S"),
        Cluster(3),
        SpatialMap(1, 1, "Y"),
        SpatialMap(1, 1, "R"),
    )
    r = simulate(layer, hw, mapping)
    assert r.macs == layer.macs == 9


@pytest.mark.parametrize(
    ("directive", "what"),
    [
        (TemporalMap(2, 1, "K"), "more than once"),
        (TemporalMap(1, 2, "K"), "never computed"),
    ],
)
def test_illegal_mappings_are_named(directive: TemporalMap, what: str) -> None:
    layer = Layer.conv("i", K=4, C=1, R=1, S=1, Y=1, X=1)
    with pytest.raises(MappingError, match=what):
        simulate(layer, Hardware(num_pes=1), m(directive))


def test_too_many_clusters() -> None:
    layer = Layer.conv("i", K=4, C=1, R=1, S=1, Y=1, X=1)
    with pytest.raises(MappingError, match="need 4 PEs"):
        simulate(layer, Hardware(num_pes=2), m(SpatialMap(1, 1, "K"), Cluster(4)))
