"""Hardware values, presets and energy tables."""

from __future__ import annotations

from mapsearch.hardware.config import UNLIMITED, EnergyTable, Hardware

__all__ = ["UNLIMITED", "EnergyTable", "Hardware"]
