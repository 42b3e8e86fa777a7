"""Fixtures of the study tests."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from mapsearch.problem import Problem


@pytest.fixture
def fail_third_batch(monkeypatch: pytest.MonkeyPatch) -> Callable[[BaseException], None]:
    """``fail_third_batch(error)``: the third evaluation of a run (the search's second
    batch, after the classic seeds and its first) raises ``error``."""

    def arm(error: BaseException) -> None:
        calls = []
        evaluate = Problem.evaluate

        def third(self, genotypes):  # type: ignore[no-untyped-def]
            calls.append(len(genotypes))
            if len(calls) == 3:
                raise error
            return evaluate(self, genotypes)

        monkeypatch.setattr(Problem, "evaluate", third)

    return arm
