"""Mapping validation: is a mapping well formed for a layer and hardware, and legal?

A mapping is *legal* when it computes every MAC of the layer exactly once (DESIGN.md
section 4, rule 4). :func:`mapping_problems` collects every problem, each naming its
directive as ``directive <i> '<text>'`` (``i`` counts from 1 in written order);
:func:`check_mapping` raises them all at once as a :class:`~mapsearch.errors.MappingError`.

The rules, in the order they are checked:

*Each directive on its own*
  1. the dimension must belong to the layer's operator (``Y'``/``X'`` are allowed for
     convolution-like layers, not for GEMM);
  2. ``Sz(D)`` must name a dimension of the layer;
  3. size and offset must be >= 1; a ``Cluster`` size must be >= 1.

*Structure*
  4. the cluster sizes multiply to at most ``num_pes`` ("more clusters than PEs": MAESTRO
     crashes there); the ``Cluster`` at which the running product first exceeds the PEs is
     named;
  5. every level (the directives between two ``Cluster``) has a ``SpatialMap``, otherwise
     all of its units compute the same slices (MAESTRO rejects it as well);
  6. at most two ``SpatialMap`` per level (the second advances diagonally with the first);
  7. a dimension is mapped at most once per level (``Y'`` counts as ``Y``, ``X'`` as ``X``).

*Semantics* (checked only when rules 1-3, 6 and 7 hold, since they need resolved sizes).
Per level every dimension has a *nominal extent* E (the layer size at level 0, the
parent's tile below) and a *tile* (its directive's size, or E when the level does not map
it); ``Y'(M, O)`` is read as ``Y(M + t_R - 1, O)`` with ``t_R`` the level's R tile (the same
for ``X'`` with S), as MAESTRO does. A directive has ``n = 1`` slice when ``M >= E``, else
``ceil((E - M) / O) + 1``.

  8. below level 0 a tile may not be larger than the parent's tile (``M <= E``);
  9. a dimension that is not part of a sliding window (everything but Y, X, R, S) must be
     split into disjoint, gap-free slices: with ``n > 1``, ``O < M`` overlaps (the same
     values are computed twice) and ``O > M`` skips values, unless the real (clipped) parent
     slice is too small for the overlap or gap to show;
  10. "window tile smaller than the filter": in every level the Y tile (X tile) must be at
      least the R tile (S tile) of that level, else no output row fits in a tile;
  11. two SpatialMaps of one level advance together (unit ``p`` of fold ``f`` takes slice
      ``f*P + p`` of both); when their dimensions are not a window pair (Y with R, X with S)
      only matching slice pairs are computed, so it is illegal unless both have one slice
      (conservative: clipping can make such a mapping exact by accident);
  12. window pairs (Y with R, X with S) are checked by enumeration: the (input slice, filter
      slice) leaf tiles are built exactly as the step model does (slice ``j`` covers
      ``[start + j*O, start + j*O + M)`` clipped to the parent slice) and a tile computes
      output row ``y'`` with filter row ``r`` when ``r`` is in its R slice and
      ``y'*stride + r'`` is in its Y slice for every ``r'`` of its R slice. Every (``y'``,
      ``r``) of the layer must be computed exactly once. The problem names the Y (X)
      directive of the first level whose tiles taken as leaves already miss or repeat a
      MAC, or that level's R (S) directive when it maps only that or when the filter slices
      themselves overlap or skip rows. (Beyond 2**22 tiles the enumeration stops and only
      the levels enumerated so far are judged.)
      This accepts ``T(R,1) Y`` with ``T(R,R) R``, the row-stationary diagonal
      ``S(1,1) Y`` + ``S(1,1) R``, YX-P's ``T(8+S-1,8) X`` above ``S(S,1) X``, and strided
      layers mapped with offset 1 (the tiles that start between two strides compute nothing
      and are skipped). Tiles that overlap or leave gaps in the outputs are rejected.

Deliberately *not* kept from MAESTRO's parser: its demand that a ``TemporalMap`` on R/S
covers the whole filter (``T(R,R) R``). Partial filter tiles (``T(1,1) R`` with
``T(1,1) Y``) are meaningful in the exact model and legal by rule 12; nor is the stride
required to divide a window offset (rule 12 decides exactly-once directly). MAESTRO's limit
of three ``Cluster`` directives is a limit of its implementation, not of the model, and is
not enforced either.

Of the classic dataflows, YR-P_rs_vgg (MAESTRO's MICRO'19 row-stationary files) breaks
rules 10 and 11 on every layer with a filter wider than 1: its PEs pair one input column
with a whole filter row and advance X diagonally with R, so they compute no MAC. Those are
exactly the reference rows on which MAESTRO itself crashes (flag ``fpe_guard_build``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from mapsearch.directives.directive import (
    Cluster,
    Directive,
    MapDirective,
    Mapping,
    SpatialMap,
    Sz,
)
from mapsearch.errors import MappingError
from mapsearch.hardware import Hardware
from mapsearch.layers import OP_DIMS, WINDOWS, Layer, Op

#: Output-space dimension -> (input dimension, filter dimension).
OUTPUT_DIMS: dict[str, tuple[str, str]] = {"Y'": ("Y", "R"), "X'": ("X", "S")}

#: Upper bound on the (input slice, filter slice) tiles enumerated per window check.
_MAX_WINDOW_TILES = 1 << 22


@dataclass(frozen=True, slots=True, kw_only=True)
class Loop:
    """One map directive of a level, in input space (``Y'``/``X'`` converted to rows/columns).

    ``position`` is the directive's 0-based index in the mapping; ``extent`` is the nominal
    extent E of ``dim`` at this level (the parent's tile); ``slices`` is the loop's trip
    count ``n`` (DESIGN.md section 4, rule 2).
    """

    position: int
    directive: MapDirective
    dim: str
    size: int
    offset: int
    extent: int

    @property
    def spatial(self) -> bool:
        return isinstance(self.directive, SpatialMap)

    @property
    def slices(self) -> int:
        if self.size >= self.extent:
            return 1
        return -(-(self.extent - self.size) // self.offset) + 1


@dataclass(frozen=True, slots=True, kw_only=True)
class Level:
    """One cluster level: its map loops (outer first), nominal extents and tiles per dimension.

    ``cluster`` is the position of the ``Cluster`` directive that opens the level (``None``
    for level 0) and ``cluster_size`` its size (0 for level 0).
    """

    index: int
    cluster: int | None
    cluster_size: int
    loops: tuple[Loop, ...]
    extents: dict[str, int]
    tiles: dict[str, int]

    def loop_on(self, dim: str) -> Loop | None:
        return next((lp for lp in self.loops if lp.dim == dim), None)

    @property
    def spatial_loops(self) -> tuple[Loop, ...]:
        return tuple(lp for lp in self.loops if lp.spatial)


def label(position: int, directive: Directive) -> str:
    """How problems name a directive: ``directive 3 'TemporalMap(0,1) C'`` (1-based)."""
    return f"directive {position + 1} '{directive}'"


def known_dims(layer: Layer) -> tuple[str, ...]:
    """Dimensions a directive may map on ``layer`` (``Y'``/``X'`` only for conv-like ops)."""
    dims = OP_DIMS[layer.op]
    return dims if layer.op is Op.GEMM else (*dims, "Y'", "X'")


def _input_dim(dim: str) -> str:
    return OUTPUT_DIMS[dim][0] if dim in OUTPUT_DIMS else dim


def _resolve(value: object, layer: Layer, what: str, where: str, problems: list[str]) -> int:
    """A size as an int; records a problem and returns 0 when it cannot be resolved or is < 1."""
    if isinstance(value, Sz):
        if value.dim not in known_dims(layer):
            problems.append(
                f"{where}: {what} {value} names a dimension {layer.op.value} layers do not "
                f"have; use one of {', '.join(known_dims(layer))}"
            )
            return 0
        resolved = layer.size(value.dim)
    elif isinstance(value, int) and not isinstance(value, bool):
        resolved = value
    else:
        problems.append(f"{where}: {what} must be an int or Sz(D), got {value!r}")
        return 0
    if resolved < 1:
        problems.append(f"{where}: {what} must be >= 1, got {resolved}")
        return 0
    return resolved


def _directive_problems(
    mapping: Mapping, layer: Layer, problems: list[str]
) -> list[tuple[int, int]]:
    """Rules 1-3; returns the resolved (size, offset) of every directive (0 where invalid)."""
    dims = known_dims(layer)
    resolved: list[tuple[int, int]] = []
    for i, d in enumerate(mapping.directives):
        where = label(i, d)
        if isinstance(d, Cluster):
            resolved.append((_resolve(d.size, layer, "cluster size", where, problems), 0))
            continue
        if d.dim not in dims:
            extra = (
                " (Y'/X' exist only for convolution-like layers)" if d.dim in OUTPUT_DIMS else ""
            )
            problems.append(
                f"{where}: unknown dimension {d.dim!r} for a {layer.op.value} layer{extra}; "
                f"use one of {', '.join(dims)}"
            )
        size = _resolve(d.size, layer, "size", where, problems)
        offset = _resolve(d.offset, layer, "offset", where, problems)
        resolved.append((size, offset))
    return resolved


def _structure_problems(
    mapping: Mapping, resolved: list[tuple[int, int]], hardware: Hardware, problems: list[str]
) -> bool:
    """Rules 4-7; returns whether the level structure is sound enough for the semantic rules."""
    sound = True
    product = 1
    for i, d in enumerate(mapping.directives):
        if isinstance(d, Cluster) and resolved[i][0] >= 1:
            before, product = product, product * resolved[i][0]
            if product > hardware.num_pes >= before:
                problems.append(
                    f"{label(i, d)}: more clusters than PEs: the cluster sizes multiply to "
                    f"{product} > {hardware.num_pes} PEs of {hardware.name!r} (MAESTRO crashes "
                    f"there); use smaller clusters or more PEs"
                )
    # Split into levels, remembering the opening Cluster of each.
    levels: list[tuple[int | None, list[int]]] = [(None, [])]
    for i, d in enumerate(mapping.directives):
        if isinstance(d, Cluster):
            levels.append((i, []))
        else:
            levels[-1][1].append(i)
    for lvl, (opener, members) in enumerate(levels):
        if opener is None:
            span = f"{members[0] + 1}-{members[-1] + 1}" if members else "none"
            where = f"level 0 (directives {span})"
        else:
            where = f"level {lvl} ({label(opener, mapping.directives[opener])})"
        spatial = [i for i in members if isinstance(mapping.directives[i], SpatialMap)]
        if not spatial:
            problems.append(
                f"{where} has no SpatialMap: every unit would compute the same slices; "
                f"map one of its dimensions with a SpatialMap"
            )
        for i in spatial[2:]:
            sound = False
            problems.append(
                f"{label(i, mapping.directives[i])}: a level holds at most two SpatialMaps "
                f"(the second advances with the first); make it a TemporalMap or move it to "
                f"another level"
            )
        seen: dict[str, int] = {}
        for i in members:
            d = mapping.directives[i]
            assert not isinstance(d, Cluster)
            dim = _input_dim(d.dim)
            if dim in seen:
                sound = False
                first = seen[dim]
                problems.append(
                    f"{label(i, d)}: dimension {dim} is already mapped in this level by "
                    f"{label(first, mapping.directives[first])}; map each dimension once per "
                    f"level"
                )
            else:
                seen[dim] = i
    return sound


def _levels_from_resolved(
    mapping: Mapping, layer: Layer, resolved: list[tuple[int, int]]
) -> tuple[Level, ...]:
    groups: list[tuple[int | None, int, list[int]]] = [(None, 0, [])]
    for i, d in enumerate(mapping.directives):
        if isinstance(d, Cluster):
            groups.append((i, resolved[i][0], []))
        else:
            groups[-1][2].append(i)
    extents = dict(layer.dims)
    out: list[Level] = []
    for index, (opener, cluster_size, members) in enumerate(groups):
        directives = [(i, mapping.directives[i]) for i in members]
        tiles = dict(extents)
        # Input-space directives first: a Y'/X' directive needs the level's R/S tile.
        for i, d in directives:
            if not isinstance(d, Cluster) and d.dim not in OUTPUT_DIMS:
                tiles[d.dim] = resolved[i][0]
        loops: list[Loop] = []
        for i, d in directives:
            assert not isinstance(d, Cluster)
            size, offset = resolved[i]
            dim = _input_dim(d.dim)
            if d.dim in OUTPUT_DIMS:
                size += tiles[OUTPUT_DIMS[d.dim][1]] - 1
                tiles[dim] = size
            loops.append(
                Loop(
                    position=i, directive=d, dim=dim, size=size, offset=offset, extent=extents[dim]
                )
            )
        out.append(
            Level(
                index=index,
                cluster=opener,
                cluster_size=cluster_size,
                loops=tuple(loops),
                extents=extents,
                tiles=tiles,
            )
        )
        extents = dict(tiles)
    return tuple(out)


def mapping_levels(mapping: Mapping, layer: Layer) -> tuple[Level, ...]:
    """The mapping's cluster levels with resolved loops, nominal extents and tiles.

    Raises :class:`MappingError` when a directive cannot be resolved against ``layer``
    (rules 1-3) or a level maps a dimension twice (rule 7).
    """
    problems: list[str] = []
    resolved = _directive_problems(mapping, layer, problems)
    for lvl in mapping.levels():
        dims = [_input_dim(d.dim) for d in lvl]
        if len(set(dims)) != len(dims):
            problems.append(f"a level maps a dimension twice: {'; '.join(map(str, lvl))}")
    if problems:
        raise MappingError(problems, mapping_name=mapping.name)
    return _levels_from_resolved(mapping, layer, resolved)


def _window_groups(layer: Layer) -> tuple[tuple[str, str], ...]:
    return () if layer.op is Op.GEMM else WINDOWS


def _semantic_problems(mapping: Mapping, layer: Layer, levels: tuple[Level, ...]) -> list[str]:
    """Rules 8-12."""
    problems: list[str] = []
    windows = _window_groups(layer)
    window_dims = {d for pair in windows for d in pair}
    group_of = {d: pair for pair in windows for d in pair}
    actual = dict(layer.dims)  # largest real (clipped) slice of each dimension so far
    blocked: set[tuple[str, str]] = set()  # window pairs already reported at some level
    for level in levels:
        for lp in level.loops:
            where = label(lp.position, lp.directive)
            if level.index > 0 and lp.size > lp.extent:
                problems.append(
                    f"{where}: child tile larger than its parent's tile: {lp.size} > "
                    f"{lp.extent}, the {lp.dim} slice each unit of level {level.index} receives; "
                    f"use a size <= {lp.extent}"
                )
            if lp.dim not in window_dims and lp.slices > 1:
                big = actual[lp.dim]
                if lp.offset < lp.size and lp.offset < big:
                    problems.append(
                        f"{where}: offset {lp.offset} < size {lp.size}: consecutive {lp.dim} "
                        f"slices overlap, so MACs are computed more than once; use offset == "
                        f"size ({lp.size})"
                    )
                elif lp.offset > lp.size and lp.size < big:
                    problems.append(
                        f"{where}: offset {lp.offset} > size {lp.size}: {lp.dim} slices skip "
                        f"values, so MACs are never computed; use offset == size ({lp.size})"
                    )
        for lp in level.loops:
            actual[lp.dim] = min(actual[lp.dim], lp.size)
        for wdim, fdim in windows:
            if level.tiles[wdim] < level.tiles[fdim]:
                culprit = level.loop_on(wdim) or level.loop_on(fdim)
                if culprit is None or (wdim, fdim) in blocked:
                    continue
                blocked.add((wdim, fdim))
                problems.append(
                    f"{label(culprit.position, culprit.directive)}: window tile smaller than "
                    f"the filter: the {wdim} tile ({level.tiles[wdim]}) is smaller than the "
                    f"{fdim} tile ({level.tiles[fdim]}) of level {level.index}, so no output "
                    f"fits in it; give {wdim} a size >= {level.tiles[fdim]} or {fdim} a smaller "
                    f"tile"
                )
        spatial = level.spatial_loops
        if len(spatial) == 2:
            first, second = spatial
            pair = group_of.get(first.dim)
            same_window = pair is not None and second.dim in pair
            if not same_window and max(first.slices, second.slices) > 1:
                for dim in (first.dim, second.dim):
                    if dim in group_of:
                        blocked.add(group_of[dim])
                problems.append(
                    f"{label(second.position, second.directive)}: advances together with "
                    f"{label(first.position, first.directive)} (unit p takes slice p of both), "
                    f"but {first.dim} and {second.dim} are not a window pair, so only matching "
                    f"slice pairs are computed and MACs are skipped; make it a TemporalMap"
                )
    for pair in windows:
        if pair not in blocked:
            problem = _window_coverage_problem(layer, levels, pair)
            if problem:
                problems.append(problem)
    return problems


def _window_coverage_problem(
    layer: Layer, levels: tuple[Level, ...], pair: tuple[str, str]
) -> str | None:
    """Rule 12 for one window pair: do the leaf tiles compute every (y', r) exactly once?

    The problem names the first level whose tiles, taken as leaves, already miss or repeat a
    MAC (a deeper level with partial filter tiles may still repair that, so only the leaf
    verdict counts), or else the deepest level that maps the pair.
    """
    wdim, fdim = pair
    stride = layer.stride_y if wdim == "Y" else layer.stride_x
    size_w, size_f = layer.size(wdim), layer.size(fdim)
    n_out = (size_w - size_f) // stride + 1
    one = np.zeros(1, dtype=np.int64)
    w_lo, w_hi, f_lo, f_hi = one, one + size_w, one.copy(), one + size_f
    first_bad: tuple[Level, Loop, npt.NDArray[np.int64]] | None = None
    last: tuple[Level, Loop, npt.NDArray[np.int64]] | None = None
    for level in levels:
        lw, lf = level.loop_on(wdim), level.loop_on(fdim)
        culprit = lw or lf
        if culprit is None:
            continue
        nw = lw.slices if lw else 1
        nf = lf.slices if lf else 1
        if lw is not None and lf is not None and lw.spatial and lf.spatial:
            jw = jf = np.arange(max(nw, nf), dtype=np.int64)  # diagonal: one index for both
        else:
            jw, jf = (a.ravel() for a in np.meshgrid(np.arange(nw), np.arange(nf), indexing="ij"))
        if w_lo.size * jw.size > _MAX_WINDOW_TILES:
            # Too many tiles to enumerate: judge by the levels seen so far.
            last = first_bad
            break
        w_lo, w_hi = _split(w_lo, w_hi, lw, jw, nw)
        f_lo, f_hi = _split(f_lo, f_hi, lf, jf, nf)
        counts = _window_counts(w_lo, w_hi, f_lo, f_hi, stride, n_out, size_f)
        last = (level, culprit, counts)
        if first_bad is None and (counts != 1).any():
            first_bad = last
    if last is None or first_bad is None or (last[2] == 1).all():
        return None
    level, culprit, _ = first_bad
    lf = level.loop_on(fdim)
    if lf is not None and lf.slices > 1 and lf.offset != lf.size:
        culprit = lf  # the filter slices themselves overlap or skip rows
    leaf_counts = last[2]
    y, r = (int(v) for v in np.argwhere(leaf_counts != 1)[0])
    times = int(leaf_counts[y, r])
    out = "row" if wdim == "Y" else "column"
    what = (
        f"is computed {times} times: tiles overlap"
        if times > 1
        else "is never computed: tiles leave a gap"
    )
    hint = ""
    lw = level.loop_on(wdim)
    if lw is not None and culprit is lw:
        t_f = level.tiles[fdim]
        k = (lw.size - t_f) // stride + 1
        hint = (
            f"; a {wdim} tile of {lw.size} with a {fdim} tile of {t_f} holds {k} output "
            f"{out}(s) at stride {stride}, so use offset {k * stride}"
        )
    return (
        f"{label(culprit.position, culprit.directive)}: output {out} {y} with filter "
        f"{out} {r} {what} (level {level.index}){hint}"
    )


def _split(
    lo: npt.NDArray[np.int64],
    hi: npt.NDArray[np.int64],
    loop: Loop | None,
    j: npt.NDArray[np.int64],
    n: int,
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Child slices ``j`` of every parent slice ``[lo, hi)``: flattened (parent, j) order."""
    if loop is None:
        return np.repeat(lo, j.size), np.repeat(hi, j.size)
    start = lo[:, None] + j[None, :] * loop.offset
    end = np.minimum(start + loop.size, hi[:, None])
    end = np.where(j[None, :] < n, end, start)  # a diagonal partner without a slice: empty
    return start.ravel(), np.maximum(end, start).ravel()


def _window_counts(
    w_lo: npt.NDArray[np.int64],
    w_hi: npt.NDArray[np.int64],
    f_lo: npt.NDArray[np.int64],
    f_hi: npt.NDArray[np.int64],
    stride: int,
    n_out: int,
    size_f: int,
) -> npt.NDArray[np.int64]:
    """How often each (output row, filter row) is computed by the tiles (DESIGN.md rule 3).

    A tile with input rows ``[a, b)`` and filter rows ``[c, d)`` computes output ``y`` with
    every filter row of ``[c, d)`` when ``a <= y*stride + c`` and ``y*stride + d - 1 < b``.
    """
    y_lo = np.maximum(-((f_lo - w_lo) // stride), 0)
    y_hi = np.minimum((w_hi - f_hi) // stride, n_out - 1)
    ok = (y_lo <= y_hi) & (f_hi > f_lo)
    grid = np.zeros((n_out + 1, size_f + 1), dtype=np.int64)
    y_lo, y_hi, f_lo, f_hi = y_lo[ok], y_hi[ok] + 1, f_lo[ok], f_hi[ok]
    np.add.at(grid, (y_lo, f_lo), 1)
    np.add.at(grid, (y_lo, f_hi), -1)
    np.add.at(grid, (y_hi, f_lo), -1)
    np.add.at(grid, (y_hi, f_hi), 1)
    return np.cumsum(np.cumsum(grid, axis=0), axis=1)[:n_out, :size_f]


def mapping_problems(mapping: Mapping, layer: Layer, hardware: Hardware) -> list[str]:
    """Every problem of ``mapping`` on ``layer`` and ``hardware`` (empty when legal)."""
    problems: list[str] = []
    resolved = _directive_problems(mapping, layer, problems)
    resolvable = not problems
    sound = _structure_problems(mapping, resolved, hardware, problems)
    if resolvable and sound:
        levels = _levels_from_resolved(mapping, layer, resolved)
        problems += _semantic_problems(mapping, layer, levels)
    return problems


def check_mapping(mapping: Mapping, layer: Layer, hardware: Hardware) -> None:
    """Raise :class:`MappingError` listing every problem when ``mapping`` is not legal."""
    problems = mapping_problems(mapping, layer, hardware)
    if problems:
        raise MappingError(problems, mapping_name=mapping.name)
