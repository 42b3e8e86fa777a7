"""A structure is listed once per distinct template: a ``diagonal`` gene of a level that maps a
dimension without a filter window spatially decodes to nothing, so the branch and bound
must not search its two choices as two structures (each of its points twice)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from mapsearch.bounds.table import StructureTable, build_tables, structures
from mapsearch.costmodel.summary import directive_texts
from mapsearch.directives.nest import level_units
from mapsearch.hardware.presets import preset
from mapsearch.layers import Layer
from mapsearch.problem import Problem
from mapsearch.spaces import SpaceOptions

LAYERS = [
    Layer.conv("c3", K=16, C=8, R=3, S=3, Y=12, X=12),
    Layer.conv("c5s2", K=8, C=4, R=5, S=3, Y=15, X=9, stride=2),
]


def _problem(layer: Layer, pes: int) -> Problem:
    hw = dataclasses.replace(preset("edge_256"), num_pes=pes)
    return Problem.create(layer, hw, ["edp"], options=SpaceOptions(kind="complete"))


def _windowed(problem: Problem, lv: int, spatial: int) -> bool:
    gene = problem.space.genes[problem.space.column(f"L{lv}.spatial")]
    return problem.layer.filter_of(str(gene.choices[spatial])) is not None


@pytest.mark.parametrize("layer", LAYERS, ids=lambda ly: ly.name)
def test_a_diagonal_gene_of_a_level_without_a_spatial_window_gives_one_structure(layer):
    problem = _problem(layer, 24)
    listed = structures(problem.space)
    seen = set()
    for s in listed:
        # the structure with that level's diagonal at its other choice must not be listed
        for lv, d in enumerate(s.diagonal):
            if not _windowed(problem, lv, s.spatial[lv]):
                assert d == 0, s
        seen.add(s)
    assert len(seen) == len(listed)
    # a level with a window spatially keeps both choices below the top level
    two = [s for s in listed if len(s.spatial) == 2 and _windowed(problem, 1, s.spatial[1])]
    assert {s.diagonal[1] for s in two} == {0, 1}


@pytest.mark.parametrize("layer", LAYERS, ids=lambda ly: ly.name)
def test_such_a_diagonal_gene_decodes_to_the_same_mapping_either_way(layer):
    problem = _problem(layer, 24)
    space = problem.space
    rng = np.random.default_rng(7)
    sizes = np.asarray([g.size for g in space.genes])
    genotypes = (rng.random((400, len(sizes))) * sizes).astype(np.int64)
    levels = np.asarray(space.genes[space.column("levels")].choices)[
        genotypes[:, space.column("levels")]
    ]
    flipped = genotypes.copy()
    changed = np.zeros(len(genotypes), dtype=bool)
    for lv in range(int(levels.max())):
        column = space.column(f"L{lv}.diagonal")
        spatial = genotypes[:, space.column(f"L{lv}.spatial")]
        plain = np.asarray([not _windowed(problem, lv, int(s)) for s in spatial]) & (levels > lv)
        flipped[plain, column] = 1 - flipped[plain, column]
        changed |= plain
    assert changed.sum() > 100
    a = space.decode(genotypes[changed], problem.hardware.num_pes)
    b = space.decode(flipped[changed], problem.hardware.num_pes)
    assert a.batch is not None and b.batch is not None
    assert np.array_equal(a.rows, b.rows)
    assert directive_texts(a.batch) == directive_texts(b.batch)


def _random_points(layer: Layer, seed: int) -> tuple[Problem, np.ndarray]:
    """A problem on 12 PEs scoring every count objective, and 3,000 random genotypes."""
    hw = dataclasses.replace(preset("edge_256"), num_pes=12)
    problem = Problem.create(
        layer, hw, ["latency", "energy", "l1", "l2"], options=SpaceOptions(kind="complete")
    )
    sizes = np.asarray([g.size for g in problem.space.genes])
    rng = np.random.default_rng(seed)
    return problem, (rng.random((3000, len(sizes))) * sizes).astype(np.int64)


def _one_unit_levels(problem: Problem, genotypes: np.ndarray) -> np.ndarray:
    """Per genotype (rows) and level (columns), whether the level has one unit."""
    space, pes = problem.space, problem.hardware.num_pes
    levels = np.asarray(space.genes[space.column("levels")].choices)[
        genotypes[:, space.column("levels")]
    ]
    clusters = np.asarray(space.genes[space.column("L1.cluster")].choices)[
        genotypes[:, space.column("L1.cluster")]
    ]
    top = np.where(levels == 2, pes // clusters, pes)
    return np.stack([top == 1, (levels == 2) & (clusters == 1)], axis=1)


ONE_UNIT = [
    Layer.conv("p1", K=16, C=12, R=1, S=1, Y=14, X=12, stride=2),
    Layer.conv("c3", K=8, C=6, R=3, S=3, Y=10, X=8),
    Layer.gemm("g", M=12, N=10, K=16),
]


@pytest.mark.parametrize("layer", ONE_UNIT, ids=lambda ly: ly.name)
def test_a_level_of_one_unit_lists_one_plain_spatial_choice(layer):
    """Each structure left out has a listed twin that differs only in the spatial choice
    (no diagonal in effect) of a level of one unit; levels of several units keep all."""
    problem = _problem(layer, 12)
    space = problem.space
    every = structures(space)
    listed = set(structures(space, num_pes=12))
    assert listed < set(every)
    cluster = space.genes[space.column("L1.cluster")]

    def plain(s, lv):
        return not (s.diagonal and s.diagonal[lv] == 1 and _windowed(problem, lv, s.spatial[lv]))

    for s in every:
        units = level_units(12, [int(cluster.choices[c]) for c in s.clusters])
        if s in listed:
            continue
        lone = [lv for lv, u in enumerate(units) if u == 1 and plain(s, lv)]
        assert lone, s  # only a plain choice of a lone level is left out
        twins = [
            t
            for t in listed
            if (t.levels, t.clusters) == (s.levels, s.clusters)
            and all(
                (t.spatial[lv], t.diagonal[lv : lv + 1]) == (s.spatial[lv], s.diagonal[lv : lv + 1])
                or (lv in lone and plain(t, lv))
                for lv in range(len(units))
            )
        ]
        assert twins, s


@pytest.mark.parametrize("layer", ONE_UNIT, ids=lambda ly: ly.name)
def test_a_spatial_choice_of_a_level_of_one_unit_costs_the_same_as_any_other(layer):
    """Every spatial choice without a diagonal gives a level of one unit the same costs
    (a fold loop over one unit is its slices' loop in place)."""
    problem, genotypes = _random_points(layer, seed=3)
    space = problem.space
    for name in (g.name for g in space.genes if g.name.endswith(".diagonal")):
        genotypes[:, space.column(name)] = 0
    one = _one_unit_levels(problem, genotypes)
    checked = 0
    for lv in range(2):
        rows = genotypes[one[:, lv]]
        if not len(rows):
            continue
        column = space.column(f"L{lv}.spatial")
        base = problem.evaluate(rows)
        for s in range(space.genes[column].size):
            other = rows.copy()
            other[:, column] = s
            ev = problem.evaluate(other)
            assert np.array_equal(ev.feasible, base.feasible)
            ok = base.feasible
            assert np.array_equal(ev.values[ok], base.values[ok])
            checked += int(ok.sum())
    assert checked > 500


def _mirrored(space, genotypes: np.ndarray) -> np.ndarray:
    """``genotypes`` with ``Y`` and ``X`` swapped in every gene."""
    out = genotypes.copy()
    names = [g.name for g in space.genes]
    swap = str.maketrans("YX", "XY")
    for i, gene in enumerate(space.genes):
        if gene.name.endswith((".Y", ".X")):
            out[:, i] = genotypes[:, names.index(gene.name[:-1] + gene.name[-1].translate(swap))]
        elif gene.name.endswith((".order", ".spatial")):
            choices = [str(c) for c in gene.choices]
            out[:, i] = np.asarray([choices.index(c.translate(swap)) for c in choices])[
                genotypes[:, i]
            ]
    return out


SQUARE = [
    Layer.conv("sq3", K=8, C=6, R=3, S=3, Y=10, X=10),
    Layer.conv("sq1s2", K=16, C=12, R=1, S=1, Y=14, X=14, stride=2),
    Layer.conv("sq5s2", K=4, C=3, R=5, S=5, Y=15, X=15, stride=2),
]


@pytest.mark.parametrize("layer", SQUARE, ids=lambda ly: ly.name)
def test_a_point_and_its_mirror_cost_the_same_so_one_of_two_mirrored_structures_is_listed(layer):
    """On a layer alike along Y and X, swapping the two in every gene keeps every cost; the
    search lists one of each pair of mirrored structures (and each it leaves out has its
    mirror listed)."""
    problem, genotypes = _random_points(layer, seed=11)
    space = problem.space
    a, b = problem.evaluate(genotypes), problem.evaluate(_mirrored(space, genotypes))
    assert np.array_equal(a.feasible, b.feasible) and a.feasible.sum() > 300
    assert np.array_equal(a.values[a.feasible], b.values[a.feasible])
    listed = set(structures(space, num_pes=12))
    every = structures(space)
    spatial = [str(c) for c in space.genes[space.column("L0.spatial")].choices]
    swap = [spatial.index(c.translate(str.maketrans("YX", "XY"))) for c in spatial]
    left_out = [s for s in every if s not in listed]
    assert left_out
    for s in left_out:
        mirror = dataclasses.replace(s, spatial=tuple(swap[c] for c in s.spatial))
        if mirror not in listed:  # else left out as a level of one unit (its own test)
            cluster = space.genes[space.column("L1.cluster")]
            sizes = [int(cluster.choices[c]) for c in s.clusters]
            assert any(u == 1 for u in level_units(12, sizes))


def test_a_layer_unlike_along_y_and_x_lists_both_mirrors():
    layer = Layer.conv("wide", K=8, C=6, R=3, S=3, Y=10, X=12)
    problem = _problem(layer, 12)
    listed = structures(problem.space, num_pes=12)
    spatial = [str(c) for c in problem.space.genes[problem.space.column("L0.spatial")].choices]
    assert {spatial[s.spatial[0]] for s in listed if s.levels == 0} >= {"Y", "X"}


def _genes(table: StructureTable) -> tuple[bytes, ...]:
    """A table's base genotype and each group's combinations of genes."""
    return (table.base.tobytes(), *(g.combos.tobytes() for g in table.groups))


@pytest.mark.parametrize("layer", LAYERS, ids=lambda ly: ly.name)
def test_a_table_whose_diagonal_is_not_in_effect_has_the_points_of_its_plain_twin(layer):
    """A diagonal level takes effect only where its parent tile holds one output row; a
    structure's table of the other tiles is flagged, and each of its points decodes to the
    mapping of the same genes with the diagonal ``no`` (a point the search has elsewhere).
    The tables not flagged decode otherwise with ``no``; they are the tables built without
    twins (the search's)."""
    problem = _problem(layer, 24)
    space, pes = problem.space, problem.hardware.num_pes
    column = space.column("L1.diagonal")
    yes = space.genes[column].choices.index("yes")
    rng = np.random.default_rng(3)
    flagged = kept = compared = 0
    for st in structures(space, num_pes=pes):
        if (
            len(st.diagonal) < 2
            or st.diagonal[1] != yes
            or not _windowed(problem, 1, st.spatial[1])
        ):
            continue
        tables = build_tables(space, pes, st)
        plain = [_genes(t) for t in tables if not t.plain_twin]
        if len(plain) < len(tables) and compared < 3:  # a few structures with a twin
            assert [_genes(t) for t in build_tables(space, pes, st, twins=False)] == plain
            compared += 1
        for table in tables:
            picks = [
                tuple(int(rng.integers(n)) for n in table.order_sizes)
                + tuple(int(rng.integers(len(g.combos))) for g in table.groups)
                for _ in range(20)
            ]
            g = np.stack([table.genotype(p[: table.n_levels], p[table.n_levels :]) for p in picks])
            plain = g.copy()
            plain[:, column] = 1 - yes
            a, b = space.decode(g, pes).batch, space.decode(plain, pes).batch
            assert a is not None and b is not None
            same = np.asarray(directive_texts(a)) == np.asarray(directive_texts(b))
            if table.plain_twin:
                assert same.all(), st
                flagged += 1
            else:
                assert not same.any(), st
                kept += 1
    assert flagged and kept and compared
