"""Cluster levels completed the way MAESTRO completes them, for rows of mixed templates.

``docs/maestro_model.md`` sections 6.1-6.2: the directive list is cut at every ``Cluster``;
each level is (1) rewritten from output space (``Y'``/``X'``) to input space, (2) given the
directives of its parent that it lacks (inherited as ``TemporalMap``, each one put at the
front, so they end up in reverse parent order), (3) completed with ``TemporalMap(D, D)`` for
every still unmapped input-tensor variable (alphabetical order), and (4) rewritten for the
layer stride.

Rows may differ in loop order, spatial dimensions, directive kinds and cluster sizes: the
template is data. Every level is held per *variable* (kind, size, offset and a loop rank),
so inheriting and completing are array operations on ranks; sorting the ranks gives each
row's loop order, which the compiled case analysis (:mod:`._maestro_kernel`) reads.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from mapsearch.costmodel.batch import DIM_NAMES, KIND_CODES
from mapsearch.directives import DirectiveKind
from mapsearch.directives.nest import (
    child_extent,
    level_units,
    maestro_output_to_input,
    maestro_stride,
    output_to_input,
    slice_count,
)
from mapsearch.errors import UnsupportedError
from mapsearch.layers import OUTPUT_DIMS, Layer
from mapsearch.layers.layer import Op

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

#: Window pairs: input dimension -> (filter dimension, output dimension).
WINDOW_OF: dict[str, tuple[str, str]] = {"Y": ("R", "Y'"), "X": ("S", "X'")}
#: MAESTRO supports at most this many Cluster directives (four NoCs).
MAX_CLUSTERS = 3


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
class Levels:
    """The completed levels of ``B`` mappings with ``L`` levels each (section 6.2).

    ``kind``/``var``/``size``/``offset`` have shape ``(B, L, D)``: level ``i``'s directives
    in loop order (``D`` = number of input-tensor variables; every level maps them all).
    ``units`` ``(B, L)``: sub-units per level (the top clamped to >= 1, ``too_few_pes`` where
    it was 0). ``dims`` ``(B, L, NV)``: each level's static dimensions by variable id.
    ``l1_words`` is MAESTRO's L1 requirement (section 6.6, from the innermost level);
    ``busy_pes`` the most PEs that ever work at once, read as every semantics reads the
    mapping (:attr:`mapsearch.directives.nest.StepModel.busy_pes`), at least 1.
    ``problems[b]``: why row ``b`` cannot be analysed (only rows that cannot).
    """

    kind: IntArray
    var: IntArray
    size: IntArray
    offset: IntArray
    units: IntArray
    dims: IntArray
    too_few_pes: BoolArray
    l1_words: IntArray
    busy_pes: IntArray
    problems: dict[int, list[str]]


def build_levels(
    layer: Layer,
    num_pes: int,
    kinds: npt.NDArray[np.int8],
    dims: npt.NDArray[np.int8],
    sizes: IntArray,
    offsets: IntArray,
) -> Levels:
    """Complete every level of rows that share their number of levels (section 6.2).

    ``kinds``/``dims``/``sizes``/``offsets``: shape ``(B, n)``, the directives of each row
    as codes (``TEMPORAL``..``CLUSTER``, indices into ``DIM_NAMES``), padded with ``NONE``.
    """
    lvars = layer_vars(layer.op)
    B, n = kinds.shape
    D = lvars.n_input_vars
    is_cluster = kinds == CLUSTER
    n_clusters = is_cluster.sum(axis=1)
    L = int(n_clusters[0]) + 1 if B else 1
    if B and (n_clusters != L - 1).any():
        raise ValueError("build_levels needs rows with the same number of Cluster directives")
    if L - 1 > MAX_CLUSTERS:
        raise UnsupportedError(
            f"MAESTRO supports at most {MAX_CLUSTERS} Cluster levels, the template has {L - 1}"
        )
    codes = _codes(layer.op)
    vid = codes.var[dims]  # every directive's variable id (Y' -> Y); -1: none
    level_of = np.cumsum(is_cluster, axis=1)
    is_map = (kinds == TEMPORAL) | (kinds == SPATIAL)
    known = is_map & (vid >= 0)
    # the column of every (row, level, variable), its first occurrence, and how many there are
    key = (np.arange(B)[:, None] * L + level_of) * D + vid
    flat, cols = key[known], np.broadcast_to(np.arange(n), (B, n))[known]
    count = np.bincount(flat, minlength=B * L * D).reshape(B, L, D)
    col_of = np.zeros(B * L * D, np.int64)
    col_of[flat[::-1]] = cols[::-1]
    col_of = col_of.reshape(B, L, D)
    present = count > 0
    n_spatial = np.bincount(
        (np.arange(B)[:, None] * L + level_of)[kinds == SPATIAL], minlength=B * L
    ).reshape(B, L)
    unknown = np.zeros((B, L), bool)
    np.logical_or.at(
        unknown, (np.nonzero(is_map & (vid < 0))[0], level_of[is_map & (vid < 0)]), True
    )

    # units per level: top = floor(N_PE / prod c_i), level i >= 1 = c_i (section 6.1)
    clusters = sizes[is_cluster].reshape(B, L - 1)
    top_units, *inner = level_units(np.full(B, num_pes, dtype=np.int64), list(clusters.T))
    units = np.stack([np.maximum(top_units, 1), *inner], axis=1)

    shape = (B, L, D)
    lv_kind, lv_var = np.empty(shape, np.int64), np.empty(shape, np.int64)
    lv_size, lv_off = np.empty(shape, np.int64), np.empty(shape, np.int64)
    lv_dims = np.zeros((B, L, len(lvars.names)), np.int64)
    static = np.broadcast_to(np.array([layer.size(v) for v in lvars.names[:D]]), (B, D))
    parent_size = parent_off = parent_pos = np.zeros((B, D), np.int64)
    no_window = np.zeros((B, L), bool)
    rows = np.arange(B)[:, None]  # a[rows, col]: column col[b, j] of row b
    for i in range(L):
        col = col_of[:, i]
        missing = ~present[:, i]
        kind = np.where(missing, TEMPORAL, kinds[rows, col])
        size = sizes[rows, col]
        off = offsets[rows, col]
        converted = present[:, i] & codes.out_space[dims][rows, col]
        for v, w in lvars.windows[:, :2].tolist():  # step 1: Y'(M, O) -> Y(M + M_R - 1, O)
            conv = converted[:, v]
            if conv.any():
                no_window[:, i] |= conv & missing[:, w]
                size[:, v] = np.where(
                    conv, maestro_output_to_input(size[:, v], off[:, v], size[:, w])[0], size[:, v]
                )
        # step 2: inherit the parent's directives in front, in reverse parent order;
        # step 3 (top level): complete with TemporalMap(D, D), alphabetically, at the end
        if i == 0:
            fill_size, fill_off, fill_rank = static, static, n + np.arange(D)
        else:
            fill_size, fill_off, fill_rank = parent_size, parent_off, -1 - parent_pos
        size = np.where(missing, fill_size, size)
        off = np.where(missing, fill_off, off)
        rank = np.where(missing, fill_rank, col)
        for v, w in lvars.windows[:, :2].tolist():  # step 4
            size[:, v], off[:, v] = maestro_stride(
                size[:, v],
                off[:, v],
                layer.stride_along(lvars.names[v]),
                layer.size(lvars.names[w]),
                top=i == 0,
            )
        order = np.argsort(rank, axis=1, kind="stable")
        lv_var[:, i] = order
        lv_kind[:, i] = kind[rows, order]
        lv_size[:, i] = size[rows, order]
        lv_off[:, i] = off[rows, order]
        lv_dims[:, i, :D] = static
        parent_pos = np.argsort(order, axis=1)
        parent_size, parent_off = size, off
        static = np.minimum(size, static)  # section 6.2(5)
    l1 = np.zeros(B, np.int64)
    for t in range(3):  # section 6.6: twice the innermost mapped tile (output in input space)
        l1 += 2 * np.prod(parent_size[:, lvars.tensor_vars[t, : lvars.tensor_len[t]]], axis=1)
    bad = (n_spatial == 0) | (n_spatial > 2) | unknown | no_window | (count > 1).any(axis=2)
    problems = {
        int(b): _problems(layer, lvars, kinds[b], dims[b], level_of[b], vid[b], n_spatial[b])
        for b in np.flatnonzero(bad.any(axis=1))
    }
    return Levels(
        kind=lv_kind,
        var=lv_var,
        size=lv_size,
        offset=lv_off,
        units=units,
        dims=lv_dims,
        too_few_pes=top_units < 1,
        l1_words=l1,
        busy_pes=_busy_pes(layer, units, kinds, dims, sizes, offsets, col_of, present),
        problems=problems,
    )


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


def _busy_pes(
    layer: Layer,
    units: IntArray,
    kinds: npt.NDArray[np.int8],
    dims: npt.NDArray[np.int8],
    sizes: IntArray,
    offsets: IntArray,
    col_of: IntArray,
    present: BoolArray,
) -> IntArray:
    """The most PEs that ever work at once (at least 1): per level, the units that get a
    slice of every SpatialMap of the level (``docs/semantics.md`` rules 1-4, by the
    kernel's arithmetic), multiplied over the levels."""
    lvars = layer_vars(layer.op)
    B, L, D = col_of.shape
    out_space = _codes(layer.op).out_space[dims]
    filters = {int(v): int(w) for v, w, _ in lvars.windows}
    extent = np.broadcast_to(np.array([layer.size(v) for v in lvars.names[:D]]), (B, D))
    busy = np.ones(B, np.int64)
    rows = np.arange(B)[:, None]
    for i in range(L):
        col = col_of[:, i]
        here = present[:, i]
        size = sizes[rows, col]
        off = offsets[rows, col]
        spatial = here & (kinds[rows, col] == SPATIAL)
        written_out = here & out_space[rows, col]
        for v, w in filters.items():  # rule 2: Y'(M, O) read in input rows
            conv = written_out[:, v]
            if conv.any():
                f = np.where(here[:, w], size[:, w], layer.size(lvars.names[w]))
                s_in, o_in = output_to_input(
                    size[:, v], off[:, v], layer.stride_along(lvars.names[v]), f
                )
                size[:, v] = np.where(conv, s_in, size[:, v])
                off[:, v] = np.where(conv, o_in, off[:, v])
        slices = slice_count(size, np.maximum(off, 1), extent)
        level_busy = np.min(np.where(spatial, slices, units[:, i : i + 1]), axis=1)
        busy *= np.minimum(level_busy, units[:, i])
        extent = np.where(here, child_extent(size, extent), extent)
    return np.maximum(busy, 1)
