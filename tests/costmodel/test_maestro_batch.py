"""Batch semantics of the maestro model: a batch equals its mappings scored one by one."""

from __future__ import annotations

import numpy as np
import pytest

from mapsearch.costmodel import maestro
from mapsearch.costmodel.batch import MappingBatch, Template
from mapsearch.costmodel.report import Report, TensorCounts
from mapsearch.directives import Cluster, DirectiveKind, Mapping, SpatialMap, TemporalMap
from mapsearch.errors import MappingError
from mapsearch.hardware import Hardware
from mapsearch.layers import Layer

LAYER = Layer.conv("CONV3_1", K=256, C=128, R=3, S=3, Y=56, X=56)
HW = Hardware(num_pes=256, noc_bw_words_per_cycle=64, offchip_bw_words_per_cycle=10**6)
T, S, C = DirectiveKind.TEMPORAL, DirectiveKind.SPATIAL, DirectiveKind.CLUSTER
KCP_LIKE = Template(
    kinds=(S, T, T, T, T, T, C, S, T, T, T, T),
    dims=("K", "C", "R", "S", "Y", "X", "", "C", "Y", "X", "R", "S"),
)


# MAERI-like: three cluster levels, two SpatialMaps per inner level.
MAERI_LIKE = Mapping(
    directives=(
        TemporalMap(1, 1, "C"),
        SpatialMap(1, 1, "K"),
        TemporalMap(1, 1, "Y'"),
        TemporalMap(1, 1, "X'"),
        TemporalMap(3, 3, "R"),
        TemporalMap(3, 3, "S"),
        Cluster(3),
        SpatialMap(1, 1, "Y"),
        SpatialMap(1, 1, "R"),
        Cluster(3),
        SpatialMap(1, 1, "X"),
        SpatialMap(1, 1, "S"),
    )
)


def _arrays(rep: Report) -> dict[str, np.ndarray]:
    out = {}
    for name in rep.__dataclass_fields__:
        v = getattr(rep, name)
        if isinstance(v, TensorCounts):
            for t in ("input", "filter", "output"):
                out[f"{name}.{t}"] = getattr(v, t)
        elif isinstance(v, np.ndarray):
            out[name] = v
    return out


def _random_kcp(rng: np.random.Generator, n: int) -> MappingBatch:
    """Legal two-level KC-P-like mappings: output tiles never overlap (offset = size - 2)."""
    three, one = np.full(n, 3), np.ones(n, dtype=np.int64)
    k, c = rng.integers(1, 17, n), rng.integers(1, 129, n)
    c1 = rng.integers(1, c + 1)
    y, x = rng.integers(3, 12, n), rng.integers(3, 12, n)
    cl = rng.choice([3, 8, 16, 64], n)
    sizes = np.stack([k, c, three, three, y, x, cl, c1, three, three, three, three], 1)
    offs = np.stack([k, c, three, three, y - 2, x - 2, 0 * cl, c1, one, one, three, three], 1)
    return MappingBatch.of(KCP_LIKE, sizes, offs)


def test_batch_equals_one_by_one() -> None:
    batch = _random_kcp(np.random.default_rng(7), 12)
    whole = _arrays(maestro.evaluate_batch(LAYER, HW, batch))
    for i in range(len(batch)):
        single = maestro.evaluate_batch(LAYER, HW, batch.take([i]))
        for name, arr in _arrays(single).items():
            assert arr[0] == pytest.approx(whole[name][i], rel=1e-12), (i, name)


def test_report_shapes_and_feasibility() -> None:
    batch = _random_kcp(np.random.default_rng(1), 5)
    rep = maestro.evaluate_batch(LAYER, HW, batch)
    assert rep.semantics == "maestro"
    for name, arr in _arrays(rep).items():
        assert arr.shape == (5,), name
    assert len(rep.reason) == 5
    assert all((r == "") == bool(f) for r, f in zip(rep.reason, rep.feasible, strict=True))
    # The default energy table is in MAC units: energy >= MACs.
    assert np.all(rep.energy_total >= rep.macs)


def test_level_without_spatial_map_is_an_error() -> None:
    m = Mapping(directives=(TemporalMap(1, 1, "K"), Cluster(4), SpatialMap(1, 1, "C")))
    with pytest.raises(MappingError, match="cluster level 0 has no SpatialMap"):
        maestro.evaluate_batch(LAYER, HW, MappingBatch.from_mappings([m], LAYER))


def test_output_space_directive_needs_its_window() -> None:
    m = Mapping(directives=(SpatialMap(1, 1, "K"), TemporalMap(1, 1, "Y'")))
    with pytest.raises(MappingError, match="maps Y' without a R directive"):
        maestro.evaluate_batch(LAYER, HW, MappingBatch.from_mappings([m], LAYER))


def test_more_clusters_than_pes_is_infeasible_not_a_crash() -> None:
    m = Mapping(
        directives=(
            SpatialMap(1, 1, "K"),
            Cluster(64),
            SpatialMap(1, 1, "C"),
        )
    )
    rep = maestro.evaluate_batch(
        LAYER, Hardware(num_pes=32), MappingBatch.from_mappings([m], LAYER)
    )
    assert not rep.feasible[0]
    assert "more PEs" in rep.reason[0]


def test_noc_delay() -> None:
    words = [0, 1, 64, 65, 495]
    assert [maestro.noc_delay_cycles(w, 64, 1) for w in words] == [0, 1, 1, 2, 8]
    assert [maestro.noc_delay_cycles(w, 64, 0) for w in words] == [-1, 0, 0, 1, 7]


def test_scalar_api_equals_batch_of_one() -> None:
    from mapsearch.costmodel import evaluate

    batch = _random_kcp(np.random.default_rng(3), 4)
    whole = _arrays(maestro.evaluate_batch(LAYER, HW, batch))
    for i in range(len(batch)):
        single = _arrays(evaluate(LAYER, HW, batch.mapping(i), semantics="maestro"))
        for name, arr in single.items():
            assert arr[0] == pytest.approx(whole[name][i], rel=1e-12), (i, name)


def test_runtime_sweep_equals_separate_evaluations() -> None:
    from dataclasses import replace

    batch = _random_kcp(np.random.default_rng(5), 6)
    bws = [1, 7, 64, 1000]
    swept = maestro.runtime_sweep(LAYER, HW, batch, bws)
    assert swept.shape == (len(bws), len(batch))
    for k, bw in enumerate(bws):
        rep = maestro.evaluate_batch(LAYER, replace(HW, noc_bw_words_per_cycle=bw), batch)
        assert swept[k].tolist() == rep.runtime_cycles.tolist()


def test_chunked_batch_equals_unchunked(monkeypatch: pytest.MonkeyPatch) -> None:
    batch = _random_kcp(np.random.default_rng(11), 10)
    whole = _arrays(maestro.evaluate_batch(LAYER, HW, batch))
    monkeypatch.setattr(maestro, "CHUNK", 3)
    chunked = maestro.evaluate_batch(LAYER, HW, batch)
    assert len(chunked.reason) == 10
    for name, arr in _arrays(chunked).items():
        assert arr.tolist() == pytest.approx(whole[name].tolist(), rel=1e-12), name


def test_three_levels_and_gemm() -> None:
    rep = maestro.evaluate_batch(LAYER, HW, MappingBatch.from_mappings([MAERI_LIKE], LAYER))
    assert rep.macs[0] == LAYER.macs and rep.feasible[0]
    gemm = Layer.gemm("fc", M=64, N=48, K=100)
    m = Mapping(
        directives=(SpatialMap(1, 1, "M"), TemporalMap(8, 8, "N"), TemporalMap(10, 10, "K"))
    )
    rep = maestro.evaluate_batch(gemm, HW, MappingBatch.from_mappings([m], gemm))
    assert rep.macs[0] == 64 * 48 * 100
    # One M row per PE (64 of 256 busy), 8x10 MACs per step, 6 N steps x 10 K steps.
    assert rep.avg_utilized_pes[0] == 64
    assert rep.compute_delay_max[0] == 80


def test_shuffled_batch_gives_shuffled_results() -> None:
    # The sub-cluster problems of a batch are deduplicated across mappings and cases; the
    # order of the mappings must not matter.
    batch = _random_kcp(np.random.default_rng(13), 40)
    perm = np.random.default_rng(14).permutation(40)
    whole = _arrays(maestro.evaluate_batch(LAYER, HW, batch))
    shuffled = _arrays(maestro.evaluate_batch(LAYER, HW, batch.take(perm)))
    for name, arr in shuffled.items():
        assert arr.tolist() == pytest.approx(whole[name][perm].tolist(), rel=1e-12), name


def test_rows_of_one_to_three_levels_in_one_batch() -> None:
    # Templates are data, numbers of levels included: a mixed batch equals its rows scored
    # one by one, and a row MAESTRO cannot read is named with its position.
    kcp = _random_kcp(np.random.default_rng(17), 3)
    one = Mapping(
        directives=(TemporalMap(4, 4, "K"), SpatialMap(3, 1, "X"), TemporalMap(3, 3, "S"))
    )
    mixed = MappingBatch.concat(
        [kcp.take([0]), MappingBatch.from_mappings([one, MAERI_LIKE], LAYER), kcp.take([1, 2])]
    )
    assert list(maestro.analyze(LAYER, HW.num_pes, mixed).n_levels) == [2, 1, 3, 2, 2]
    whole = _arrays(maestro.evaluate_batch(LAYER, HW, mixed))
    for i in range(len(mixed)):
        for name, arr in _arrays(maestro.evaluate_batch(LAYER, HW, mixed.take([i]))).items():
            assert arr[0] == whole[name][i], (i, name)
    no_spatial = Mapping(directives=(TemporalMap(1, 1, "K"), Cluster(4), SpatialMap(1, 1, "C")))
    twice = Mapping(directives=(SpatialMap(1, 1, "K"), TemporalMap(2, 2, "K")))
    bad = MappingBatch.from_mappings([no_spatial, twice], LAYER)
    with pytest.raises(MappingError, match="mapping 1 of 8: cluster level 0 has no") as e:
        maestro.evaluate_batch(LAYER, HW, MappingBatch.concat([mixed.take([0]), bad, mixed]))
    assert tuple(e.value.rows) == (1, 2)
    assert "and 1 more mapping(s)" in str(e.value)


@pytest.mark.parametrize("name", ["vgg16.conv3_1", "alexnet.conv1"])
def test_busy_pes_are_the_step_models(name: str) -> None:
    # The compiled reading of busy PEs agrees with nest.unfold on random complete-space rows
    # (AlexNet CONV1 has stride 4, so Y'/X' directives are read in input rows).
    from mapsearch.directives.nest import unfold
    from mapsearch.hardware.presets import preset
    from mapsearch.layers.zoo import find_layer
    from mapsearch.problem import Problem
    from mapsearch.spaces.mapping_space import SpaceOptions

    layer, hw = find_layer(name), preset("edge_256")
    problem = Problem.create(layer, hw, ["edp"], options=SpaceOptions(kind="complete"))
    decoded = problem.decode(problem.genome.random(300, np.random.default_rng(5)))[0]
    assert decoded.batch is not None
    an = maestro.analyze(layer, hw.num_pes, decoded.batch)
    compared = 0
    for i in range(len(decoded.batch)):
        try:
            model = unfold(layer, decoded.batch.mapping(i), hw.num_pes)
        except MappingError:
            continue
        assert an.busy_pes[i] == max(model.busy_pes, 1), i
        compared += 1
    assert compared >= 200
