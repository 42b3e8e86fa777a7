"""Loop nests: trip counts, units and folds on hand-computed cases."""

from __future__ import annotations

import re

import pytest

from mapsearch.directives import Cluster, Mapping, SpatialMap, Sz, TemporalMap
from mapsearch.directives.dataflows import dataflow
from mapsearch.errors import MappingError
from mapsearch.hardware import Hardware
from mapsearch.layers import Layer
from mapsearch.report import loop_nest
from mapsearch.report.loopnest import mapping_sheet

CONV3_1 = Layer.conv("CONV3_1", K=256, C=128, R=3, S=3, Y=56, X=56, model="VGG16")
LOOP = re.compile(r"^(\s*)(par_for|par_with|for) (\w+) in (\d+)(?: over (\w+) units, (\w+) fold)?")


def loops(text: str) -> list[tuple[int, str, str, int, str | None, str | None]]:
    """(depth, kind, variable, trips, units, folds) of every loop line."""
    out = []
    for line in text.splitlines():
        m = LOOP.match(line)
        if m:
            indent, kind, var, trips, units, folds = m.groups()
            out.append((len(indent) // 2, kind, var, int(trips), units, folds))
    return out


def test_kcp_on_conv3_1_with_256_pes() -> None:
    # 256 PEs / Cluster(64) = 4 clusters; K: 256 slices over 4 clusters = 64 folds;
    # C: (128 - 64)/64 + 1 = 2; Y, X: (56 - 3)/1 + 1 = 54; inside: C 64 slices on 64 PEs.
    text = loop_nest(dataflow("kcp", CONV3_1), CONV3_1, num_pes=256)
    assert loops(text) == [
        (0, "par_for", "k0", 256, "4", "64"),
        (1, "for", "c0", 2, None, None),
        (2, "for", "r0", 1, None, None),
        (3, "for", "s0", 1, None, None),
        (4, "for", "y0", 54, None, None),
        (5, "for", "x0", 54, None, None),
        (6, "par_for", "c1", 64, "64", "1"),
        (7, "for", "y1", 1, None, None),
        (8, "for", "x1", 1, None, None),
        (9, "for", "r1", 1, None, None),
        (10, "for", "s1", 1, None, None),
    ]
    assert "# Cluster(64) -> level 1: 64 units (PEs)" in text
    assert "# level 0: 4 units (clusters)" in text
    last = text.splitlines()[-1]
    assert last.strip() == "MAC  # up to 9 MACs per PE per step"  # 1 K x 1 C x 3 R x 3 S
    assert last.startswith(" " * 22)


def test_yxp_overlapping_x_tiles() -> None:
    # X: tiles of 10 every 8 over 56 -> ceil(46/8) + 1 = 7; Y: 54 rows over 256/8 = 32
    # clusters -> 2 folds; inside: 3-wide X slices every 1 over 10 -> 8 on 8 PEs.
    found = loops(loop_nest(dataflow("yxp", CONV3_1), CONV3_1, num_pes=256))
    assert found[2] == (2, "par_for", "y0", 54, "32", "2")
    assert found[3] == (3, "for", "x0", 7, None, None)
    assert found[4] == (4, "par_for", "x1", 8, "8", "1")


def test_row_stationary_diagonal_and_output_dims() -> None:
    text = loop_nest(dataflow("rs", CONV3_1), CONV3_1, num_pes=256)
    # 256 // 3 = 85 clusters; Y' (1,1) = Y (3,1): 54 output rows in one fold.
    assert "par_for y0 in 54 over 85 units, 1 fold(s):  # SpatialMap(1,1) Y' = Y(3,1)" in text
    assert "par_with r1 in 3 (advances with y1):" in text
    # 16 output channels x 1 row x 3 filter columns of one filter row.
    assert text.endswith("MAC  # up to 48 MACs per PE per step")


def test_maeri_three_levels() -> None:
    found = loops(loop_nest(dataflow("maeri", CONV3_1), CONV3_1, num_pes=256))
    # 256 // (3 * 3) = 28 clusters; K: ceil(256 / 28) = 10 folds.
    assert found[1] == (1, "par_for", "k0", 256, "28", "10")
    assert [f[1] for f in found[-4:]] == ["par_for", "par_with", "par_for", "par_with"]


def test_without_pes_level0_units_are_symbolic() -> None:
    text = loop_nest(dataflow("xp", CONV3_1), CONV3_1)
    assert "par_for x0 in 54 over P0 units, ceil(54/P0) fold(s):" in text


def test_tile_larger_than_dimension_is_one_slice_and_stride_counts() -> None:
    layer = Layer.conv("c1", K=8, C=3, R=7, S=7, Y=29, X=29, stride=2)
    m = Mapping(
        directives=(
            SpatialMap(1, 1, "K"),
            TemporalMap(64, 64, "C"),
            TemporalMap(9, 4, "Y"),
            TemporalMap(7, 1, "X"),
            Cluster(4),
            SpatialMap(1, 1, "C"),
        )
    )
    text = loop_nest(m, layer, num_pes=16)
    found = loops(text)
    assert found[0] == (0, "par_for", "k0", 8, "4", "2")
    assert found[1][3] == 1  # 64 >= 3 channels: one slice
    assert found[2][3] == 6  # ceil((29 - 9) / 4) + 1
    assert found[3][3] == 23  # (29 - 7) / 1 + 1
    # Leaf tile: 1 K x 1 C x 7x7 filter x 2 output rows ((9 - 7)//2 + 1) x 1 output column.
    assert text.endswith("MAC  # up to 98 MACs per PE per step")


def test_unreadable_mapping_raises() -> None:
    bad = Mapping(directives=(SpatialMap(1, 1, "Q"),))
    with pytest.raises(MappingError):
        loop_nest(bad, CONV3_1)
    with pytest.raises(MappingError, match="Sz"):
        loop_nest(Mapping(directives=(SpatialMap(Sz("Q"), 1, "K"),)), CONV3_1)


def test_mapping_sheet() -> None:
    hw = Hardware(name="hw", num_pes=256)
    sheet = mapping_sheet(dataflow("kcp", CONV3_1), CONV3_1, hw, variant="native")
    assert "mapping:  KC-P_kcp_ws (native)" in sheet
    assert "  TemporalMap(3,3) R;" in sheet
    assert "validation: legal" in sheet
    assert "par_for k0 in 256 over 4 units, 64 fold(s)" in sheet
    broken = mapping_sheet(dataflow("rs_vgg", CONV3_1), CONV3_1, hw)
    assert "validation: ILLEGAL (2 problem(s))" in broken
    assert "  - directive 7 'SpatialMap(1,1) X': window tile smaller" in broken
    assert "loop nest:" in broken
    unreadable = mapping_sheet(Mapping(directives=(SpatialMap(0, 1, "K"),)), CONV3_1, hw)
    assert "size must be >= 1" in unreadable and "loop nest:" not in unreadable


def test_gemm_loop_nest() -> None:
    gemm = Layer.gemm("qkv", M=128, N=768, K=768)
    text = loop_nest(dataflow("kcp", gemm), gemm, num_pes=256)
    # N: 768 over 256 // 64 = 4 clusters -> 192 folds; K: 768 / 64 = 12 tiles; M: 128 rows.
    assert loops(text) == [
        (0, "par_for", "n0", 768, "4", "192"),
        (1, "for", "k0", 12, None, None),
        (2, "for", "m0", 128, None, None),
        (3, "par_for", "k1", 64, "64", "1"),
    ]
    assert text.endswith("MAC  # up to 1 MACs per PE per step")
