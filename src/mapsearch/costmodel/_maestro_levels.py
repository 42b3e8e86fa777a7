"""Cluster levels of a template, completed the way MAESTRO completes them.

``docs/maestro_model.md`` section 3: the directive list is cut at every ``Cluster`` into
levels with units as in every semantics (:func:`mapsearch.directives.nest.split_levels`,
:func:`~mapsearch.directives.nest.level_units`); each level is then (1) rewritten from output
space (``Y'``/``X'``) to input space by MAESTRO's rule, (2) given the directives of its parent
that it lacks (inherited as ``TemporalMap``, each one put at the front, so they end up in
reverse parent order), (3) completed with ``TemporalMap(D, D)`` for every still unmapped
input-tensor variable (alphabetical order), and (4) rewritten for the layer stride by
MAESTRO's rule (both rules: the ``maestro_*`` functions of the kernel). Sizes vary per
mapping, so every size here is an int64 array of shape ``(B,)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from mapsearch.costmodel.batch import MappingBatch
from mapsearch.directives import DirectiveKind
from mapsearch.directives.nest import (
    child_extent,
    level_units,
    maestro_output_to_input,
    maestro_stride,
    split_levels,
)
from mapsearch.errors import MappingError, UnsupportedError
from mapsearch.layers import OUTPUT_DIMS, Layer
from mapsearch.layers.layer import Op

IntArray = npt.NDArray[np.int64]

#: Window pairs: input dimension -> (filter dimension, output dimension).
WINDOW_OF: dict[str, tuple[str, str]] = {"Y": ("R", "Y'"), "X": ("S", "X'")}
TEMPORAL, SPATIAL = DirectiveKind.TEMPORAL, DirectiveKind.SPATIAL
#: One directive of a level: kind, variable, sizes and offsets of the batch.
Entry = tuple[DirectiveKind, str, IntArray, IntArray]


@dataclass(frozen=True, slots=True)
class TensorVars:
    """The coupled variables of each tensor, in MAESTRO's order (output Y/X mean Y'/X')."""

    inputs: tuple[tuple[str, tuple[str, ...]], ...]
    output: tuple[str, tuple[str, ...]]
    windows: bool

    @property
    def input_vars(self) -> tuple[str, ...]:
        """Every variable of an input tensor, sorted (MAESTRO's completion order)."""
        return tuple(sorted({v for _, vs in self.inputs for v in vs}))


def tensor_vars(layer: Layer) -> TensorVars:
    """Coupled variables per tensor for the layer's operator (section 2.1)."""
    if layer.op is Op.CONV:
        return TensorVars(
            inputs=(("input", ("N", "C", "Y", "X")), ("filter", ("K", "C", "R", "S"))),
            output=("output", ("N", "K", "Y", "X")),
            windows=True,
        )
    if layer.op is Op.DSCONV:
        return TensorVars(
            inputs=(("input", ("N", "C", "Y", "X")), ("filter", ("C", "R", "S"))),
            output=("output", ("N", "C", "Y", "X")),
            windows=True,
        )
    if layer.op is Op.GEMM:
        return TensorVars(
            inputs=(("input", ("M", "K")), ("filter", ("K", "N"))),
            output=("output", ("M", "N")),
            windows=False,
        )
    raise UnsupportedError(
        f"the maestro semantics models CONV, DSCONV and GEMM layers, not {layer.op.value} "
        f"(layer {layer.name!r}); use a CONV per group instead"
    )


@dataclass(frozen=True, slots=True)
class MaestroLevel:
    """One cluster level as MAESTRO completes it (inherited and completed directives, its
    output-space and stride rewrites): directive kinds/vars and per-mapping sizes and offsets.

    ``units`` is the number of sub-units P (clusters, or PEs at the innermost level);
    ``dims`` the level's static dimension sizes (the layer's at the top, the parent's
    mapped sizes below: section 3, step 5).
    """

    kinds: tuple[DirectiveKind, ...]
    vars: tuple[str, ...]
    size: tuple[IntArray, ...]
    offset: tuple[IntArray, ...]
    units: IntArray
    dims: dict[str, IntArray]

    def index(self, var: str) -> int:
        return self.vars.index(var)


def build_levels(
    layer: Layer, num_pes: int, batch: MappingBatch
) -> tuple[list[MaestroLevel], IntArray]:
    """Complete every level of ``batch`` (section 3); also return the usable PEs N_eff."""
    tv = tensor_vars(layer)
    t = batch.template
    B = len(batch)
    cut = split_levels(t.kinds)
    clusters = [batch.sizes[:, j].astype(np.int64) for j, _ in cut[1:] if j is not None]
    raw: list[list[Entry]] = [
        [
            (t.kinds[j], t.dims[j], batch.sizes[:, j].astype(np.int64), batch.offsets[:, j])
            for j in js
        ]
        for _, js in cut
    ]
    if len(clusters) > 3:
        raise UnsupportedError(
            f"MAESTRO supports at most 3 Cluster levels, the template has {len(clusters)}"
        )
    problems = [
        f"cluster level {i} has no SpatialMap (every level needs one to spread its units)"
        for i, lv in enumerate(raw)
        if not any(k is SPATIAL for k, *_ in lv)
    ]
    problems += [
        f"cluster level {i} has {n} SpatialMaps; MAESTRO handles at most two per level"
        for i, lv in enumerate(raw)
        if (n := sum(k is SPATIAL for k, *_ in lv)) > 2
    ]
    if problems:
        raise MappingError(problems)

    # Units per level: top = floor(N_PE / prod c_i), level i >= 1 = c_i (the implicit last
    # Cluster repeats c_m, or N_PE without any Cluster).
    units = list(level_units(np.full(B, num_pes, dtype=np.int64), clusters))
    n_eff = units[0]
    for c in clusters:
        n_eff = n_eff * c

    size_of = layer.sizes
    dims: dict[str, IntArray] = {v: np.full(B, size_of[v], dtype=np.int64) for v in tv.input_vars}
    levels: list[MaestroLevel] = []
    parent: MaestroLevel | None = None
    for i, lv in enumerate(raw):
        entries = _to_input_space(lv, i)
        have = {v for _, v, _, _ in entries}
        if parent is not None:
            for k in range(len(parent.vars)):
                v = parent.vars[k]
                if v not in have:
                    entries.insert(0, (TEMPORAL, v, parent.size[k], parent.offset[k]))
                    have.add(v)
        for v in tv.input_vars:
            if v not in have:
                entries.append((TEMPORAL, v, dims[v], dims[v]))
                have.add(v)
        extra = sorted(have - set(tv.input_vars))
        if extra:
            raise MappingError(
                [f"cluster level {i} maps {', '.join(extra)}, which {layer.op.value} layers lack"]
            )
        entries = [_apply_stride(e, layer, top=(i == 0)) if tv.windows else e for e in entries]
        level = MaestroLevel(
            kinds=tuple(e[0] for e in entries),
            vars=tuple(e[1] for e in entries),
            size=tuple(e[2] for e in entries),
            offset=tuple(e[3] for e in entries),
            units=units[i],
            dims=dims,
        )
        levels.append(level)
        dims = {v: child_extent(level.size[level.index(v)], dims[v]) for v in tv.input_vars}
        parent = level
    return levels, n_eff


def _to_input_space(entries: list[Entry], level: int) -> list[Entry]:
    """Section 3 step 1: ``Y'``(M, O) -> ``Y``(M + M_R - 1, O), likewise ``X'`` with S."""
    vars_ = [v for _, v, _, _ in entries]
    out = []
    for kind, v, m, o in entries:
        if v in OUTPUT_DIMS:
            base = OUTPUT_DIMS[v]
            window = WINDOW_OF[base][0]
            if base in vars_:
                raise MappingError([f"cluster level {level} maps both {base} and {v}; keep one"])
            if window not in vars_:
                raise MappingError(
                    [
                        f"cluster level {level} maps {v} without a {window} directive in the "
                        f"same level; MAESTRO needs {window}'s tile size to convert {v} to {base}"
                    ]
                )
            mr = next(mm for _, vv, mm, _ in entries if vv == window)
            out.append((kind, base, *maestro_output_to_input(m, o, mr)))
        else:
            out.append((kind, v, m, o))
    return out


def _apply_stride(entry: Entry, layer: Layer, *, top: bool) -> Entry:
    """Section 3 step 4: a window tile of k outputs spans k*min(s,R) + max(R-s,0) rows,
    offset k*s."""
    kind, v, m, o = entry
    if v not in WINDOW_OF:
        return entry
    r = layer.size(WINDOW_OF[v][0])
    return (kind, v, *maestro_stride(m, o, layer.stride_along(v), r, top=top))
