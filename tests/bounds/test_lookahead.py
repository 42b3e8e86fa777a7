"""A free domain's minimum taken outside the sums (``Bounder.grid`` and ``Bounder.lookahead``,
the bounds the branch and bound gives a node's children): every cell of a grid is at most
every point that fixes both of its domains to the cell's choices, scored by the exact model,
and the lookahead can be tighter than the least factors."""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import numpy as np
import pytest

from mapsearch.bounds import Bounder
from mapsearch.bounds.combine import count_bounds, group_values
from mapsearch.bounds.counts import CountBounds
from mapsearch.bounds.subspace import Domain, StructureBounds, family_domain, free_domains
from mapsearch.bounds.table import structures
from mapsearch.hardware import Hardware
from mapsearch.layers import Layer
from mapsearch.problem import Problem
from mapsearch.spaces import SpaceOptions

#: Most points scored per table.
MAX_POINTS = 600


def _problem(kind: str, objective: str, levels: tuple[int, ...] = (1,)) -> Problem:
    layer = Layer.conv("c", K=4, C=2, R=3, S=1, Y=6, X=2)
    hw = Hardware(num_pes=4, l1_size_words=64, noc_bw_words_per_cycle=2)
    return Problem.create(layer, hw, [objective], options=SpaceOptions(levels=levels, kind=kind))


def _tables(
    problem: Problem, bounder: Bounder
) -> Iterator[tuple[StructureBounds, tuple[tuple[int, ...], ...], list[Domain]]]:
    """The first structures' tables with at least two free domains: each with its orders
    and those domains."""
    for st in structures(problem.space)[:12]:
        for sb in bounder.structure(st):
            orders = tuple(tuple(range(n)) for n in sb.table.order_sizes)
            groups, levels = free_domains(sb.allowed, orders)
            if len(groups + levels) >= 2:
                yield sb, orders, groups + levels


@pytest.mark.parametrize("kind", ["complete", "compact"])
@pytest.mark.parametrize("objective", ["edp", "energy", "latency"])
def test_a_grid_cell_is_never_above_a_point_that_fixes_its_choices(kind, objective):
    problem = _problem(kind, objective)
    bounder = Bounder(problem)
    rng = np.random.default_rng(7)
    cells = 0
    for sb, orders, free in _tables(problem, bounder):
        table = sb.table
        values = group_values(table, [sb.allowed])
        points = list(itertools.product(*orders, *(a.tolist() for a in sb.allowed)))
        picked = rng.permutation(len(points))[:MAX_POINTS]
        n = len(orders)
        genotypes = np.stack(
            [
                table.genotype(
                    points[k][:n],
                    tuple(
                        int(g.first[a]) for g, a in zip(table.groups, points[k][n:], strict=True)
                    ),
                )
                for k in picked
            ]
        )
        ev = problem.evaluate(genotypes)
        cost = ev.values[:, 0] * problem.objectives[0].sign
        for first, second in itertools.permutations(free[:3], 2):
            grid = bounder.grid(sb, orders, values, first, second)[:, :, 0]
            at = [0 if d.kind == "level" else n for d in (first, second)]
            for k, ok, c in zip(picked, ev.feasible, cost, strict=True):
                if not ok:
                    continue
                i = first.choices.index(points[k][at[0] + first.index])
                j = second.choices.index(points[k][at[1] + second.index])
                assert grid[i, j] <= c * (1 + 1e-9), (first, second, grid[i, j], c)
                cells += 1
    assert cells > 100  # the check saw points


def test_the_lookahead_can_be_tighter_than_the_least_factors():
    """Somewhere a free domain's least lookahead lifts the table's bound (EDP, where each
    class and count takes its own minimising choice under the least factors)."""
    problem = _problem("complete", "edp")
    bounder = Bounder(problem)
    lifted = 0
    for sb, orders, free in _tables(problem, bounder):
        table = sb.table
        values = group_values(table, [sb.allowed])
        plain = bounder.objectives(
            CountBounds.of_rows(
                count_bounds(table, sb.mask(orders)[None], values, problem.hardware)
            )
        )[0, 0]
        ahead = bounder.lookahead(sb, orders, values, free[0], free[1:])[0].min(axis=0)[0]
        assert ahead >= plain * (1 - 1e-12)  # fixing domains only raises the least factors
        lifted += ahead > plain * (1 + 1e-6)
    assert lifted > 0


def _scored(problem, sb, orders, rng):
    """Sampled points of a table (order choices, then configurations) and their costs
    (``inf`` when infeasible)."""
    table = sb.table
    points = list(itertools.product(*orders, *(a.tolist() for a in sb.allowed)))
    picked = [points[k] for k in rng.permutation(len(points))[:MAX_POINTS]]
    n = len(orders)
    genotypes = np.stack(
        [
            table.genotype(
                p[:n], tuple(int(g.first[a]) for g, a in zip(table.groups, p[n:], strict=True))
            )
            for p in picked
        ]
    )
    ev = problem.evaluate(genotypes)
    cost = np.where(ev.feasible, ev.values[:, 0] * problem.objectives[0].sign, np.inf)
    return picked, cost


@pytest.mark.parametrize("kind", ["complete", "compact"])
@pytest.mark.parametrize("objective", ["edp", "energy", "latency"])
def test_a_row_keeps_every_choice_of_its_points_that_can_win(kind, objective):
    """With a point to beat (here a percentile of the sampled points), the lookahead drops a
    choice from a row, or a whole row, only when no point of the row with it is below that:
    also when the groups are gridded under the orders the levels' grids kept, and when a row
    dropped by one grid is not gridded again."""
    problem = _problem(kind, objective, levels=(2,))
    bounder = Bounder(problem)
    rng = np.random.default_rng(11)
    checked = dropped = 0
    for sb, orders, free in _tables(problem, bounder):
        values = group_values(sb.table, [sb.allowed])
        points, cost = _scored(problem, sb, orders, rng)
        if not np.isfinite(cost).any():
            continue
        n = len(orders)
        for q, first in itertools.product((5, 20, 50), free):
            best = float(np.percentile(cost[np.isfinite(cost)], q))

            def beaten(lbs, best=best):
                return ~(lbs[:, 0] < best)

            others = [d for d in free if d != first]
            out, kept = bounder.lookahead(sb, orders, values, first, others, beaten)
            at = n if first.kind == "group" else 0
            for p, c in zip(points, cost, strict=True):
                i = first.choices.index(p[at + first.index])
                if c < best:  # a winning point: its row and its choices stay
                    assert out[i, 0] <= c * (1 + 1e-9)
                    for d, keep in zip(others, kept, strict=True):
                        where = n if d.kind == "group" else 0
                        assert keep is not None and keep[i, d.choices.index(p[where + d.index])]
                    checked += 1
            dropped += sum(int((~keep).sum()) for keep in kept if keep is not None)
    assert checked > 50 and dropped > 0  # the check saw winning points and dropped choices


def test_a_group_grid_under_a_row_s_kept_orders_drops_more():
    """Bounding a group's grid under the orders each row kept (``row_orders``) never keeps
    a choice the grid under all orders drops, and somewhere drops one it keeps (EDP, two
    levels: rare on layers this small, 7 of some 54,000 kept cells)."""
    problem = _problem("complete", "edp", levels=(2,))
    bounder = Bounder(problem)
    rng = np.random.default_rng(5)
    fewer = 0
    for sb, orders, free in _tables(problem, bounder):
        groups = [d for d in free if d.kind == "group"]
        levels = [d for d in free if d.kind == "level"]
        values = group_values(sb.table, [sb.allowed])
        _, cost = _scored(problem, sb, orders, rng)
        if not groups or not levels or not np.isfinite(cost).any():
            continue
        for q in (10, 25, 50):
            best = float(np.percentile(cost[np.isfinite(cost)], q))
            for first, group, lv in itertools.product(free, groups, levels):
                if first in (group, lv):
                    continue
                level_cells = bounder.grid(sb, orders, values, first, lv)[:, :, 0]
                rows = []
                for k, c in enumerate(first.choices):
                    row = list(orders)
                    if first.kind == "level":
                        row[first.index] = (c,)
                    kept = [o for o, v in zip(lv.choices, level_cells[k], strict=True) if v < best]
                    row[lv.index] = tuple(kept) or orders[lv.index]
                    rows.append(tuple(row))
                plain = bounder.grid(sb, orders, values, first, group)[:, :, 0] < best
                narrow = bounder.grid(sb, orders, values, first, group, rows)[:, :, 0] < best
                assert not (narrow & ~plain).any()
                fewer += int((plain & ~narrow).sum())
    assert fewer > 0


@pytest.mark.parametrize("objective", ["edp", "energy", "latency"])
def test_a_family_cell_is_never_above_its_members_cells(objective):
    """A family's least factors are at most each member's own, so the cell fixing it bounds
    every point with a member (each member's cell does: the test above). Families split a
    group's domain, each configuration in one."""
    problem = _problem("complete", objective, levels=(2,))
    bounder = Bounder(problem)
    compared = 0
    for sb, orders, free in _tables(problem, bounder):
        values = group_values(sb.table, [sb.allowed])
        for d in (d for d in free if d.kind == "group"):
            fam = family_domain(sb, d)
            if fam is None:
                continue
            members = [c for m in fam.members for c in m]
            assert sorted(members) == sorted(d.choices)  # a partition of the domain
            for first in (f for f in free if f != d):
                by_member = bounder.grid(sb, orders, values, first, d)[:, :, 0]
                by_family = bounder.grid(sb, orders, values, first, fam)[:, :, 0]
                for j, m in enumerate(fam.members):
                    at = [d.choices.index(c) for c in m]
                    assert (by_family[:, j, None] <= by_member[:, at] * (1 + 1e-12)).all()
                    compared += len(at)
    assert compared > 100


def test_families_are_the_same_for_the_same_table():
    """Seeded: two bounders of one problem split each group alike (a search's plans, and so
    its proof's work, do not change from run to run)."""
    problem = _problem("complete", "edp", levels=(2,))
    a, b = Bounder(problem), Bounder(problem)
    split = 0
    for st in structures(problem.space)[:12]:
        for x, y in zip(a.structure(st), b.structure(st), strict=True):
            for g in range(len(x.table.groups)):
                assert np.array_equal(x.families(g), y.families(g))
                split += len(np.unique(x.families(g))) > 1
    assert split > 0
