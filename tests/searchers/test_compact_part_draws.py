"""On a complete space, searchers draw their random genotypes as ``Genome.sample`` does (a
share from the compact part) and the GA's neighbouring steps follow the compact part; the
same seed still gives the same proposals."""

from __future__ import annotations

import numpy as np
import pytest

from mapsearch.hardware import Hardware
from mapsearch.layers import Layer
from mapsearch.problem import Evaluation, Problem
from mapsearch.searchers import make_searcher
from mapsearch.searchers.genetic import GeneticSearcher
from mapsearch.spaces import SpaceOptions
from mapsearch.studies import RunConfig, StudyRecord, run_study

CONV3_1 = Layer.conv("CONV3_1", K=256, C=128, R=3, S=3, Y=56, X=56, model="vgg16")
HW = Hardware(name="hw256", num_pes=256, l1_size_words=512, noc_bw_words_per_cycle=64)
#: Searchers whose first proposals are random draws of the whole space.
DRAWING = ("ga", "random", "tpe", "nsga2")


def problem(kind: str) -> Problem:
    return Problem.create(
        CONV3_1, HW, ["edp"], options=SpaceOptions(kind=kind), semantics="maestro"
    )


def empty(p: Problem) -> Evaluation:
    return Evaluation.concat([], p.n_genes, len(p.objectives))


def first_batch(p: Problem, name: str, seed: int) -> np.ndarray:
    s = make_searcher(name, batch_size=64)
    s.start(p, empty(p), np.random.default_rng(seed))
    return s.ask(64)


def in_part(p: Problem, rows: np.ndarray) -> np.ndarray:
    return np.all(
        [np.isin(rows[:, k], part) for k, part in enumerate(p.genome.compact_part)], axis=0
    )


@pytest.mark.parametrize("name", DRAWING)
def test_random_starts_take_a_share_from_the_compact_part(name):
    p = problem("complete")
    rows = first_batch(p, name, seed=1)
    assert rows.shape == (64, p.n_genes)
    share = in_part(p, rows).mean()
    # uniform draws of the complete space are almost never wholly in the compact part
    assert 0.25 < share < 0.75
    assert np.array_equal(rows, first_batch(p, name, seed=1))
    assert not np.array_equal(rows, first_batch(p, name, seed=2))


def test_the_ga_steps_along_the_compact_part_from_inside_it():
    p = problem("complete")
    ga = GeneticSearcher()
    ga.start(p, empty(p), np.random.default_rng(0))
    k = p.space.column("L1.cluster")
    clusters = p.genes[k].choices
    step = ga._neighbour  # the mutation's move of an ordered gene
    # from a cluster dividing the PEs to the next one; from one that does not, by one
    assert clusters[step(k, clusters.index(16), 1)] == 32
    assert clusters[step(k, clusters.index(16), -1)] == 8
    assert clusters[step(k, clusters.index(17), 1)] == 18
    assert clusters[step(k, clusters.index(256), 1)] == 256
    t = p.space.column("L0.tile.Y")  # 54 output rows: divisors 1, 2, 3, 6, 9, 18, 27, 54
    tiles = p.genes[t].choices
    assert tiles[step(t, tiles.index(9), 1)] == 18
    assert tiles[step(t, tiles.index(10), 1)] == 11


def test_on_a_compact_space_the_ga_steps_by_one_choice():
    p = problem("compact")
    ga = GeneticSearcher()
    ga.start(p, empty(p), np.random.default_rng(0))
    k = p.space.column("L1.cluster")
    assert [ga._neighbour(k, i, 1) for i in range(p.genes[k].size)] == [1, 2, 3, 4, 5, 6, 7, 7]


@pytest.mark.parametrize("name", DRAWING)
def test_same_seed_same_run_on_the_complete_space(name, tmp_path):
    """Past the random start too: the GA's generations after its warm-up, TPE's model."""
    p = problem("complete")
    histories = []
    for study in ("a", "b"):
        record = StudyRecord.open(f"sqlite:///{tmp_path / study}.sqlite3", study, p)
        run_study(p, record, RunConfig(searcher=name, n_trials=80, seed=4, batch_size=8))
        histories.append(record.history()[1].genotypes)
        record.close()
    assert np.array_equal(*histories)
