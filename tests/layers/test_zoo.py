"""The model zoo against the papers' shapes and MAC counts and MAESTRO's reference data.

Expected MACs are computed here from the papers' tables with the closed-form count of each
layer type, never from ``Layer.macs``; reference shapes are read from the MAESTRO files in
``tests/data/maestro`` at test time.
"""

from __future__ import annotations

import csv
import itertools
import math
import re
from pathlib import Path

import pytest

from mapsearch.errors import UnknownNameError
from mapsearch.layers import (
    CONVENTIONS,
    MODELS,
    Layer,
    Op,
    all_layers,
    bert_base,
    distinct_layers,
    find_layer,
    model_layers,
)

DATA = Path(__file__).parent.parent / "data" / "maestro"


def total_macs(model: str, convention: str = "maestro") -> int:
    return sum(layer.macs for layer in model_layers(model, convention=convention))


# --- MAC totals from the papers (padding and pooling as published) ----------------------


def test_vgg16_published_macs() -> None:
    # Simonyan & Zisserman 2015, config D: 'same' 3x3 convs, output = input map size.
    convs = [(64, 3, 224), (64, 64, 224), (128, 64, 112), (128, 128, 112)]
    convs += [(256, 128, 56), (256, 256, 56), (256, 256, 56)]
    convs += [(512, 256, 28), (512, 512, 28), (512, 512, 28)] + [(512, 512, 14)] * 3
    expected = sum(k * c * 9 * h * h for k, c, h in convs)
    expected += 7 * 7 * 512 * 4096 + 4096 * 4096 + 4096 * 1000
    assert total_macs("vgg16", "published") == expected
    assert expected == pytest.approx(15.47e9, rel=1e-3)  # the well-known ~15.5 GMACs


def test_vgg16_maestro_macs_use_unpadded_maps() -> None:
    convs = [(64, 3, 224), (64, 64, 224), (128, 64, 112), (128, 128, 112)]
    convs += [(256, 128, 56), (256, 256, 56), (256, 256, 56)]
    convs += [(512, 256, 28), (512, 512, 28), (512, 512, 28)] + [(512, 512, 14)] * 3
    expected = sum(k * c * 9 * (h - 2) ** 2 for k, c, h in convs)
    expected += 7 * 7 * 512 * 4096 + 4096 * 4096 + 4096 * 1000
    assert total_macs("vgg16") == expected


def test_resnet50_published_macs() -> None:
    # He et al. 2016, Table 1: conv1 7x7/2 -> 112x112; bottlenecks (w, blocks, out map).
    expected = 64 * 3 * 49 * 112 * 112
    c_in = 64
    for w, blocks, h in ((64, 3, 56), (128, 4, 28), (256, 6, 14), (512, 3, 7)):
        expected += c_in * 4 * w * h * h  # the stage's projection shortcut
        for _ in range(blocks):
            expected += c_in * w * h * h + w * w * 9 * h * h + w * 4 * w * h * h
            c_in = 4 * w
    expected += 2048 * 1000
    assert total_macs("resnet50", "published") == expected
    assert expected == pytest.approx(3.8e9, rel=0.02)  # the paper's "3.8 x 10^9 FLOPs"


def test_mobilenetv2_published_macs() -> None:
    # Sandler et al. 2018, Table 2 (t, c, n, s); the paper quotes 300M multiply-adds.
    expected = 32 * 3 * 9 * 112 * 112
    c, h = 32, 112
    for t, c_out, n, s in (
        (1, 16, 1, 1),
        (6, 24, 2, 2),
        (6, 32, 3, 2),
        (6, 64, 4, 2),
        (6, 96, 3, 1),
        (6, 160, 3, 2),
        (6, 320, 1, 1),
    ):
        for i in range(n):
            hidden = t * c
            h_out = h // (s if i == 0 else 1)
            expected += (hidden * c * h * h if t > 1 else 0) + hidden * 9 * h_out * h_out
            expected += c_out * hidden * h_out * h_out
            c, h = c_out, h_out
    expected += 1280 * 320 * 7 * 7 + 1280 * 1000
    assert total_macs("mobilenetv2", "published") == expected
    assert expected == pytest.approx(300e6, rel=0.01)


def test_alexnet_published_macs_with_two_groups() -> None:
    # Krizhevsky et al. 2012, Fig. 2: conv2/4/5 see only their own GPU's half of the maps.
    expected = 96 * 3 * 121 * 55 * 55  # conv1 11x11/4 on 227x227
    expected += 2 * (128 * 48 * 25 * 27 * 27)  # conv2, per GPU 128 of 48-channel 5x5
    expected += 384 * 256 * 9 * 13 * 13  # conv3 reads both GPUs
    expected += 2 * (192 * 192 * 9 * 13 * 13) + 2 * (128 * 192 * 9 * 13 * 13)
    expected += 6 * 6 * 256 * 4096 + 4096 * 4096 + 4096 * 1000
    assert total_macs("alexnet", "published") == expected
    assert expected == pytest.approx(0.724e9, rel=1e-3)
    grouped = {
        layer.name: layer.size("G") for layer in model_layers("alexnet") if layer.op is Op.GCONV
    }
    assert grouped == {"CONV2": 2, "CONV4": 2, "CONV5": 2}


@pytest.mark.parametrize("seq_len", [128, 384])
def test_bert_base_gemms(seq_len: int) -> None:
    # Devlin et al. 2019: d_model 768, 12 heads of 64, d_ff 3072.
    d, heads, d_ff, L = 768, 12, 3072, seq_len
    layers = bert_base(seq_len)
    macs = {layer.name: layer.macs for layer in layers}
    assert macs["Q_PROJ"] == macs["K_PROJ"] == macs["V_PROJ"] == macs["OUT_PROJ"] == L * d * d
    assert macs["FFN1"] == macs["FFN2"] == L * d * d_ff
    assert macs["ATTN_SCORE_H0"] == L * L * (d // heads)
    assert macs["ATTN_CONTEXT_H11"] == L * L * (d // heads)
    assert sum(macs.values()) == 4 * L * d * d + 2 * L * d * d_ff + 2 * L * L * d
    assert len(layers) == 4 + 2 + 2 * heads
    assert all(layer.op is Op.GEMM for layer in layers)
    assert model_layers("bert_base") == bert_base(128)


# --- MAESTRO's reference data -------------------------------------------------------------


def dev_rows() -> list[dict[str, str]]:
    with open(DATA / "dev.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    unique = {(r["net"], r["layer"]): r for r in rows}
    return list(unique.values())


@pytest.mark.parametrize("row", dev_rows(), ids=lambda r: f"{r['net']}.{r['layer']}")
def test_every_reference_layer_resolves_to_its_shape(row: dict[str, str]) -> None:
    layer = find_layer(f"{row['net']}.{row['layer']}")
    expected_op = {"CONV": Op.CONV, "DSCONV": Op.DSCONV}[row["layer_type"]]
    assert layer.op is expected_op
    for dim in ("N", "C", "R", "S", "Y", "X"):
        assert layer.size(dim) == int(row[dim]), dim
    if layer.op is Op.CONV:
        assert layer.size("K") == int(row["K"])
    assert (layer.stride_y, layer.stride_x) == (int(row["stride"]),) * 2
    assert (layer.out_y, layer.out_x) == (int(row["Yo"]), int(row["Xo"]))
    assert layer.macs == int(row["macs_expected"])
    assert layer.model == row["net"].lower()


def test_reference_vgg16_layers_equal_the_zoo_layer_by_name() -> None:
    # Bare names are unique to VGG16 except FC6..FC8 (AlexNet has them too).
    for row in dev_rows():
        if row["net"] == "VGG16" and not row["layer"].startswith("FC"):
            layer = find_layer(row["layer"])
            assert (layer.model, layer.name) == ("vgg16", row["layer"])


def read_model_file(path: Path) -> dict[str, tuple[str, dict[str, int], int]]:
    """name -> (type, dims, stride) of every layer of a MAESTRO model file."""
    text = path.read_text()
    out = {}
    for m in re.finditer(r"Layer\s+(\w+)\s*\{(.*?)\n\s*\}", text, re.S):
        name, body = m.groups()
        kind = re.search(r"Type:\s*(\w+)", body)
        dims_text = re.search(r"Dimensions\s*\{([^}]*)\}", body)
        stride = re.search(r"Stride\s*\{\s*X:\s*(\d+)", body)
        assert kind and dims_text, name
        dims = {d: int(v) for d, v in re.findall(r"([A-Z])\s*:?\s*(\d+)", dims_text.group(1))}
        out[name] = (kind.group(1), dims, int(stride.group(1)) if stride else 1)
    return out


def test_resnet50_matches_maestro_model_file() -> None:
    ref = read_model_file(DATA / "examples" / "model" / "Resnet50_model.m")
    checked = 0
    for name, (kind, dims, stride) in ref.items():
        if kind != "CONV":  # the file writes residual additions as 1x1 DSCONV: not MACs
            continue
        layer = find_layer(f"resnet50.{name}")
        got = {d: layer.size(d) for d in dims}
        if re.fullmatch(r"CONV3_[234]_1", name):
            # The file gives these C=256; the block input is conv3_x's 512-channel output.
            assert dims["C"] == 256 and got == dims | {"C": 512}
        else:
            assert got == dims, name
        assert layer.stride == stride, name
        checked += 1
    assert checked == 1 + 16 * 3 + 1  # every conv and FC of the file
    # The file has no projection shortcuts; the zoo has one per stage.
    assert [n for n in (x.name for x in model_layers("resnet50")) if n not in ref] == [
        f"CONV{s}_1_PROJ" for s in (2, 3, 4, 5)
    ]


def test_vgg16_convs_match_maestro_model_file_in_order() -> None:
    ref = read_model_file(DATA / "examples" / "model" / "vgg16_model.m")
    convs = [layer for layer in model_layers("vgg16") if not layer.name.startswith("FC")]
    assert len(ref) == len(convs) == 13
    for (_, dims, _), layer in zip(ref.values(), convs, strict=True):
        assert {d: layer.size(d) for d in dims} == dims


# --- structure -------------------------------------------------------------------------


def test_layer_counts_and_names() -> None:
    counts = {m: len(model_layers(m)) for m in MODELS}
    # ResNet50: conv1 + 16 bottlenecks x 3 + 4 projections + FC; MobileNetV2: conv1,
    # 17 bottlenecks (the first without expansion), conv_last, FC.
    assert counts == {"vgg16": 16, "resnet50": 54, "mobilenetv2": 53, "alexnet": 8, "bert_base": 30}
    for m in MODELS:
        names = [layer.name.lower() for layer in model_layers(m)]
        assert len(set(names)) == len(names), m
        assert all(layer.model == m for layer in model_layers(m))
    assert len(all_layers()) == sum(counts.values())


def test_depthwise_layers_and_strides_of_mobilenetv2() -> None:
    layers = model_layers("mobilenetv2")
    dw = [layer for layer in layers if layer.op is Op.DSCONV]
    assert len(dw) == 17
    assert [layer.name for layer in layers if layer.stride_y == 2] == [
        "CONV1",
        "BN2_1_DW",
        "BN3_1_DW",
        "BN4_1_DW",
        "BN6_1_DW",
    ]


def out_channels(layer: Layer) -> int:
    if layer.op is Op.DSCONV:
        return layer.size("C")
    return layer.size("K") * (layer.size("G") if layer.op is Op.GCONV else 1)


def in_channels(layer: Layer) -> int:
    return layer.size("C") * (layer.size("G") if layer.op is Op.GCONV else 1)


@pytest.mark.parametrize("model", ["vgg16", "mobilenetv2", "alexnet"])
def test_channels_chain_through_sequential_models(model: str) -> None:
    layers = model_layers(model)
    for prev, nxt in itertools.pairwise(layers):
        assert in_channels(nxt) == out_channels(prev), (prev.name, nxt.name)


def test_resnet50_blocks_chain_channels() -> None:
    by_name = {layer.name: layer for layer in model_layers("resnet50")}
    for s, blocks in zip((2, 3, 4, 5), (3, 4, 6, 3), strict=True):
        for i in range(1, blocks + 1):
            a, b, c = (by_name[f"CONV{s}_{i}_{j}"] for j in (1, 2, 3))
            assert b.size("C") == a.size("K") and c.size("C") == b.size("K")
            assert c.size("K") == 4 * a.size("K")
        proj = by_name[f"CONV{s}_1_PROJ"]
        first = by_name[f"CONV{s}_1_1"]
        assert proj.sizes | {"K": 0} == first.sizes | {"K": 0}
        assert proj.stride == first.stride and proj.size("K") == by_name[f"CONV{s}_1_3"].size("K")


@pytest.mark.parametrize("model", ["vgg16", "resnet50", "mobilenetv2", "alexnet"])
def test_published_convention_gives_the_papers_output_sizes(model: str) -> None:
    maestro, published = model_layers(model), model_layers(model, convention="published")
    for m, p in zip(maestro, published, strict=True):
        assert (m.name, m.op, m.stride_y) == (p.name, p.op, p.stride_y)
        if m.name == "CONV1" and model == "alexnet":
            assert (m.out_y, p.out_y) == (55, 55)  # 227x227 is unpadded in the paper
        elif m.size("R") < m.size("Y"):  # a real convolution: 'same' padding
            assert p.out_y == p.out_x == math.ceil(m.size("Y") / m.stride_y), m.name
            assert m.out_y == (m.size("Y") - m.size("R")) // m.stride_y + 1
    fc = {layer.name: layer for layer in published if layer.name.startswith("FC")}
    if model in ("resnet50", "mobilenetv2"):  # classifier after global average pooling
        assert fc["FC1000"].describe().endswith("R1 S1 Y1 X1 s1")


def test_distinct_layers_drop_repeated_shapes_and_keep_first_names() -> None:
    vgg = distinct_layers("vgg16")
    assert [layer.name for layer in vgg][:8] == [
        "CONV1_1",
        "CONV1_2",
        "CONV2_1",
        "CONV2_2",
        "CONV3_1",
        "CONV3_2",
        "CONV4_1",
        "CONV4_2",
    ]
    assert len(vgg) == 12  # CONV3_3, CONV4_3, CONV5_2, CONV5_3 repeat a shape
    bert = distinct_layers("bert_base")
    assert [layer.name for layer in bert] == [
        "Q_PROJ",
        "ATTN_SCORE_H0",
        "ATTN_CONTEXT_H0",
        "FFN1",
        "FFN2",
    ]
    for m in MODELS:
        shapes = [(x.op, x.dims, x.stride_y) for x in distinct_layers(m)]
        assert len(set(shapes)) == len(shapes)
        assert set(shapes) == {(x.op, x.dims, x.stride_y) for x in model_layers(m)}


# --- lookup ---------------------------------------------------------------------------------


def test_lookup_is_case_insensitive_and_accepts_qualified_names() -> None:
    ref = find_layer("vgg16.CONV3_1")
    assert ref.describe() == "K256 C128 R3 S3 Y56 X56 s1"
    for name in ("conv3_1", "CONV3_1", "Conv3_1", "VGG16.conv3_1", " vgg16.conv3_1 "):
        assert find_layer(name) == ref
    assert find_layer("MobileNet_V2.BN4_2_dw") == find_layer("mobilenetv2.bn4_2_dw")
    assert find_layer("alexnet.fc6").size("R") == 6


def test_reference_aliases_of_mobilenetv2() -> None:
    assert find_layer("bn4_dw") == find_layer("mobilenetv2.BN4_2_DW")
    assert find_layer("BN2_DW_s2").name == "BN2_1_DW"


def test_ambiguous_bare_name_lists_qualified_candidates() -> None:
    with pytest.raises(UnknownNameError) as e:
        find_layer("conv1")
    msg = str(e.value)
    assert "ambiguous" in msg
    for q in ("resnet50.conv1", "mobilenetv2.conv1", "alexnet.conv1"):
        assert q in msg
    assert "vgg16" not in msg
    with pytest.raises(KeyError, match=r"vgg16\.fc6, alexnet\.fc6"):
        find_layer("FC6")


def test_unknown_names_list_close_matches() -> None:
    with pytest.raises(UnknownNameError, match=r"unknown layer 'conv3_9'; did you mean .*conv3_1"):
        find_layer("conv3_9")
    with pytest.raises(UnknownNameError, match=r"did you mean .*vgg16\.conv5_3"):
        find_layer("vgg16.conv5_4")
    with pytest.raises(UnknownNameError, match=r"unknown model 'vgg61'; did you mean vgg16"):
        find_layer("vgg61.conv1_1")
    with pytest.raises(UnknownNameError, match="did you mean resnet50"):
        model_layers("resnet5")
    with pytest.raises(UnknownNameError, match="unknown layer convention"):
        model_layers("vgg16", convention="padded")


def test_model_names_forgive_case_and_separators() -> None:
    assert model_layers("MobileNet-V2") == model_layers("mobilenetv2")
    assert model_layers("BERT-base") == model_layers("bert_base")
    assert set(CONVENTIONS) == {"maestro", "published"}
