"""A staggered group (an output passing between units unwritten) couples the groups'
output *reads* only: at a point whose groups are staggered but never resume late, the
table's input and filter counts are the exact model's, its output counts stay under them,
and its output writes (every output a PE lets go is written) rise above the compulsory
ones where the model's do. Sampled on small layers whose filter window can be split over
units and steps."""

from __future__ import annotations

import numpy as np
import pytest

from mapsearch.bounds import Bounder
from mapsearch.bounds.combine import count_bounds, group_values
from mapsearch.bounds.counts import CountBounds, runtime_bound
from mapsearch.bounds.table import structures
from mapsearch.costmodel.exact import evaluate_batch
from mapsearch.costmodel.exact_factors import group_factors
from mapsearch.hardware import Hardware
from mapsearch.layers import Layer
from mapsearch.problem import Problem
from mapsearch.spaces import SpaceOptions

#: Points sampled per layer (most are not staggered).
SAMPLES = 6000


def _leaf_counts(problem: Problem, bounder: Bounder, genotype: np.ndarray):
    """The table's counts at one point (its structure's table holding its variants)."""
    space = problem.space
    named = {g.name: (int(c),) for g, c in zip(problem.genes, genotype, strict=True)}
    for st in structures(space, named):
        for sb in bounder.structure(st):
            table = sb.table
            configs = []
            for grp in table.groups:
                ok = np.ones(len(grp.combos), dtype=bool)
                for k, col in enumerate(grp.columns):
                    ok &= grp.combos[:, k] == genotype[col]
                configs.append(np.unique(grp.config[ok]))
            if not all(c.size for c in configs):
                continue  # another variant's table
            orders = tuple(named[space.genes[c].name] for c in table.order_columns)
            values = group_values(table, [configs])
            rows = count_bounds(table, sb.mask(orders)[None], values, problem.hardware)
            return CountBounds.of_rows(rows)
    raise AssertionError("no table holds the point")


def _kinds(problem: Problem, genotypes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per point: whether some group is staggered, and whether some group resumes late."""
    decoded = problem.space.decode(genotypes, problem.hardware.num_pes)
    assert decoded.batch is not None
    staggered = np.zeros(len(genotypes), dtype=bool)
    resumed = np.zeros(len(genotypes), dtype=bool)
    templates, which = decoded.batch.templates()
    for k in range(len(templates)):
        rows = np.flatnonzero(which == k)
        tf = group_factors(problem.layer, decoded.batch.take(rows), problem.hardware.num_pes)
        for index, factors in zip(tf.index, tf.factors, strict=True):
            staggered[decoded.rows[rows]] |= [factors[i].staggered for i in index]
            resumed[decoded.rows[rows]] |= [any(factors[i].resumed) for i in index]
    return staggered, resumed


@pytest.mark.parametrize(
    "layer",
    [
        Layer.conv("fc", K=2, C=2, R=3, S=3, Y=3, X=3),  # a fully connected layer as a conv
        Layer.conv("c", K=2, C=2, R=3, S=2, Y=4, X=3),
        Layer.conv("s", K=2, C=1, R=3, S=1, Y=7, X=2, stride=2),
    ],
)
def test_staggered_points_count_input_and_filter_as_products(layer):
    hw = Hardware(num_pes=6, noc_bw_words_per_cycle=4)
    problem = Problem.create(
        layer, hw, ["energy"], options=SpaceOptions(kind="complete", levels=(1, 2))
    )
    rng = np.random.default_rng(7)
    sizes = np.asarray([g.size for g in problem.genes])
    genotypes = rng.integers(0, sizes, size=(SAMPLES, len(sizes)))
    for c, g in enumerate(problem.genes):  # a diagonal level makes most staggered points
        if g.name.endswith(".diagonal"):
            genotypes[::2, c] = g.index("yes")
    genotypes = np.unique(genotypes, axis=0)
    decoded = problem.space.decode(genotypes, hw.num_pes)
    genotypes = genotypes[decoded.rows]
    staggered, resumed = _kinds(problem, genotypes)
    picked = genotypes[staggered & ~resumed]
    assert len(picked) >= 40, len(picked)  # the sample reaches the case
    report = evaluate_batch(layer, hw, problem.space.decode(picked, hw.num_pes).batch)
    bounder = Bounder(problem)
    lifted = 0  # points whose output writes the table puts above the compulsory ones
    for n, g in enumerate(picked):
        c = _leaf_counts(problem, bounder, g)
        assert c.l1_writes_input[0] == report.l1_writes.input[n]
        assert c.l1_writes_filter[0] == report.l1_writes.filter[n]
        assert c.l2_reads_input[0] == report.l2_reads.input[n]
        assert c.l2_reads_filter[0] == report.l2_reads.filter[n]
        assert c.l2_reads_output[0] <= report.l2_reads.output[n]
        assert c.l2_writes_output[0] <= report.l2_writes.output[n]
        assert runtime_bound(c, hw)[0] <= report.runtime_cycles[n]
        lifted += c.l2_writes_output[0] > layer.tensor_size("output")
    assert lifted >= 5, lifted  # the written-back outputs stay factors
