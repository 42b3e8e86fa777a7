"""Searchers: one interface (``Searcher``), Optuna samplers, a GA, random and exhaustive
search, and branch and bound (``optimal``: a proved optimum)."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from mapsearch.errors import UnknownNameError
from mapsearch.searchers.base import Searcher


class _Registry(dict[str, Any]):
    """Searcher name -> constructor, each imported on first use (``"module:Class"`` until
    then): a run imports its own searcher only, not DEAP or Optuna for the others."""

    def __getitem__(self, name: str) -> Callable[..., Searcher]:
        value = super().__getitem__(name)
        if isinstance(value, str):
            module, attribute = value.split(":")
            value = getattr(importlib.import_module(module), attribute)
            super().__setitem__(name, value)
        found: Callable[..., Searcher] = value
        return found


_OPTUNA = "mapsearch.searchers.optuna_searchers"
#: Searcher name -> constructor (keyword ``batch_size`` optional).
SEARCHERS: dict[str, Callable[..., Searcher]] = _Registry(
    tpe=f"{_OPTUNA}:TPESearcher",
    nsga2=f"{_OPTUNA}:NSGA2Searcher",
    cmaes=f"{_OPTUNA}:CmaEsSearcher",
    qmc=f"{_OPTUNA}:QMCSearcher",
    ga="mapsearch.searchers.genetic:GeneticSearcher",
    random="mapsearch.searchers.random_search:RandomSearcher",
    exhaustive="mapsearch.searchers.exhaustive:ExhaustiveSearcher",
    optimal="mapsearch.searchers.optimal:OptimalSearcher",
)


def check_searcher(name: str) -> str:
    """The searcher's key for ``name`` (any case); ``UnknownNameError`` lists the others."""
    key = name.strip().lower()
    if key not in SEARCHERS:
        raise UnknownNameError("searcher", name, list(SEARCHERS))
    return key


def make_searcher(name: str, *, batch_size: int | None = None) -> Searcher:
    """A searcher by name (``tpe``, ``nsga2``, ``cmaes``, ``random``, ``qmc``, ``ga``,
    ``exhaustive``, ``optimal``)."""
    key = check_searcher(name)
    return SEARCHERS[key]() if batch_size is None else SEARCHERS[key](batch_size=batch_size)


__all__ = ["SEARCHERS", "Searcher", "check_searcher", "make_searcher"]
