"""``import mapsearch`` gives what a notebook needs, and stays quick to import."""

from __future__ import annotations

import subprocess
import sys

import pytest

import mapsearch


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
