"""The complete space holds the classic dataflows: every dataflow of
`mapsearch dataflows`, on every distinct zoo layer, encodes to a genotype that decodes to
the same mapping (but for the cases of docs/search_space.md)."""

from __future__ import annotations

import pytest

from mapsearch.costmodel import MappingBatch, evaluate_batch
from mapsearch.directives import Mapping
from mapsearch.directives.dataflows import DATAFLOWS, dataflow
from mapsearch.directives.nest import nest_signature, unfold
from mapsearch.directives.validate import mapping_problems
from mapsearch.errors import UnsupportedError
from mapsearch.hardware import Hardware
from mapsearch.layers import Layer
from mapsearch.layers.zoo import MODELS, distinct_layers
from mapsearch.spaces import MappingSpace, SpaceOptions
from mapsearch.spaces.mapping_space import DEFAULT_LEVELS

PES = (168, 256)


def one_pe_spatial_map(mapping: Mapping, layer: Layer, num_pes: int) -> str:
    """Why ``mapping`` is outside the space, if it maps a dimension of size 1 spatially on
    a level of more than one unit: that leaves one unit of the level busy, and the space
    maps spatially only dimensions larger than 1 (it never writes such one-unit levels)."""
    model = unfold(layer, mapping.resolve(layer), num_pes)
    for level in model.levels:
        for d in level.spatial_maps:
            if level.units > 1 and layer.size(d.dim) == 1:
                return f"SpatialMap on {d.dim} (size 1) keeps one of {level.units} units busy"
    return ""


def cases(model: str):
    """(layer, [(dataflow name, mapping)]) for every distinct layer of ``model``."""
    for layer in distinct_layers(model):
        found = []
        for name in DATAFLOWS:
            try:
                found.append((name, dataflow(name, layer)))
            except UnsupportedError:  # no GEMM form: not listed for this layer
                continue
        yield layer, found


@pytest.mark.parametrize("pes", PES)
@pytest.mark.parametrize("model", MODELS)
def test_every_classic_dataflow_is_a_point_of_the_complete_space(model, pes):
    hw = Hardware(num_pes=pes)
    skipped: list[str] = []
    held = 0
    for layer, found in cases(model):
        # the complete space with the default levels, and the same with a third level
        spaces = {
            2: MappingSpace.build(layer, pes, SpaceOptions(kind="complete")),
            3: MappingSpace.build(layer, pes, SpaceOptions(kind="complete", levels=(1, 2, 3))),
        }
        assert spaces[2].complete and spaces[2].options.levels == DEFAULT_LEVELS == (1, 2)
        originals, decoded_rows, names = [], [], []
        for name, mapping in found:
            if mapping_problems(mapping, layer, hw):
                # YR-P_rs_vgg on a filter wider than 1 pairs one input column with a whole
                # filter row: no MAC is computed (docs/search_space.md); the space is legal.
                assert name == "YR-P_rs_vgg", (layer.qualified_name, name)
                skipped.append(f"{layer.name} {name}: illegal")
                continue
            why = one_pe_spatial_map(mapping, layer, pes)
            if why:
                skipped.append(f"{layer.name} {name}: {why}")
                continue
            # MAERI_kp has 3 levels: the complete space with --levels 1,2,3
            assert len(mapping.levels()) <= 2 or name == "MAERI_kp", (layer.name, name)
            space = spaces[max(2, len(mapping.levels()))]
            genotype = space.encode(mapping)
            assert genotype is not None, f"{layer.qualified_name} {name} is not in the space"
            decoded = space.decode(genotype[None, :], pes)
            assert decoded.batch is not None
            back = decoded.batch.mapping(0)
            assert mapping_problems(back, layer, hw) == []
            assert nest_signature(unfold(layer, back, pes)) == nest_signature(
                unfold(layer, mapping.resolve(layer), pes)
            )
            originals.append(mapping)
            decoded_rows.append(back)
            names.append(name)
            held += 1
        if not names or pes != PES[0]:  # the exact model's half of the check: once
            continue
        # independently of the nest: the exact model counts the same, field by field
        both = MappingBatch.from_mappings(originals + decoded_rows, layer)
        report = evaluate_batch(layer, hw, both)
        for k, name in enumerate(names):
            assert report.record(k) == report.record(len(names) + k), (layer.name, name)
    assert held > 0
    # the only cases left out are those two kinds, on the layers expected
    for s in skipped:
        assert "illegal" in s or s.split()[0] in {"FC7", "FC8"}, s
