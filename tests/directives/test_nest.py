"""The directive-to-loop kernel: hand-computed cases, and ints and batch arrays agreeing."""

from __future__ import annotations

import numpy as np
import pytest

from mapsearch.costmodel.batch import MappingBatch
from mapsearch.directives import Cluster, DirectiveKind, Mapping, SpatialMap, TemporalMap
from mapsearch.directives.dataflows import DATAFLOWS, dataflow
from mapsearch.directives.maestro_file import parse_directives
from mapsearch.directives.nest import (
    level_units,
    output_to_input,
    slice_count,
    unfold,
    unfold_template,
)
from mapsearch.errors import MappingError
from mapsearch.layers import Layer

CONV3_1 = Layer.conv("CONV3_1", K=256, C=128, R=3, S=3, Y=56, X=56, model="VGG16")


def test_slice_count_by_hand_and_on_arrays() -> None:
    assert slice_count(3, 1, 5) == 3  # [0,3) [1,4) [2,5)
    assert slice_count(2, 2, 5) == 3  # [0,2) [2,4) [4,5): one edge slice
    assert slice_count(7, 7, 5) == 1
    assert slice_count(5, 9, 5) == 1
    rng = np.random.default_rng(0)
    size, offset, extent = (rng.integers(1, 20, size=500) for _ in range(3))
    got = slice_count(size, offset, extent)
    want = [
        slice_count(int(a), int(b), int(c)) for a, b, c in zip(size, offset, extent, strict=True)
    ]
    assert got.dtype == np.int64 and got.tolist() == want


def test_output_rows_in_input_space() -> None:
    # docs/semantics.md rule 2: Y'(M, O) -> Y((M - 1) * stride + M_R, O * stride)
    assert output_to_input(1, 2, 2, 3) == (3, 4)
    assert output_to_input(4, 1, 2, 3) == (9, 2)
    sizes, offsets = np.array([1, 4]), np.array([2, 1])
    got = output_to_input(sizes, offsets, 2, 3)
    assert got[0].tolist() == [3, 9] and got[1].tolist() == [4, 2]


def test_units_per_level() -> None:
    assert level_units(256, [64]) == (4, 64)
    assert level_units(255, []) == (255,)
    top, c = level_units(np.array([168, 170]), [np.array([26, 26])])
    assert top.tolist() == [6, 6] and c.tolist() == [26, 26]


def test_unfold_rewrites_output_dims_once() -> None:
    model = unfold(CONV3_1, dataflow("YR-P_rs_tools", CONV3_1), 256)
    top = model.levels[0]
    y = top.map_on("Y")
    assert y is not None and y.written == "Y'"
    assert (y.size, y.offset, y.slices, y.extent) == (3, 1, 54, 56)
    assert model.levels[1].extents["Y"] == 3 and model.levels[1].units == 3
    assert model.units == (85, 3)
    # the fold loop of level 0: 54 slices over 85 units
    fold = model.loops[y.loop]
    assert fold.kind is DirectiveKind.SPATIAL and fold.trips == 1
    with pytest.raises(MappingError, match="'Q'"):
        unfold(CONV3_1, Mapping(directives=(TemporalMap(1, 1, "Q"),)), 256)
    with pytest.raises(MappingError, match="need 512 PEs"):
        unfold(CONV3_1, Mapping(directives=(SpatialMap(1, 1, "K"), Cluster(512))), 256)


def test_busy_pes_of_the_gamma_mapping() -> None:
    """Issue 9: 168 PEs in clusters of 26 give 6 clusters; K spreads over all 6, C (76 of
    the cluster's slice) over all 26 PEs: at most 156 PEs ever work at once."""
    m = parse_directives(
        "TemporalMap(3,3) R; TemporalMap(8,8) Y'; TemporalMap(3,3) S; TemporalMap(54,54) X'; "
        "SpatialMap(1,1) K; TemporalMap(76,76) C; Cluster(26,P); TemporalMap(3,3) S; "
        "TemporalMap(4,4) X'; TemporalMap(1,1) K; TemporalMap(3,3) R; SpatialMap(1,1) C; "
        "TemporalMap(7,7) Y';"
    )
    model = unfold(CONV3_1, m, 168)
    assert [lv.busy_units for lv in model.levels] == [6, 26]
    assert model.busy_pes == 156
    # a level with fewer slices than units: only those units work
    few = Mapping(directives=(SpatialMap(64, 64, "K"), TemporalMap(3, 1, "Y")))
    assert unfold(CONV3_1, few, 256).busy_pes == 4


@pytest.mark.parametrize("name", DATAFLOWS)
def test_a_batch_unfolds_as_each_of_its_mappings(name: str) -> None:
    """unfold_template on batch arrays equals unfold on every mapping (ints), field by field."""
    layers = [
        Layer.conv("a", K=8, C=6, R=3, S=3, Y=13, X=11, stride=2),
        Layer.conv("b", K=5, C=7, R=3, S=2, Y=9, X=12),
    ]
    for layer in layers:
        base = dataflow(name, layer).resolve(layer)
        variants = [base]
        for f in (2, 3):  # shrink every map directive's size and offset
            variants.append(
                Mapping(
                    directives=tuple(
                        d
                        if isinstance(d, Cluster)
                        else type(d)(max(1, int(d.size) // f), max(1, int(d.offset) // f), d.dim)
                        for d in base.directives
                    )
                )
            )
        batch = MappingBatch.from_mappings(variants, layer)
        t = batch.template
        cols = [batch.sizes[:, j] for j, k in enumerate(t.kinds) if k is DirectiveKind.CLUSTER]
        units = level_units(np.full(len(batch), 512, dtype=np.int64), cols)
        arrays = unfold_template(
            layer, t.kinds, t.dims, list(batch.sizes.T), list(batch.offsets.T), units
        )
        for i, m in enumerate(variants):
            one = unfold(layer, m, 512)
            assert [lp.trips for lp in one.loops] == [int(lp.trips[i]) for lp in arrays.loops]
            for lv_one, lv_arr in zip(one.levels, arrays.levels, strict=True):
                assert lv_one.units == int(lv_arr.units[i])
                for a, b in zip(lv_one, lv_arr, strict=True):
                    assert (a.dim, a.written, a.kind, a.loop) == (b.dim, b.written, b.kind, b.loop)
                    assert (a.size, a.offset, a.extent, a.slices) == tuple(
                        int(v[i]) for v in (b.size, b.offset, b.extent, b.slices)
                    )
            assert one.busy_pes == int(arrays.busy_pes[i])
