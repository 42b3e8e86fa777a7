"""The ``exact`` counts, factored over independent dimension groups.

Why it factors (``docs/semantics.md`` section 3 gives the argument): a PE's tile is a
product over *dimension groups* (every dimension alone, except the window pairs Y/R and X/S,
which form one group), each group's slice depends only on that group's loops and on the PE's
unit index at the levels that spatially map it, and a PE is active iff every group is. So the
executed steps are a product of per-group executable tuples, and every per-step count is a
product of per-group factors (multicast unions included: for sets that are products,
``|U_p (A_p \\ H_p)| = prod_g |U a_g| - prod_g |G_g|`` with ``G_g`` the elements every holder
keeps). The steps where loop ``l`` is the innermost to change are the product over groups of
the group tuples consistent with that change; counts are sums over groups' few distinct
factor rows; runtime enumerates the joint distinct rows only (a ``max`` forces it).

The per-group factors are found by walking each group's own loop tuples and units (the
product of that group's trip counts times its units), never the global step space, and
counting intervals, never elements. A group also reports what would couple it to others
(a unit that resumes after idling while another group's loop ran, an output handed between
units without being written); :mod:`mapsearch.costmodel._exact_joint` walks coupled groups
together.
"""

from __future__ import annotations

import functools
import itertools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from itertools import pairwise
from typing import cast

import numpy as np
import numpy.typing as npt

from mapsearch.costmodel import _exact_timing as timing
from mapsearch.directives import DirectiveKind
from mapsearch.directives.nest import DimMap, StepModel, unfold_template
from mapsearch.hardware import Hardware
from mapsearch.layers import Layer

IntArray = npt.NDArray[np.int64]
Tuple = tuple[int, ...]
ROLES = ("input", "filter", "output")

# Factor columns of a group row (multiplied across groups for one joint step).
_COLS: tuple[str, ...] = ("A", "macsum", "macmax", "Ui", "Gi", "Ni", "Ii", "Uf", "Gf", "Nf", "If")
_COLS += ("Uo", "Go", "Uh", "Gh", "FV")
_C = {c: k for k, c in enumerate(_COLS)}
#: Columns the runtime needs jointly (the rest are summed as products of group sums).
_JOINT = ("macmax", "Ui", "Gi", "Uf", "Gf", "Uo", "Go", "Uh", "Gh", "FV")


def _group_of(layer: Layer) -> dict[str, str]:
    """Dimension -> its group's name: a filter dimension joins the input dimension it
    windows (read-only: shared by every layer of the operator)."""
    return _groups_of(layer.windows, layer.dim_names)


@functools.cache
def _groups_of(windows: tuple[tuple[str, str], ...], dims: tuple[str, ...]) -> dict[str, str]:
    pairs = {win: inp for inp, win in windows}
    return {d: pairs.get(d, d) for d in dims}


Directive = tuple[int, int, int, int, int, int, int]


def _directives(model: StepModel, dims: list[str], levels: Sequence[int]) -> list[Directive]:
    """(dimension index, loop, units if spatial else 0, coordinate position, offset, size,
    slices) of every directive of ``model`` on ``dims``, outer first; ``levels`` are those
    whose unit index is a coordinate of the group.

    The walks narrow a slice directive by directive: at tuple ``t`` and coordinate ``c`` a
    directive takes slice ``j = t[loop] * units + c[position]`` (``t[loop]`` if temporal),
    none past ``slices``; the slice starts ``j * offset`` after the enclosing one's start and
    is ``size`` long, clipped to the enclosing slice (empty: the unit idles)."""
    cpos = {lv: n for n, lv in enumerate(levels)}
    return [
        (
            dims.index(d.dim),
            d.loop,
            model.units[i] if d.kind is DirectiveKind.SPATIAL else 0,
            cpos.get(i, -1),
            d.offset,
            d.size,
            d.slices,
        )
        for i, level in enumerate(model.levels)
        for d in level
        if d.dim in dims
    ]


def _staggered(act: npt.NDArray[np.bool_], lo: IntArray, hi: IntArray) -> bool:
    """Whether some output element is computed by different units at different tuples
    (``act``: the active (tuple, coordinate) pairs; ``lo``/``hi``: their output intervals).

    Then a unit can take up a partial sum another unit still holds, never written (a
    window split over units and steps); whether it was written depends on everything
    that ran in between, so the group cannot be counted alone. Otherwise (the coordinates
    that ever compute an element all compute it at exactly the same tuples) the element
    moves between units only through L2. Counted on the cells cut by the intervals' edges:
    per cell, the (tuple, coordinate) pairs covering it must be every pair of a covering
    tuple and a covering coordinate.
    """
    tuples, coords = np.nonzero(act)
    olo, ohi = lo[tuples, coords], hi[tuples, coords]
    cells = np.unique(np.concatenate([olo, ohi]))[:-1]  # each cell by its first element
    covered = (olo[:, None] <= cells) & (cells < ohi[:, None])  # (pairs, cells)

    def covering(owner: IntArray) -> IntArray:
        """Per cell, how many distinct owners (tuples or coordinates) have a pair on it."""
        by_owner = np.zeros((int(owner.max()) + 1, cells.size), dtype=bool)
        np.logical_or.at(by_owner, owner, covered)
        return by_owner.sum(axis=0)

    return bool((covered.sum(axis=0) != covering(tuples) * covering(coords)).any())


def noc_delay_cycles(words: IntArray, hardware: Hardware) -> IntArray:
    """``docs/semantics.md`` rule 12: 0 for no words, else ``latency + ceil(words / bw) - 1``."""
    return timing.noc_delay_cycles(
        words, hardware.noc_latency_cycles, hardware.noc_bw_words_per_cycle
    )


# --- template level -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class GroupSpec:
    """A group of a template: its directive columns, the levels it spreads over, and the
    base groups (one dimension group, or ``@i``: the units of a level without SpatialMap)
    walked together in it; its name joins theirs with ``+``."""

    name: str
    columns: tuple[int, ...]  # template positions of the group's map directives
    levels: tuple[int, ...]  # levels whose units index the group (first SpatialMap in it)
    members: tuple[str, ...]


def template_groups(
    layer: Layer,
    kinds: tuple[DirectiveKind, ...],
    dims: tuple[str, ...],
    merged: tuple[frozenset[str], ...] = (),
) -> list[GroupSpec]:
    """The groups of a template: the base groups, those of one level's two SpatialMaps
    joined (both advance with one unit index), and each set of ``merged`` joined."""
    group_of = _group_of(layer)
    level_of, lv = [], 0
    for k in kinds:
        lv += k is DirectiveKind.CLUSTER
        level_of.append(lv)
    n_levels = lv + 1
    # per directive its base group ("" for a Cluster), and per base group its columns
    gnames = [group_of.get(d.rstrip("'"), d) for d in dims]
    columns: dict[str, list[int]] = {}
    spatial: list[list[str]] = [[] for _ in range(n_levels)]
    for j, (k, g, lvl) in enumerate(zip(kinds, gnames, level_of, strict=True)):
        if k is not DirectiveKind.CLUSTER:
            columns.setdefault(g, []).append(j)
        if k is DirectiveKind.SPATIAL:
            spatial[lvl].append(g)
    names = list(dict.fromkeys(group_of[d] for d in layer.dim_names))
    names += [f"@{i}" for i in range(n_levels) if not spatial[i]]
    rank = {n: k for k, n in enumerate(names)}
    root = {n: n for n in names}

    def find(n: str) -> str:
        while root[n] != n:
            n = root[n]
        return n

    for together in [set(gs) for gs in spatial if len(set(gs)) > 1] + [set(m) for m in merged]:
        first, *rest = sorted(together, key=rank.__getitem__)
        for n in rest:
            root[find(n)] = find(first)
    heads = [find(n) for n in names]
    out: list[GroupSpec] = []
    for head in dict.fromkeys(heads):
        members = tuple(n for n, h in zip(names, heads, strict=True) if h == head)
        inside = set(members)
        out.append(
            GroupSpec(
                name="+".join(members),
                columns=tuple(sorted(j for m in members for j in columns.get(m, ()))),
                levels=tuple(
                    i for i, gs in enumerate(spatial) if (gs[0] if gs else f"@{i}") in inside
                ),
                members=members,
            )
        )
    return out


def template_loop_groups(
    layer: Layer,
    kinds: tuple[DirectiveKind, ...],
    dims: tuple[str, ...],
    specs: Sequence[GroupSpec],
) -> tuple[str, ...]:
    """The group of every loop of the template's flattened nest, outer first (a TemporalMap
    and a level's first SpatialMap each make one loop, as in :mod:`mapsearch.directives.nest`)."""
    group_of = _group_of(layer)
    spec_of = {m: spec.name for spec in specs for m in spec.members}
    out: list[str] = []
    spatial = 0
    for k, d in zip(kinds, dims, strict=True):
        if k is DirectiveKind.CLUSTER:
            spatial = 0
        elif k is DirectiveKind.TEMPORAL or spatial == 0:
            out.append(spec_of[group_of.get(d.rstrip("'"), d)])
        spatial += k is DirectiveKind.SPATIAL
    return tuple(out)


def group_model(
    layer: Layer,
    units: tuple[int, ...],
    levels: Sequence[Sequence[tuple[DirectiveKind, str, int, int]]],
) -> StepModel:
    """The kernel's unfolding of one group's directives only: (kind, dim, size, offset) per
    level, on ``units`` per level.

    A group's slices depend only on its own directives and units, so its core needs nothing
    else; building the model from integers skips ``Mapping`` objects and the validation,
    which the caller does once per template. Loops are numbered among the group's own.
    """
    kinds: list[DirectiveKind] = []
    dims: list[str] = []
    sizes: list[int] = []
    offsets: list[int] = []
    for i, raw in enumerate(levels):
        if i:
            kinds.append(DirectiveKind.CLUSTER)
            dims.append("")
            sizes.append(units[i])
            offsets.append(0)
        for kind, dim, size, offset in raw:
            kinds.append(kind)
            dims.append(dim)
            sizes.append(size)
            offsets.append(offset)
    return unfold_template(layer, kinds, dims, sizes, offsets, units)


def _group_dims(layer: Layer, name: str) -> tuple[str, ...]:
    group_of = _group_of(layer)
    return tuple(d for d in layer.dim_names if group_of[d] == name)


# --- one group ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class GroupSummary:
    """Everything the combination needs from one group.

    Per step class ``k`` (0: the first step; ``l + 1``: loop ``l`` innermost to change):
    ``sums[k]`` the column sums of the group's factor rows, ``nrows[k]`` their number,
    ``jlens[k]`` the number of their distinct runtime columns; ``joint``/``jcount`` those
    distinct columns of every class end to end (class 0 first) with multiplicities.
    Per role (input, filter, output): ``fill`` the union of all tiles, ``tile_max`` the
    largest tile (1 where the group does not index the role); ``drain`` the union of the
    output tiles held at the end. ``trips``, ``parted`` and ``staggered``: the core's (see
    :class:`_Core`), which tell whether the group must be walked with others.
    """

    exec_tuples: int = 0
    sums: IntArray = field(default_factory=lambda: np.zeros((0, len(_COLS)), dtype=np.int64))
    nrows: IntArray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    jlens: IntArray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    joint: IntArray = field(default_factory=lambda: np.zeros((0, len(_JOINT)), dtype=np.int64))
    jcount: IntArray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    fill: tuple[int, int, int] = (1, 1, 1)
    tile_max: tuple[int, int, int] = (1, 1, 1)
    drain: int = 1
    trips: tuple[int, ...] = ()
    parted: tuple[tuple[int, int], ...] = ()
    staggered: bool = False


Rows = tuple[IntArray, int, IntArray, IntArray]


@dataclass(frozen=True, slots=True, kw_only=True)
class _Core:
    """What one group contributes whatever the rest of the template: the factor rows of
    every part it can play in a step class (``("first", 0)``, ``("self", 0)``,
    ``("loop", k)``, ``("inner", k)``: sums, row count, distinct runtime rows, counts), and
    its fills, largest tiles and drain (see :class:`GroupSummary`).

    The rows of a part: ``"self"`` (all the group's loops are outside the changing loop:
    nothing moves) has one row per executable tuple; ``"inner"`` (the group's loops from
    position ``k`` on are inside it and reset) one per first tuple of each prefix, every
    unit holding the tile of its last active tuple under that prefix; ``"loop"`` (the
    changing loop is the group's ``k``-th) one per first executable tuple of each (outer
    prefix, index of loop ``k``) after the first index, every unit holding the tile of its
    own last active tuple: the previous index, or for a unit that idled there (*late*) an
    earlier tuple or nothing.

    ``trips`` are its loops' trip counts; ``parted`` the (loop, parting position) pairs for
    loops where a unit resumes late: its held tile is the PE's only if no other group's loop
    sits between where the two tuples part and the loop, so the caller merges the groups in
    between (:mod:`mapsearch.costmodel._exact_joint`); the position is the outermost such
    parting (-1: a unit that never worked before). ``staggered`` says whether an output can
    pass between its units unwritten (:func:`_staggered`). Positions are the group's own
    loop indices.
    """

    exec_tuples: int = 0
    stacked: CoreRows
    fill: tuple[int, int, int] = (1, 1, 1)
    tile_max: tuple[int, int, int] = (1, 1, 1)
    drain: int = 1
    trips: tuple[int, ...] = ()
    parted: tuple[tuple[int, int], ...] = ()
    staggered: bool = False

    @property
    def rows(self) -> dict[tuple[str, int], Rows]:
        """Per part: column sums, row count, distinct runtime rows and their counts."""
        st = self.stacked
        return {
            part: (
                st.sums[n],
                int(st.nrows[n]),
                st.joint[st.jstart[n] : st.jstart[n] + st.jlens[n]],
                st.jcount[st.jstart[n] : st.jstart[n] + st.jlens[n]],
            )
            for part, n in st.index.items()
        }


#: What a group's core depends on (:func:`_core_key`): the layer, the group's name, and per
#: level the units indexing the group (0: none) and its directives in input space (dimension,
#: kind, size, offset), outer first.
CoreKey = tuple[Layer, str, tuple[tuple[int, tuple[tuple[str, DirectiveKind, int, int], ...]], ...]]


def _core_key(model: StepModel, spec: GroupSpec) -> CoreKey:
    """The group's directives and units. Units past the last slice of their level's first
    SpatialMap (when one fold covers it) never work, so they are left out: cores that differ
    only in them are equal, and random mappings share many more cores."""
    group_of = _group_of(model.layer)
    local: list[tuple[int, tuple[tuple[str, DirectiveKind, int, int], ...]]] = []
    for i, level in enumerate(model.levels):
        mine = [d for d in level if group_of[d.dim] in spec.members]
        units = model.units[i] if i in spec.levels else 0
        lead = next((d for d in mine if d.kind is DirectiveKind.SPATIAL), None)
        if units and lead is not None:
            units = min(units, lead.slices)
        local.append((units, tuple((d.dim, d.kind, d.size, d.offset) for d in mine)))
    return (model.layer, spec.name, tuple(local))


@dataclass(frozen=True, slots=True)
class _CoreQuery:
    """A group's core key (:func:`_core_key`), with its spec and how to build its model,
    to walk when the core is not cached yet (a cached core costs no model). Only the key
    is compared and hashed: it decides the core."""

    key: CoreKey
    spec: GroupSpec = field(compare=False)
    build: Callable[[], StepModel] = field(compare=False)

    @property
    def model(self) -> StepModel:
        """The group's model (built on every call)."""
        return self.build()


@functools.lru_cache(maxsize=10_000)
def _core_of(query: _CoreQuery) -> _Core:
    """The core of the group ``query`` describes, memoised on its key (the core is a pure
    function of it): every template and batch in which the group looks the same shares it,
    and the least recently used cores go first when the cache is full."""
    return _core_shrunk(query.model, query.spec)


def _core(model: StepModel, spec: GroupSpec) -> _Core:
    """Walk one group's own loop tuples and units (a joint group's together) into its rows."""
    if len(spec.members) == 1:
        return _core_single(model, spec)
    from mapsearch.costmodel._exact_joint import JointGroup

    g = JointGroup(model, spec)
    trips = tuple(lp.trips for lp in model.loops)
    parts = _parts(len(model.loops), g.full)
    if not g.n_tuples:  # the group computes nothing, so no step is executed
        return _idle_core(parts, trips)
    mats, parted, ends = g.part_rows(parts, g.first_visits())
    flat = np.concatenate(mats).reshape(-1, len(_COLS))
    (f0, f1, f2), (t0, t1, t2), (drain,) = g.totals(ends)
    return _Core(
        exec_tuples=g.n_tuples,
        stacked=_part_rows(parts, flat, np.array([len(m) for m in mats], dtype=np.int64)),
        fill=(f0, f1, f2),
        tile_max=(t0, t1, t2),
        drain=drain,
        trips=trips,
        parted=tuple(parted),
        staggered=g.staggered(),
    )


def _parts(n_loops: int, full: bool) -> list[tuple[str, int]]:
    """The parts a group with ``n_loops`` loops can play (keys of :attr:`_Core.rows`); a
    ``full`` group is never outside a loop, so it has no ``self`` and ``inner`` parts."""
    kinds = ("loop",) if full else ("loop", "inner")
    parts = [("first", 0)] + ([] if full else [("self", 0)])
    return parts + [(kind, k) for k in range(n_loops) for kind in kinds]


def _idle_core(parts: list[tuple[str, int]], trips: tuple[int, ...]) -> _Core:
    """The core of a group that computes nothing, so that no step is executed."""
    nothing = (
        np.zeros(len(_COLS), dtype=np.int64),
        0,
        np.zeros((0, len(_JOINT)), dtype=np.int64),
        np.zeros(0, dtype=np.int64),
    )
    zero = (0, 0, 0)
    rows = _stacked(dict.fromkeys(parts, nothing))
    return _Core(stacked=rows, fill=zero, tile_max=zero, drain=0, trips=trips)


_JCOLS = np.array([_C[c] for c in _JOINT], dtype=np.int64)


def _part_rows(parts: list[tuple[str, int]], flat: IntArray, counts: IntArray) -> CoreRows:
    """Per part (its rows ``counts[n]`` of ``flat``, end to end): column sums, row count,
    distinct runtime columns in first-seen order and how often each occurs."""
    from mapsearch.costmodel import _exact_kernel as kernel

    return _core_rows(parts, counts, *kernel.part_rows(flat, counts, _JCOLS))


def _core_rows(
    parts: list[tuple[str, int]],
    counts: IntArray,
    sums: IntArray,
    uniq: IntArray,
    times: IntArray,
    bounds: IntArray,
) -> CoreRows:
    """``_exact_kernel.part_rows``' answer (parts' row ``counts`` and column ``sums``,
    distinct rows ``uniq`` with their ``times``, each part's from ``bounds``) as a
    :class:`CoreRows`."""
    return CoreRows(
        index={part: n for n, part in enumerate(parts)},
        sums=sums,
        nrows=counts,
        jstart=bounds[:-1],
        jlens=bounds[1:] - bounds[:-1],
        joint=uniq,
        jcount=times,
    )


@functools.cache
def _single_parts(n_loops: int) -> tuple[list[tuple[str, int]], IntArray, IntArray]:
    """The parts of a base group with ``n_loops`` loops (:func:`_parts`), with their kinds
    and loops coded for the compiled walk (``_exact_kernel.core``): the same for every core
    of that many loops, so built once."""
    from mapsearch.costmodel import _exact_kernel as kernel

    parts = _parts(n_loops, False)
    kinds = np.array([kernel.PARTS.index(kind) for kind, _ in parts], dtype=np.int64)
    return parts, kinds, np.array([at for _, at in parts], dtype=np.int64)


def _core_single(model: StepModel, spec: GroupSpec) -> _Core:
    """The core of one base group (a dimension group or ``@i``), walked by the compiled
    kernel (:mod:`mapsearch.costmodel._exact_kernel`, imported on first use: numba loads
    only when a core is walked)."""
    from mapsearch.costmodel import _exact_kernel as kernel

    layer = model.layer
    dims = [] if spec.name.startswith("@") else list(_group_dims(layer, spec.name))
    walk = _directives(model, dims, spec.levels)
    window = (-1, -1, 1, 0)
    src = [kernel.NONE] * 3
    if len(dims) == 2:
        inp, win = spec.name, layer.filter_of(spec.name)
        ki, kw = dims.index(inp), dims.index(cast(str, win))
        window = (ki, kw, layer.stride_along(inp), layer.out_size(inp))
        src = [
            kernel.OUT
            if inp in layer.tensors[r] and r == "output"
            else kernel.DIM
            if inp in layer.tensors[r]
            else kernel.WINDOW
            if win in layer.tensors[r]
            else kernel.NONE
            for r in ROLES
        ]
    elif dims:
        src = [kernel.DIM if dims[0] in layer.tensors[r] else kernel.NONE for r in ROLES]
    # per coordinate axis: the loop, units and slices of the level's first SpatialMap (units
    # past its last slice never work; a level without one: every unit works)
    axes = [
        next(((w[1], w[2], w[6]) for w in walk if w[3] == n and w[2]), (-1, u, u))
        for n, u in enumerate(model.units[lv] for lv in spec.levels)
    ]
    # the directives before the first SpatialMap do not depend on the coordinate
    split = next((n for n, w in enumerate(walk) if w[2]), len(walk))
    trips = tuple(lp.trips for lp in model.loops)
    parts, part_kind, part_at = _single_parts(len(trips))

    def arr(x: object, cols: int) -> IntArray:
        return np.array(x, dtype=np.int64).reshape(-1, cols)

    act, out_lo, out_hi, counts, parted, *part_rows, scalars = kernel.core(
        np.array(trips, dtype=np.int64),
        arr(walk[:split], 7),
        arr(walk[split:], 7),
        arr(axes, 3),
        np.array(window, dtype=np.int64),
        np.array([layer.size(d) for d in dims], dtype=np.int64),
        np.array(src, dtype=np.int64),
        part_kind,
        part_at,
        _JCOLS,
    )
    n_tuples, partial, f0, f1, f2, t0, t1, t2, drain = scalars.tolist()
    if n_tuples == 0:
        return _idle_core(parts, trips)
    return _Core(
        exec_tuples=n_tuples,
        stacked=_core_rows(parts, counts, *part_rows),
        fill=(f0, f1, f2),
        tile_max=(t0, t1, t2),
        drain=drain,
        trips=trips,
        parted=tuple(
            (at, p)
            for (kind, at), p in zip(parts, parted.tolist(), strict=True)
            if kind == "loop" and p != -2
        ),
        staggered=bool(partial) and src[2] != kernel.NONE and _staggered(act, out_lo, out_hi),
    )


#: Outermost loops with more trips than this are shrunk (see :func:`_core_shrunk`).
_SHRINK_ABOVE = 8
#: The most trips a cut starts from (fewer when the slices reach less far: :func:`_shrink_plan`).
_SHRINK_FROM = 5
#: One base group with at most this many (tuple, coordinate) pairs is walked whole.
_WALK_DIRECT = 1 << 14


def _walk_pairs(model: StepModel, spec: GroupSpec) -> int:
    """The (tuple, coordinate) pairs a walk of the group visits: its loop tuples times the
    units of its levels."""
    return math.prod(lp.trips for lp in model.loops) * math.prod(
        model.units[lv] for lv in spec.levels
    )


@dataclass(frozen=True, slots=True)
class Cut:
    """A cut of one dimension (:func:`_shrink_plan`): the dimension, its three shrunk sizes,
    how many times their step extrapolates to the real size, and for a cut of the
    dimension's second directive the (level, size, offset) of the directive enclosing it at
    each shrunk size and the cut loop's trips there (empty for the outermost directive)."""

    dim: str
    sizes: list[int]
    steps: int
    outer: tuple[tuple[int, int, int], ...] = ()
    trips: tuple[tuple[int, int], ...] = ()


def _core_shrunk(model: StepModel, spec: GroupSpec, dims: Sequence[str] | None = None) -> _Core:
    """The core, computed on the group's dimensions cut down to a few trips of one of their
    loops and extrapolated.

    Removing middle slices (or whole middle folds) of the outermost directive on a
    dimension leaves the first and last ones, and everything inside them, unchanged, so
    every count of the core is affine in the number of trips and its distinct runtime rows
    stay the same; with several dimensions cut, the counts are affine in each, so two trip
    counts per dimension (every combination of them: ``2^k`` walks for ``k`` cuts) give them
    at the real sizes, one dimension extrapolated after the other. A third trip count per
    dimension (the others at their first) checks the line (:func:`_affine`); a cut whose
    check fails, or whose walks differ in their rows, is dropped and the rest are cut again
    (no cut left: the full walk); a failed cut that started at ``_SHRINK_FROM`` trips, short
    of its slices' reach, is first tried again from the reach (a strided layer's one-row
    window steps reach many trips, so the short start fails there, and the full walk of a
    long loop costs far more than three walks a few trips past its reach). A dimension whose
    outermost loop is short is cut on its second directive's loop instead, inside every
    slice of the first (:func:`_shrink_plan`); one cut on its outermost loop whose second
    loop is long too is cut again on that one in each of its walks (``dims``: the
    dimensions to cut, all by default).

    One base group whose walk is short (at most ``_WALK_DIRECT`` tuple-coordinate pairs) is
    walked whole: the compiled walk is then cheaper than three walks and the fit.
    """
    if len(spec.members) == 1 and _walk_pairs(model, spec) <= _WALK_DIRECT:
        return _core(model, spec)
    cuts = [
        plan
        for dim in (spec.members if dims is None else dims)
        if not dim.startswith("@") and (plan := _shrink_plan(model, dim)) is not None
    ]
    while cuts:
        fit = _fitted(model, spec, cuts)
        if isinstance(fit, _Core):
            return fit
        # a cut started short of its slices' reach is tried again from there, then dropped
        wide = _shrink_plan(model, fit.dim, None)
        n = cuts.index(fit)
        if wide is not None and wide != fit:
            cuts[n] = wide
        else:
            del cuts[n]
    return _core(model, spec)


def _fitted(model: StepModel, spec: GroupSpec, cuts: list[Cut]) -> _Core | Cut:
    """The core extrapolated from walks at the shrunk sizes of ``cuts``, or the cut whose
    check or extrapolation failed (see :func:`_core_shrunk`)."""
    layer = model.layer
    walked: dict[tuple[int, ...], _Core | Cut] = {}
    # dimensions cut on their outermost loop whose second loop is long: cut again inside
    deep = [c.dim for c in cuts if not c.outer and _second_trips(model, c.dim) > _SHRINK_ABOVE]

    def walk(at: tuple[int, ...]) -> _Core | Cut:
        """The core with cut ``n`` at its ``at[n]``-th shrunk size, or the second-directive
        cut whose shrunk nest is not the one planned (other trips than its loop's)."""
        if at not in walked:
            size = {cut.dim: cut.sizes[k] for cut, k in zip(cuts, at, strict=True)}
            dims = tuple((n, size.get(n, v)) for n, v in layer.dims)
            edits = {
                (cut.outer[k][0], cut.dim): cut.outer[k][1:]
                for cut, k in zip(cuts, at, strict=True)
                if cut.outer
            }
            shrunk = _rebuild(model, replace(layer, dims=dims), edits)
            walked[at] = next(
                (
                    cut
                    for cut, k in zip(cuts, at, strict=True)
                    if cut.trips and shrunk.loops[cut.trips[k][0]].trips != cut.trips[k][1]
                ),
                None,
            ) or _core_shrunk(shrunk, spec, deep)
        return walked[at]

    first = (0,) * len(cuts)
    for n, cut in enumerate(cuts):
        line = [walk((*first[:n], k, *first[n + 1 :])) for k in range(3)]
        failed = next((c for c in line if isinstance(c, Cut)), None)
        if failed is not None:
            return failed
        if _affine(cast(list[_Core], line), cut.steps) is None:
            return cut
    cores: dict[tuple[int, ...], _Core] = {}
    for at in itertools.product((0, 1), repeat=len(cuts)):
        core = walk(at)
        if isinstance(core, Cut):
            return core
        cores[at] = core
    for n in range(len(cuts) - 1, -1, -1):  # extrapolate the last cut first
        inner: dict[tuple[int, ...], _Core] = {}
        for at in itertools.product((0, 1), repeat=n):
            fit = _affine([cores[(*at, 0)], cores[(*at, 1)]], cuts[n].steps)
            if fit is None:
                return cuts[n]
            inner[at] = fit
        cores = inner
    return cores[()]


def _shrink_plan(
    model: StepModel, dim: str, start_at_most: int | None = _SHRINK_FROM
) -> Cut | None:
    """The cut of ``dim`` on its outermost directive's loop, else (that loop short or
    uncuttable) on its second directive's (:func:`_loop_cut`); None when neither can be cut."""
    maps = _dim_maps(model, dim)
    if not maps:
        return None
    plan = _loop_cut(model, maps[0], None, start_at_most)
    if plan is None and len(maps) > 1:
        plan = _loop_cut(model, maps[1], maps[0], start_at_most)
    return plan


def _dim_maps(model: StepModel, dim: str) -> list[tuple[int, DimMap[int]]]:
    """(level, directive) of every directive on ``dim``, outermost first."""
    return [(i, d) for i, level in enumerate(model.levels) for d in level if d.dim == dim]


def _second_trips(model: StepModel, dim: str) -> int:
    """The trips of the loop of ``dim``'s second directive (1 without one)."""
    maps = _dim_maps(model, dim)
    return model.loops[maps[1][1].loop].trips if len(maps) > 1 else 1


def _loop_cut(
    model: StepModel,
    where: tuple[int, DimMap[int]],
    outer: tuple[int, DimMap[int]] | None,
    start_at_most: int | None,
) -> Cut | None:
    """The three shrunk sizes of the dimension of directive ``where`` (level, directive) and
    how many times their step extrapolates to the real size, or None when its loop is short
    or cannot be cut.

    A trip's slices (a fold's, for a SpatialMap), widened by the filter window when the
    dimension has one (an output's MACs can lie in several trips' slices), overlap those of
    the next ``reach - 1`` trips at most. The cut starts from ``reach + 1 + every`` trips (at
    most ``start_at_most``; None: no bound), so that a middle trip lies apart from the first
    ones, from the last one, and from the wrap of the last back to the first when an outer
    loop advances, even for a unit holding the tile of a trip ``every`` back: the middle
    trips' rows then recur unchanged, and the counts grow by the same amount per trip.

    ``outer``: the directive enclosing ``where`` on the dimension (None: ``where`` is the
    outermost). Its slices then shrink by what the cut removes from each, so that every
    slice keeps its first and last inner trips: the dimension shrinks by that much per slice,
    except a last slice clipped by the dimension's end, which keeps its width (and so every
    inner slice it holds) when the shrunk slices are still at least as wide."""
    layer = model.layer
    i, d = where
    dim = d.dim
    spatial = [e for e in model.levels[i] if e.kind is DirectiveKind.SPATIAL]
    if d.kind is DirectiveKind.SPATIAL and spatial[0] is not d:
        return None  # a diagonal partner: its folds follow another dimension
    units = model.units[i] if d.kind is DirectiveKind.SPATIAL else 1
    shift = d.offset * units  # one trip, in elements
    stride = layer.stride_along(dim)  # 1 outside a window group
    every = stride // math.gcd(shift, stride)  # trips per cut that keeps the holes in place
    trips = model.loops[d.loop].trips
    # how many trips on a trip's slices (and the filter windows of their outputs) reach
    win = layer.filter_of(dim)
    span = d.size + (units - 1) * d.offset + (layer.size(win) - 1 if win else 0)
    reach = -(-span // shift)
    start = reach + 1 + every if start_at_most is None else min(start_at_most, reach + 1 + every)
    size = layer.size(dim)
    if outer is None:
        low = start + (trips - start) % every
        if trips <= max(_SHRINK_ABOVE, low + 2 * every):
            return None
        sizes = [size - (trips - t) * shift for t in (low, low + every, low + 2 * every)]
        return Cut(dim, sizes, (trips - low) // every)
    j, e = outer
    if e.kind is DirectiveKind.SPATIAL and len([m for m in model.levels[j] if m.spatial]) > 1:
        return None  # a slice of a diagonal level follows two dimensions
    n, s, o = e.slices, e.size, e.offset
    last = size - (n - 1) * o  # the last outer slice's width
    clipped = last < s
    if (n == 1 and clipped) or (n > 1 and size < (n - 2) * o + s):
        return None  # a clipped slice that is the only one, or one before the last
    # the most one outer slice may lose: its offset stays positive; a clipped last slice
    # either keeps its width (it stays narrower than the others and keeps every inner slice
    # it holds) or, when wide enough, loses as much as the others (it keeps the width of
    # ``start`` trips, so what it loses are middle trips too)
    most = min(s - 1, o - 1 if n > 1 else s - 1)
    keep = trips - (d.slices - -(-last // d.offset)) // units if clipped else 0
    kept = max(start, trips - min(most, s - last) // shift, keep)
    lost = max(start, trips - min(most, last - (start - 1) * shift - span) // shift)
    shrinks = n - (clipped and kept <= lost)  # the outer slices that lose the cut
    low = max(start, trips - most // shift) if not clipped else min(kept, lost)
    low += (trips - low) % every
    if trips <= max(_SHRINK_ABOVE, low + 2 * every):
        return None
    points = (low, low + every, low + 2 * every)
    cut = [(trips - t) * shift for t in points]
    return Cut(
        dim,
        [size - shrinks * c for c in cut],
        (trips - low) // every,
        tuple((j, s - c, o - c if n > 1 else o) for c in cut),
        tuple((d.loop, t) for t in points),
    )


def _rebuild(
    model: StepModel, layer: Layer, edits: dict[tuple[int, str], tuple[int, int]]
) -> StepModel:
    """``model``'s directives and units unfolded again on ``layer``, the (size, offset) of
    the directive of each (level, dimension) of ``edits`` replaced."""
    levels = [
        [(d.kind, d.dim, *edits.get((i, d.dim), (d.size, d.offset))) for d in level]
        for i, level in enumerate(model.levels)
    ]
    return group_model(layer, model.units, levels)


def _affine(cores: list[_Core], steps: int) -> _Core | None:
    """Extrapolate two or three cores at consecutive trip counts ``steps`` further from the
    first, or None if they do not share their rows or do not lie on one line."""
    a = cores[0]
    rows_of = [c.rows for c in cores]
    if any(
        r.keys() != rows_of[0].keys() or c.parted != a.parted or c.staggered != a.staggered
        for c, r in zip(cores, rows_of, strict=True)
    ):
        return None

    def line(*xs: int) -> int | None:
        return (
            xs[0] + steps * (xs[1] - xs[0]) if len({y - x for x, y in pairwise(xs)}) == 1 else None
        )

    def vec(*xs: IntArray) -> IntArray | None:
        if any(x.shape != xs[0].shape for x in xs) or any(
            not np.array_equal(z - y, xs[1] - xs[0]) for y, z in pairwise(xs)
        ):
            return None
        return xs[0] + steps * (xs[1] - xs[0])

    rows: dict[tuple[str, int], tuple[IntArray, int, IntArray, IntArray]] = {}
    for k in rows_of[0]:
        sums, nrows, joint, counts = zip(*(r[k] for r in rows_of), strict=True)
        order = [np.lexsort(j.T[::-1]) for j in joint]
        joint = tuple(j[o] for j, o in zip(joint, order, strict=True))
        counts = tuple(c[o] for c, o in zip(counts, order, strict=True))
        if any(not np.array_equal(j, joint[0]) for j in joint[1:]):
            return None
        s, n, c = vec(*sums), line(*nrows), vec(*counts)
        if s is None or n is None or c is None:
            return None
        rows[k] = (s, n, joint[0], c)
    scalars = [
        line(*xs)
        for xs in zip(
            *((c.exec_tuples, *c.fill, *c.tile_max, c.drain, *c.trips) for c in cores),
            strict=True,
        )
    ]
    if any(v is None for v in scalars):
        return None
    e, f0, f1, f2, t0, t1, t2, dr, *trips = (int(v) for v in scalars)  # type: ignore[arg-type]
    return _Core(
        exec_tuples=e,
        stacked=_stacked(rows),
        fill=(f0, f1, f2),
        tile_max=(t0, t1, t2),
        drain=dr,
        trips=tuple(trips),
        parted=a.parted,
        staggered=a.staggered,
    )


@dataclass(frozen=True, slots=True)
class PartTable:
    """Factor rows of many parts end to end (a part: what one group contributes to one
    step class), so that combining groups is a gather by part index: per part its column
    sums, row count, and where its distinct runtime rows (with counts) start in ``joint``
    and how many there are."""

    sums: IntArray
    nrows: IntArray
    jstart: IntArray
    jlens: IntArray
    joint: IntArray
    jcount: IntArray


@dataclass(frozen=True, slots=True)
class CoreRows(PartTable):
    """A core's rows stacked part by part (the order of ``index``), so that placing them in
    a template's step classes is a gather."""

    index: dict[tuple[str, int], int]


def _stacked(rows: dict[tuple[str, int], Rows]) -> CoreRows:
    """Rows given part by part as a :class:`CoreRows`."""
    parts = list(rows.values())
    jlens = np.array([p[2].shape[0] for p in parts], dtype=np.int64)
    return CoreRows(
        index={k: n for n, k in enumerate(rows)},
        sums=np.array([p[0] for p in parts], dtype=np.int64).reshape(-1, len(_COLS)),
        nrows=np.array([p[1] for p in parts], dtype=np.int64),
        jstart=np.cumsum(jlens) - jlens,
        jlens=jlens,
        joint=np.concatenate([p[2] for p in parts]),
        jcount=np.concatenate([p[3] for p in parts]),
    )


@functools.lru_cache(maxsize=20_000)
def class_parts(name: str, loop_groups: tuple[str, ...]) -> tuple[tuple[str, int], ...]:
    """The part group ``name`` plays in every step class of a template whose loops belong
    to ``loop_groups``: the first step, then per loop its own loop, its inner loops reset,
    or nothing moves (keys of :attr:`_Core.rows`)."""
    mine = [k for k, n in enumerate(loop_groups) if n == name]
    keys = [("first", 0)]
    for loop in range(len(loop_groups)):
        outer = sum(1 for k in mine if k < loop)
        if loop in mine:
            keys.append(("loop", outer))
        elif outer < len(mine):
            keys.append(("inner", outer))
        else:
            keys.append(("self", 0))
    return tuple(keys)


def _placed(
    rows: CoreRows, core: _Core, spec: GroupSpec, loop_groups: tuple[str, ...]
) -> GroupSummary:
    """The summary of ``core`` (stacked as ``rows``) in the step classes of a template whose
    loops belong to ``loop_groups`` (see :func:`class_parts`)."""
    idx = np.array([rows.index[k] for k in class_parts(spec.name, loop_groups)], dtype=np.int64)
    jlens = rows.jlens[idx]
    at = np.repeat(rows.jstart[idx] - (np.cumsum(jlens) - jlens), jlens) + np.arange(
        int(jlens.sum())
    )
    return GroupSummary(
        exec_tuples=core.exec_tuples,
        sums=_read_only(rows.sums[idx]),
        nrows=_read_only(rows.nrows[idx]),
        jlens=_read_only(jlens),
        joint=_read_only(rows.joint[at]),
        jcount=_read_only(rows.jcount[at]),
        fill=core.fill,
        tile_max=core.tile_max,
        drain=core.drain,
        trips=core.trips,
        parted=core.parted,
        staggered=core.staggered,
    )


def _read_only(a: IntArray) -> IntArray:
    a.setflags(write=False)
    return a


# --- all groups, vectorised over the batch --------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class Totals:
    """Combined counts, one entry per mapping (int64 unless noted)."""

    steps: IntArray
    exec_steps: IntArray
    active_pe_steps: IntArray
    macs: IntArray
    l1_writes_input: IntArray
    l1_writes_filter: IntArray
    l2_reads: tuple[IntArray, IntArray, IntArray]
    l2_writes: tuple[IntArray, IntArray, IntArray]
    runtime_cycles: IntArray
    l1_size_words: IntArray
    offchip_words: IntArray
    peak_noc_bw: npt.NDArray[np.float64]
    delay_min: tuple[IntArray, IntArray, IntArray]  # ingress, egress, compute
    delay_max: tuple[IntArray, IntArray, IntArray]
    delay_sum: tuple[IntArray, IntArray, IntArray]
    #: runtime at each NoC bandwidth of a sweep, shape (mappings, bandwidths)
    runtime_sweep_cycles: IntArray


#: A piece of a part table, flat (one array, so that a batch's pieces join in one
#: concatenation): its number of parts ``n`` and of distinct runtime rows ``m``, then per
#: part its column sums (``n x len(_COLS)``), then the parts' row counts and numbers of
#: distinct runtime rows (``n`` each), then those rows part after part (``m x len(_JOINT)``)
#: and their counts (``m``).
Piece = IntArray


def piece(
    sums: IntArray, nrows: IntArray, jlens: IntArray, joint: IntArray, jcount: IntArray
) -> Piece:
    """Parts' column sums, row counts, numbers of distinct runtime rows, those rows (part
    after part) and their counts as one :data:`Piece`."""
    head = np.array([nrows.shape[0], jcount.shape[0]], dtype=np.int64)
    return np.concatenate((head, sums.ravel(), nrows, jlens, joint.ravel(), jcount))


#: A part that changes nothing (a group a template does not have): one row of ones.
ONE_PIECE: Piece = piece(
    np.ones((1, len(_COLS)), dtype=np.int64),
    np.ones(1, dtype=np.int64),
    np.ones(1, dtype=np.int64),
    np.ones((1, len(_JOINT)), dtype=np.int64),
    np.ones(1, dtype=np.int64),
)


def part_table(pieces: Sequence[Piece]) -> tuple[PartTable, IntArray]:
    """``pieces`` end to end as one table, and the index of each piece's first part (one
    concatenation, read back by a compiled pass: :func:`_exact_combine.unpack`)."""
    from mapsearch.costmodel import _exact_combine as kernel

    sums, nrows, jlens, joint, jcount, starts = kernel.unpack(
        np.concatenate(pieces), len(pieces), len(_COLS), len(_JOINT)
    )
    table = PartTable(
        sums=sums,
        nrows=nrows,
        jstart=np.cumsum(jlens) - jlens,
        jlens=jlens,
        joint=joint,
        jcount=jcount,
    )
    return table, starts


def core_piece(core: _Core) -> Piece:
    """A core's parts as a piece (in the order of its ``stacked.index``)."""
    st = core.stacked
    return piece(st.sums, st.nrows, st.jlens, st.joint, st.jcount)


def group_scalars(group: _Core | GroupSummary) -> tuple[int, ...]:
    """What a group contributes once per mapping: executable tuples, fill of each role,
    largest tile of each role, drain (multiplied over groups by :func:`combine`'s caller)."""
    return (group.exec_tuples, *group.fill, *group.tile_max, group.drain)


@dataclass(frozen=True, slots=True)
class Placed:
    """The part of a part table every group of every mapping plays in every step class:
    group ``g`` of mapping ``k`` plays in class ``c`` (0: the first step) part ``start[g, k]
    + local[g, rows[k], c]``, its core's first part plus its local part. Where ``start[g,
    k]`` is ``one`` the mapping lacks the group (it changes nothing); negative local parts
    (of every group) mark the classes past the mapping's loops, its last ones (they add
    nothing)."""

    start: IntArray
    local: IntArray
    rows: IntArray
    one: int = -1


def summaries_placed(
    groups: list[tuple[IntArray, list[GroupSummary]]], n_classes: int
) -> tuple[PartTable, Placed, IntArray]:
    """Groups given as (summary index of every mapping, distinct summaries, all with
    ``n_classes`` classes) as one part table, where every mapping's groups sit in it (a
    summary's parts are its classes in order) and the product of the groups' scalars."""
    pieces = [
        piece(s.sums, s.nrows, s.jlens, s.joint, s.jcount) for _, summ in groups for s in summ
    ]
    table, starts = part_table(pieces)
    n = groups[0][0].size
    start = np.empty((len(groups), n), dtype=np.int64)
    scalars = np.ones((n, 8), dtype=np.int64)
    at = 0
    for g, (ids, summ) in enumerate(groups):
        start[g] = starts[at : at + len(summ)][ids]
        scalars *= np.array([group_scalars(s) for s in summ], dtype=np.int64)[ids]
        at += len(summ)
    local = np.broadcast_to(np.arange(n_classes, dtype=np.int64), (len(groups), n, n_classes))
    return table, Placed(start, local, np.arange(n, dtype=np.int64)), scalars


def combine(
    table: PartTable,
    placed: Placed,
    scalars: IntArray,
    hardware: Hardware,
    noc_bws: IntArray | None = None,
) -> Totals:
    """Multiply the groups' factors per step class and enumerate runtime cases.

    ``placed``: the part of ``table`` every group of every mapping plays in every step
    class; ``scalars``: per mapping the product of its groups' :func:`group_scalars`. The
    same cases are also timed at every NoC bandwidth of ``noc_bws`` (none by default).
    Step classes a mapping's template does not have add nothing (so a mixed batch is
    combined at once). The products and cases run compiled, mapping by mapping
    (:mod:`mapsearch.costmodel._exact_combine`, imported on first use like the walk's
    kernel).
    """
    from mapsearch.costmodel import _exact_combine as kernel

    bws = np.zeros(0, dtype=np.int64) if noc_bws is None else np.asarray(noc_bws, np.int64)
    exec_steps, drain = scalars[:, 0], scalars[:, 7]
    fills = [scalars[:, 1 + r] for r in range(3)]
    tmax = [scalars[:, 4 + r] for r in range(3)]
    # NOTE: C-contiguous, writable arrays whatever made ``placed`` (a slice, a broadcast):
    # each memory layout is a variant of the kernel, loaded from numba's cache at a cost.
    contiguous = np.ascontiguousarray
    steps, totals, runtime, dmin, dmax, dsum, peak, swept = kernel.combine_parts(
        contiguous(placed.start),
        contiguous(placed.local),
        contiguous(placed.rows),
        placed.one,
        table.nrows,
        table.sums,
        table.jstart,
        table.jlens,
        table.joint,
        table.jcount,
        hardware.vector_width,
        hardware.noc_latency_cycles,
        hardware.noc_bw_words_per_cycle,
        bws,
    )

    def tot(col: str) -> IntArray:
        return totals[:, _C[col]]

    runtime += noc_delay_cycles(drain, hardware)
    offchip = fills[0] + fills[1] + fills[2]
    runtime = np.maximum(runtime, -(-offchip // hardware.offchip_bw_words_per_cycle))
    swept = timing.swept_runtime_cycles(
        swept,
        drain,
        offchip,
        hardware.noc_latency_cycles,
        bws,
        hardware.offchip_bw_words_per_cycle,
    )
    dmin = np.where(dmin == np.iinfo(np.int64).max, 0, dmin)
    return Totals(
        steps=steps,
        exec_steps=exec_steps,
        active_pe_steps=tot("A"),
        macs=tot("macsum"),
        l1_writes_input=tot("Ni") - tot("Ii"),
        l1_writes_filter=tot("Nf") - tot("If"),
        l2_reads=(tot("Ui") - tot("Gi"), tot("Uf") - tot("Gf"), tot("Uo") - tot("Go") - tot("FV")),
        l2_writes=(fills[0], fills[1], tot("Uh") - tot("Gh") + drain),
        runtime_cycles=runtime,
        l1_size_words=2 * (tmax[0] + tmax[1] + tmax[2]),
        offchip_words=offchip,
        peak_noc_bw=np.where(steps > 1, peak[:, 1], peak[:, 0]),
        delay_min=(dmin[:, 0], dmin[:, 1], dmin[:, 2]),
        delay_max=(dmax[:, 0], dmax[:, 1], dmax[:, 2]),
        delay_sum=(dsum[:, 0], dsum[:, 1], dsum[:, 2]),
        runtime_sweep_cycles=swept,
    )
