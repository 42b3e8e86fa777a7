"""Genotypes as Optuna parameters, the one encoding shared by the Optuna searchers (ask/tell)
and study storage (every evaluation is an Optuna trial).

Ordered genes are ``IntDistribution`` over choice indices, unordered ones
``CategoricalDistribution`` over choice labels; fixed genes are not parameters.

It lives with the spaces, not in ``studies``, because studies run searchers
(``studies.run`` imports ``searchers``): importing it from ``studies`` would make the Optuna
searchers import the package that imports them, where here both import down the layers.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from optuna.distributions import BaseDistribution, CategoricalDistribution, IntDistribution

from mapsearch.spaces.genes import Gene, IntArray


def distributions(genes: Sequence[Gene]) -> dict[str, BaseDistribution]:
    """Optuna distributions of the genes that are not fixed, by gene name."""
    out: dict[str, BaseDistribution] = {}
    for g in genes:
        if g.fixed:
            continue
        if g.ordered:
            out[g.name] = IntDistribution(0, g.size - 1)
        else:
            out[g.name] = CategoricalDistribution([str(c) for c in g.choices])
    return out


def params_of(genes: Sequence[Gene], genotype: IntArray) -> dict[str, Any]:
    """Optuna parameters of one genotype (inverse of :func:`genotype_of`)."""
    return {
        g.name: int(i) if g.ordered else str(g.choices[int(i)])
        for g, i in zip(genes, genotype, strict=True)
        if not g.fixed
    }


def genotype_of(genes: Sequence[Gene], params: dict[str, Any]) -> IntArray:
    """The genotype of Optuna parameters; absent (fixed) genes are 0."""
    out = np.zeros(len(genes), dtype=np.int64)
    for k, g in enumerate(genes):
        if g.name in params:
            v = params[g.name]
            out[k] = int(v) if g.ordered else g.index(v)
    return out
