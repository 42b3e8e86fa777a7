"""The mapping space of one layer: directive templates as genes with static domains.

Per cluster level ``l`` (``L0`` outermost) the genes are the loop order of the layer's
*searched* dimensions (``L{l}.order``), the spatially mapped dimension (``L{l}.spatial``),
and the tile size of every searched dimension (``L{l}.tile.D``); between levels, the
cluster size (``L{l}.cluster``: units per level-``l`` group). ``levels`` picks 1 to 3 levels.

Searched dimensions are those larger than 1, except the filter windows ``R``/``S``: they
are always mapped whole (``TemporalMap(R,R) R``, as MAESTRO requires), after the level's
other loops. Tiles of ``Y``/``X`` count *output* rows/columns ``t``: the directive is
written in input space as ``(t-1)*stride + R`` rows advancing by ``t*stride``, so windows
are never smaller than the filter. A spatial dimension uses the same tile per unit.

Decoding is legal by construction: a child tile larger than its parent's is clamped to
the parent's (with ``tiles="divisors"`` to the largest divisor of the parent tile below
it, so no tile ever has an edge); cluster sizes whose product exceeds the PE count are
rejected with a reason.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from mapsearch.costmodel.batch import MappingBatch, Template
from mapsearch.directives import DirectiveKind, Mapping, SpatialMap, resolve_size
from mapsearch.directives.nest import output_to_input
from mapsearch.errors import ConfigError, UnsupportedError
from mapsearch.layers import OUTPUT_DIMS, Layer
from mapsearch.spaces.genes import Gene, IntArray, apply_fixed, divisors

TILE_MODES: tuple[str, ...] = ("divisors", "any")
MAX_LEVELS = 3
#: The space searched unless told otherwise: one or two cluster levels, divisor tiles.
DEFAULT_LEVELS: tuple[int, ...] = (1, 2)
DEFAULT_TILES = "divisors"
#: Most tile sizes of one dimension under tiles "any" (every size from 1 to the extent).
MAX_TILE_CHOICES = 2**16
ObjArray = npt.NDArray[np.object_]


@dataclass(frozen=True, slots=True, kw_only=True)
class SpaceOptions:
    """User choices that shape a mapping space.

    ``levels``: the allowed numbers of cluster levels (1 to 3). ``tiles``: ``"divisors"``
    (every tile divides its parent: no edge cases) or ``"any"`` (every size). ``fixed``:
    ``(gene name, value)`` pairs pinning genes, e.g. ``("L0.spatial", "K")``,
    ``("L0.order", "KCYX")``.
    """

    levels: tuple[int, ...] = DEFAULT_LEVELS
    tiles: str = DEFAULT_TILES
    fixed: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        problems = []
        if not self.levels or any(not 1 <= n <= MAX_LEVELS for n in self.levels):
            problems.append(
                f"levels must be a non-empty subset of 1..{MAX_LEVELS}, got {self.levels}"
            )
        if tuple(sorted(set(self.levels))) != tuple(self.levels):
            problems.append(f"levels must be increasing without repeats, got {self.levels}")
        if self.tiles not in TILE_MODES:
            problems.append(f"tiles must be one of {TILE_MODES}, got {self.tiles!r}")
        if problems:
            raise ConfigError("; ".join(problems))

    def to_dict(self) -> dict[str, object]:
        return {
            "levels": list(self.levels),
            "tiles": self.tiles,
            "fixed": [list(p) for p in self.fixed],
        }


@dataclass(frozen=True, slots=True)
class DecodedBatch:
    """Genotypes decoded into batches of one template each.

    ``groups`` pairs the genotype rows of a template with their ``MappingBatch``;
    ``reasons[i]`` is why row ``i`` was rejected ("" when it decoded).
    """

    groups: tuple[tuple[IntArray, MappingBatch], ...]
    reasons: ObjArray


@dataclass(frozen=True, slots=True, kw_only=True)
class MappingSpace:
    """All mappings of ``layer`` reachable with these options; see the module docstring.

    ``cluster_choices`` are the allowed cluster sizes (the divisors of the PE counts the
    space will be used with, see :meth:`build`).
    """

    layer: Layer
    cluster_choices: tuple[int, ...]
    options: SpaceOptions = field(default_factory=SpaceOptions)
    genes: tuple[Gene, ...] = field(init=False)
    dims: tuple[str, ...] = field(init=False)
    _col: dict[str, int] = field(init=False, repr=False, compare=False)
    _tiles: dict[str, IntArray] = field(init=False, repr=False, compare=False)
    _fit: dict[str, IntArray] = field(init=False, repr=False, compare=False)
    _perms: IntArray = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        layer = self.layer
        window_filters = {w for _, w in layer.windows}
        dims = tuple(d for d, n in layer.dims if n > 1 and d not in window_filters)
        if not dims:
            raise UnsupportedError(
                f"layer {layer.qualified_name} has no dimension larger than 1 to map; "
                "nothing to search"
            )
        if not self.cluster_choices or min(self.cluster_choices) < 2:
            raise ValueError(f"cluster sizes must be >= 2, got {self.cluster_choices}")
        tiles: dict[str, IntArray] = {}
        fit: dict[str, IntArray] = {}
        for d in dims:
            extent = self._extent(d)
            if self.options.tiles == "any" and extent > MAX_TILE_CHOICES:
                raise ConfigError(
                    f"{d}={extent:,} has too many tile sizes for tiles 'any' (at most "
                    f"{MAX_TILE_CHOICES:,}); use tiles 'divisors'"
                )
            values = divisors(extent) if self.options.tiles == "divisors" else range(1, extent + 1)
            arr = np.asarray(values, dtype=np.int64)
            tiles[d] = arr
            if self.options.tiles == "divisors":
                # fit[i, j]: the largest choice <= choice i that divides choice j. Choices are
                # increasing, so that is the last k <= i where choice k divides choice j: a
                # running maximum down the columns (n**2 memory; n is at most 1,600 divisors).
                k = np.arange(len(arr))[:, None]
                fit[d] = np.maximum.accumulate(np.where(arr[None, :] % arr[:, None] == 0, k, -1))
        perms = np.asarray(list(itertools.permutations(range(len(dims)))), dtype=np.int64)
        order_labels = tuple("".join(dims[i] for i in p) for p in perms)
        genes: list[Gene] = [
            Gene(name="levels", choices=self.options.levels, ordered=True, doc="cluster levels")
        ]
        for lv in range(max(self.options.levels)):
            if lv > 0:
                genes.append(
                    Gene(
                        name=f"L{lv}.cluster",
                        choices=tuple(sorted(set(self.cluster_choices))),
                        ordered=True,
                        doc=f"units per level-{lv} cluster",
                    )
                )
            genes.append(
                Gene(
                    name=f"L{lv}.order",
                    choices=order_labels,
                    ordered=False,
                    doc="loop order, outer first",
                )
            )
            genes.append(
                Gene(
                    name=f"L{lv}.spatial",
                    choices=dims,
                    ordered=False,
                    doc="spatially mapped dimension",
                )
            )
            genes += [
                Gene(
                    name=f"L{lv}.tile.{d}",
                    choices=tuple(int(v) for v in tiles[d]),
                    ordered=True,
                    doc=f"{d} tile per unit"
                    + (" (output rows/cols)" if d in ("Y", "X") and window_filters else ""),
                )
                for d in dims
            ]
        final = apply_fixed(genes, self.options.fixed)
        object.__setattr__(self, "genes", final)
        object.__setattr__(self, "dims", dims)
        object.__setattr__(self, "_col", {g.name: i for i, g in enumerate(final)})
        object.__setattr__(self, "_tiles", tiles)
        object.__setattr__(self, "_fit", fit)
        object.__setattr__(self, "_perms", perms)

    @classmethod
    def build(
        cls, layer: Layer, num_pes: int | Sequence[int], options: SpaceOptions | None = None
    ) -> MappingSpace:
        """The space for ``layer`` on arrays of ``num_pes`` PEs (one count, or several for co-design)."""
        counts = [num_pes] if isinstance(num_pes, int) else list(num_pes)
        clusters = sorted({d for n in counts for d in divisors(n) if d >= 2}) or [2]
        return cls(layer=layer, cluster_choices=tuple(clusters), options=options or SpaceOptions())

    # --- geometry -------------------------------------------------------------------------
    def _extent(self, d: str) -> int:
        """Tiled extent of ``d``: output rows/cols for window dimensions, else the size."""
        return self.layer.out_size(d)

    def _size_offset(self, d: str, tile: IntArray) -> tuple[IntArray, IntArray]:
        """Directive size and offset of ``tile`` (outputs for window dims) in input space:
        ``Y'(t, t)`` read by ``docs/semantics.md`` rule 2 with the whole filter."""
        w = self.layer.filter_of(d)
        if w is None:
            return tile, tile
        return output_to_input(tile, tile, self.layer.stride_along(d), self.layer.size(w))

    @property
    def n_genes(self) -> int:
        return len(self.genes)

    def column(self, name: str) -> int:
        return self._col[name]

    # --- enumeration ----------------------------------------------------------------------
    def blocks(self) -> list[tuple[int, tuple[int, ...]]]:
        """For each allowed level count: (index of the ``levels`` choice, columns it uses).

        Genes of deeper levels are ignored by shallower mappings; enumerating only the used
        columns (the others at 0) visits every distinct genotype once.
        """
        levels_gene = self.genes[self._col["levels"]]
        out = []
        for i, n in enumerate(levels_gene.choices):
            cols = [self._col["levels"]]
            for lv in range(int(n)):
                prefix = f"L{lv}."
                cols += [c for name, c in self._col.items() if name.startswith(prefix)]
            out.append((i, tuple(sorted(cols))))
        return out

    # --- decoding -------------------------------------------------------------------------
    def decode(self, genotypes: IntArray, num_pes: IntArray | int) -> DecodedBatch:
        """Decode ``(B, n_genes)`` indices (vectorised) for arrays of ``num_pes`` PEs (scalar or ``(B,)``)."""
        g = np.asarray(genotypes, dtype=np.int64)
        if g.ndim != 2 or g.shape[1] != self.n_genes:
            raise ValueError(f"genotypes must have shape (B, {self.n_genes}), got {g.shape}")
        B = g.shape[0]
        pes = np.broadcast_to(np.asarray(num_pes, dtype=np.int64), (B,))
        reasons: ObjArray = np.full(B, "", dtype=object)
        levels_choices = np.asarray(self.genes[self._col["levels"]].choices, dtype=np.int64)
        n_levels = levels_choices[g[:, self._col["levels"]]]
        cluster_values = np.asarray(sorted(set(self.cluster_choices)), dtype=np.int64)
        groups: list[tuple[IntArray, MappingBatch]] = []
        for nl in np.unique(n_levels):
            rows = np.flatnonzero(n_levels == nl)
            sub = g[rows]
            clusters = [cluster_values[sub[:, self._col[f"L{lv}.cluster"]]] for lv in range(1, nl)]
            grouped = (
                np.prod(np.stack(clusters), axis=0) if clusters else np.ones(len(rows), np.int64)
            )
            bad = grouped > pes[rows]
            reasons[rows[bad]] = "the cluster sizes multiply to more than the number of PEs"
            keep = np.flatnonzero(~bad)
            if keep.size == 0:
                continue
            rows, sub = rows[keep], sub[keep]
            clusters = [c[keep] for c in clusters]
            tiles = self._tile_values(sub, int(nl))
            key = np.stack(
                [sub[:, self._col[f"L{lv}.{k}"]] for lv in range(nl) for k in ("order", "spatial")],
                axis=1,
            )
            uniq, inverse = np.unique(key, axis=0, return_inverse=True)
            inverse = inverse.reshape(-1)
            for u in range(uniq.shape[0]):
                sel = np.flatnonzero(inverse == u)
                groups.append((rows[sel], self._batch(uniq[u], tiles, clusters, sel)))
        return DecodedBatch(groups=tuple(groups), reasons=reasons)

    def _tile_values(self, sub: IntArray, nl: int) -> dict[tuple[int, str], IntArray]:
        """Tile value of every (level, dim), child tiles clamped into their parents'."""
        out: dict[tuple[int, str], IntArray] = {}
        for d in self.dims:
            parent: IntArray | None = None
            for lv in range(nl):
                idx = sub[:, self._col[f"L{lv}.tile.{d}"]]
                if parent is not None:
                    idx = self._fit[d][idx, parent] if d in self._fit else np.minimum(idx, parent)
                out[lv, d] = self._tiles[d][idx]
                parent = idx
        return out

    def _batch(
        self,
        key: IntArray,
        tiles: dict[tuple[int, str], IntArray],
        clusters: list[IntArray],
        sel: IntArray,
    ) -> MappingBatch:
        kinds: list[DirectiveKind] = []
        names: list[str] = []
        sizes: list[IntArray] = []
        offsets: list[IntArray] = []
        n = len(sel)
        nl = len(key) // 2
        filters = [w for _, w in self.layer.windows if self.layer.size(w) > 1]
        for lv in range(nl):
            if lv > 0:
                kinds.append(DirectiveKind.CLUSTER)
                names.append("")
                sizes.append(clusters[lv - 1][sel])
                offsets.append(np.zeros(n, np.int64))
            perm = self._perms[key[2 * lv]]
            spatial = self.dims[key[2 * lv + 1]]
            for p in perm:
                d = self.dims[p]
                size, offset = self._size_offset(d, tiles[lv, d][sel])
                kinds.append(DirectiveKind.SPATIAL if d == spatial else DirectiveKind.TEMPORAL)
                names.append(d)
                sizes.append(size)
                offsets.append(offset)
            for w in filters:
                r = self.layer.size(w)
                kinds.append(DirectiveKind.TEMPORAL)
                names.append(w)
                sizes.append(np.full(n, r, np.int64))
                offsets.append(np.full(n, r, np.int64))
        template = Template(kinds=tuple(kinds), dims=tuple(names))
        return MappingBatch(
            template=template,
            sizes=np.stack(sizes, axis=1).astype(np.int64),
            offsets=np.stack(offsets, axis=1).astype(np.int64),
        )

    def mapping(self, genotype: Sequence[int] | IntArray, num_pes: int, name: str = "") -> Mapping:
        """One genotype as a ``Mapping`` (raises ``ValueError`` with the reason if rejected)."""
        decoded = self.decode(np.asarray(genotype, dtype=np.int64).reshape(1, -1), num_pes)
        if not decoded.groups:
            raise ValueError(f"genotype rejected: {decoded.reasons[0]}")
        return decoded.groups[0][1].mapping(0, name=name)

    # --- encoding (seeding with known mappings) -------------------------------------------
    def encode(self, mapping: Mapping) -> IntArray | None:
        """The genotype of ``mapping`` if this space can express it exactly, else ``None``.

        Used to seed searches with the classic dataflows. A mapping fits when every level
        has one spatial map on a searched dimension, tiles from the domains (nested as the
        space nests them), windows written as ``(t-1)*stride + R`` advancing by ``t*stride``
        and filters mapped whole; dimensions a level omits keep their parent's tile.
        """
        m = mapping.resolve(self.layer)
        levels = m.levels()
        genotype = np.zeros(self.n_genes, dtype=np.int64)
        try:
            genotype[self._col["levels"]] = self.genes[self._col["levels"]].index(len(levels))
            for lv, c in enumerate(m.cluster_sizes, start=1):
                genotype[self._col[f"L{lv}.cluster"]] = self.genes[
                    self._col[f"L{lv}.cluster"]
                ].index(resolve_size(c, self.layer))
        except (KeyError, ValueError):
            return None
        parent = {d: self._extent(d) for d in self.dims}
        for lv, directives in enumerate(levels):
            tiles = dict(parent)
            seen: list[str] = []
            spatial = [dv.dim for dv in directives if isinstance(dv, SpatialMap)]
            if len(spatial) != 1:
                return None
            for dv in directives:
                dim = OUTPUT_DIMS.get(dv.dim, dv.dim)
                size, offset = (
                    resolve_size(dv.size, self.layer),
                    resolve_size(dv.offset, self.layer),
                )
                if dim in seen:
                    return None
                seen.append(dim)
                if dim not in self.dims:
                    full = self.layer.size(dim)
                    if isinstance(dv, SpatialMap) or size != full or offset != full:
                        return None
                    continue
                w = self.layer.filter_of(dim)
                if w is not None and dv.dim not in OUTPUT_DIMS:
                    t = offset // self.layer.stride_along(dim)
                    written = output_to_input(
                        t, t, self.layer.stride_along(dim), self.layer.size(w)
                    )
                    if t < 1 or (size, offset) != written:
                        return None
                elif size != offset:
                    return None
                else:
                    t = size
                tiles[dim] = t
            order = [d for d in seen if d in self.dims] + [d for d in self.dims if d not in seen]
            label = "".join(order)
            spatial_dim = OUTPUT_DIMS.get(spatial[0], spatial[0])
            try:
                genotype[self._col[f"L{lv}.order"]] = self.genes[self._col[f"L{lv}.order"]].index(
                    label
                )
                genotype[self._col[f"L{lv}.spatial"]] = self.genes[
                    self._col[f"L{lv}.spatial"]
                ].index(spatial_dim)
                for d in self.dims:
                    if tiles[d] > parent[d] or (
                        parent[d] % tiles[d] and self.options.tiles == "divisors"
                    ):
                        return None
                    genotype[self._col[f"L{lv}.tile.{d}"]] = self.genes[
                        self._col[f"L{lv}.tile.{d}"]
                    ].index(tiles[d])
            except (KeyError, ValueError):
                return None
            parent = tiles
        return genotype

    def describe(self) -> str:
        return f"{self.layer.qualified_name} ({self.layer.describe()}), levels {list(self.options.levels)}, tiles {self.options.tiles}"
