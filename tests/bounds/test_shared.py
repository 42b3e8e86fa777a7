"""Sets computed together share their equal step classes (``count_bounds`` with the keys
``fix_group`` gives and a few masks by ``mask_of``): a grid of two free domains of a real
table is bit for bit the same as each of its cells bounded on its own, as a set of its own
(its fixed group's least factors over that one configuration, its fixed level's mask)."""

from __future__ import annotations

import dataclasses
import itertools

import numpy as np
import pytest

from mapsearch.bounds import Bounder, _kernel
from mapsearch.bounds.combine import count_bounds, fix_group, fixed_values, group_values
from mapsearch.bounds.counts import CountBounds
from mapsearch.bounds.subspace import free_domains
from mapsearch.bounds.table import structures
from mapsearch.hardware import Hardware
from mapsearch.layers import Layer
from mapsearch.problem import Problem
from mapsearch.spaces import SpaceOptions


@pytest.mark.parametrize("objective", ["edp", "energy"])
def test_a_grid_is_its_cells_bounded_one_by_one(objective: str) -> None:
    layer = Layer.conv("c", K=4, C=2, R=3, S=1, Y=6, X=2)
    hw = Hardware(num_pes=4, l1_size_words=64, noc_bw_words_per_cycle=2)
    problem = Problem.create(layer, hw, [objective], options=SpaceOptions(levels=(1,)))
    bounder = Bounder(problem)
    grids, kinds = 0, set()
    for sb in (sb for st in structures(problem.space)[:12] for sb in bounder.structure(st)):
        orders = tuple(tuple(range(n)) for n in sb.table.order_sizes)
        groups, levels = free_domains(sb.allowed, orders)
        values = group_values(sb.table, [sb.allowed])
        for first, second in itertools.permutations(groups + levels, 2):
            grid = bounder.grid(sb, orders, values, first, second)
            for (i, a), (j, b) in itertools.product(
                enumerate(first.choices), enumerate(second.choices)
            ):
                fixed, configs = list(orders), list(sb.allowed)
                for d, choice in ((first, a), (second, b)):
                    if d.kind == "level":
                        fixed[d.index] = (choice,)
                    else:
                        configs[d.index] = np.asarray([choice], dtype=np.int64)
                mask = sb.mask(tuple(fixed))[None]
                alone = count_bounds(sb.table, mask, group_values(sb.table, [configs]), hw)
                counts = CountBounds.of_rows(alone)  # numpy objectives; the grid's are compiled
                assert bounder.objectives(counts)[0].tobytes() == grid[i, j].tobytes()
            grids += 1
            kinds.add((first.kind, second.kind))
    # one level: no grid of two levels
    assert grids > 10 and kinds == {("group", "group"), ("group", "level"), ("level", "group")}


def test_a_levels_cached_stack_is_its_masks_and_their_row_ids() -> None:
    """``level_masks`` keeps each level's stack with its row ids: the masks of its choices
    in turn, and the ids computed from them (the ones class_sums would compute)."""
    layer = Layer.conv("c", K=4, C=2, R=3, S=1, Y=6, X=2)
    problem = Problem.create(
        layer, Hardware(num_pes=4), ["edp"], options=SpaceOptions(levels=(1, 2))
    )
    bounder = Bounder(problem)
    stacks = 0
    for sb in (sb for st in structures(problem.space)[:12] for sb in bounder.structure(st)):
        orders = tuple(tuple(range(n)) for n in sb.table.order_sizes)
        for level in range(len(orders)):
            stack = sb.level_masks(orders, level)
            fixed = [sb.mask((*orders[:level], (o,), *orders[level + 1 :])) for o in orders[level]]
            np.testing.assert_array_equal(stack.masks, np.stack(fixed))
            np.testing.assert_array_equal(stack.row_ids, _kernel.row_ids(np.stack(fixed)))
            assert sb.level_masks(orders, level) is stack  # kept
            stacks += len(orders[level]) > 1
    assert stacks > 5


def test_children_on_a_group_share_the_other_groups() -> None:
    """``fix_group`` twice (a grid of two groups): cells that fix the same two
    configurations have equal keys, others not, and the keyed counts equal unkeyed ones."""
    layer = Layer.conv("c", K=4, C=2, R=3, S=1, Y=6, X=2)
    problem = Problem.create(layer, Hardware(num_pes=4), ["edp"], options=SpaceOptions(levels=(1,)))
    bounder = Bounder(problem)
    for sb in (sb for st in structures(problem.space)[:12] for sb in bounder.structure(st)):
        big = [g for g, a in enumerate(sb.allowed) if len(a) > 1]
        if len(big) < 2:
            continue
        g1, g2 = big[:2]
        a1, a2 = sb.allowed[g1], sb.allowed[g2]
        rows = np.asarray(list(itertools.product(a1, a2, a1)))  # each pair twice or more
        values = group_values(sb.table, [sb.allowed])
        values = fix_group(sb.table, values, g1, rows[:, 0])
        values = fix_group(sb.table, values, g2, rows[:, 1])
        pairs = [tuple(r) for r in rows[:, :2].tolist()]
        same = np.asarray([[p == q for q in pairs] for p in pairs])
        np.testing.assert_array_equal(values.keys[:, None] == values.keys[None, :], same)
        mask = sb.mask(tuple(tuple(range(n)) for n in sb.table.order_sizes))[None]
        keyed = count_bounds(sb.table, mask, values, problem.hardware)
        apart = dataclasses.replace(values, keys=np.arange(len(rows), dtype=np.int64))
        alone = count_bounds(sb.table, mask, apart, problem.hardware)
        assert keyed.tobytes() == alone.tobytes()
        return
    pytest.fail("no table with two free groups")


def test_fixing_a_group_is_group_values_of_the_fixed_sets() -> None:
    """``fix_group`` (compiled) from one row and from one row per set: each set's fields are
    :func:`group_values` of its configurations, bit for bit, in the same shapes and dtypes
    (the features as each set's rows), each distinct configuration's features added once."""
    layer = Layer.conv("c", K=4, C=2, R=3, S=1, Y=6, X=2)
    problem = Problem.create(layer, Hardware(num_pes=4), ["edp"], options=SpaceOptions(levels=(1,)))
    bounder = Bounder(problem)
    checked = 0
    for sb in (sb for st in structures(problem.space)[:12] for sb in bounder.structure(st)):
        big = [g for g, a in enumerate(sb.allowed) if len(a) > 1]
        if len(big) < 2:
            continue
        g1, g2 = big[:2]
        rows = np.asarray(list(itertools.product(sb.allowed[g1], sb.allowed[g2])))
        once = fix_group(sb.table, group_values(sb.table, [sb.allowed]), g1, rows[:, 0])
        twice = fix_group(sb.table, once, g2, rows[:, 1])
        for values, fixed in ((once, (g1,)), (twice, (g1, g2))):
            sets = []
            for row in rows:
                configs = list(sb.allowed)
                for g, a in zip(fixed, row, strict=False):
                    configs[g] = np.asarray([a], dtype=np.int64)
                sets.append(configs)
            want = group_values(sb.table, sets)
            distinct = sum(len(np.unique(rows[:, k])) for k in range(len(fixed)))
            assert len(values.features) == len(sb.allowed) + distinct  # each row kept once
            for name in ("features", "fill", "tile_max", "drain", "compute", "used"):
                got, ref = getattr(values, name), getattr(want, name)
                if name == "features":  # each set's rows, as group_values copies them
                    got, ref = got[values.features_of], ref[want.features_of]
                assert got.dtype == ref.dtype and got.shape == ref.shape, name
                assert got.tobytes() == ref.tobytes(), name
        checked += 1
    assert checked > 2


def test_fixed_values_are_group_values_of_the_points() -> None:
    """:func:`fixed_values` (a node's points, each group's distinct configurations' features
    kept once) gives each point :func:`group_values` of its configurations, bit for bit."""
    layer = Layer.conv("c", K=4, C=2, R=3, S=1, Y=6, X=2)
    problem = Problem.create(layer, Hardware(num_pes=4), ["edp"], options=SpaceOptions(levels=(1,)))
    bounder = Bounder(problem)
    checked = 0
    for sb in (sb for st in structures(problem.space)[:12] for sb in bounder.structure(st)):
        points = np.asarray(list(itertools.product(*sb.allowed)), dtype=np.int64)
        keys = np.arange(len(points), dtype=np.int64)
        got = fixed_values(sb.table, points, keys)
        want = group_values(sb.table, [[np.asarray([a]) for a in p] for p in points])
        assert len(got.features) == sum(
            len(np.unique(points[:, g])) for g in range(points.shape[1])
        )
        assert got.features[got.features_of].tobytes() == want.features[want.features_of].tobytes()
        for name in ("fill", "tile_max", "drain", "compute", "used", "keys"):
            a, b = getattr(got, name), getattr(want, name)
            assert a.dtype == b.dtype and a.shape == b.shape, name
            assert a.tobytes() == b.tobytes(), name
        checked += 1
    assert checked > 2
