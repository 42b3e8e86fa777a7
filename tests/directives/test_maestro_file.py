"""MAESTRO ``.m`` reader and writer, checked against MAESTRO's own files and dev.csv."""

from __future__ import annotations

import csv
import functools
import math
from collections import defaultdict
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mapsearch.directives import Cluster, Mapping, SpatialMap, Sz, TemporalMap
from mapsearch.directives.maestro_file import (
    DIRECTIVE_DIMS,
    MaestroLayer,
    MaestroNetwork,
    format_directives,
    format_hardware_file,
    format_mapping_file,
    format_network,
    parse_directives,
    parse_hardware_text,
    parse_mapping_text,
    read_hardware_file,
    read_mapping_file,
    write_mapping_file,
)
from mapsearch.errors import LayerError, MappingError, ParseError, UnsupportedError
from mapsearch.hardware import UNLIMITED, EnergyTable, Hardware
from mapsearch.layers import OP_DIMS, Layer, Op
from mapsearch.layers.layer import MAX_MACS

DATA = Path(__file__).resolve().parent.parent / "data" / "maestro"
INPUT_MAPPINGS = sorted((DATA / "inputs" / "mapping").glob("*.m"))
INPUT_HW = sorted((DATA / "inputs" / "hw").glob("*.m"))
EXAMPLES = sorted((DATA / "examples" / "mapping").glob("*.m")) + sorted(
    (DATA / "examples" / "model").glob("*.m")
)


def _ids(paths: list[Path]) -> list[str]:
    return [p.name for p in paths]


@functools.cache
def _read(path: Path) -> MaestroNetwork:
    return read_mapping_file(path)


@functools.cache
def _dev_rows() -> dict[str, list[dict[str, str]]]:
    by_file: dict[str, list[dict[str, str]]] = defaultdict(list)
    with open(DATA / "dev.csv", newline="") as f:
        for row in csv.DictReader(f):
            by_file[row["mapping_file"]].append(row)
    return by_file


def test_the_reference_data_is_there() -> None:
    assert len(INPUT_MAPPINGS) == 189
    assert len(EXAMPLES) >= 40
    assert len(_dev_rows()) == 189


# --- MAESTRO's inputs behind dev.csv -----------------------------------------------------
@pytest.mark.parametrize("path", INPUT_MAPPINGS, ids=_ids(INPUT_MAPPINGS))
def test_every_input_file_parses_and_round_trips(path: Path) -> None:
    network = _read(path)
    net_name, layer_name, _ = path.stem.split("__")
    assert network.name == net_name
    assert [entry.layer.name for entry in network.layers] == [layer_name]
    entry = network.layers[0]
    assert entry.mapping is not None
    assert entry.layer.model == net_name
    assert entry.line == 2  # "Layer ..." is the second line of these files
    again = parse_mapping_text(format_network(network))
    assert again == network


@pytest.mark.parametrize("mapping_file", sorted(_dev_rows()))
def test_dev_csv_rows_match_their_mapping_files(mapping_file: str) -> None:
    network = _read(DATA / "inputs" / mapping_file)
    (entry,) = network.layers
    layer, mapping = entry.layer, entry.mapping
    assert mapping is not None
    sizes = layer.sizes
    for row in _dev_rows()[mapping_file]:
        assert entry.declared_type == row["layer_type"]
        assert layer.op is (Op.DSCONV if row["layer_type"] == "DSCONV" else Op.CONV)
        for dim in "NKCRSYX":
            # Depthwise layers have no K; MAESTRO's files write K: 1.
            assert sizes.get(dim, 1) == int(row[dim]), dim
        assert (layer.stride_y, layer.stride_x) == (int(row["stride"]),) * 2
        assert (layer.out_y, layer.out_x) == (int(row["Yo"]), int(row["Xo"]))
        assert format_directives(mapping) == row["directives"]
        assert parse_directives(row["directives"]) == mapping
        clusters = "x".join(str(c) for c in mapping.cluster_sizes)
        assert clusters == row["cluster_sizes"]


# --- MAESTRO's shipped examples ----------------------------------------------------------
@pytest.mark.parametrize("path", EXAMPLES, ids=_ids(EXAMPLES))
def test_every_example_parses_and_round_trips(path: Path) -> None:
    # No shipped example uses a type mapsearch rejects (FC, POOL, LSTM, RESIDUAL_IDENTITY):
    # all of them parse.
    network = _read(path)
    assert network.layers
    assert parse_mapping_text(format_network(network)) == network
    if path.parent.name == "model":
        assert all(entry.mapping is None for entry in network.layers)
    else:
        assert all(entry.mapping is not None for entry in network.layers)


def test_gemm_example_resolves_constants_and_skips_commented_ones() -> None:
    network = _read(DATA / "examples" / "mapping" / "GEMM_Example.m")
    # Read off the file: the "Optimize for data reuse" constants are commented out.
    assert network.constants == (
        ("SzM", 100),
        ("SzN", 100),
        ("SzK", 100),
        ("MTileSz", 1),
        ("NTileSz", 1),
        ("KTileSz", 100),
    )
    assert network.name == "BLAS3"
    (entry,) = network.layers
    assert entry.layer == Layer.gemm("BLAS", M=100, N=100, K=100, model="BLAS3")
    assert entry.mapping == Mapping(
        directives=(
            TemporalMap(1, 1, "N"),
            SpatialMap(1, 1, "M"),
            TemporalMap(100, 100, "K"),
            Cluster(100),
            TemporalMap(1, 1, "N"),
            TemporalMap(1, 1, "M"),
            SpatialMap(1, 1, "K"),
        )
    )


def test_sz_stays_symbolic() -> None:
    (entry,) = _read(DATA / "examples" / "mapping" / "example.m").layers
    assert entry.layer == Layer.conv(
        "CONV1", K=64, C=128, R=3, S=3, Y=224, X=224, model="ResNeXt50"
    )
    assert entry.mapping is not None
    assert entry.mapping.directives[2] == TemporalMap(Sz("R"), Sz("R"), "R")
    assert entry.mapping.directives[4] == TemporalMap(Sz("R"), 1, "Y")
    assert entry.mapping.directives[6] == Cluster(64)


def test_trconv_ngconv_and_batch_from_examples() -> None:
    unet = {e.layer.name: e for e in _read(DATA / "examples" / "mapping" / "UNet_RS.m").layers}
    tr = unet["TRCONV1"]
    assert tr.declared_type == "TRCONV"
    assert tr.layer == Layer.conv("TRCONV1", K=512, C=1024, R=2, S=2, Y=28, X=28, model="UNet")
    # UNet_RS.m declares "N: 1, N: 1" in one layer: the repeat agrees, so it is accepted.
    resnext = {
        e.layer.name: e for e in _read(DATA / "examples" / "mapping" / "ResNeXt50_rs.m").layers
    }
    g = resnext["CONV2_1_2"]
    assert g.declared_type == "NGCONV"
    assert g.layer == Layer.gconv(
        "CONV2_1_2", G=32, K=4, C=128, R=3, S=3, Y=56, X=56, model="ResNeXt50"
    )
    transformer = _read(DATA / "examples" / "mapping" / "Transformer_Layers.m")
    first = transformer.layers[0].layer
    assert transformer.constants == (("Seq_Len", 128),)
    assert (first.size("N"), first.size("K"), first.size("S"), first.size("X")) == (
        128,
        1536,
        512,
        512,
    )


def test_layer_names_keep_separator_characters() -> None:
    network = _read(DATA / "examples" / "model" / "googlenet_model.m")
    assert network.name == "torchvision.models.googlenet"
    first = network.layers[0]
    assert first.layer.name == "Conv2d-1"
    assert (first.layer.stride_y, first.layer.stride_x) == (2, 2)
    assert first.line == 2
    assert network.layers[-1].layer.name == "Linear-64"
    names = [e.layer.name for e in network.layers]
    assert len(set(names)) == len(names)


# --- syntax details ----------------------------------------------------------------------
_ONE_LAYER = """\
Network net {{
Layer L1 {{
Type: CONV
Stride {{ X: 2, Y: 2 }}
Dimensions {{ {dims} }}
Dataflow {{
  SpatialMap(1,1) K;
  TemporalMap(3,3) R;
}}
}}
}}
"""


@pytest.mark.parametrize(
    "dims",
    [
        "K: 8, C: 4, R: 3, S: 3, Y: 9, X: 9",
        "K 8 C 4 R 3 S 3 Y 9 X 9",
        "K:8,C:4,R:3,S:3,Y:9,X:9",
        "X: 9, Y: 9, S: 3, R: 3, C: 4, K: 8",
        "K: 8, C: 4 R: 3,\tS: 3, Y: 9, X: 9 // Y: 11\n",
        "N: 1, K: 8, C: 4, R: 3, S: 3, Y: 9, X: 9",
        # Output rows/cols: Y = (Y' - 1) * stride + R = 3 * 2 + 3 = 9.
        "K: 8, C: 4, R: 3, S: 3, Y': 4, X': 4",
    ],
)
def test_equivalent_spellings_of_dimensions(dims: str) -> None:
    (entry,) = parse_mapping_text(_ONE_LAYER.format(dims=dims)).layers
    assert entry.layer == Layer.conv("L1", K=8, C=4, R=3, S=3, Y=9, X=9, stride=2, model="net")


def test_accelerator_block_comments_and_unnamed_network() -> None:
    text = """\
// leading comment
Constant T 4;
Accelerator {
  PE { NumPEs: 128; VectorWidth: 4; MultPrecision: INT8, AddPrecision: INT16 }
  Buffer { GlobalL2: 2048, LocalL1: 64}
}
Network {
  Layer a {   // a comment after a brace
    Type: DSCONV
    Dimensions { K: 1, C: 32, R: 3, S: 3, Y: 16, X: 16 }
    Dataflow { SpatialMap(1,1) C; TemporalMap(T,T) Y'; Cluster(Sz(R),L); SpatialMap(1,1) Y }
  }
  Layer b {
    Type: DSCONV
    Dimensions { C: 32, R: 3, S: 3, Y: 16, X: 16, N: 2 }
  }
}
"""
    network = parse_mapping_text(text, path="x.m")
    assert network.name == ""
    assert network.constants == (("T", 4),)
    a, b = network.layers
    assert a.layer == Layer.dsconv("a", C=32, R=3, S=3, Y=16, X=16)
    assert a.mapping == Mapping(
        directives=(
            SpatialMap(1, 1, "C"),
            TemporalMap(4, 4, "Y'"),
            Cluster(Sz("R")),
            SpatialMap(1, 1, "Y"),
        )
    )
    assert (a.line, b.line) == (8, 13)
    # A layer without Dataflow has no mapping (MAESTRO would reuse the previous one).
    assert b.mapping is None
    assert b.layer == Layer.dsconv("b", C=32, R=3, S=3, Y=16, X=16, N=2)
    assert parse_mapping_text(format_network(network)) == network


def test_parse_directives_accepts_every_dimension() -> None:
    m = parse_directives(
        "SpatialMap(1,1) Y'; TemporalMap(Sz(X'),1) X'; Cluster(4,P); TemporalMap(2,2) G"
    )
    assert m.directives == (
        SpatialMap(1, 1, "Y'"),
        TemporalMap(Sz("X'"), 1, "X'"),
        Cluster(4),
        TemporalMap(2, 2, "G"),
    )
    with pytest.raises(ParseError, match="expected at least one directive"):
        parse_directives("  ")


# --- malformed mapping files -------------------------------------------------------------
def _layer_text(body: str, *, ltype: str = "CONV") -> str:
    return (
        "Network net {\n"  # line 1
        "Layer L1 {\n"  # line 2
        f"Type: {ltype}\n"  # line 3
        f"{body}\n"  # line 4 onwards
        "}\n"
        "}\n"
    )


_DIMS = "Dimensions { K: 8, C: 4, R: 3, S: 3, Y: 9, X: 9 }"

MALFORMED = [
    # (text, line, fragment of the message)
    (_layer_text("Dimensions K: 8, C: 4 }"), 4, "expected '{' after 'Dimensions', got 'K'"),
    (_layer_text("Dimension { K: 8 }"), 4, "unknown keyword 'Dimension' in Layer L1"),
    (_layer_text("Dimension { K: 8 }"), 4, "did you mean Dimensions?"),
    (_layer_text("Dimensions { K: 6x4, C: 4 }"), 4, "got '6x4'"),
    (_layer_text("Dimensions { K: 0, C: 4 }"), 4, "must be >= 1, got 0"),
    (_layer_text("Dimensions { K: 8, Q: 4 }"), 4, "expected a Dimensions key"),
    (_layer_text(_DIMS, ltype="CONVV"), 3, "unknown layer type 'CONVV'"),
    ("Network net {\nLayer L1 {\nType: CONV\n" + _DIMS + "\n}\n", 5, "closing Network net"),
    ("Network net {\nLayer L1 {\nType: CONV\n" + _DIMS + "\n", 4, "closing Layer L1"),
    # An unclosed Dataflow: its brace is taken by the layer's, the layer's by the network's.
    (_layer_text(_DIMS + "\nDataflow {\nTemporalMap(1,1) K;"), 8, "closing Network net"),
    (
        _layer_text(_DIMS + "\nDataflow {\nTemporalMap(1,1);\nSpatialMap(1,1) C;\n}"),
        6,
        "expected a dimension",
    ),
    (_layer_text(_DIMS + "\nDataflow {\nTemporalMap(1,1) K;\nSpatialMap(1,1)\n}"), 7, "got '}'"),
    (_layer_text(_DIMS + "\nDataflow {\nTemporalMapp(1,1) K;\n}"), 6, "did you mean TemporalMap?"),
    (_layer_text(_DIMS + "\nDataflow {\nTemporalMap(0,1) K;\n}"), 6, "must be >= 1, got 0"),
    (_layer_text(_DIMS + "\nDataflow {\nTemporalMap(Sz(Q),1) K;\n}"), 6, "inside Sz()"),
    (_layer_text(_DIMS + "\nDataflow {\nTemporalMap(T,T) K;\n}"), 6, "got 'T'"),
    (_layer_text(_DIMS + "\nDataflow {\nTemporalMap(1,1) M;\n}"), 6, "expected a dimension"),
    (_layer_text(_DIMS + "\nDataflow {\n}"), 5, "empty Dataflow block"),
    (_layer_text(_DIMS + "\nStride { X: 2, Y: 2 }"), 5, "'Stride' must come before 'Dimensions'"),
    (_layer_text("Stride { X: 2, Z: 2 }\n" + _DIMS), 4, "expected a Stride key (X or Y)"),
    (_layer_text(_DIMS + "\nType: CONV"), 5, "a second 'Type' (the first is at line 3)"),
    (_layer_text("Dimensions { K: 8, C: 4, R: 3, S: 3, Y: 9, X: 9, Y': 7 }"), 4, "both Y and Y'"),
    (_layer_text("Dimensions { K: 8, K: 9, C: 4, R: 3, S: 3, Y: 9, X: 9 }"), 4, "K is given twice"),
    (_layer_text("Dimensions { K: 8, C: 4, S: 3, Y: 9, X: 9 }"), 4, "Dimensions lacks R"),
    (_layer_text("Dimensions { K: 8, C: 4, R: 5, S: 3, Y: 3, X: 9 }"), 4, "window R=5"),
    (
        _layer_text("Dimensions { M: 8, C: 4, R: 3, S: 3, Y: 9, X: 9 }"),
        4,
        "M is not a dimension of a CONV",
    ),
    (
        _layer_text("Dimensions { K: 2, C: 4, R: 3, S: 3, Y: 9, X: 9 }", ltype="DSCONV"),
        4,
        "K must be 1",
    ),
    (
        _layer_text("Stride { X: 2, Y: 2 }\nDimensions { M: 2, N: 4, K: 3 }", ltype="GEMM"),
        4,
        "no stride",
    ),
    (_layer_text("Dataflow {\nTemporalMap(1,1) K;\n}"), 2, "has no 'Dimensions'"),
    ("Network net {\nLayer L1 {\n" + _DIMS + "\n}\n}\n", 2, "has no 'Type'"),
    ("Network net {\nLayer {\n" + _DIMS + "\n}\n}\n", 2, "expected a name after 'Layer'"),
    ("Network net {\nConv L1 {\n}\n}\n", 2, "expected 'Layer' or '}' in Network net"),
    ("Constant T 4;\nConstant T 5;\nNetwork n {\n}\n", 2, "constant T is defined twice"),
    ("Constant K 4;\nNetwork n {\n}\n", 1, "constant name 'K'"),
    ("Network a {\n}\nNetwork b {\n}\n", 3, "a second Network block"),
    ("// nothing\n", 1, "no 'Network NAME { ... }' block"),
    ("", 1, "no 'Network NAME { ... }' block"),
    ("Netwrok a {\n}\n", 1, "did you mean Network?"),
    ("Accelerator {\n PE { NumPEs: 4 }\n", 2, "closing the Accelerator block opened at line 1"),
]


@pytest.mark.parametrize(("text", "line", "fragment"), MALFORMED)
def test_malformed_mapping_files_name_file_line_and_expectation(
    text: str, line: int, fragment: str
) -> None:
    with pytest.raises(ParseError) as info:
        parse_mapping_text(text, path="bad.m")
    err = info.value
    assert (err.path, err.line) == ("bad.m", line)
    assert str(err).startswith(f"bad.m:{line}: ")
    assert fragment in str(err)
    assert isinstance(err, ValueError)


@pytest.mark.parametrize("ltype", ["FC", "POOL", "LSTM", "RESIDUAL_IDENTITY"])
def test_unsupported_layer_types_are_named(ltype: str) -> None:
    with pytest.raises(UnsupportedError) as info:
        parse_mapping_text(_layer_text(_DIMS, ltype=ltype), path="m.m")
    msg = str(info.value)
    assert msg.startswith("m.m:3: ")
    assert f"layer type {ltype} is not supported by mapsearch (nor modelled by MAESTRO)" in msg
    if ltype == "FC":
        assert "write it as CONV with R=S=Y=X=1" in msg


def test_unreadable_files_are_parse_errors(tmp_path: Path) -> None:
    with pytest.raises(ParseError, match="cannot read the file"):
        read_mapping_file(tmp_path / "missing.m")
    binary = tmp_path / "binary.m"
    binary.write_bytes(b"\xff\xfe\x00")
    with pytest.raises(ParseError, match="not a text file"):
        read_mapping_file(binary)


# --- writer ------------------------------------------------------------------------------
def test_writer_emits_what_maestro_reads(tmp_path: Path) -> None:
    layer = Layer.conv("CONV3_1", K=256, C=128, R=3, S=3, Y=56, X=56, model="VGG16")
    mapping = Mapping(
        directives=(
            SpatialMap(1, 1, "K"),
            TemporalMap(Sz("R"), 1, "Y"),
            Cluster(64),
            SpatialMap(1, 1, "C"),
        )
    )
    text = format_mapping_file(layer, mapping)
    # Written by hand after MAESTRO's own files (Cluster needs its type letter there).
    assert text == (
        "Network VGG16 {\n"
        "  Layer CONV3_1 {\n"
        "    Type: CONV\n"
        "    Stride { X: 1, Y: 1 }\n"
        "    Dimensions { K: 256, C: 128, R: 3, S: 3, Y: 56, X: 56 }\n"
        "    Dataflow {\n"
        "      SpatialMap(1,1) K;\n"
        "      TemporalMap(Sz(R),1) Y;\n"
        "      Cluster(64,P);\n"
        "      SpatialMap(1,1) C;\n"
        "    }\n"
        "  }\n"
        "}\n"
    )
    assert format_mapping_file(layer, mapping, "other").startswith("Network other {\n")
    assert format_mapping_file(Layer.gemm("g", M=2, N=3, K=4), mapping).startswith(
        "Network mapsearch {\n"
    )
    path = tmp_path / "out.m"
    network = MaestroNetwork(name="VGG16", layers=(MaestroLayer(layer=layer, mapping=mapping),))
    write_mapping_file(network, path)
    again = read_mapping_file(path)
    assert again == network
    assert again.path == str(path)
    assert again.layers[0].line == 2


def test_writer_declares_batch_when_the_dataflow_names_it() -> None:
    layer = Layer.conv("c", K=2, C=2, R=1, S=1, Y=2, X=2)
    text = format_mapping_file(layer, Mapping(directives=(SpatialMap(Sz("N"), 1, "K"),)))
    assert "Dimensions { N: 1, K: 2, C: 2, R: 1, S: 1, Y: 2, X: 2 }" in text
    text = format_mapping_file(layer, Mapping(directives=(SpatialMap(1, 1, "K"),)))
    assert "Dimensions { K: 2, C: 2, R: 1, S: 1, Y: 2, X: 2 }" in text
    dw = Layer.dsconv("d", C=3, R=1, S=1, Y=2, X=2, N=4)
    text = format_mapping_file(dw, Mapping(directives=(SpatialMap(1, 1, "C"),)))
    assert "Dimensions { N: 4, K: 1, C: 3, R: 1, S: 1, Y: 2, X: 2 }" in text


def test_writer_rejects_what_cannot_be_read_back() -> None:
    layer = Layer.conv("c", K=2, C=2, R=1, S=1, Y=2, X=2)
    mapping = Mapping(directives=(SpatialMap(1, 1, "K"),))
    for bad in ("a{b", "-lead", "trail:", "two//slashes", "new\nline", " pad"):
        with pytest.raises(LayerError, match="cannot be written to a MAESTRO file"):
            format_mapping_file(Layer.conv(bad, K=2, C=2, R=1, S=1, Y=2, X=2), mapping)
    with pytest.raises(LayerError, match="a layer without a name"):
        format_mapping_file(Layer.conv("", K=2, C=2, R=1, S=1, Y=2, X=2), mapping)
    with pytest.raises(LayerError, match="constant name"):
        format_network(MaestroNetwork(name="n", layers=(), constants=(("K", 3),)))
    with pytest.raises(MappingError, match="sizes must be >= 1"):
        format_mapping_file(layer, Mapping(directives=(TemporalMap(0, 1, "K"),)))
    with pytest.raises(MappingError, match="use mapping=None"):
        MaestroLayer(layer=layer, mapping=Mapping(directives=()))
    with pytest.raises(LayerError, match="use CONV or TRCONV"):
        MaestroLayer(layer=layer, declared_type="GEMM")
    assert MaestroLayer(layer=layer).declared_type == "CONV"


# --- round trip of generated networks ----------------------------------------------------
_NAME_CHARS = st.sampled_from("abcXYZ019_.'-: ")
_names = st.builds(
    lambda first, middle, last: first + middle + last,
    st.sampled_from("aZ_9"),
    st.text(_NAME_CHARS, max_size=6),
    st.sampled_from("bY_0'"),
)
_constant_names = st.from_regex(r"[a-z_][A-Za-z0-9_]{0,6}", fullmatch=True).filter(
    lambda n: n not in ("Sz",)
)


@st.composite
def _layers(draw: st.DrawFn, model: str) -> tuple[Layer, str]:
    op = draw(st.sampled_from(list(Op)))
    name = draw(_names)
    size = st.integers(1, 300)
    sizes = {d: draw(size) for d in OP_DIMS[op]}
    stride_y = stride_x = 1
    if op is not Op.GEMM:
        sizes["R"] = draw(st.integers(1, sizes["Y"]))
        sizes["S"] = draw(st.integers(1, sizes["X"]))
        stride_y, stride_x = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    # Layers are bounded (MACs and tensor sizes at most 2**46): shrink the largest sizes
    # until the shape is one.
    while math.prod(sizes.values()) > MAX_MACS:
        d = max(sizes, key=lambda k: sizes[k] if k not in ("R", "S") else 0)
        sizes[d] //= 2
        for window, dim in (("R", "Y"), ("S", "X")):
            if window in sizes:
                sizes[window] = min(sizes[window], sizes[dim])
    layer = Layer(
        name=name,
        op=op,
        dims=tuple((d, sizes[d]) for d in OP_DIMS[op]),
        stride_y=stride_y,
        stride_x=stride_x,
        model=model,
    )
    declared = draw(st.sampled_from(["CONV", "TRCONV"])) if op is Op.CONV else ""
    return layer, declared


@st.composite
def _mappings(draw: st.DrawFn, op: Op) -> Mapping:
    dims = DIRECTIVE_DIMS[op]
    size = st.one_of(st.integers(1, 512), st.builds(Sz, st.sampled_from(dims)))
    directive = st.one_of(
        st.builds(TemporalMap, size, size, st.sampled_from(dims)),
        st.builds(SpatialMap, size, size, st.sampled_from(dims)),
        st.builds(Cluster, size),
    )
    return Mapping(directives=tuple(draw(st.lists(directive, min_size=1, max_size=12))))


@st.composite
def _networks(draw: st.DrawFn) -> MaestroNetwork:
    name = draw(st.one_of(st.just(""), _names))
    entries = []
    for _ in range(draw(st.integers(0, 4))):
        layer, declared = draw(_layers(name))
        mapping = draw(st.one_of(st.none(), _mappings(layer.op)))
        entries.append(MaestroLayer(layer=layer, mapping=mapping, declared_type=declared))
    constants = draw(
        st.lists(
            st.tuples(_constant_names, st.integers(1, 10**6)), max_size=3, unique_by=lambda c: c[0]
        )
    )
    return MaestroNetwork(name=name, layers=tuple(entries), constants=tuple(constants))


@settings(max_examples=150, deadline=None)
@given(_networks())
def test_write_then_read_gives_the_same_network(network: MaestroNetwork) -> None:
    assert parse_mapping_text(format_network(network)) == network


@settings(max_examples=100, deadline=None)
@given(st.sampled_from(list(Op)).flatmap(_mappings))
def test_format_then_parse_directives_gives_the_same_mapping(mapping: Mapping) -> None:
    assert parse_directives(format_directives(mapping)) == mapping


# --- hardware files ----------------------------------------------------------------------
# cli_default_pe256.m is no hardware file: it lists, as comments, flags given on MAESTRO's
# command line (its first line says so).
HW_FILES = [p for p in INPUT_HW if p.stem != "cli_default_pe256"]


@pytest.mark.parametrize("path", HW_FILES, ids=_ids(HW_FILES))
def test_every_input_hardware_file_parses_and_round_trips(path: Path) -> None:
    hw = read_hardware_file(path)
    assert hw.name == path.stem
    assert parse_hardware_text(format_hardware_file(hw), name=hw.name) == hw


def test_hardware_files_match_dev_csv() -> None:
    seen = set()
    for rows in _dev_rows().values():
        for row in rows:
            if row["hw_source"] != "file":
                continue
            hw = read_hardware_file(DATA / "inputs" / "hw" / f"{row['hw_name']}.m")
            assert (
                hw.num_pes,
                hw.l1_size_words,
                hw.l2_size_words,
                hw.noc_bw_words_per_cycle,
                hw.offchip_bw_words_per_cycle,
                hw.noc_latency_cycles,
            ) == tuple(
                int(row[c])
                for c in (
                    "num_pes",
                    "l1_size_cstr",
                    "l2_size_cstr",
                    "noc_bw_cstr",
                    "offchip_bw_cstr",
                    "noc_latency_effective",
                )
            )
            seen.add(row["hw_name"])
    assert len(seen) == 4


def test_an_incomplete_hardware_file_names_what_is_missing() -> None:
    # MAESTRO reads an all-comment, empty or truncated file as 1 PE with every limit off,
    # without a word; mapsearch names the missing keys. NoC_NumHops is the optional one.
    with pytest.raises(ParseError, match="missing num_pes, l1_size_cstr, l2_size_cstr"):
        read_hardware_file(DATA / "inputs" / "hw" / "cli_default_pe256.m")
    with pytest.raises(ParseError, match=r"hw.m:1: missing num_pes, l1_size_cstr"):
        parse_hardware_text("", path="hw.m")
    with pytest.raises(ParseError, match=r"hw.m:2: missing l2_size_cstr, noc_bw_cstr, off"):
        parse_hardware_text("num_pes: 256\nl1_size_cstr: 100\n", path="hw.m")
    full = "num_pes: 4\nl1_size_cstr: 1\nl2_size_cstr: 2\nnoc_bw_cstr: 3\noffchip_bw_cstr: 5\n"
    assert parse_hardware_text(full).noc_latency_cycles == 1


def test_accelerator_1() -> None:
    hw = read_hardware_file(DATA / "examples" / "hw" / "accelerator_1.m")
    assert hw == Hardware(
        name="accelerator_1",
        num_pes=256,
        l1_size_words=100,
        l2_size_words=3000,
        noc_bw_words_per_cycle=1000,
        offchip_bw_words_per_cycle=50,
        noc_latency_cycles=1,
    )


def test_hardware_text_options_and_writer() -> None:
    hw = parse_hardware_text(
        "num_pes 64\nNoC_NumHops: 0\nnoc_bw_cstr:32 // a comment\nl1_size_cstr: 2147483647\n"
        "l2_size_cstr: 2147483647\noffchip_bw_cstr: 2147483647\n"
    )
    assert hw == Hardware(
        name="custom", num_pes=64, noc_bw_words_per_cycle=32, noc_latency_cycles=0
    )
    text = format_hardware_file(hw)
    assert "NoC_NumHops: 0" in text.splitlines()
    assert f"l1_size_cstr: {UNLIMITED}" in text.splitlines()  # every required key is written
    assert parse_hardware_text(text) == hw
    wide = Hardware(num_pes=4, vector_width=8, word_bytes=2, energy=EnergyTable(mac=2.0))
    text = format_hardware_file(wide)
    assert "--num_simd_lanes 8" in text
    assert "NoC_NumHops" not in text  # the default, left out
    assert parse_hardware_text(text) == Hardware(num_pes=4)  # comments are not read back


@pytest.mark.parametrize(
    ("text", "line", "fragment"),
    [
        ("num_pes: 4\nnum_pe: 8\n", 2, "unknown hardware key 'num_pe' (did you mean num_pes?)"),
        ("num_pes: 4\n\nl3_size: 8\n", 3, "known keys: num_pes, l1_size_cstr, l2_size_cstr"),
        ("num_pes:\n", 1, "expected one integer after num_pes ('num_pes: value'), got nothing"),
        ("num_pes: 4 8\n", 1, "got extra '8'"),
        ("num_pes: 4\nl1_size_cstr: 1e6\n", 2, "l1_size_cstr must be an integer >= 1, got '1e6'"),
        ("num_pes: 0\n", 1, "num_pes must be an integer >= 1, got '0'"),
        ("// c\nnum_pes: 4\nnum_pes: 8\n", 3, "num_pes is given twice (first at line 2)"),
    ],
)
def test_malformed_hardware_files(text: str, line: int, fragment: str) -> None:
    with pytest.raises(ParseError) as info:
        parse_hardware_text(text, path="hw.m")
    assert info.value.line == line
    assert str(info.value).startswith(f"hw.m:{line}: ")
    assert fragment in str(info.value)
