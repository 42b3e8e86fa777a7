"""Mapping spaces: static domains, vectorised legal decoding, fixed genes, seeding, enumeration."""

from __future__ import annotations

import numpy as np
import pytest

from mapsearch.costmodel import MappingBatch, evaluate_batch
from mapsearch.directives import DirectiveKind, Mapping, SpatialMap, TemporalMap
from mapsearch.directives.validate import mapping_problems
from mapsearch.errors import UnknownNameError
from mapsearch.hardware import Hardware
from mapsearch.layers import Layer
from mapsearch.spaces import Genome, HardwareSpace, MappingSpace, SpaceOptions

CONV3_1 = Layer.conv("CONV3_1", K=256, C=128, R=3, S=3, Y=56, X=56, model="vgg16")
SMALL = Layer.conv("small", K=8, C=4, R=3, S=3, Y=8, X=8)
STRIDED = Layer.conv("strided", K=4, C=2, R=3, S=3, Y=11, X=11, stride=2)
STRIDED4 = Layer.conv("s4", K=4, C=2, R=5, S=5, Y=17, X=17, stride=4)


def random_genotypes(space: MappingSpace, n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.stack([rng.integers(0, g.size, n) for g in space.genes], axis=1)


def test_conv3_1_domains_are_the_divisors():
    space = MappingSpace.build(CONV3_1, 256, SpaceOptions(kind="compact"))
    genes = {g.name: g for g in space.genes}
    # searched dims: K, C, Y, X (N is 1; R, S are mapped whole)
    assert space.dims == ("K", "C", "Y", "X")
    assert genes["L0.tile.K"].choices == (1, 2, 4, 8, 16, 32, 64, 128, 256)
    assert genes["L0.tile.C"].choices == (1, 2, 4, 8, 16, 32, 64, 128)
    # output rows: 56 - 3 + 1 = 54 = 2 * 3^3
    assert genes["L0.tile.Y"].choices == (1, 2, 3, 6, 9, 18, 27, 54)
    assert genes["L0.order"].size == 24  # 4!
    assert genes["L1.cluster"].choices == (2, 4, 8, 16, 32, 64, 128, 256)
    assert genes["levels"].choices == (1, 2)


def test_any_tiles_cover_every_size():
    space = MappingSpace.build(SMALL, 16, SpaceOptions(tiles="any"))
    genes = {g.name: g for g in space.genes}
    assert genes["L0.tile.K"].choices == tuple(range(1, 9))
    assert genes["L0.tile.Y"].choices == tuple(range(1, 7))


@pytest.mark.parametrize("kind", ["complete", "compact"])
@pytest.mark.parametrize("tiles", ["divisors", "any"])
@pytest.mark.parametrize("layer", [SMALL, STRIDED, STRIDED4], ids=["small", "strided", "s4"])
def test_decoded_mappings_are_legal(tiles, layer, kind):
    pes = 16
    space = MappingSpace.build(layer, pes, SpaceOptions(levels=(1, 2, 3), tiles=tiles, kind=kind))
    g = random_genotypes(space, 300)
    decoded = space.decode(g, pes)
    hw = Hardware(num_pes=pes)
    seen = 0
    batch = decoded.batch
    for k in range(len(batch) if batch is not None else 0):
        mapping = batch.mapping(k)
        assert mapping_problems(mapping, layer, hw) == [], str(mapping)
        levels = mapping.levels()
        cluster = (
            int(np.prod([int(c) for c in mapping.cluster_sizes])) if mapping.cluster_sizes else 1
        )
        assert cluster <= pes
        for level in levels:
            for d in level:
                if d.dim in ("Y", "X") and kind == "compact":  # complete: diagonal rows
                    window = layer.size("R" if d.dim == "Y" else "S")
                    assert int(d.size) >= window
        seen += 1
    rejected = [r for r in decoded.reasons if r]
    assert seen + len(rejected) == len(g)
    assert all("number of PEs" in r for r in rejected)


def test_divisor_tiles_nest_without_edges():
    space = MappingSpace.build(CONV3_1, 256, SpaceOptions(levels=(2,)))
    batch = space.decode(random_genotypes(space, 400, seed=3), 256).batch
    assert batch is not None
    for k in range(len(batch)):
        top, inner = batch.mapping(k).levels()
        top_size = {d.dim: int(d.size) for d in top}
        for d in inner:
            if d.dim in ("K", "C"):
                assert top_size[d.dim] % int(d.size) == 0


def test_cluster_product_above_pes_is_rejected_with_reason():
    space = MappingSpace.build(SMALL, 16, SpaceOptions(levels=(3,)))
    g = np.zeros((1, space.n_genes), np.int64)
    col1, col2 = space.column("L1.cluster"), space.column("L2.cluster")
    g[0, col1] = space.genes[col1].index(8)
    g[0, col2] = space.genes[col2].index(4)  # 8 * 4 = 32 > 16
    decoded = space.decode(g, 16)
    assert decoded.batch is None and len(decoded.rows) == 0
    assert "multiply to more than the number of PEs" in decoded.reasons[0]


def test_batch_decoding_equals_one_at_a_time():
    space = MappingSpace.build(SMALL, 16)
    g = random_genotypes(space, 50, seed=7)
    decoded = space.decode(g, 16)
    assert decoded.batch is not None
    for k, row in enumerate(decoded.rows.tolist()):
        assert space.mapping(g[row], 16) == decoded.batch.mapping(k)


def test_fixed_genes_pin_the_decoded_template():
    options = SpaceOptions(levels=(1,), fixed=(("L0.spatial", "K"), ("L0.order", "KCYX")))
    space = MappingSpace.build(SMALL, 16, options)
    genes = {g.name: g for g in space.genes}
    assert genes["L0.spatial"].fixed and genes["L0.order"].fixed
    batch = space.decode(random_genotypes(space, 40), 16).batch
    assert batch is not None
    template = batch.template  # one template: every row has it
    T, S = DirectiveKind.TEMPORAL, DirectiveKind.SPATIAL
    assert template.kinds[:4] == (S, T, T, T)
    assert template.dims[:4] == ("K", "C", "Y", "X")


def test_fixed_genes_decode_to_their_value_whatever_their_position():
    fixed = (("L0.spatial", "C"), ("L0.order", "CKXY"), ("L0.tile.K", "4"))
    space = MappingSpace.build(SMALL, 16, SpaceOptions(levels=(1,), fixed=fixed))
    mapping = space.mapping(np.zeros(space.n_genes, np.int64), 16)
    first = mapping.directives[:4]
    assert [d.dim for d in first] == ["C", "K", "X", "Y"]
    assert [type(d).__name__ for d in first] == ["SpatialMap"] + ["TemporalMap"] * 3
    assert int(first[1].size) == 4


def test_unknown_fixed_gene_lists_close_matches():
    with pytest.raises(UnknownNameError, match=r"L0\.spatial"):
        MappingSpace.build(SMALL, 16, SpaceOptions(fixed=(("L0.spatail", "K"),)))
    with pytest.raises(UnknownNameError):
        MappingSpace.build(SMALL, 16, SpaceOptions(fixed=(("L0.spatial", "R"),)))


def test_encoded_classic_dataflow_scores_like_the_original(kcp):
    hw = Hardware(num_pes=16, noc_bw_words_per_cycle=8, offchip_bw_words_per_cycle=10**6)
    space = MappingSpace.build(SMALL, 16)
    original = kcp(c_tile=4, cluster=4)
    g = space.encode(original)
    assert g is not None
    decoded = space.mapping(g, 16)
    a = evaluate_batch(
        SMALL, hw, MappingBatch.from_mappings([original], SMALL), semantics="maestro"
    )
    b = evaluate_batch(SMALL, hw, MappingBatch.from_mappings([decoded], SMALL), semantics="maestro")
    for field in ("macs", "runtime_cycles", "energy_total"):
        assert getattr(a, field)[0] == getattr(b, field)[0], field


def test_unexpressible_mapping_encodes_to_none():
    # a partial R tile is outside the space (filters are mapped whole)
    odd = Mapping(directives=(SpatialMap(1, 1, "K"), TemporalMap(1, 1, "R")))
    assert MappingSpace.build(SMALL, 16).encode(odd) is None


@pytest.mark.parametrize(
    ("kind", "size"),
    [
        # one level: spatial 3 x tiles K{1,2,4} C{1,2} Y{1,2} = 36;
        # two levels: 36 x cluster{2,4} x 36 = 2592
        ("compact", 36 + 36 * 2 * 36),
        # one level: spatial 3 x tiles K{1,2,3,4} C{1,2} Y{1,2} = 48 (no window wider than
        # 1, no stride: no diagonal or step genes); two levels: 48 x cluster{1..4} x 48
        ("complete", 48 + 48 * 4 * 48),
    ],
)
def test_size_and_enumeration_visit_every_genotype_once(kind, size):
    options = SpaceOptions(
        levels=(1, 2), fixed=(("L0.order", "KCY"), ("L1.order", "KCY")), kind=kind
    )
    tiny = Layer.conv("tiny", K=4, C=2, R=1, S=1, Y=2, X=1)  # searched dims K, C, Y
    genome = Genome(mapping=MappingSpace.build(tiny, 4, options))
    assert genome.size == size
    g = genome.enumerate(np.arange(genome.size))
    assert len({row.tobytes() for row in g}) == genome.size
    sizes = np.asarray([gene.size for gene in genome.genes])
    assert (g >= 0).all() and (g < sizes).all()
    # co-design: every hardware choice with every mapping genotype
    hw = HardwareSpace(base=Hardware(num_pes=4), choices=(("l1_size_words", (64, 128, 256)),))
    both = Genome(mapping=genome.mapping, hardware=hw)
    assert both.size == 3 * genome.size and both.n_genes == genome.n_genes + 1
    assert len({row.tobytes() for row in both.enumerate(np.arange(both.size))}) == both.size
    r = both.random(500, np.random.default_rng(0))
    assert r.shape == (500, both.n_genes) and (r >= 0).all()
    assert (r < np.asarray([gene.size for gene in both.genes])).all()


def test_hardware_space_decodes_knobs():
    base = Hardware(name="base", num_pes=64, noc_latency_cycles=3)
    hs = HardwareSpace(base=base, choices=(("num_pes", (64, 256)), ("l1_size_words", (128, 512))))
    designs, index, pes = hs.decode(np.array([[1, 0], [0, 1], [1, 0]]))
    picked = [designs[i] for i in index]
    assert [(h.num_pes, h.l1_size_words) for h in picked] == [(256, 128), (64, 512), (256, 128)]
    assert all(h.noc_latency_cycles == 3 for h in picked)
    assert pes.tolist() == [256, 64, 256]
