"""The maestro semantics keeps MAESTRO's numbers but never calls an impossible one feasible."""

from __future__ import annotations

from mapsearch.costmodel import MappingBatch, evaluate_batch
from mapsearch.directives.maestro_file import parse_directives
from mapsearch.hardware import Hardware
from mapsearch.layers import Layer

CONV3_1 = Layer.conv("CONV3_1", K=256, C=128, R=3, S=3, Y=56, X=56, model="VGG16")

#: GAMMA's best CONV3_1 mapping (issue 9): 6 clusters of 26 PEs on 168 PEs.
GAMMA = parse_directives(
    "TemporalMap(3,3) R; TemporalMap(8,8) Y'; TemporalMap(3,3) S; TemporalMap(54,54) X'; "
    "SpatialMap(1,1) K; TemporalMap(76,76) C; Cluster(26,P); TemporalMap(3,3) S; "
    "TemporalMap(4,4) X'; TemporalMap(1,1) K; TemporalMap(3,3) R; SpatialMap(1,1) C; "
    "TemporalMap(7,7) Y';"
)


def test_runtime_below_the_busy_pe_bound_is_infeasible() -> None:
    """At most 6 x 26 = 156 PEs ever work at once, so no schedule beats MACs / 156 cycles;
    MAESTRO's runtime is below that: kept, but infeasible with the reason."""
    hw = Hardware(num_pes=168)
    batch = MappingBatch.from_mappings([GAMMA], CONV3_1)
    rep = evaluate_batch(CONV3_1, hw, batch, semantics="maestro")
    bound = -(-CONV3_1.macs // 156)
    assert rep.macs[0] == CONV3_1.macs
    assert rep.runtime_cycles[0] < bound  # MAESTRO's number, unchanged
    assert rep.avg_utilized_pes[0] <= 156
    assert not rep.feasible[0]
    assert f"below the ideal {bound} cycles (MACs / 156 PEs" in rep.reason[0]
    # above the old bound (MACs / all 168 PEs), which let it through
    assert rep.runtime_cycles[0] >= -(-CONV3_1.macs // 168)
    exact = evaluate_batch(CONV3_1, hw, batch, semantics="exact")
    assert exact.feasible[0] and exact.runtime_cycles[0] >= bound


def test_vector_width_scales_the_bound() -> None:
    hw = Hardware(num_pes=168, vector_width=2)
    batch = MappingBatch.from_mappings([GAMMA], CONV3_1)
    rep = evaluate_batch(CONV3_1, hw, batch, semantics="maestro")
    bound = -(-CONV3_1.macs // (156 * 2))
    assert (rep.runtime_cycles[0] < bound) == (not rep.feasible[0])
