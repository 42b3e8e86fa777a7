from __future__ import annotations

import pytest

from mapsearch.errors import LayerError
from mapsearch.layers import Layer, Op


def test_conv_output_and_macs_honour_stride() -> None:
    layer = Layer.conv("c", K=64, C=3, R=7, S=7, Y=224, X=224, stride=2)
    assert (layer.out_y, layer.out_x) == (109, 109)  # (224 - 7) // 2 + 1
    assert layer.macs == 64 * 3 * 7 * 7 * 109 * 109


def test_depthwise_and_gemm() -> None:
    dw = Layer.dsconv("dw", C=32, R=3, S=3, Y=112, X=112)
    assert dw.op is Op.DSCONV
    assert dw.macs == 32 * 9 * 110 * 110
    assert dw.tensor_size("output") == 32 * 110 * 110
    g = Layer.gemm("g", M=128, N=768, K=768)
    assert g.macs == 128 * 768 * 768
    assert g.tensor_size("filter") == 768 * 768


def test_bad_shapes_are_rejected_with_every_problem() -> None:
    with pytest.raises(LayerError) as e:
        Layer.conv("bad", K=0, C=3, R=5, S=3, Y=4, X=4)
    assert "K must be >= 1" in str(e.value)
    assert "window R=5" in str(e.value)
