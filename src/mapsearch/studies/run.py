"""Running a search into a study: budget, workers, seeds, resume and interruption.

``run_study`` resumes whatever the study holds: ``n_trials`` is the number of evaluations
the study should hold in the end, so rerunning a finished command does nothing new and
rerunning an interrupted one finishes it. Seeds come from
``numpy.random.SeedSequence(seed)`` (mixed with the number of evaluations already held
when resuming) spawned once per worker, so the same seed, worker count and history give
the same evaluations. Workers are joblib processes that each open the storage from its URL.

The budget ``n_trials`` is the study's: every write is capped at it (``StudyRecord.write``),
so processes sharing a study (several ``tune`` commands, or workers) stop together when the
study is full and never take a relational storage past it. A worker writes the batches it
scored every :data:`WRITE_EVERY_S` seconds in one transaction (a disk sync each), so it
scores at most that much that is then not stored; the write runs in a thread while the
worker scores on. Ctrl-C and SIGTERM stop the run after
the batch being scored and write every batch scored; workers whose parent dies (even by
``kill -9``) stop after their current batch, losing what they scored since their last write.
"""

from __future__ import annotations

import functools
import math
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np

from mapsearch.directives import Mapping
from mapsearch.errors import (
    INTERRUPTED,
    INTERRUPTED_EXIT,
    ConfigError,
    StudyError,
    interruption,
)
from mapsearch.problem import Evaluation, Problem
from mapsearch.searchers import SEARCHERS, check_searcher, make_searcher
from mapsearch.searchers.base import Proof, Searcher
from mapsearch.studies.locations import in_memory
from mapsearch.studies.storage import StudyRecord

#: progress(new evaluations, best first-objective value so far or None).
Progress = Callable[[int, float | None], None]
#: Largest budget: a trial number is a 32-bit integer in Optuna's schema.
MAX_TRIALS = 2**31 - 1
#: Most worker processes (each holds a storage connection and a copy of the problem).
MAX_JOBS = 256
#: Largest batch: the cost model holds a few arrays of this many rows per template.
MAX_BATCH = 2**20
#: The searcher and the budget (evaluations the study should hold) of a run, unless told.
DEFAULT_SEARCHER = "ga"
DEFAULT_TRIALS = 4000
#: Seconds between a worker's checks that its parent is alive.
_PARENT_POLL_S = 0.2


@dataclass(frozen=True, slots=True, kw_only=True)
class RunConfig:
    """How to search: searcher name, budget (total evaluations and/or seconds), workers, seed.

    :meth:`create` fills in the default budget the way ``mapsearch tune`` does.
    """

    searcher: str = DEFAULT_SEARCHER
    n_trials: int | None = DEFAULT_TRIALS
    timeout_s: float | None = None
    jobs: int = 1
    seed: int = 0
    batch_size: int | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "searcher", check_searcher(self.searcher))
        problems = []
        if self.n_trials is None and self.timeout_s is None:
            problems.append("give a budget: n_trials and/or timeout_s")
        if self.n_trials is not None and not 1 <= self.n_trials <= MAX_TRIALS:
            problems.append(f"n_trials must be from 1 to {MAX_TRIALS:,}, got {self.n_trials}")
        if self.timeout_s is not None and not (
            math.isfinite(self.timeout_s) and self.timeout_s > 0
        ):
            problems.append(f"timeout_s must be a finite number > 0, got {self.timeout_s}")
        if not 1 <= self.jobs <= MAX_JOBS:
            problems.append(f"jobs must be from 1 to {MAX_JOBS}, got {self.jobs}")
        if self.seed < 0:
            problems.append(f"seed must be >= 0, got {self.seed}")
        if self.batch_size is not None and not 1 <= self.batch_size <= MAX_BATCH:
            problems.append(f"batch_size must be from 1 to {MAX_BATCH:,}, got {self.batch_size}")
        if problems:
            raise ConfigError("; ".join(problems))

    @classmethod
    def create(
        cls,
        *,
        searcher: str = DEFAULT_SEARCHER,
        n_trials: int | None = None,
        timeout_s: float | None = None,
        jobs: int = 1,
        seed: int = 0,
        batch_size: int | None = None,
    ) -> RunConfig:
        """A run from optional budgets: ``n_trials`` defaults to :data:`DEFAULT_TRIALS`
        (:data:`MAX_TRIALS` for a searcher that stops once it has proved the optimum, so it
        runs until it does), unless a ``timeout_s`` alone is given (then the run stops on
        time only)."""
        if n_trials is None and timeout_s is None:
            proves = getattr(SEARCHERS[check_searcher(searcher)], "proves", False)
            n_trials = MAX_TRIALS if proves else DEFAULT_TRIALS
        return cls(
            searcher=searcher,
            n_trials=n_trials,
            timeout_s=timeout_s,
            jobs=jobs,
            seed=seed,
            batch_size=batch_size,
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class RunResult:
    """What a run did: evaluations added, evaluations held in total, wall time, interruption,
    and what the searcher proved (``proof``: None for searchers that prove nothing, or when
    the searcher did not run)."""

    study: str
    storage: str
    n_new: int
    n_evaluations: int
    wall_s: float
    interrupted: bool
    exhausted: bool
    proof: Proof | None = None


def _worker(
    problem: Problem,
    config: RunConfig,
    url: str,
    name: str,
    history: Evaluation,
    budget: int | None,
    deadline: float | None,
    seed: np.random.SeedSequence,
    worker: int,
    progress: Progress | None,
    parent: int | None = None,
    record: StudyRecord | None = None,
) -> tuple[int, bool, bool, Proof | None]:
    """One worker's search loop; returns (evaluations recorded, interrupted, searcher
    exhausted, what the searcher proved). In a worker process, ``parent`` is the pid of the
    process that started it: the worker process ends when that parent is gone
    (:func:`_exit_with_parent`). ``record`` is the study already open in this process (else
    it is opened from ``url``).

    Batches are told to the searcher as soon as they are scored and written together
    (:class:`_Writes`): one transaction per :data:`WRITE_EVERY_S` instead of one per batch.
    """
    if parent is not None:
        _exit_with_parent(parent)
    searcher: Searcher | None = None
    writes: _Writes | None = None
    own_record = record is None
    with sigterm_interrupts():
        try:
            if record is None:
                record = StudyRecord.open(url, name, problem, create=False)
            writes = _Writes(record, problem, config.n_trials, progress)
            writes.best.add(history)
            searcher = make_searcher(config.searcher, batch_size=config.batch_size)
            searcher.start(
                problem,
                history,
                np.random.default_rng(seed),
                worker=worker,
                n_workers=config.jobs,
                deadline=deadline,
            )
            while budget is None or writes.asked < budget:
                if deadline is not None and time.time() >= deadline:
                    break
                n = (
                    searcher.batch_size
                    if budget is None
                    else min(searcher.batch_size, budget - writes.asked)
                )
                genotypes = searcher.ask(n)
                if len(genotypes) == 0:
                    if deadline is not None and time.time() >= deadline:
                        break  # out of time before a new point, not out of points
                    writes.flush()
                    return writes.done, False, True, searcher.proof()
                ev = problem.evaluate(genotypes)
                searcher.tell(ev)
                if writes.add(ev):
                    break  # other processes filled the study meanwhile
                if INTERRUPTED.is_set():  # a Ctrl-C that a finalizer swallowed
                    raise KeyboardInterrupt
            writes.flush()
        except (KeyboardInterrupt, SystemError) as e:
            if not interruption(e):
                raise
            if writes is not None:
                writes.flush()
            done = 0 if writes is None else writes.done
            return done, True, False, None if searcher is None else searcher.proof()
        finally:
            if writes is not None:
                writes.close()
            if own_record and record is not None:
                record.close()
    return writes.done, False, False, None if searcher is None else searcher.proof()


#: Seconds between a worker's writes: scored batches wait this long to be written together.
WRITE_EVERY_S = 0.5


class _Writes:
    """A worker's evaluations on their way to the study: held until :data:`WRITE_EVERY_S`
    have passed since the last write, then written in one transaction (each costs a disk
    sync), capped at the study's budget ``limit``.

    A write runs in a thread while the worker scores the next batches (the database works
    without Python's global lock), one at a time: the next write first waits for it, and
    :meth:`flush` waits for everything. Its result (evaluations stored, the study full) is
    taken in the worker's thread, which also reports the progress."""

    def __init__(
        self, record: StudyRecord, problem: Problem, limit: int | None, progress: Progress | None
    ) -> None:
        self._record, self._limit, self._progress = record, limit, progress
        self._problem = problem
        self._held: list[Evaluation] = []
        self._last = time.monotonic()
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="mapsearch-write")
        self._writing: tuple[Future[int], Evaluation] | None = None
        self.best = BestSoFar(problem)
        #: Evaluations stored, and scored (stored, being written or held).
        self.done = self.asked = 0

    def add(self, ev: Evaluation) -> bool:
        """Hold ``ev``, starting a write of what is held when it is time; whether the study
        is full (as the last finished write found it)."""
        self._held.append(ev)
        self.asked += len(ev)
        if time.monotonic() - self._last < WRITE_EVERY_S:
            return False
        return self._send()

    def flush(self) -> bool:
        """Write what is held and wait until every write is done; whether the study is full
        (then what was held past its budget is dropped)."""
        full = self._send()
        return self._wait() or full

    def close(self) -> None:
        """Wait for the write in flight, if any, and end the writing thread."""
        self._thread.shutdown(wait=True)

    def _send(self) -> bool:
        """Wait for the write in flight, then start writing what is held (dropped if the
        study is full); whether the study is full."""
        full = self._wait()
        self._last = time.monotonic()
        held, self._held = self._held, []  # an interrupted write is rolled back, not redone
        if full or not held:
            return full
        ev = Evaluation.concat(held, len(self._problem.genes), len(self._problem.objectives))
        self._writing = (self._thread.submit(self._record.write, ev, limit=self._limit), ev)
        return False

    def _wait(self) -> bool:
        """Wait for the write in flight and count what it stored; whether the study is full.
        Interrupted while waiting (Ctrl-C), the write stays in flight for the next wait."""
        if self._writing is None:
            return False
        future, ev = self._writing
        stored = future.result()
        self._writing = None
        self.done += stored
        full = stored < len(ev)
        self.asked = self.done if full else self.asked
        self.best.add(ev if not full else ev.take(np.arange(stored)))
        if self._progress is not None and stored:
            self._progress(stored, self.best.value)
        return full


@functools.cache
def _exit_with_parent(parent: int) -> None:
    """End this (worker) process within a fraction of a second once process ``parent`` is
    gone, busy or idle: a daemon thread watches the parent pid (an orphan is re-parented).

    NOTE: joblib's loky workers outlive a parent killed by SIGKILL (an idle one for minutes)
    and keep their resource trackers alive; ``os._exit`` ends the worker at once, and a
    write it was doing is rolled back by the database (every write is one transaction).
    """

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(_PARENT_POLL_S)
        os._exit(INTERRUPTED_EXIT)

    threading.Thread(target=watch, name="mapsearch-parent-watch", daemon=True).start()


@contextmanager
def sigterm_interrupts() -> Iterator[None]:
    """Within the block, SIGTERM stops the calling (main) thread as Ctrl-C does, so that a
    terminated run stops as cleanly as an interrupted one. Elsewhere than in the main
    thread, nothing changes."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


class BestSoFar:
    """The best feasible value of a problem's first objective among the evaluations added,
    in the objective's own unit and direction (None until one is feasible): what a run
    reports to its ``progress``."""

    def __init__(self, problem: Problem) -> None:
        self._sign = problem.objectives[0].sign
        self._cost: float | None = None

    def add(self, ev: Evaluation) -> None:
        ok = ev.feasible
        if ok.any():
            cost = float(np.min(ev.values[ok, 0] * self._sign))
            self._cost = cost if self._cost is None else min(self._cost, cost)

    @property
    def value(self) -> float | None:
        return None if self._cost is None else self._cost * self._sign


def run_study(
    problem: Problem,
    record: StudyRecord,
    config: RunConfig,
    *,
    seeds: Sequence[Mapping] = (),
    progress: Progress | None = None,
) -> RunResult:
    """Search ``problem`` into ``record``'s study until the budget is spent (see module docs).

    ``seeds`` are mappings (e.g. the classic dataflows) evaluated first when the study is
    new, if the space can express them.
    """
    t0 = time.time()
    if config.jobs > 1 and in_memory(record.url):
        raise StudyError(
            f"{record.url} is a database in this process's memory, which workers in other "
            "processes cannot share: run with --jobs 1, or keep the study in a file "
            "(the default) or on a server"
        )
    searcher = make_searcher(config.searcher, batch_size=config.batch_size)
    searcher.check(problem)
    interrupted = exhausted = False
    proof: Proof | None = None
    with sigterm_interrupts():
        _, history = record.history()
        held, new = len(history), 0
        try:
            if held == 0 and seeds:
                history = _write_seeds(problem, record, config, seeds, progress)
                new = len(history)
            remaining = None if config.n_trials is None else max(0, config.n_trials - held - new)
            entropy = [config.seed] if held == 0 else [config.seed, held]
            children = np.random.SeedSequence(entropy).spawn(config.jobs)
            deadline = None if config.timeout_s is None else t0 + config.timeout_s
            budgets: list[int | None]
            if remaining is None:
                budgets = [None] * config.jobs
            else:
                budgets = [
                    remaining // config.jobs + (w < remaining % config.jobs)
                    for w in range(config.jobs)
                ]
            if remaining != 0:
                if config.jobs == 1:
                    done, interrupted, exhausted, proof = _worker(
                        problem,
                        config,
                        record.url,
                        record.name,
                        history,
                        budgets[0],
                        deadline,
                        children[0],
                        0,
                        progress,
                        record=record,
                    )
                else:
                    done, interrupted, exhausted, proof = _run_parallel(
                        problem, config, record, history, budgets, deadline, children, progress
                    )
                new += done
        except (KeyboardInterrupt, SystemError) as e:
            if not interruption(e):
                raise
            interrupted = True
    return RunResult(
        study=record.name,
        storage=record.display_url,
        n_new=new,
        n_evaluations=record.n_trials(),
        wall_s=time.time() - t0,
        interrupted=interrupted,
        exhausted=exhausted,
        proof=proof,
    )


def _write_seeds(
    problem: Problem,
    record: StudyRecord,
    config: RunConfig,
    seeds: Sequence[Mapping],
    progress: Progress | None,
) -> Evaluation:
    """Evaluate and record the seed mappings the space can express; what was recorded."""
    encoded = [g for g in (problem.space.encode(m) for m in seeds) if g is not None]
    if not encoded:
        return Evaluation.concat([], len(problem.genes), len(problem.objectives))
    g = np.stack(encoded)
    if problem.hardware_space is not None:
        g = np.concatenate(
            [g, np.zeros((len(g), len(problem.hardware_space.genes)), np.int64)], axis=1
        )
    g = np.unique(g, axis=0)
    if config.n_trials is not None:
        g = g[: config.n_trials]
    ev = problem.evaluate(g)
    ev = ev.take(np.arange(record.write(ev, limit=config.n_trials)))
    if progress is not None and len(ev):
        best = BestSoFar(problem)
        best.add(ev)
        progress(len(ev), best.value)
    return ev


def _run_parallel(
    problem: Problem,
    config: RunConfig,
    record: StudyRecord,
    history: Evaluation,
    budgets: list[int | None],
    deadline: float | None,
    children: list[np.random.SeedSequence],
    progress: Progress | None,
) -> tuple[int, bool, bool, Proof | None]:
    """Workers in joblib processes; the caller's ``progress`` is fed by polling the storage."""
    from joblib import Parallel, delayed

    stop = threading.Event()
    start_count = record.n_trials()
    seen = [start_count]

    def update() -> None:
        try:
            now = record.n_trials()
        except Exception:  # the storage may be busy; try again at the next tick
            return
        if progress is not None and now > seen[0]:
            progress(now - seen[0], None)
            seen[0] = now

    def poll() -> None:
        while not stop.wait(0.5):
            update()

    poller = threading.Thread(target=poll, daemon=True)
    poller.start()
    try:
        results = Parallel(n_jobs=config.jobs, backend="loky")(
            delayed(_worker)(
                problem,
                config,
                record.url,
                record.name,
                history,
                budgets[w],
                deadline,
                children[w],
                w,
                None,
                os.getpid(),
            )
            for w in range(config.jobs)
        )
    except BaseException as e:
        stop.set()
        if interruption(e):
            return record.n_trials() - start_count, True, False, None
        if isinstance(e, Exception):
            raise StudyError(f"a worker failed: {e}") from e
        raise
    finally:
        stop.set()
        poller.join()
    update()
    done = sum(r[0] for r in results)
    proof = Proof.merge([r[3] for r in results])
    return done, any(r[1] for r in results), all(r[2] for r in results), proof
