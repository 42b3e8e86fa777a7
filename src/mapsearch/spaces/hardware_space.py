"""The hardware space for co-design: PEs, L1 and L2 sizes, NoC bandwidth, vector width.

Each knob is an ordered gene (``hw.num_pes``, ...) whose choices replace the matching
field of a base ``Hardware``; the other fields (latency, off-chip bandwidth, word size,
energy table) stay as in the base.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from mapsearch.errors import ConfigError
from mapsearch.hardware import Hardware
from mapsearch.hardware.config import range_problem
from mapsearch.spaces.genes import Gene, IntArray

#: Hardware field -> default co-design choices (words; words per cycle; MACs per cycle).
DEFAULT_CHOICES: dict[str, tuple[int, ...]] = {
    "num_pes": (64, 128, 168, 256, 512, 1024),
    "l1_size_words": (64, 128, 256, 512, 1024, 2048),
    "l2_size_words": (2**14, 2**15, 2**16, 2**17, 2**18, 2**19, 2**20),
    "noc_bw_words_per_cycle": (8, 16, 32, 64, 128, 256),
    "vector_width": (1, 2, 4),
}


@dataclass(frozen=True, slots=True, kw_only=True)
class HardwareSpace:
    """Hardware knobs to search, each a field of ``base`` with a tuple of choices."""

    base: Hardware
    choices: tuple[tuple[str, tuple[int, ...]], ...] = tuple(DEFAULT_CHOICES.items())
    genes: tuple[Gene, ...] = field(init=False)

    def __post_init__(self) -> None:
        problems = []
        for name, values in self.choices:
            if name not in DEFAULT_CHOICES:
                problems.append(
                    f"unknown hardware knob {name!r} (knobs: {', '.join(DEFAULT_CHOICES)})"
                )
            elif not values:
                problems.append(f"{name} needs at least one choice, got none")
            else:
                problems += [p for v in values if (p := range_problem(name, v))]
        if problems:
            raise ConfigError("; ".join(problems))
        genes = tuple(
            Gene(
                name=f"hw.{name}",
                choices=tuple(sorted(set(values))),
                ordered=True,
                doc=f"hardware {name}",
            )
            for name, values in self.choices
        )
        object.__setattr__(self, "genes", genes)

    @classmethod
    def around(
        cls, base: Hardware, knobs: Sequence[tuple[str, tuple[int, ...]]] = ()
    ) -> HardwareSpace:
        """The default knobs, overridden by ``knobs``."""
        merged = dict(DEFAULT_CHOICES)
        merged.update(dict(knobs))
        return cls(base=base, choices=tuple(merged.items()))

    @property
    def pe_choices(self) -> tuple[int, ...]:
        return dict(self.choices).get("num_pes", (self.base.num_pes,))

    def decode(self, genes: IntArray) -> tuple[list[Hardware], IntArray, IntArray]:
        """``(B, n_knobs)`` indices -> (distinct designs, design index per row, PEs per row)."""
        g = np.asarray(genes, dtype=np.int64)
        uniq, inverse = np.unique(g, axis=0, return_inverse=True)
        designs = [self._design(row) for row in uniq]
        pes = np.asarray([h.num_pes for h in designs], dtype=np.int64)
        inverse = inverse.reshape(-1)
        return designs, inverse, pes[inverse]

    def _design(self, row: IntArray) -> Hardware:
        values: dict[str, Any] = {
            gene.name[3:]: int(gene.choices[int(i)])
            for gene, i in zip(self.genes, row, strict=True)
        }
        return replace(self.base, name=f"{self.base.name}+codesign", **values)

    def to_dict(self) -> dict[str, list[int]]:
        return {name: list(values) for name, values in self.choices}
