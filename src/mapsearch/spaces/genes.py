"""Genes: named, static, finite domains.

A search space is a tuple of genes; a *genotype* is one index per gene (an int64 row), so
a batch of genotypes is an ``(B, n_genes)`` int array. Domains never change between trials
(Optuna rejects categorical choices that do), and a gene with a single choice is *fixed*:
searchers leave it alone.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from mapsearch.errors import UnknownNameError

IntArray = npt.NDArray[np.int64]
Choice = int | str


@dataclass(frozen=True, slots=True, kw_only=True)
class Gene:
    """One decision with a static domain.

    ``ordered`` genes (tile sizes, cluster sizes, buffer sizes) have choices whose order
    means something, so numeric searchers may treat the index as an integer; unordered
    genes (loop order, spatial dimension) are categorical.
    """

    name: str
    choices: tuple[Choice, ...]
    ordered: bool
    doc: str = ""

    def __post_init__(self) -> None:
        if not self.choices:
            raise ValueError(f"gene {self.name!r} needs at least one choice, got none")
        if len(set(self.choices)) != len(self.choices):
            raise ValueError(f"gene {self.name!r} has repeated choices {self.choices}")

    @property
    def size(self) -> int:
        return len(self.choices)

    @property
    def fixed(self) -> bool:
        return len(self.choices) == 1

    def index(self, value: Choice | str) -> int:
        """Index of ``value`` (given as the choice itself or its text)."""
        text = str(value)
        for i, c in enumerate(self.choices):
            if c == value or str(c) == text:
                return i
        raise UnknownNameError(f"value of gene {self.name}", text, [str(c) for c in self.choices])

    def fix(self, value: Choice | str) -> Gene:
        """This gene restricted to one choice."""
        return Gene(
            name=self.name,
            choices=(self.choices[self.index(value)],),
            ordered=self.ordered,
            doc=self.doc,
        )

    def describe(self) -> str:
        shown = [str(c) for c in self.choices]
        if len(shown) > 12:
            shown = [*shown[:5], "...", *shown[-5:]]
        return "{" + ", ".join(shown) + "}"


def apply_fixed(genes: Sequence[Gene], fixed: Sequence[tuple[str, str]]) -> tuple[Gene, ...]:
    """Restrict the named genes to one value each (unknown names list close matches)."""
    by_name = {g.name: g for g in genes}
    out = dict(by_name)
    for name, value in fixed:
        if name not in by_name:
            raise UnknownNameError("gene", name, list(by_name))
        out[name] = by_name[name].fix(value)
    return tuple(out[g.name] for g in genes)


#: Largest number :func:`divisors` takes: trial division up to its square root (2**20
#: candidates, a few ms with numpy). Dimensions and PE counts are far smaller.
MAX_DIVIDEND = 2**40


def divisors(n: int) -> tuple[int, ...]:
    """Divisors of ``n`` (1 to ``MAX_DIVIDEND``) in increasing order."""
    if not 1 <= n <= MAX_DIVIDEND:
        raise ValueError(f"divisors of {n}: n must be from 1 to {MAX_DIVIDEND:,}")
    candidates = np.arange(1, math.isqrt(n) + 1, dtype=np.int64)
    small = candidates[n % candidates == 0].tolist()
    return tuple(sorted(set(small + [n // d for d in small])))
