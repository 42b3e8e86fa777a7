"""The lookahead narrows each child's domains (``OptimalSearcher._lookahead``): a choice
leaves a child's domain only when every point of the child with that choice, scored by the
exact model, is no better than what prunes the search at that moment."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from test_optimal import COMPLETE_ONE, CONV, GEMM, GEMM_TWO, HW, ONE_LEVEL, ROW, STRIDED, TWO_LEVELS

from mapsearch.problem import Problem
from mapsearch.searchers import make_searcher, optimal
from mapsearch.searchers.optimal import OptimalSearcher

#: Most points scored per narrowed-out choice.
MAX_POINTS = 200


@pytest.mark.parametrize(
    ("layer", "options", "objective"),
    [
        (CONV, ONE_LEVEL, "latency"),
        (CONV, ONE_LEVEL, "energy"),
        (STRIDED, ONE_LEVEL, "edp"),
        (ROW, COMPLETE_ONE, "edp"),
        (CONV, TWO_LEVELS, "energy"),  # groups of many configurations: families narrow too
        (GEMM, GEMM_TWO, "edp"),
    ],
)
def test_a_choice_leaves_a_child_only_when_none_of_its_points_can_win(
    layer, options, objective, monkeypatch
):
    """Seeded with the runner-up (the strongest pruning) and expanding down to the leaves,
    so that many children are narrowed."""
    problem = Problem.create(layer, HW, [objective], options=options)
    every = problem.evaluate(problem.genome.enumerate(np.arange(problem.genome.size)))
    cost = np.where(every.feasible, every.values[:, 0] * problem.objectives[0].sign, np.inf)
    truth = float(cost.min())
    runner_up = int(np.argmin(np.where(cost > truth, cost, np.inf)))
    calls = []
    lookahead = OptimalSearcher._lookahead

    def record(self, sb, orders, configs, first):
        ahead, narrowed = lookahead(self, sb, orders, configs, first)
        calls.append((sb, orders, configs, first, narrowed, self._prune_at))
        return ahead, narrowed

    monkeypatch.setattr(OptimalSearcher, "_lookahead", record)
    monkeypatch.setattr(optimal, "ENUMERATE", 1)  # expand down to the leaves: more lookaheads
    s = make_searcher("optimal")
    s.start(problem, every.take(np.asarray([runner_up])), np.random.default_rng(0))
    while len(genotypes := s.ask(64)):
        s.tell(problem.evaluate(genotypes))
    assert s.proof().closed

    rng = np.random.default_rng(3)
    dropped = 0
    for sb, orders, configs, first, narrowed, prune_at in calls:
        table = sb.table
        for k, choice in enumerate(first.choices):
            for d, kept in narrowed:
                domains = [list(orders), list(configs)]
                domains[first.kind == "group"][first.index] = (choice,)
                before = domains[d.kind == "group"][d.index]
                gone = [x for x in d.choices if x not in kept[k]]
                assert set(kept[k]) <= set(before)
                for x in gone:
                    domains[d.kind == "group"][d.index] = (x,)
                    points = list(itertools.product(*domains[0], *domains[1]))
                    n = len(orders)
                    picked = rng.permutation(len(points))[:MAX_POINTS]
                    genotypes = np.stack(
                        [
                            table.genotype(
                                points[p][:n],
                                tuple(
                                    int(g.first[a])
                                    for g, a in zip(table.groups, points[p][n:], strict=True)
                                ),
                            )
                            for p in picked
                        ]
                    )
                    ev = problem.evaluate(genotypes)
                    worth = ev.values[ev.feasible, 0] * problem.objectives[0].sign
                    assert (worth >= prune_at * (1 - 1e-9)).all(), (d, x, worth.min(), prune_at)
                    dropped += 1
    assert dropped > 0  # the search narrowed some child


def test_each_child_is_queued_with_its_own_narrowed_domains(monkeypatch):
    """The children an expansion queues carry the lookahead's narrowing of their own row."""
    problem = Problem.create(CONV, HW, ["energy"], options=ONE_LEVEL)
    monkeypatch.setattr(optimal, "ENUMERATE", 1)
    seen: list[tuple] = []
    lookahead, expand = OptimalSearcher._lookahead, OptimalSearcher._expand

    def record_lookahead(self, sb, orders, configs, first):
        ahead, narrowed = lookahead(self, sb, orders, configs, first)
        seen.append((first, narrowed))
        return ahead, narrowed

    def record_expand(self, sid, orders, configs, parent):
        before = len(seen)
        pushed = expand(self, sid, orders, configs, parent)
        if len(seen) > before:
            first, narrowed = seen[-1]
            for _, (_, c_orders, c_configs) in pushed:
                child = [c_orders, c_configs]
                (choice,) = child[first.kind == "group"][first.index]
                k = first.choices.index(choice)
                for d, kept in narrowed:
                    assert child[d.kind == "group"][d.index] == kept[k]
                    checked.append(len(kept[k]) < len(d.choices))
        return pushed

    checked: list[bool] = []
    monkeypatch.setattr(OptimalSearcher, "_lookahead", record_lookahead)
    monkeypatch.setattr(OptimalSearcher, "_expand", record_expand)
    s = make_searcher("optimal")
    first_point = problem.evaluate(problem.genome.enumerate(np.arange(1)))
    s.start(problem, first_point, np.random.default_rng(0))
    while len(genotypes := s.ask(64)):
        s.tell(problem.evaluate(genotypes))
    assert s.proof().closed
    assert any(checked)  # some queued child was narrowed
