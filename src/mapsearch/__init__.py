"""mapsearch: find the best MAESTRO-directive mapping (and hardware) for DNN layers."""

from __future__ import annotations

__version__ = "0.1.0"
