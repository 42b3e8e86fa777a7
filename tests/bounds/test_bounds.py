"""The bounds are sound: on random small sub-spaces, enumerated whole and scored by the
exact model, no feasible point costs less than the sub-space's bound (every objective).

``MAPSEARCH_BOUNDS_EXAMPLES`` sets the number of Hypothesis examples (small in CI)."""

from __future__ import annotations

import dataclasses
import os

import numpy as np
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from mapsearch.bounds import Bounder, SubSpace
from mapsearch.bounds.combine import count_bounds, group_values
from mapsearch.bounds.counts import CountBounds, compulsory, used_input
from mapsearch.bounds.table import Structure, structures
from mapsearch.costmodel.batch import DIM_NAMES, KIND_CODES
from mapsearch.costmodel.exact import evaluate_batch
from mapsearch.directives import DirectiveKind
from mapsearch.hardware import UNLIMITED, Hardware
from mapsearch.layers import Layer
from mapsearch.problem import Problem
from mapsearch.spaces import SpaceOptions

EXAMPLES = int(os.environ.get("MAPSEARCH_BOUNDS_EXAMPLES", "25"))
OBJECTIVES = ("latency", "energy", "edp", "throughput", "area", "power", "l1", "l2")
#: Largest sub-space enumerated per example.
MAX_POINTS = 3000


@st.composite
def problems(draw: st.DrawFn) -> Problem:
    """A tiny conv, depthwise conv or GEMM on 2-8 PEs, 1-2 levels, either kind of space,
    any objective."""
    d = st.integers(1, 6)
    op = draw(st.sampled_from(["conv", "conv", "dsconv", "gemm"]))
    if op == "gemm":
        layer = Layer.gemm("g", M=draw(d), N=draw(d), K=draw(st.integers(2, 6)))
    else:
        y, x = draw(st.integers(2, 6)), draw(d)
        r, s = draw(st.integers(1, min(3, y))), draw(st.integers(1, min(3, x)))
        stride, n = draw(st.integers(1, 2)), draw(st.integers(1, 2))
        if op == "dsconv":
            layer = Layer.dsconv("d", C=draw(d), R=r, S=s, Y=y, X=x, N=n, stride=stride)
        else:
            layer = Layer.conv("c", K=draw(d), C=draw(d), R=r, S=s, Y=y, X=x, N=n, stride=stride)
    hw = Hardware(
        num_pes=draw(st.integers(2, 8)),
        l1_size_words=draw(st.sampled_from([UNLIMITED, 64, 200])),
        noc_bw_words_per_cycle=draw(st.integers(1, 6)),
        noc_latency_cycles=draw(st.integers(0, 2)),
        vector_width=draw(st.integers(1, 2)),
        offchip_bw_words_per_cycle=draw(st.sampled_from([UNLIMITED, 1, 3])),
    )
    options = SpaceOptions(
        levels=draw(st.sampled_from([(1,), (1, 2), (2,)])),
        tiles=draw(st.sampled_from(["divisors", "any"])),
        kind=draw(st.sampled_from(["complete", "compact"])),
    )
    objectives = draw(st.permutations(OBJECTIVES))[: draw(st.integers(1, 3))]
    return Problem.create(layer, hw, list(objectives), options=options)


@st.composite
def sub_spaces(draw: st.DrawFn, problem: Problem) -> SubSpace:
    """A random prefix of a random genotype fixed, each later gene a random subset of its
    choices, kept small enough to enumerate; half the time every ``diagonal`` gene says
    ``yes`` (rarely drawn alone: it takes effect only under a one-row parent tile)."""
    genes = problem.genes
    base = [draw(st.integers(0, g.size - 1)) for g in genes]
    diagonal = draw(st.booleans())
    n_fixed = draw(st.integers(0, len(genes)))
    allowed: list[tuple[int, ...]] = []
    budget = MAX_POINTS
    for c, g in enumerate(genes):
        if diagonal and g.name.endswith(".diagonal"):
            allowed.append((1,))
            continue
        if c < n_fixed:
            allowed.append((base[c],))
            continue
        most = max(1, min(g.size, budget))
        k = draw(st.integers(1, most))
        picked = draw(st.permutations(range(g.size)))[:k]
        allowed.append(tuple(sorted(picked)))
        budget = max(1, budget // k)
    return SubSpace(allowed=tuple(allowed))


def _check(problem: Problem, sub: SubSpace) -> Bounder:
    bounder = Bounder(problem)
    bound = bounder.lower_bounds(sub)
    genotypes = sub.genotypes()
    ev = problem.evaluate(genotypes)
    signs = np.asarray([o.sign for o in problem.objectives])
    costs = ev.values[ev.feasible] * signs
    if costs.size:
        slack = 1e-9 * np.abs(costs).max(axis=0)
        assert np.all(bound <= costs.min(axis=0) + slack), (bound, costs.min(axis=0))
        root = bounder.root()
        assert np.all(root <= costs.min(axis=0) + slack), (root, costs.min(axis=0))
        cheap = np.min(
            [bounder.structure_root(st) for st in structures(problem.space, sub.by_name(problem))],
            axis=0,
        )
        assert np.all(cheap <= costs.min(axis=0) + slack), (cheap, costs.min(axis=0))
        feasible = genotypes[ev.feasible]
        for s in structures(problem.space, sub.by_name(problem)):  # each structure its own
            own = costs[_of_structure(problem, s, feasible)]
            if own.size:
                root = bounder.structure_root(s)
                assert np.all(root <= own.min(axis=0) + slack), (s, root, own.min(axis=0))
    return bounder


def _of_structure(problem: Problem, s: Structure, genotypes: np.ndarray) -> np.ndarray:
    """Which genotypes take structure ``s``'s choices of its genes (a diagonal gene that
    cannot matter is listed at one choice only: the others decode alike)."""
    space = problem.space
    genes = [("levels", s.levels)]
    genes += [(f"L{lv}.cluster", c) for lv, c in enumerate(s.clusters, start=1)]
    genes += [(f"L{lv}.spatial", c) for lv, c in enumerate(s.spatial)]
    genes += [(f"L{lv}.diagonal", c) for lv, c in enumerate(s.diagonal)]
    return np.all([genotypes[:, space.column(name)] == c for name, c in genes], axis=0)


def _events(problem: Problem, genotypes: np.ndarray) -> None:
    """Say which kinds of point the sub-space holds (``--hypothesis-show-statistics``)."""
    event(f"{problem.space.options.kind} space")
    decoded = problem.space.decode(genotypes, problem.hardware.num_pes)
    if decoded.batch is None:
        return
    b = decoded.batch
    filters = np.isin(b.dims, [DIM_NAMES.index(w) for _, w in problem.layer.windows])
    if np.any(filters & (b.kinds == KIND_CODES[DirectiveKind.SPATIAL])):
        event("a diagonal point")
    named = {g.name: c for c, g in enumerate(problem.genes)}
    for gene in ("step", "pad"):
        cols = [c for name, c in named.items() if f".{gene}." in name]
        if cols and np.any(genotypes[:, cols] > 0):
            event(f"a {gene} gene off its first choice")


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(data=st.data())
def test_bound_is_never_above_a_point_of_the_sub_space(data):
    problem = data.draw(problems())
    sub = data.draw(sub_spaces(problem))
    _events(problem, sub.genotypes())
    bounder = _check(problem, sub)
    if any(len(bounder.structure(s)) > 1 for s in structures(problem.space, sub.by_name(problem))):
        event("a structure with several templates")


def test_a_fixed_point_is_bounded_by_its_own_value():
    """A sub-space of one point: the energy bound is the point's energy (all counts exact)."""
    layer = Layer.conv("c", K=4, C=3, R=3, S=3, Y=6, X=6)
    hw = Hardware(num_pes=4, noc_bw_words_per_cycle=2)
    problem = Problem.create(layer, hw, ["energy", "latency"], options=SpaceOptions(levels=(1,)))
    rng = np.random.default_rng(3)
    for g in problem.genome.random(20, rng):
        ev = problem.evaluate(g[None, :])
        if not ev.feasible[0]:
            continue
        sub = SubSpace(allowed=tuple((int(v),) for v in g))
        bound = Bounder(problem).lower_bounds(sub)
        assert (
            bound[0] == np.float64(ev.values[0, 0]) or abs(bound[0] / ev.values[0, 0] - 1) < 1e-12
        )
        assert bound[1] <= ev.values[0, 1]


def test_a_structure_root_is_kept_and_handed_out_as_a_copy():
    """Roots are computed once per structure (a search asks again at tabulation and for the
    certificate); a caller writing into one must not change the next answer."""
    layer = Layer.conv("c", K=4, C=3, R=3, S=3, Y=6, X=6)
    problem = Problem.create(
        layer, Hardware(num_pes=6), ["edp", "latency"], options=SpaceOptions(kind="complete")
    )
    bounder, fresh = Bounder(problem), Bounder(problem)
    roots = {}
    for s in structures(problem.space):
        roots[s] = bounder.structure_root(s)
        bounder.structure_root(s)[:] = -1.0
    assert len({tuple(r) for r in roots.values()}) > 1  # not one shared answer
    for s, root in roots.items():
        np.testing.assert_array_equal(bounder.structure_root(s), root)
        np.testing.assert_array_equal(fresh.structure_root(s), root)


def test_compulsory_counts_by_hand():
    """3x3 filter, stride 2 on 7 input rows: 3 output rows read rows 0-6 (windows touch);
    on 9 rows with R=1 and stride 2, 5 outputs read 5 rows of 9."""
    layer = Layer.conv("c", K=2, C=3, R=3, S=3, Y=7, X=7, stride=2)
    assert used_input(layer) == 3 * 7 * 7
    sparse = Layer.conv("c", K=2, C=3, R=1, S=1, Y=9, X=9, stride=2)
    assert used_input(sparse) == 3 * 5 * 5
    c = compulsory(layer, 4)
    assert c.compute_macs[0] == -(-layer.macs // 4)
    assert c.offchip_words[0] == 3 * 49 + 2 * 3 * 9 + 2 * 3 * 3


def test_a_diagonal_level_is_bounded_by_its_own_value():
    """A row-stationary top level (``SpatialMap(1,1) Y; SpatialMap(1,1) R``, one output
    row) computes each filter row on its own PE: the bound follows that template, not the
    one that keeps the filter whole."""
    layer = Layer.dsconv("d", C=1, R=2, S=1, Y=2, X=1, N=1)
    hw = Hardware(num_pes=2, noc_bw_words_per_cycle=1, noc_latency_cycles=0, vector_width=1)
    problem = Problem.create(
        layer, hw, ["latency"], options=SpaceOptions(kind="complete", levels=(1,))
    )
    names = [g.name for g in problem.genes]
    assert "L0.diagonal" in names
    for diagonal in range(2):
        allowed = [(0,)] * len(names)
        allowed[names.index("L0.diagonal")] = (diagonal,)
        _check(problem, SubSpace(allowed=tuple(allowed)))


def test_a_diagonal_level_below_a_tiled_one_is_bounded_by_every_template():
    """``L1.diagonal`` takes effect only where the ``L0`` tile of ``Y`` is one output row:
    the structure decodes to two templates, and the bound holds over both."""
    layer = Layer.conv("c", K=2, C=2, R=3, S=1, Y=5, X=1)
    hw = Hardware(num_pes=4, noc_bw_words_per_cycle=2)
    problem = Problem.create(
        layer, hw, ["latency", "energy"], options=SpaceOptions(kind="complete", levels=(2,))
    )
    named = {g.name: c for c, g in enumerate(problem.genes)}
    allowed = [tuple(range(g.size)) for g in problem.genes]
    for name in ("L0.order", "L1.order"):
        allowed[named[name]] = (0,)
    allowed[named["L1.spatial"]] = (problem.genes[named["L1.spatial"]].index("Y"),)
    allowed[named["L1.diagonal"]] = (1,)
    sub = SubSpace(allowed=tuple(allowed))
    bounder = _check(problem, sub)
    several = [
        s for s in structures(problem.space, sub.by_name(problem)) if len(bounder.structure(s)) > 1
    ]
    assert several


def test_the_l1_writes_bound_sees_spatial_replication():
    """``K`` over 4 PEs one filter at a time: each PE uses the whole input, so with every
    other tile and the order free the L1 writes of input are at least 4 x the input (the
    per-class least factors alone give the input once), and no point writes fewer."""
    layer = Layer.conv("c", K=4, C=2, R=1, S=1, Y=3, X=3)
    problem = Problem.create(
        layer, Hardware(num_pes=4), ["energy"], options=SpaceOptions(levels=(1,), kind="compact")
    )
    named = {g.name: c for c, g in enumerate(problem.genes)}
    allowed = [tuple(range(g.size)) for g in problem.genes]
    allowed[named["L0.spatial"]] = (problem.genes[named["L0.spatial"]].index("K"),)
    allowed[named["L0.tile.K"]] = (problem.genes[named["L0.tile.K"]].index(1),)
    sub = SubSpace(allowed=tuple(allowed))
    bounder = Bounder(problem)
    (st,) = structures(problem.space, sub.by_name(problem))
    (sb,) = bounder.structure(st)
    k = next(g for g, grp in enumerate(sb.table.groups) if grp.name == "K")
    configs = [
        np.unique(grp.config[np.isin(grp.combos[:, 0], allowed[grp.columns[0]])]) if g == k else a
        for g, (grp, a) in enumerate(zip(sb.table.groups, sb.allowed, strict=True))
    ]
    rows = count_bounds(
        sb.table,
        sb.mask((allowed[named["L0.order"]],))[None],
        group_values(sb.table, [configs]),
        problem.hardware,
    )
    counts = CountBounds.of_rows(rows)
    assert counts.l1_writes_input[0] >= 4 * used_input(layer)
    report = evaluate_batch(layer, problem.hardware, problem.space.decode(sub.genotypes(), 4).batch)
    assert counts.l1_writes_input[0] <= report.l1_writes.input.min()


def test_the_structure_root_sees_the_replication_of_a_spread():
    """``K`` spread over 4 PEs, EDP bound by the compute: fewer active units leave more
    compute (runtime), more of them write the input into more L1s (energy), so the root
    is the least over the choices of active units, above the compulsory counts with the
    whole spread, and no point of the structure is below it."""
    layer = Layer.conv("c", K=8, C=2, R=1, S=1, Y=3, X=3)
    hw = Hardware(num_pes=4, noc_bw_words_per_cycle=64)
    problem = Problem.create(layer, hw, ["edp"], options=SpaceOptions(levels=(1,), kind="compact"))
    named = {g.name: c for c, g in enumerate(problem.genes)}
    allowed = [tuple(range(g.size)) for g in problem.genes]
    allowed[named["L0.spatial"]] = (problem.genes[named["L0.spatial"]].index("K"),)
    sub = SubSpace(allowed=tuple(allowed))
    bounder = Bounder(problem)
    (s,) = structures(problem.space, sub.by_name(problem))
    counts = compulsory(layer, 4)
    spread = dataclasses.replace(counts, compute_macs=np.asarray([2.0 * 2 * 9]))
    assert bounder.structure_root(s)[0] > bounder.objectives(spread)[0, 0]
    _check(problem, sub)


def test_a_configuration_names_its_first_combination():
    """``GroupTable.first[a]`` is the least combination that decodes to configuration ``a``
    (the genotype a search's leaf takes), for every group of every structure."""
    layer = Layer.conv("c", K=4, C=3, R=3, S=3, Y=6, X=6)
    problem = Problem.create(layer, Hardware(num_pes=6), ["latency"], options=SpaceOptions())
    bounder = Bounder(problem)
    for s in structures(problem.space)[:20]:
        for sb in bounder.structure(s):
            for grp in sb.table.groups:
                n = len(grp.features)
                np.testing.assert_array_equal(grp.config[grp.first], np.arange(n))
                for a in range(n):
                    assert not (grp.config[: grp.first[a]] == a).any()
