"""One structure of a mapping space, tabulated for bounds: every group configuration's
factors and every loop order's step classes.

A *structure* fixes the genes that shape a template except the loop orders: the number of
levels, the cluster sizes, the spatial dimensions and the ``diagonal`` genes. Within it, the
tile (and ``step``/``pad``) genes of one dimension group decide that group's configuration
and nothing else, and the order genes
decide only which *part* each group plays in each step class
(:mod:`mapsearch.costmodel.exact_factors`). So a count of any mapping of the structure is

    sum over classes c of  prod over groups g of  F_g(config_g, part_g(c))

and for counts of new elements (``U - G``: the union fetched minus what every holder kept),
``prod U - prod G = sum_j prod_{g<j} G_g (U_j - G_j) prod_{g>j} U_g``, a sum of products of
nonnegative factors. A diagonal level takes effect only where its parent tile holds one
output row, so a structure may decode to several templates, one per combination of the
groups' *variants* (the template each group's genes give): it gets one table per variant
combination, each holding the genes of its own variants (:func:`build_tables`). Replacing every factor by its minimum over the configurations and parts
a set of mappings allows gives a lower bound of the count for every mapping of the set
(:func:`count_bounds`); when everything is fixed it is the count itself.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from mapsearch.costmodel._exact_groups import template_groups, template_loop_groups
from mapsearch.costmodel.exact_factors import (
    COLUMNS,
    GroupFactors,
    Part,
    class_parts,
    dimension_group,
    group_factors,
)
from mapsearch.directives import DirectiveKind
from mapsearch.directives.nest import level_units, split_levels, unfold_template
from mapsearch.layers import Layer
from mapsearch.spaces import MappingSpace
from mapsearch.spaces.genes import IntArray
from mapsearch.spaces.mapping_space import MAX_LEVELS

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

#: (union, kept) column pairs whose difference is counted: input, filter and output L2
#: reads (output: before first visits are taken off), output written back, input and
#: filter L1 fills (per PE fetched, kept).
PAIRS: tuple[tuple[str, str], ...] = (
    ("Ui", "Gi"),
    ("Uf", "Gf"),
    ("Uo", "Go"),
    ("Uh", "Gh"),
    ("Ni", "Ii"),
    ("Nf", "If"),
)
#: The pairs a staggered group keeps as factors: input and filter (the tiles each PE holds
#: follow from the directives) and the outputs written back (each output a PE lets go is
#: written then); not the output reads, which take off the outputs entering unwritten.
_STAGGER_KEPT = np.asarray([u in ("Ui", "Uf", "Ni", "Nf", "Uh") for u, _ in PAIRS])
#: Features of a (configuration, part): per pair G, U - G and U; then the largest PE MACs.
N_FEATURES = 3 * len(PAIRS) + 1
MACMAX = 3 * len(PAIRS)


@dataclass(frozen=True, slots=True, kw_only=True)
class Structure:
    """Choice indices of the structural genes: ``levels``, then ``L1.cluster``...,
    ``L0.spatial``... and ``L0.diagonal``... (empty without such genes) for the levels it has."""

    levels: int
    clusters: tuple[int, ...]
    spatial: tuple[int, ...]
    diagonal: tuple[int, ...] = ()


def structures(
    space: MappingSpace,
    allowed: dict[str, tuple[int, ...]] | None = None,
    *,
    num_pes: int | None = None,
) -> list[Structure]:
    """Every structure of ``space`` (the choices ``allowed`` by gene name, default all),
    each listed once per distinct set of mappings.

    A ``diagonal`` gene that cannot change the template (the level's spatial dimension has
    no window, or the space decodes both choices alike) takes its first allowed choice only.
    With ``num_pes``, a level of one unit (``L{l}.cluster`` 1, or clusters that leave the
    top level one) lists one spatial choice without a diagonal in effect, the first: a
    SpatialMap over one unit is a loop over its slices in place (``docs/semantics.md``
    rule 4), so every other such choice decodes to the same loop nest with the same costs.
    Its diagonal choices (a second SpatialMap, not a loop) stay. With ``num_pes`` and no
    ``allowed``, a structure whose mirror (:func:`_mirror`) is listed before it is left out.
    """

    def choices(name: str) -> tuple[int, ...]:
        if allowed is not None and name in allowed:
            return allowed[name]
        return tuple(range(space.genes[space.column(name)].size))

    names = {g.name for g in space.genes}
    out = []
    levels = space.genes[space.column("levels")]
    for li in choices("levels"):
        n = int(levels.choices[li])
        clusters = [choices(f"L{lv}.cluster") for lv in range(1, n)]
        pairs = []  # per level: its (spatial, diagonal) choices
        for lv in range(n):
            name = f"L{lv}.diagonal"
            level: list[tuple[int, int | None]] = []
            for s in choices(f"L{lv}.spatial"):
                if name not in names:
                    level.append((s, None))
                    continue
                diag = choices(name)
                if len(diag) > 1 and not _diagonal_matters(space, li, lv, s):
                    diag = diag[:1]
                level += [(s, d) for d in diag]
            pairs.append(level)
        alone = [_alone(space, lv, p) for lv, p in enumerate(pairs)]
        values = [space.genes[space.column(f"L{lv}.cluster")].choices for lv in range(1, n)]
        for c in itertools.product(*clusters):
            each = pairs
            if num_pes is not None:
                units = level_units(num_pes, [int(v[k]) for v, k in zip(values, c, strict=True)])
                each = [alone[lv] if units[lv] == 1 else p for lv, p in enumerate(pairs)]
            for sd in itertools.product(*each):
                out.append(
                    Structure(
                        levels=li,
                        clusters=tuple(c),
                        spatial=tuple(s for s, _ in sd),
                        diagonal=tuple(d for _, d in sd if d is not None),
                    )
                )
    mirror = _mirror(space) if num_pes is not None and allowed is None else None
    if mirror is None:
        return out
    place = {st: k for k, st in enumerate(out)}
    return [st for k, st in enumerate(out) if place.get(mirror(st), k) >= k]


def _mirror(space: MappingSpace) -> Callable[[Structure], Structure] | None:
    """A structure's mirror: its spatial choices with ``Y`` and ``X`` swapped, when the layer
    is the same along both (extent, filter, stride) and so is the space (every gene of one
    has the other's choices; orders and spatial choices swap into choices). Swapping the
    two in every gene of a point gives a point of the mirror with the same costs (the model
    treats both windows alike; ``tests/bounds/test_structures.py`` scores random points and
    their mirrors), so a search needs one of the two. None when the layer is not symmetric."""
    layer = space.layer
    if not {"Y", "X"} <= set(space.dims):
        return None

    def along(d: str) -> tuple[int, int, int]:
        w = layer.filter_of(d)
        return layer.size(d), layer.size(w) if w is not None else 1, layer.stride_along(d)

    if along("Y") != along("X"):
        return None
    swap = str.maketrans("YX", "XY")
    by_name = {g.name: g for g in space.genes}
    for g in space.genes:
        if g.name.endswith((".Y", ".X")):
            other = by_name.get(g.name[:-1] + g.name[-1].translate(swap))
            if other is None or tuple(other.choices) != tuple(g.choices):
                return None
        elif g.name.endswith((".order", ".spatial")) and {
            str(c).translate(swap) for c in g.choices
        } != {str(c) for c in g.choices}:
            return None
    index: dict[int, list[int]] = {}
    for lv in range(MAX_LEVELS):
        name = f"L{lv}.spatial"
        if name in by_name:
            choices = [str(c) for c in by_name[name].choices]
            index[lv] = [choices.index(c.translate(swap)) for c in choices]

    def mirror(st: Structure) -> Structure:
        spatial = tuple(index[lv][s] for lv, s in enumerate(st.spatial))
        return dataclasses.replace(st, spatial=spatial)

    return mirror


def _alone(
    space: MappingSpace, lv: int, pairs: list[tuple[int, int | None]]
) -> list[tuple[int, int | None]]:
    """Level ``lv``'s (spatial, diagonal) choices ``pairs`` when it has one unit: the first
    without a diagonal in effect (all such decode alike there), and those with one."""

    def diagonal(pair: tuple[int, int | None]) -> bool:
        s, d = pair
        if d is None or space.genes[space.column(f"L{lv}.diagonal")].choices[d] != "yes":
            return False
        return _windowed(space, lv, s)

    plain = [p for p in pairs if not diagonal(p)]
    return plain[:1] + [p for p in pairs if diagonal(p)]


def _windowed(space: MappingSpace, lv: int, spatial: int) -> bool:
    """Whether level ``lv``'s spatial choice ``spatial`` is a dimension with a filter window
    (the only kind a ``diagonal`` gene acts on)."""
    dim = space.genes[space.column(f"L{lv}.spatial")].choices[spatial]
    return space.layer.filter_of(str(dim)) is not None


def _diagonal_matters(space: MappingSpace, levels: int, lv: int, spatial: int) -> bool:
    """Whether level ``lv``'s diagonal gene can change the template with this spatial
    choice: never when the level maps a dimension without a filter window spatially (the
    gene then decodes to nothing: ``docs/search_space.md``); below the top level it may
    (the parent's tiles decide); at the top, the space decodes both choices (every other
    gene at its first choice) and compares."""
    if not _windowed(space, lv, spatial):
        return False
    if lv > 0:
        return True
    g = np.zeros((2, space.n_genes), dtype=np.int64)
    g[:, space.column("levels")] = levels
    g[:, space.column("L0.spatial")] = spatial
    g[:, space.column("L0.diagonal")] = [0, 1]
    decoded = space.decode(g, max(space.cluster_choices) ** MAX_LEVELS)
    assert decoded.batch is not None  # enough PEs for any clusters
    return len(decoded.batch.templates()[0]) > 1


@dataclass(frozen=True, slots=True, kw_only=True)
class GroupTable:
    """One group of a structure: its tile genes, and per configuration its factors.

    ``combos[n]`` are tile-gene choice indices (columns ``columns``) and ``config[n]`` the
    configuration they decode to. Per configuration: ``features[a, p]`` (part ``parts[p]``,
    :data:`N_FEATURES` values), ``fill``/``tile_max`` per role, ``drain``, ``compute`` (the
    MACs of the largest PE summed over the group's tuples), ``used`` (input, filter: a lower
    bound of the sum over the group's units of the elements a unit ever holds, see
    :func:`_group_table`) and ``refused`` (it computes nothing: every mapping with it is
    infeasible); ``first[a]``: the first combination decoding to configuration ``a`` (the
    one a leaf's genotype takes).
    """

    name: str
    columns: tuple[int, ...]
    combos: IntArray
    config: IntArray
    parts: tuple[Part, ...]
    features: FloatArray
    fill: FloatArray
    tile_max: FloatArray
    drain: FloatArray
    compute: FloatArray
    used: FloatArray
    refused: npt.NDArray[np.bool_]
    first: IntArray


@dataclass(frozen=True, slots=True, kw_only=True)
class StructureTable:
    """Everything the bounds of one structure need (see the module docstring).

    ``masks[l][o, c, g, p]``: with order choice ``o`` at level ``l``, group ``g`` plays part
    ``p`` in step class ``c`` (class 0 is the first step, set in every level's masks; the
    others are the structure's loops, set in their level's masks). ``plain_twin``: every
    point of the table is a point of a structure with a ``diagonal`` gene at ``no`` instead
    (:func:`_plain_twin`).
    """

    layer: Layer
    space: MappingSpace
    num_pes: int
    structure: Structure
    base: IntArray
    order_columns: tuple[int, ...]
    order_sizes: tuple[int, ...]
    groups: tuple[GroupTable, ...]
    masks: tuple[BoolArray, ...]
    plain_twin: bool

    @property
    def n_levels(self) -> int:
        return len(self.order_columns)

    def genotype(self, orders: tuple[int, ...], combos: tuple[int, ...]) -> IntArray:
        """The genotype with these order choices and, per group, its combination ``combos[g]``."""
        g = self.base.copy()
        g.put(self.order_columns, orders)  # ``put`` takes the tuples as they are
        for grp, n in zip(self.groups, combos, strict=True):
            g.put(grp.columns, grp.combos[n])
        return g


#: Order masks by the template they were read from (see :func:`build_tables`).
MaskCache = dict[tuple[bytes, bytes], tuple[BoolArray, ...]]


def build_tables(
    space: MappingSpace,
    num_pes: int,
    structure: Structure,
    masks: MaskCache | None = None,
    *,
    twins: bool = True,
) -> list[StructureTable]:
    """Tabulate ``structure`` of ``space`` on ``num_pes`` PEs (over the genes' whole
    domains): one table per combination of the groups' variants (module docstring).
    With ``twins`` False, the tables whose points are also another listed structure's
    (``StructureTable.plain_twin``) are left out before their factors are computed.

    ``masks`` caches the order masks by template (the loops of a level are its searched
    dimensions and its filters' loops whatever the cluster sizes and tiles, so the parts each
    order gives are the same for every structure of that template).

    The configurations come from decoding genotypes that vary one group's genes at a time
    and asking the exact model for their factors, so the table reads the space as the space
    decodes it and counts as the model counts.
    """
    layer = space.layer
    n = int(space.genes[space.column("levels")].choices[structure.levels])
    base = np.zeros(space.n_genes, dtype=np.int64)
    base[space.column("levels")] = structure.levels
    for lv, c in enumerate(structure.clusters, start=1):
        base[space.column(f"L{lv}.cluster")] = c
    for lv, s in enumerate(structure.spatial):
        base[space.column(f"L{lv}.spatial")] = s
    for lv, diagonal in enumerate(structure.diagonal):
        base[space.column(f"L{lv}.diagonal")] = diagonal
    # a group's genes: its dimensions' tiles, steps and pads at every level
    names = {g.name for g in space.genes}
    by_group: dict[str, list[int]] = {}
    for d in space.dims:
        cols = by_group.setdefault(dimension_group(layer, d), [])
        for lv in range(n):
            for gene in (f"L{lv}.tile.{d}", f"L{lv}.step.{d}", f"L{lv}.pad.{d}"):
                if gene in names:
                    cols.append(space.column(gene))
    all_combos = {
        name: np.asarray(
            list(itertools.product(*(range(space.genes[c].size) for c in cols))), dtype=np.int64
        ).reshape(-1, len(cols))
        for name, cols in by_group.items()
    }
    if masks is None:
        masks = {}
    first = _table(space, num_pes, structure, base, by_group, all_combos, masks, twins)
    if first is None:
        return []
    if isinstance(first, StructureTable):
        return [first]
    # several templates: each group's variant is the template its combinations give
    variants = {
        name: [np.flatnonzero(which == v) for v in np.unique(which)]
        for name, which in first.items()
    }
    tables = []
    for pick in itertools.product(*variants.values()):
        chosen = dict(zip(variants, pick, strict=True))
        b = base.copy()
        for name, rows in chosen.items():
            b[by_group[name]] = all_combos[name][rows[0]]
        combos = {name: all_combos[name][rows] for name, rows in chosen.items()}
        t = _table(space, num_pes, structure, b, by_group, combos, masks, twins)
        if isinstance(t, dict):
            raise ValueError(f"structure {structure}: a variant decodes to several templates")
        if t is not None:
            tables.append(t)
    return tables


def _table(
    space: MappingSpace,
    num_pes: int,
    structure: Structure,
    base: IntArray,
    by_group: dict[str, list[int]],
    all_combos: dict[str, IntArray],
    masks: MaskCache,
    twins: bool,
) -> StructureTable | dict[str, IntArray] | None:
    """The table of the genotypes that vary one group's genes (``all_combos``) at a time
    from ``base``; if they decode to several templates, per group the template index of
    each of its combinations instead; None for a plain twin when ``twins`` is False."""
    layer = space.layer
    n = int(space.genes[space.column("levels")].choices[structure.levels])
    order_columns = tuple(space.column(f"L{lv}.order") for lv in range(n))
    order_sizes = tuple(space.genes[c].size for c in order_columns)
    rows: list[IntArray] = []
    spans: dict[str, tuple[int, int, IntArray]] = {}
    for name, cols in by_group.items():
        combos = all_combos[name]
        g = np.repeat(base[None, :], len(combos), axis=0)
        g[:, cols] = combos
        start = sum(len(r) for r in rows)
        spans[name] = (start, start + len(combos), combos)
        rows.append(g)
    decoded = space.decode(np.concatenate(rows), num_pes)
    batch = decoded.batch
    if batch is None or len(decoded.rows) != sum(len(r) for r in rows):
        raise ValueError(f"structure {structure} rejects some tiles: {decoded.reasons[0]}")
    batch = batch.take(np.argsort(decoded.rows))
    templates, which = batch.templates()
    if len(templates) != 1:
        return {name: which[start:stop] for name, (start, stop, _) in spans.items()}
    twin = _plain_twin(space, structure, batch.template_of(0).kinds)
    if twin and not twins:
        return None
    tf = group_factors(layer, batch, num_pes)
    groups = []
    for name, index, factors in zip(tf.groups, tf.index, tf.factors, strict=True):
        if name in spans:
            start, stop, combos = spans[name]
            columns = tuple(by_group[name])
            config = index[start:stop]
        else:  # a group without genes (a dimension of size 1, a level without SpatialMap)
            columns, combos, config = (), np.zeros((1, 0), dtype=np.int64), index[:1]
        used = np.unique(config)
        remap = np.full(len(factors), -1, dtype=np.int64)
        remap[used] = np.arange(used.size)
        groups.append(
            _group_table(name, columns, combos, remap[config], [factors[u] for u in used])
        )
    key = (batch.kinds[0].tobytes(), batch.dims[0].tobytes())
    found = masks.get(key)
    if found is None:
        names, parts = [g.name for g in groups], [g.parts for g in groups]
        found = masks[key] = _masks(space, num_pes, base, order_columns, order_sizes, names, parts)
    return StructureTable(
        layer=layer,
        space=space,
        num_pes=num_pes,
        structure=structure,
        base=base,
        order_columns=order_columns,
        order_sizes=order_sizes,
        groups=tuple(groups),
        masks=found,
        plain_twin=twin,
    )


def _plain_twin(
    space: MappingSpace, structure: Structure, kinds: tuple[DirectiveKind, ...]
) -> bool:
    """Whether some level's ``diagonal`` gene says ``yes`` where the template (its directive
    ``kinds``) maps one dimension spatially: the diagonal is not in effect there (the parent
    tile holds more than one output row), and the genes decode as with ``no`` (a choice of
    the gene too). The structure with ``no`` there, which :func:`structures` lists (or one
    with the same costs), then has every point of the table."""
    spatial = [sum(kinds[i] is DirectiveKind.SPATIAL for i in at) for _, at in split_levels(kinds)]
    for lv, d in enumerate(structure.diagonal):
        choices = space.genes[space.column(f"L{lv}.diagonal")].choices
        if choices[d] == "yes" and "no" in choices and spatial[lv] == 1:
            return True
    return False


def _group_table(
    name: str,
    cols: tuple[int, ...],
    combos: IntArray,
    config: IntArray,
    factors: list[GroupFactors],
) -> GroupTable:
    """One group's table from the factors of its distinct configurations.

    In a part where a configuration may be walked with other groups (``coupled``), its
    counts of new elements are not products of factors: the pairs' features are 0 there
    (the telescoped bound of that class is then 0), and so is its drain when it has one;
    the compulsory counts still hold. Only the output reads when the group is just
    ``staggered``: that couples which outputs were written before they enter a PE, not the
    tiles each PE holds, and so not the outputs a PE lets go, each written then
    (``tests/bounds/test_staggered.py`` checks that the input and filter counts are the
    model's and the output writes at most the model's, above the compulsory ones on some
    points). A configuration that computes nothing is refused (no mapping with it computes
    the layer's MACs).

    ``used[a, r]`` (input, filter) bounds from below the sum over the group's units of the
    union of the slices a unit holds while active: it is at least the group's fill (the
    union over all units) and at least the first step's fetches (each active unit's first
    slice, a subset of its union). Per PE the union of its tiles is the product over groups
    of these per-unit unions, so ``prod_g used_g`` bounds the L1 writes (docs/certified.md).
    """
    parts: tuple[Part, ...] = factors[0].parts
    if any(f.parts != parts for f in factors):
        raise ValueError(f"group {name}: configurations differ in their parts")
    col = {c: k for k, c in enumerate(COLUMNS)}
    n = len(factors)
    sums = np.stack([f.sums for f in factors]).astype(np.float64)  # (n, P, columns)
    # a staggered group couples only its output reads; a late unit every column there
    coupled = np.asarray([f.coupled for f in factors], dtype=bool)[:, :, None]
    exact = np.repeat(~coupled, len(PAIRS), axis=2)
    exact[:, :, _STAGGER_KEPT] = ~np.asarray([f.resumed for f in factors], dtype=bool)[:, :, None]
    held = sums[:, :, [col[g] for _, g in PAIRS]] * exact
    union = sums[:, :, [col[u] for u, _ in PAIRS]] * exact
    feats = np.empty((n, len(parts), N_FEATURES))
    feats[:, :, 0:MACMAX:3] = held
    feats[:, :, 1:MACMAX:3] = union - held
    feats[:, :, 2:MACMAX:3] = union
    feats[:, :, MACMAX] = sums[:, :, col["macmax"]]
    fill = np.array([f.fill for f in factors], dtype=np.float64).reshape(n, 3)
    first = sums[:, parts.index(("first", 0))]
    used = np.maximum(first[:, [col["Ni"], col["Nf"]]], fill[:, :2])
    return GroupTable(
        name=name,
        columns=tuple(cols),
        combos=combos,
        config=config,
        parts=parts,
        features=feats,
        fill=fill,
        tile_max=np.array([f.tile_max for f in factors], dtype=np.float64).reshape(n, 3),
        drain=np.array([0 if any(f.coupled) else f.drain for f in factors], dtype=np.float64),
        compute=sums[:, parts.index(("self", 0)), col["macmax"]],
        used=used,
        refused=np.array([f.exec_tuples == 0 for f in factors]),
        first=np.unique(config, return_index=True)[1].astype(np.int64),
    )


def _masks(
    space: MappingSpace,
    num_pes: int,
    base: IntArray,
    order_columns: tuple[int, ...],
    order_sizes: tuple[int, ...],
    names: list[str],
    parts: list[tuple[Part, ...]],
) -> tuple[BoolArray, ...]:
    """Per level, order choice, class and group: the part the group plays (StructureTable).

    A level's order moves only its own loops among themselves: the loops of other levels
    stay wholly outside or inside them, so the parts in a class of level ``l`` depend on
    ``l``'s order alone. Each level's orders are read from templates that vary only it.
    """
    layer = space.layer
    genotypes = []
    for lv, size in enumerate(order_sizes):
        g = np.repeat(base[None, :], size, axis=0)
        g[:, order_columns[lv]] = np.arange(size)
        genotypes.append(g)
    decoded = space.decode(np.concatenate(genotypes), num_pes)
    assert decoded.batch is not None  # the structure decoded whole in build_table
    templates, which = decoded.batch.templates()
    starts = np.cumsum([0, *order_sizes])
    P = max((len(p) for p in parts), default=1) or 1
    keys: list[tuple[int, str]] | None = None
    out: list[BoolArray] = []
    for k, t in enumerate(templates):
        rows = decoded.rows[which == k]
        batch = decoded.batch.take(which == k)
        clusters = [
            int(v)
            for k, v in zip(t.kinds, batch.sizes[0], strict=True)
            if k is DirectiveKind.CLUSTER
        ]
        model = unfold_template(
            layer,
            t.kinds,
            t.dims,
            batch.sizes[0].tolist(),
            batch.offsets[0].tolist(),
            level_units(num_pes, clusters),
        )
        loop_keys = [(lp.level, lp.dim) for lp in model.loops]
        if keys is None:
            keys = sorted(loop_keys)
            out = [
                np.zeros((size, 1 + len(keys), len(names), P), dtype=bool) for size in order_sizes
            ]
        where = [(0, 0)] + [
            (lp.level, 1 + keys.index(k)) for lp, k in zip(model.loops, loop_keys, strict=True)
        ]
        loop_groups = template_loop_groups(
            layer, t.kinds, t.dims, template_groups(layer, t.kinds, t.dims)
        )
        for row in rows.tolist():
            lv = int(np.searchsorted(starts, row, side="right")) - 1
            o = row - int(starts[lv])
            for gi, (name, gparts) in enumerate(zip(names, parts, strict=True)):
                for (level, c), part in zip(where, class_parts(name, loop_groups), strict=True):
                    if c == 0 or level == lv:
                        out[lv][o, c, gi, gparts.index(part) if gparts else 0] = True
    return tuple(out)
