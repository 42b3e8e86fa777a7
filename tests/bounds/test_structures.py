"""A structure is listed once per distinct template: a ``diagonal`` gene of a level that maps a
dimension without a filter window spatially decodes to nothing, so the branch and bound
must not search its two choices as two structures (each of its points twice)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from mapsearch.bounds.table import structures
from mapsearch.costmodel.summary import directive_texts
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
