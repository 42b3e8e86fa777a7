"""The ``Hardware`` value and its energy table.

Counts are in *words* (elements), as in MAESTRO. ``UNLIMITED`` stands for MAESTRO's
INT_MAX defaults ("no constraint").
"""

from __future__ import annotations

from dataclasses import dataclass, field

from mapsearch.errors import HardwareError

#: MAESTRO's "no constraint" value (INT_MAX).
UNLIMITED = 2**31 - 1


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
            if v < 0
        ]
        if bad:
            raise HardwareError(f"energy per access must be >= 0, got {', '.join(bad)}")


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
        problems = [
            f"{n} must be >= 1, got {v}"
            for n, v in (
                ("num_pes", self.num_pes),
                ("l1_size_words", self.l1_size_words),
                ("l2_size_words", self.l2_size_words),
                ("noc_bw_words_per_cycle", self.noc_bw_words_per_cycle),
                ("offchip_bw_words_per_cycle", self.offchip_bw_words_per_cycle),
                ("word_bytes", self.word_bytes),
                ("vector_width", self.vector_width),
            )
            if v < 1
        ]
        if self.noc_latency_cycles < 0:
            problems.append(f"noc_latency_cycles must be >= 0, got {self.noc_latency_cycles}")
        if problems:
            raise HardwareError(f"hardware {self.name!r}: " + "; ".join(problems))

    def describe(self) -> str:
        def fmt(v: int) -> str:
            return "unlimited" if v >= UNLIMITED else str(v)

        return (
            f"{self.num_pes} PEs x{self.vector_width}, L1 {fmt(self.l1_size_words)} w/PE, "
            f"L2 {fmt(self.l2_size_words)} w, NoC {fmt(self.noc_bw_words_per_cycle)} w/cyc "
            f"(lat {self.noc_latency_cycles}), off-chip {fmt(self.offchip_bw_words_per_cycle)} w/cyc"
        )
