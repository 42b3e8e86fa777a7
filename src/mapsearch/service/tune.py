"""Tune a layer: build the search problem from plain values, search it into its study and
report the best mapping(s) beside the classic dataflows (``mapsearch tune``)."""

from __future__ import annotations

from collections.abc import Sequence

from mapsearch.costmodel import Semantics
from mapsearch.hardware import Hardware
from mapsearch.layers import Layer
from mapsearch.objectives import Constraints
from mapsearch.problem import Problem
from mapsearch.spaces import HardwareSpace, SpaceOptions
from mapsearch.studies.run import Progress, RunConfig
from mapsearch.studies.tune import TuneOutcome
from mapsearch.studies.tune import tune as run_tuning

#: The cost model a search scores with unless told otherwise.
DEFAULT_SEMANTICS = Semantics.EXACT
#: What a search optimises unless told otherwise.
DEFAULT_OBJECTIVES = ("edp",)


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
    from mapsearch.service.hardware import resolve_hardware

    the_layer = find_layer(layer) if isinstance(layer, str) else layer
    the_hardware = hardware if isinstance(hardware, Hardware) else resolve_hardware(hardware)
    problem = build_problem(
        the_layer,
        the_hardware,
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
