"""Cluster levels completed the way MAESTRO completes them, one mapping row at a time.

``docs/maestro_model.md`` section 3: the directive list is cut at every ``Cluster``; each
level is (1) rewritten from output space (``Y'``/``X'``) to input space, (2) given the
directives of its parent that it lacks (inherited as ``TemporalMap``, each one put at the
front, so they end up in reverse parent order), (3) completed with ``TemporalMap(D, D)`` for
every still unmapped input-tensor variable (alphabetical order), and (4) rewritten for the
layer stride.

Rows may differ in loop order, spatial dimensions, directive kinds and cluster sizes: the
template is data. :func:`complete_row` (compiled with numba) completes one row's levels into
small arrays in loop order; the case analysis (:mod:`._maestro_kernel`) calls it for every
row, so a batch of any size costs one compiled call and no per-level numpy work.
:class:`LayerConsts` is what it reads of the layer; :func:`row_problems` says, in words, why
a row it rejects cannot be read.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numba as nb
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

_jit = nb.njit(cache=True, error_model="numpy", nogil=True)


@dataclass(frozen=True, slots=True, kw_only=True)
class LayerConsts:
    """What :func:`complete_row` reads of a layer, as arrays.

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


@_jit
def maestro_output_to_input(size: int, offset: int, filter_size: int) -> tuple[int, int]:
    """MAESTRO's ``Y'(M, O) -> Y(M + M_R - 1, O)`` (section 3, step 1): stride is not
    applied here but by :func:`maestro_stride` afterwards."""
    return size + filter_size - 1, offset


@_jit
def maestro_stride(
    size: int, offset: int, stride: int, filter_size: int, top: bool
) -> tuple[int, int]:
    """MAESTRO's stride rewrite of a window directive (section 3, step 4): when ``M >= R``,
    a tile of ``k = floor((M + s - R) / s)`` outputs spans ``k * min(s, R) + max(R - s, 0)``
    rows and advances by ``k * s`` (``k * R`` below the top level when ``R < s``); ``R`` is
    the layer's full filter size."""
    if stride == 1 or size < filter_size:
        return size, offset
    k = (size + stride - filter_size) // stride
    new_offset = k * (filter_size if (not top and filter_size < stride) else stride)
    return k * min(stride, filter_size) + max(filter_size - stride, 0), new_offset


@_jit
def complete_row(
    kinds: CodeArray,
    dims: CodeArray,
    sizes: IntArray,
    offsets: IntArray,
    num_pes: int,
    codes: IntArray,
    layer_dims: IntArray,
    windows: IntArray,
    tvars: IntArray,
    tlen: IntArray,
    kind: IntArray,
    var: IntArray,
    size: IntArray,
    off: IntArray,
    sdims: IntArray,
    units: IntArray,
    col: IntArray,
    work: IntArray,
) -> tuple[int, bool, bool, int, int]:
    """Complete the levels of one mapping (``kinds``..``offsets``: its directives as codes,
    padded with ``NONE``; at most ``MAX_LEVELS`` levels) on a layer (:class:`LayerConsts`)
    into ``kind``/``var``/``size``/
    ``off`` (``(L, D)``: each level's directives in loop order, ``D`` = number of
    input-tensor variables, every level mapping them all), ``sdims`` (``(L, NV)``: each
    level's static dimensions by variable, section 3 step 5) and ``units`` (``(L,)``:
    ``floor(num_pes / prod c_i)`` clamped to >= 1, then ``c_1..c_m``). ``col`` (at least
    ``(MAX_LEVELS, D)``) and ``work`` (at least ``(12, D)``) are scratch.

    Returns ``(L, ok, too_few_pes, l1_words, busy_pes)``. ``ok`` is False when MAESTRO cannot
    read the mapping (:func:`row_problems` says why); nothing else is set then.
    ``l1_words`` is MAESTRO's L1 requirement (section 7: twice the innermost mapped tile of
    each tensor, the output in input space); ``busy_pes`` the most PEs that ever work at
    once, read as every semantics reads the mapping
    (:attr:`mapsearch.directives.nest.StepModel.busy_pes`), at least 1.
    """
    D = kind.shape[1]
    n = kinds.shape[0]
    # Cut at every Cluster: the column of each level's directive on each variable (-1:
    # none). A level needs one or two SpatialMaps, known variables, each mapped once.
    ok = True
    L = 1
    n_spatial = 0
    product = 1
    col[0, :] = -1
    for j in range(n):
        k = kinds[j]
        if k == CLUSTER:
            ok = ok and 1 <= n_spatial <= 2
            units[L] = sizes[j]
            product *= sizes[j]
            col[L, :] = -1
            L += 1
            n_spatial = 0
        elif k in (TEMPORAL, SPATIAL):
            if k == SPATIAL:
                n_spatial += 1
            v = codes[0, dims[j]] if dims[j] >= 0 else -1
            if v < 0 or col[L - 1, v] >= 0:
                ok = False
            else:
                col[L - 1, v] = j
    ok = ok and 1 <= n_spatial <= 2
    for i in range(L):  # Y' needs the level's R (X' its S) to be converted
        for w in range(windows.shape[0]):
            c = col[i, windows[w, 0]]
            if c >= 0 and codes[1, dims[c]] and col[i, windows[w, 1]] < 0:
                ok = False
    if not ok:
        return L, False, False, 0, 1
    top_units = num_pes // product
    units[0] = max(top_units, 1)

    kd, sz, of, rank, order = work[0], work[1], work[2], work[3], work[4]
    psize, poff, ppos, static = work[5], work[6], work[7], work[8]
    for v in range(D):
        static[v] = layer_dims[v]
        ppos[v] = 0
    for i in range(L):
        for v in range(D):
            c = col[i, v]
            if c >= 0:
                kd[v], sz[v], of[v], rank[v] = kinds[c], sizes[c], offsets[c], c
            elif i == 0:  # step 3: TemporalMap(D, D) after the directives, alphabetically
                kd[v], sz[v], of[v], rank[v] = TEMPORAL, static[v], static[v], n + v
            else:  # step 2: the parent's, in front, in reverse parent order
                kd[v], sz[v], of[v], rank[v] = TEMPORAL, psize[v], poff[v], -1 - ppos[v]
        for w in range(windows.shape[0]):
            v, stride, filter_size = windows[w, 0], windows[w, 3], windows[w, 4]
            c = col[i, v]
            if c >= 0 and codes[1, dims[c]]:  # step 1
                sz[v], of[v] = maestro_output_to_input(sz[v], of[v], sizes[col[i, windows[w, 1]]])
            sz[v], of[v] = maestro_stride(sz[v], of[v], stride, filter_size, i == 0)  # step 4
        for j in range(D):  # loop order: the variables by rank (insertion sort)
            x = order[j] = j
            p = j - 1
            while p >= 0 and rank[order[p]] > rank[x]:
                order[p + 1] = order[p]
                p -= 1
            order[p + 1] = x
        sdims[i, :] = 0
        for j in range(D):
            v = order[j]
            kind[i, j], var[i, j], size[i, j], off[i, j] = kd[v], v, sz[v], of[v]
            ppos[v] = j
        for v in range(D):
            sdims[i, v] = static[v]
            psize[v], poff[v] = sz[v], of[v]
            static[v] = min(sz[v], static[v])  # step 5
    l1 = 0
    for t in range(3):
        tile = 1
        for k in range(tlen[t]):
            tile *= psize[tvars[t, k]]
        l1 += 2 * tile
    return (
        L,
        True,
        top_units < 1,
        l1,
        _busy_pes(kinds, dims, sizes, offsets, L, codes, layer_dims, windows, units, col, work[9:]),
    )


@_jit
def _busy_pes(
    kinds: CodeArray,
    dims: CodeArray,
    sizes: IntArray,
    offsets: IntArray,
    L: int,
    codes: IntArray,
    layer_dims: IntArray,
    windows: IntArray,
    units: IntArray,
    col: IntArray,
    work: IntArray,
) -> int:
    """The most PEs that ever work at once (at least 1): per level, the units that get a
    slice of every SpatialMap of the level (``docs/semantics.md`` rules 1-4, the arithmetic
    of :mod:`mapsearch.directives.nest` on one row), multiplied over the levels. ``work``:
    three rows of scratch."""
    D = col.shape[1]
    extent, size, off = work[0], work[1], work[2]
    for v in range(D):
        extent[v] = layer_dims[v]
    busy = 1
    for i in range(L):
        for v in range(D):
            c = col[i, v]
            if c >= 0:
                size[v], off[v] = sizes[c], offsets[c]
        for w in range(windows.shape[0]):  # rule 2: Y'(M, O) read in input rows
            v, stride = windows[w, 0], windows[w, 3]
            c = col[i, v]
            if c >= 0 and codes[1, dims[c]]:
                cf = col[i, windows[w, 1]]
                f = sizes[cf] if cf >= 0 else windows[w, 4]
                size[v], off[v] = (size[v] - 1) * stride + f, off[v] * stride
        level = units[i]
        for v in range(D):
            c = col[i, v]
            if c >= 0 and kinds[c] == SPATIAL:  # slice_count
                level = min(level, max(-((size[v] - extent[v]) // max(off[v], 1)), 0) + 1)
        busy *= level
        for v in range(D):
            if col[i, v] >= 0:
                extent[v] = min(size[v], extent[v])  # child_extent
    return max(busy, 1)


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
