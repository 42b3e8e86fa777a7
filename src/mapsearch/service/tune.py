"""Tune a layer or a model: build the search problem from plain values, search it into its
study and report the best mapping(s) beside the classic dataflows (``mapsearch tune``).

Nothing here writes a file but the studies: plots and tuning tables are the caller's
(``mapsearch.report``, :func:`mapsearch.studies.tune.write_tuning_table`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

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
#: ``progress(problem)``: the progress callback of one layer's run (None: no report).
LayerProgress = Callable[[Problem], Progress | None]


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


def tune(
    layer: Layer | str,
    hardware: Hardware | str | None = None,
    objectives: Sequence[str] = DEFAULT_OBJECTIVES,
    *,
    config: RunConfig | None = None,
    options: SpaceOptions | None = None,
    constraints: Constraints | None = None,
    co_design: bool = False,
    semantics: Semantics | str = DEFAULT_SEMANTICS,
    study: str | None = None,
    storage: str | None = None,
    seed_classics: bool = True,
    progress: Progress | None = None,
) -> TuneOutcome:
    """Find the best mapping of ``layer`` (a ``Layer`` or a zoo name such as ``conv3_1``) on
    ``hardware`` (a ``Hardware``, a preset name or a MAESTRO hardware file; ``edge_256`` by
    default); resumable.

    ``config`` says how to search (searcher, evaluations, workers, seed); the study (default
    ``studies/<problem>.sqlite3``) keeps every evaluation. Writes nothing else: plots and
    tables are the caller's (``mapsearch.report``).
    """
    from mapsearch.layers.zoo import find_layer

    if study is not None:
        check_study_name(study)
    problem = build_problem(
        find_layer(layer) if isinstance(layer, str) else layer,
        _hardware(hardware),
        objectives,
        options=options,
        constraints=constraints,
        co_design=co_design,
        semantics=semantics,
    )
    return run_tuning(
        problem,
        config or RunConfig(),
        study=study,
        storage=storage,
        seed_classics=seed_classics,
        progress=progress,
    )


def tune_model(
    model: Model | str,
    hardware: Hardware | str | None = None,
    objectives: Sequence[str] = DEFAULT_OBJECTIVES,
    *,
    config: RunConfig | None = None,
    options: SpaceOptions | None = None,
    constraints: Constraints | None = None,
    co_design: bool = False,
    semantics: Semantics | str = DEFAULT_SEMANTICS,
    study: str | None = None,
    storage: str | None = None,
    seed_classics: bool = True,
    progress: LayerProgress | None = None,
) -> ModelOutcome:
    """Tune every distinct layer shape of ``model`` (a ``Model``, a zoo name, an ``.onnx`` or
    MAESTRO ``.m`` file), each into its own study; its repeats reuse the result.

    Each shape's study is named from its problem, or ``<study>-<layer>`` when ``study`` is
    given (``study`` itself for a model of one shape). A shape the searcher or semantics
    cannot take is skipped with the reason; a shape with no feasible point has no points.
    Every problem is built before the first search, so bad options fail at once.
    """
    from mapsearch.models import load_model

    the_model = model if isinstance(model, Model) else load_model(model)
    the_hardware = _hardware(hardware)
    if study is not None:
        check_study_name(study)
    layers = the_model.distinct()
    problems = [
        build_problem(
            layer,
            the_hardware,
            objectives,
            options=options,
            constraints=constraints,
            co_design=co_design,
            semantics=semantics,
        )
        for layer in layers
    ]
    outcomes: list[TuneOutcome] = []
    skipped: list[tuple[str, str]] = []
    for problem in problems:
        name = study
        if study is not None and len(layers) > 1:
            name = derived_study_name(f"{study}-{problem.layer.name.lower()}")
        try:
            outcome = run_tuning(
                problem,
                config or RunConfig(),
                study=name,
                storage=storage,
                seed_classics=seed_classics,
                progress=None if progress is None else progress(problem),
                require_feasible=False,
            )
        except UnsupportedError as e:
            skipped.append((problem.layer.qualified_name, str(e)))
            continue
        outcomes.append(outcome)
        if outcome.run.interrupted:
            break
    return ModelOutcome(
        model=the_model,
        hardware=the_hardware,
        objectives=tuple(objectives),
        storage=storage,
        outcomes=tuple(outcomes),
        skipped=tuple(skipped),
    )
