"""The vectorisation boundary: a batch of mappings as arrays, templates included.

A *template* is a mapping's directive kinds and dimensions in order (its loop order, spatial
dimensions and cluster structure). In a batch the template is data, not the key of the
batch: row ``i`` holds, directive by directive, a kind code (``KIND_CODES``), a dimension code
(an index into ``DIM_NAMES``), and the size and offset (for a ``Cluster`` directive: its
size, offset 0). Rows of different lengths are padded at the end with kind ``NONE``. The
cost models read these arrays and never loop in Python over mappings.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from mapsearch.directives import (
    Cluster,
    Directive,
    DirectiveKind,
    Mapping,
    SpatialMap,
    TemporalMap,
    resolve_size,
)
from mapsearch.errors import MappingError
from mapsearch.layers import OP_DIMS, OUTPUT_DIMS, Layer

IntArray = npt.NDArray[np.int64]
CodeArray = npt.NDArray[np.int8]

#: Kind code of each directive kind in a batch row; ``NONE`` pads shorter rows.
KIND_CODES: dict[DirectiveKind, int] = {
    DirectiveKind.TEMPORAL: 0,
    DirectiveKind.SPATIAL: 1,
    DirectiveKind.CLUSTER: 2,
}
KINDS: tuple[DirectiveKind, ...] = tuple(KIND_CODES)
NONE = -1
#: Every dimension a directive may name (any operator's, and ``Y'``/``X'``); a batch row
#: holds indices into it (-1 for Cluster directives and padding).
DIM_NAMES: tuple[str, ...] = (
    *dict.fromkeys(d for dims in OP_DIMS.values() for d in dims),
    *OUTPUT_DIMS,
)


@dataclass(frozen=True, slots=True)
class Template:
    """Directive kinds and dimensions (``""`` for Cluster), in order."""

    kinds: tuple[DirectiveKind, ...]
    dims: tuple[str, ...]

    def __post_init__(self) -> None:
        # A kind may be given by its letter ("T", "S", "C"); it is stored as the enum.
        if not all(type(k) is DirectiveKind for k in self.kinds):
            object.__setattr__(self, "kinds", tuple(DirectiveKind(k) for k in self.kinds))

    @classmethod
    def of(cls, mapping: Mapping) -> Template:
        kinds = tuple(d.kind for d in mapping.directives)
        dims = tuple("" if isinstance(d, Cluster) else d.dim for d in mapping.directives)
        return cls(kinds=kinds, dims=dims)

    def __len__(self) -> int:
        return len(self.kinds)

    def directive(self, i: int, size: int, offset: int) -> Directive:
        """The ``i``-th directive with concrete size and offset."""
        kind = self.kinds[i]
        if kind is DirectiveKind.CLUSTER:
            return Cluster(size)
        cls = SpatialMap if kind is DirectiveKind.SPATIAL else TemporalMap
        return cls(size, offset, self.dims[i])

    def codes(self) -> tuple[CodeArray, CodeArray]:
        """The template's kind and dimension codes (one row of a batch)."""
        problems = [
            f"directive {i} maps {d!r}, which no layer has; use one of {', '.join(DIM_NAMES)}"
            for i, (k, d) in enumerate(zip(self.kinds, self.dims, strict=True))
            if k is not DirectiveKind.CLUSTER and d not in DIM_NAMES
        ]
        if problems:
            raise MappingError(problems)
        kinds = np.array([KIND_CODES[k] for k in self.kinds], dtype=np.int8)
        dims = np.array(
            [
                NONE if k is DirectiveKind.CLUSTER else DIM_NAMES.index(d)
                for k, d in zip(self.kinds, self.dims, strict=True)
            ],
            dtype=np.int8,
        )
        return kinds, dims

    def __str__(self) -> str:
        return "; ".join(
            "Cluster"
            if k is DirectiveKind.CLUSTER
            else f"{'Spatial' if k is DirectiveKind.SPATIAL else 'Temporal'}Map {d}"
            for k, d in zip(self.kinds, self.dims, strict=True)
        )


@dataclass(frozen=True, slots=True)
class MappingBatch:
    """``B`` mappings: arrays of shape ``(B, n)`` of directive kind codes, dimension codes,
    sizes and offsets (see the module docstring); rows may have different templates."""

    kinds: CodeArray
    dims: CodeArray
    sizes: IntArray
    offsets: IntArray

    def __post_init__(self) -> None:
        shape = self.sizes.shape
        if len(shape) != 2 or any(a.shape != shape for a in (self.kinds, self.dims, self.offsets)):
            raise ValueError(
                "kinds, dims, sizes and offsets must share one shape (B, n), got "
                f"{self.kinds.shape}, {self.dims.shape}, {shape} and {self.offsets.shape}"
            )

    def __len__(self) -> int:
        return int(self.sizes.shape[0])

    @classmethod
    def of(cls, template: Template, sizes: npt.ArrayLike, offsets: npt.ArrayLike) -> MappingBatch:
        """Mappings of one ``template``: ``sizes``/``offsets`` of shape ``(B, len(template))``."""
        s = np.asarray(sizes, dtype=np.int64)
        o = np.asarray(offsets, dtype=np.int64)
        n = len(template)
        if s.ndim != 2 or s.shape[1] != n or o.shape != s.shape:
            raise ValueError(
                f"sizes and offsets must both have shape (B, {n}), got {s.shape} and {o.shape}"
            )
        kinds, dims = template.codes()
        B = s.shape[0]
        return cls(
            kinds=np.broadcast_to(kinds, (B, n)).copy(),
            dims=np.broadcast_to(dims, (B, n)).copy(),
            sizes=s,
            offsets=o,
        )

    @classmethod
    def from_mappings(cls, mappings: Sequence[Mapping], layer: Layer) -> MappingBatch:
        """Resolve ``Sz()`` against ``layer`` and stack (any templates)."""
        if not mappings:
            raise ValueError("a batch needs at least one mapping")
        resolved = [m.resolve(layer) for m in mappings]
        n = max(len(m.directives) for m in resolved)
        B = len(resolved)
        kinds = np.full((B, n), NONE, dtype=np.int8)
        dims = np.full((B, n), NONE, dtype=np.int8)
        sizes = np.zeros((B, n), dtype=np.int64)
        offsets = np.zeros((B, n), dtype=np.int64)
        for i, m in enumerate(resolved):
            k, d = Template.of(m).codes()
            w = len(k)
            kinds[i, :w], dims[i, :w] = k, d
            sizes[i, :w] = [resolve_size(dv.size, layer) for dv in m.directives]
            offsets[i, :w] = [
                0 if isinstance(dv, Cluster) else resolve_size(dv.offset, layer)
                for dv in m.directives
            ]
        return cls(kinds=kinds, dims=dims, sizes=sizes, offsets=offsets)

    @classmethod
    def concat(cls, batches: Sequence[MappingBatch]) -> MappingBatch:
        """The rows of ``batches`` in order (padded to the widest)."""
        if not batches:
            raise ValueError("MappingBatch.concat needs at least one batch")
        n = max(b.sizes.shape[1] for b in batches)

        def pad(a: npt.NDArray[np.generic], fill: int) -> npt.NDArray[np.generic]:
            return np.pad(a, ((0, 0), (0, n - a.shape[1])), constant_values=fill)

        return cls(
            kinds=np.concatenate([pad(b.kinds, NONE) for b in batches]),
            dims=np.concatenate([pad(b.dims, NONE) for b in batches]),
            sizes=np.concatenate([pad(b.sizes, 0) for b in batches]),
            offsets=np.concatenate([pad(b.offsets, 0) for b in batches]),
        )

    def template_of(self, i: int) -> Template:
        """Row ``i``'s template."""
        kinds = self.kinds[i].tolist()
        width = len(kinds) - kinds.count(NONE)
        return Template(
            kinds=tuple([KINDS[k] for k in kinds[:width]]),
            dims=tuple(["" if d < 0 else DIM_NAMES[d] for d in self.dims[i, :width].tolist()]),
        )

    def templates(self) -> tuple[list[Template], IntArray]:
        """The distinct templates of the batch (in order of first appearance) and the index
        of every row's template among them."""
        codes = np.concatenate([self.kinds, self.dims], axis=1)
        _, first, inverse = np.unique(codes, axis=0, return_index=True, return_inverse=True)
        order = np.argsort(first)
        rank = np.empty_like(order)
        rank[order] = np.arange(len(order))
        return [self.template_of(int(first[k])) for k in order], rank[inverse.reshape(-1)]

    @property
    def template(self) -> Template:
        """The batch's template; ``ValueError`` when its rows do not share one."""
        if len(self) == 0:
            raise ValueError("an empty batch has no template")
        if (self.kinds != self.kinds[0]).any() or (self.dims != self.dims[0]).any():
            raise ValueError("the batch's rows have different templates; see templates()")
        return self.template_of(0)

    def mapping(self, i: int, name: str = "") -> Mapping:
        """The ``i``-th mapping as a value."""
        t = self.template_of(i)
        directives = tuple(
            t.directive(j, int(self.sizes[i, j]), int(self.offsets[i, j])) for j in range(len(t))
        )
        return Mapping(directives=directives, name=name)

    def take(self, index: npt.ArrayLike) -> MappingBatch:
        """A sub-batch (fancy or boolean indexing along the batch axis)."""
        idx = np.asarray(index)
        return MappingBatch(
            kinds=self.kinds[idx],
            dims=self.dims[idx],
            sizes=self.sizes[idx],
            offsets=self.offsets[idx],
        )
