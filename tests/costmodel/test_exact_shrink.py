"""Shrunk and extrapolated cores (``_exact_groups._core_shrunk``) equal the full walk.

A joint group (here the whole nest, walked together because a row-stationary diagonal
spreads three filter rows over two units, so outputs pass between units unwritten) whose
K, C and X loops are long enough to cut: the extrapolated core must be the full walk's,
part by part, and cost ``2^k`` corner walks plus one check walk per cut.
"""

from __future__ import annotations

import numpy as np
import pytest

from mapsearch.costmodel import _exact_groups as groups
from mapsearch.costmodel import exact
from mapsearch.costmodel.batch import MappingBatch
from mapsearch.directives import Cluster, Mapping, SpatialMap, TemporalMap
from mapsearch.directives.nest import StepModel
from mapsearch.hardware import Hardware
from mapsearch.layers import Layer

HW = Hardware(num_pes=6, noc_bw_words_per_cycle=4, noc_latency_cycles=1)
ROW_STATIONARY = Mapping(
    directives=(
        TemporalMap(1, 1, "K"),
        TemporalMap(1, 1, "C"),
        SpatialMap(3, 1, "Y"),
        TemporalMap(3, 2, "X"),
        TemporalMap(3, 3, "R"),
        TemporalMap(2, 2, "S"),
        Cluster(2),
        SpatialMap(1, 1, "Y"),
        SpatialMap(1, 1, "R"),
        TemporalMap(2, 1, "X"),
        TemporalMap(2, 2, "S"),
    )
)


def joint_cores(
    layer: Layer, mapping: Mapping = ROW_STATIONARY, hardware: Hardware = HW
) -> list[tuple[StepModel, groups.GroupSpec]]:
    """The joint groups' (model, spec) that scoring ``mapping`` on ``layer`` walks."""
    seen: list[tuple[StepModel, groups.GroupSpec]] = []
    shrunk = groups._core_shrunk

    def record(
        model: StepModel, spec: groups.GroupSpec, dims: list[str] | None = None
    ) -> groups._Core:
        if len(spec.members) > 1 and dims is None:
            seen.append((model, spec))
        return shrunk(model, spec, dims)

    caches = (groups._core_of, exact._group_core, exact._group_summary, exact._slot_core)
    for cache in caches:
        cache.cache_clear()
    groups._core_shrunk = record  # type: ignore[assignment]
    try:
        rep = exact.evaluate_batch(layer, hardware, MappingBatch.from_mappings([mapping], layer))
    finally:
        groups._core_shrunk = shrunk  # type: ignore[assignment]
        for cache in caches:
            cache.cache_clear()
    assert rep.feasible[0], rep.reason[0]
    return seen


def same_core(a: groups._Core, b: groups._Core) -> None:
    """Every count of two cores agrees (distinct runtime rows in any order)."""
    scalars = ("exec_tuples", "fill", "tile_max", "drain", "trips", "parted", "staggered")
    assert [getattr(a, s) for s in scalars] == [getattr(b, s) for s in scalars]
    ra, rb = a.rows, b.rows
    assert ra.keys() == rb.keys()
    for part in ra:
        (sa, na, ja, ca), (sb, nb, jb, cb) = ra[part], rb[part]
        assert na == nb and np.array_equal(sa, sb), part
        oa, ob = np.lexsort(ja.T[::-1]), np.lexsort(jb.T[::-1])
        assert np.array_equal(ja[oa], jb[ob]) and np.array_equal(ca[oa], cb[ob]), part


@pytest.mark.parametrize("x", [12, 20])
def test_joint_cores_shrunk_equal_the_full_walk(x: int, monkeypatch: pytest.MonkeyPatch) -> None:
    layer = Layer.conv(f"rs_x{x}", K=12, C=10, R=3, S=2, Y=5, X=x, stride=1)
    ((model, spec),) = joint_cores(layer)
    cuts = [d for d in spec.members if groups._shrink_plan(model, d) is not None]
    assert len(cuts) == (3 if x == 20 else 2)  # K, C (and X at 20 columns: 10 trips)
    walked = 0
    walk = groups._core

    def counted(model: StepModel, spec: groups.GroupSpec) -> groups._Core:
        nonlocal walked
        walked += 1
        return walk(model, spec)

    monkeypatch.setattr(groups, "_core", counted)
    shrunk = groups._core_shrunk(model, spec)
    assert walked == 2 ** len(cuts) + len(cuts)
    same_core(shrunk, walk(model, spec))


def test_a_cut_starts_from_the_reach_of_its_slices() -> None:
    """K and C tiles of one element reach one trip: the cut walks 3-5 trips; X tiles of 3
    columns advancing by 2 under a filter of 2 reach two trips: 4-6."""
    layer = Layer.conv("rs_x20", K=12, C=10, R=3, S=2, Y=5, X=20, stride=1)
    ((model, _),) = joint_cores(layer)
    plans = {d: groups._shrink_plan(model, d) for d in ("K", "C", "X")}
    assert plans == {
        "K": groups.Cut("K", [3, 4, 5], 9),
        "C": groups.Cut("C", [3, 4, 5], 7),
        "X": groups.Cut("X", [8, 10, 12], 6),
    }


def strided_joint_core(
    y: int, outer: TemporalMap, inner: TemporalMap
) -> tuple[StepModel, groups.GroupSpec]:
    """ResNet50 CONV1's shape, small (7-row windows at stride 2, ``y`` rows): the one joint
    group of a nest whose Y directives are ``outer`` then ``inner``."""
    mapping = Mapping(
        directives=(
            SpatialMap(1, 1, "K"),
            TemporalMap(14, 8, "X"),
            TemporalMap(1, 1, "C"),
            outer,
            TemporalMap(7, 7, "R"),
            TemporalMap(7, 7, "S"),
            Cluster(3),
            SpatialMap(7, 1, "X"),
            TemporalMap(1, 1, "C"),
            TemporalMap(1, 1, "K"),
            inner,
            TemporalMap(7, 7, "R"),
            TemporalMap(7, 7, "S"),
        )
    )
    layer = Layer.conv("strided", K=4, C=2, R=7, S=7, Y=y, X=17, stride=2)
    ((model, spec),) = joint_cores(layer, mapping, Hardware(num_pes=6, noc_bw_words_per_cycle=4))
    return model, spec


def shrunk_walks(
    model: StepModel, spec: groups.GroupSpec, monkeypatch: pytest.MonkeyPatch
) -> list[int]:
    """The Y size of every walk that shrinking the core takes; the shrunk core must equal
    the full walk."""
    walked: list[int] = []
    walk = groups._core

    def counted(model: StepModel, spec: groups.GroupSpec) -> groups._Core:
        walked.append(model.layer.size("Y"))
        return walk(model, spec)

    monkeypatch.setattr(groups, "_core", counted)
    shrunk = groups._core_shrunk(model, spec)
    monkeypatch.undo()
    same_core(shrunk, walk(model, spec))
    return walked


def test_a_cut_short_of_its_reach_is_tried_again_from_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """7-row windows at stride 2 whose tiles step one row reach 13 trips, so the cut from
    ``_SHRINK_FROM`` trips wraps its last tile onto its first and fails its check; it is
    walked again from its reach (3 walks more, no full walk) and still equals the full
    walk."""
    model, spec = strided_joint_core(45, TemporalMap(7, 1, "Y"), TemporalMap(8, 2, "Y"))
    assert groups._shrink_plan(model, "Y") == groups.Cut("Y", [11, 13, 15], 17)
    assert groups._shrink_plan(model, "Y", None) == groups.Cut("Y", [23, 25, 27], 11)
    assert shrunk_walks(model, spec, monkeypatch) == [11, 13, 15, 23, 25, 27]


@pytest.mark.parametrize("y", [45, 64, 73])
def test_a_short_outer_loop_is_cut_inside_its_slices(
    y: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A Y tile of 39 rows (2 slices: the last clipped to 11 rows at 45 rows, to 30 at 64,
    whole at 73) holds 33 one-row window steps. The outer loop is too short to cut, so the
    inner one is cut inside every slice (a narrow clipped one keeps its width, a wide one
    loses as much as the others) and the extrapolated core still equals the full walk."""
    model, spec = strided_joint_core(y, TemporalMap(39, 34, "Y"), TemporalMap(7, 1, "Y"))
    cut = groups._shrink_plan(model, "Y")
    assert cut is not None and cut.outer
    trips = [t for _, t in cut.trips]
    # the outer slices lose what the cut removes, the narrow clipped one excepted
    assert cut.sizes == [y - (1 if y == 45 else 2) * (33 - t) for t in trips]
    assert y not in shrunk_walks(model, spec, monkeypatch)  # no full walk


def test_a_cut_whose_second_loop_is_long_is_cut_again_inside(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Ten Y tiles of 39 rows, each of 33 one-row window steps: the outer loop is cut, and
    each of its walks cuts the inner loop again; the core still equals the full walk."""
    model, spec = strided_joint_core(345, TemporalMap(39, 34, "Y"), TemporalMap(7, 1, "Y"))
    cut = groups._shrink_plan(model, "Y")
    assert cut is not None and not cut.outer
    walked = shrunk_walks(model, spec, monkeypatch)
    assert 345 not in walked and min(walked) < min(cut.sizes)
