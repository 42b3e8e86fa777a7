"""The ``Hardware`` value and its energy table.

Counts are in *words* (elements), as in MAESTRO. ``UNLIMITED`` stands for MAESTRO's
INT_MAX defaults ("no constraint").
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass, field
from types import MappingProxyType

from mapsearch.errors import HardwareError

#: MAESTRO's "no constraint" value (INT_MAX).
UNLIMITED = 2**31 - 1
#: Most PEs (16.7 M, far past any accelerator built): PEs x L1 words per PE stays below
#: 2**55, and divisors of the PE count (cluster sizes) are found at once.
MAX_PES = 2**24
#: Longest NoC latency, cycles: latency x steps (at most a layer's MACs, below 2**46 by
#: ``layers.layer.MAX_MACS``) stays below 2**62, inside int64.
MAX_NOC_LATENCY_CYCLES = 2**16
#: Widest vector (MACs per PE per cycle) and word (bytes).
MAX_VECTOR_WIDTH = 2**16
MAX_WORD_BYTES = 2**10
#: (least, most) of every integer field of ``Hardware``; sizes and bandwidths at
#: ``UNLIMITED`` mean no limit.
FIELD_RANGES: MappingProxyType[str, tuple[int, int]] = MappingProxyType(
    {
        "num_pes": (1, MAX_PES),
        "l1_size_words": (1, UNLIMITED),
        "l2_size_words": (1, UNLIMITED),
        "noc_bw_words_per_cycle": (1, UNLIMITED),
        "noc_latency_cycles": (0, MAX_NOC_LATENCY_CYCLES),
        "offchip_bw_words_per_cycle": (1, UNLIMITED),
        "word_bytes": (1, MAX_WORD_BYTES),
        "vector_width": (1, MAX_VECTOR_WIDTH),
    }
)


def range_problem(name: str, value: object) -> str:
    """Why ``value`` cannot be hardware field ``name`` ("" if it can): not an integer (bool
    included), or outside ``FIELD_RANGES``."""
    low, high = FIELD_RANGES[name]
    if not isinstance(value, numbers.Integral) or isinstance(value, bool):
        return f"{name} must be an integer, got {value!r}"
    if int(value) < low:
        return f"{name} must be >= {low}, got {value}"
    if int(value) > high:
        return f"{name} must be <= {high:,}, got {value}"
    return ""


@dataclass(frozen=True, slots=True, kw_only=True)
class EnergyTable:
    """Energy per access of each level and per MAC.

    The default is MAESTRO's relative table (unit = one MAC's energy): MAC 1, L1 access
    1.68, L2 access 18.61 (MAESTRO ``Energy.hpp``, derived from Cacti SRAM models at 28 nm;
    reads and writes cost the same). ``unit`` names the unit (``"mac"`` or ``"pJ"``);
    ``dram_access`` is used only by models that count off-chip traffic.
    """

    mac: float = 1.0
    l1_read: float = 1.68
    l1_write: float = 1.68
    l2_read: float = 18.61
    l2_write: float = 18.61
    dram_access: float = 0.0
    unit: str = "mac"
    source: str = "MAESTRO default table (MAC=1, L1=1.68, L2=18.61 MAC-energy units)"

    def __post_init__(self) -> None:
        bad = [
            f"{n}={v}"
            for n, v in (
                ("mac", self.mac),
                ("l1_read", self.l1_read),
                ("l1_write", self.l1_write),
                ("l2_read", self.l2_read),
                ("l2_write", self.l2_write),
                ("dram_access", self.dram_access),
            )
            if not (isinstance(v, numbers.Real) and math.isfinite(v) and v >= 0)
        ]
        if bad:
            raise HardwareError(f"energy per access must be finite and >= 0, got {', '.join(bad)}")


@dataclass(frozen=True, slots=True, kw_only=True)
class Hardware:
    """A spatial accelerator: PEs with private L1, a shared L2, a NoC and off-chip memory.

    ``noc_latency_cycles`` is MAESTRO's NoC latency: 1 when read from a hardware file,
    0 for MAESTRO's command-line defaults. Sizes are per PE for L1, total for L2, in words.
    """

    name: str = "custom"
    num_pes: int
    l1_size_words: int = UNLIMITED
    l2_size_words: int = UNLIMITED
    noc_bw_words_per_cycle: int = UNLIMITED
    noc_latency_cycles: int = 1
    offchip_bw_words_per_cycle: int = UNLIMITED
    word_bytes: int = 1
    vector_width: int = 1
    energy: EnergyTable = field(default_factory=EnergyTable)

    def __post_init__(self) -> None:
        problems = [p for n in FIELD_RANGES if (p := range_problem(n, getattr(self, n)))]
        if problems:
            raise HardwareError(f"hardware {self.name!r}: " + "; ".join(problems))
        for n in FIELD_RANGES:  # plain ints: numpy's overflow silently
            object.__setattr__(self, n, int(getattr(self, n)))

    def describe(self) -> str:
        def fmt(v: int) -> str:
            return "unlimited" if v >= UNLIMITED else str(v)

        return (
            f"{self.num_pes} PEs x{self.vector_width}, L1 {fmt(self.l1_size_words)} w/PE, "
            f"L2 {fmt(self.l2_size_words)} w, NoC {fmt(self.noc_bw_words_per_cycle)} w/cyc "
            f"(lat {self.noc_latency_cycles}), off-chip {fmt(self.offchip_bw_words_per_cycle)} w/cyc"
        )
