"""The analytical exact model: batches, refusals, infeasibility, and regressions found by the
property tests (each once a failing example of ``test_exact_equivalence.py``)."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest
from test_exact_equivalence import assert_equal

from mapsearch.costmodel import Report, evaluate_batch
from mapsearch.costmodel.batch import MappingBatch
from mapsearch.costmodel.simulate import SimResult, simulate
from mapsearch.directives import Cluster, Mapping, SpatialMap, Sz, TemporalMap
from mapsearch.directives.dataflows import DATAFLOWS, dataflow
from mapsearch.directives.nest import unfold
from mapsearch.hardware import Hardware
from mapsearch.layers import Layer

LAYER = Layer.conv("c", K=5, C=3, R=3, S=2, Y=6, X=5, stride=1)
HW = Hardware(num_pes=6, noc_bw_words_per_cycle=2, noc_latency_cycles=1, vector_width=2)


def m(*directives: TemporalMap | SpatialMap | Cluster) -> Mapping:
    return Mapping(directives=directives)


def kcp(k: int, c: int, y_out: int, cluster: int) -> Mapping:
    """A KC-P-like two-level mapping with non-divisible K and C tiles."""
    return m(
        SpatialMap(k, k, "K"),
        TemporalMap(c, c, "C"),
        TemporalMap(y_out + 2, y_out, "Y"),
        TemporalMap(2, 1, "X"),
        Cluster(cluster),
        SpatialMap(1, 1, "C"),
        TemporalMap(3, 1, "Y"),
        TemporalMap(2, 1, "X"),
    )


def test_batch_equals_each_mapping_alone_and_the_simulator() -> None:
    mappings = [kcp(2, 2, 2, 2), kcp(1, 3, 1, 3), kcp(3, 2, 3, 2), kcp(2, 2, 2, 2)]
    batch = evaluate_batch(LAYER, HW, MappingBatch.from_mappings(mappings, LAYER))
    for i, mapping in enumerate(mappings):
        one = evaluate_batch(LAYER, HW, MappingBatch.from_mappings([mapping], LAYER))
        assert batch.record(i) == one.record(0)
        sim = simulate(LAYER, HW, mapping)
        assert batch.runtime_cycles[i] == sim.runtime_cycles
        assert batch.l2_reads.output[i] == sim.l2_reads.output
        assert batch.l2_writes.output[i] == sim.l2_writes.output


def test_more_clusters_than_pes_is_infeasible_not_an_error() -> None:
    mappings = [kcp(2, 2, 2, 2), kcp(2, 2, 2, 7)]
    rep = evaluate_batch(LAYER, HW, MappingBatch.from_mappings(mappings, LAYER))
    assert rep.feasible.tolist() == [True, False]
    assert "need more than 6 PEs" in rep.reason[1]
    assert rep.macs[1] == 0


def test_l1_overflow_is_infeasible() -> None:
    small = Hardware(num_pes=6, l1_size_words=10)
    rep = evaluate_batch(LAYER, small, MappingBatch.from_mappings([kcp(2, 2, 2, 2)], LAYER))
    assert not rep.feasible[0]
    assert "L1 words per PE" in rep.reason[0]


def test_diagonal_across_groups_is_scored() -> None:
    """MICRO'19 Eyeriss: SpatialMap X with SpatialMap R in one level, two groups walked
    together. Each unit pairs one input column with a whole filter row, so no unit computes
    a MAC: infeasible, with the reason, not refused."""
    layer = Layer.conv("CONV3_1", K=256, C=128, R=3, S=3, Y=56, X=56)
    mapping = dataflow("YR-P_rs_vgg", layer)
    rep = evaluate_batch(layer, Hardware(num_pes=256), MappingBatch.from_mappings([mapping], layer))
    assert not rep.feasible[0]
    assert "computes 0 MACs" in rep.reason[0]


def test_window_offset_below_stride_leaves_holes() -> None:
    """Stride 2, X(1,1): odd columns compute nothing; those steps are skipped, not refused."""
    layer = Layer.conv("s", K=1, C=1, R=1, S=1, Y=1, X=5, stride=2)
    hw = Hardware(num_pes=1, noc_bw_words_per_cycle=1, noc_latency_cycles=1)
    mapping = m(TemporalMap(1, 1, "X"))
    sim = simulate(layer, hw, mapping)
    assert sim.steps == 3  # columns 0, 2, 4
    assert assert_equal(layer, hw, mapping) == "accepted"


@pytest.mark.parametrize(
    ("layer", "mapping", "hw"),
    [
        # the window group's dimensions are listed R before Y in the layer: group by name
        (
            Layer.dsconv("d", C=1, R=1, S=1, Y=1, X=2),
            m(),
            Hardware(num_pes=1, noc_bw_words_per_cycle=1, noc_latency_cycles=0),
        ),
        # a diagonal pair at stride 2: offset 1 is fine when Y and R advance together
        (
            Layer.conv("c", K=1, C=1, R=1, S=1, Y=2, X=3, stride=2),
            m(Cluster(1), SpatialMap(1, 1, "Y"), SpatialMap(1, 1, "R")),
            Hardware(num_pes=1, noc_bw_words_per_cycle=1, noc_latency_cycles=0),
        ),
        # Eyeriss (tools) with a partial fold of the diagonal and a spare PE
        (
            Layer.conv("rs", K=2, C=2, R=3, S=2, Y=6, X=4, stride=1),
            m(
                SpatialMap(1, 1, "Y'"),
                TemporalMap(1, 1, "X'"),
                TemporalMap(1, 1, "C"),
                TemporalMap(2, 2, "K"),
                TemporalMap(3, 3, "R"),
                TemporalMap(2, 2, "S"),
                Cluster(2),
                SpatialMap(1, 1, "Y"),
                SpatialMap(1, 1, "R"),
                TemporalMap(2, 2, "S"),
            ),
            Hardware(num_pes=7, noc_bw_words_per_cycle=3, noc_latency_cycles=1),
        ),
        # unit 1 first works in fold 1 (rows between strides compute nothing), under the N
        # loop: its PE holds the tile of fold 1 of the previous N, so N and Y are walked
        # together (counted alone, the filter is fetched once too often)
        (
            Layer.conv("h", N=2, K=1, C=1, R=1, S=1, Y=5, X=1, stride=2),
            m(TemporalMap(1, 1, "N"), Cluster(3), SpatialMap(1, 1, "Y")),
            Hardware(num_pes=3),
        ),
    ],
)
def test_regressions(layer: Layer, mapping: Mapping, hw: Hardware) -> None:
    assert assert_equal(layer, hw, mapping) == "accepted"


def test_report_fields_are_consistent() -> None:
    rep = evaluate_batch(LAYER, HW, MappingBatch.from_mappings([kcp(2, 2, 2, 2)], LAYER))
    assert rep.semantics == "exact"
    e = HW.energy
    want = (
        rep.macs * e.mac
        + (rep.l1_reads.total() + rep.l1_writes.total()) * e.l1_read
        + (rep.l2_reads.total() + rep.l2_writes.total()) * e.l2_read
    )
    np.testing.assert_allclose(rep.energy_total, want)
    assert rep.l2_size_words[0] == sum(LAYER.tensor_size(t) for t in ("input", "filter", "output"))


@pytest.mark.parametrize("name", [n for n in DATAFLOWS if n != "YR-P_rs_vgg"])
@pytest.mark.parametrize(
    "layer",
    [
        Layer.conv("small", K=4, C=3, R=3, S=3, Y=7, X=6),
        Layer.conv("small_s2", K=3, C=2, R=3, S=3, Y=8, X=7, stride=2),
        Layer.dsconv("small_dw", C=5, R=3, S=3, Y=6, X=6),
    ],
    ids=lambda layer: layer.name,
)
def test_classic_dataflows_equal_the_simulator(name: str, layer: Layer) -> None:
    """Every classic dataflow (but MICRO'19 Eyeriss, which computes no MAC: see
    ``test_diagonal_across_groups_is_scored``), on small layers, against the simulator."""
    hw = Hardware(num_pes=128, noc_bw_words_per_cycle=8, noc_latency_cycles=1)
    assert assert_equal(layer, hw, dataflow(name, layer)) == "accepted"


def test_units_resuming_after_idling_are_scored_in_a_batch() -> None:
    """Rows 5 = 1 mod 2: with a window advancing by 1 < stride over 3 units, unit 1 idles in
    fold 0 and works in fold 1, holding nothing before; advancing by the stride, every unit
    works from the start. Both kinds in one batch, each as if alone and as the simulator."""
    layer = Layer.conv("h", K=1, C=1, R=1, S=1, Y=5, X=1, stride=2)
    hw = Hardware(num_pes=3)
    ok = m(Cluster(3), SpatialMap(1, 2, "Y"), TemporalMap(1, 1, "N"))
    holes = m(Cluster(3), SpatialMap(1, 1, "Y"), TemporalMap(1, 1, "N"))
    mappings = [ok, holes, ok, holes]
    rep = evaluate_batch(layer, hw, MappingBatch.from_mappings(mappings, layer))
    for i, mapping in enumerate(mappings):
        one = evaluate_batch(layer, hw, MappingBatch.from_mappings([mapping], layer))
        assert rep.record(i) == one.record(0)
        assert assert_equal(layer, hw, mapping) == "accepted"


ISSUE_9_HW = Hardware(
    num_pes=8, noc_bw_words_per_cycle=4, noc_latency_cycles=1, offchip_bw_words_per_cycle=10**9
)


def issue_9_mapping() -> Mapping:
    """Y tiles of 2 rows under a filter of 3, R split over levels and units."""
    return m(
        TemporalMap(1, 1, "R"),
        TemporalMap(1, 1, "C"),
        SpatialMap(1, 1, "X"),
        TemporalMap(1, 1, "S"),
        Cluster(2),
        TemporalMap(2, 2, "K"),
        TemporalMap(1, 1, "C"),
        TemporalMap(2, 2, "Y"),
        SpatialMap(1, 1, "X"),
        TemporalMap(1, 1, "R"),
        TemporalMap(1, 1, "S"),
        Cluster(2),
        TemporalMap(2, 2, "K"),
        SpatialMap(1, 1, "R"),
        TemporalMap(1, 1, "C"),
        TemporalMap(1, 1, "Y"),
        TemporalMap(1, 1, "S"),
        TemporalMap(1, 1, "X"),
    )


def test_issue_9_window_tile_smaller_than_the_filter() -> None:
    """Issue 9: an output passes from one unit to another unwritten, so it is not read back
    (simulate said 18 partial-sum reads, exact 20)."""
    layer = Layer.conv("i9", N=1, K=2, C=1, R=3, S=2, Y=3, X=3, stride=1)
    assert assert_equal(layer, ISSUE_9_HW, issue_9_mapping()) == "accepted"


COUNTS = ("l1_reads", "l1_writes", "l2_reads", "l2_writes")


def counts(result: Report | SimResult, row: int = 0) -> list[int]:
    """MACs, runtime and every per-tensor count of a simulation, or of row ``row`` of a report."""
    pick = (lambda v: int(v)) if isinstance(result, SimResult) else (lambda v: int(v[row]))
    tensors = [getattr(result, f) for f in COUNTS]
    return [pick(result.macs), pick(result.runtime_cycles)] + [
        pick(getattr(c, t)) for c in tensors for t in ("input", "filter", "output")
    ]


def extrapolated(sims: list[SimResult], steps: int) -> list[int]:
    """The simulator's counts ``steps`` periods after ``sims[0]``, along the line through
    ``sims[0]`` and ``sims[1]`` (one period apart); ``sims[2]`` must be on it too."""
    a, b, c = (counts(s) for s in sims)
    assert [y - x for x, y in zip(a, b, strict=True)] == [z - y for y, z in zip(b, c, strict=True)]
    return [x + steps * (y - x) for x, y in zip(a, b, strict=True)]


def test_whole_nest_walks_are_shrunk_exactly() -> None:
    """Issue 9's mapping walks every group together. Its counts grow by the same amount per
    two output columns; at 10^9 columns the exact model (which could not finish a walk of
    every fold) gives the simulator's counts at 20, 22 and 24 columns, extrapolated."""

    def layer(x: int) -> Layer:
        return Layer.conv(f"i9_x{x}", N=1, K=2, C=1, R=3, S=2, Y=3, X=x, stride=1)

    mapping = issue_9_mapping()
    assert assert_equal(layer(20), ISSUE_9_HW, mapping) == "accepted"
    sims = [simulate(layer(x), ISSUE_9_HW, mapping) for x in (20, 22, 24)]
    huge = layer(20 + 2 * 10**9)
    rep = evaluate_batch(huge, ISSUE_9_HW, MappingBatch.from_mappings([mapping], huge))
    assert counts(rep) == extrapolated(sims, 10**9)


@pytest.mark.parametrize(
    ("dims", "mapping"),
    [
        ({"N": 10**9}, m(TemporalMap(Sz("N"), Sz("N"), "N"), SpatialMap(1, 1, "K"))),
        ({"N": 10**9}, m(SpatialMap(1, 1, "K"), TemporalMap(1, 1, "C"))),
        ({"X": 10**9}, m(SpatialMap(1, 1, "K"), TemporalMap(2, 2, "Y'"))),
    ],
    ids=["N-whole", "N-unmapped", "X-unmapped"],
)
def test_huge_dimensions_cost_intervals_not_elements(
    dims: dict[str, int], mapping: Mapping
) -> None:
    """Issue 11: a dimension the mapping never splits is one interval, whatever its size:
    small memory, and every count grows by the same amount per element of that dimension,
    which the simulator gives at sizes 1 and 2 (X: S and S + 1, one output column more)."""
    base = {"N": 1, "K": 2, "C": 2, "R": 3, "S": 2, "Y": 6, "X": 4}
    big = Layer.conv("big", **(base | dims))
    ((dim, n),) = dims.items()
    hw = Hardware(num_pes=4, noc_bw_words_per_cycle=4, noc_latency_cycles=1)
    tracemalloc.start()
    rep = evaluate_batch(big, hw, MappingBatch.from_mappings([mapping], big))
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 20 * 2**20
    # X grows the output by (X - S + 1), the input by X: compare per unit of that growth
    unit = Layer.conv("unit", **(base | {dim: 1 if dim == "N" else base["S"]}))
    two = Layer.conv("two", **(base | {dim: 2 if dim == "N" else base["S"] + 1}))
    sims = [
        simulate(layer, hw, mapping.resolve(big) if dim == "N" else mapping)
        for layer in (unit, two)
    ]
    grow = n - 1 if dim == "N" else n - base["S"]
    for field in ("l2_reads", "l2_writes", "l1_writes"):
        for t in ("input", "filter", "output"):
            a, b = (getattr(getattr(s, field), t) for s in sims)
            assert getattr(getattr(rep, field), t)[0] == a + grow * (b - a), (field, t)
    assert rep.macs[0] == big.macs


@pytest.mark.parametrize(
    ("name", "period"),
    [
        ("X-P_xp_ws", 1),
        ("KC-P_kcp_ws", 1),
        ("CK-P_ckp_ws", 1),
        ("C-P_nlr", 1),
        # 21 clusters of 3 PEs: the rows of Y' folds repeat every 21 rows
        ("YR-P_rs_tools", 21),
    ],
)
def test_long_outer_loops_are_shrunk_exactly(name: str, period: int) -> None:
    """A loop of 10^9 trips costs what a short one does and stays exact: the counts at 15
    rows are the simulator's, and at ~10^9 rows they are the simulator's at three rows one
    ``period`` apart, extrapolated."""

    def layer(y: int) -> Layer:
        return Layer.conv(f"long_{name}_y{y}", K=2, C=2, R=3, S=2, Y=y, X=11, stride=1)

    hw = Hardware(num_pes=64, noc_bw_words_per_cycle=4, noc_latency_cycles=1)
    short = layer(15)
    assert max(lp.trips for lp in unfold(short, dataflow(name, short), hw.num_pes).loops) > 8
    assert assert_equal(short, hw, dataflow(name, short)) == "accepted"
    start = 25  # past YR-P's first irregular fold
    sims = [
        simulate(layer(y), hw, dataflow(name, layer(y)))
        for y in range(start, start + 3 * period, period)
    ]
    steps = 10**9 // period
    huge = layer(start + steps * period)
    rep = evaluate_batch(huge, hw, MappingBatch.from_mappings([dataflow(name, huge)], huge))
    assert counts(rep) == extrapolated(sims, steps)
