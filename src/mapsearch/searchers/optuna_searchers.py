"""Optuna samplers (TPE, NSGA-II, CMA-ES, random, QMC) as searchers, through batched ask/tell.

The sampler works on a private in-memory study that mirrors the run's history: ``ask(n)``
asks ``n`` trials at once, so one cost-model call scores the whole batch, then ``tell``
completes them. Ordered genes are ``IntDistribution`` over choice indices, unordered ones
``CategoricalDistribution`` over choice labels; fixed genes are not parameters. Scored but
infeasible candidates are told as complete with a constraint violation for samplers that
take constraints (TPE, NSGA-II), as failed otherwise; unscored ones always as failed.
"""

from __future__ import annotations

import abc
import warnings
from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np
import optuna
from optuna.distributions import BaseDistribution
from optuna.samplers._tpe.parzen_estimator import _ParzenEstimator
from optuna.study import StudyDirection
from optuna.trial import FrozenTrial, Trial, TrialState, create_trial

from mapsearch.problem import Evaluation, Problem
from mapsearch.searchers.base import Searcher
from mapsearch.spaces.genes import Gene, IntArray
from mapsearch.spaces.optuna_params import distributions, genotype_of, params_of

VIOLATION_ATTR = "violation"


def _violation(trial: FrozenTrial) -> Sequence[float]:
    return (float(trial.user_attrs.get(VIOLATION_ATTR, 0.0)),)


class OptunaSearcher(Searcher):
    """Base of the Optuna-backed searchers: subclasses only build the sampler."""

    #: Whether the sampler takes ``constraints_func``.
    constrained: ClassVar[bool] = False

    def __init__(self, *, batch_size: int = 32) -> None:
        super().__init__(batch_size=batch_size)
        self._study: optuna.Study | None = None
        self._pending: list[Trial] = []
        self._genes: tuple[Gene, ...] = ()
        self._dists: dict[str, BaseDistribution] = {}

    @abc.abstractmethod
    def make_sampler(self, problem: Problem, seed: int) -> optuna.samplers.BaseSampler:
        """The Optuna sampler, seeded with ``seed``."""

    @property
    def random_start(self) -> int:
        """Trials the sampler draws at random before it learns from any (0: none, or a
        sequence of its own): on a complete space, they are drawn by
        :meth:`~mapsearch.spaces.Genome.sample` and queued."""
        return 0

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
        optuna.logging.set_verbosity(optuna.logging.WARNING)  # no line per in-memory trial
        self._genes = problem.genes
        self._dists = distributions(self._genes)
        seed = int(rng.integers(2**31 - 1))
        with warnings.catch_warnings():
            # NOTE: building a sampler warns about what it uses on purpose, and only that:
            # ``constraints_func`` (deprecated in Optuna 5, pinned below 6 in pyproject) and
            # the experimental QMC sampler and CMA-ES margin.
            warnings.filterwarnings(
                "ignore", message="`constraints_func` has been deprecated", category=FutureWarning
            )
            warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
            sampler = self.make_sampler(problem, seed)
        self._study = optuna.create_study(
            directions=[StudyDirection[d.name] for d in problem.directions], sampler=sampler
        )
        if len(history):
            self._study.add_trials(self._frozen(history))
        if problem.genome.beyond_compact:
            # the sampler's random start drawn as the other searchers draw (Genome.sample)
            start = max(0, self.random_start - len(history))
            for row in problem.genome.sample(start, rng):
                self._study.enqueue_trial(params_of(self._genes, row))

    def _frozen(self, ev: Evaluation) -> list[FrozenTrial]:
        trials = []
        for k in range(len(ev)):
            params = params_of(self._genes, ev.genotypes[k])
            values, state, attrs = self._outcome(ev, k)
            trials.append(
                create_trial(
                    params=params,
                    distributions={n: self._dists[n] for n in params},
                    values=values,
                    state=state,
                    user_attrs=attrs,
                )
            )
        return trials

    def _outcome(
        self, ev: Evaluation, k: int
    ) -> tuple[list[float] | None, TrialState, dict[str, float]]:
        if ev.violation[k] == 0:
            return [float(v) for v in ev.values[k]], TrialState.COMPLETE, {}
        if self.constrained and np.isfinite(ev.violation[k]) and np.isfinite(ev.values[k]).all():
            return (
                [float(v) for v in ev.values[k]],
                TrialState.COMPLETE,
                {VIOLATION_ATTR: float(ev.violation[k])},
            )
        return None, TrialState.FAIL, {}

    def ask(self, n: int) -> IntArray:
        assert self._study is not None, "start() must be called before ask()"
        self._pending = [self._study.ask(self._dists) for _ in range(n)]
        if not self._pending:
            return np.zeros((0, len(self._genes)), np.int64)
        return np.stack([genotype_of(self._genes, t.params) for t in self._pending])

    def tell(self, evaluation: Evaluation) -> None:
        assert self._study is not None, "start() must be called before tell()"
        if len(evaluation) != len(self._pending):
            raise ValueError(
                f"tell() got {len(evaluation)} evaluations for {len(self._pending)} asked"
            )
        for k, trial in enumerate(self._pending):
            values, state, attrs = self._outcome(evaluation, k)
            for key, v in attrs.items():
                trial.set_user_attr(key, v)
            if state is TrialState.COMPLETE:
                self._study.tell(trial, values)
            else:
                self._study.tell(trial, state=TrialState.FAIL)
        self._pending = []


class BatchTPESampler(optuna.samplers.TPESampler):
    """Optuna's TPE sampler without the constant liar, asked a batch of trials at a time.

    Without the liar, TPE ignores running trials, so every ask of a batch (asked before any
    of it is told) builds the same two Parzen estimators from the same finished trials, a
    cost that grows with the history. Here the batch's first ask builds them as Optuna
    does and draws its candidates; the other ``planned - 1`` asks' candidates are drawn from
    the same random stream, one ask's worth at a time, and scored in one call: each ask gets
    the trial Optuna's own ask would (tests compare them), at one build a batch.
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(constant_liar=False, **kwargs)
        #: How many asks the next batch makes (set by the searcher before it asks).
        self.planned = 1
        self._built: dict[bool, _ParzenEstimator] = {}
        self._queue: list[dict[str, Any]] = []
        self._told = 0  # trials finished since the sampler was made
        self._key: tuple[int, tuple[str, ...]] | None = None

    def after_trial(
        self,
        study: optuna.Study,
        trial: FrozenTrial,
        state: TrialState,
        values: Sequence[float] | None,
    ) -> None:
        self._told += 1
        super().after_trial(study, trial, state, values)

    def _build_parzen_estimator(
        self,
        study: optuna.Study,
        search_space: dict[str, BaseDistribution],
        trials: list[FrozenTrial],
        handle_below: bool,
    ) -> _ParzenEstimator:
        self._built[handle_below] = estimator = super()._build_parzen_estimator(
            study, search_space, trials, handle_below
        )
        return estimator

    def _sample(
        self, study: optuna.Study, trial: FrozenTrial, search_space: dict[str, BaseDistribution]
    ) -> dict[str, Any]:
        key = (self._told, tuple(search_space))
        if key == self._key and self._queue:
            return self._queue.pop(0)
        self._key = key
        first = super()._sample(study, trial, search_space)  # builds the estimators
        self._queue = self._draw(search_space, self.planned - 1)
        return first

    def _draw(self, search_space: dict[str, BaseDistribution], n: int) -> list[dict[str, Any]]:
        """``n`` asks' trials from the estimators just built: each the best of its own
        ``n_ei_candidates`` candidates, drawn in ask order."""
        if n <= 0:
            return []
        below, above = self._built[True], self._built[False]
        m = self._n_ei_candidates
        blocks = [below.sample(self._rng.rng, m) for _ in range(n)]
        samples = {name: np.concatenate([b[name] for b in blocks]) for name in search_space}
        acquisition = self._compute_acquisition_func(samples, below, above).reshape(n, m)
        best = acquisition.argmax(axis=1) + m * np.arange(n)
        return [
            {
                name: dist.to_external_repr(samples[name][i].item())
                for name, dist in search_space.items()
            }
            for i in best.tolist()
        ]


class TPESearcher(OptunaSearcher):
    """Tree-structured Parzen estimator (multivariate), with constraint handling, its
    estimators built once a batch (:class:`BatchTPESampler`)."""

    name = "tpe"
    constrained = True

    def make_sampler(self, problem: Problem, seed: int) -> optuna.samplers.BaseSampler:
        return BatchTPESampler(
            seed=seed,
            multivariate=True,
            constraints_func=_violation,
            n_startup_trials=self.random_start,
        )

    def ask(self, n: int) -> IntArray:
        assert self._study is not None, "start() must be called before ask()"
        sampler = self._study.sampler
        assert isinstance(sampler, BatchTPESampler)
        sampler.planned = n
        return super().ask(n)

    @property
    def random_start(self) -> int:
        return min(64, 2 * self.batch_size)


class NSGA2Searcher(OptunaSearcher):
    """Optuna's NSGA-II (population = batch size), with constraint handling."""

    name = "nsga2"
    constrained = True

    def __init__(self, *, batch_size: int = 64) -> None:
        super().__init__(batch_size=batch_size)

    def make_sampler(self, problem: Problem, seed: int) -> optuna.samplers.BaseSampler:
        return optuna.samplers.NSGAIISampler(
            seed=seed, population_size=self.random_start, constraints_func=_violation
        )

    @property
    def random_start(self) -> int:
        """The first generation: one population."""
        return self.batch_size


class CmaEsSearcher(OptunaSearcher):
    """CMA-ES with Margin over the ordered (integer) genes, categorical genes sampled
    independently; one objective only. The margin (Hamano et al., GECCO 2022) keeps the
    integer genes' marginals from collapsing: on the enumerable ResNet50 space it cut the
    worst gap at 2% of the space from 2.46% to 0.70% (benchmarks/search_quality.py)."""

    name = "cmaes"
    multi_objective = False

    def __init__(self, *, batch_size: int = 16) -> None:
        super().__init__(batch_size=batch_size)

    def make_sampler(self, problem: Problem, seed: int) -> optuna.samplers.BaseSampler:
        return optuna.samplers.CmaEsSampler(
            seed=seed,
            popsize=self.batch_size,
            warn_independent_sampling=False,
            n_startup_trials=1,
            with_margin=True,  # CMA-ES with Margin: keeps integer genes from freezing
        )


class QMCSearcher(OptunaSearcher):
    """Scrambled Sobol sequence (Optuna's ``QMCSampler``)."""

    name = "qmc"

    def __init__(self, *, batch_size: int = 256) -> None:
        super().__init__(batch_size=batch_size)

    def make_sampler(self, problem: Problem, seed: int) -> optuna.samplers.BaseSampler:
        return optuna.samplers.QMCSampler(seed=seed, scramble=True, warn_independent_sampling=False)
