"""The model zoo: every layer of VGG16, ResNet50, MobileNetV2, AlexNet and a BERT-base encoder.

Shapes come from the papers (cited per model below). Conventions are MAESTRO's, so that a
zoo layer equals the layer of MAESTRO's reference data with the same name:

* ``Y``/``X`` are the layer's input feature-map rows/columns *as published, without
  padding* (VGG16 CONV3_1 is ``K256 C128 R3 S3 Y56 X56``, so its output is 54x54, not
  56x56). This is how MAESTRO's own model files and reference runs describe the layers.
* Fully connected layers are convolutions: an FC layer over a flattened ``7x7`` (or
  ``6x6``) map is ``R = S = Y = X = 7``, the others ``R = S = Y = X = 1``. MAESTRO's
  reference also writes the classifier that follows *global average pooling* (ResNet50,
  MobileNetV2 FC1000) as ``R = S = Y = X = 7``, which counts 49x its real MACs.
* Pooling, element-wise (residual) additions, softmax and normalisation are not layers
  here: they do no multiply-accumulates.
* Batch size is 1 everywhere.

That is the default ``convention="maestro"``. ``convention="published"`` gives the networks
as the papers compute them: each convolution's zero padding added to ``Y``/``X`` (``Y56``
becomes ``Y58``, so outputs have the published sizes) and classifiers after global pooling
as ``1x1`` over ``1x1``; MAC totals then match the papers'.

Names follow MAESTRO's reference data and model files where they name a layer
(``CONV3_1``, ``FC6``, ``CONV2_1_3``); the representative MobileNetV2 names of the
reference (``BN4_DW``, ...) are :data:`ALIASES` of the zoo's per-block names. Lookups are
case-insensitive (see :func:`find_layer`).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from mapsearch.errors import UnknownNameError
from mapsearch.layers.layer import Layer, group_by_shape

#: Models of the zoo, in the order they are listed.
MODELS: tuple[str, ...] = ("vgg16", "resnet50", "mobilenetv2", "alexnet", "bert_base")

#: Shape conventions (see the module docstring); "maestro" is the default.
CONVENTIONS: tuple[str, ...] = ("maestro", "published")

#: BERT-base sequence length used by :func:`model_layers` (Devlin et al. fine-tune at 128).
BERT_SEQ_LEN = 128


@dataclass(frozen=True, slots=True, kw_only=True)
class _Builder:
    """Makes the layers of one model in one convention (``published`` or MAESTRO's)."""

    model: str
    published: bool

    def _grow(self, size: int, window: int, pad: int | None) -> int:
        # 'same' padding of an odd window is window // 2 on each side; a window as large as
        # its map (an FC layer written as a convolution) is never padded.
        if pad is None:
            pad = window // 2 if window < size else 0
        return size + 2 * pad if self.published else size

    def conv(
        self, name: str, *, K: int, C: int, R: int, Y: int, stride: int = 1, pad: int | None = None
    ) -> Layer:
        """A square ``R x R`` convolution over a square ``Y x Y`` map."""
        y = self._grow(Y, R, pad)
        return Layer.conv(name, K=K, C=C, R=R, S=R, Y=y, X=y, stride=stride, model=self.model)

    def dsconv(self, name: str, *, C: int, R: int, Y: int, stride: int = 1) -> Layer:
        y = self._grow(Y, R, None)
        return Layer.dsconv(name, C=C, R=R, S=R, Y=y, X=y, stride=stride, model=self.model)

    def gconv(self, name: str, *, G: int, K: int, C: int, R: int, Y: int) -> Layer:
        """A grouped convolution; ``K`` and ``C`` are per group."""
        y = self._grow(Y, R, None)
        return Layer.gconv(name, G=G, K=K, C=C, R=R, S=R, Y=y, X=y, model=self.model)

    def classifier(self, name: str, *, K: int, C: int, pooled: int) -> Layer:
        """An FC layer after global average pooling of a ``pooled x pooled`` map."""
        r = 1 if self.published else pooled
        return self.conv(name, K=K, C=C, R=r, Y=r)

    def gemm(self, name: str, *, M: int, N: int, K: int) -> Layer:
        return Layer.gemm(name, M=M, N=N, K=K, model=self.model)


def _vgg16(b: _Builder) -> list[Layer]:
    # Simonyan & Zisserman, ICLR 2015, Table 1 configuration D: 3x3 convolutions, stride 1,
    # padding 1, five stages separated by 2x2 max-pooling; then FC-4096, FC-4096, FC-1000.
    stages = ((2, 64, 224), (2, 128, 112), (3, 256, 56), (3, 512, 28), (3, 512, 14))
    layers: list[Layer] = []
    c = 3
    for s, (n, k, y) in enumerate(stages, start=1):
        for i in range(1, n + 1):
            layers.append(b.conv(f"CONV{s}_{i}", K=k, C=c, R=3, Y=y))
            c = k
    layers += [
        b.conv("FC6", K=4096, C=512, R=7, Y=7),  # over the 7x7x512 map of the last pool
        b.conv("FC7", K=4096, C=4096, R=1, Y=1),
        b.conv("FC8", K=1000, C=4096, R=1, Y=1),
    ]
    return layers


def _resnet50(b: _Builder) -> list[Layer]:
    # He et al., CVPR 2016, Table 1 (50-layer): conv1 7x7/2 64 on 224x224, 3x3/2 max-pool to
    # 56x56, then bottleneck blocks [1x1 w, 3x3 w, 1x1 4w] x {3, 4, 6, 3} with w = 64, 128,
    # 256, 512. Stages conv3..conv5 downsample in their first block with stride 2 on the
    # first 1x1 conv (the original model, as in MAESTRO's Resnet50_model.m). The first block
    # of every stage has a projection shortcut (option B): a 1x1 conv with the block's
    # stride from its input to 4w channels. Then global average pooling and FC-1000.
    layers = [b.conv("CONV1", K=64, C=3, R=7, Y=224, stride=2)]
    c, y = 64, 56
    for s, (n, w) in enumerate(((3, 64), (4, 128), (6, 256), (3, 512)), start=2):
        for i in range(1, n + 1):
            stride = 2 if (i == 1 and s > 2) else 1
            y_out = y // stride
            layers += [
                b.conv(f"CONV{s}_{i}_1", K=w, C=c, R=1, Y=y, stride=stride),
                b.conv(f"CONV{s}_{i}_2", K=w, C=w, R=3, Y=y_out),
                b.conv(f"CONV{s}_{i}_3", K=4 * w, C=w, R=1, Y=y_out),
            ]
            if i == 1:
                layers.append(b.conv(f"CONV{s}_1_PROJ", K=4 * w, C=c, R=1, Y=y, stride=stride))
            c, y = 4 * w, y_out
    layers.append(b.classifier("FC1000", K=1000, C=2048, pooled=7))
    return layers


def _mobilenetv2(b: _Builder) -> list[Layer]:
    # Sandler et al., CVPR 2018, Table 2: conv 3x3/2 32 on 224x224, then bottleneck stages
    # (t expansion, c channels, n blocks, s stride of the first block):
    # (1,16,1,1) (6,24,2,2) (6,32,3,2) (6,64,4,2) (6,96,3,1) (6,160,3,2) (6,320,1,1), then
    # conv 1x1 1280, 7x7 average pooling and a 1000-way classifier. A block is 1x1 expansion
    # to t*c_in channels (omitted when t = 1), 3x3 depthwise with the block's stride, 1x1
    # linear projection to c. Block i of stage s is BN{s}_{i}.
    layers = [b.conv("CONV1", K=32, C=3, R=3, Y=224, stride=2)]
    c, y = 32, 112
    stages = (
        (1, 16, 1, 1),
        (6, 24, 2, 2),
        (6, 32, 3, 2),
        (6, 64, 4, 2),
        (6, 96, 3, 1),
        (6, 160, 3, 2),
        (6, 320, 1, 1),
    )
    for s, (t, c_out, n, first_stride) in enumerate(stages, start=1):
        for i in range(1, n + 1):
            stride = first_stride if i == 1 else 1
            hidden = t * c
            if t != 1:
                layers.append(b.conv(f"BN{s}_{i}_PW_exp", K=hidden, C=c, R=1, Y=y))
            layers.append(b.dsconv(f"BN{s}_{i}_DW", C=hidden, R=3, Y=y, stride=stride))
            y //= stride
            layers.append(b.conv(f"BN{s}_{i}_PW_proj", K=c_out, C=hidden, R=1, Y=y))
            c = c_out
    layers += [
        b.conv("CONV_last", K=1280, C=c, R=1, Y=y),
        b.classifier("FC1000", K=1000, C=1280, pooled=7),
    ]
    return layers


def _alexnet(b: _Builder) -> list[Layer]:
    # Krizhevsky et al., NIPS 2012, Fig. 2, the original two-GPU network. conv1 sees the
    # whole image on both GPUs, so it is one 96-filter convolution; conv2, conv4 and conv5
    # only connect to the kernel maps on their own GPU: 2-group convolutions (Layer.gconv,
    # K and C per group). conv3 connects across GPUs: a plain convolution. The input is
    # 227x227 (the paper's "224" does not give its 55x55 conv1 output with stride 4), conv1
    # is unpadded, conv2 pads 2, conv3..5 pad 1; 3x3/2 max-pooling follows conv1, conv2, conv5.
    return [
        b.conv("CONV1", K=96, C=3, R=11, Y=227, stride=4, pad=0),
        b.gconv("CONV2", G=2, K=128, C=48, R=5, Y=27),
        b.conv("CONV3", K=384, C=256, R=3, Y=13),
        b.gconv("CONV4", G=2, K=192, C=192, R=3, Y=13),
        b.gconv("CONV5", G=2, K=128, C=192, R=3, Y=13),
        b.conv("FC6", K=4096, C=256, R=6, Y=6),
        b.conv("FC7", K=4096, C=4096, R=1, Y=1),
        b.conv("FC8", K=1000, C=4096, R=1, Y=1),
    ]


def bert_base(seq_len: int = BERT_SEQ_LEN) -> tuple[Layer, ...]:
    """The GEMMs of one BERT-base encoder layer for a sequence of ``seq_len`` tokens.

    Devlin et al., NAACL 2019: hidden size 768, 12 attention heads (64 wide), feed-forward
    size 3072 (= 4 x 768). GEMMs are ``out[M, N] = in[M, K] @ w[K, N]`` with ``M`` the
    tokens: Q/K/V projections and the output projection (768 -> 768), the per-head
    attention scores ``Q_h K_h^T`` (K = 64, N = seq_len) and contexts ``P_h V_h``
    (K = seq_len, N = 64), one GEMM per head, then FFN1 (768 -> 3072) and FFN2 (3072 -> 768).
    """
    d_model, heads, d_ff = 768, 12, 3072
    d_head = d_model // heads
    b = _Builder(model="bert_base", published=True)
    layers = [b.gemm(f"{p}_PROJ", M=seq_len, N=d_model, K=d_model) for p in "QKV"]
    layers += [b.gemm(f"ATTN_SCORE_H{h}", M=seq_len, N=seq_len, K=d_head) for h in range(heads)]
    layers += [b.gemm(f"ATTN_CONTEXT_H{h}", M=seq_len, N=d_head, K=seq_len) for h in range(heads)]
    layers += [
        b.gemm("OUT_PROJ", M=seq_len, N=d_model, K=d_model),
        b.gemm("FFN1", M=seq_len, N=d_ff, K=d_model),
        b.gemm("FFN2", M=seq_len, N=d_model, K=d_ff),
    ]
    return tuple(layers)


_CNN_BUILDERS = MappingProxyType(
    {"vgg16": _vgg16, "resnet50": _resnet50, "mobilenetv2": _mobilenetv2, "alexnet": _alexnet}
)

#: Other names MAESTRO's reference data (dev.csv) gives zoo layers: model -> alias -> name.
#: Its MobileNetV2 rows number bottleneck *stages*, not blocks, and add ``_s2`` to a strided
#: depthwise layer; BN4_DW / BN4_PW_proj are the repeated (stride-1) blocks of stage 4.
ALIASES: Mapping[str, Mapping[str, str]] = MappingProxyType(
    {
        "mobilenetv2": MappingProxyType(
            {
                "BN1_DW": "BN1_1_DW",
                "BN1_PW_proj": "BN1_1_PW_proj",
                "BN2_PW_exp": "BN2_1_PW_exp",
                "BN2_DW_s2": "BN2_1_DW",
                "BN4_DW": "BN4_2_DW",
                "BN4_PW_proj": "BN4_2_PW_proj",
            }
        )
    }
)


def _normal(model: str) -> str:
    """Model-name key: case, ``-`` and ``_`` ignored (``MobileNet_V2`` is ``mobilenetv2``)."""
    return model.lower().replace("-", "").replace("_", "")


def _canonical_model(model: str) -> str:
    by_key = {_normal(m): m for m in MODELS}
    try:
        return by_key[_normal(model)]
    except KeyError:
        raise UnknownNameError("model", model, MODELS) from None


def _check_convention(convention: str) -> None:
    if convention not in CONVENTIONS:
        raise UnknownNameError("layer convention", convention, CONVENTIONS)


@functools.cache
def model_layers(model: str, *, convention: str = "maestro") -> tuple[Layer, ...]:
    """Every layer of ``model`` (one of :data:`MODELS`, case-insensitive), in network order.

    ``convention`` is ``"maestro"`` (MAESTRO's shapes) or ``"published"`` (padding and
    pooling as in the paper), see the module docstring. BERT-base has no convolutions and
    uses :data:`BERT_SEQ_LEN` tokens; call :func:`bert_base` for another sequence length.
    """
    name = _canonical_model(model)
    _check_convention(convention)
    if name == "bert_base":
        return bert_base()
    builder = _Builder(model=name, published=convention == "published")
    return tuple(_CNN_BUILDERS[name](builder))


def all_layers(*, convention: str = "maestro") -> tuple[Layer, ...]:
    """The layers of every model of the zoo, model after model."""
    return tuple(layer for m in MODELS for layer in model_layers(m, convention=convention))


def distinct_layers(model: str, *, convention: str = "maestro") -> tuple[Layer, ...]:
    """The layers of ``model`` with repeated shapes removed (the first name is kept).

    Two layers are the same shape when operator, dimensions and strides are equal; tuning
    one mapping per distinct shape covers the whole model.
    """
    return tuple(group[0] for group in group_by_shape(model_layers(model, convention=convention)))


@dataclass(frozen=True, slots=True)
class _Index:
    qualified: Mapping[str, Layer]  # "vgg16.conv3_1" -> layer (aliases included)
    bare: Mapping[str, tuple[str, ...]]  # "conv1" -> ("resnet50.conv1", ...)


@functools.cache
def _index(convention: str) -> _Index:
    qualified: dict[str, Layer] = {}
    bare: dict[str, list[str]] = {}
    for model in MODELS:
        layers = {layer.name.lower(): layer for layer in model_layers(model, convention=convention)}
        aliases = ALIASES.get(model, {})
        named = layers | {a.lower(): layers[n.lower()] for a, n in aliases.items()}
        for short, layer in named.items():
            q = f"{model}.{short}"
            qualified[q] = layer
            bare.setdefault(short, []).append(q)
    return _Index(
        qualified=MappingProxyType(qualified),
        bare=MappingProxyType({k: tuple(v) for k, v in bare.items()}),
    )


def find_layer(name: str, *, convention: str = "maestro") -> Layer:
    """The zoo layer called ``name``, case-insensitively.

    ``name`` is ``model.layer`` (``vgg16.conv3_1``; the model part also forgives ``-``/``_``,
    as in ``MobileNet_V2.bn4_dw``) or a bare layer name that only one model has
    (``conv3_1``). Raises :class:`UnknownNameError` listing the qualified candidates for an
    ambiguous bare name (``conv1``), or close matches for an unknown one.
    """
    _check_convention(convention)
    index = _index(convention)
    key = name.strip().lower()
    if "." in key:
        model_part, _, layer_part = key.partition(".")
        model = _canonical_model(model_part)
        q = f"{model}.{layer_part}"
        if q in index.qualified:
            return index.qualified[q]
        known = [k for k in index.qualified if k.startswith(model + ".")]
        raise UnknownNameError("layer", key, known)
    candidates = index.bare.get(key, ())
    if len(candidates) == 1:
        return index.qualified[candidates[0]]
    if candidates:
        raise UnknownNameError("layer", name, candidates, ambiguous=True)
    # Suggest bare names where they are unique, qualified ones where they are not.
    known = [
        qs[0].partition(".")[2] if len(qs) == 1 else q for qs in index.bare.values() for q in qs
    ]
    raise UnknownNameError("layer", key, dict.fromkeys(known))
