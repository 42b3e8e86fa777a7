"""A GAMMA-style genetic algorithm, vectorised over the generation (DEAP for NSGA-II only).

Genome, per cluster level: the spatial dimension and the cluster size, then the loop order
as a permutation and a tile size per dimension (the genotype's ``L{l}.*`` genes; hardware
genes, when co-designing, mutate like tiles). Variation: crossover swaps whole levels
between parents, then exchanges single tiles (uniform crossover); mutation changes tiles
(a step to a neighbouring size, or any size), reorders loops (each position swapped with
another with probability ``2 / length``, as DEAP's ``mutShuffleIndexes``), moves cluster
sizes by one step and re-draws spatial dimensions.

Selection is (mu + lambda) over distinct genotypes, after ``warmup_generations`` random
generations: truncation for one objective (at most an eighth of the survivors per
template; parents drawn by tournament), NSGA-II for several. A tenth of every generation
are random immigrants, and children already evaluated are mutated again. Infeasible
candidates rank behind every feasible one, by violation.

A generation is a few numpy operations on the ``(n, n_genes)`` genotype array, whatever
its size: the GA keeps up with the cost model. No DEAP ``creator`` globals: the classes
NSGA-II selection needs are built per run.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
from deap import base, tools

from mapsearch.searchers.base import Searcher, costs
from mapsearch.searchers.problem import Evaluation, Problem
from mapsearch.spaces.genes import IntArray

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
#: Cost given to an infeasible candidate, scaled by (1 + violation).
PENALTY = 1e250
UNSCORED = 1e300
#: Tries at mutating a child into a genotype not evaluated yet.
RETRIES = 5


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
        self._population = np.zeros((0, 0), np.int64)
        self._fitness = np.zeros((0, 0))
        self._offspring = np.zeros((0, 0), np.int64)
        self._seen: set[bytes] = set()

    def start(
        self,
        problem: Problem,
        history: Evaluation,
        rng: np.random.Generator,
        *,
        worker: int = 0,
        n_workers: int = 1,
    ) -> None:
        self.check(problem)
        self._problem = problem
        self._rng = rng
        genes = problem.genes
        self._sizes = np.asarray([g.size for g in genes], dtype=np.int64)
        names = [g.name for g in genes]
        levels: list[list[int]] = []
        lv = 0
        while any(n.startswith(f"L{lv}.") for n in names):
            levels.append([k for k, n in enumerate(names) if n.startswith(f"L{lv}.")])
            lv += 1
        self._levels = [np.asarray(block, dtype=np.int64) for block in levels]

        def columns(keep: Any) -> IntArray:
            return np.asarray(
                [k for k, n in enumerate(names) if keep(n) and not genes[k].fixed], dtype=np.int64
            )

        self._tiles = columns(lambda n: ".tile." in n or n.startswith("hw."))
        self._orders = columns(lambda n: n.endswith(".order"))
        self._spatials = columns(lambda n: n.endswith(".spatial"))
        self._clusters = columns(lambda n: n.endswith(".cluster") or n == "levels")
        self._structure = np.sort(np.concatenate([self._orders, self._spatials, self._clusters]))
        self._perms = {int(k): _Permutations(genes[k].choices) for k in self._orders}
        n_obj = len(problem.objectives)
        self._fitness_cls = type("Fitness", (base.Fitness,), {"weights": (-1.0,) * n_obj})
        self._individual_cls = type("Individual", (list,), {})
        self._random_left = self.warmup_generations * self.batch_size - len(history)
        genotypes = np.asarray(history.genotypes, dtype=np.int64).reshape(-1, len(genes))
        self._seen = {row.tobytes() for row in genotypes}
        self._population = np.zeros((0, len(genes)), np.int64)
        self._fitness = np.zeros((0, n_obj))
        if len(history):
            fit = self._fitness_values(history)
            picked = np.argsort(fit[:, 0], kind="stable")[: self.batch_size]
            self._population, self._fitness = genotypes[picked], fit[picked]
        self._offspring = np.zeros((0, len(genes)), np.int64)

    # --- fitness --------------------------------------------------------------------------
    def _fitness_values(self, ev: Evaluation) -> FloatArray:
        """Costs to minimise, ``(B, n_objectives)``: infeasible candidates behind every
        feasible one, by violation; unscored ones last."""
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
            self._offspring = self._problem.random_genotypes(n, self._rng)
            self._random_left -= n
        else:
            self._offspring = self._vary(n)
        return self._offspring.copy()

    def tell(self, evaluation: Evaluation) -> None:
        if len(evaluation) != len(self._offspring):
            raise ValueError(
                f"tell() got {len(evaluation)} evaluations for {len(self._offspring)} asked"
            )
        fresh = np.asarray(evaluation.genotypes, dtype=np.int64)
        self._seen.update(row.tobytes() for row in fresh)
        pool = np.concatenate([self._population, fresh])
        fit = np.concatenate([self._fitness, self._fitness_values(evaluation)])
        _, first = np.unique(pool, axis=0, return_index=True)
        first.sort()  # first occurrence of every distinct genotype, in order
        pool, fit = pool[first], fit[first]
        if len(pool) <= self.batch_size:
            keep = np.arange(len(pool))
        elif fit.shape[1] > 1:
            keep = self._nsga2(fit)
        else:
            keep = self._truncate(pool, fit[:, 0])
        self._population, self._fitness = pool[keep], fit[keep]
        self._offspring = self._offspring[:0]

    def _truncate(self, pool: IntArray, cost: FloatArray) -> IntArray:
        """The best ``batch_size`` distinct genotypes, at most ``niche`` per template.

        NOTE: the template (levels, loop orders, spatial dims, clusters) is the discrete
        structure; capping how many survivors share one keeps several templates alive while
        their tiles are tuned, instead of the whole population collapsing onto one.
        """
        order = np.argsort(cost, kind="stable")
        cap = max(2, self.batch_size // 8)
        _, template = np.unique(pool[order][:, self._structure], axis=0, return_inverse=True)
        template = template.reshape(-1)
        # rank of every candidate among the better ones of its template
        by_template = np.argsort(template, kind="stable")
        starts = np.searchsorted(template[by_template], template[by_template])
        rank = np.empty(len(order), np.int64)
        rank[by_template] = np.arange(len(order)) - starts
        within = rank < cap
        return np.concatenate([order[within], order[~within]])[: self.batch_size]

    def _nsga2(self, fit: FloatArray) -> IntArray:
        """NSGA-II survivors (DEAP's ``selNSGA2``) by position in the pool."""
        individuals = []
        for k, values in enumerate(fit.tolist()):
            ind = self._individual_cls([k])
            ind.fitness = self._fitness_cls(tuple(values))
            individuals.append(ind)
        return np.asarray([ind[0] for ind in tools.selNSGA2(individuals, self.batch_size)])

    def _tournament(self, k: int) -> IntArray:
        """``k`` tournament winners' positions in the population (first objective)."""
        idx = self._rng.integers(0, len(self._population), size=(k, self.tournament_size))
        best = np.argmin(self._fitness[idx, 0], axis=1)
        return idx[np.arange(k), best]

    # --- variation ------------------------------------------------------------------------
    def _vary(self, n: int) -> IntArray:
        rng = self._rng
        # Several objectives: the population is already NSGA-II-selected; draw parents uniformly.
        parents = (
            np.arange(len(self._population))
            if len(self._problem.objectives) > 1
            else self._tournament(len(self._population))
        )
        immigrants = self._problem.random_genotypes(max(1, n // 10), rng)
        pairs = -(-(n - len(immigrants)) // 2)
        if pairs <= 0:
            return immigrants[:n]
        pick = parents[rng.integers(0, len(parents), size=(pairs, 2))]
        a, b = self._population[pick[:, 0]].copy(), self._population[pick[:, 1]].copy()
        self._crossover(a, b, rng.random(pairs) < self.crossover_prob)
        children = np.stack([a, b], axis=1).reshape(2 * pairs, -1)
        self._mutate(children, np.ones(len(children), bool))
        for _ in range(RETRIES):  # prefer genotypes not evaluated yet
            again = np.fromiter(
                (row.tobytes() in self._seen for row in children), bool, len(children)
            )
            if not again.any():
                break
            self._mutate(children, again)
        return np.concatenate([immigrants, children])[:n]

    def _crossover(self, a: IntArray, b: IntArray, mate: BoolArray) -> None:
        """Swap whole levels (each with probability 1/2), then single tiles (each with
        probability 0.2) between the pairs ``mate`` of ``a`` and ``b``, in place."""
        rng = self._rng
        for block in self._levels:
            swap = mate & (rng.random(len(a)) < 0.5)
            _swap(a, b, swap[:, None] & np.ones(len(block), bool), block)
        if self._tiles.size:
            swap = mate[:, None] & (rng.random((len(a), self._tiles.size)) < 0.2)
            _swap(a, b, swap, self._tiles)

    def _mutate(self, g: IntArray, rows: BoolArray) -> None:
        """Mutate the genotypes ``rows`` of ``g`` in place (see the module docstring)."""
        rng, p = self._rng, self.mutation_prob
        n = len(g)
        if self._tiles.size:
            per_gene = p / max(1, self._tiles.size // 2)
            shape = (n, self._tiles.size)
            hit = rows[:, None] & (rng.random(shape) < per_gene)
            near = rng.random(shape) < 0.7  # a neighbouring tile size, else any size
            step = rng.choice((-1, 1), size=shape)
            sizes = self._sizes[self._tiles]
            anywhere = (rng.random(shape) * sizes).astype(np.int64)
            cur = g[:, self._tiles]
            new = np.where(near, np.clip(cur + step, 0, sizes - 1), anywhere)
            g[:, self._tiles] = np.where(hit, new, cur)
        for k, perms in self._perms.items():
            hit = rows & (rng.random(n) < p)
            if hit.any():
                g[hit, k] = perms.shuffle(g[hit, k], rng)
        for k in self._clusters.tolist():
            hit = rows & (rng.random(n) < p)
            step = rng.choice((-1, 1), size=n)
            g[:, k] = np.where(hit, np.clip(g[:, k] + step, 0, self._sizes[k] - 1), g[:, k])
        for k in self._spatials.tolist():
            hit = rows & (rng.random(n) < p / 2)
            g[:, k] = np.where(hit, (rng.random(n) * self._sizes[k]).astype(np.int64), g[:, k])



class _Permutations:
    """A loop-order gene's choices as permutations, for shuffling them as arrays."""

    def __init__(self, choices: tuple[Any, ...]) -> None:
        labels = [str(c) for c in choices]
        symbols = sorted(set(labels[0]))
        self.table = np.asarray([[symbols.index(s) for s in label] for label in labels])
        self.length = self.table.shape[1]
        radix = self.length ** np.arange(self.length)
        codes = self.table @ radix
        self._order = np.argsort(codes)
        self._codes = codes[self._order]
        self._radix = radix

    def shuffle(self, index: IntArray, rng: np.random.Generator) -> IntArray:
        """The choices ``index`` with every position swapped, with probability ``2 / length``,
        with another position (DEAP's ``mutShuffleIndexes``)."""
        perm = self.table[index].copy()
        rows = np.arange(len(perm))
        if self.length > 1:
            for i in range(self.length):
                hit = rng.random(len(perm)) < 2.0 / self.length
                j = rng.integers(0, self.length - 1, size=len(perm))
                j = j + (j >= i)
                a, b = perm[rows, i].copy(), perm[rows, j]
                perm[hit, i] = b[hit]
                perm[rows[hit], j[hit]] = a[hit]
        code = perm @ self._radix
        at = np.minimum(np.searchsorted(self._codes, code), len(self._codes) - 1)
        # a permutation the gene does not offer leaves the choice as it was
        return np.where(self._codes[at] == code, self._order[at], index)


def _swap(a: IntArray, b: IntArray, mask: BoolArray, columns: IntArray) -> None:
    """Exchange ``a[:, columns]`` and ``b[:, columns]`` where ``mask`` (rows x columns)."""
    ca, cb = a[:, columns], b[:, columns]
    a[:, columns] = np.where(mask, cb, ca)
    b[:, columns] = np.where(mask, ca, cb)
