"""Fixtures shared by the CLI tests."""

from __future__ import annotations

from pathlib import Path

import onnx
import pytest
from onnx import TensorProto, helper


@pytest.fixture
def small_onnx(tmp_path: Path) -> Path:
    """``small.onnx``: two 3x3 convolutions of one shape (8 -> 8 channels, padding 1 on a
    16x16 map), ReLUs, global average pooling and a 4-way Gemm classifier."""
    shapes = {"x": [1, 8, 16, 16], "w1": [8, 8, 3, 3], "w2": [8, 8, 3, 3], "fc": [4, 8]}
    inputs = [helper.make_tensor_value_info(n, TensorProto.FLOAT, s) for n, s in shapes.items()]
    nodes = [
        helper.make_node("Conv", ["x", "w1"], ["a"], name="/block/conv1/Conv", pads=[1] * 4),
        helper.make_node("Relu", ["a"], ["b"]),
        helper.make_node("Conv", ["b", "w2"], ["c"], name="/block/conv2/Conv", pads=[1] * 4),
        helper.make_node("Relu", ["c"], ["d"]),
        helper.make_node("GlobalAveragePool", ["d"], ["e"]),
        helper.make_node("Flatten", ["e"], ["f"]),
        helper.make_node("Gemm", ["f", "fc"], ["y"], name="/fc/Gemm", transB=1),
    ]
    output = helper.make_tensor_value_info("y", TensorProto.FLOAT, None)
    graph = helper.make_graph(nodes, "small", inputs, [output])
    path = tmp_path / "small.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), path)
    return path
