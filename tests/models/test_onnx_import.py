"""ONNX import: graphs built here with ``onnx.helper`` (nothing downloaded), read back as layers.

Expected shapes are worked out by hand from each operator's definition, or taken from the
zoo (ResNet50 in the published convention, BERT-base's GEMMs) at test time; output sizes
are compared with what ONNX's own shape inference says about the graph.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from mapsearch.errors import ModelFileError
from mapsearch.layers import Layer, Op, bert_base, model_layers
from mapsearch.models import load_model, read_onnx
from mapsearch.models.model import sanitise_name

Dim = int | str


class Net:
    """An ONNX graph built node by node. Weights are graph inputs that only have a shape
    (the importer reads shapes, never values), unless given as initializers."""

    def __init__(self, opset: int = 17) -> None:
        self.opset = opset
        self.nodes: list[onnx.NodeProto] = []
        self.inputs: list[onnx.ValueInfoProto] = []
        self.initializers: list[onnx.TensorProto] = []
        self.count = 0

    def _fresh(self, prefix: str) -> str:
        self.count += 1
        return f"{prefix}{self.count}"

    def input(self, name: str, shape: Sequence[Dim]) -> str:
        self.inputs.append(helper.make_tensor_value_info(name, TensorProto.FLOAT, list(shape)))
        return name

    def weight(self, shape: Sequence[int]) -> str:
        return self.input(self._fresh("w"), shape)

    def constant(self, values: Sequence[int]) -> str:
        name = self._fresh("const")
        self.initializers.append(numpy_helper.from_array(np.array(values, np.int64), name))
        return name

    def node(self, op: str, inputs: Sequence[str], name: str = "", **attrs: object) -> str:
        out = self._fresh("t")
        self.nodes.append(helper.make_node(op, list(inputs), [out], name=name, **attrs))
        return out

    def conv(
        self,
        x: str,
        name: str,
        c: int,
        k: int,
        r: int,
        *,
        stride: int = 1,
        pad: int = 0,
        group: int = 1,
    ) -> str:
        w = self.weight([k, c // group, r, r])
        return self.node(
            "Conv",
            [x, w],
            name,
            kernel_shape=[r, r],
            strides=[stride] * 2,
            pads=[pad] * 4,
            group=group,
        )

    def model(self, output: str) -> onnx.ModelProto:
        out = helper.make_tensor_value_info(output, TensorProto.FLOAT, None)
        graph = helper.make_graph(
            self.nodes, "net", self.inputs, [out], initializer=self.initializers
        )
        return helper.make_model(graph, opset_imports=[helper.make_opsetid("", self.opset)])

    def save(self, output: str, path: Path) -> Path:
        onnx.save(self.model(output), path)
        return path


def graph_sizes(path: Path) -> dict[str, tuple[int, ...]]:
    """ONNX's own inferred shape of every tensor of the file."""
    inferred = onnx.shape_inference.infer_shapes(onnx.load(path))
    g = inferred.graph
    return {
        v.name: tuple(d.dim_value for d in v.type.tensor_type.shape.dim)
        for v in (*g.input, *g.value_info, *g.output)
    }


def shape(layer: Layer) -> tuple[object, ...]:
    return (layer.op, layer.dims, layer.stride_y, layer.stride_x)


# --- one graph of every supported form ----------------------------------------------------


@pytest.fixture
def mixed(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """Conv (padded, strided), SAME conv, depthwise, grouped, depthwise x2, Gemm, MatMul."""
    net = Net()
    outs = {}
    x = net.input("image", [1, 3, 32, 32])
    # 3x3 stride 2 pad 1 on 32x32: 34 padded rows, 16 outputs.
    outs["stem"] = x = net.conv(x, "/stem/conv/Conv", 3, 16, 3, stride=2, pad=1)
    x = net.node("Relu", [x])
    # SAME_UPPER, stride 2 on 16: ceil(16/2) = 8 outputs need (8-1)*2+3 = 17 rows: pad 1.
    w = net.weight([16, 16, 3, 3])
    outs["same"] = x = net.node("Conv", [x, w], "same", auto_pad="SAME_UPPER", strides=[2, 2])
    outs["dw"] = x = net.conv(x, "dw", 16, 16, 3, pad=1, group=16)
    outs["grouped"] = x = net.conv(x, "grouped", 16, 32, 3, pad=1, group=4)
    outs["dw_x2"] = x = net.conv(x, "dw_x2", 32, 64, 1, group=32)  # depth multiplier 2
    x = net.node("GlobalAveragePool", [x])
    x = net.node("Flatten", [x])
    w = net.weight([10, 64])
    outs["fc"] = x = net.node("Gemm", [x, w], "fc", transB=1)
    w = net.weight([10, 7])
    outs["head"] = x = net.node("MatMul", [x, w], "head")
    return net.save(x, tmp_path / "mixed.onnx"), outs


def test_each_operator_maps_to_its_layer(mixed: tuple[Path, dict[str, str]]) -> None:
    path, _ = mixed
    model = read_onnx(path)
    assert model.name == "mixed" and model.source == str(path)
    by_name = {layer.name: layer for layer in model.layers}
    assert list(by_name) == [
        "stem_conv_Conv",
        "same",
        "dw",
        *(f"grouped_g{i}" for i in range(4)),
        *(f"dw_x2_g{i}" for i in range(32)),
        "fc",
        "head",
    ]
    assert by_name["stem_conv_Conv"] == Layer(
        name="stem_conv_Conv",
        op=Op.CONV,
        dims=(("N", 1), ("K", 16), ("C", 3), ("R", 3), ("S", 3), ("Y", 34), ("X", 34)),
        stride_y=2,
        stride_x=2,
        model="mixed",
    )
    assert by_name["same"].sizes == {"N": 1, "K": 16, "C": 16, "R": 3, "S": 3, "Y": 17, "X": 17}
    assert by_name["same"].stride == 2
    assert by_name["dw"].op is Op.DSCONV
    assert by_name["dw"].sizes == {"N": 1, "C": 16, "R": 3, "S": 3, "Y": 10, "X": 10}
    # 4 groups of 4 input and 8 output channels each, as plain convolutions.
    assert {shape(by_name[f"grouped_g{i}"]) for i in range(4)} == {
        (Op.CONV, (("N", 1), ("K", 8), ("C", 4), ("R", 3), ("S", 3), ("Y", 10), ("X", 10)), 1, 1)
    }
    assert by_name["dw_x2_g31"].sizes == {"N": 1, "K": 2, "C": 1, "R": 1, "S": 1, "Y": 8, "X": 8}
    assert by_name["fc"].sizes == {"M": 1, "N": 10, "K": 64}
    assert by_name["head"].sizes == {"M": 1, "N": 7, "K": 10}
    assert all(layer.model == "mixed" for layer in model.layers)
    assert model.notes == ("skipped 3 nodes: Relu x1, GlobalAveragePool x1, Flatten x1",)


def test_output_sizes_and_macs_equal_the_graphs(mixed: tuple[Path, dict[str, str]]) -> None:
    path, outs = mixed
    sizes = graph_sizes(path)
    model = read_onnx(path)
    by_node: dict[str, list[Layer]] = {}
    for layer in model.layers:
        by_node.setdefault(layer.name.split("_g")[0], []).append(layer)
    for node, out in (("stem_conv_Conv", "stem"), ("same", "same"), ("dw", "dw")):
        (layer,) = by_node[node]
        assert (layer.out_y, layer.out_x) == sizes[outs[out]][2:]
    for node in ("grouped", "dw_x2"):
        layers = by_node[node]
        _, k, h, w = sizes[outs[node]]
        assert {(layer.out_y, layer.out_x) for layer in layers} == {(h, w)}
        assert sum(layer.size("K") for layer in layers) == k
    # MACs: output elements x multiplies per output (C/group x R x S; depthwise R x S).
    expected = 16 * 16 * 16 * (3 * 9)
    expected += 16 * 8 * 8 * (16 * 9)
    expected += 16 * 8 * 8 * 9
    expected += 32 * 8 * 8 * (4 * 9)
    expected += 64 * 8 * 8 * 1
    expected += 10 * 64 + 7 * 10
    assert model.total_macs == expected


def test_one_dimensional_convolution_is_one_row(tmp_path: Path) -> None:
    net = Net()
    x = net.input("audio", [1, 8, 100])
    w = net.weight([16, 8, 5])
    y = net.node("Conv", [x, w], "conv1d", strides=[2], pads=[2, 2])
    (layer,) = read_onnx(net.save(y, tmp_path / "a.onnx")).layers
    assert layer.sizes == {"N": 1, "K": 16, "C": 8, "R": 1, "S": 5, "Y": 1, "X": 104}
    assert (layer.stride_y, layer.stride_x) == (1, 2)
    assert layer.out_x == graph_sizes(tmp_path / "a.onnx")[y][2] == 50


def test_asymmetric_padding_and_strides(tmp_path: Path) -> None:
    net = Net()
    x = net.input("x", [2, 4, 20, 30])
    w = net.weight([8, 4, 3, 5])
    y = net.node("Conv", [x, w], "c", strides=[1, 3], pads=[0, 2, 1, 0])
    (layer,) = read_onnx(net.save(y, tmp_path / "a.onnx")).layers
    assert layer.sizes == {"N": 2, "K": 8, "C": 4, "R": 3, "S": 5, "Y": 21, "X": 32}
    assert (layer.stride_y, layer.stride_x) == (1, 3)
    assert (2, 8, layer.out_y, layer.out_x) == graph_sizes(tmp_path / "a.onnx")[y]


def test_gemm_transposes(tmp_path: Path) -> None:
    net = Net()
    a = net.input("a", [6, 3])  # A^T: K=6 rows, M=3 columns
    y = net.node("Gemm", [a, net.weight([6, 5])], "ta", transA=1)
    z = net.node("Gemm", [y, net.weight([2, 5])], "tb", transB=1)
    model = read_onnx(net.save(z, tmp_path / "g.onnx"))
    assert [x.sizes for x in model.layers] == [{"M": 3, "N": 5, "K": 6}, {"M": 3, "N": 2, "K": 5}]
    assert graph_sizes(tmp_path / "g.onnx")[z] == (3, 2)


def test_dilated_and_3d_convolutions_are_noted_not_imported(tmp_path: Path) -> None:
    net = Net()
    x = net.input("x", [1, 4, 16, 16])
    w = net.weight([4, 4, 3, 3])
    x = net.node("Conv", [x, w], "dilated", dilations=[2, 2])
    w = net.weight([4, 4, 1, 1])
    x = net.node("Conv", [x, w], "plain")
    v = net.input("volume", [1, 2, 4, 4, 4])
    w = net.weight([2, 2, 1, 1, 1])
    net.node("Conv", [v, w], "conv3d")
    model = read_onnx(net.save(x, tmp_path / "a.onnx"))
    assert [layer.name for layer in model.layers] == ["plain"]
    (note,) = model.notes
    assert note.startswith("not imported (2 nodes, their MACs are not counted): ")
    assert "dilated (Conv: dilations (2, 2)" in note and "conv3d (Conv: a 3-D convolution" in note


def test_names_are_sanitised_and_unique(tmp_path: Path) -> None:
    assert sanitise_name("/layer1/layer1.0/conv1/Conv") == "layer1_layer1_0_conv1_Conv"
    net = Net()
    x = net.input("x", [1, 4, 8, 8])
    for name in ("a.b", "a/b", "", "", "Conv_5"):
        x = net.conv(x, name, 4, 4, 1)
    model = read_onnx(net.save(x, tmp_path / "my-net.v2.onnx"))
    # unnamed nodes take their op type and index; a clash gets a suffix
    assert [layer.name for layer in model.layers] == ["a_b", "a_b_2", "Conv_2", "Conv_3", "Conv_5"]
    assert model.name == "my_net_v2"
    assert model.layers[0].qualified_name == "my_net_v2.a_b"


# --- ResNet50 against the zoo ---------------------------------------------------------


def resnet50(path: Path) -> Path:
    """ResNet50 as He et al. 2016 build it (and the zoo describes it): stride 2 on the first
    1x1 conv of stages 3-5, projection shortcuts, BatchNorm, ReLU, max-pooling, residual
    adds, global average pooling and an FC-1000 Gemm. Node names as torchvision's export.
    Only channels, kernels, strides and padding are given: spatial sizes are ONNX's."""
    net = Net()

    def conv_bn(x: str, name: str, c: int, k: int, r: int, stride: int = 1) -> str:
        y = net.conv(x, f"{name}/Conv", c, k, r, stride=stride, pad=r // 2)
        bn = [net.weight([k]) for _ in range(4)]
        return net.node("BatchNormalization", [y, *bn], name.replace("conv", "bn"))

    x = net.input("images", ["batch", 3, 224, 224])
    x = net.node("Relu", [conv_bn(x, "/conv1", 3, 64, 7, stride=2)])
    x = net.node("MaxPool", [x], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1])
    c = 64
    for stage, (blocks, w) in enumerate(((3, 64), (4, 128), (6, 256), (3, 512)), start=1):
        for b in range(blocks):
            stride = 2 if b == 0 and stage > 1 else 1
            p = f"/layer{stage}/layer{stage}.{b}"
            y = net.node("Relu", [conv_bn(x, f"{p}/conv1", c, w, 1, stride)])
            y = net.node("Relu", [conv_bn(y, f"{p}/conv2", w, w, 3)])
            y = conv_bn(y, f"{p}/conv3", w, 4 * w, 1)
            short = conv_bn(x, f"{p}/downsample/downsample.0", c, 4 * w, 1, stride) if b == 0 else x
            x = net.node("Relu", [net.node("Add", [y, short])])
            c = 4 * w
    x = net.node("Flatten", [net.node("GlobalAveragePool", [x])])
    fc = net.node("Gemm", [x, net.weight([1000, 2048]), net.weight([1000])], "/fc/Gemm", transB=1)
    return net.save(fc, path)


def test_resnet50_convs_equal_the_zoo_in_the_published_convention(tmp_path: Path) -> None:
    model = read_onnx(resnet50(tmp_path / "resnet50.onnx"))
    zoo = model_layers("resnet50", convention="published")
    zoo_convs, (zoo_fc,) = zoo[:-1], zoo[-1:]
    imported_convs, (fc,) = model.layers[:-1], model.layers[-1:]
    assert len(imported_convs) == len(zoo_convs) == 53
    assert [shape(x) for x in imported_convs] == [shape(x) for x in zoo_convs]
    assert imported_convs[1].name == "layer1_layer1_0_conv1_Conv"
    assert imported_convs[4].name == "layer1_layer1_0_downsample_downsample_0_Conv"
    # The classifier is a Gemm here, a 1x1 convolution over a 1x1 map in the zoo.
    assert fc.op is Op.GEMM and fc.name == "fc_Gemm"
    assert fc.sizes == {"M": 1, "N": zoo_fc.size("K"), "K": zoo_fc.size("C")}
    assert fc.macs == zoo_fc.macs
    assert model.total_macs == sum(x.macs for x in zoo)
    assert model.notes == (
        "batch size taken as 1: the first dimension of input 'images' (batch) is symbolic",
        # a BatchNormalization per conv; a ReLU after conv1 and three per block; an Add per block
        "skipped 121 nodes: BatchNormalization x53, Relu x49, Add x16, MaxPool x1, "
        "GlobalAveragePool x1, Flatten x1",
    )


def test_resnet50_repeated_shapes_are_grouped(tmp_path: Path) -> None:
    model = read_onnx(resnet50(tmp_path / "resnet50.onnx"))
    groups = model.shape_groups()
    assert sum(len(g) for g in groups) == len(model.layers) == 54
    assert all(len({shape(x) for x in g}) == 1 for g in groups)
    assert len({shape(g[0]) for g in groups}) == len(groups)
    # Blocks 2..n of a stage repeat each other: their three convs share one shape each
    # (conv1 of block 2 takes 4w channels, unlike block 1's); layer3 (He's conv4_x) has 6.
    by_first = {g[0].name: [x.name for x in g] for g in groups}
    assert by_first["layer3_layer3_1_conv1_Conv"] == [
        f"layer3_layer3_{b}_conv1_Conv" for b in range(1, 6)
    ]
    assert len(groups) == len({shape(x) for x in model_layers("resnet50", convention="published")})
    assert model.distinct() == tuple(g[0] for g in groups)
    assert model.repeats()["resnet50.layer3_layer3_1_conv1_Conv"] == tuple(
        f"resnet50.layer3_layer3_{b}_conv1_Conv" for b in range(2, 6)
    )


# --- a transformer encoder block: batched MatMuls -------------------------------------


def encoder_block(path: Path, *, seq: Dim = 128, d: int = 768, heads: int = 12) -> Path:
    """One BERT encoder layer as exporters write it: per-token projections (MatMul with a
    2-D weight on a [batch, seq, d] input), heads split by Reshape/Transpose, batched
    ``Q @ K^T`` and ``P @ V`` over [batch, heads], FFN with GELU, LayerNorm."""
    net = Net(opset=20)
    x = net.input("hidden", ["batch", seq, d])
    dh = d // heads

    def heads_of(t: str, perm: list[int]) -> str:
        t = net.node("Reshape", [t, net.constant([0, 0, heads, dh])])
        return net.node("Transpose", [t], perm=perm)

    q = net.node("MatMul", [x, net.weight([d, d])], "/attn/query/MatMul")
    k = net.node("MatMul", [x, net.weight([d, d])], "/attn/key/MatMul")
    v = net.node("MatMul", [x, net.weight([d, d])], "/attn/value/MatMul")
    scores = net.node(
        "MatMul", [heads_of(q, [0, 2, 1, 3]), heads_of(k, [0, 2, 3, 1])], "/attn/scores/MatMul"
    )
    probs = net.node("Softmax", [scores], axis=-1)
    context = net.node("MatMul", [probs, heads_of(v, [0, 2, 1, 3])], "/attn/context/MatMul")
    context = net.node("Transpose", [context], perm=[0, 2, 1, 3])
    context = net.node("Reshape", [context, net.constant([0, 0, d])])
    out = net.node("MatMul", [context, net.weight([d, d])], "/attn/output/MatMul")
    x = net.node("Add", [x, out])
    ffn = net.node("MatMul", [x, net.weight([d, 4 * d])], "/ffn/up/MatMul")
    ffn = net.node("Gelu", [ffn])
    ffn = net.node("MatMul", [ffn, net.weight([4 * d, d])], "/ffn/down/MatMul")
    x = net.node("Add", [x, ffn])
    x = net.node("LayerNormalization", [x, net.weight([d]), net.weight([d])])
    return net.save(x, path)


def test_transformer_block_gives_bert_base_gemms(tmp_path: Path) -> None:
    model = read_onnx(encoder_block(tmp_path / "bert_layer.onnx"))
    gemm_shapes = Counter((x.size("M"), x.size("N"), x.size("K")) for x in model.layers)
    zoo = bert_base(128)
    assert gemm_shapes == Counter((x.size("M"), x.size("N"), x.size("K")) for x in zoo)
    assert all(x.op is Op.GEMM for x in model.layers)
    # Per-head GEMMs are one layer per head, each named after its node.
    names = [x.name for x in model.layers]
    assert [n for n in names if n.startswith("attn_scores")] == [
        f"attn_scores_MatMul_{h}" for h in range(12)
    ]
    scores = next(x for x in model.layers if x.name == "attn_scores_MatMul_0")
    assert scores.sizes == {"M": 128, "N": 128, "K": 64}
    context = next(x for x in model.layers if x.name == "attn_context_MatMul_11")
    assert context.sizes == {"M": 128, "N": 64, "K": 128}
    assert len(model.distinct()) == len({shape(x) for x in zoo}) == 5
    assert "Softmax x1" in model.notes[-1] and "Reshape x4" in model.notes[-1]


def test_batch_dimensions_fold_or_repeat_as_broadcasting_says(tmp_path: Path) -> None:
    net = Net()
    a = net.input("a", [1, 3, 5, 4])  # [batch, 3, M, K]
    left_only = net.node("MatMul", [a, net.weight([4, 6])], "left_only")  # B shared: M x 3
    right_only = net.node(
        "MatMul", [net.weight([5, 4]), net.input("b", [1, 2, 4, 6])], "right_only"
    )
    both = net.node("MatMul", [a, net.input("c", [1, 3, 4, 6])], "both")  # 3 GEMMs
    vector = net.node("MatMul", [net.weight([4]), net.weight([4, 6])], "vector")
    broadcast = net.node("MatMul", [net.input("e", [2, 1, 5, 4]), net.input("f", [3, 4, 6])], "bc")
    model = read_onnx(net.save(both, tmp_path / "mm.onnx"))
    sizes = {x.name: (x.size("M"), x.size("N"), x.size("K")) for x in model.layers}
    assert sizes == {
        "left_only": (15, 6, 4),
        "right_only": (5, 12, 4),
        "both_0": (5, 6, 4),
        "both_1": (5, 6, 4),
        "both_2": (5, 6, 4),
        "vector": (1, 6, 4),
        # batch dims (2, 1) x (1, 3): 2 folds into M, 3 into N
        "bc": (10, 18, 4),
    }
    graph = graph_sizes(tmp_path / "mm.onnx")
    outputs = {"left_only": left_only, "right_only": right_only, "vector": vector, "bc": broadcast}
    for name, out in outputs.items():  # every output element is computed once
        m, n, _ = sizes[name]
        assert m * n == math.prod(graph[out]), name
    assert math.prod(graph[both]) == 3 * 5 * 6


def test_symbolic_sequence_length_is_an_error_naming_node_and_symbol(tmp_path: Path) -> None:
    path = encoder_block(tmp_path / "dyn.onnx", seq="sequence")
    with pytest.raises(ModelFileError) as e:
        read_onnx(path)
    message = str(e.value)
    assert message.startswith(f"{path}: node '/attn/query/MatMul' (MatMul): ")
    assert "sequence" in message and "fixed sizes" in message and "\n" not in message


# --- files that are not models --------------------------------------------------------


def test_unreadable_files_give_one_line_errors_naming_the_file(tmp_path: Path) -> None:
    (tmp_path / "text.onnx").write_text("Network x { Layer a { Type: CONV } }\n")
    (tmp_path / "empty.onnx").write_bytes(b"")
    (tmp_path / "folder.onnx").mkdir()
    cases = {
        "text.onnx": "not an ONNX model",
        "empty.onnx": "not an ONNX model",
        "missing.onnx": "cannot read the file",
        "folder.onnx": "cannot read the file",
    }
    for name, what in cases.items():
        spec = str(tmp_path / name)
        with pytest.raises(ModelFileError) as e:
            load_model(spec)
        assert str(e.value).startswith(f"{spec}: {what}"), str(e.value)
        assert "\n" not in str(e.value)


def test_a_graph_without_macs_is_an_error(tmp_path: Path) -> None:
    net = Net()
    x = net.node("Relu", [net.input("x", [1, 4])])
    with pytest.raises(ModelFileError, match=r"no Conv, Gemm or MatMul node to import.*Relu x1"):
        read_onnx(net.save(x, tmp_path / "relu.onnx"))


def test_inconsistent_channels_are_an_error(tmp_path: Path) -> None:
    net = Net()
    x = net.input("x", [1, 4, 8, 8])
    y = net.node("Conv", [x, net.weight([8, 3, 3, 3])], "bad")
    with pytest.raises(ModelFileError, match=r"node 'bad' \(Conv\): its input has 4 channels"):
        read_onnx(net.save(y, tmp_path / "bad.onnx"))


def test_local_functions_are_inlined(tmp_path: Path) -> None:
    block = helper.make_function(
        "local",
        "Block",
        ["x", "w"],
        ["y"],
        [
            helper.make_node("Conv", ["x", "w"], ["c"], name="conv", pads=[1, 1, 1, 1]),
            helper.make_node("Relu", ["c"], ["y"]),
        ],
        [helper.make_opsetid("", 17)],
    )
    net = Net()
    x = net.input("x", [1, 4, 8, 8])
    y = net.node("Block", [x, net.weight([4, 4, 3, 3])], "block", domain="local")
    model = net.model(y)
    model.functions.append(block)
    model.opset_import.append(helper.make_opsetid("local", 1))
    onnx.save(model, tmp_path / "f.onnx")
    (layer,) = read_onnx(tmp_path / "f.onnx").layers
    assert layer.sizes == {"N": 1, "K": 4, "C": 4, "R": 3, "S": 3, "Y": 10, "X": 10}
