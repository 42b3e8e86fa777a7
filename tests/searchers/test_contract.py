"""The contract every searcher passes: proposals inside the domains, same seed same result,
resumed studies continue their numbering, refusals with clear errors."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

from mapsearch.directives.validate import mapping_problems
from mapsearch.errors import UnknownNameError, UnsupportedError
from mapsearch.hardware import Hardware
from mapsearch.layers import Layer
from mapsearch.problem import Evaluation, Problem
from mapsearch.searchers import SEARCHERS, make_searcher
from mapsearch.spaces import SpaceOptions
from mapsearch.studies import RunConfig, StudyRecord, run_study
from mapsearch.studies.results import best_indices

LAYER = Layer.conv("small", K=8, C=4, R=3, S=3, Y=8, X=8)
HW = Hardware(
    name="hw16",
    num_pes=16,
    l1_size_words=256,
    noc_bw_words_per_cycle=8,
    offchip_bw_words_per_cycle=10**6,
)
# compact space, one level, loop order fixed:
# spatial 4 x K{1,2,4,8} x C{1,2,4} x Y'{1,2,3,6} x X'{1,2,3,6} = 768
OPTIONS = SpaceOptions(levels=(1,), fixed=(("L0.order", "KCYX"),), kind="compact")
# complete space, two levels of 5 x 3 PEs, orders and K, C, X' tiles fixed:
# L0.diagonal 2 x L0.tile.Y{1..6} x L1.spatial 4 x L1.diagonal 2 x L1.tile.Y{1..6} = 576;
# L1 is row stationary (SpatialMap Y and R) where L0's Y tile is one row and L1 says so.
COMPLETE = SpaceOptions(
    kind="complete",
    levels=(2,),
    fixed=(
        *((f"L{lv}.order", "KCYX") for lv in (0, 1)),
        *((f"L{lv}.tile.{d}", v) for lv in (0, 1) for d, v in (("K", "8"), ("C", "4"), ("X", "1"))),
        ("L0.spatial", "X"),
        ("L1.cluster", "3"),
    ),
)
HAS_CMAES = importlib.util.find_spec("cmaes") is not None
# CMA-ES needs the optional ``cmaes`` package (Optuna's CmaEsSampler).
ALL = [
    pytest.param(n, marks=pytest.mark.skipif(not HAS_CMAES, reason="cmaes not installed"))
    if n == "cmaes"
    else n
    for n in sorted(SEARCHERS)
]
SMALL_BATCH = {
    "exhaustive": 16,
    "tpe": 8,
    "nsga2": 8,
    "cmaes": 8,
    "random": 16,
    "qmc": 16,
    "ga": 8,
    "optimal": 8,
}
#: Searchers that finish once they have proved the optimum (they may propose fewer points).
FINISHING = ("exhaustive", "optimal")


def problem(
    objectives=("edp",), options=OPTIONS, searcher: str = "", semantics: str | None = None
) -> Problem:
    """The contract problem; under the exact semantics for the optimal searcher, whose
    bounds follow it (maestro elsewhere, the faster model, unless ``semantics`` says)."""
    semantics = semantics or ("exact" if searcher == "optimal" else "maestro")
    return Problem.create(LAYER, HW, list(objectives), options=options, semantics=semantics)


def empty(p: Problem) -> Evaluation:
    return Evaluation.concat([], p.n_genes, len(p.objectives))


def run(p: Problem, tmp_path, name: str, searcher: str, n: int, seed: int = 0):
    record = StudyRecord.open(f"sqlite:///{tmp_path / name}.sqlite3", name, p)
    result = run_study(
        p,
        record,
        RunConfig(searcher=searcher, n_trials=n, seed=seed, batch_size=SMALL_BATCH[searcher]),
    )
    return record, result


# no warning reaches the user, none is silenced wholesale; an earlier test's objects that the
# garbage collector happens to reclaim during this one (a database connection) are not this
# searcher's warnings
@pytest.mark.filterwarnings("error", "ignore::pytest.PytestUnraisableExceptionWarning")
@pytest.mark.parametrize("name", ALL)
def test_proposals_stay_inside_the_domains(name):
    p = problem(searcher=name)
    s = make_searcher(name, batch_size=SMALL_BATCH[name])
    s.start(p, empty(p), np.random.default_rng(1))
    sizes = np.asarray([g.size for g in p.genes])
    for _ in range(3):
        g = s.ask(s.batch_size)
        if name in FINISHING and len(g) < s.batch_size:
            assert g.shape[1] == p.n_genes
        else:
            assert g.shape == (s.batch_size, p.n_genes)
        assert (g >= 0).all() and (g < sizes).all()
        s.tell(p.evaluate(g))


@pytest.mark.parametrize("name", ALL)
def test_same_seed_same_result(name, tmp_path):
    p = problem(searcher=name)
    a, _ = run(p, tmp_path, "a", name, 40, seed=5)
    b, _ = run(p, tmp_path, "b", name, 40, seed=5)
    (na, ea), (nb, eb) = a.history(), b.history()
    assert np.array_equal(na, nb)
    assert np.array_equal(ea.genotypes, eb.genotypes)


@pytest.mark.parametrize(
    "name",
    [n for n in ALL if n not in FINISHING],  # deterministic: seeds play no part
)
def test_different_seeds_give_different_results(name, tmp_path):
    p = problem()
    a, _ = run(p, tmp_path, "a", name, 40, seed=5)
    b, _ = run(p, tmp_path, "b", name, 40, seed=6)
    (_, ea), (_, eb) = a.history(), b.history()
    assert not np.array_equal(ea.genotypes, eb.genotypes)


@pytest.mark.parametrize("name", ALL)
def test_resume_continues_numbering(name, tmp_path):
    p = problem(searcher=name)
    record, first = run(p, tmp_path, "s", name, 24)
    if first.exhausted:  # proved the optimum before the budget: nothing to resume
        assert name == "optimal" and first.n_evaluations < 24
        return
    assert first.n_evaluations == 24
    record, second = run(p, tmp_path, "s", name, 48)
    n = second.n_evaluations
    assert second.n_new == n - 24 and (n == 48 or (second.exhausted and name in FINISHING))
    numbers, ev = record.history()
    assert numbers.tolist() == list(range(n))
    if name == "exhaustive":
        assert len({row.tobytes() for row in ev.genotypes}) == 48
    # a finished budget does no new work
    _, third = run(p, tmp_path, "s", name, n)
    assert third.n_new == 0


@pytest.mark.parametrize("name", [n for n in sorted(SEARCHERS) if n != "cmaes"])
def test_multi_objective_runs_give_a_front(name, tmp_path):
    p = problem(("latency", "energy"), searcher=name)
    record, _ = run(p, tmp_path, "mo", name, 32)
    _, ev = record.history()
    front = best_indices(p, ev)
    assert front.size >= 1
    lat, en = ev.values[front, 0], ev.values[front, 1]
    assert np.all(np.diff(lat) >= 0) and np.all(np.diff(en) <= 0)  # sorted, non-dominated


def test_cmaes_refuses_several_objectives():
    # refused before the optional package is even looked for
    with pytest.raises(UnsupportedError, match=r"single objective.*nsga2"):
        make_searcher("cmaes").check(problem(("latency", "energy")))


def test_exhaustive_refuses_large_spaces_with_the_size():
    big = problem(options=SpaceOptions(levels=(1, 2)))
    with pytest.raises(UnsupportedError, match=f"{big.genome.size:,}"):
        make_searcher("exhaustive").check(big)


def test_unknown_searcher_suggests_names():
    with pytest.raises(UnknownNameError, match="nsga2"):
        make_searcher("nsga")


def test_exhaustive_finds_the_true_optimum(tmp_path):
    p = problem()
    record, result = run(p, tmp_path, "ex", "exhaustive", 10_000)
    assert result.exhausted and result.n_evaluations == p.genome.size == 768
    all_ev = p.evaluate(p.genome.enumerate(np.arange(p.genome.size)))
    truth = np.min(all_ev.values[all_ev.feasible, 0])
    _, ev = record.history()
    assert ev.values[best_indices(p, ev)[0], 0] == truth


def test_infeasible_candidates_are_never_best(tmp_path):
    p = problem()
    record, _ = run(p, tmp_path, "inf", "random", 64)
    _, ev = record.history()
    assert (~ev.feasible).any()  # L1 of 256 words rules some mappings out
    best = best_indices(p, ev)
    assert ev.feasible[best].all()


def test_parallel_workers_reproduce_with_the_same_seed(tmp_path):
    p = problem()
    sets = []
    for name in ("p1", "p2"):
        record = StudyRecord.open(f"sqlite:///{tmp_path / name}.sqlite3", name, p)
        result = run_study(
            p, record, RunConfig(searcher="ga", n_trials=48, seed=9, jobs=2, batch_size=8)
        )
        assert result.n_evaluations == 48
        _, ev = record.history()
        sets.append(sorted(row.tobytes() for row in ev.genotypes))
    assert sets[0] == sets[1]


@pytest.mark.parametrize("name", ALL)
def test_complete_space_genes_are_searched_into_legal_mappings(name, tmp_path):
    """Every searcher proposes inside the complete space's domains (second spatial
    dimension, filter tiles) and what it proposes decodes to legal, scored mappings."""
    p = problem(options=COMPLETE, semantics="exact")
    assert p.genome.size == 576
    record, _ = run(p, tmp_path, "c", name, 48)
    _, ev = record.history()
    sizes = np.asarray([g.size for g in p.genes])
    assert (ev.genotypes >= 0).all() and (ev.genotypes < sizes).all()
    assert ev.feasible.any()
    decoded = p.space.decode(ev.genotypes[:, : p.space.n_genes], HW.num_pes)
    assert decoded.batch is not None
    for k in range(len(decoded.batch)):
        assert mapping_problems(decoded.batch.mapping(k), LAYER, HW) == []


def test_exhaustive_finds_the_true_optimum_of_the_complete_space(tmp_path):
    p = problem(options=COMPLETE, semantics="exact")
    record, result = run(p, tmp_path, "exc", "exhaustive", 10_000)
    assert result.exhausted and result.n_evaluations == p.genome.size
    all_ev = p.evaluate(p.genome.enumerate(np.arange(p.genome.size)))
    assert all_ev.feasible.any()
    truth = np.min(all_ev.values[all_ev.feasible, 0])
    _, ev = record.history()
    assert ev.values[best_indices(p, ev)[0], 0] == truth
    # the row-stationary points were enumerated, legal and scored
    batch = p.space.decode(p.genome.enumerate(np.arange(p.genome.size)), HW.num_pes).batch
    assert batch is not None
    diagonal = [k for k in range(len(batch)) if "SpatialMap(1,1) R" in batch.mapping(k).to_text()]
    assert diagonal and all_ev.feasible[diagonal].any()
    for k in diagonal:
        assert mapping_problems(batch.mapping(k), LAYER, HW) == []


def test_every_registered_searcher_is_named_as_registered() -> None:
    for name in SEARCHERS:
        assert SEARCHERS[name].name == name
