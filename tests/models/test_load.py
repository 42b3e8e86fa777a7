"""``load_model``: zoo names, MAESTRO model files and what is not a model."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from mapsearch.errors import ModelFileError, ParseError, UnknownNameError, UnsupportedError
from mapsearch.layers import Layer, Op, distinct_layers, model_layers
from mapsearch.models import Model, load_model

EXAMPLES = Path(__file__).parent.parent / "data" / "maestro" / "examples" / "model"
MODEL_FILES = sorted(EXAMPLES.glob("*.m"))


def test_zoo_names_resolve_to_the_zoo() -> None:
    model = load_model("ResNet-50")
    assert model.name == "resnet50" and model.source == "zoo" and model.notes == ()
    assert model.layers == model_layers("resnet50")
    assert model.distinct() == distinct_layers("resnet50")
    published = load_model("vgg16", convention="published")
    assert published.layers == model_layers("vgg16", convention="published")
    with pytest.raises(UnknownNameError, match="unknown model 'resnet5'; did you mean resnet50"):
        load_model("resnet5")


def test_a_file_of_another_kind_is_named_in_the_error(tmp_path: Path) -> None:
    spec = str(tmp_path / "net.pt")
    with pytest.raises(ModelFileError) as e:
        load_model(spec)
    assert str(e.value).startswith(f"{spec}: unknown model file type '.pt'; give .onnx")


def layer_blocks(path: Path) -> list[str]:
    """The names of a MAESTRO file's Layer blocks, read with a regular expression."""
    return [m.strip() for m in re.findall(r"^\s*Layer\s+([^{]+?)\s*\{", path.read_text(), re.M)]


@pytest.mark.parametrize("path", MODEL_FILES, ids=lambda p: p.name)
def test_every_maestro_example_model_file_loads_with_its_layer_names(path: Path) -> None:
    try:
        model = load_model(path)
    except UnsupportedError as e:  # a layer type mapsearch does not model, named with its file
        assert str(e).startswith(f"{path}:"), str(e)
        return
    assert model.name == path.stem  # the example files' stems are names already
    assert [layer.name for layer in model.layers] == layer_blocks(path)
    assert all(layer.model == model.name for layer in model.layers)
    assert model.source == str(path) and model.notes == ()


def test_every_example_file_loads() -> None:
    assert len(MODEL_FILES) == 13
    for path in MODEL_FILES:
        assert load_model(path).layers


def test_vgg16_model_file_equals_the_zoo_convolutions() -> None:
    model = load_model(EXAMPLES / "vgg16_model.m")
    convs = [x for x in model_layers("vgg16") if not x.name.startswith("FC")]
    assert [(x.op, x.dims, x.stride_y) for x in model.layers] == [
        (x.op, x.dims, x.stride_y) for x in convs
    ]


def test_a_mapping_file_loads_as_a_model_and_its_dataflow_is_noted(tmp_path: Path) -> None:
    path = tmp_path / "my-net.M"
    path.write_text(
        "Network net {\n"
        "  Layer a.1 { Type: CONV\n Stride { X: 2, Y: 2 }\n"
        "    Dimensions { K: 8, C: 4, R: 3, S: 3, Y: 9, X: 9 }\n"
        "    Dataflow { SpatialMap(1,1) K; TemporalMap(3,1) Y; }\n  }\n"
        "  Layer b { Type: GEMM\n Dimensions { M: 4, N: 5, K: 6 } }\n"
        "}\n"
    )
    model = load_model(path)
    assert model.name == "my_net"  # the file's name, not the Network's
    assert model.layers == (
        Layer.conv("a.1", K=8, C=4, R=3, S=3, Y=9, X=9, stride=2, model="my_net"),
        Layer.gemm("b", M=4, N=5, K=6, model="my_net"),
    )
    (note,) = model.notes
    assert note.startswith("1 of 2 layers have a Dataflow, ignored here")


def test_maestro_errors_name_the_file(tmp_path: Path) -> None:
    fc = tmp_path / "fc.m"
    fc.write_text("Network n {\n Layer f {\n Type: FC\n Dimensions { K: 2, C: 2 }\n }\n}\n")
    with pytest.raises(UnsupportedError, match=rf"^{re.escape(str(fc))}:3: layer type FC"):
        load_model(fc)
    empty = tmp_path / "empty.m"
    empty.write_text("Network n {\n}\n")
    with pytest.raises(ModelFileError, match=r"empty\.m: Network 'n' has no Layer block"):
        load_model(empty)
    hardware = tmp_path / "hw.m"
    hardware.write_text("num_pes: 256\n")
    with pytest.raises(ParseError, match=r"hw\.m:1: expected 'Network'"):
        load_model(hardware)
    with pytest.raises(ParseError, match="cannot read the file"):
        load_model(tmp_path / "missing.m")


def test_shape_groups_keep_first_seen_order() -> None:
    a = Layer.conv("a", K=8, C=4, R=3, S=3, Y=9, X=9)
    b = Layer.conv("b", K=8, C=4, R=3, S=3, Y=9, X=9, stride=2)
    model = Model(
        name="m",
        layers=(
            a,
            b,
            Layer.conv("a2", K=8, C=4, R=3, S=3, Y=9, X=9),
            Layer.gemm("g", M=1, N=2, K=3),
        ),
    )
    assert [[x.name for x in g] for g in model.shape_groups()] == [["a", "a2"], ["b"], ["g"]]
    assert [x.name for x in model.distinct()] == ["a", "b", "g"]
    assert model.repeats() == {"a": ("a2",)}
    assert model.total_macs == a.macs * 2 + b.macs + 6
    assert all(x.op in (Op.CONV, Op.GEMM) for x in model.layers)
    with pytest.raises(ValueError, match="model 'm' has no layers"):
        Model(name="m", layers=())
