"""The compact part of a complete space: its genotypes are the compact space's, decoded the
same; searchers' random draws (``Genome.sample``) take a share of their genotypes there."""

from __future__ import annotations

import numpy as np
import pytest

from mapsearch.hardware import Hardware
from mapsearch.layers import Layer
from mapsearch.spaces import Genome, HardwareSpace, MappingSpace, SpaceOptions
from mapsearch.spaces.genome import COMPACT_SHARE

CONV3_1 = Layer.conv("CONV3_1", K=256, C=128, R=3, S=3, Y=56, X=56, model="vgg16")
SMALL = Layer.conv("small", K=8, C=4, R=3, S=3, Y=8, X=8)
STRIDED = Layer.conv("strided", K=4, C=2, R=3, S=3, Y=11, X=11, stride=2)
LEVELS = (1, 2, 3)


def spaces(layer: Layer, pes: int) -> tuple[MappingSpace, MappingSpace]:
    """The compact and the complete space of ``layer`` on ``pes`` PEs."""
    return tuple(  # type: ignore[return-value]
        MappingSpace.build(layer, pes, SpaceOptions(levels=LEVELS, kind=kind))
        for kind in ("compact", "complete")
    )


def in_part(genome: Genome, rows: np.ndarray) -> np.ndarray:
    """Per row: whether every gene's choice is in its compact part."""
    return np.all([np.isin(rows[:, k], part) for k, part in enumerate(genome.compact_part)], axis=0)


@pytest.mark.parametrize(("layer", "pes"), [(SMALL, 12), (STRIDED, 16), (CONV3_1, 256)])
def test_the_compact_part_is_the_compact_space_decoded_the_same(layer, pes):
    compact, complete = spaces(layer, pes)
    assert complete.n_genes > compact.n_genes  # diagonal (and step, pad) genes
    n = 400
    rng = np.random.default_rng(3)
    g = np.stack([rng.integers(0, gene.size, n) for gene in compact.genes], axis=1)
    # the same choices, gene by gene, in the complete space; its own genes one choice each
    h = np.zeros((n, complete.n_genes), dtype=np.int64)
    for k, (gene, part) in enumerate(zip(complete.genes, complete.compact_part, strict=True)):
        held = {gene.choices[i] for i in part.tolist()}
        if gene.name not in {c.name for c in compact.genes}:
            assert len(part) == 1 and str(gene.choices[part[0]]) in ("no", "tile", "0")
            h[:, k] = part[0]
            continue
        c = compact.column(gene.name)
        assert held == set(compact.genes[c].choices), gene.name
        h[:, k] = [gene.index(compact.genes[c].choices[i]) for i in g[:, c]]
    a, b = compact.decode(g, pes), complete.decode(h, pes)
    assert a.batch is not None and b.batch is not None
    assert np.array_equal(a.rows, b.rows) and list(a.reasons) == list(b.reasons)
    for name in ("kinds", "dims", "sizes", "offsets"):
        assert np.array_equal(getattr(a.batch, name), getattr(b.batch, name)), name


def test_a_compact_space_is_its_own_compact_part_and_samples_as_random_draws():
    compact, _ = spaces(CONV3_1, 256)
    genome = Genome(mapping=compact)
    assert not genome.beyond_compact
    assert all(len(p) == g.size for p, g in zip(genome.compact_part, genome.genes, strict=True))
    a = genome.sample(300, np.random.default_rng(7))
    b = genome.random(300, np.random.default_rng(7))
    assert np.array_equal(a, b)


def test_sample_draws_its_share_from_the_compact_part_and_the_rest_everywhere():
    _, complete = spaces(CONV3_1, 256)
    hw = HardwareSpace(base=Hardware(num_pes=256), choices=(("l1_size_words", (64, 128, 256)),))
    genome = Genome(mapping=complete, hardware=hw)
    assert genome.beyond_compact
    assert len(genome.compact_part[-1]) == 3  # hardware genes: every choice
    rows = genome.sample(4000, np.random.default_rng(0))
    sizes = np.asarray([g.size for g in genome.genes])
    assert (rows >= 0).all() and (rows < sizes).all()
    inside = in_part(genome, rows)
    # a uniform draw is almost never wholly inside: the share is the compact part's
    assert abs(inside.mean() - COMPACT_SHARE) < 0.03
    assert in_part(genome, genome.random(4000, np.random.default_rng(0))).mean() < 0.01
    # the other draws reach the choices outside the part (odd clusters, diagonals, ...)
    for k, part in enumerate(genome.compact_part):
        if len(part) < sizes[k]:
            assert not np.isin(rows[~inside, k], part).all(), genome.genes[k].name
    again = genome.sample(4000, np.random.default_rng(0))
    assert np.array_equal(rows, again)
