"""Where a sweep's mappings come from: one classic dataflow, or a search per core.

A *mapping provider* is a picklable callable ``(layer, hardware, semantics) -> Mapping``
with a ``name``. The sweep calls it once per (distinct layer shape, PE count), with the
hardware of that PE count at the sweep's first vector width and middle NoC bandwidth, and
scores the mapping it returns on every core of that PE count.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from mapsearch.costmodel import DEFAULT_SEMANTICS, MappingBatch, Semantics, evaluate_batch
from mapsearch.directives import Mapping
from mapsearch.errors import MapsearchError
from mapsearch.hardware import Hardware
from mapsearch.layers import Layer


class MappingProvider(Protocol):
    """``(layer, hardware, semantics) -> Mapping``; ``name`` labels the mappings."""

    @property
    def name(self) -> str: ...

    def __call__(
        self,
        layer: Layer,
        hardware: Hardware | None = None,
        semantics: Semantics = DEFAULT_SEMANTICS,
    ) -> Mapping: ...


@dataclass(frozen=True, slots=True)
class FixedDataflow:
    """One classic dataflow (canonical name or alias) for every layer and core."""

    dataflow: str

    def __post_init__(self) -> None:
        from mapsearch.directives.dataflows import canonical_name

        canonical_name(self.dataflow)  # unknown names raise with close matches

    @property
    def name(self) -> str:
        from mapsearch.directives.dataflows import canonical_name

        return canonical_name(self.dataflow)

    def __call__(
        self,
        layer: Layer,
        hardware: Hardware | None = None,
        semantics: Semantics = DEFAULT_SEMANTICS,
    ) -> Mapping:
        from mapsearch.directives.dataflows import dataflow

        return dataflow(self.dataflow, layer)


#: Classic dataflows every tuned search is compared with (the best one wins if better).
BASELINES = ("kcp", "ckp", "xp", "yxp", "rs", "ykp", "nlr")
#: A tuned sweep's search per (layer shape, PE count), unless told otherwise.
DEFAULT_TUNE_OBJECTIVE = "edp"
DEFAULT_TUNE_SEARCHER = "random"
DEFAULT_TUNE_BUDGET = 200


@dataclass(frozen=True, slots=True, kw_only=True)
class TunedDataflow:
    """The best mapping found by a search, per (layer shape, PE count).

    ``searcher`` (see ``mapsearch.searchers``) spends ``budget`` evaluations on the
    mapping space of the layer for ``objective`` (a ``mapsearch.objectives`` name) under
    the hardware's L1/L2 capacities; the classic dataflows of :data:`BASELINES` are scored
    too, and the best feasible mapping that fits is returned, so a tuned sweep is never worse (on that objective) than the best
    classic dataflow. Seeds derive from ``seed``, the layer shape and the PE count, so a
    sweep is reproducible and independent of its chunking and workers.
    """

    objective: str = DEFAULT_TUNE_OBJECTIVE
    searcher: str = DEFAULT_TUNE_SEARCHER
    budget: int = DEFAULT_TUNE_BUDGET
    seed: int = 0

    def __post_init__(self) -> None:
        from mapsearch.objectives import get_objective
        from mapsearch.searchers import check_searcher

        get_objective(self.objective)
        check_searcher(self.searcher)
        if self.budget < 1:
            raise ValueError(f"tuning budget must be >= 1 evaluation, got {self.budget}")

    @property
    def name(self) -> str:
        return "tuned"

    def __call__(
        self,
        layer: Layer,
        hardware: Hardware | None = None,
        semantics: Semantics = DEFAULT_SEMANTICS,
    ) -> Mapping:
        if hardware is None:
            raise ValueError("a tuned mapping depends on the hardware; pass it")
        import optuna

        from mapsearch.directives.dataflows import dataflow
        from mapsearch.directives.validate import mapping_problems
        from mapsearch.objectives import get_objective
        from mapsearch.problem import Evaluation, Problem
        from mapsearch.searchers import make_searcher

        objective = get_objective(self.objective)
        candidates: list[tuple[float, Mapping]] = []
        for name in BASELINES:
            try:
                m = dataflow(name, layer)
                if mapping_problems(m, layer, hardware):
                    continue
                r = evaluate_batch(
                    layer, hardware, MappingBatch.from_mappings([m], layer), semantics=semantics
                )
            except MapsearchError:
                continue
            fits = (
                r.l1_size_words[0] <= hardware.l1_size_words
                and r.l2_required_words[0] <= hardware.l2_size_words
            )
            if bool(r.feasible[0]) and fits:
                candidates.append((objective.sign * float(objective.value(r)[0]), m))
        optuna.logging.set_verbosity(optuna.logging.WARNING)
        problem = Problem.create(layer, hardware, [self.objective], semantics=semantics)
        searcher = make_searcher(self.searcher, batch_size=min(64, self.budget))
        searcher.check(problem)
        entropy = [self.seed, hardware.num_pes, *(int(n) for _, n in layer.dims)]
        searcher.start(
            problem,
            Evaluation.concat([], problem.n_genes, 1),
            np.random.default_rng(np.random.SeedSequence(entropy)),
        )
        best_cost, best_genotype, done = math.inf, None, 0
        while done < self.budget:
            genotypes = searcher.ask(min(searcher.batch_size, self.budget - done))
            if len(genotypes) == 0:
                break
            ev = problem.evaluate(genotypes)
            searcher.tell(ev)
            done += len(ev)
            cost = np.where(ev.feasible, objective.sign * ev.values[:, 0], np.inf)
            cost = np.where(np.isfinite(cost), cost, np.inf)
            i = int(np.argmin(cost))
            if cost[i] < best_cost:
                best_cost, best_genotype = float(cost[i]), ev.genotypes[i]
        if best_genotype is not None:
            candidates.append((best_cost, problem.decode_one(best_genotype)[0]))
        if not candidates:
            raise MapsearchError(
                f"tuning {layer.qualified_name} on {hardware.num_pes} PEs found no feasible "
                f"mapping in {done} evaluations nor among {', '.join(BASELINES)}; "
                "raise the tuning budget"
            )
        _, mapping = min(candidates, key=lambda c: c[0])
        label = f"tuned ({mapping.name})" if mapping.name else "tuned"
        return Mapping(directives=mapping.directives, name=label)


def mapping_provider(
    dataflow: str,
    *,
    objective: str = DEFAULT_TUNE_OBJECTIVE,
    searcher: str = DEFAULT_TUNE_SEARCHER,
    budget: int = DEFAULT_TUNE_BUDGET,
    seed: int = 0,
) -> MappingProvider:
    """The provider ``dse --dataflow`` names: ``tuned`` (a search per layer shape and PE
    count, with the other arguments) or a classic dataflow (name or alias)."""
    if dataflow.strip().lower() == "tuned":
        return TunedDataflow(objective=objective, searcher=searcher, budget=budget, seed=seed)
    return FixedDataflow(dataflow)
