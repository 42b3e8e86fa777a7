"""The streaming sweep on synthetic core tables (no cost model needed): chunking,
validity, budgets and the Pareto front against a per-design brute force."""

from __future__ import annotations

import math

import numpy as np
import pytest

from mapsearch.dse.analysis import CoreTable
from mapsearch.dse.run import sweep_budget
from mapsearch.dse.space import DesignSpace
from mapsearch.dse.sweep import (
    REASONS,
    SweepProblem,
    SweepResult,
    check_objectives,
    chunks,
    sweep,
)
from mapsearch.errors import HardwareError, UnknownNameError, UnsupportedError
from mapsearch.layers import Layer
from mapsearch.objectives import Constraints

SPACE = DesignSpace(
    pes=(16, 32, 64),
    vector_width=(1, 2),
    noc_bw_words_per_cycle=(4, 8, 16),
    l1_words=(8, 16, 32, 64),
    l2_words=(256, 512, 1024, 2048, 4096),
)


def maestro_area_um2(n: float, vw: float, bw: float, l1: float, l2: float) -> float:
    """docs/maestro_model.md section 10, written out again for the test."""
    a = 1.2886 * n * n + 5.5814 * n - 23.711
    um2 = (
        n * (283 * vw + 0.104 * l1)
        + 0.104 * l2
        + 101.7938 * (14.662 * n + 28.895) * bw
        + max(395.473 * a, 395.473)
    )
    return um2


def maestro_power_mw(n: float, vw: float, bw: float, l1: float, l2: float) -> float:
    a = 1.2886 * n * n + 5.5814 * n - 23.711
    noc = 0.8 * (14.662 * n + 28.895) * bw / 1000 + max(0.34 * a / 1000, 0.34)
    return 1.2223 * vw * n + 0.00345 * l1 * n + 0.00345 * l2 + noc


def synthetic_table(space: DesignSpace, seed: int = 0, n_layers: int = 2) -> CoreTable:
    """A core table with ties (equal runtimes across NoC bandwidths) and infeasible cores."""
    rng = np.random.default_rng(seed)
    n = space.n_cores
    shape = (n, n_layers)
    runtime = rng.integers(1, 6, size=shape).astype(float) * 1000
    energy = rng.integers(1, 6, size=shape).astype(float) * 100
    feasible = rng.random(shape) > 0.1
    layers = tuple(
        Layer.conv(f"L{i}", K=4, C=4, R=1, S=1, Y=2, X=2, model="toy") for i in range(n_layers)
    )
    return CoreTable(
        layers=layers,
        mapping_names=("toy",) * n_layers,
        mapping=(None,) * (n * n_layers),
        semantics="maestro",
        energy_unit="mac",
        runtime_cycles=runtime,
        energy=energy,
        macs=np.full(shape, 64.0),
        l1_req_words=rng.integers(4, 70, size=shape).astype(float),
        l2_req_words=rng.integers(200, 4200, size=shape).astype(float),
        feasible=feasible,
        reason=tuple("" if f else "bad" for f in feasible.ravel()),
    )


def run(objectives: tuple[str, ...], **kw: object) -> SweepResult:
    table = synthetic_table(SPACE)
    budget = kw.pop("budget", Constraints())
    problem = SweepProblem(
        space=SPACE,
        totals=table.totals(),
        objectives=check_objectives(objectives),
        constraints=budget,  # type: ignore[arg-type]
    )
    return sweep(problem, table, **kw)  # type: ignore[arg-type]


def limit(value: float | None) -> float:
    return math.inf if value is None else value


def per_design(budget: Constraints) -> list[dict[str, float]]:
    """Every design of SPACE evaluated alone, with plain Python."""
    table = synthetic_table(SPACE)
    rows = []
    for i in range(SPACE.size):
        hw = SPACE.hardware(i)
        core = i // SPACE.n_capacities
        args = (
            hw.num_pes,
            hw.vector_width,
            hw.noc_bw_words_per_cycle,
            hw.l1_size_words,
            hw.l2_size_words,
        )
        area_um2, power = maestro_area_um2(*args), maestro_power_mw(*args)
        runtime = float(table.runtime_cycles[core].sum())
        energy = float(table.energy[core].sum())
        fails = {
            "mapping": not table.feasible[core].all(),
            "l1": hw.l1_size_words < table.l1_req_words[core].max(),
            "l2": hw.l2_size_words < table.l2_req_words[core].max(),
            "area": area_um2 > limit(budget.area_budget_um2),
            "power": power > limit(budget.power_budget_mw),
        }
        rows.append(
            {
                "index": i,
                "throughput": float(table.macs[core].sum()) / runtime,
                "energy": energy,
                "latency": runtime,
                "edp": energy * runtime,
                "area": area_um2 / 1e6,
                "power": power,
                "valid": not any(fails.values()),
                **{f"fail_{k}": v for k, v in fails.items()},
            }
        )
    return rows


def brute_front(rows: list[dict[str, float]], objectives: tuple[str, ...]) -> set[int]:
    sign = {"throughput": -1.0}
    valid = [r for r in rows if r["valid"]]
    vec = {r["index"]: tuple(sign.get(o, 1.0) * r[o] for o in objectives) for r in valid}
    out = set()
    for r in valid:
        v = vec[r["index"]]
        if any(
            all(a <= b for a, b in zip(w, v, strict=True)) and w != v
            for j, w in vec.items()
            if j != r["index"]
        ):
            continue
        twins = [s for s in valid if vec[s["index"]] == v]
        first, second = (
            ("power", "area")
            if "power" in objectives and "area" not in objectives
            else ("area", "power")
        )
        out.add(min(twins, key=lambda s: (s[first], s[second], s["index"]))["index"])
    return out


OBJECTIVE_SETS = [
    ("throughput", "energy"),
    ("throughput", "energy", "area"),
    ("area", "power"),
    ("latency",),
    ("power", "edp"),
    ("energy", "throughput", "area", "power"),
]


@pytest.mark.parametrize("objectives", OBJECTIVE_SETS)
def test_front_and_counts_equal_per_design_brute_force(objectives: tuple[str, ...]) -> None:
    budget = sweep_budget(area_mm2=1.6, power_mw=120.0)
    rows = per_design(budget)
    res = run(objectives, budget=budget, chunk_size=50)
    assert res.n_designs == SPACE.size == len(rows)
    assert res.n_valid == sum(r["valid"] for r in rows)
    for reason in REASONS:
        assert res.fails[reason] == sum(r[f"fail_{reason}"] for r in rows)
    assert set(res.front.tolist()) == brute_front(rows, objectives)
    # front ordered by the first objective, best first
    rec = res.records(res.front)
    key = {"throughput": "throughput_macs_per_cycle", "area": "area_mm2", "power": "power_mw"}
    first = rec[
        key.get(objectives[0], {"latency": "runtime_cycles"}.get(objectives[0], objectives[0]))
    ]
    first = -first if objectives[0] == "throughput" else first
    assert np.all(np.diff(first) >= 0)
    # best per objective: the optimum over the valid designs
    for o in objectives:
        valid = [r for r in rows if r["valid"]]
        target = max(r[o] for r in valid) if o == "throughput" else min(r[o] for r in valid)
        assert rows[res.best[o]][o] == pytest.approx(target)


def test_records_match_per_design() -> None:
    budget = sweep_budget(area_mm2=1.6, power_mw=120.0)
    rows = per_design(budget)
    res = run(("throughput", "energy"), budget=budget)
    rec = res.records(np.arange(SPACE.size))
    for r in rows:
        i = r["index"]
        assert rec["area_mm2"][i] == pytest.approx(r["area"], rel=1e-12)
        assert rec["power_mw"][i] == pytest.approx(r["power"], rel=1e-12)
        assert rec["runtime_cycles"][i] == r["latency"]
        assert rec["energy"][i] == r["energy"]
        assert bool(rec["valid"][i]) == r["valid"]
        assert (rec["invalid_because"][i] == "") == r["valid"]


@pytest.mark.parametrize("objectives", OBJECTIVE_SETS[:3])
@pytest.mark.parametrize("chunk_size", [1, 7, 64, 333])
def test_chunked_equals_single_chunk(objectives: tuple[str, ...], chunk_size: int) -> None:
    one = run(objectives, chunk_size=SPACE.size)
    many = run(objectives, chunk_size=chunk_size)
    assert many.n_valid == one.n_valid and many.fails == one.fails
    assert many.front.tolist() == one.front.tolist()
    assert many.best == one.best
    assert sorted(many.sample.tolist()) == sorted(one.sample.tolist())


def test_parallel_workers_equal_single_process() -> None:
    one = run(("throughput", "energy", "area"), chunk_size=SPACE.size)
    par = run(("throughput", "energy", "area"), chunk_size=37, jobs=2)
    assert par.front.tolist() == one.front.tolist()
    assert par.n_valid == one.n_valid and par.best == one.best


def test_budgets_exclude_designs() -> None:
    free = run(("throughput",))
    tight = run(("throughput",), budget=sweep_budget(area_mm2=0.5))
    assert free.fails["area"] == 0 and tight.fails["area"] > 0
    assert tight.n_valid < free.n_valid
    rec = tight.records(tight.front)
    assert np.all(rec["area_mm2"] <= 0.5)
    none = run(("throughput",), budget=sweep_budget(area_mm2=1e-6))
    assert none.n_valid == 0 and none.front.size == 0 and none.best == {"throughput": -1}


def test_keep_streams_records_in_order() -> None:
    got: list[dict[str, np.ndarray]] = []
    res = run(("energy",), chunk_size=40, keep="valid", on_kept=got.append)
    kept = np.concatenate([r["design"] for r in got])
    assert np.all(np.diff(kept) > 0) and len(kept) == res.n_valid
    assert all(r["valid"].all() for r in got)
    # whole model = sum of the per-layer columns
    for r in got:
        assert np.array_equal(r["runtime_cycles:L0"] + r["runtime_cycles:L1"], r["runtime_cycles"])
    got.clear()
    run(("energy",), chunk_size=40, keep="all", on_kept=got.append)
    assert np.concatenate([r["design"] for r in got]).tolist() == list(range(SPACE.size))


def test_progress_callback_sees_growing_totals() -> None:
    seen: list[int] = []
    run(("energy",), chunk_size=100, on_chunk=lambda acc, _t: seen.append(acc.n_designs))
    assert seen == [min(100 * (i + 1), SPACE.size) for i in range(math.ceil(SPACE.size / 100))]


def test_objective_and_option_errors() -> None:
    names = [o.name for o in check_objectives(["Throughput", "energy", "throughput"])]
    assert names == ["throughput", "energy"]
    # the former DSE name of latency still works
    assert [o.name for o in check_objectives(["runtime", "latency"])] == ["latency"]
    with pytest.raises(UnknownNameError, match="did you mean energy"):
        check_objectives(["energi"])
    with pytest.raises(UnsupportedError, match="cannot rank a hardware sweep"):
        check_objectives(["noc_bw"])
    with pytest.raises(UnknownNameError):
        run(("energy",), keep="some")
    with pytest.raises(ValueError, match="chunk_size"):
        list(chunks(10, 0))
    with pytest.raises(HardwareError, match="budgets must be > 0"):
        sweep_budget(area_mm2=0)
    with pytest.raises(UnsupportedError, match="area and power budgets only"):
        run(("energy",), budget=Constraints(max_pes=16))


def test_row_broadcast_and_per_design_kernels_agree() -> None:
    # a long L2 axis: small chunks take the per-design path, large ones the row broadcast
    space = DesignSpace(
        pes=(16, 64),
        noc_bw_words_per_cycle=(4, 16),
        l1_words=(8, 64),
        l2_words=tuple(range(200, 4200, 20)),
    )
    table = synthetic_table(space, seed=5)
    for objectives in (("throughput", "energy"), ("area", "power")):
        problem = SweepProblem(
            space=space,
            totals=table.totals(),
            objectives=check_objectives(objectives),
            constraints=sweep_budget(area_mm2=1.0, power_mw=100.0),
        )
        whole = sweep(problem, table, chunk_size=space.size)
        small = sweep(problem, table, chunk_size=7)
        assert small.front.tolist() == whole.front.tolist()
        assert (small.n_valid, small.fails, small.best) == (whole.n_valid, whole.fails, whole.best)
        assert sorted(small.sample.tolist()) == sorted(whole.sample.tolist())
