"""Searchers: one interface (``Searcher``), Optuna samplers, a GA, random and exhaustive
search, and branch and bound (``optimal``: a proved optimum)."""

from __future__ import annotations

from collections.abc import Callable

from mapsearch.errors import UnknownNameError
from mapsearch.searchers.base import Searcher
from mapsearch.searchers.exhaustive import ExhaustiveSearcher
from mapsearch.searchers.genetic import GeneticSearcher
from mapsearch.searchers.optimal import OptimalSearcher
from mapsearch.searchers.optuna_searchers import OPTUNA_SEARCHERS
from mapsearch.searchers.random_search import RandomSearcher

#: Searcher name -> constructor (keyword ``batch_size`` optional).
SEARCHERS: dict[str, Callable[..., Searcher]] = {
    **OPTUNA_SEARCHERS,
    GeneticSearcher.name: GeneticSearcher,
    RandomSearcher.name: RandomSearcher,
    ExhaustiveSearcher.name: ExhaustiveSearcher,
    OptimalSearcher.name: OptimalSearcher,
}


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
