"""``import mapsearch`` gives what a notebook needs, and stays quick to import."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import mapsearch
from mapsearch.errors import UnknownNameError
from mapsearch.models import Model


@pytest.mark.parametrize("name", mapsearch.__all__)
def test_every_public_name_resolves(name: str) -> None:
    assert getattr(mapsearch, name) is not None
    assert name in dir(mapsearch)


def test_unknown_names_are_attribute_errors() -> None:
    with pytest.raises(AttributeError, match="no attribute 'tuen'"):
        _ = mapsearch.tuen  # type: ignore[attr-defined]


def test_import_loads_nothing_heavy() -> None:
    code = (
        "import sys, mapsearch; "
        "print(sorted(m for m in ('numpy', 'optuna', 'onnx', 'typer', 'mapsearch.costmodel') "
        "if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_evaluate_through_the_public_names() -> None:
    layer = mapsearch.find_layer("conv3_1")
    hw = mapsearch.preset("hw_pe256_bw64_offchip1e6")
    report = mapsearch.evaluate(layer, hw, mapsearch.dataflow("kcp_ws", layer), semantics="maestro")
    assert report.macs[0] == layer.macs
    assert isinstance(layer, mapsearch.Layer) and isinstance(hw, mapsearch.Hardware)


def test_a_model_is_tuned_shape_by_shape_and_its_studies_load_and_export(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    a = mapsearch.Layer.conv("a", K=8, C=4, R=3, S=3, Y=8, X=8)
    b = mapsearch.Layer.conv("b", K=4, C=8, R=1, S=1, Y=6, X=6)
    repeat = mapsearch.Layer.conv("a2", K=8, C=4, R=3, S=3, Y=8, X=8)
    model = Model(name="tiny", layers=(a, b, repeat))
    result = mapsearch.tune_model(
        model,
        mapsearch.Hardware(num_pes=16),
        ["latency"],
        config=mapsearch.RunConfig(searcher="random", n_trials=16),
        options=mapsearch.SpaceOptions(levels=(1,)),
        study="t",
    )
    assert [o.run.study for o in result.outcomes] == ["t-a", "t-b"]
    assert result.model.repeats() == {"a": ("a2",)}
    assert not result.skipped and not result.interrupted
    assert sorted(p.name for p in (tmp_path / "studies").iterdir()) == [
        "t-a.sqlite3",
        "t-b.sqlite3",
    ]  # a study per shape, and no other file
    doc = result.to_json(model="tiny", tuning_table=result.table_path)
    assert [x["study"] for x in doc["layers"]] == ["t-a", "t-b"]
    assert doc["repeats"] == {"a": ("a2",)} and doc["tuning_table"].endswith(".tuning.json")
    record = mapsearch.load_study("t-b")
    assert record.problem.layer == b and record.n_trials() == 16
    (text,) = mapsearch.export_study("t-b", "maestro")
    assert "Dataflow {" in text and "Layer b {" in text
    with pytest.raises(UnknownNameError, match="t-b"):
        mapsearch.load_study("t-c")
