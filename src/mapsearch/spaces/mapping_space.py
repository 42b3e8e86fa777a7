"""The mapping space of one layer: directive templates as genes with static domains.

Two kinds of space (``SpaceOptions.kind``):

* ``complete`` holds every classic dataflow of
  :mod:`mapsearch.directives.dataflows` on every layer (with enough ``levels``; see
  ``docs/search_space.md`` for the few it cannot write): a level may map a window pair
  spatially, ``Y`` with ``R`` or ``X`` with ``S`` advancing together (row stationary);
  window tiles of a strided layer may advance one input row (``TemporalMap(R,1) Y``);
  cluster sizes are every size from 1 to the PE count (a cluster that does not divide the
  PEs leaves some idle); with ``tiles="divisors"`` a dimension's tiles are its divisors,
  every size up to :data:`SMALL_TILES` and every power of two below its extent (the tiles
  hand-written dataflows use).
* ``compact``: the earlier, smaller space: one spatial dimension per level, window tiles
  advance whole tiles, cluster sizes divide the PE count, tiles are divisors.

``complete`` is the default (:data:`DEFAULT_KIND`): a proved optimum of it is at least as
good as every classic dataflow. An unset kind (``SpaceOptions.kind`` None) builds the
default, and resuming a study takes the study's own kind (both in
``docs/search_space.md``); studies made before kinds were recorded are compact.

Searched dimensions are those larger than 1, except the filter windows ``R``/``S``: they
are mapped whole (``TemporalMap(R,R) R``) after the level's other loops, except on a
diagonal level (``SpatialMap(1,1) Y; SpatialMap(1,1) R``), which splits them into rows.

Genes, in this order (structural genes of a level before its tiles, so that a prefix of
the genotype fixes the levels, then level by level the cluster, loop order and spatial
dimensions; the order sub-spaces by gene prefix rely on):

``levels`` (1 to 3 cluster levels), then for each level ``l`` (``L0`` outermost):
``L{l}.cluster`` (units per level-``l`` group; not for ``L0``), ``L{l}.order`` (loop order
of the searched dimensions, outer first), ``L{l}.spatial`` (the spatially mapped
dimension), ``L{l}.diagonal`` (complete only, when the layer has a window: ``yes`` maps the
spatial dimension ``Y`` (``X``) as ``SpatialMap(1,1) Y; SpatialMap(1,1) R``, input row
``p`` with filter row ``p`` on unit ``p``; it takes effect where the parent tile holds one
output row whose filter is still whole, and is ignored elsewhere), ``L{l}.tile.D`` for
every searched dimension, and ``L{l}.step.D`` (complete only, ``Y``/``X`` of a strided
layer: ``tile`` advances a whole tile, ``1`` one input row with a tile of one output row,
as the classic ``TemporalMap(R,1) Y`` does; a larger tile would compute outputs twice).

Tiles of ``Y``/``X`` count *output* rows/columns ``t``: the directive is written in input
space as ``(t-1)*stride + R`` rows advancing by ``t*stride`` (``docs/semantics.md`` rule
2), so windows are never cut; below a diagonal level the filter is one row and so is the
tile. A spatial dimension uses the same tile per unit.

Decoding is legal by construction: a child tile larger than its parent's is clamped to
the parent's (with ``tiles="divisors"`` to the largest choice below it that divides the
parent tile, so only a non-divisor choice of the complete space leaves an edge tile);
cluster sizes whose product exceeds the PE count are
rejected with a reason.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from mapsearch.costmodel.batch import DIM_NAMES, KIND_CODES, NONE, MappingBatch
from mapsearch.directives import DirectiveKind, Mapping, resolve_size
from mapsearch.directives.nest import StepModel, nest_signature, output_to_input, unfold
from mapsearch.errors import ConfigError, MapsearchError, UnsupportedError
from mapsearch.layers import Layer
from mapsearch.spaces.genes import Gene, IntArray, apply_fixed, divisors

TILE_MODES: tuple[str, ...] = ("divisors", "any")
#: Kinds of space (see the module docstring).
SPACE_KINDS: tuple[str, ...] = ("complete", "compact")
#: The kind built when none is chosen (see the module docstring).
DEFAULT_KIND = "complete"
MAX_LEVELS = 3
#: The space searched unless told otherwise: one or two cluster levels, divisor tiles.
DEFAULT_LEVELS: tuple[int, ...] = (1, 2)
DEFAULT_TILES = "divisors"
#: Most tile sizes of one dimension under tiles "any" (every size from 1 to the extent).
MAX_TILE_CHOICES = 2**16
#: Complete space, divisor tiles: every tile up to this size is a choice besides the divisors.
SMALL_TILES = 16
#: Choices of a ``L{l}.step.D`` gene: advance a whole tile, or one input row.
STEPS: tuple[str, ...] = ("tile", "1")
#: Choices of a ``L{l}.diagonal`` gene.
DIAGONAL: tuple[str, ...] = ("no", "yes")
ObjArray = npt.NDArray[np.object_]


@dataclass(frozen=True, slots=True, kw_only=True)
class SpaceOptions:
    """User choices that shape a mapping space.

    ``kind``: ``"complete"`` or ``"compact"`` (see the module docstring), or None (not
    chosen): :data:`DEFAULT_KIND` for a new study, the study's own kind when one is resumed
    (:meth:`~mapsearch.studies.StudyRecord.open`). ``levels``: the
    allowed numbers of cluster levels (1 to 3). ``tiles``: ``"divisors"`` (every tile
    divides its parent: no edge cases) or ``"any"`` (every size). ``fixed``: ``(gene name,
    value)`` pairs pinning genes, e.g. ``("L0.spatial", "K")``, ``("L0.order", "KCYX")``.
    """

    levels: tuple[int, ...] = DEFAULT_LEVELS
    tiles: str = DEFAULT_TILES
    fixed: tuple[tuple[str, str], ...] = ()
    kind: str | None = None

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
        if self.kind is not None and self.kind not in SPACE_KINDS:
            problems.append(f"space must be one of {SPACE_KINDS}, got {self.kind!r}")
        if problems:
            raise ConfigError("; ".join(problems))

    @property
    def built_kind(self) -> str:
        """The kind of space these options build: ``kind``, else :data:`DEFAULT_KIND`."""
        return self.kind or DEFAULT_KIND

    def to_dict(self) -> dict[str, object]:
        """The space as a study's fingerprint records it (the kind built, never None)."""
        out: dict[str, object] = {
            "levels": list(self.levels),
            "tiles": self.tiles,
            "fixed": [list(p) for p in self.fixed],
        }
        # Studies made before space kinds were all compact and stored no kind: the compact
        # space keeps their fingerprint, so a missing kind reads as compact.
        if self.built_kind != "compact":
            out["kind"] = self.built_kind
        return out


@dataclass(frozen=True, slots=True)
class DecodedBatch:
    """Genotypes decoded into one batch of mappings (templates as data).

    ``batch`` holds the mappings of the genotypes that decoded (``None`` when none did),
    ``rows[k]`` the genotype row of its mapping ``k``; ``reasons[i]`` is why genotype row
    ``i`` was rejected ("" when it decoded).
    """

    batch: MappingBatch | None
    rows: IntArray
    reasons: ObjArray


def _tile_domain(extent: int, tiles: str, complete: bool) -> tuple[int, ...]:
    """Tile choices of a dimension of ``extent`` (see the module docstring)."""
    if tiles == "any":
        return tuple(range(1, extent + 1))
    values = set(divisors(extent))
    if complete:
        values |= set(range(1, min(SMALL_TILES, extent) + 1))
        values |= {1 << k for k in range(extent.bit_length()) if 1 << k <= extent}
    return tuple(sorted(values))


@dataclass(frozen=True, slots=True, kw_only=True)
class MappingSpace:
    """All mappings of ``layer`` reachable with these options; see the module docstring.

    ``cluster_choices`` are the allowed cluster sizes (for the PE counts the space will be
    used with, see :meth:`build`).
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
    #: Per gene: index of each of its choices in its unfixed domain (fixed genes keep one).
    _domain: dict[str, IntArray] = field(init=False, repr=False, compare=False)
    #: Per gene: the indices of its choices in the compact part (:attr:`compact_part`).
    _compact: tuple[IntArray, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        layer = self.layer
        complete = self.complete
        window_filters = {w for _, w in layer.windows}
        dims = tuple(d for d, n in layer.dims if n > 1 and d not in window_filters)
        if not dims:
            raise UnsupportedError(
                f"layer {layer.qualified_name} has no dimension larger than 1 to map; "
                "nothing to search"
            )
        if not self.cluster_choices or min(self.cluster_choices) < 1:
            raise ValueError(f"cluster sizes must be >= 1, got {self.cluster_choices}")
        tiles: dict[str, IntArray] = {}
        fit: dict[str, IntArray] = {}
        for d in dims:
            extent = self._extent(d)
            if self.options.tiles == "any" and extent > MAX_TILE_CHOICES:
                raise ConfigError(
                    f"{d}={extent:,} has too many tile sizes for tiles 'any' (at most "
                    f"{MAX_TILE_CHOICES:,}); use tiles 'divisors'"
                )
            arr = np.asarray(_tile_domain(extent, self.options.tiles, complete), dtype=np.int64)
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
            if complete and self._windowed(dims):
                genes.append(
                    Gene(
                        name=f"L{lv}.diagonal",
                        choices=DIAGONAL,
                        ordered=False,
                        doc="map the spatial dimension's window partner spatially too",
                    )
                )
            genes += [
                Gene(
                    name=f"L{lv}.tile.{d}",
                    choices=tuple(int(v) for v in tiles[d]),
                    ordered=True,
                    doc=f"{d} tile per unit"
                    + (" (output rows/cols)" if layer.filter_of(d) is not None else ""),
                )
                for d in dims
            ]
            if complete:
                for d in self._stepped(dims):
                    genes.append(
                        Gene(
                            name=f"L{lv}.step.{d}",
                            choices=STEPS,
                            ordered=False,
                            doc=f"{d} advances a whole tile, or 1 input row with a 1-row tile",
                        )
                    )
                    genes.append(
                        Gene(
                            name=f"L{lv}.pad.{d}",
                            choices=tuple(range(layer.stride_along(d))),
                            ordered=True,
                            doc=f"input rows after the last window of a {d} tile (no output)",
                        )
                    )
        final = apply_fixed(genes, self.options.fixed)
        object.__setattr__(self, "genes", final)
        object.__setattr__(self, "dims", dims)
        object.__setattr__(self, "_col", {g.name: i for i, g in enumerate(final)})
        object.__setattr__(self, "_tiles", tiles)
        object.__setattr__(self, "_fit", fit)
        object.__setattr__(self, "_perms", perms)
        domain = {
            g.name: np.asarray([g.choices.index(c) for c in f.choices], dtype=np.int64)
            for g, f in zip(genes, final, strict=True)
        }
        object.__setattr__(self, "_domain", domain)
        compact = self._compact_values()
        object.__setattr__(
            self,
            "_compact",
            tuple(
                np.asarray(
                    [i for i, c in enumerate(g.choices) if c in compact.get(g.name, (c,))]
                    or range(g.size),
                    dtype=np.int64,
                )
                for g in final
            ),
        )

    @classmethod
    def build(
        cls, layer: Layer, num_pes: int | Sequence[int], options: SpaceOptions | None = None
    ) -> MappingSpace:
        """The space for ``layer`` on arrays of ``num_pes`` PEs (one count, or several for
        co-design): complete spaces take every cluster size up to the largest count,
        compact ones the divisors (>= 2) of the counts."""
        options = options or SpaceOptions()
        counts = [num_pes] if isinstance(num_pes, int) else list(num_pes)
        if options.built_kind == "complete":
            clusters = list(range(1, max(counts) + 1))
        else:
            clusters = sorted({d for n in counts for d in divisors(n) if d >= 2}) or [2]
        return cls(layer=layer, cluster_choices=tuple(clusters), options=options)

    @property
    def complete(self) -> bool:
        return self.options.built_kind == "complete"

    @property
    def compact_part(self) -> tuple[IntArray, ...]:
        """Per gene, the indices of the choices the compact space has: cluster sizes (>= 2)
        dividing the largest PE count, divisor tiles, no diagonal, whole-tile steps, no pad
        (every choice of a compact space, of a gene fixed to one value, and of every other
        gene). Genotypes made of them decode as in the compact space of the same options, so
        searchers draw part of their genotypes there (:meth:`~mapsearch.spaces.Genome.sample`):
        a fixed budget finds its good points in the complete space too."""
        return self._compact

    def _compact_values(self) -> dict[str, tuple[int | str, ...]]:
        """By gene name, the choices of the compact part where they are not every choice
        (see :attr:`compact_part`)."""
        if not self.complete:
            return {}
        clusters = tuple(d for d in divisors(max(self.cluster_choices)) if d >= 2)
        out: dict[str, tuple[int | str, ...]] = {}
        for g in self.genes:
            kind = g.name.split(".")[1] if "." in g.name else g.name
            if kind == "cluster":
                out[g.name] = clusters
            elif kind == "diagonal":
                out[g.name] = (DIAGONAL[0],)
            elif kind == "step":
                out[g.name] = (STEPS[0],)
            elif kind == "pad":
                out[g.name] = (0,)
            elif kind == "tile" and self.options.tiles == "divisors":
                out[g.name] = divisors(self._extent(g.name.split(".")[2]))
        return out

    # --- geometry -------------------------------------------------------------------------
    def _extent(self, d: str) -> int:
        """Tiled extent of ``d``: output rows/cols for window dimensions, else the size."""
        return self.layer.out_size(d)

    def _stepped(self, dims: Sequence[str]) -> tuple[str, ...]:
        """Window dimensions of a strided layer: those with a ``step`` gene (complete)."""
        return tuple(
            d
            for d in dims
            if self.layer.filter_of(d) is not None and self.layer.stride_along(d) > 1
        )

    def _windowed(self, dims: Sequence[str]) -> tuple[str, ...]:
        """The searched window dimensions whose filter is larger than 1 (``Y`` for ``R``)."""
        return tuple(d for d in dims if self._filter(d) is not None)

    def _filter(self, d: str) -> str | None:
        """The filter that windows ``d`` when it is larger than 1."""
        w = self.layer.filter_of(d)
        return w if w is not None and self.layer.size(w) > 1 else None

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
        batches: list[MappingBatch] = []
        kept: list[IntArray] = []
        for nl in np.unique(n_levels).tolist():
            rows = np.flatnonzero(n_levels == nl)
            sub = g[rows]
            clusters = [cluster_values[self._choice(sub, f"L{lv}.cluster")] for lv in range(1, nl)]
            grouped = (
                np.prod(np.stack(clusters), axis=0) if clusters else np.ones(len(rows), np.int64)
            )
            bad = grouped > pes[rows]
            reasons[rows[bad]] = "the cluster sizes multiply to more than the number of PEs"
            keep = np.flatnonzero(~bad)
            if keep.size == 0:
                continue
            kept.append(rows[keep])
            batches.append(self._batch(sub[keep], nl, [c[keep] for c in clusters]))
        if not batches:
            return DecodedBatch(batch=None, rows=np.zeros(0, np.int64), reasons=reasons)
        return DecodedBatch(
            batch=MappingBatch.concat(batches), rows=np.concatenate(kept), reasons=reasons
        )

    def _choice(self, sub: IntArray, name: str) -> IntArray:
        """Gene ``name`` of genotypes ``sub`` as indices into its unfixed domain."""
        return self._domain[name][sub[:, self._col[name]]]

    def _row_steps(self, sub: IntArray, lv: int, d: str) -> IntArray:
        """True where level ``lv`` advances ``d`` by one input row (``step`` gene ``1``)."""
        name = f"L{lv}.step.{d}"
        if name not in self._col:
            return np.zeros(len(sub), dtype=bool)
        return self._choice(sub, name) == STEPS.index("1")

    def _diagonals(self, sub: IntArray, nl: int) -> dict[tuple[int, str], IntArray]:
        """Per (level, window dimension): True where the level maps the dimension and its
        filter diagonally, False where it does not; every window dimension is present."""
        out: dict[tuple[int, str], IntArray] = {}
        for lv in range(nl):
            name = f"L{lv}.diagonal"
            yes = (
                self._choice(sub, name) == DIAGONAL.index("yes")
                if name in self._col
                else np.zeros(len(sub), dtype=bool)
            )
            chosen = self._choice(sub, f"L{lv}.spatial")
            for d in self._windowed(self.dims):
                out[lv, d] = yes & (chosen == self.dims.index(d))
        return out

    def _pad(self, sub: IntArray, lv: int, d: str) -> IntArray:
        """Input rows after the last window of a level-``lv`` tile of ``d`` (``pad`` gene)."""
        name = f"L{lv}.pad.{d}"
        if name not in self._col:
            return np.zeros(len(sub), dtype=np.int64)
        return self._choice(sub, name)

    def _tile_values(
        self, sub: IntArray, nl: int
    ) -> tuple[dict[tuple[int, str], IntArray], dict[tuple[int, str], IntArray]]:
        """Tile value of every (level, dim), child tiles clamped into their parents', and
        where each window dimension is diagonal at each level (see the module docstring)."""
        wanted = self._diagonals(sub, nl)
        diagonal: dict[tuple[int, str], IntArray] = {}
        out: dict[tuple[int, str], IntArray] = {}
        for d in self.dims:
            parent: IntArray | None = None
            split = np.zeros(len(sub), dtype=bool)  # the filter is one row from here down
            for lv in range(nl):
                idx = self._choice(sub, f"L{lv}.tile.{d}")
                if parent is not None:
                    idx = self._fit[d][idx, parent] if d in self._fit else np.minimum(idx, parent)
                if (lv, d) in wanted:
                    one_row = (parent == 0) if parent is not None else self._extent(d) == 1
                    diagonal[lv, d] = wanted[lv, d] & one_row & ~split
                    split = split | diagonal[lv, d]
                idx = np.where(self._row_steps(sub, lv, d) | split, 0, idx)
                out[lv, d] = self._tiles[d][idx]
                parent = idx
        return out, diagonal

    def _size_offset(
        self,
        sub: IntArray,
        tiles: dict[tuple[int, str], IntArray],
        diagonal: dict[tuple[int, str], IntArray],
        lv: int,
        d: str,
    ) -> tuple[IntArray, IntArray]:
        """Directive size and offset of ``d`` at level ``lv``: the tile, or for a window
        dimension its output tile in input space (``docs/semantics.md`` rule 2), one input
        row per slice on a diagonal level or where the step gene says so."""
        tile = tiles[lv, d]
        w = self._filter(d)
        if w is None:
            if self.layer.filter_of(d) is None:
                return tile, tile
            size, offset = output_to_input(tile, tile, self.layer.stride_along(d), 1)
            rows = self._row_steps(sub, lv, d)
            return size + np.where(rows, 0, self._pad(sub, lv, d)), np.where(rows, 1, offset)
        split = np.logical_or.reduce([diagonal[k, d] for k in range(lv + 1)])
        r = np.where(split, 1, self.layer.size(w))
        size, offset = output_to_input(tile, tile, self.layer.stride_along(d), r)
        rows = self._row_steps(sub, lv, d) | diagonal[lv, d]
        return size + np.where(rows | split, 0, self._pad(sub, lv, d)), np.where(rows, 1, offset)

    def _batch(self, sub: IntArray, nl: int, clusters: list[IntArray]) -> MappingBatch:
        """The mappings of genotypes ``sub`` with ``nl`` levels: per level, its cluster, its
        searched dimensions in the row's loop order (the spatial one a SpatialMap), then the
        filter windows (whole, or one row: spatial on a diagonal level, temporal below it).
        The template is data: each row has its own."""
        n = len(sub)
        tiles, diagonal = self._tile_values(sub, nl)
        windows = [(d, w) for d, w in self.layer.windows if self.layer.size(w) > 1]
        dim_codes = np.array([DIM_NAMES.index(d) for d in self.dims], dtype=np.int8)
        temporal, spatial = KIND_CODES[DirectiveKind.TEMPORAL], KIND_CODES[DirectiveKind.SPATIAL]
        kinds: list[IntArray] = []
        dims: list[IntArray] = []
        sizes: list[IntArray] = []
        offsets: list[IntArray] = []

        def column(
            kind: npt.ArrayLike, dim: npt.ArrayLike, size: npt.ArrayLike, offset: npt.ArrayLike
        ) -> None:
            kinds.append(np.broadcast_to(np.asarray(kind, dtype=np.int8), (n,)))
            dims.append(np.broadcast_to(np.asarray(dim, dtype=np.int8), (n,)))
            sizes.append(np.broadcast_to(size, (n,)))
            offsets.append(np.broadcast_to(offset, (n,)))

        for lv in range(nl):
            if lv > 0:
                column(KIND_CODES[DirectiveKind.CLUSTER], NONE, clusters[lv - 1], np.int64(0))
            order = self._perms[self._choice(sub, f"L{lv}.order")]  # (n, dims): dim at position
            chosen = self._choice(sub, f"L{lv}.spatial")
            size_by_dim, offset_by_dim = zip(
                *(self._size_offset(sub, tiles, diagonal, lv, d) for d in self.dims), strict=True
            )
            level_sizes = np.take_along_axis(np.stack(size_by_dim, axis=1), order, axis=1)
            level_offsets = np.take_along_axis(np.stack(offset_by_dim, axis=1), order, axis=1)
            for p in range(len(self.dims)):
                column(
                    np.where(order[:, p] == chosen, spatial, temporal),
                    dim_codes[order[:, p]],
                    level_sizes[:, p],
                    level_offsets[:, p],
                )
            for d, w in windows:
                if (lv, d) not in diagonal:
                    whole = np.int64(self.layer.size(w))
                    column(temporal, DIM_NAMES.index(w), whole, whole)
                    continue
                split = np.logical_or.reduce([diagonal[k, d] for k in range(lv + 1)])
                rows = np.where(split, 1, self.layer.size(w)).astype(np.int64)
                column(np.where(diagonal[lv, d], spatial, temporal), DIM_NAMES.index(w), rows, rows)
        return MappingBatch(
            kinds=np.stack(kinds, axis=1),
            dims=np.stack(dims, axis=1),
            sizes=np.stack(sizes, axis=1).astype(np.int64),
            offsets=np.stack(offsets, axis=1).astype(np.int64),
        )

    def mapping(self, genotype: Sequence[int] | IntArray, num_pes: int, name: str = "") -> Mapping:
        """One genotype as a ``Mapping`` (raises ``ValueError`` with the reason if rejected)."""
        decoded = self.decode(np.asarray(genotype, dtype=np.int64).reshape(1, -1), num_pes)
        if decoded.batch is None:
            raise ValueError(f"genotype rejected: {decoded.reasons[0]}")
        return decoded.batch.mapping(0, name=name)

    # --- encoding (seeding with known mappings) -------------------------------------------
    def encode(self, mapping: Mapping) -> IntArray | None:
        """The genotype of ``mapping`` if this space holds it, else ``None``.

        Held means: the genotype decodes to a mapping with the same loop nest
        (:func:`~mapsearch.directives.nest.nest_signature`: the same units, multi-trip loops
        and spatial maps in the same order, the same tiles handed down). Directives that
        run once (a whole dimension, a dimension a level omits) may sit elsewhere or be
        written differently (``Y'``/``Y``, a tile larger than its extent). Used to seed
        searches with the classic dataflows and to test that the space holds them.
        """
        m = mapping.resolve(self.layer)
        pes = max(1, math.prod(resolve_size(c, self.layer) for c in m.cluster_sizes))
        try:
            nest = unfold(self.layer, m, pes)
            genotype = self._genotype(nest)
        except (KeyError, ValueError, MapsearchError):
            return None
        if genotype is None:
            return None
        decoded = self.decode(genotype[None, :], pes)
        if decoded.batch is None:
            return None
        again = unfold(self.layer, decoded.batch.mapping(0), pes)
        return genotype if nest_signature(again) == nest_signature(nest) else None

    def _genotype(self, nest: StepModel[int]) -> IntArray | None:
        """The genotype :meth:`encode` proposes for ``nest`` (raises ``KeyError`` or
        ``UnknownNameError`` for a value outside the domains)."""
        genotype = np.zeros(self.n_genes, dtype=np.int64)

        def put(name: str, value: int | str) -> None:
            genotype[self._col[name]] = self.genes[self._col[name]].index(value)

        put("levels", len(nest.levels))
        for lv, units in enumerate(nest.units[1:], start=1):
            put(f"L{lv}.cluster", int(units))
        parent = {d: self._extent(d) for d in self.dims}
        for lv, level in enumerate(nest.levels):
            tiles = dict(parent)
            seen = [dm.dim for dm in level if dm.dim in self.dims]
            spatial = [dm.dim for dm in level if dm.dim in self.dims and dm.spatial]
            steps: dict[str, str] = {}
            pads: dict[str, int] = {}
            # a spatial filter of a window pair; one of size 1 is left to the final check
            diagonal = [
                dm.dim
                for dm in level
                if dm.spatial and dm.dim not in self.dims and self.layer.size(dm.dim) > 1
            ]
            if not spatial:
                # e.g. a one-unit level mapping a size-1 dimension spatially: a dimension
                # that runs once there spreads nothing either (the final check decides)
                once = {dm.dim for dm in level if dm.slices > 1}
                spatial = [d for d in self.dims if d not in once][:1]
            if len(spatial) != 1 or len(diagonal) > 1:
                return None
            if diagonal:
                if self.layer.filter_of(spatial[0]) != diagonal[0]:
                    return None
                put(f"L{lv}.diagonal", "yes")
                tiles[spatial[0]] = 1  # one input row with one filter row per unit
            for dm in level:
                d = dm.dim
                if d not in self.dims or dm.size >= dm.extent or (diagonal and d == spatial[0]):
                    continue  # runs once (keeps the parent's tile), or set above
                w = self._filter(d)
                stride = self.layer.stride_along(d)
                r = self.layer.size(w) if w is not None else 1
                if w is None and self.layer.filter_of(d) is None:
                    tiles[d] = dm.size
                elif stride > 1 and dm.offset == 1 and dm.size == r:
                    tiles[d], steps[d] = 1, "1"
                elif dm.offset % stride == 0 and dm.offset // stride >= 1:
                    tiles[d] = dm.offset // stride
                    pads[d] = dm.size - ((tiles[d] - 1) * stride + r)
                else:
                    return None
            put(f"L{lv}.order", "".join(seen + [d for d in self.dims if d not in seen]))
            put(f"L{lv}.spatial", spatial[0])
            if self.complete:
                for d in self._stepped(self.dims):
                    put(f"L{lv}.step.{d}", steps.get(d, "tile"))
                    put(f"L{lv}.pad.{d}", pads.get(d, 0))
            for d in self.dims:
                put(f"L{lv}.tile.{d}", tiles[d])
            parent = tiles
        return genotype

    def describe(self) -> str:
        return (
            f"{self.layer.qualified_name} ({self.layer.describe()}), {self.options.built_kind} space, "
            f"levels {list(self.options.levels)}, tiles {self.options.tiles}"
        )
