"""Search spaces: genes with static domains, decoded (vectorised) into directive templates."""

from __future__ import annotations

from mapsearch.spaces.genes import Gene, apply_fixed, divisors
from mapsearch.spaces.genome import Genome
from mapsearch.spaces.hardware_space import DEFAULT_CHOICES, HardwareSpace
from mapsearch.spaces.mapping_space import TILE_MODES, DecodedBatch, MappingSpace, SpaceOptions

__all__ = [
    "DEFAULT_CHOICES",
    "TILE_MODES",
    "DecodedBatch",
    "Gene",
    "Genome",
    "HardwareSpace",
    "MappingSpace",
    "SpaceOptions",
    "apply_fixed",
    "divisors",
]
