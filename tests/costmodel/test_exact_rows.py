"""Templates read as arrays (``costmodel/_exact_rows.py``) agree with the per-template plan,
and a mixed batch read that way scores every row as if alone."""

from __future__ import annotations

import numpy as np
import pytest

from mapsearch.costmodel import evaluate_batch
from mapsearch.costmodel._exact_groups import _core_key, _parts, class_parts
from mapsearch.costmodel._exact_rows import read_rows
from mapsearch.costmodel.batch import MappingBatch
from mapsearch.costmodel.exact import _group_core_key, _group_model, _plan, slot_query
from mapsearch.directives import Cluster, Mapping, SpatialMap, TemporalMap
from mapsearch.hardware import Hardware
from mapsearch.hardware.presets import preset
from mapsearch.layers import Layer
from mapsearch.layers.zoo import find_layer
from mapsearch.problem import Problem
from mapsearch.spaces.mapping_space import SpaceOptions


def random_batch(layer: Layer, kind: str, n: int, seed: int) -> tuple[MappingBatch, Hardware]:
    """``n`` random genotypes of a ``tune`` space of ``layer`` decoded to one batch."""
    problem = Problem.create(layer, preset("edge_256"), ["edp"], options=SpaceOptions(kind=kind))
    decoded, designs, _ = problem.decode(problem.genome.random(n, np.random.default_rng(seed)))
    assert decoded.batch is not None
    return decoded.batch, designs[0]


def hand_batch(layer: Layer) -> MappingBatch:
    """Templates the spaces do not write: ``Y'`` (with and without the level's filter
    directive, leading a level's SpatialMaps), a diagonal pair of different groups, a
    dimension mapped twice in a level, a third SpatialMap, an empty level."""
    mappings = [
        Mapping(
            directives=(SpatialMap(2, 2, "K"), TemporalMap(1, 1, "Y'"), TemporalMap(3, 3, "R"))
        ),
        Mapping(directives=(SpatialMap(1, 1, "Y"), SpatialMap(1, 1, "K"), Cluster(2))),
        Mapping(directives=(TemporalMap(1, 1, "K"), TemporalMap(2, 2, "K"))),
        Mapping(directives=(SpatialMap(1, 1, "Y"), SpatialMap(1, 1, "R"), SpatialMap(1, 1, "K"))),
        Mapping(directives=(SpatialMap(1, 1, "Y"), SpatialMap(1, 1, "R"), Cluster(4))),
        Mapping(directives=()),
        Mapping(
            directives=(
                SpatialMap(3, 2, "Y'"),
                TemporalMap(4, 4, "K"),
                Cluster(8),
                SpatialMap(1, 1, "X'"),
                TemporalMap(2, 2, "S"),
                TemporalMap(2, 1, "Y'"),
            )
        ),
    ]
    return MappingBatch.from_mappings(mappings, layer)


CASES = [
    ("vgg16.conv3_1", "compact"),
    ("vgg16.conv3_1", "complete"),
    ("alexnet.conv1", "complete"),
    ("mobilenetv2.bn4_dw", "complete"),
    ("mobilenetv2.fc1000", "compact"),
]


@pytest.mark.parametrize(("name", "kind"), CASES)
def test_rows_read_as_arrays_agree_with_the_template_plan(name: str, kind: str) -> None:
    """Per readable row and group: the key is the core key of the plan's group with the
    row's values (directives in input space, units cut, computed by the compiled read),
    the model built from it has that core key too, and the parts are ``class_parts`` of
    the plan's loops; a row is left out exactly when its
    template cannot be unfolded or joins groups."""
    layer = find_layer(name)
    batch, hw = random_batch(layer, kind, 150, seed=4)
    batch = MappingBatch.concat([batch, hand_batch(layer)])
    n_pes = hw.num_pes
    cluster = batch.kinds == 2
    top = n_pes // np.maximum(np.prod(np.where(cluster, batch.sizes, 1), axis=1), 1)
    read = read_rows(layer, batch, top)
    n_units = read.units.shape[1]
    checked = 0
    for i in range(len(batch)):
        plan = _plan(layer, batch.template_of(i))
        joined = any(len(spec.members) > 1 for spec in plan.specs)
        assert bool(read.readable[i]) == (not plan.problems and not joined), batch.mapping(i)
        if not read.readable[i]:
            continue
        units = read.units[i]
        by_name = dict(zip(read.slots, range(len(read.slots)), strict=True))
        for spec, shape in zip(plan.specs, plan.shapes, strict=True):
            s = by_name[spec.name]
            key = read.key(s)[i]
            assert key[0] >= 0, (spec.name, batch.mapping(i))
            query = slot_query(layer, spec.name, n_units, key.tobytes())
            values = (
                *[int(batch.sizes[i, j]) for j in spec.columns],
                *[int(batch.offsets[i, j]) for j in spec.columns],
                *[int(units[lv]) for lv in spec.levels],
            )
            assert query.spec == shape.spec
            model = _group_model(layer, shape.directives, shape.n_levels, spec.levels, values)
            core_key = _core_key(model, shape.spec)
            assert query.key == core_key
            assert _core_key(query.model, shape.spec) == core_key
            assert _group_core_key(layer, shape.spec, shape.directives, shape.n_levels, values) == (
                core_key
            )
            n_loops = sum(1 for g in plan.loop_groups if g == spec.name)
            assert read.n_mine[s][i] == n_loops
            order = _parts(n_loops, False)
            want = [order.index(p) for p in class_parts(spec.name, plan.loop_groups)]
            local = read.local[s][i]
            assert local[: len(want)].tolist() == want
            assert (local[len(want) :] == -1).all()
            checked += 1
        present = {spec.name for spec in plan.specs}
        for s, slot in enumerate(read.slots):
            if slot not in present:
                assert (read.key(s)[i] == -1).all()
    assert checked > 0


@pytest.mark.parametrize(
    ("name", "kind"), [("vgg16.conv3_1", "complete"), ("alexnet.conv1", "compact")]
)
def test_mixed_batch_scores_every_row_as_alone(name: str, kind: str) -> None:
    """One call on rows of many templates (some read as arrays, some per template, some
    coupled) equals each row scored alone."""
    layer = find_layer(name)
    batch, hw = random_batch(layer, kind, 40, seed=11)
    batch = MappingBatch.concat([batch, hand_batch(layer)])
    mixed = evaluate_batch(layer, hw, batch)
    for i in range(len(batch)):
        alone = evaluate_batch(layer, hw, batch.take([i]))
        assert mixed.record(i) == alone.record(0), batch.mapping(i)
