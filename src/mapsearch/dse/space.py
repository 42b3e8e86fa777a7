"""The hardware design space: the cross product of PE count, vector width, NoC bandwidth,
L1 and L2 capacity, with NoC latency and off-chip bandwidth fixed.

Designs are numbered in row-major order over ``(pes, vector_width, noc_bw, l1, l2)``
(L2 fastest). The first three axes form the design's *core*: in the cost model they decide
runtime and energy, while L1/L2 capacities are only checked against what the mapping needs
and priced in area and power. A sweep therefore analyses each core once and broadcasts the
L1 x L2 axes.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from mapsearch.errors import HardwareError
from mapsearch.hardware import UNLIMITED, EnergyTable, Hardware

IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True, slots=True, kw_only=True)
class DesignSpace:
    """Axes of the sweep (each sorted ascending, distinct, >= 1) and the fixed parameters.

    L1 is per PE, L2 total, both in words; bandwidths in words per cycle.
    """

    pes: tuple[int, ...]
    vector_width: tuple[int, ...] = (1,)
    noc_bw_words_per_cycle: tuple[int, ...]
    l1_words: tuple[int, ...]
    l2_words: tuple[int, ...]
    noc_latency_cycles: int = 1
    offchip_bw_words_per_cycle: int = UNLIMITED
    word_bytes: int = 1
    energy: EnergyTable = field(default_factory=EnergyTable)

    def __post_init__(self) -> None:
        problems = []
        for name, axis in self.axes().items():
            if not axis:
                problems.append(f"axis {name} is empty; give at least one value")
            elif any(v < 1 for v in axis):
                problems.append(f"axis {name} must hold values >= 1, got {min(axis)}")
            elif any(b <= a for a, b in itertools.pairwise(axis)):
                problems.append(f"axis {name} must be sorted ascending without duplicates")
        if self.noc_latency_cycles < 0:
            problems.append(f"noc_latency_cycles must be >= 0, got {self.noc_latency_cycles}")
        if self.offchip_bw_words_per_cycle < 1 or self.word_bytes < 1:
            problems.append("offchip_bw_words_per_cycle and word_bytes must be >= 1")
        if problems:
            raise HardwareError("design space: " + "; ".join(problems))

    def axes(self) -> dict[str, tuple[int, ...]]:
        """Axis name -> values, in design-numbering order (L2 fastest)."""
        return {
            "pes": self.pes,
            "vector_width": self.vector_width,
            "noc_bw_words_per_cycle": self.noc_bw_words_per_cycle,
            "l1_words": self.l1_words,
            "l2_words": self.l2_words,
        }

    @property
    def n_cores(self) -> int:
        return len(self.pes) * len(self.vector_width) * len(self.noc_bw_words_per_cycle)

    @property
    def n_capacities(self) -> int:
        return len(self.l1_words) * len(self.l2_words)

    @property
    def size(self) -> int:
        """Number of designs."""
        return self.n_cores * self.n_capacities

    def core_axes(self) -> tuple[IntArray, IntArray, IntArray]:
        """PE count, vector width and NoC bandwidth of every core, each shape (n_cores,)."""
        p, v, b = np.meshgrid(
            np.asarray(self.pes, dtype=np.int64),
            np.asarray(self.vector_width, dtype=np.int64),
            np.asarray(self.noc_bw_words_per_cycle, dtype=np.int64),
            indexing="ij",
        )
        return p.ravel(), v.ravel(), b.ravel()

    def unravel(self, index: npt.ArrayLike) -> tuple[IntArray, IntArray, IntArray]:
        """Design index -> (core index, L1 position, L2 position), vectorised."""
        idx = np.asarray(index, dtype=np.int64)
        n2 = len(self.l2_words)
        core, rest = np.divmod(idx, self.n_capacities)
        i1, i2 = np.divmod(rest, n2)
        return core, i1, i2

    def core_hardware(self, core: int, *, name: str = "dse") -> Hardware:
        """The hardware of a core with unlimited L1/L2 (capacities do not change its costs)."""
        p, v, b = (int(a[core]) for a in self.core_axes())
        return Hardware(
            name=name,
            num_pes=p,
            vector_width=v,
            noc_bw_words_per_cycle=b,
            noc_latency_cycles=self.noc_latency_cycles,
            offchip_bw_words_per_cycle=self.offchip_bw_words_per_cycle,
            word_bytes=self.word_bytes,
            energy=self.energy,
        )

    def hardware(self, index: int) -> Hardware:
        """Design ``index`` as a ``Hardware`` value."""
        if not 0 <= index < self.size:
            raise HardwareError(f"design index must be in [0, {self.size}), got {index}")
        core, i1, i2 = (int(a) for a in self.unravel(index))
        p, v, b = (int(a[core]) for a in self.core_axes())
        return Hardware(
            name=f"dse{index}",
            num_pes=p,
            vector_width=v,
            noc_bw_words_per_cycle=b,
            l1_size_words=self.l1_words[i1],
            l2_size_words=self.l2_words[i2],
            noc_latency_cycles=self.noc_latency_cycles,
            offchip_bw_words_per_cycle=self.offchip_bw_words_per_cycle,
            word_bytes=self.word_bytes,
            energy=self.energy,
        )

    def describe(self) -> str:
        def ax(values: tuple[int, ...]) -> str:
            if len(values) == 1:
                return str(values[0])
            return f"{values[0]}..{values[-1]} ({len(values)})"

        return (
            f"PEs {ax(self.pes)} x VW {ax(self.vector_width)} x "
            f"NoC {ax(self.noc_bw_words_per_cycle)} w/cyc x L1 {ax(self.l1_words)} w/PE x "
            f"L2 {ax(self.l2_words)} w = {self.size:,} designs "
            f"(NoC latency {self.noc_latency_cycles}, off-chip "
            f"{'unlimited' if self.offchip_bw_words_per_cycle >= UNLIMITED else self.offchip_bw_words_per_cycle})"
        )
