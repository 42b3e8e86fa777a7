"""The later steps' exact cycles (``mapsearch.bounds.steps``) lift the runtime bound soundly:
a set's bound is never above a point of it, and a point's bound is its runtime.

``MAPSEARCH_BOUNDS_EXAMPLES`` sets the number of Hypothesis examples (small in CI)."""

from __future__ import annotations

import dataclasses
import itertools
import os
from collections.abc import Callable
from typing import Any

import numpy as np
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from mapsearch.bounds import Bounder, SubSpace
from mapsearch.bounds.combine import count_bounds, group_values
from mapsearch.bounds.steps import StepRows, _radix
from mapsearch.bounds.table import structures
from mapsearch.hardware import UNLIMITED, Hardware
from mapsearch.layers import Layer
from mapsearch.problem import Problem
from mapsearch.spaces import SpaceOptions

EXAMPLES = int(os.environ.get("MAPSEARCH_BOUNDS_EXAMPLES", "25"))
#: Largest sub-space enumerated per example.
MAX_POINTS = 2000


@st.composite
def problems(draw: st.DrawFn) -> Problem:
    """A tiny conv or GEMM on 2-8 PEs, 1-2 levels, either kind of space, latency."""
    if draw(st.booleans()):
        layer = Layer.gemm("g", M=draw(st.integers(1, 6)), N=draw(st.integers(1, 6)), K=4)
    else:
        y = draw(st.integers(2, 6))
        layer = Layer.conv(
            "c",
            K=draw(st.integers(1, 6)),
            C=draw(st.integers(1, 4)),
            R=draw(st.integers(1, min(3, y))),
            S=1,
            Y=y,
            X=draw(st.integers(1, 4)),
            stride=draw(st.integers(1, 2)),
        )
    hw = Hardware(
        num_pes=draw(st.integers(2, 8)),
        noc_bw_words_per_cycle=draw(st.integers(1, 4)),
        noc_latency_cycles=draw(st.integers(0, 2)),
        vector_width=draw(st.integers(1, 2)),
        l1_size_words=draw(st.sampled_from([UNLIMITED, 64])),
    )
    options = SpaceOptions(
        levels=draw(st.sampled_from([(1,), (1, 2), (2,)])),
        kind=draw(st.sampled_from(["complete", "compact"])),
    )
    return Problem.create(layer, hw, ["latency"], options=options)


@st.composite
def sub_spaces(draw: st.DrawFn, problem: Problem) -> SubSpace:
    """A random subset of each gene's choices, kept small enough to enumerate."""
    allowed: list[tuple[int, ...]] = []
    budget = MAX_POINTS
    for g in problem.genes:
        k = draw(st.integers(1, max(1, min(g.size, budget))))
        allowed.append(tuple(sorted(draw(st.permutations(range(g.size)))[:k])))
        budget = max(1, budget // k)
    return SubSpace(allowed=tuple(allowed))


def _counts_only(bounder: Bounder, sub: SubSpace) -> float:
    """The latency bound of ``sub`` from the summed counts alone (no step cycles)."""
    space, named = bounder.problem.space, sub.by_name(bounder.problem)
    best = np.inf
    for s in structures(space, named):
        for sb in bounder.structure(s):
            orders = tuple(named[space.genes[c].name] for c in sb.table.order_columns)
            configs = []
            for g, grp in enumerate(sb.table.groups):
                ok = np.ones(len(grp.combos), dtype=bool)
                for k, col in enumerate(grp.columns):
                    ok &= np.isin(grp.combos[:, k], sub.allowed[col])
                configs.append(np.intersect1d(np.unique(grp.config[ok]), sb.allowed[g]))
            fitting = bounder.fit(sb.table, configs) if all(c.size for c in configs) else None
            if fitting is None:
                continue
            values = group_values(sb.table, [fitting])
            counts = count_bounds(sb.table, sb.mask(orders)[None], values, bounder.hardware)
            best = min(best, float(bounder.row_objectives(counts)[0, 0]))
    return best


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(data=st.data())
def test_the_step_bound_is_never_above_a_point_and_never_below_the_counts(data):
    problem = data.draw(problems())
    sub = data.draw(sub_spaces(problem))
    event(f"{problem.space.options.kind} space")
    bounder = Bounder(problem)
    bound = float(bounder.lower_bounds(sub)[0])
    ev = problem.evaluate(sub.genotypes())
    runtimes = ev.values[ev.feasible, 0]
    if runtimes.size:
        assert bound <= runtimes.min() * (1 + 1e-9), (bound, runtimes.min())
    counts = _counts_only(bounder, sub)
    assert bound >= counts
    if bound > counts:
        event("the step cycles lift the bound")


def test_a_point_is_bounded_by_its_runtime_on_both_kinds_of_space():
    """Every gene fixed: the later steps' cycles are the model's, so the bound is the
    runtime (up to a coupled group, whose classes keep the summed bound; the summed
    counts alone reach it on 44 of these 60 points per kind)."""
    layer = Layer.conv("c", K=6, C=4, R=3, S=3, Y=8, X=8)
    hw = Hardware(num_pes=6, noc_bw_words_per_cycle=3, vector_width=2)
    rng = np.random.default_rng(5)
    for kind in ("complete", "compact"):
        problem = Problem.create(layer, hw, ["latency"], options=SpaceOptions(kind=kind))
        bounder = Bounder(problem)
        genotypes = problem.genome.random(60, rng)
        ev = problem.evaluate(genotypes)
        exact = 0
        for g, value in zip(genotypes[ev.feasible], ev.values[ev.feasible, 0], strict=True):
            bound = bounder.lower_bounds(SubSpace(allowed=tuple((int(v),) for v in g)))[0]
            assert bound <= value
            exact += bound == value
        assert exact >= 0.95 * np.count_nonzero(ev.feasible) > 0, (kind, exact)


def test_a_set_is_timed_as_the_least_of_its_points_and_stops_at_enough():
    """:meth:`StepRows.later_cycles` of a set (each part vector timed once per
    combination, the last least order tried first) equals the least over its points, each
    timed alone, bit for bit; with ``enough`` it is the smaller of that and ``enough``."""
    layer = Layer.conv("c", K=6, C=4, R=3, S=3, Y=8, X=8)
    hw = Hardware(num_pes=6, noc_bw_words_per_cycle=3, vector_width=2)
    rng = np.random.default_rng(7)
    checked = 0
    for kind in ("complete", "compact"):
        problem = Problem.create(layer, hw, ["latency"], options=SpaceOptions(kind=kind))
        bounder = Bounder(problem)
        for structure in structures(problem.space)[:20]:
            for sb in bounder.structure(structure):
                orders = tuple(
                    tuple(sorted(rng.choice(n, size=min(n, 3), replace=False).tolist()))
                    for n in sb.table.order_sizes
                )
                configs = [rng.choice(a, size=min(a.size, 2), replace=False) for a in sb.allowed]
                points = list(itertools.product(*orders, *(c.tolist() for c in configs)))
                n = len(orders)
                one = np.asarray(
                    [
                        sb.steps.later_cycles(
                            [tuple((o,) for o in p[:n])],
                            [[np.asarray([a]) for a in p[n:]]],
                            hw,
                            np.ones(1, dtype=bool),
                        )[0]
                        for p in points
                    ]
                )
                whole = sb.steps.later_cycles([orders], [configs], hw, np.ones(1, dtype=bool))
                assert whole[0] == one.min(), (whole, one.min())
                enough = np.asarray([one.min() + 1, one.min(), max(one.min() - 1, 0)])
                stopped = sb.steps.later_cycles(
                    [orders] * 3, [configs] * 3, hw, np.ones(3, dtype=bool), enough
                )
                assert np.array_equal(stopped, np.minimum(one.min(), enough))
                checked += one.min() > 0
    assert checked >= 10


def _alike_per_group(
    seed: int, field: str, merged_of: Callable[[Any, int, np.ndarray], int]
) -> tuple[int, int]:
    """Per structure of a small conv (both kinds of space) and group: the sets of each of the
    group's allowed configurations alone and of them all (the other groups fixed, one order
    per level) get from ``sb.steps`` the cycles of a copy whose rows' ``field`` keeps every
    configuration apart, bit for bit, with and without ``enough``. Returns how many
    configurations ``merged_of(rows, g, allowed)`` counts merged, and the sets lifted."""
    layer = Layer.conv("c", K=6, C=4, R=3, S=3, Y=8, X=8)
    hw = Hardware(num_pes=6, noc_bw_words_per_cycle=3, vector_width=2)
    rng = np.random.default_rng(seed)
    merged = lifted = 0
    for kind in ("complete", "compact"):
        problem = Problem.create(layer, hw, ["latency"], options=SpaceOptions(kind=kind))
        bounder = Bounder(problem)
        for structure in structures(problem.space)[:20]:
            for sb in bounder.structure(structure):
                rows = sb.steps._load()
                apart = StepRows(sb.table)
                each = np.broadcast_to(np.arange(rows.same.shape[1]), getattr(rows, field).shape)
                apart._rows = dataclasses.replace(rows, **{field: each})
                orders = [(int(rng.integers(n)),) for n in sb.table.order_sizes]
                fixed = [rng.choice(a, size=1) for a in sb.allowed]
                for g, allowed in enumerate(sb.allowed):
                    merged += merged_of(rows, g, allowed)
                    sets = [[*fixed[:g], np.asarray([a]), *fixed[g + 1 :]] for a in allowed]
                    sets.append([*fixed[:g], allowed, *fixed[g + 1 :]])
                    n = len(sets)
                    mine = sb.steps.later_cycles([orders] * n, sets, hw, np.ones(n, dtype=bool))
                    alone = apart.later_cycles([orders] * n, sets, hw, np.ones(n, dtype=bool))
                    assert np.array_equal(mine, alone), (mine, alone)
                    enough = np.maximum(alone - 1, 0)
                    args = ([orders] * n, sets, hw, np.ones(n, dtype=bool), enough)
                    assert np.array_equal(sb.steps.later_cycles(*args), apart.later_cycles(*args))
                    lifted += int(np.count_nonzero(alone > 0))
    return merged, lifted


def test_configurations_that_time_alike_are_enumerated_once():
    """A configuration is timed as its ``same`` one (the first of its runtime signature):
    each point, and each set of one group's every configuration, gets the later-step
    cycles of the enumeration of every configuration as it is, bit for bit, with and
    without ``enough``; and configurations do share signatures here."""
    merged, lifted = _alike_per_group(
        11, "same", lambda rows, g, allowed: int(np.count_nonzero(rows.same[g, allowed] != allowed))
    )
    assert merged >= 10 and lifted >= 10, (merged, lifted)


def test_a_level_is_cached_by_the_parts_its_classes_give_each_group():
    """The level cache keys a configuration by ``level_same`` (the same runtime rows in the
    parts the group plays in that level): sets of one group's configurations, one by one
    and together, get the cycles of the kernel keyed by the configurations themselves, bit
    for bit, with and without ``enough``; and keys do merge configurations ``same`` keeps
    apart, so the sets hit levels other configurations stored."""

    def merged_of(rows: Any, g: int, allowed: np.ndarray) -> int:
        kept = rows.same[g, allowed]
        return int(np.count_nonzero(rows.level_same[:, g, kept] != kept))

    merged, lifted = _alike_per_group(17, "level_same", merged_of)
    assert merged >= 10 and lifted >= 10, (merged, lifted)


def test_the_kernel_caches_do_not_change_a_set_s_cycles():
    """The caches of class and level cycles (kept between calls, one per hardware) give
    every set the cycles of the kernel without them, bit for bit, with and without
    ``enough``: at the default size, and at two slots, where keys keep evicting each other;
    sets overlap, so later calls hit what earlier ones stored."""
    layer = Layer.conv("c", K=6, C=4, R=3, S=3, Y=8, X=8)
    hws = [
        Hardware(num_pes=6, noc_bw_words_per_cycle=3, vector_width=2),
        Hardware(num_pes=6, noc_bw_words_per_cycle=1, noc_latency_cycles=2),
    ]
    rng = np.random.default_rng(13)
    stored = 0
    for kind in ("complete", "compact"):
        problem = Problem.create(layer, hws[0], ["latency"], options=SpaceOptions(kind=kind))
        bounder = Bounder(problem)
        for structure in structures(problem.space)[:12]:
            for sb in bounder.structure(structure):
                plain = StepRows(sb.table, slots=0)
                cached = [StepRows(sb.table), StepRows(sb.table, slots=2)]
                n = 6
                for _ in range(3):
                    orders = [
                        tuple(
                            tuple(sorted(rng.choice(k, size=rng.integers(1, k + 1), replace=False)))
                            for k in sb.table.order_sizes
                        )
                        for _ in range(n)
                    ]
                    sets = [
                        [
                            rng.choice(a, size=rng.integers(1, min(a.size, 3) + 1), replace=False)
                            for a in sb.allowed
                        ]
                        for _ in range(n)
                    ]
                    for hw in hws:
                        want = plain.later_cycles(orders, sets, hw, np.ones(n, dtype=bool))
                        enough = np.maximum(want - rng.integers(0, 2, n), 0)
                        stopped = plain.later_cycles(
                            orders, sets, hw, np.ones(n, dtype=bool), enough
                        )
                        for steps in cached:
                            got = steps.later_cycles(orders, sets, hw, np.ones(n, dtype=bool))
                            assert np.array_equal(got, want), (got, want)
                            args = (orders, sets, hw, np.ones(n, dtype=bool), enough)
                            assert np.array_equal(steps.later_cycles(*args), stopped)
                caches = cached[0]._caches.values()
                stored += sum(int(np.count_nonzero(c.level_keys[:, 0] >= 0)) for c in caches)
                stored += sum(int(np.count_nonzero(c.class_keys >= 0)) for c in caches)
    assert stored >= 100, stored


def test_cache_keys_are_distinct_numbers_or_no_cache():
    """A mixed radix numbers every digit tuple once; past ``2**62`` there is none."""
    weights = _radix([3, 5, 2])
    keys = {int(np.dot(d, weights)) for d in itertools.product(range(3), range(5), range(2))}
    assert len(keys) == 30 and max(keys) == 29
    assert _radix([2**31, 2**31]).size == 0
