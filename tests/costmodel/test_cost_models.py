"""The CostModel protocol: a semantics name resolves to one model; both models score mixed
templates in the batch's order and sweep NoC bandwidths like separate evaluations."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from mapsearch.costmodel import (
    SEMANTICS,
    CostModel,
    ExactModel,
    MaestroModel,
    MappingBatch,
    cost_model,
)
from mapsearch.directives.dataflows import dataflow
from mapsearch.errors import UnknownNameError
from mapsearch.hardware import Hardware
from mapsearch.layers import Layer

LAYER = Layer.conv("small", K=4, C=4, R=3, S=3, Y=6, X=6)
HW = Hardware(num_pes=8, noc_bw_words_per_cycle=4)
FLOWS = ("X-P", "KC-P", "YX-P", "C-P")


@pytest.mark.parametrize("semantics", SEMANTICS)
def test_a_name_resolves_to_its_model(semantics: str) -> None:
    model: CostModel = cost_model(semantics)
    assert model.semantics == semantics
    assert isinstance(model, {"exact": ExactModel, "maestro": MaestroModel}[semantics])


def test_unknown_semantics_lists_the_known_ones() -> None:
    with pytest.raises(UnknownNameError, match="maestro"):
        cost_model("maestr")


@pytest.mark.parametrize("semantics", SEMANTICS)
def test_mixed_templates_are_scored_in_the_batch_order(semantics: str) -> None:
    model = cost_model(semantics)
    mappings = [dataflow(f, LAYER) for f in (*FLOWS, *reversed(FLOWS))]
    mixed = model.evaluate_batch(LAYER, HW, MappingBatch.from_mappings(mappings, LAYER))
    for i, m in enumerate(mappings):
        one = model.evaluate_batch(LAYER, HW, MappingBatch.from_mappings([m], LAYER))
        assert mixed.runtime_cycles[i] == one.runtime_cycles[0], (semantics, m.name)
        assert mixed.energy_total[i] == one.energy_total[0], (semantics, m.name)


@pytest.mark.parametrize("semantics", SEMANTICS)
def test_runtime_sweep_equals_separate_evaluations(semantics: str) -> None:
    model = cost_model(semantics)
    batch = MappingBatch.from_mappings([dataflow(f, LAYER) for f in FLOWS], LAYER)
    bws = [1, 3, 64]
    swept = model.runtime_sweep(LAYER, HW, batch, bws)
    assert swept.shape == (len(bws), len(FLOWS))
    for k, bw in enumerate(bws):
        hw = replace(HW, noc_bw_words_per_cycle=bw)
        np.testing.assert_array_equal(
            swept[k], model.evaluate_batch(LAYER, hw, batch).runtime_cycles
        )


@pytest.mark.parametrize("semantics", SEMANTICS)
def test_evaluate_sweep_equals_an_evaluation_and_a_sweep(semantics: str) -> None:
    model = cost_model(semantics)
    batch = MappingBatch.from_mappings([dataflow(f, LAYER) for f in FLOWS], LAYER)
    bws = [1, 3, 64]
    report, swept = model.evaluate_sweep(LAYER, HW, batch, bws)
    np.testing.assert_array_equal(swept, model.runtime_sweep(LAYER, HW, batch, bws))
    alone = model.evaluate_batch(LAYER, HW, batch)
    for i in range(len(FLOWS)):
        assert report.record(i) == alone.record(i)
