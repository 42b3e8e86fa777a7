"""``optimal`` (branch and bound) finds what exhaustive search finds and says it proved it;
stopped early, it reports a bound no point beats."""

from __future__ import annotations

import dataclasses
import time

import numpy as np
import pytest

from mapsearch.bounds import Bounder
from mapsearch.costmodel.exact import evaluate_batch
from mapsearch.directives.nest import nest_signature, unfold
from mapsearch.errors import UnsupportedError
from mapsearch.hardware import Hardware
from mapsearch.layers import Layer
from mapsearch.problem import Evaluation, Problem
from mapsearch.searchers import SEARCHERS, make_searcher, optimal
from mapsearch.searchers.optimal import OptimalSearcher, branch_score
from mapsearch.spaces import HardwareSpace, SpaceOptions
from mapsearch.spaces.handover import Handover
from mapsearch.studies import RunConfig, StudyRecord, run_study
from mapsearch.studies.fingerprint import problem_slug
from mapsearch.studies.results import best_indices

HW = Hardware(
    name="hw8",
    num_pes=8,
    l1_size_words=96,
    noc_bw_words_per_cycle=3,
    noc_latency_cycles=2,
    offchip_bw_words_per_cycle=64,
)
#: An L1 that holds few tiles: a node's fixed tiles leave the free groups little room.
TIGHT = Hardware(
    name="tight",
    num_pes=6,
    l1_size_words=40,
    noc_bw_words_per_cycle=2,
    noc_latency_cycles=1,
    offchip_bw_words_per_cycle=64,
)
CONV = Layer.conv("conv", K=6, C=4, R=3, S=3, Y=6, X=6)
STRIDED = Layer.conv("strided", K=4, C=3, R=3, S=3, Y=9, X=7, stride=2)
DEPTHWISE = Layer.dsconv("dw", C=6, R=3, S=3, Y=6, X=6)
GEMM = Layer.gemm("gemm", M=12, N=6, K=8)
#: Compact spaces (one spatial dimension per level): small enough to enumerate.
ONE_LEVEL = SpaceOptions(levels=(1,), tiles="any", kind="compact")
TWO_LEVELS = SpaceOptions(
    levels=(1, 2),
    fixed=(("L0.order", "KCYX"), ("L1.order", "CKXY"), ("L0.spatial", "K"), ("L1.spatial", "Y")),
    kind="compact",
)
DW_TWO = SpaceOptions(
    levels=(1, 2),
    fixed=(("L0.order", "CYX"), ("L1.order", "XYC"), ("L0.spatial", "C"), ("L1.spatial", "X")),
    kind="compact",
)
GEMM_TWO = SpaceOptions(
    levels=(1, 2),
    fixed=(("L0.order", "MNK"), ("L1.order", "KMN"), ("L0.spatial", "M"), ("L1.spatial", "N")),
    kind="compact",
)
#: Complete spaces. A small conv, two levels: ``L1.diagonal`` (row stationary) takes
#: effect where the ``L0`` tile of ``Y`` is one output row, any cluster size 1-8.
SMALL = Layer.conv("small", K=2, C=2, R=3, S=3, Y=5, X=5)
DIAGONAL_TWO = SpaceOptions(
    kind="complete",
    levels=(2,),
    fixed=(
        ("L0.order", "KCYX"),
        ("L1.order", "CKXY"),
        ("L0.spatial", "K"),
        ("L0.diagonal", "no"),
        ("L1.spatial", "Y"),
    ),
)
#: One output row: a diagonal top level takes effect.
ROW = Layer.dsconv("row", C=4, R=3, S=3, Y=3, X=5)
#: Stride 2: one-row steps and pads.
STEPPED = Layer.conv("stepped", K=2, C=2, R=3, S=1, Y=9, X=1, stride=2)
COMPLETE_ONE = SpaceOptions(kind="complete", levels=(1,))
#: A 1 x 1 convolution: structures that spread ``C`` over the PEs in different clusters
#: repeat each other's nodes (:class:`mapsearch.bounds.content.ContentIds`).
POINTWISE = Layer.conv("pw", K=2, C=4, R=1, S=1, Y=1, X=2)
WIDE = Layer.conv("wide", K=4, C=8, R=1, S=1, Y=2, X=2)
COMPLETE_TWO = SpaceOptions(
    kind="complete", levels=(2,), fixed=(("L0.order", "CKX"), ("L1.order", "XKC"))
)


def run(problem: Problem, searcher: str, tmp_path, n: int | None = None, batch: int = 64):
    name = f"{searcher}-{problem_slug(problem)}"
    record = StudyRecord.open(f"sqlite:///{tmp_path / name}.sqlite3", name, problem)
    result = run_study(
        problem,
        record,
        RunConfig(searcher=searcher, n_trials=n or problem.genome.size, batch_size=batch),
    )
    _, ev = record.history()
    return result, ev


def optimum(problem: Problem) -> float:
    ev = problem.evaluate(problem.genome.enumerate(np.arange(problem.genome.size)))
    costs = ev.values[ev.feasible, 0] * problem.objectives[0].sign
    return float(costs.min())


@pytest.mark.parametrize(
    ("layer", "options", "objective", "hardware"),
    [
        (*case, HW) if len(case) == 3 else case
        for case in [
            (CONV, ONE_LEVEL, "latency"),
            (CONV, ONE_LEVEL, "energy"),
            (CONV, ONE_LEVEL, "edp"),
            (CONV, TWO_LEVELS, "latency"),
            (CONV, TWO_LEVELS, "edp"),
            (STRIDED, ONE_LEVEL, "edp"),
            (STRIDED, TWO_LEVELS, "energy"),
            (DEPTHWISE, DW_TWO, "latency"),
            (GEMM, GEMM_TWO, "edp"),
            (GEMM, ONE_LEVEL, "throughput"),
            (SMALL, DIAGONAL_TWO, "latency"),
            (SMALL, DIAGONAL_TWO, "energy"),
            (ROW, COMPLETE_ONE, "latency"),
            (ROW, COMPLETE_ONE, "edp"),
            (STEPPED, COMPLETE_ONE, "latency"),
            (STEPPED, COMPLETE_ONE, "energy"),
            (DEPTHWISE, DW_TWO, "edp"),
            (SMALL, DIAGONAL_TWO, "edp"),
            (STEPPED, COMPLETE_ONE, "edp"),
            (CONV, TWO_LEVELS, "energy", TIGHT),
            (CONV, TWO_LEVELS, "edp", TIGHT),
            (GEMM, GEMM_TWO, "edp", TIGHT),
            (POINTWISE, COMPLETE_TWO, "edp"),
        ]
    ],
)
def test_optimal_equals_exhaustive_and_says_it_proved_it(
    layer, options, objective, hardware, tmp_path
):
    problem = Problem.create(layer, hardware, [objective], options=options)
    assert problem.genome.size <= 60_000  # enumerable: the ground truth below is every point
    truth = optimum(problem)
    result, ev = run(problem, "optimal", tmp_path)
    best = ev.values[best_indices(problem, ev)[0], 0] * problem.objectives[0].sign
    assert best == pytest.approx(truth, rel=1e-12)
    assert result.exhausted and result.proof is not None and result.proof.closed
    assert result.proof.lower_cost == pytest.approx(truth, rel=1e-9)
    assert result.n_evaluations < problem.genome.size


def test_on_the_complete_space_it_first_hands_over_the_compact_search():
    """The warm-up: the first points a complete-space search asks are those a search of the
    compact space asks first, as complete-space genotypes of the same mappings and values
    (the compact optimum comes early);
    a fixed ``diagonal`` gene has no compact counterpart, and then there is no warm-up."""
    problem = Problem.create(ROW, HW, ["latency"], options=COMPLETE_ONE)
    compact = Problem.create(
        ROW, HW, ["latency"], options=dataclasses.replace(COMPLETE_ONE, kind="compact")
    )
    none = Evaluation.concat([], problem.n_genes, 1)
    searcher, alone = OptimalSearcher(), OptimalSearcher()
    searcher.start(problem, none, np.random.default_rng(0))
    alone.start(compact, Evaluation.concat([], compact.n_genes, 1), np.random.default_rng(0))
    first, expected = searcher.ask(16), alone.ask(16)
    assert len(first) == len(expected) > 0
    for g, c in zip(first, expected, strict=True):  # the same mapping, as it is handed over
        assert problem.space.mapping(g, HW.num_pes) == compact.space.mapping(c, HW.num_pes)
    np.testing.assert_array_equal(problem.evaluate(first).values, compact.evaluate(expected).values)
    searcher.tell(problem.evaluate(first))
    assert searcher._warm is not None  # still searching the compact space
    fixed = dataclasses.replace(COMPLETE_ONE, fixed=(("L0.diagonal", "yes"),))
    diagonal = Problem.create(ROW, HW, ["latency"], options=fixed)
    searcher.start(diagonal, Evaluation.concat([], diagonal.n_genes, 1), np.random.default_rng(0))
    assert searcher._warm is None


@pytest.mark.parametrize("layer", [CONV, STRIDED, DEPTHWISE, GEMM])
@pytest.mark.parametrize("tiles", ["divisors", "any"])
def test_the_handover_gives_each_compact_genotype_its_mapping_in_the_complete_space(layer, tiles):
    """:class:`~mapsearch.spaces.handover.Handover` reads compact genotypes in the
    complete space: the same mappings, so the same values (random genotypes, both kinds of
    tiles, one and two levels)."""
    complete = Problem.create(layer, HW, ["edp"], options=SpaceOptions(tiles=tiles))
    compact = Problem.create(layer, HW, ["edp"], options=SpaceOptions(tiles=tiles, kind="compact"))
    handover = Handover.between(compact.space, complete.space)
    assert handover is not None
    rng = np.random.default_rng(0)
    genotypes = np.stack([rng.integers(g.size, size=200) for g in compact.genes], axis=1)
    handed = handover.genotypes(genotypes)
    ev, again = compact.evaluate(genotypes), complete.evaluate(handed)
    np.testing.assert_array_equal(ev.values, again.values)
    np.testing.assert_array_equal(ev.violation, again.violation)
    for g, h in zip(genotypes[ev.feasible], handed[ev.feasible], strict=True):
        assert complete.space.mapping(h, HW.num_pes) == compact.space.mapping(g, HW.num_pes)


def _warm_asks(searcher: OptimalSearcher, problem: Problem, n: int = 16) -> int:
    """Points the warm-up of a started complete-space search asks (``n`` at a time) before
    it ends."""
    asked = 0
    while searcher._warm is not None:
        points = searcher.ask(n)
        if searcher._warm is not None:
            asked += len(points)
        searcher.tell(problem.evaluate(points))
    return asked


def test_the_warm_up_prunes_with_the_complete_search_best():
    """Seeded with the compact optimum, the warm-up asks at most half the points it asks
    unseeded (here none against 19): it prunes what cannot beat the complete search's best,
    not only its own."""
    problem = Problem.create(ROW, HW, ["latency"], options=COMPLETE_ONE)
    compact = Problem.create(
        ROW, HW, ["latency"], options=dataclasses.replace(COMPLETE_ONE, kind="compact")
    )
    alone = OptimalSearcher()
    alone.start(compact, Evaluation.concat([], compact.n_genes, 1), np.random.default_rng(0))
    history = [Evaluation.concat([], compact.n_genes, 1)]
    while len(points := alone.ask(64)):
        history.append(compact.evaluate(points))
        alone.tell(history[-1])
    ev = Evaluation.concat(history, compact.n_genes, 1)
    best = ev.genotypes[np.argmin(np.where(ev.feasible, ev.values[:, 0], np.inf))]
    seed = problem.space.encode(compact.space.mapping(best, HW.num_pes))
    assert seed is not None
    counts = []
    for seeds in (Evaluation.concat([], problem.n_genes, 1), problem.evaluate(seed[None])):
        searcher = OptimalSearcher()
        searcher.start(problem, seeds, np.random.default_rng(0))
        counts.append(_warm_asks(searcher, problem))
    assert counts[0] > 0 and counts[1] <= counts[0] // 2, counts


def test_the_warm_up_ends_once_it_cannot_lower_the_best_by_more_than_its_gap(monkeypatch):
    """With a wide :data:`~mapsearch.searchers.optimal.WARM_GAP` the warm-up hands over
    fewer points than with none (it stops once its least open bound is that close to the
    best point, not when its own proof closes), and the complete search still proves the
    optimum the search without the gap proves."""
    problem = Problem.create(
        CONV, HW, ["edp"], options=dataclasses.replace(TWO_LEVELS, kind="complete")
    )
    asks, optima = [], []
    for gap in (0.0, 0.5):
        monkeypatch.setattr(optimal, "WARM_GAP", gap)
        searcher = OptimalSearcher()
        searcher.start(problem, Evaluation.concat([], problem.n_genes, 1), np.random.default_rng(0))
        asks.append(_warm_asks(searcher, problem, n=1))
        while len(points := searcher.ask(64)):
            searcher.tell(problem.evaluate(points))
        proof = searcher.proof()
        assert proof.closed
        optima.append(proof.lower_cost)
    assert 0 < asks[1] < asks[0], asks
    assert optima[1] == pytest.approx(optima[0], rel=1e-12)


def test_on_latency_the_warm_up_has_no_gap(monkeypatch):
    """Latency's open rows are a few cycles apart, so its warm-up runs until it closes (or
    its share of the time ends) whatever :data:`~mapsearch.searchers.optimal.WARM_GAP`
    says: it hands over as many points with a wide gap as with none."""
    problem = Problem.create(
        CONV, HW, ["latency"], options=dataclasses.replace(TWO_LEVELS, kind="complete")
    )
    asks = []
    for gap in (0.0, 0.5):
        monkeypatch.setattr(optimal, "WARM_GAP", gap)
        searcher = OptimalSearcher()
        searcher.start(problem, Evaluation.concat([], problem.n_genes, 1), np.random.default_rng(0))
        asks.append(_warm_asks(searcher, problem, n=1))
    assert asks[0] > 0 and asks[1] == asks[0], asks


@pytest.mark.parametrize(
    ("layer", "options", "objective", "hardware"),
    [
        (CONV, TWO_LEVELS, "latency", HW),
        (CONV, TWO_LEVELS, "edp", HW),
        (STRIDED, ONE_LEVEL, "latency", HW),
        (SMALL, DIAGONAL_TWO, "latency", HW),
        (CONV, TWO_LEVELS, "energy", TIGHT),
    ],
)
def test_seeded_with_the_runner_up_it_still_finds_and_proves_the_optimum(
    layer, options, objective, hardware
):
    """The strongest pruning from the first node on: every configuration or order whose
    child cannot beat the runner-up leaves its node, and the optimum must survive that."""
    problem = Problem.create(layer, hardware, [objective], options=options)
    every = problem.evaluate(problem.genome.enumerate(np.arange(problem.genome.size)))
    cost = np.where(every.feasible, every.values[:, 0] * problem.objectives[0].sign, np.inf)
    truth = float(cost.min())
    runner_up = int(np.argmin(np.where(cost > truth, cost, np.inf)))
    s = make_searcher("optimal")
    s.start(problem, every.take(np.asarray([runner_up])), np.random.default_rng(0))
    points = [every.take(np.asarray([runner_up]))]
    while len(genotypes := s.ask(64)):
        points.append(problem.evaluate(genotypes))
        s.tell(points[-1])
    ev = Evaluation.concat(points, problem.n_genes, 1)
    found = ev.values[ev.feasible, 0] * problem.objectives[0].sign
    assert float(found.min()) == pytest.approx(truth, rel=1e-12)
    proof = s.proof()
    assert proof.closed and proof.lower_cost == pytest.approx(truth, rel=1e-9)
    assert len(ev) < problem.genome.size


@pytest.mark.parametrize("objectives", [("latency", "energy"), ("edp", "energy")])
def test_a_certified_front_equals_the_exhaustive_front(objectives, tmp_path):
    problem = Problem.create(CONV, HW, list(objectives), options=ONE_LEVEL)
    every = problem.evaluate(problem.genome.enumerate(np.arange(problem.genome.size)))
    truth = every.values[best_indices(problem, every)]
    result, ev = run(problem, "optimal", tmp_path)
    found = ev.values[best_indices(problem, ev)]
    assert result.proof is not None and result.proof.closed
    assert np.array_equal(np.unique(found, axis=0), np.unique(truth, axis=0))


@pytest.mark.parametrize("n", [1, 2, 3])
def test_stopped_early_it_reports_a_bound_no_point_beats(n, tmp_path):
    problem = Problem.create(STRIDED, HW, ["latency"], options=ONE_LEVEL)
    truth = optimum(problem)
    result, ev = run(problem, "optimal", tmp_path, n=n, batch=1)
    assert result.n_evaluations == n or (result.exhausted and result.n_evaluations < n)
    assert result.proof is not None
    best = ev.values[best_indices(problem, ev)[0], 0]
    assert result.proof.lower_cost <= truth <= best
    if result.proof.closed:
        assert best == truth == result.proof.lower_cost
    if n == 1:  # its first point is not the optimum: the space stays open
        assert not result.proof.closed and best > truth


@pytest.mark.parametrize("share", [0.0, 0.5, 0.95, 1.0])
def test_the_open_bound_is_the_least_key_of_a_queued_node_no_dive_took(share):
    """``proof`` walks the heap from its root; it gives what reading every queued node
    gives, whichever of them dives took (``share`` of them, at random) and wherever the
    best point cuts the keys."""
    problem = Problem.create(WIDE, HW, ["edp"], options=SpaceOptions(kind="compact", levels=(1, 2)))
    s = make_searcher("optimal")
    s.start(
        problem, problem.evaluate(problem.genome.enumerate(np.arange(1))), np.random.default_rng(0)
    )
    s.tell(problem.evaluate(s.ask(4)))
    assert len(s._heap) >= 1000
    rng = np.random.default_rng(1)
    for cut in np.quantile([e[0] for e in s._heap], [0.01, 0.5, 1.0]):
        s._prune_at = float(cut) * (1 + 1e-12)
        s._taken = {e[3] for e in s._heap if rng.random() < share}
        keys = [e[0] for e in s._heap if e[3] not in s._taken and e[0] < s._prune_at]
        keys += [k for k, _ in s._pending]
        proof = s.proof()
        assert proof.lower_cost == min([float(s._front[:, 0].min()), *keys])
        assert proof.closed == (not keys)


def test_past_its_deadline_an_ask_returns_with_nothing_and_a_sound_open_bound():
    problem = Problem.create(STRIDED, HW, ["latency"], options=ONE_LEVEL)
    truth = optimum(problem)
    s = make_searcher("optimal")
    empty = Evaluation.concat([], problem.n_genes, 1)
    s.start(problem, empty, np.random.default_rng(0), deadline=time.time() - 1)
    assert len(s.ask(64)) == 0
    proof = s.proof()
    assert proof is not None and not proof.closed
    assert 0 < proof.lower_cost <= truth


@pytest.mark.parametrize(
    ("layer", "options", "objective"),
    [(STRIDED, ONE_LEVEL, "latency"), (SMALL, DIAGONAL_TWO, "edp"), (ROW, COMPLETE_ONE, "edp")],
)
@pytest.mark.parametrize("asks", [0, 1, 3])
def test_an_open_proof_is_at_least_the_root_bound(layer, options, objective, asks):
    """The certificate takes a searcher's proof without the space's root bound (it costs a
    pass over every structure): at any point of the search, the proof is at least it."""
    problem = Problem.create(layer, HW, [objective], options=options)
    s = make_searcher("optimal")
    s.start(problem, Evaluation.concat([], problem.n_genes, 1), np.random.default_rng(0))
    for _ in range(asks):
        genotypes = s.ask(4)
        if len(genotypes):
            s.tell(problem.evaluate(genotypes))
    proof = s.proof()
    assert proof is not None
    assert proof.lower_cost >= Bounder(problem).space_root()[0]


class _SlowOptimal(OptimalSearcher):
    """Branch and bound whose every ask starts after the run's deadline (a plateau that
    outlasts ``--timeout``, without waiting for one)."""

    def start(self, problem, history, rng, *, worker=0, n_workers=1, deadline=None):
        super().start(problem, history, rng, worker=worker, n_workers=n_workers, deadline=deadline)
        self._until = deadline

    def ask(self, n):
        assert self._until is not None
        time.sleep(max(0.0, self._until - time.time()) + 0.01)
        return super().ask(n)


def test_a_run_out_of_time_inside_an_ask_stops_with_an_open_sound_bound(monkeypatch, tmp_path):
    problem = Problem.create(STRIDED, HW, ["latency"], options=ONE_LEVEL)
    truth = optimum(problem)
    monkeypatch.setitem(SEARCHERS, "optimal", _SlowOptimal)
    name = f"timeout-{problem_slug(problem)}"
    record = StudyRecord.open(f"sqlite:///{tmp_path / name}.sqlite3", name, problem)
    result = run_study(
        problem, record, RunConfig.create(searcher="optimal", timeout_s=2.0, batch_size=64)
    )
    # out of time, not out of points: the space is open and its bound is sound
    assert not result.exhausted and not result.interrupted
    assert result.proof is not None and not result.proof.closed
    assert 0 < result.proof.lower_cost <= truth
    assert result.n_evaluations == 0 and result.wall_s < 2.0 + 30


def test_branching_prefers_children_that_leave_the_plateau_over_fewer_children():
    """A level whose 3 orders all tie at the least bound lifts nothing; a group of 4
    configurations with 2 at the least leaves 2 children above it (ResNet50 CONV2_1_1 EDP,
    docs/certified.md). Same least and same ties: fewer children; a larger least wins."""
    group, level = np.array([5.0, 5.0, 6.0, 7.0]), np.array([5.0, 5.0, 5.0])
    assert branch_score(group) > branch_score(level)
    assert branch_score(np.array([5.0, 6.0])) > branch_score(np.array([5.0, 6.0, 7.0]))
    assert branch_score(np.array([5.0, 5.0, 5.0])) > branch_score(np.array([4.0, 9.0]))


@pytest.mark.parametrize("objective", ["edp", "latency"])
def test_once_the_proof_closes_it_asks_no_more_neighbours(objective):
    """The best point's neighbours only look for a better point, which a closed proof rules
    out: the run ends with some of them never asked, at the optimum."""
    problem = Problem.create(STRIDED, HW, [objective], options=ONE_LEVEL)
    s = make_searcher("optimal")
    s.start(
        problem, problem.evaluate(problem.genome.enumerate(np.arange(1))), np.random.default_rng(0)
    )
    points = []
    while len(genotypes := s.ask(64)):
        points.append(problem.evaluate(genotypes))
        s.tell(points[-1])
        assert not s.proof().closed or not len(s.ask(64))  # closed: nothing more
    assert s.proof().closed and s.proof().lower_cost == pytest.approx(optimum(problem), rel=1e-12)
    assert s._polish or s._centre is not None  # neighbours left unasked


def test_resuming_a_proved_study_proves_it_again_without_new_points(tmp_path):
    problem = Problem.create(CONV, HW, ["latency"], options=ONE_LEVEL)
    first, _ = run(problem, "optimal", tmp_path)
    again, _ = run(problem, "optimal", tmp_path)
    assert again.n_new == 0 and again.proof is not None and again.proof.closed
    assert again.proof.lower_cost == first.proof.lower_cost


@pytest.mark.parametrize(
    ("problem", "message"),
    [
        (Problem.create(CONV, HW, ["edp"], semantics="maestro"), "needs --semantics exact"),
        (
            Problem.create(
                CONV, HW, ["edp"], co_design=HardwareSpace.around(HW, [("num_pes", (4, 8))])
            ),
            "drop --co-design",
        ),
        (Problem.create(CONV, HW, ["noc_bw"]), "no useful bound for noc_bw"),
    ],
    ids=["maestro", "co-design", "noc-bw"],
)
def test_refusals_say_what_to_do(problem, message):
    s = make_searcher("optimal")
    with pytest.raises(UnsupportedError, match=message):
        s.check(problem)
    with pytest.raises(UnsupportedError, match=message):
        s.start(problem, Evaluation.concat([], problem.n_genes, 1), np.random.default_rng(0))


@pytest.mark.parametrize(
    ("layer", "options"), [(CONV, ONE_LEVEL), (STRIDED, TWO_LEVELS), (ROW, COMPLETE_ONE)]
)
def test_an_enumerated_leaf_s_edp_bound_is_its_edp(layer, options, monkeypatch):
    """A node of at most ``ENUMERATE`` points bounds each point with its later steps timed
    as the model times them, for EDP too (each set is one point: one combination to
    time): the bound of a leaf the counts leave open is its EDP (up to a coupled group),
    never above it. With the summed bound alone, leaves tied with the optimum stayed
    0.01% under it and were all evaluated (ResNet50 CONV4_1_1, EDP, 168 PEs: 753,104)."""
    problem = Problem.create(layer, HW, ["edp"], options=options)
    calls = []
    leaf_bounds = OptimalSearcher._leaf_bounds

    def record(self, sb, orders, configs):
        points, lbs = leaf_bounds(self, sb, orders, configs)
        calls.append((self._problem, sb, points, len(orders), lbs[:, 0], self._beaten(lbs)))
        return points, lbs

    monkeypatch.setattr(OptimalSearcher, "_leaf_bounds", record)
    s = make_searcher("optimal")
    s.start(
        problem, problem.evaluate(problem.genome.enumerate(np.arange(1))), np.random.default_rng(0)
    )
    while len(genotypes := s.ask(64)):
        s.tell(problem.evaluate(genotypes))
    assert s.proof().closed
    bounds, values = [], []
    for searched, sb, points, n, lbs, beaten in calls:  # the compact warm-up's calls too
        table = sb.table
        open_points = np.asarray(points)[~beaten]
        if not len(open_points):
            continue
        ev = searched.evaluate(
            np.stack(
                [
                    table.genotype(
                        tuple(p[:n].tolist()),
                        tuple(int(g.first[a]) for g, a in zip(table.groups, p[n:], strict=True)),
                    )
                    for p in open_points
                ]
            )
        )
        bounds.append(lbs[~beaten][ev.feasible])
        values.append(ev.values[ev.feasible, 0])
    bounds_, values_ = np.concatenate(bounds), np.concatenate(values)
    assert len(bounds_) >= 10
    assert (bounds_ <= values_ * (1 + 1e-9)).all()
    assert np.mean(bounds_ >= values_ * (1 - 1e-9)) >= 0.95, np.mean(bounds_ >= values_)


def _same_plan(a: optimal._Plan, b: optimal._Plan) -> bool:
    if a.enumerate != b.enumerate or len(a.children) != len(b.children):
        return False
    return all(
        np.array_equal(x[0], y[0]) and x[1:] == y[1:]
        for x, y in zip(a.children, b.children, strict=True)
    )


def test_nodes_of_the_same_content_get_the_same_plan(monkeypatch, tmp_path):
    """Two nodes whose tables have the same masks and parts and whose domains hold
    configurations of the same factor rows, position by position, get the same plan
    (bounds, filtering, branching, lookahead), so a repeated node takes the first one's
    plan instead of its own; an enumerated node whose configurations also time their steps
    alike gets the same bounds of its points (timed for EDP). Each node the search meets
    again (in another table, or with other configurations of the same rows) is planned, or
    its points bounded, afresh, as is the first, and the two compared; the search that
    shares them proves the same optimum as one that shares nothing."""
    problem = Problem.create(WIDE, HW, ["edp"], options=SpaceOptions(kind="complete", levels=(2,)))
    first: dict[tuple[object, ...], tuple[object, tuple[tuple[int, ...], ...]]] = {}
    compared, leaves = [], []
    expand, enumerated = OptimalSearcher._expand, OptimalSearcher._enumerated

    def compare(self, sid, orders, configs, parent):
        key = self._contents.key(self._tables[sid].table, orders, configs)
        sid_a, configs_a = first.setdefault(key, (sid, configs))
        if (sid_a, configs_a) != (sid, configs):
            fresh = self._plan(self._tables[sid], orders, configs)
            shared = self._plan(self._tables[sid_a], orders, configs_a)
            compared.append(_same_plan(optimal._translated(shared, configs_a, configs), fresh))
        return expand(self, sid, orders, configs, parent)

    def compare_leaves(self, sb, orders, configs):
        key = (
            "leaves",
            self._contents.key(sb.table, orders, configs),
            self._contents.timing_key(sb.steps, configs),
        )
        sb_a, configs_a = first.setdefault(key, (sb, configs))
        if (sb_a, configs_a) != (sb, configs):
            fresh = self._leaf_bounds(sb, orders, configs)[1]
            leaves.append(np.array_equal(self._leaf_bounds(sb_a, orders, configs_a)[1], fresh))
        return enumerated(self, sb, orders, configs)

    monkeypatch.setattr(OptimalSearcher, "_expand", compare)
    monkeypatch.setattr(OptimalSearcher, "_enumerated", compare_leaves)
    shared, _ = run(problem, "optimal", tmp_path, n=100_000)
    assert len(compared) >= 200 and all(compared), (len(compared), sum(compared))
    assert len(leaves) >= 20 and all(leaves), (len(leaves), sum(leaves))
    monkeypatch.setattr(OptimalSearcher, "_expand", expand)
    monkeypatch.setattr(OptimalSearcher, "_enumerated", enumerated)
    monkeypatch.setattr(optimal, "ContentIds", lambda: None)  # nothing shared
    alone, _ = run(problem, "optimal", tmp_path / "alone", n=100_000)
    assert shared.proof.closed and alone.proof.closed
    assert shared.proof.lower_cost == alone.proof.lower_cost


@pytest.mark.parametrize("layer", [Layer.conv("fc", K=4, C=6, R=3, S=3, Y=3, X=3), SMALL, STEPPED])
def test_points_of_one_loop_nest_cost_the_same(layer):
    """The search queues one leaf per loop nest (``nest_signature``: loops of one trip
    left out), so the points of a nest must cost the same: every order of sampled points
    (where loops of one trip sit changes nothing else), scored by the exact model, equal
    in every count and objective within each nest."""
    problem = Problem.create(
        layer, HW, ["latency", "energy", "edp"], options=SpaceOptions(kind="complete")
    )
    genes = [g.name for g in problem.genes]
    orders = [genes.index(n) for n in genes if n.endswith(".order")]
    rng = np.random.default_rng(3)
    sizes = np.asarray([g.size for g in problem.genes])
    base = rng.integers(0, sizes, size=(400, len(sizes)))
    variants = []
    for g in base:
        for col in orders:  # every order of one level, the rest of the point kept
            v = np.repeat(g[None], sizes[col], axis=0)
            v[:, col] = np.arange(sizes[col])
            variants.append(v)
    points = np.unique(np.concatenate(variants), axis=0)
    decoded = problem.space.decode(points, HW.num_pes)
    points = points[decoded.rows]
    report = evaluate_batch(layer, HW, decoded.batch)
    values = problem.evaluate(points).values
    counts = np.stack(
        [report.runtime_cycles, report.macs]
        + [
            getattr(getattr(report, level), role)
            for level in ("l1_writes", "l2_reads", "l2_writes")
            for role in ("input", "filter", "output")
        ],
        axis=1,
    )
    nests: dict[tuple[object, ...], list[int]] = {}
    for k in range(len(points)):
        mapping = decoded.batch.mapping(k)
        nests.setdefault(nest_signature(unfold(layer, mapping, HW.num_pes)), []).append(k)
    shared = [rows for rows in nests.values() if len(rows) > 1]
    assert len(shared) >= 50, len(shared)  # the sample has nests of several points
    for rows in shared:
        np.testing.assert_array_equal(counts[rows], np.repeat(counts[rows[:1]], len(rows), 0))
        np.testing.assert_array_equal(values[rows], np.repeat(values[rows[:1]], len(rows), 0))


@pytest.mark.parametrize(("layer", "options"), [(ROW, COMPLETE_ONE), (CONV, ONE_LEVEL)])
def test_it_queues_one_leaf_per_loop_nest_and_still_proves_the_optimum(layer, options):
    problem = Problem.create(layer, HW, ["edp"], options=options)
    searcher = OptimalSearcher()
    searcher.start(problem, Evaluation.concat([], problem.n_genes, 1), np.random.default_rng(0))
    while len(points := searcher.ask(64)):
        searcher.tell(problem.evaluate(points))
    assert searcher.same_nest > 0  # leaves not queued: one of their nest was
    proof = searcher.proof()
    assert proof.closed and proof.lower_cost == pytest.approx(optimum(problem), rel=1e-9)
