"""Content ids: a configuration's id changes with every field of its factor rows, a table's
layout id with its masks, and tables of the same content get the same ids (the branch and
bound shares a node's plan between such nodes: ``tests/searchers/test_optimal.py``)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from mapsearch.bounds import Bounder
from mapsearch.bounds.content import ROW_FIELDS, ContentIds
from mapsearch.bounds.table import StructureTable, structures
from mapsearch.hardware import Hardware
from mapsearch.layers import Layer
from mapsearch.problem import Problem
from mapsearch.spaces import SpaceOptions


def _table() -> StructureTable:
    layer = Layer.conv("c", K=4, C=8, R=1, S=1, Y=2, X=2)
    problem = Problem.create(
        layer, Hardware(num_pes=8), ["edp"], options=SpaceOptions(kind="complete", levels=(2,))
    )
    st = structures(problem.space, num_pes=8)[0]
    return Bounder(problem).structure(st)[0].table


@pytest.mark.parametrize("field", ROW_FIELDS)
def test_every_field_of_a_configuration_s_rows_changes_its_id(field):
    table = _table()
    ids = ContentIds()
    layout, rows = ids.of(table)
    g = max(range(len(table.groups)), key=lambda g: len(table.groups[g].drain))
    grp = table.groups[g]
    old = getattr(grp, field)
    new = ~old if old.dtype == bool else old + 1
    changed = dataclasses.replace(
        table,
        groups=tuple(
            dataclasses.replace(x, **{field: new}) if x is grp else x for x in table.groups
        ),
    )
    layout2, rows2 = ids.of(changed)
    assert layout2 == layout
    assert all(a == b for h, (a, b) in enumerate(zip(rows, rows2, strict=True)) if h != g)
    assert not set(rows[g]) & set(rows2[g])  # every configuration of the group is new


def test_a_table_of_the_same_content_gets_the_same_ids_and_other_masks_another_layout():
    table = _table()
    ids = ContentIds()
    copy = dataclasses.replace(
        table,
        groups=tuple(
            dataclasses.replace(grp, **{f: getattr(grp, f).copy() for f in ROW_FIELDS})
            for grp in table.groups
        ),
    )
    assert ids.of(copy) == ids.of(table)
    # the same configuration rows in two groups are two contents: a group's rows play its parts
    assert not set(ids.of(table)[1][0]) & set(ids.of(table)[1][1])
    flipped = [m.copy() for m in table.masks]
    flipped[0][0, 0, 0, 0] = ~flipped[0][0, 0, 0, 0]
    other = dataclasses.replace(table, masks=tuple(flipped))
    assert ids.of(other)[0] != ids.of(table)[0]
    assert ids.of(other)[1] == ids.of(table)[1]
    orders = tuple(tuple(range(n)) for n in table.order_sizes)
    configs = tuple(tuple(range(min(3, len(g.drain)))) for g in table.groups)
    assert ids.key(copy, orders, configs) == ids.key(table, orders, configs)
    assert ids.key(other, orders, configs) != ids.key(table, orders, configs)
    assert np.all(
        [len(k) == len(d) for k, d in zip(ids.key(table, orders, configs)[2], configs, strict=True)]
    )


def test_configurations_of_the_same_timing_key_time_every_point_alike():
    """Two configurations of a group whose timing keys are equal give every point (the
    other groups' configurations and the orders drawn at random) the same later-step
    cycles; the keys are not all equal (they tell configurations apart)."""
    layer = Layer.conv("c", K=4, C=8, R=3, S=3, Y=6, X=6)
    hw = Hardware(num_pes=8, noc_bw_words_per_cycle=2, noc_latency_cycles=1)
    problem = Problem.create(layer, hw, ["edp"], options=SpaceOptions(kind="complete", levels=(2,)))
    bounder = Bounder(problem)
    rng = np.random.default_rng(0)
    ids = ContentIds()
    checked = distinct = 0
    for st in structures(problem.space, num_pes=8)[:24]:
        for sb in bounder.structure(st):
            table = sb.table
            every = tuple(tuple(int(a) for a in allowed) for allowed in sb.allowed)
            keys = ids.timing_key(sb.steps, every)
            for g, group_keys in enumerate(keys):
                distinct += len(set(group_keys)) > 1
                by_key: dict[int, list[int]] = {}
                for a, k in zip(every[g], group_keys, strict=True):
                    by_key.setdefault(k, []).append(a)
                for same in (v for v in by_key.values() if len(v) > 1):
                    a, b = rng.choice(same, size=2, replace=False)
                    for _ in range(3):
                        orders = [[(int(rng.integers(n)),) for n in table.order_sizes]] * 2
                        point = [np.asarray([rng.choice(d)]) for d in every]
                        pair = [list(point), list(point)]
                        pair[0][g], pair[1][g] = np.asarray([a]), np.asarray([b])
                        cycles = sb.steps.later_cycles(orders, pair, hw, np.ones(2, dtype=bool))
                        assert cycles[0] == cycles[1]
                        checked += 1
    assert checked >= 50 and distinct >= 5, (checked, distinct)
