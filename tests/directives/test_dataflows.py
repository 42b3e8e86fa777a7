"""The classic dataflows: the reference table's directive text for every row, names and aliases,
depthwise/grouped/GEMM forms."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pytest

from mapsearch.directives import Cluster, SpatialMap, Sz, TemporalMap
from mapsearch.directives.dataflows import (
    DATAFLOWS,
    VARIANTS,
    canonical_name,
    dataflow,
    dataflow_info,
    dataflow_variant,
)
from mapsearch.directives.validate import mapping_problems
from mapsearch.errors import UnknownNameError, UnsupportedError
from mapsearch.hardware import Hardware
from mapsearch.layers import Layer

DEV_CSV = Path(__file__).parent.parent / "data" / "maestro" / "dev.csv"
CONV3_1 = Layer.conv("CONV3_1", K=256, C=128, R=3, S=3, Y=56, X=56, model="VGG16")


def _rows() -> list[dict[str, str]]:
    with DEV_CSV.open() as f:
        return list(csv.DictReader(f))


def _layer(row: dict[str, str]) -> Layer:
    g = {k: int(row[k]) for k in ("N", "K", "C", "R", "S", "Y", "X", "stride")}
    if row["layer_type"] == "DSCONV":
        del g["K"]
        return Layer.dsconv(row["layer"], **g)
    assert row["layer_type"] == "CONV"
    return Layer.conv(row["layer"], **g)


def _normalise(text: str) -> str:
    text = re.sub(r"Cluster\((\w+)\s*,\s*[PL]\)", r"Cluster(\1)", text)
    return re.sub(r"\s+", " ", text).strip()


def test_every_reference_row() -> None:
    """dev.csv's `directives` and `dataflow_variant` columns, row by row."""
    rows = _rows()
    assert len(rows) > 900
    names = set()
    for row in rows:
        layer = _layer(row)
        m = dataflow(row["dataflow"], layer)
        assert m.name == row["dataflow"]
        got = str(m.resolve(layer))
        assert _normalise(got) == _normalise(row["directives"]), (row["net"], row["layer"], got)
        assert dataflow_variant(row["dataflow"], layer) == row["dataflow_variant"]
        names.add(row["dataflow"])
    assert names == set(DATAFLOWS)


def test_full_sizes_stay_symbolic_until_resolved() -> None:
    m = dataflow("kcp", CONV3_1)
    assert m.directives[2] == TemporalMap(Sz("R"), Sz("R"), "R")
    yxp = dataflow("yxp", CONV3_1)
    assert yxp.directives[3] == TemporalMap(10, 8, "X")  # 8 outputs of a 3-wide filter
    rs = dataflow("eyeriss", CONV3_1)
    assert Cluster(Sz("R")) in rs.directives


@pytest.mark.parametrize(
    ("alias", "name"),
    [
        ("kcp_ws", "KC-P_kcp_ws"),
        ("KCP", "KC-P_kcp_ws"),
        ("nvdla", "KC-P_kcp_ws"),
        ("kc-p", "KC-P_kcp_ws"),
        ("ckp", "CK-P_ckp_ws"),
        ("yxp", "YX-P_yxp_os"),
        ("ShiDianNao", "YX-P_yxp_os"),
        ("xp", "X-P_xp_ws"),
        ("rs", "YR-P_rs_tools"),
        ("eyeriss", "YR-P_rs_tools"),
        ("rs_vgg", "YR-P_rs_vgg"),
        ("rs-vgg", "YR-P_rs_vgg"),
        ("nlr", "C-P_nlr"),
        ("cp", "C-P_nlr"),
        ("ykp", "YK-P_ykp_os"),
        ("maeri", "MAERI_kp"),
        ("yr_p_rs_TOOLS", "YR-P_rs_tools"),
    ],
)
def test_aliases(alias: str, name: str) -> None:
    assert canonical_name(alias) == name
    assert dataflow(alias, CONV3_1).name == name
    assert dataflow_info(alias).name == name


def test_canonical_names_and_info() -> None:
    assert DATAFLOWS == (
        "KC-P_kcp_ws",
        "CK-P_ckp_ws",
        "YX-P_yxp_os",
        "X-P_xp_ws",
        "YR-P_rs_vgg",
        "YR-P_rs_tools",
        "C-P_nlr",
        "YK-P_ykp_os",
        "MAERI_kp",
    )
    for name in DATAFLOWS:
        info = dataflow_info(name)
        assert info.origin and info.description and info.aliases
        assert "Sz(" in info.directives
    assert dataflow_info("yxp").directives.startswith(
        "TemporalMap(1,1) K; TemporalMap(1,1) C; SpatialMap(Sz(R),1) Y; TemporalMap(Sz(S)+7,8) X"
    )


def test_unknown_name_lists_close_matches() -> None:
    with pytest.raises(UnknownNameError) as info:
        dataflow("kcp_wss", CONV3_1)
    assert "unknown dataflow 'kcp_wss'" in str(info.value)
    assert "kcp_ws" in str(info.value)
    with pytest.raises(KeyError):
        dataflow_info("rowstationary")


def test_ambiguous_prefix_lists_candidates() -> None:
    with pytest.raises(UnknownNameError) as info:
        canonical_name("YR-P")
    assert "ambiguous" in str(info.value)
    assert "YR-P_rs_vgg" in str(info.value) and "YR-P_rs_tools" in str(info.value)


def test_depthwise_variants() -> None:
    dw = Layer.dsconv("dw", C=32, R=3, S=3, Y=112, X=112)
    xp = dataflow("xp", dw)
    assert dataflow_variant("xp", dw) == "dsconv_dropK"
    assert all(d.dim != "K" for d in xp.directives if not isinstance(d, Cluster))
    assert dataflow_variant("kcp", dw) == "dsconv_dpt_fallback"
    assert str(dataflow("kcp", dw).resolve(dw)) == (
        "SpatialMap(1,1) C; TemporalMap(3,1) Y; TemporalMap(3,1) X; "
        "TemporalMap(3,3) R; TemporalMap(3,3) S"
    )
    assert dataflow_variant("kcp", CONV3_1) == "native"


def test_grouped_conv_runs_group_by_group() -> None:
    g = Layer.gconv("g", G=32, K=4, C=4, R=3, S=3, Y=56, X=56)
    m = dataflow("kcp", g)
    assert m.directives[0] == TemporalMap(1, 1, "G")
    assert dataflow_variant("kcp", g) == "gconv"
    assert mapping_problems(m, g, Hardware(num_pes=256)) == []


GEMM = Layer.gemm("qkv", M=128, N=768, K=768)


@pytest.mark.parametrize("name", ["kcp", "ckp", "xp", "nlr", "ykp"])
def test_gemm_forms_are_legal(name: str) -> None:
    m = dataflow(name, GEMM)
    assert dataflow_variant(name, GEMM) == "gemm"
    assert {d.dim for d in m.directives if not isinstance(d, Cluster)} <= {"M", "N", "K"}
    assert mapping_problems(m, GEMM, Hardware(num_pes=256)) == []
    assert dataflow_info(name).gemm_directives


def test_gemm_kcp_maps_output_channels_across_clusters() -> None:
    m = dataflow("kcp", GEMM)
    assert m.directives[0] == SpatialMap(1, 1, "N")  # conv K (output channels) -> GEMM N
    assert m.directives[-1] == SpatialMap(1, 1, "K")  # conv C (reduction) -> GEMM K


@pytest.mark.parametrize("name", ["yxp", "rs", "rs_vgg", "maeri"])
def test_gemm_unsupported(name: str) -> None:
    with pytest.raises(UnsupportedError) as info:
        dataflow(name, GEMM)
    msg = str(info.value)
    assert canonical_name(name) in msg and "'qkv' is a GEMM" in msg and "KC-P_kcp_ws" in msg
    assert not dataflow_info(name).gemm_directives


def test_variants_listed() -> None:
    assert set(VARIANTS) == {"native", "dsconv_dropK", "dsconv_dpt_fallback", "gconv", "gemm"}
