"""MAESTRO's data-centric directives as values.

``TemporalMap(size, offset) D``: every unit gets the same ``size``-wide slice of ``D``,
advancing by ``offset`` each step. ``SpatialMap(size, offset) D``: unit ``p`` gets the slice
starting at ``p * offset`` (folding when the units do not cover ``D``). ``Cluster(n)``
splits the units into groups of ``n`` (a PE hierarchy). Directive order is loop order.
Sizes and offsets may be ``Sz(D)``, the full size of dimension ``D``, until resolved
against a layer with :meth:`Mapping.resolve`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import TYPE_CHECKING, ClassVar, TypeAlias

if TYPE_CHECKING:
    from mapsearch.layers import Layer


class DirectiveKind(StrEnum):
    """What a directive does; the value is the letter templates print (``T``, ``S``, ``C``)."""

    TEMPORAL = "T"
    SPATIAL = "S"
    CLUSTER = "C"


@dataclass(frozen=True, slots=True)
class Sz:
    """The full size of dimension ``dim`` of the layer a mapping is applied to."""

    dim: str

    def __str__(self) -> str:
        return f"Sz({self.dim})"


Size: TypeAlias = int | Sz


def resolve_size(value: Size, layer: Layer) -> int:
    """An int as is; ``Sz(D)`` as the layer's size of ``D`` (``Y'``/``X'`` are output sizes)."""
    return layer.size(value.dim) if isinstance(value, Sz) else int(value)


@dataclass(frozen=True, slots=True)
class TemporalMap:
    """``TemporalMap(size, offset) dim``."""

    size: Size
    offset: Size
    dim: str

    kind: ClassVar[DirectiveKind] = DirectiveKind.TEMPORAL

    def __str__(self) -> str:
        return f"TemporalMap({self.size},{self.offset}) {self.dim}"


@dataclass(frozen=True, slots=True)
class SpatialMap:
    """``SpatialMap(size, offset) dim``."""

    size: Size
    offset: Size
    dim: str

    kind: ClassVar[DirectiveKind] = DirectiveKind.SPATIAL

    def __str__(self) -> str:
        return f"SpatialMap({self.size},{self.offset}) {self.dim}"


@dataclass(frozen=True, slots=True)
class Cluster:
    """``Cluster(size)``: groups of ``size`` units; directives below it map within a group."""

    size: Size

    kind: ClassVar[DirectiveKind] = DirectiveKind.CLUSTER

    def __str__(self) -> str:
        return f"Cluster({self.size})"


Directive: TypeAlias = TemporalMap | SpatialMap | Cluster
MapDirective: TypeAlias = TemporalMap | SpatialMap


@dataclass(frozen=True, slots=True, kw_only=True)
class Mapping:
    """An ordered list of directives (outer loop first), optionally named."""

    directives: tuple[Directive, ...]
    name: str = ""

    def __iter__(self) -> Iterator[Directive]:
        return iter(self.directives)

    def __len__(self) -> int:
        return len(self.directives)

    def levels(self) -> list[tuple[MapDirective, ...]]:
        """The map directives of each cluster level, outermost first."""
        out: list[list[MapDirective]] = [[]]
        for d in self.directives:
            if isinstance(d, Cluster):
                out.append([])
            else:
                out[-1].append(d)
        return [tuple(level) for level in out]

    @property
    def cluster_sizes(self) -> tuple[Size, ...]:
        return tuple(d.size for d in self.directives if isinstance(d, Cluster))

    def resolve(self, layer: Layer) -> Mapping:
        """Replace every ``Sz(D)`` by the layer's size of ``D``."""
        out: list[Directive] = []
        for d in self.directives:
            if isinstance(d, Cluster):
                out.append(Cluster(resolve_size(d.size, layer)))
            else:
                out.append(
                    replace(
                        d, size=resolve_size(d.size, layer), offset=resolve_size(d.offset, layer)
                    )
                )
        return replace(self, directives=tuple(out))

    def to_text(self, indent: str = "") -> str:
        """Directive syntax, one directive per line, as MAESTRO writes it."""
        return "\n".join(f"{indent}{d};" for d in self.directives)

    def __str__(self) -> str:
        return "; ".join(str(d) for d in self.directives)
