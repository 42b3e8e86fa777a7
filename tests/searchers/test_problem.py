"""Problem.evaluate's bookkeeping: mappings the cost model refuses do not sink their batch."""

from __future__ import annotations

import numpy as np
import pytest

from mapsearch import costmodel
from mapsearch import problem as problem_module
from mapsearch.costmodel import MappingBatch, Report
from mapsearch.costmodel.summary import directive_texts
from mapsearch.errors import UnsupportedError
from mapsearch.hardware import Hardware
from mapsearch.layers import Layer
from mapsearch.problem import Problem


def test_rows_a_model_refuses_leave_the_others_scored(monkeypatch: pytest.MonkeyPatch) -> None:
    """A cost model may refuse some rows of a batch and name them (``UnsupportedError.rows``);
    the other rows of the same batch are scored as if the refused ones were not there. No
    model refuses single rows today (exact scores every mapping), so a stand-in refuses
    every other mapping that decodes; ``Problem.evaluate`` with the real model is the
    reference for the rest."""
    layer = Layer.conv("h", K=4, C=3, R=3, S=3, Y=8, X=8, stride=1)
    problem = Problem.create(layer, Hardware(num_pes=8), ["latency", "energy"])
    rng = np.random.default_rng(7)
    genotypes = np.stack([rng.integers(0, g.size, 64) for g in problem.genes], axis=1)
    reference = problem.evaluate(genotypes)
    assert reference.summaries is not None
    decoded = np.flatnonzero(reference.summaries.mappings != "")
    refused_rows = decoded[::2]
    kept_rows = np.setdiff1d(np.arange(len(genotypes)), refused_rows)
    refused_texts = set(reference.summaries.mappings[refused_rows])
    assert reference.feasible[kept_rows].any() and reference.feasible[refused_rows].any()
    calls: list[int] = []

    class StandIn(costmodel.ExactModel):
        def evaluate_batch(self, layer: Layer, hw: Hardware, batch: MappingBatch) -> Report:
            calls.append(len(batch))
            rows = [i for i, text in enumerate(directive_texts(batch)) if text in refused_texts]
            if rows:
                raise UnsupportedError("refused by the stand-in", rows=rows)
            return super().evaluate_batch(layer, hw, batch)

    monkeypatch.setattr(problem_module, "cost_model", lambda semantics: StandIn())
    ev = Problem.create(layer, Hardware(num_pes=8), ["latency", "energy"]).evaluate(genotypes)
    assert calls == [decoded.size, decoded.size - refused_rows.size]  # one batch, one retry
    np.testing.assert_array_equal(ev.values[kept_rows], reference.values[kept_rows])
    np.testing.assert_array_equal(ev.violation[kept_rows], reference.violation[kept_rows])
    assert ev.reasons[kept_rows].tolist() == reference.reasons[kept_rows].tolist()
    assert np.isnan(ev.values[refused_rows]).all() and np.isinf(ev.violation[refused_rows]).all()
    assert all(r == "UnsupportedError: refused by the stand-in" for r in ev.reasons[refused_rows])
