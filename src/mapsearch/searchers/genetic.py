"""A GAMMA-style genetic algorithm on DEAP operators (the only module that imports DEAP).

Genome, per cluster level: the spatial dimension and the cluster size, then the loop order
as a permutation and a tile size per dimension (the genotype's ``L{l}.*`` genes; hardware
genes, when co-designing, mutate like tiles). Variation: crossover swaps whole levels
between parents, then exchanges single tiles (``cxUniform``); mutation changes tiles
(a step to a neighbouring size, or any size), reorders loops (``mutShuffleIndexes`` on the
permutation), moves cluster sizes by one step and re-draws spatial dimensions and, in a
complete space, diagonal, step and pad genes. Random genotypes (the warm-up, immigrants)
are drawn by ``Genome.sample``: in a complete space, half from its compact part; a step
from a tile or cluster size of the compact part goes to the next one of the part (the next
divisor), elsewhere to the next choice (``docs/search_space.md``).

Selection is (mu + lambda) over distinct genotypes, after ``warmup_generations`` random
generations: truncation for one objective (at most an eighth of the survivors per
template; parents drawn by tournament), NSGA-II for several. A tenth of every generation
are random immigrants, and children already evaluated are mutated again. Infeasible
candidates rank behind every feasible one, by violation.

A whole generation is asked for as one ``(n, n_genes)`` array, so the run scores it in one
cost-model call. Genotypes are plain lists and their costs one array (DEAP's fitness objects
cost more than the selection itself); NSGA-II selects on that array as DEAP's ``selNSGA2``
does (:mod:`mapsearch.searchers._nsga2`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from deap import tools

from mapsearch.problem import Evaluation, Problem
from mapsearch.searchers import _nsga2
from mapsearch.searchers.base import Searcher, costs
from mapsearch.spaces.genes import IntArray

#: Cost given to an infeasible candidate, scaled by (1 + violation).
PENALTY = 1e250
UNSCORED = 1e300


class GeneticSearcher(Searcher):
    """(mu + lambda) GA with GAMMA-style operators; population = offspring = ``batch_size``."""

    name = "ga"

    def __init__(
        self,
        *,
        batch_size: int = 128,
        crossover_prob: float = 0.7,
        mutation_prob: float = 0.3,
        tournament_size: int = 2,
        warmup_generations: int = 4,
    ) -> None:
        super().__init__(batch_size=batch_size)
        self.warmup_generations = warmup_generations
        if not (0 <= crossover_prob <= 1 and 0 <= mutation_prob <= 1):
            raise ValueError(
                f"probabilities must lie in [0, 1], got crossover={crossover_prob}, mutation={mutation_prob}"
            )
        self.crossover_prob = crossover_prob
        self.mutation_prob = mutation_prob
        self.tournament_size = tournament_size
        self._population: list[list[int]] = []
        #: The population's fitness values (costs, infeasible ones penalised), a row each.
        self._fitness = np.zeros((0, 1))
        self._offspring: list[list[int]] = []
        self._seen: set[tuple[int, ...]] = set()

    def start(
        self,
        problem: Problem,
        history: Evaluation,
        rng: np.random.Generator,
        *,
        worker: int = 0,
        n_workers: int = 1,
        deadline: float | None = None,
    ) -> None:
        self.check(problem)
        self._problem = problem
        self._rng = rng
        # DEAP's operators draw from the ``random`` module: give them a private generator.
        import random

        self._random = random.Random(int(rng.integers(2**63 - 1)))
        n_obj = len(problem.objectives)
        genes = problem.genes
        self._sizes = [g.size for g in genes]
        self._top = [g.size - 1 for g in genes]
        names = [g.name for g in genes]
        self._levels: list[list[int]] = []
        lv = 0
        while any(n.startswith(f"L{lv}.") for n in names):
            self._levels.append([k for k, n in enumerate(names) if n.startswith(f"L{lv}.")])
            lv += 1
        self._tiles = [
            k
            for k, n in enumerate(names)
            if (".tile." in n or n.startswith("hw.")) and not genes[k].fixed
        ]
        self._orders = [
            k for k, n in enumerate(names) if n.endswith(".order") and not genes[k].fixed
        ]
        # per loop-order gene: each choice's text, and each text's choice
        self._order_texts = {k: [str(c) for c in genes[k].choices] for k in self._orders}
        self._order_index = {
            k: {text: i for i, text in enumerate(texts)} for k, texts in self._order_texts.items()
        }
        self._spatials = [
            k for k, n in enumerate(names) if n.endswith(".spatial") and not genes[k].fixed
        ]
        self._clusters = [k for k, n in enumerate(names) if n.endswith(".cluster") or n == "levels"]
        self._clusters = [k for k in self._clusters if not genes[k].fixed]
        # diagonal, step and pad genes of a complete space: redrawn as spatial dimensions are
        self._switches = [
            k
            for k, n in enumerate(names)
            if n.split(".")[1:2] in (["diagonal"], ["step"], ["pad"]) and not genes[k].fixed
        ]
        # per gene whose compact part is narrower than its domain: the part's choices, and
        # each one's position among them
        self._part: dict[int, tuple[list[int], dict[int, int]]] = {
            k: (part.tolist(), {c: i for i, c in enumerate(part.tolist())})
            for k, part in enumerate(problem.genome.compact_part)
            if len(part) < genes[k].size
        }
        self._structure = sorted(self._orders + self._spatials + self._clusters)
        self._population, self._fitness = [], np.zeros((0, n_obj))
        self._random_left = self.warmup_generations * self.batch_size - len(history)
        self._seen = {tuple(row) for row in np.asarray(history.genotypes, dtype=np.int64).tolist()}
        if len(history):
            ranked = np.argsort(self._rank_key(history))
            picked = history.take(ranked[: self.batch_size])
            self._population = np.asarray(picked.genotypes, dtype=np.int64).tolist()
            self._fitness = self._fitness_values(picked)
        self._offspring = []

    # --- fitness --------------------------------------------------------------------------
    def _rank_key(self, ev: Evaluation) -> np.ndarray:
        """A scalar key for sorting (first objective cost, infeasible last)."""
        return self._fitness_values(ev)[:, 0]

    def _fitness_values(self, ev: Evaluation) -> np.ndarray:
        c = costs(self._problem, ev)
        viol = ev.violation
        out = np.where(np.isfinite(c), c, UNSCORED)
        bad = viol > 0
        penalty = np.where(np.isfinite(viol), PENALTY * (1.0 + viol), UNSCORED)
        out[bad] = penalty[bad][:, None]
        return out

    # --- ask/tell -------------------------------------------------------------------------
    def ask(self, n: int) -> IntArray:
        if len(self._population) < self.batch_size or self._random_left > 0:
            # Warm-up: the first generations are random, the population their best.
            g = self._problem.genome.sample(n, self._rng)
            self._random_left -= n
            self._offspring = g.tolist()
        else:
            self._offspring = _with_random(self._random, lambda: self._vary(n))
        return np.asarray(self._offspring, dtype=np.int64).reshape(len(self._offspring), -1)

    def tell(self, evaluation: Evaluation) -> None:
        if len(evaluation) != len(self._offspring):
            raise ValueError(
                f"tell() got {len(evaluation)} evaluations for {len(self._offspring)} asked"
            )
        fresh = np.asarray(evaluation.genotypes, dtype=np.int64).tolist()
        self._seen.update(map(tuple, fresh))
        rows = self._population + fresh
        keep = _first_occurrences(rows)
        pool = [rows[i] for i in keep]
        fitness = np.concatenate([self._fitness, self._fitness_values(evaluation)])[keep]
        if len(pool) <= self.batch_size:
            chosen = np.arange(len(pool))
        elif len(self._problem.objectives) > 1:
            chosen = _nsga2.select(fitness, self.batch_size)
        else:
            chosen = self._truncate(pool, fitness[:, 0])
        self._population = [pool[i] for i in chosen.tolist()]
        self._fitness = fitness[chosen]
        self._offspring = []

    def _truncate(self, pool: list[list[int]], cost: np.ndarray) -> np.ndarray:
        """Indices of the best ``batch_size`` genotypes of ``pool`` (distinct), at most
        ``niche`` per template; ``cost`` is each one's.

        NOTE: the template (levels, loop orders, spatial dims, clusters) is the discrete
        structure; capping how many survivors share one keeps several templates alive while
        their tiles are tuned, instead of the whole population collapsing onto one.
        """
        ranked = np.argsort(cost, kind="stable").tolist()
        templates = np.asarray(pool, dtype=np.int64)[:, self._structure].tolist()
        cap = max(2, self.batch_size // 8)
        counts: dict[tuple[int, ...], int] = {}
        kept, spare = [], []
        for i in ranked:
            key = tuple(templates[i])
            seen = counts.get(key, 0)
            if seen < cap:
                counts[key] = seen + 1
                kept.append(i)
            else:
                spare.append(i)
        return np.asarray((kept + spare)[: self.batch_size], dtype=np.int64)

    def _tournament(self, k: int) -> list[list[int]]:
        """Tournament selection among the population with the run's generator (DEAP's uses
        the global one): of each row of drawn entrants, the first with the lowest cost."""
        idx = self._rng.integers(0, len(self._population), size=(k, self.tournament_size))
        winners = idx[np.arange(k), np.argmin(self._fitness[:, 0][idx], axis=1)]
        return [self._population[i] for i in winners.tolist()]

    # --- variation ------------------------------------------------------------------------
    def _vary(self, n: int) -> list[list[int]]:
        """``n`` children; DEAP's operators draw from the module ``random``, which the caller
        binds to the run's generator (:func:`_with_random`)."""
        # Several objectives: the population is already NSGA-II-selected; draw parents uniformly.
        parents = (
            self._population
            if len(self._problem.objectives) > 1
            else self._tournament(len(self._population))
        )
        immigrants = max(1, n // 10)
        children: list[list[int]] = self._problem.genome.sample(immigrants, self._rng).tolist()
        while len(children) < n:
            i, j = self._rng.integers(0, len(parents), size=2)
            a, b = list(parents[i]), list(parents[j])
            if self._rng.random() < self.crossover_prob:
                self._crossover(a, b)
            for child in (a, b):
                self._mutate(child)
                for _ in range(5):  # prefer genotypes not evaluated yet
                    if tuple(child) not in self._seen:
                        break
                    self._mutate(child)
                children.append(child)
        return children[:n]

    def _crossover(self, a: list[int], b: list[int]) -> None:
        for block in self._levels:
            if self._rng.random() < 0.5:
                for k in block:
                    a[k], b[k] = b[k], a[k]
        if self._tiles:
            ta, tb = [a[k] for k in self._tiles], [b[k] for k in self._tiles]
            tools.cxUniform(ta, tb, indpb=0.2)
            for k, va, vb in zip(self._tiles, ta, tb, strict=True):
                a[k], b[k] = va, vb

    def _mutate(self, ind: list[int]) -> None:
        # NOTE: one draw of the run's generator per decision, in a fixed order (same seed,
        # same children); its methods are bound once, as this runs for every child.
        rng, p, sizes = self._rng, self.mutation_prob, self._sizes
        draw, integers = rng.random, rng.integers
        per_gene = p / max(1, len(self._tiles) // 2)
        for k in self._tiles:
            if draw() < per_gene:
                if draw() < 0.7:  # a neighbouring tile size
                    ind[k] = self._neighbour(k, ind[k], _step(rng))
                else:  # any tile size
                    ind[k] = int(integers(0, sizes[k]))
        for k in self._orders:
            if draw() < p:
                perm = list(self._order_texts[k][ind[k]])
                tools.mutShuffleIndexes(perm, indpb=2.0 / len(perm))
                ind[k] = self._order_index[k]["".join(perm)]
        for k in self._clusters:
            if draw() < p:
                ind[k] = self._neighbour(k, ind[k], _step(rng))
        for k in self._spatials:
            if draw() < p / 2:
                ind[k] = int(integers(0, sizes[k]))
        for k in self._switches:
            if draw() < p / 2:
                ind[k] = int(integers(0, sizes[k]))

    def _neighbour(self, k: int, i: int, step: int) -> int:
        """Choice ``i`` of gene ``k`` moved ``step`` along its domain, or along its compact
        part when ``i`` is in a part narrower than the domain (the next divisor tile, the
        next cluster size dividing the PEs)."""
        part = self._part.get(k)
        if part is None or i not in part[1]:
            return min(max(i + step, 0), self._top[k])
        choices = part[0]
        return int(choices[min(max(part[1][i] + step, 0), len(choices) - 1)])


def _step(rng: np.random.Generator) -> int:
    """-1 or 1 with equal odds: ``rng.choice((-1, 1))``'s draw, without its array."""
    return -1 if rng.integers(0, 2) == 0 else 1


def _first_occurrences(rows: list[list[int]]) -> list[int]:
    """Indices of the first occurrence of every distinct genotype of ``rows``, in order."""
    first: dict[tuple[int, ...], int] = {}
    for k, row in enumerate(map(tuple, rows)):
        first.setdefault(row, k)
    return list(first.values())


def _with_random(generator: Any, op: Any) -> Any:
    """Run a DEAP operator with the module-level ``random`` functions bound to ``generator``.

    NOTE: DEAP's operators call ``random.random``/``random.randint`` directly; swapping the
    global state in and out keeps runs reproducible without seeding the global generator.
    """
    import random

    saved = random.getstate()
    random.setstate(generator.getstate())
    try:
        return op()
    finally:
        generator.setstate(random.getstate())
        random.setstate(saved)
