"""Directive values, mapping validation, the classic dataflows and MAESTRO files."""

from __future__ import annotations

from mapsearch.directives.directive import (
    Cluster,
    Directive,
    DirectiveKind,
    MapDirective,
    Mapping,
    Size,
    SpatialMap,
    Sz,
    TemporalMap,
    resolve_size,
)

__all__ = [
    "Cluster",
    "Directive",
    "DirectiveKind",
    "MapDirective",
    "Mapping",
    "Size",
    "SpatialMap",
    "Sz",
    "TemporalMap",
    "resolve_size",
]
