"""TPE asked a batch at a time: the same trials as Optuna's own sampler, one build a batch."""

from __future__ import annotations

import numpy as np
import optuna
import pytest
from optuna.distributions import CategoricalDistribution, IntDistribution
from test_contract import problem

from mapsearch.searchers import make_searcher
from mapsearch.searchers.optuna_searchers import BatchTPESampler

DISTS = {f"i{j}": IntDistribution(0, 9) for j in range(5)} | {
    f"c{j}": CategoricalDistribution(["a", "b", "c"]) for j in range(3)
}


def _objective(params: dict) -> float:
    return sum((params[f"i{j}"] - 2 * j) ** 2 for j in range(5)) + sum(
        params[f"c{j}"] != "b" for j in range(3)
    )


def _asked(
    sampler: optuna.samplers.TPESampler, batch: int, n: int, objectives: int = 1
) -> list[tuple]:
    """``n`` trials asked ``batch`` at a time, each batch told once it is all asked (with
    two objectives, the second is the sum of the integer parameters)."""
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(sampler=sampler, directions=["minimize"] * objectives)
    out: list[tuple] = []
    while len(out) < n:
        if isinstance(sampler, BatchTPESampler):
            sampler.planned = batch
        trials = [study.ask(DISTS) for _ in range(batch)]
        for trial in trials:
            out.append(tuple(trial.params.values()))
            values = [_objective(trial.params), sum(trial.params[f"i{j}"] for j in range(5))]
            study.tell(trial, values[:objectives])
    return out


@pytest.mark.parametrize(("batch", "objectives"), [(1, 1), (5, 1), (16, 1), (8, 2)])
def test_a_batch_gets_the_trials_optunas_own_asks_get(batch, objectives):
    """Every trial equals the stock sampler's (same seed, no constant liar): the batch's
    candidates come from the same random stream and are scored alike."""
    kwargs = dict(seed=7, multivariate=True, n_startup_trials=10)
    stock = _asked(
        optuna.samplers.TPESampler(constant_liar=False, **kwargs), batch, 120, objectives
    )
    batched = _asked(BatchTPESampler(**kwargs), batch, 120, objectives)
    assert batched == stock
    assert len(set(stock[10:])) > 10  # past the random start the model proposes many points


def test_the_tpe_searcher_builds_its_estimators_once_a_batch(monkeypatch):
    """The searcher tells the sampler the batch's size before it asks: after the random
    start, one below and one above estimator per batch, not per trial."""
    builds: list[bool] = []
    build = BatchTPESampler._build_parzen_estimator

    def counted(self, study, search_space, trials, handle_below):
        builds.append(handle_below)
        return build(self, study, search_space, trials, handle_below)

    monkeypatch.setattr(BatchTPESampler, "_build_parzen_estimator", counted)
    p = problem()
    searcher = make_searcher("tpe", batch_size=8)
    empty_history = p.evaluate(np.zeros((0, p.n_genes), np.int64))
    searcher.start(p, empty_history, np.random.default_rng(0))
    for _ in range(5):  # two batches of random start (16 trials), then three of the model
        genotypes = searcher.ask(8)
        searcher.tell(p.evaluate(genotypes))
    assert builds == [True, False] * 3
