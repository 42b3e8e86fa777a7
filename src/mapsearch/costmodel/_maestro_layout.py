"""Cluster levels completed the way MAESTRO completes them, one mapping row at a time.

``docs/maestro_model.md`` section 3: the directive list is cut at every ``Cluster``; each
level is (1) rewritten from output space (``Y'``/``X'``) to input space, (2) given the
directives of its parent that it lacks (inherited as ``TemporalMap``, each one put at the
front, so they end up in reverse parent order), (3) completed with ``TemporalMap(D, D)`` for
every still unmapped input-tensor variable (alphabetical order), and (4) rewritten for the
layer stride.

Rows may differ in loop order, spatial dimensions, directive kinds and cluster sizes: the
template is data. The compiled ``complete_row`` of :mod:`._maestro_kernel` (kept in that
module so that numba's cache of the kernel is invalidated with it) completes one row's
levels into small arrays in loop order, for every row, inside the case analysis: a batch of
any size costs one compiled call and no per-level numpy work. This module holds what it
reads of the layer (:class:`LayerConsts`) and says, in words, why a row it rejects cannot be
read (:func:`row_problems`).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from mapsearch.costmodel.batch import DIM_NAMES, KIND_CODES
from mapsearch.directives import DirectiveKind
from mapsearch.errors import UnsupportedError
from mapsearch.layers import OUTPUT_DIMS, Layer
from mapsearch.layers.layer import Op

IntArray = npt.NDArray[np.int64]
CodeArray = npt.NDArray[np.int8]
BoolArray = npt.NDArray[np.bool_]

#: Window pairs: input dimension -> (filter dimension, output dimension).
WINDOW_OF: dict[str, tuple[str, str]] = {"Y": ("R", "Y'"), "X": ("S", "X'")}
#: MAESTRO supports at most this many Cluster directives (four NoCs).
MAX_CLUSTERS = 3
MAX_LEVELS = MAX_CLUSTERS + 1


@dataclass(frozen=True, slots=True)
class LayerVars:
    """The variables of an operator as MAESTRO numbers them.

    ``names``: the input-tensor variables in sorted order (ids ``0..D-1``, MAESTRO's
    completion order), then ``Y'`` and ``X'`` for windowed operators. Per tensor (input,
    filter, output): ``tensors[t]`` its variables in MAESTRO's order and ``mask[t, v]``
    membership (the output's ``Y``/``X`` mean ``Y'``/``X'``: ``alias`` maps them).
    ``windows[k]`` = (input var, filter var, output alias) ids.
    """

    names: tuple[str, ...]
    n_input_vars: int
    tensors: tuple[tuple[str, tuple[str, ...]], ...]
    mask: BoolArray
    tensor_vars: IntArray
    tensor_len: IntArray
    alias: IntArray
    windows: IntArray

    def id(self, name: str) -> int:
        return self.names.index(name)


_TENSORS: dict[Op, tuple[tuple[str, tuple[str, ...]], ...]] = {
    Op.CONV: (
        ("input", ("N", "C", "Y", "X")),
        ("filter", ("K", "C", "R", "S")),
        ("output", ("N", "K", "Y", "X")),
    ),
    Op.DSCONV: (
        ("input", ("N", "C", "Y", "X")),
        ("filter", ("C", "R", "S")),
        ("output", ("N", "C", "Y", "X")),
    ),
    Op.GEMM: (("input", ("M", "K")), ("filter", ("K", "N")), ("output", ("M", "N"))),
}


@functools.cache
def layer_vars(op: Op) -> LayerVars:
    """The variable numbering of ``op`` (section 2.1); raises for operators MAESTRO lacks."""
    tensors = _TENSORS.get(op)
    if tensors is None:
        raise UnsupportedError(
            f"the maestro semantics models CONV, DSCONV and GEMM layers, not {op.value}; "
            "use a CONV per group instead"
        )
    inputs = sorted({v for _, vs in tensors[:2] for v in vs})
    windowed = op is not Op.GEMM
    names = (*inputs, *(WINDOW_OF[v][1] for v in ("Y", "X"))) if windowed else tuple(inputs)
    mask = np.zeros((3, len(names)), dtype=np.bool_)
    tvars = np.zeros((3, 4), dtype=np.int64)
    tlen = np.zeros(3, dtype=np.int64)
    for t, (_, vs) in enumerate(tensors):
        for k, v in enumerate(vs):
            mask[t, names.index(v)] = True
            tvars[t, k] = names.index(v)
        tlen[t] = len(vs)
    alias = np.arange(len(names), dtype=np.int64)
    windows = np.zeros((0, 3), dtype=np.int64)
    if windowed:
        for v in ("Y", "X"):
            alias[names.index(v)] = names.index(WINDOW_OF[v][1])
        windows = np.array(
            [[names.index(v), names.index(w), names.index(o)] for v, (w, o) in WINDOW_OF.items()],
            dtype=np.int64,
        )
    for a in (mask, tvars, tlen, alias, windows):
        a.flags.writeable = False
    return LayerVars(
        names=names,
        n_input_vars=len(inputs),
        tensors=tensors,
        mask=mask,
        tensor_vars=tvars,
        tensor_len=tlen,
        alias=alias,
        windows=windows,
    )


TEMPORAL = KIND_CODES[DirectiveKind.TEMPORAL]
SPATIAL = KIND_CODES[DirectiveKind.SPATIAL]
CLUSTER = KIND_CODES[DirectiveKind.CLUSTER]


@dataclass(frozen=True, slots=True, kw_only=True)
class LayerConsts:
    """What ``_maestro_kernel.complete_row`` reads of a layer, as arrays.

    ``codes[0, c]``: the variable (``LayerVars`` id) that dimension code ``c`` maps (-1: the
    layer lacks it; ``Y'``/``X'`` map ``Y``/``X``); ``codes[1, c]``: 1 when the code is
    written in output space. ``dims``: the layer's size along every variable (the
    input-tensor variables first; 0 for ``Y'``/``X'``). ``windows``: a row per window of
    ``LayerVars.windows``, its three variable ids, then its stride and whole filter size.
    """

    vars: LayerVars
    codes: IntArray
    dims: IntArray
    windows: IntArray


@functools.lru_cache(maxsize=64)
def layer_consts(layer: Layer) -> LayerConsts:
    """:class:`LayerConsts` of ``layer``; raises for operators MAESTRO lacks."""
    lvars = layer_vars(layer.op)
    codes = _codes(layer.op)
    D = lvars.n_input_vars
    dims = np.zeros(len(lvars.names), np.int64)
    dims[:D] = [layer.size(v) for v in lvars.names[:D]]
    windows = np.array(
        [
            [v, w, o, layer.stride_along(lvars.names[v]), layer.size(lvars.names[w])]
            for v, w, o in lvars.windows.tolist()
        ],
        dtype=np.int64,
    ).reshape(-1, 5)
    out = LayerConsts(
        vars=lvars,
        codes=np.stack([codes.var[:-1], codes.out_space[:-1].astype(np.int64)]),
        dims=dims,
        windows=windows,
    )
    for a in (out.codes, out.dims, out.windows):
        a.flags.writeable = False
    return out


def row_problems(
    layer: Layer, kinds: npt.NDArray[np.int8], dims: npt.NDArray[np.int8]
) -> list[str]:
    """Why MAESTRO cannot read one mapping (its directive codes), every problem once."""
    lvars = layer_vars(layer.op)
    level_of = np.cumsum(kinds == CLUSTER)
    vid = _codes(layer.op).var[dims]
    n_spatial = np.bincount(level_of[kinds == SPATIAL], minlength=int(level_of[-1]) + 1)
    return _problems(layer, lvars, kinds, dims, level_of, vid, n_spatial)


@dataclass(frozen=True, slots=True)
class _Codes:
    """Per dimension code of a batch: the layer variable it maps (-1: none) and whether it
    is written in output space (``Y'``, ``X'``); the extra last entry serves code -1."""

    var: IntArray
    out_space: BoolArray


@functools.cache
def _codes(op: Op) -> _Codes:
    lvars = layer_vars(op)
    D = lvars.n_input_vars
    base = [OUTPUT_DIMS.get(n, n) for n in DIM_NAMES]
    var = [lvars.names.index(b) if b in lvars.names[:D] else -1 for b in base]
    return _Codes(
        var=np.array([*var, -1], dtype=np.int64),
        out_space=np.array([n in OUTPUT_DIMS for n in DIM_NAMES] + [False]),
    )


def _problems(
    layer: Layer,
    lvars: LayerVars,
    kinds: npt.NDArray[np.int8],
    dims: npt.NDArray[np.int8],
    level_of: IntArray,
    vid: IntArray,
    n_spatial: IntArray,
) -> list[str]:
    """Why one row's levels cannot be completed (section 6.2), every problem once."""
    out: list[str] = []
    names = [DIM_NAMES[c] if c >= 0 else "" for c in dims.tolist()]
    for i, ns in enumerate(n_spatial.tolist()):
        if ns == 0:
            out.append(
                f"cluster level {i} has no SpatialMap (every level needs one to spread its units)"
            )
        elif ns > 2:
            out.append(
                f"cluster level {i} has {ns} SpatialMaps; MAESTRO handles at most two per level"
            )
        here = [
            j for j in range(len(names)) if level_of[j] == i and kinds[j] in (TEMPORAL, SPATIAL)
        ]
        extra = sorted({names[j] for j in here if vid[j] < 0})
        if extra:
            out.append(
                f"cluster level {i} maps {', '.join(extra)}, which {layer.op.value} layers lack"
            )
        for v in range(lvars.n_input_vars):
            same = [names[j] for j in here if vid[j] == v]
            if len(same) > 1:
                out.append(f"cluster level {i} maps both {' and '.join(same)}; keep one")
        for v, w, _ in lvars.windows.tolist():
            written = [names[j] for j in here if vid[j] == v and names[j] in OUTPUT_DIMS]
            if written and not any(vid[j] == w for j in here):
                out_name, base, window = written[0], lvars.names[v], lvars.names[w]
                out.append(
                    f"cluster level {i} maps {out_name} without a {window} directive in the "
                    f"same level; MAESTRO needs {window}'s tile size to convert {out_name} to {base}"
                )
    return out
