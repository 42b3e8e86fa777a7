"""The vectorisation boundary: mappings that share a directive template, as int64 arrays.

A *template* fixes the directive kinds and dimensions in order (so the loop order, the
spatial dimensions and the cluster structure); a *batch* holds, per mapping, the size and
offset of every directive (for a ``Cluster`` directive: its size, offset 0). Kernels see
only these arrays and loop in Python over directives, never over mappings.
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
from mapsearch.layers import Layer

IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True, slots=True)
class Template:
    """Directive kinds and dimensions (``""`` for Cluster), in order."""

    kinds: tuple[DirectiveKind, ...]
    dims: tuple[str, ...]

    def __post_init__(self) -> None:
        # A kind may be given by its letter ("T", "S", "C"); it is stored as the enum.
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

    def __str__(self) -> str:
        return "; ".join(
            "Cluster"
            if k is DirectiveKind.CLUSTER
            else f"{'Spatial' if k is DirectiveKind.SPATIAL else 'Temporal'}Map {d}"
            for k, d in zip(self.kinds, self.dims, strict=True)
        )


@dataclass(frozen=True, slots=True)
class MappingBatch:
    """``B`` mappings of one template: ``sizes`` and ``offsets`` have shape ``(B, len(template))``."""

    template: Template
    sizes: IntArray
    offsets: IntArray

    def __post_init__(self) -> None:
        n = len(self.template)
        if (
            self.sizes.ndim != 2
            or self.sizes.shape[1] != n
            or self.offsets.shape != self.sizes.shape
        ):
            raise ValueError(
                f"sizes and offsets must both have shape (B, {n}), "
                f"got {self.sizes.shape} and {self.offsets.shape}"
            )

    def __len__(self) -> int:
        return int(self.sizes.shape[0])

    @classmethod
    def from_mappings(cls, mappings: Sequence[Mapping], layer: Layer) -> MappingBatch:
        """Resolve ``Sz()`` against ``layer`` and stack; every mapping must share one template."""
        if not mappings:
            raise ValueError("a batch needs at least one mapping")
        resolved = [m.resolve(layer) for m in mappings]
        template = Template.of(resolved[0])
        for i, m in enumerate(resolved[1:], start=1):
            if Template.of(m) != template:
                raise MappingError(
                    [f"mapping {i} has template [{Template.of(m)}], batch has [{template}]"]
                )
        sizes = np.array(
            [[resolve_size(d.size, layer) for d in m.directives] for m in resolved], dtype=np.int64
        )
        offsets = np.array(
            [
                [
                    0 if isinstance(d, Cluster) else resolve_size(d.offset, layer)
                    for d in m.directives
                ]
                for m in resolved
            ],
            dtype=np.int64,
        )
        return cls(template=template, sizes=sizes, offsets=offsets)

    def mapping(self, i: int, name: str = "") -> Mapping:
        """The ``i``-th mapping as a value."""
        directives = tuple(
            self.template.directive(j, int(self.sizes[i, j]), int(self.offsets[i, j]))
            for j in range(len(self.template))
        )
        return Mapping(directives=directives, name=name)

    def take(self, index: npt.ArrayLike) -> MappingBatch:
        """A sub-batch (fancy or boolean indexing along the batch axis)."""
        idx = np.asarray(index)
        return MappingBatch(
            template=self.template, sizes=self.sizes[idx], offsets=self.offsets[idx]
        )
