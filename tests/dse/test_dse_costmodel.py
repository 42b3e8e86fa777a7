"""The sweep against the slow path: every design scored alone through the cost model."""

from __future__ import annotations

import numpy as np
import pytest

from mapsearch.dse.analysis import analyse
from mapsearch.dse.design import evaluate_design
from mapsearch.dse.mappings import FixedDataflow, TunedDataflow
from mapsearch.dse.run import build_space, prepare_dse, run_dse, select_layers, sweep_budget
from mapsearch.dse.sweep import REASONS, sweep
from mapsearch.errors import UnknownNameError

LAYERS = select_layers("vgg16", ["conv4_1", "conv5_1", "fc8"])
SPACE = build_space(pes="32,64,128", noc_bw="8,64", l1="4,64,512", l2="64,4K,1M")
BUDGET = sweep_budget(area_mm2=60.0)


@pytest.fixture(scope="module", params=["kcp", "xp"])
def swept(request: pytest.FixtureRequest):  # type: ignore[no-untyped-def]
    provider = FixedDataflow(request.param)
    result = run_dse(
        SPACE,
        LAYERS,
        provider,
        objectives=("throughput", "energy", "area"),
        constraints=BUDGET,
        chunk_size=10,
    )
    alone = [
        evaluate_design(
            SPACE.hardware(i), LAYERS, [provider(x) for x in LAYERS], constraints=BUDGET
        )
        for i in range(SPACE.size)
    ]
    return result, alone


def test_every_design_equals_its_evaluation_alone(swept) -> None:  # type: ignore[no-untyped-def]
    result, alone = swept
    rec = result.records(np.arange(SPACE.size))
    for i, d in enumerate(alone):
        reasons = set(filter(None, str(rec["invalid_because"][i]).split("+")))
        assert reasons == set(d.fails), i
        assert bool(rec["valid"][i]) == d.valid
        assert rec["area_mm2"][i] == pytest.approx(d.area_um2 / 1e6, rel=1e-12)
        assert rec["power_mw"][i] == pytest.approx(d.power_mw, rel=1e-12)
        if "mapping" not in d.fails:
            assert rec["runtime_cycles"][i] == d.runtime_cycles
            assert rec["energy"][i] == pytest.approx(d.energy, rel=1e-12)
            assert rec["macs"][i] == d.macs
            assert rec["l1_req_words"][i] == d.l1_req_words
            assert rec["l2_req_words"][i] == d.l2_req_words
    assert result.n_valid == sum(d.valid for d in alone)
    for r in REASONS:
        assert result.fails[r] == sum(r in d.fails for d in alone)


def test_front_is_the_non_dominated_set_of_valid_designs(swept) -> None:  # type: ignore[no-untyped-def]
    result, alone = swept
    valid = [(i, d) for i, d in enumerate(alone) if d.valid]
    vec = {i: (-d.throughput_macs_per_cycle, d.energy, d.area_um2) for i, d in valid}
    expect = set()
    for v in vec.values():
        if not any(all(a <= b for a, b in zip(w, v, strict=True)) and w != v for w in vec.values()):
            twins = [j for j, w in vec.items() if w == v]
            expect.add(min(twins, key=lambda j: (alone[j].area_um2, alone[j].power_mw, j)))
    assert set(result.front.tolist()) == expect
    assert len(expect) > 0


def test_kcp_needs_64_pes() -> None:
    # KC-P clusters 64 PEs: with 32 PEs the mapping is illegal on every layer
    space = build_space(pes="32,64", noc_bw="16", l1="1K", l2="1M")
    table = analyse(space, LAYERS, FixedDataflow("kcp"))
    assert not table.feasible[0].any() and table.feasible[1].all()
    assert all("PE" in r for r in table.reasons_of(0)) and table.reasons_of(1) == []
    assert np.isinf(table.totals().runtime_cycles[0])


def test_identical_layer_shapes_are_analysed_once() -> None:
    layers = select_layers("vgg16", ["conv3_2", "conv3_3", "fc8"])
    space = build_space(pes="64", noc_bw="16", l1="64", l2="1M")
    calls: list[str] = []

    class Counting:
        name = "counting"

        def __call__(self, layer, hardware=None, semantics="maestro"):  # type: ignore[no-untyped-def]
            calls.append(layer.name)
            return FixedDataflow("kcp")(layer)

    table = analyse(space, layers, Counting())
    assert np.array_equal(table.runtime_cycles[:, 0], table.runtime_cycles[:, 1])
    assert calls.count("CONV3_3") <= 1 and "CONV3_2" in calls


def test_chunked_parallel_equals_single_chunk_on_the_cost_model() -> None:
    prep = prepare_dse(SPACE, LAYERS, FixedDataflow("kcp"), objectives=("energy", "area"))
    one = sweep(prep.problem, prep.table, chunk_size=SPACE.size)
    many = sweep(prep.problem, prep.table, chunk_size=7, jobs=2)
    assert many.front.tolist() == one.front.tolist()
    assert (many.n_valid, many.fails, many.best) == (one.n_valid, one.fails, one.best)


def test_selection_errors() -> None:
    with pytest.raises(UnknownNameError, match="conv3_1"):
        select_layers("vgg16", ["conv3_l"])
    with pytest.raises(UnknownNameError):
        FixedDataflow("kcpp")
    assert [x.name for x in select_layers("vgg16", ["VGG16.FC8"])] == ["FC8"]


def r_fits(m, layer, hw, space, semantics) -> bool:  # type: ignore[no-untyped-def]
    from mapsearch.costmodel import MappingBatch, evaluate_batch

    r = evaluate_batch(layer, hw, MappingBatch.from_mappings([m], layer), semantics=semantics)
    return bool(
        r.l1_size_words[0] <= space.l1_words[-1] and r.l2_required_words[0] <= space.l2_words[-1]
    )


@pytest.mark.parametrize("semantics", ["exact", "maestro"])
def test_tuned_mappings_beat_every_classic_dataflow_and_match_evaluation_alone(
    semantics: str,
) -> None:
    from mapsearch.costmodel import MappingBatch, evaluate_batch
    from mapsearch.directives.dataflows import dataflow
    from mapsearch.directives.validate import mapping_problems
    from mapsearch.dse.mappings import BASELINES

    layers = select_layers("vgg16", ["conv5_1", "fc8"])
    space = build_space(pes="64,128", noc_bw="16,32,64", l1="64,512", l2="64K,1M")
    provider = TunedDataflow(objective="edp", searcher="random", budget=24, seed=3)
    result = run_dse(
        space, layers, provider, objectives=("throughput", "energy"), semantics=semantics
    )
    table = result.table
    assert table.mapping_names == ("tuned", "tuned")
    n_l = len(layers)
    for c in range(space.n_cores):
        core_hw = space.core_hardware(c)
        if core_hw.noc_bw_words_per_cycle != 32:  # mappings are tuned at the middle NoC bw
            continue
        for j, layer in enumerate(layers):
            m = table.mapping[c * n_l + j]
            assert m is not None and not mapping_problems(m, layer, core_hw)
            # tuned for the largest buffers of the sweep
            assert r_fits(m, layer, core_hw, space, semantics)
            batch = MappingBatch.from_mappings([m], layer)
            r = evaluate_batch(layer, core_hw, batch, semantics=semantics)
            tuned = float(r.edp[0])
            for name in BASELINES:
                d = dataflow(name, layer)
                if mapping_problems(d, layer, core_hw):
                    continue
                rb = evaluate_batch(
                    layer, core_hw, MappingBatch.from_mappings([d], layer), semantics=semantics
                )
                fits = (
                    rb.l1_size_words[0] <= space.l1_words[-1]
                    and rb.l2_required_words[0] <= space.l2_words[-1]
                )
                if rb.feasible[0] and fits:
                    assert tuned <= float(rb.edp[0])
    # every design: the sweep equals scoring the chosen mappings on the design alone
    rec = result.records(np.arange(space.size))
    for i in range(space.size):
        core = i // space.n_capacities
        maps = [table.mapping[core * n_l + j] for j in range(n_l)]
        d = evaluate_design(  # type: ignore[arg-type]
            space.hardware(i), layers, maps, semantics=semantics
        )
        assert bool(rec["valid"][i]) == d.valid
        assert rec["runtime_cycles"][i] == d.runtime_cycles
        assert rec["energy"][i] == pytest.approx(d.energy, rel=1e-12)
    # same seed, same mappings
    again = run_dse(
        space, layers, provider, objectives=("throughput", "energy"), semantics=semantics
    )
    assert [str(m) for m in again.table.mapping] == [str(m) for m in table.mapping]


def test_the_exact_model_counts_each_layer_once_per_vector_width(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from mapsearch.costmodel import Semantics, exact

    layers = select_layers("vgg16", ["conv3_2", "fc8"])
    space = build_space(pes="64", noc_bw="8,16,64", l1="64", l2="1M", vector_width="1,2")
    counted = exact._count
    calls: list[str] = []

    def count(layer, hardware, batch, noc_bws):  # type: ignore[no-untyped-def]
        calls.append(layer.name)
        return counted(layer, hardware, batch, noc_bws)

    monkeypatch.setattr(exact, "_count", count)
    analyse(space, layers, FixedDataflow("kcp"), semantics=Semantics.EXACT)
    assert sorted(calls) == ["CONV3_2", "CONV3_2", "FC8", "FC8"]
