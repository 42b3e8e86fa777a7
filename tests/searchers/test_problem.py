"""Problem.evaluate's bookkeeping: mappings the cost model refuses do not sink their batch."""

from __future__ import annotations

import numpy as np
import pytest

from mapsearch import costmodel
from mapsearch import problem as problem_module
from mapsearch.costmodel import MappingBatch, Report
from mapsearch.directives import Cluster, Mapping, SpatialMap, TemporalMap
from mapsearch.errors import UnsupportedError
from mapsearch.hardware import Hardware
from mapsearch.layers import Layer
from mapsearch.problem import Problem


def test_rows_a_model_refuses_leave_the_others_scored(monkeypatch: pytest.MonkeyPatch) -> None:
    """A cost model may refuse some rows of a batch and name them (``UnsupportedError.rows``);
    the other rows of the same batch are still scored. No model refuses single rows today
    (exact scores every mapping), so a stand-in refuses the ``spatial N`` rows."""
    layer = Layer.conv("h", K=1, C=1, R=1, S=1, Y=5, X=1, stride=2)
    hw = Hardware(num_pes=3)
    ok = Mapping(directives=(Cluster(3), SpatialMap(1, 2, "Y"), TemporalMap(1, 1, "N")))
    refused = Mapping(directives=(Cluster(3), SpatialMap(1, 1, "Y"), TemporalMap(1, 1, "N")))

    def evaluate_batch(layer: Layer, hw: Hardware, batch: MappingBatch, **kw: str) -> Report:
        rows = np.flatnonzero(batch.offsets[:, 1] == 1)
        if rows.size:
            raise UnsupportedError("refused by the stand-in", rows=rows.tolist())
        return costmodel.evaluate_batch(layer, hw, batch, **kw)

    monkeypatch.setattr(problem_module, "evaluate_batch", evaluate_batch)
    problem = Problem.create(layer, hw, ["latency"])
    batch = MappingBatch.from_mappings([ok, refused, ok, refused], layer)
    values = np.full((4, 1), np.nan)
    violation = np.full(4, np.inf)
    reasons = np.full(4, "", dtype=object)
    problem._score(batch, np.arange(4), np.arange(4), hw, values, violation, reasons)
    assert np.isfinite(values[[0, 2], 0]).all() and (values[[0, 2], 0] > 0).all()
    assert violation[[0, 2]].tolist() == [0.0, 0.0]
    assert reasons[0] == reasons[2] == ""
    assert np.isnan(values[[1, 3], 0]).all() and np.isinf(violation[[1, 3]]).all()
    assert all(r.startswith("UnsupportedError") for r in reasons[[1, 3]])
