"""Tune a layer or a model: build the search problem from plain values, search it into its
study and report the best mapping(s) beside the classic dataflows (``mapsearch tune``).

Nothing here writes a file but the studies: plots and tuning tables are the caller's
(``mapsearch.report``, :func:`mapsearch.studies.tune.write_tuning_table`).
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Protocol, TypedDict, Unpack

from mapsearch.costmodel import DEFAULT_SEMANTICS, Semantics
from mapsearch.errors import UnsupportedError
from mapsearch.hardware import Hardware
from mapsearch.layers import Layer
from mapsearch.models import Model
from mapsearch.objectives import Constraints
from mapsearch.problem import Problem
from mapsearch.spaces import HardwareSpace, SpaceOptions
from mapsearch.studies.locations import check_study_name, derived_study_name
from mapsearch.studies.run import Progress, RunConfig
from mapsearch.studies.tune import ModelOutcome, TuneOutcome
from mapsearch.studies.tune import tune as run_tuning

#: What a search optimises unless told otherwise.
DEFAULT_OBJECTIVES = ("edp",)


class LayerProgress(Protocol):
    """``progress(problem)``: the progress callback of one layer's run, called as it starts
    (None: no report). ``elapsed_s``: the seconds its search already took elsewhere (a
    shape searched in another process, reported when done), so that its rate is its own."""

    def __call__(self, problem: Problem, elapsed_s: float | None = None) -> Progress | None: ...


def build_problem(
    layer: Layer,
    hardware: Hardware,
    objectives: Sequence[str] = DEFAULT_OBJECTIVES,
    *,
    options: SpaceOptions | None = None,
    constraints: Constraints | None = None,
    co_design: bool = False,
    semantics: Semantics | str = DEFAULT_SEMANTICS,
) -> Problem:
    """The search problem of ``layer`` on ``hardware``.

    ``co_design`` searches the hardware too, around ``hardware``; the PE counts it tries
    stay within ``constraints.max_pes``.
    """
    constraints = constraints or Constraints()
    hw_space = None
    if co_design:
        knobs = []
        if constraints.max_pes is not None:
            from mapsearch.spaces.hardware_space import DEFAULT_CHOICES

            limit = constraints.max_pes
            pes = tuple(p for p in DEFAULT_CHOICES["num_pes"] if p <= limit) or (limit,)
            knobs.append(("num_pes", pes))
        hw_space = HardwareSpace.around(hardware, knobs)
    return Problem.create(
        layer,
        hardware,
        list(objectives),
        constraints=constraints,
        options=options or SpaceOptions(),
        co_design=hw_space,
        semantics=semantics,
    )


def _hardware(hardware: Hardware | str | None) -> Hardware:
    from mapsearch.service.hardware import resolve_hardware

    return hardware if isinstance(hardware, Hardware) else resolve_hardware(hardware)


class TuneSettings(TypedDict, total=False):
    """The keyword settings of :func:`tune` and :func:`tune_model` (:class:`TuneRequest`'s
    fields but the hardware and objectives)."""

    config: RunConfig
    options: SpaceOptions
    constraints: Constraints
    co_design: bool
    semantics: Semantics | str
    study: str | None
    storage: str | None
    seed_classics: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class TuneRequest:
    """What a tuning run is asked, for a layer or for each shape of a model.

    The ``hardware`` (searched around with ``co_design``), the ``objectives``, how to search
    (``config``: searcher, evaluations, workers, seed), the mapping space (``options``),
    the ``constraints``, the cost model (``semantics``), the study's name (default: from the
    problem) and ``storage`` (default ``studies/<study>.sqlite3``), and whether the search
    starts from the classic dataflows.
    """

    hardware: Hardware
    objectives: tuple[str, ...] = DEFAULT_OBJECTIVES
    config: RunConfig = field(default_factory=RunConfig)
    options: SpaceOptions = field(default_factory=SpaceOptions)
    constraints: Constraints = field(default_factory=Constraints)
    co_design: bool = False
    semantics: Semantics | str = DEFAULT_SEMANTICS
    study: str | None = None
    storage: str | None = None
    seed_classics: bool = True

    def __post_init__(self) -> None:
        if self.study is not None:
            check_study_name(self.study)

    def problem(self, layer: Layer) -> Problem:
        """The search problem of ``layer`` under this request."""
        return build_problem(
            layer,
            self.hardware,
            self.objectives,
            options=self.options,
            constraints=self.constraints,
            co_design=self.co_design,
            semantics=self.semantics,
        )


def tune(
    layer: Layer | str,
    hardware: Hardware | str | None = None,
    objectives: Sequence[str] = DEFAULT_OBJECTIVES,
    *,
    progress: Progress | None = None,
    **settings: Unpack[TuneSettings],
) -> TuneOutcome:
    """Find the best mapping of ``layer`` (a ``Layer`` or a zoo name such as ``conv3_1``) on
    ``hardware`` (a ``Hardware``, a preset name or a MAESTRO hardware file; ``edge_256`` by
    default); resumable.

    ``settings`` are :class:`TuneRequest`'s: ``config`` says how to search (searcher,
    evaluations, workers, seed); the study (default ``studies/<problem>.sqlite3``) keeps
    every evaluation. Writes nothing else: plots and tables are the caller's
    (``mapsearch.report``).
    """
    from mapsearch.layers.zoo import find_layer

    request = TuneRequest(hardware=_hardware(hardware), objectives=tuple(objectives), **settings)
    return tune_layer(find_layer(layer) if isinstance(layer, str) else layer, request, progress)


def tune_layer(layer: Layer, request: TuneRequest, progress: Progress | None = None) -> TuneOutcome:
    """:func:`tune` of a request."""
    return _search(request.problem(layer), request, progress, study=request.study)


def _search(
    problem: Problem,
    request: TuneRequest,
    progress: Progress | None,
    *,
    study: str | None,
    require_feasible: bool = True,
) -> TuneOutcome:
    """Search ``problem`` into study ``study`` as ``request`` says."""
    return run_tuning(
        problem,
        request.config,
        study=study,
        storage=request.storage,
        seed_classics=request.seed_classics,
        progress=progress,
        require_feasible=require_feasible,
    )


def tune_model(
    model: Model | str,
    hardware: Hardware | str | None = None,
    objectives: Sequence[str] = DEFAULT_OBJECTIVES,
    *,
    progress: LayerProgress | None = None,
    **settings: Unpack[TuneSettings],
) -> ModelOutcome:
    """Tune every distinct layer shape of ``model`` (a ``Model``, a zoo name, an ``.onnx`` or
    MAESTRO ``.m`` file), each into its own study; its repeats reuse the result.

    Each shape's study is named from its problem, or ``<study>-<layer>`` when ``study`` is
    given (``study`` itself for a model of one shape). A shape the searcher or semantics
    cannot take is skipped with the reason; a shape with no feasible point has no points.
    Every problem is built before the first search, so bad options fail at once.
    ``settings`` are :class:`TuneRequest`'s.
    """
    from mapsearch.models import load_model

    the_model = model if isinstance(model, Model) else load_model(model)
    request = TuneRequest(hardware=_hardware(hardware), objectives=tuple(objectives), **settings)
    return tune_model_layers(the_model, request, progress)


#: Fewest evaluations of a whole model (budget x shapes) that are searched a shape per
#: process: a process costs its start-up (imports, compiled kernels: a few seconds).
MIN_PARALLEL_EVALUATIONS = 10_000


def tune_model_layers(
    model: Model, request: TuneRequest, progress: LayerProgress | None = None
) -> ModelOutcome:
    """:func:`tune_model` of a request.

    With one worker per shape (``config.jobs`` 1) and a budget of at least
    :data:`MIN_PARALLEL_EVALUATIONS` evaluations in all, the shapes are searched in a
    process per core, each exactly as it would be alone (its own study and seed), so the
    outcome is the same; a shape's progress is then reported when it is done.
    """
    layers = model.distinct()
    problems = [request.problem(layer) for layer in layers]
    names = [_shape_study(request, problem, len(layers)) for problem in problems]
    processes = _processes(request, len(problems))
    if processes > 1:
        results = _in_processes(problems, names, request, processes, progress)
    else:
        results = (
            _tune_shape(problem, request, name, None if progress is None else progress(problem))
            for problem, name in zip(problems, names, strict=True)
        )
    outcomes: list[TuneOutcome] = []
    skipped: list[tuple[str, str]] = []
    for problem, result in zip(problems, results, strict=False):
        if isinstance(result, str):
            skipped.append((problem.layer.qualified_name, result))
            continue
        outcomes.append(result)
        if result.run.interrupted:
            break
    return ModelOutcome(
        model=model,
        hardware=request.hardware,
        objectives=request.objectives,
        storage=request.storage,
        outcomes=tuple(outcomes),
        skipped=tuple(skipped),
    )


def _shape_study(request: TuneRequest, problem: Problem, n_shapes: int) -> str | None:
    """The study of a shape of a model: the problem's own, or ``<study>-<layer>``."""
    name = request.study
    if name is not None and n_shapes > 1:
        name = derived_study_name(f"{name}-{problem.layer.name.lower()}")
    return name


def _tune_shape(
    problem: Problem, request: TuneRequest, study: str | None, progress: Progress | None
) -> TuneOutcome | str:
    """The outcome of one shape, or why the searcher or semantics cannot take it."""
    try:
        return _search(problem, request, progress, study=study, require_feasible=False)
    except UnsupportedError as e:
        return str(e)


def _processes(request: TuneRequest, n_shapes: int) -> int:
    """How many processes search the shapes of a model (see :func:`tune_model_layers`)."""
    config = request.config
    if config.jobs != 1 or n_shapes < 2:
        return 1
    if config.n_trials is not None and config.n_trials * n_shapes < MIN_PARALLEL_EVALUATIONS:
        return 1
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return min(n_shapes, cores or 1)


def _in_processes(
    problems: list[Problem],
    names: list[str | None],
    request: TuneRequest,
    processes: int,
    progress: LayerProgress | None,
) -> Iterator[TuneOutcome | str]:
    """The shapes' outcomes, in order, searched in ``processes`` joblib processes in the
    order of :func:`search_order` (one shape a task, each to the first free process); each
    shape's progress is reported (all at once, with its search's own time) when its outcome
    and those of the shapes before it have arrived."""
    from joblib import Parallel, delayed

    order = search_order([problem.layer for problem in problems])
    results = Parallel(n_jobs=processes, backend="loky", batch_size=1, return_as="generator")(
        delayed(_tune_shape)(problems[i], request, names[i], None) for i in order
    )
    arrived = zip(order, results, strict=True)
    done: dict[int, TuneOutcome | str] = {}
    try:
        for i, problem in enumerate(problems):
            while i not in done:
                index, outcome = next(arrived)
                done[index] = outcome
            result = done.pop(i)
            if progress is not None and not isinstance(result, str):
                report = progress(problem, result.run.wall_s)
                if report is not None and result.run.n_new:
                    report(result.run.n_new, _best_value(result))
            yield result
    finally:
        results.close()


def search_order(layers: Sequence[Layer]) -> list[int]:
    """The indices of ``layers``, the likely slowest to search first: widest filter window,
    then largest stride, ties in model order.

    Windows and strides make the exact model walk units' tiles together (overlapping or
    gapped input rows), which is what makes a shape slow: ResNet50's 7x7 CONV1 and FC1000
    take about 30 of the 50 CPU seconds of its model search on the complete space. Searched
    first, they leave the many short shapes to fill both processes to the end, instead of
    one process searching FC1000 alone after the other ran out of shapes.
    """

    def weight(i: int) -> tuple[int, int]:
        sizes = layers[i].sizes
        windows = math.prod(sizes[w] for _, w in layers[i].windows)
        return -windows, -layers[i].stride_y * layers[i].stride_x

    return sorted(range(len(layers)), key=weight)


def _best_value(outcome: TuneOutcome) -> float | None:
    """The best point's first objective (None without a feasible point)."""
    first = outcome.problem.objectives[0].name
    return outcome.points[0].objectives[first] if outcome.points else None


def tune_target(
    target: Layer | Model, request: TuneRequest, progress: LayerProgress | None = None
) -> TuneOutcome | ModelOutcome:
    """Tune a layer (:func:`tune_layer`) or every shape of a model (:func:`tune_model_layers`);
    ``progress(problem)`` gives each layer's progress callback."""
    if isinstance(target, Model):
        return tune_model_layers(target, request, progress)
    problem = request.problem(target)
    return _search(
        problem, request, None if progress is None else progress(problem), study=request.study
    )
