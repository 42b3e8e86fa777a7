"""Directive values, mapping validation, the classic dataflows and MAESTRO files."""

from __future__ import annotations

from mapsearch.directives.directive import (
    Cluster,
    Directive,
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
    "MapDirective",
    "Mapping",
    "Size",
    "SpatialMap",
    "Sz",
    "TemporalMap",
    "resolve_size",
]
