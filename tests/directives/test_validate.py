"""Mapping validation: one test per rule (naming the directive), all problems at once, the
classic dataflows on every zoo and reference layer, and a brute-force MAC counter that
decides "every MAC exactly once" independently of the validator."""

from __future__ import annotations

import csv
import itertools
import math
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from mapsearch.costmodel.simulate import simulate
from mapsearch.directives import Cluster, Mapping, SpatialMap, Sz, TemporalMap
from mapsearch.directives.dataflows import DATAFLOWS, dataflow
from mapsearch.directives.validate import check_mapping, mapping_problems
from mapsearch.errors import MappingError, UnsupportedError
from mapsearch.hardware import Hardware
from mapsearch.layers import Layer, Op

DEV_CSV = Path(__file__).parent.parent / "data" / "maestro" / "dev.csv"

#: The xp fixture (tests/conftest.py): a legal one-level X-P; xp(D=directive) breaks one rule.
MappingFactory = Callable[..., Mapping]
CONV3_1 = Layer.conv("CONV3_1", K=256, C=128, R=3, S=3, Y=56, X=56, model="VGG16")
HW = Hardware(name="hw256", num_pes=256)


def T(size: int | Sz, offset: int | Sz, dim: str) -> TemporalMap:
    return TemporalMap(size, offset, dim)


def S(size: int | Sz, offset: int | Sz, dim: str) -> SpatialMap:
    return SpatialMap(size, offset, dim)


def mapping(*directives: TemporalMap | SpatialMap | Cluster) -> Mapping:
    return Mapping(directives=directives, name="m")


def only_problem(m: Mapping, layer: Layer = CONV3_1, hw: Hardware = HW) -> str:
    problems = mapping_problems(m, layer, hw)
    assert len(problems) == 1, problems
    return problems[0]


def test_base_mapping_is_legal(xp: MappingFactory) -> None:
    assert mapping_problems(xp(), CONV3_1, HW) == []
    check_mapping(xp(), CONV3_1, HW)


# --- rules 1-3: each directive on its own --------------------------------------------------
def test_unknown_dimension(xp: MappingFactory) -> None:
    p = only_problem(xp(K=T(1, 1, "Q")))
    assert p.startswith("directive 1 'TemporalMap(1,1) Q': unknown dimension 'Q'")


def test_output_dims_are_not_gemm_dims() -> None:
    gemm = Layer.gemm("g", M=8, N=8, K=8)
    m = mapping(S(1, 1, "M"), T(1, 1, "Y'"), T(8, 8, "N"), T(8, 8, "K"))
    p = only_problem(m, gemm)
    assert p.startswith("directive 2 'TemporalMap(1,1) Y'': unknown dimension")
    assert "Y'/X' exist only for convolution-like layers" in p


def test_k_is_unknown_for_depthwise() -> None:
    dw = Layer.dsconv("dw", C=8, R=3, S=3, Y=10, X=10)
    m = mapping(S(1, 1, "C"), T(1, 1, "K"), T(3, 1, "Y"), T(3, 1, "X"))
    assert only_problem(m, dw).startswith("directive 2 'TemporalMap(1,1) K': unknown dimension")


def test_size_and_offset_at_least_one(xp: MappingFactory) -> None:
    p = only_problem(xp(C=T(0, 1, "C")))
    assert p == "directive 2 'TemporalMap(0,1) C': size must be >= 1, got 0"
    p = only_problem(xp(C=T(1, -2, "C")))
    assert p == "directive 2 'TemporalMap(1,-2) C': offset must be >= 1, got -2"


def test_sz_of_unknown_dimension(xp: MappingFactory) -> None:
    p = only_problem(xp(C=T(Sz("Q"), 1, "C")))
    assert p.startswith("directive 2 'TemporalMap(Sz(Q),1) C': size Sz(Q) names a dimension")


def test_cluster_size_at_least_one() -> None:
    m = mapping(S(1, 1, "K"), Cluster(0), S(1, 1, "C"))
    p = only_problem(m)
    assert p == "directive 2 'Cluster(0)': cluster size must be >= 1, got 0"


# --- rules 4-7: structure ------------------------------------------------------------------
def test_more_clusters_than_pes() -> None:
    m = mapping(S(1, 1, "K"), Cluster(8), S(1, 1, "C"), Cluster(8), S(3, 1, "Y"))
    p = only_problem(m, hw=Hardware(name="small", num_pes=32))
    assert p.startswith("directive 4 'Cluster(8)': more clusters than PEs")
    assert "64 > 32 PEs" in p


def test_level_without_spatial_map(xp: MappingFactory) -> None:
    m = mapping(S(1, 1, "K"), Cluster(8), T(1, 1, "C"))
    p = only_problem(m)
    assert p.startswith("level 1 (directive 2 'Cluster(8)') has no SpatialMap")
    top = only_problem(xp(X=T(3, 1, "X")))
    assert top.startswith("level 0 (directives 1-6) has no SpatialMap")


def test_three_spatial_maps_in_a_level(xp: MappingFactory) -> None:
    m = xp(K=S(1, 1, "K"), C=S(1, 1, "C"))
    problems = mapping_problems(m, CONV3_1, HW)
    assert any(
        p.startswith("directive 4 'SpatialMap(3,1) X': a level holds at most two") for p in problems
    )


def test_dimension_mapped_twice_in_a_level(xp: MappingFactory) -> None:
    m = mapping(*xp().directives, T(1, 1, "C"))
    p = only_problem(m)
    assert p.startswith("directive 7 'TemporalMap(1,1) C': dimension C is already mapped")
    assert "directive 2 'TemporalMap(1,1) C'" in p
    # Y' counts as Y.
    p = only_problem(mapping(*xp().directives, T(1, 1, "Y'")))
    assert p.startswith("directive 7 'TemporalMap(1,1) Y'': dimension Y is already mapped")


# --- rules 8-12: semantics -----------------------------------------------------------------
def test_child_tile_larger_than_parent_tile_is_clipped() -> None:
    """docs/semantics.md rule 3: a child directive larger than its parent's tile has one
    slice, the parent's whole tile; the simulator finds such a mapping exact."""
    tiny = Layer.conv("t", K=2, C=4, R=3, S=3, Y=5, X=5)
    m = mapping(S(1, 1, "K"), T(2, 2, "C"), Cluster(2), S(4, 4, "C"), T(3, 1, "Y"), T(3, 1, "X"))
    hw = Hardware(num_pes=4)
    assert simulate(tiny, hw, m).macs == tiny.macs  # raises if a MAC is missed or repeated
    assert mapping_problems(m, tiny, hw) == []
    big = mapping(
        S(1, 1, "K"), T(16, 16, "C"), Cluster(4), S(32, 32, "C"), T(3, 1, "Y"), T(3, 1, "X")
    )
    assert mapping_problems(big, CONV3_1, HW) == []


def test_non_window_overlap_and_gap(xp: MappingFactory) -> None:
    p = only_problem(xp(C=T(4, 2, "C")))
    assert p.startswith("directive 2 'TemporalMap(4,2) C': offset 2 < size 4: consecutive C")
    p = only_problem(xp(K=T(2, 3, "K")))
    assert p.startswith("directive 1 'TemporalMap(2,3) K': offset 3 > size 2: K slices skip")


def test_non_window_offset_irrelevant_with_one_slice(xp: MappingFactory) -> None:
    # A single slice (size >= extent) has nothing to overlap or skip.
    assert mapping_problems(xp(C=T(128, 1, "C")), CONV3_1, HW) == []
    assert mapping_problems(xp(C=T(200, 500, "C")), CONV3_1, HW) == []


def test_window_tile_smaller_than_filter(xp: MappingFactory) -> None:
    p = only_problem(xp(Y=T(2, 1, "Y")))
    assert p.startswith("directive 3 'TemporalMap(2,1) Y': window tile smaller than the filter")


def test_window_tile_rule_counts_inherited_filter_tile() -> None:
    # Level 1 does not map S: it inherits the full 3-column S tile of level 0.
    m = mapping(S(1, 1, "K"), T(3, 1, "Y"), T(3, 1, "X"), Cluster(4), S(1, 1, "X"))
    p = only_problem(m)
    assert p.startswith("directive 5 'SpatialMap(1,1) X': window tile smaller than the filter")


def test_diagonal_over_non_window_pair() -> None:
    m = mapping(T(3, 1, "Y"), T(3, 1, "X"), S(1, 1, "K"), S(1, 1, "C"))
    p = only_problem(m)
    assert p.startswith("directive 4 'SpatialMap(1,1) C': advances together with directive 3")


def test_window_offsets_that_repeat_outputs(xp: MappingFactory) -> None:
    # A 5-row Y tile holds 3 output rows: offset 1 computes rows again.
    p = only_problem(xp(Y=T(5, 1, "Y")))
    assert p.startswith(
        "directive 3 'TemporalMap(5,1) Y': output row 1 with filter row 0 is computed 2 times"
    )
    assert "so use offset 3" in p


def test_window_offsets_that_skip_outputs(xp: MappingFactory) -> None:
    p = only_problem(xp(Y=T(3, 2, "Y")))
    assert p.startswith(
        "directive 3 'TemporalMap(3,2) Y': output row 1 with filter row 0 is never computed"
    )


def test_window_rules_honour_stride(xp: MappingFactory) -> None:
    s2 = Layer.conv("s2", K=4, C=4, R=3, S=3, Y=15, X=15, stride=2)
    # Offset 1 on a strided layer: the odd tiles compute nothing; still exactly once.
    assert mapping_problems(xp(), s2, HW) == []
    # A 5-row tile holds 2 outputs at stride 2: offset 4 is exact, offset 2 repeats, 6 skips.
    assert mapping_problems(xp(Y=T(5, 4, "Y")), s2, HW) == []
    assert "computed 2 times" in only_problem(xp(Y=T(5, 2, "Y")), s2)
    assert "never computed" in only_problem(xp(Y=T(5, 6, "Y")), s2)


def _simulator_exact(layer: Layer, hw: Hardware, m: Mapping) -> bool:
    try:
        simulate(layer, hw, m)
    except MappingError:
        return False
    return True


def test_output_rows_advance_by_offset_times_stride() -> None:
    """Issue 9: Y'(1, 2) at stride 2 reads Y(3, 4) (docs/semantics.md rule 2), so output rows
    1 and 3 are never computed (6 of 15 MACs); MAESTRO's Y(3, 2) would hide that."""
    layer = Layer.conv("y11", K=1, C=1, R=3, S=1, Y=11, X=1, stride=2)
    hw = Hardware(num_pes=1)
    m = mapping(S(1, 1, "K"), T(1, 2, "Y'"))
    with pytest.raises(MappingError, match="6 MAC"):
        simulate(layer, hw, m)
    p = only_problem(m, layer, hw)
    assert p.startswith(
        "directive 2 'TemporalMap(1,2) Y'': output row 1 with filter row 0 is never computed"
    )
    assert "holds 1 output row(s) at stride 2, so use offset 1" in p  # offset in output rows


def test_output_tile_covering_every_row_is_legal() -> None:
    """Issue 9: on Y=9 at stride 2, Y'(4, 1) is Y(9, 2): one slice with every output row,
    exact as the simulator finds (MAESTRO's Y(6, 1) would repeat rows)."""
    layer = Layer.conv("y9", K=1, C=1, R=3, S=1, Y=9, X=1, stride=2)
    hw = Hardware(num_pes=1)
    m = mapping(S(1, 1, "K"), T(4, 1, "Y'"))
    assert _simulator_exact(layer, hw, m)
    assert mapping_problems(m, layer, hw) == []


def test_partial_filter_tiles_are_legal_when_exact(xp: MappingFactory) -> None:
    # Row by row: input row y with filter row r computes output y - r exactly once.
    rows = xp(Y=T(1, 1, "Y"), R=T(1, 1, "R"))
    assert mapping_problems(rows, CONV3_1, HW) == []
    # But a 3-row input tile with a 1-row filter tile computes 3 outputs per step.
    p = only_problem(xp(R=T(1, 1, "R")))
    assert p.startswith("directive 3 'TemporalMap(3,1) Y'") and "computed 2 times" in p


def test_filter_gap_names_the_filter_directive(xp: MappingFactory) -> None:
    p = only_problem(xp(Y=T(1, 1, "Y"), R=T(1, 2, "R")))
    assert p.startswith("directive 5 'TemporalMap(1,2) R': output row 0 with filter row 1 is never")


def test_all_problems_collected_at_once() -> None:
    m = mapping(
        T(0, 1, "C"),  # size < 1
        T(1, 1, "Q"),  # unknown dimension
        S(1, 1, "K"),
        Cluster(64),
        T(1, 1, "C"),  # level without SpatialMap
        Cluster(8),  # 64 * 8 > 256 PEs
        S(1, 1, "Y"),
        S(1, 1, "X"),
        S(1, 1, "R"),  # third SpatialMap
    )
    with pytest.raises(MappingError) as info:
        check_mapping(m, CONV3_1, HW)
    problems = info.value.problems
    starts = [
        "directive 1 'TemporalMap(0,1) C': size must be >= 1",
        "directive 2 'TemporalMap(1,1) Q': unknown dimension",
        "directive 6 'Cluster(8)': more clusters than PEs",
        "level 1 (directive 4 'Cluster(64)') has no SpatialMap",
        "directive 9 'SpatialMap(1,1) R': a level holds at most two",
    ]
    for start in starts:
        assert any(p.startswith(start) for p in problems), (start, problems)
    assert len(problems) == len(starts)
    assert "illegal mapping 'm' (5 problem(s))" in str(info.value)
    assert isinstance(info.value, ValueError)


def test_semantic_rules_are_collected_together(xp: MappingFactory) -> None:
    m = xp(K=T(2, 3, "K"), C=T(4, 2, "C"), Y=T(2, 1, "Y"))
    problems = mapping_problems(m, CONV3_1, HW)
    assert [p.split(":")[0] for p in problems] == [
        "directive 1 'TemporalMap(2,3) K'",
        "directive 2 'TemporalMap(4,2) C'",
        "directive 3 'TemporalMap(2,1) Y'",
    ]


# --- the classic dataflows ------------------------------------------------------------------
def _zoo_layers() -> list[Layer]:
    from mapsearch.layers.zoo import all_layers

    return list(all_layers())


def _applicable(name: str, layer: Layer) -> bool:
    try:
        dataflow(name, layer)
    except UnsupportedError:
        return False
    return True


def _legal_dataflows(name: str) -> bool:
    """YR-P_rs_vgg pairs X with R on its PEs: no PE computes a MAC when S > 1 (see below)."""
    return name != "YR-P_rs_vgg"


@pytest.mark.parametrize("name", DATAFLOWS)
def test_classic_dataflows_are_legal_on_every_zoo_layer(name: str) -> None:
    checked = 0
    for layer in _zoo_layers():
        if not _applicable(name, layer):
            assert layer.op is Op.GEMM
            continue
        m = dataflow(name, layer)
        hw = Hardware(num_pes=max(256, math.prod(int(c) for c in m.resolve(layer).cluster_sizes)))
        problems = mapping_problems(m, layer, hw)
        if _legal_dataflows(name) or (layer.size("S") == 1 and layer.size("R") == 1):
            assert problems == [], (layer.qualified_name, problems)
        else:
            assert problems, layer.qualified_name
        checked += 1
    assert checked > 0


def _dev_layer(row: dict[str, str]) -> Layer:
    g = {k: int(row[k]) for k in ("N", "K", "C", "R", "S", "Y", "X", "stride")}
    if row["layer_type"] == "DSCONV":
        del g["K"]
        return Layer.dsconv(row["layer"], **g)
    return Layer.conv(row["layer"], **g)


def test_classic_dataflows_are_legal_on_every_reference_row() -> None:
    """Every row MAESTRO runs is legal; YR-P_rs_vgg is rejected exactly where MAESTRO crashes."""
    with DEV_CSV.open() as f:
        rows = list(csv.DictReader(f))
    seen: dict[tuple[str, ...], list[str]] = {}
    for row in rows:
        key = tuple(
            row[k]
            for k in (
                "layer_type",
                "N",
                "K",
                "C",
                "R",
                "S",
                "Y",
                "X",
                "stride",
                "dataflow",
                "num_pes",
            )
        )
        if key not in seen:
            layer = _dev_layer(row)
            hw = Hardware(num_pes=int(row["num_pes"]))
            seen[key] = mapping_problems(dataflow(row["dataflow"], layer), layer, hw)
        crashed = "fpe_guard_build" in row["flags"]
        assert bool(seen[key]) == crashed, (row["net"], row["layer"], row["dataflow"], seen[key])


def test_rs_vgg_names_its_broken_directives() -> None:
    problems = mapping_problems(dataflow("rs_vgg", CONV3_1), CONV3_1, HW)
    assert problems[0].startswith("directive 7 'SpatialMap(1,1) X': window tile smaller")
    assert problems[1].startswith("directive 8 'SpatialMap(1,1) R': advances together")


# --- an independent brute-force count of every MAC ------------------------------------------
def brute_force_counts(m: Mapping, layer: Layer, num_pes: int) -> np.ndarray:
    """How often each MAC (k, c, r, s, y', x') is computed: every step, every unit.

    Written from ``docs/semantics.md`` rules 1-5 directly: levels split at Cluster, a
    directive's n slices over the nominal extent, spatial folds over the units (a second
    SpatialMap takes the same slice index), slices clipped to the parent slice.
    """
    size = layer.sizes
    stride = layer.stride_y
    out_y, out_x = layer.out_y, layer.out_x
    counts = np.zeros((size["K"], size["C"], size["R"], size["S"], out_y, out_x), dtype=np.int64)
    levels = m.resolve(layer).levels()
    clusters = [int(c) for c in m.resolve(layer).cluster_sizes]
    units = [num_pes // math.prod(clusters), *clusters]

    def in_input(level: tuple) -> list[tuple[str, str, int, int]]:
        # docs/semantics.md rule 2: Y'(M, O) -> Y((M - 1) * stride + M_R, O * stride), M_R the
        # level's R size or the layer's R.
        filt = {d.dim: int(d.size) for d in level}
        out = []
        for d in level:
            if d.dim in ("Y'", "X'"):
                w, f = ("Y", "R") if d.dim == "Y'" else ("X", "S")
                m_f = filt.get(f, size[f])
                out.append((d.kind, w, (int(d.size) - 1) * stride + m_f, int(d.offset) * stride))
            else:
                out.append((d.kind, d.dim, int(d.size), int(d.offset)))
        return out

    def visit(li: int, slices: dict[str, tuple[int, int]], nominal: dict[str, int]) -> None:
        if li == len(levels):
            (k0, k1), (c0, c1) = slices["K"], slices["C"]
            (r0, r1), (s0, s1) = slices["R"], slices["S"]
            (y0, y1), (x0, x1) = slices["Y"], slices["X"]
            if min(k1 - k0, c1 - c0, r1 - r0, s1 - s0) <= 0:
                return
            ys = [
                yo
                for yo in range(out_y)
                if all(y0 <= yo * stride + rr < y1 for rr in range(r0, r1))
            ]
            xs = [
                xo
                for xo in range(out_x)
                if all(x0 <= xo * stride + ss < x1 for ss in range(s0, s1))
            ]
            for yo, xo in itertools.product(ys, xs):
                counts[k0:k1, c0:c1, r0:r1, s0:s1, yo, xo] += 1
            return
        loops = in_input(levels[li])
        ranges = []
        for kind, dim, msize, off in loops:
            e = nominal[dim]
            n = 1 if msize >= e else -(-(e - msize) // off) + 1
            ranges.append((kind, dim, msize, off, n))
        temporal = [r for r in ranges if r[0] == "T"]
        spatial = [r for r in ranges if r[0] == "S"]
        p = units[li]
        if spatial:
            folds = -(-spatial[0][4] // p)
            assignments = [f * p + u for f in range(folds) for u in range(p)]
        else:
            assignments = [0] * p  # every unit runs the same slices
        for t_idx in itertools.product(*(range(r[4]) for r in temporal)):
            for a in assignments:
                child = dict(slices)
                child_nominal = dict(nominal)
                ok = True
                for (_kind, dim, msize, off, n), j in [
                    *zip(temporal, t_idx, strict=True),
                    *((r, a) for r in spatial),
                ]:
                    if j >= n:
                        ok = False
                        break
                    lo, hi = slices[dim]
                    start = lo + j * off
                    child[dim] = (start, min(start + msize, hi))
                    child_nominal[dim] = msize
                if ok:
                    visit(li + 1, child, child_nominal)

    visit(0, {d: (0, v) for d, v in size.items()}, dict(size))
    return counts


def _random_mapping(rng: np.random.Generator, layer: Layer) -> Mapping:
    """Random one- or two-level mappings, biased towards exact tilings so both verdicts occur."""
    dims = ["K", "C", "R", "S", "Y", "X"]
    window = {"Y": "R", "X": "S"}
    n_levels = int(rng.integers(1, 3))
    directives: list = []
    extent = layer.sizes
    for level in range(n_levels):
        if level:
            directives.append(Cluster(int(rng.integers(1, 4))))
        chosen = [d for d in dims if rng.random() < 0.7] or [dims[int(rng.integers(len(dims)))]]
        order = [chosen[i] for i in rng.permutation(len(chosen))]
        n_spatial = int(rng.integers(1, min(2, len(order)) + 1))
        spatial = set(rng.choice(len(order), size=n_spatial, replace=False).tolist())
        tiles = dict(extent)
        sizes = {d: int(rng.integers(1, extent[d] + 1)) for d in order}
        tiles.update(sizes)
        for i, d in enumerate(order):
            size = sizes[d]
            offset = size if rng.random() < 0.6 else int(rng.integers(1, extent[d] + 1))
            if d in window and rng.random() < 0.6:
                k = int(rng.integers(1, 3))
                size = min(tiles[window[d]] + (k - 1) * layer.stride_y, extent[d])
                offset, tiles[d] = k * layer.stride_y, size
            name = d
            if d in window and rng.random() < 0.2:
                name, size = d + "'", max(1, size - tiles[window[d]] + 1)
            directives.append((SpatialMap if i in spatial else TemporalMap)(size, offset, name))
        extent = tiles
    return Mapping(directives=tuple(directives), name="random")


@pytest.mark.parametrize("stride", [1, 2])
def test_validator_agrees_with_brute_force(stride: int) -> None:
    """Legal <=> every MAC exactly once, by an independent count of every MAC."""
    layer = Layer.conv("tiny", K=2, C=3, R=3, S=2, Y=7, X=4, stride=stride)
    hw = Hardware(num_pes=12)
    rng = np.random.default_rng(1234 + stride)
    verdicts = {"legal": 0, "illegal": 0}
    for _ in range(1500):
        m = _random_mapping(rng, layer)
        problems = mapping_problems(m, layer, hw)
        once = bool((brute_force_counts(m, layer, hw.num_pes) == 1).all())
        assert once == (not problems), (str(m), problems)
        verdicts["legal" if once else "illegal"] += 1
    assert verdicts["legal"] >= 100 and verdicts["illegal"] >= 100, verdicts


def test_brute_force_on_classic_dataflows() -> None:
    """The simulator itself: the classic dataflows compute every MAC once on a tiny layer."""
    layer = Layer.conv("tiny", K=3, C=2, R=3, S=3, Y=9, X=10, stride=2)
    for name in ("KC-P_kcp_ws", "YX-P_yxp_os", "YR-P_rs_tools", "MAERI_kp", "YK-P_ykp_os"):
        m = dataflow(name, layer)
        counts = brute_force_counts(m, layer, 64)
        assert (counts == 1).all(), name
    broken = brute_force_counts(dataflow("YR-P_rs_vgg", layer), layer, 64)
    assert broken.sum() == 0
