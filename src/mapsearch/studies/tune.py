"""``tune``: the library call behind ``mapsearch tune`` (search a problem into its study,
then report the best point(s) beside the best classic dataflow).
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from mapsearch.costmodel.area_power import hardware_area_um2, hardware_power_mw
from mapsearch.costmodel.summary import hardware_attrs
from mapsearch.directives import Mapping
from mapsearch.errors import StudyError
from mapsearch.hardware import UNLIMITED, Hardware
from mapsearch.models import Model
from mapsearch.objectives import Direction
from mapsearch.problem import Problem
from mapsearch.schemas import SCHEMA_VERSION
from mapsearch.studies.certificate import Certificate, certify
from mapsearch.studies.fingerprint import problem_slug
from mapsearch.studies.locations import DEFAULT_DIR, default_storage_url, storage_dir
from mapsearch.studies.provenance import (
    RUNS_ATTR,
    nothing_new_note,
    resume_notes,
    run_entry,
    short_run_note,
)
from mapsearch.studies.results import Baseline, Point, best_points, classic_baselines, seed_mappings
from mapsearch.studies.run import Progress, RunConfig, RunResult, run_study
from mapsearch.studies.storage import StudyRecord

#: Relative difference below which a searched value and a classic one are a tie (the same
#: value reached through different floating-point sums).
TIE_REL_TOL = 1e-9


@dataclass(frozen=True, slots=True, kw_only=True)
class TuneOutcome:
    """A finished (or interrupted) tuning run and what it found."""

    problem: Problem
    run: RunResult
    points: tuple[Point, ...]
    baselines: tuple[Baseline, ...]
    #: How far the best point can be from the best of the space (``docs/certified.md``).
    certificate: Certificate
    #: What the run did that its command may not have meant (resumed with another searcher,
    #: added nothing), each with how to get what was meant.
    notes: tuple[str, ...] = ()

    @property
    def best_baseline(self) -> Baseline | None:
        feasible = [b for b in self.baselines if b.feasible]
        return feasible[0] if feasible else None

    def speedup(self) -> float | None:
        """Best classic dataflow's first objective over the tuned one's (> 1: tuned is better)."""
        base = self.best_baseline
        if base is None or not self.points:
            return None
        first = self.problem.objectives[0]
        tuned = self.points[0].objectives[first.name]
        ref = base.objectives[first.name]
        if tuned <= 0 or ref <= 0:
            return None
        return ref / tuned if first.direction is Direction.MINIMIZE else tuned / ref

    @property
    def classic_wins(self) -> bool:
        """True when a single-objective search has not (yet) beaten the best classic dataflow:
        the classic one is better by more than floating-point rounding (a tie, such as the
        search finding the classic mapping itself, is the search's)."""
        speed = self.speedup()
        return (
            len(self.problem.objectives) == 1
            and speed is not None
            and speed < 1.0
            and not math.isclose(speed, 1.0, rel_tol=TIE_REL_TOL)
        )

    @property
    def hardware(self) -> Hardware:
        """The hardware of the result: the best point's (co-designed), else the problem's."""
        return self.points[0].hardware if self.points else self.problem.hardware

    def hardware_json(self) -> dict[str, Any]:
        """The hardware used with its area and power as provisioned (None when unlimited)."""
        hw = self.hardware
        area = hardware_area_um2(hw)
        return {
            **hardware_attrs(hw),
            "area_mm2": None if area is None else area * 1e-6,
            "power_mw": hardware_power_mw(hw),
        }

    def capacity_warnings(self) -> list[str]:
        """Where the best mapping needs more than its hardware has: L2 footprint (the
        tensors' words; under ``exact`` semantics a larger footprint only costs off-chip
        refills the model does not price) and peak NoC bandwidth."""
        if not self.points:
            return []
        best, hw = self.points[0], self.hardware
        checks = (
            ("L2 footprint", "l2_size_words", hw.l2_size_words, "words"),
            (
                "peak NoC bandwidth",
                "peak_noc_bw_words_per_cycle",
                hw.noc_bw_words_per_cycle,
                "words/cycle",
            ),
        )
        why = {
            "l2_size_words": " (the exact model keeps every tensor in L2: a smaller L2 costs "
            "DRAM refetches it does not price)"
            if self.problem.semantics == "exact"
            else ""
        }
        return [
            f"the best mapping's {what} ({_number(best.metrics[key])} {unit}) exceeds the "
            f"hardware's {cap:,} {unit}{why.get(key, '')}; --strict-capacity refuses such "
            "mappings"
            for what, key, cap, unit in checks
            if cap < UNLIMITED and best.metrics[key] > cap
        ]

    def to_json(self) -> dict[str, Any]:
        """The ``--format json`` contract: study, storage, n_evaluations, wall_s, best (+ context),
        and the certificate (best value, proven bound, gap; ``docs/certified.md``)."""
        base = self.best_baseline
        return {
            "schema_version": SCHEMA_VERSION,
            "study": self.run.study,
            "storage": self.run.storage,
            "n_evaluations": self.run.n_evaluations,
            "n_new": self.run.n_new,
            "wall_s": round(self.run.wall_s, 3),
            "interrupted": self.run.interrupted,
            "layer": self.problem.layer.qualified_name,
            "best": [p.to_json() for p in self.points],
            "baseline": None
            if base is None
            else {
                "dataflow": base.name,
                "mapping": base.mapping.to_text(),
                "objectives": base.objectives,
                "metrics": base.metrics,
            },
            "speedup": self.speedup(),
            "certificate": self.certificate.to_json(),
            "notes": list(self.notes),
            "hardware": self.hardware_json(),
            "warnings": self.capacity_warnings(),
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class ModelOutcome:
    """A model tuned shape by shape (``mapsearch tune --model``): an outcome per distinct
    layer shape tuned, in model order, and the shapes skipped with the reason (a searcher
    or semantics that cannot take them). A run interrupted stops at the shape it was on."""

    model: Model
    hardware: Hardware
    objectives: tuple[str, ...]
    storage: str | None
    outcomes: tuple[TuneOutcome, ...]
    skipped: tuple[tuple[str, str], ...]

    @property
    def interrupted(self) -> bool:
        return bool(self.outcomes) and self.outcomes[-1].run.interrupted

    @property
    def table_path(self) -> Path:
        """Where the tuning table goes (:func:`tuning_table_path`)."""
        return tuning_table_path(
            self.model.name, self.hardware.name, list(self.objectives), self.storage
        )

    def to_json(self, *, model: str, tuning_table: Path) -> dict[str, Any]:
        """The ``--format json`` contract of a model: the ``model`` as given, the path of its
        ``tuning_table``, each layer's outcome, repeated shapes, skipped layers."""
        return {
            "schema_version": SCHEMA_VERSION,
            "model": model,
            "tuning_table": str(tuning_table),
            "layers": [o.to_json() for o in self.outcomes],
            "repeats": self.model.repeats(),
            "skipped": [{"layer": name, "reason": why} for name, why in self.skipped],
        }


def _number(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.2f}"


def study_location(
    problem: Problem, study: str | None, storage: str | None, directory: Path = DEFAULT_DIR
) -> tuple[str, str]:
    """(study name, storage URL): the problem's slug and ``studies/<slug>.sqlite3`` by default."""
    name = study or problem_slug(problem)
    return name, storage or default_storage_url(name, directory)


def tune(
    problem: Problem,
    config: RunConfig,
    *,
    study: str | None = None,
    storage: str | None = None,
    seed_classics: bool = True,
    progress: Progress | None = None,
    require_feasible: bool = True,
) -> TuneOutcome:
    """Search ``problem`` (resuming its study), then collect the best point(s) and baselines.

    Writes nothing but the study: plots and tables are the caller's
    (``mapsearch.report``; :func:`pareto_plot_path` names the Pareto plot beside the study).

    Raises ``StudyError`` when the study holds no feasible point (with the commonest
    reasons) if ``require_feasible``; otherwise the outcome has no points.
    """
    name, url = study_location(problem, study, storage)
    with StudyRecord.open(url, name, problem, searcher=config.searcher, seed=config.seed) as record:
        problem = record.problem  # an unchosen kind of space resumes as the study's
        n_held = record.n_trials()
        notes = resume_notes(record.attrs(), config.searcher, config.seed, n_held, name)
        seeds = seed_mappings(problem) if seed_classics else []
        run = run_study(problem, record, config, seeds=seeds, progress=progress)
        _record_run(record, config, n_held, run.n_new)
        proved = run.proof is not None and run.proof.closed
        if run.n_new == 0 and not run.interrupted:
            notes.append(
                nothing_new_note(name, run.n_evaluations, config.n_trials, config.searcher)
            )
        elif not proved:  # a search that proved its optimum stops by design, short of its budget
            short = short_run_note(
                name,
                run.n_evaluations,
                config.n_trials,
                interrupted=run.interrupted,
                exhausted=run.exhausted,
                searcher=config.searcher,
            )
            notes += [short] if short else []
        points = tuple(best_points(record))
        if not points and not run.interrupted and require_feasible:
            _, history = record.history()
            reasons = Counter(str(r) for r in history.reasons if r)
            common = "; ".join(f"{n}x {r}" for r, n in reasons.most_common(3))
            raise StudyError(
                f"no feasible point found in {run.n_evaluations} evaluations of study {name!r}"
                + (f" (commonest reasons: {common})" if common else "")
                + "; relax the budgets/constraints, give a larger hardware (--hw, --l1, --l2)"
                + " or allow more levels (--levels 1,2,3)"
            )
        # Co-design compares on the tuned hardware: the same hardware for both.
        same_hw = points[0].hardware if problem.hardware_space is not None and points else None
        baselines = tuple(classic_baselines(problem, same_hw))
        first = problem.objectives[0]
        best = min(
            (p.objectives[first.name] for p in points), key=lambda v: v * first.sign, default=None
        )
        return TuneOutcome(
            problem=problem,
            run=run,
            points=points,
            baselines=baselines,
            certificate=certify(problem, best, run.proof, run.n_evaluations),
            notes=tuple(notes),
        )


def _record_run(record: StudyRecord, config: RunConfig, n_before: int, n_new: int) -> None:
    """Append this run to the study's ``mapsearch.runs`` (read, then written: of two
    processes finishing at once, the last one's list is kept)."""
    runs = list(record.attrs().get(RUNS_ATTR) or [])
    runs.append(run_entry(config.searcher, config.seed, n_before, n_new))
    record.set_attr(RUNS_ATTR, runs)


def pareto_plot_path(run: RunResult) -> Path:
    """Where a run's Pareto plot goes: ``<study>.pareto.png`` beside a file storage, else
    under ``studies/``."""
    return storage_dir(run.storage) / f"{run.study}.pareto.png"


def best_known(outcome: TuneOutcome) -> tuple[Mapping, dict[str, float], str] | None:
    """(mapping, objective values, source) of the best mapping known for the outcome's
    layer: the search's first point, or the best classic dataflow where it is better than a
    single-objective search's (source ``classic:<name>``, else ``search``: a tie is the
    search's, see :attr:`TuneOutcome.classic_wins`); None when the search found no feasible
    point."""
    if not outcome.points:
        return None
    best, base = outcome.points[0], outcome.best_baseline
    # A compiler wants the best mapping known: the classic one where the search lost.
    if outcome.classic_wins and base is not None:
        return base.mapping, base.objectives, f"classic:{base.name}"
    return best.mapping, best.objectives, "search"


def tuning_table(outcomes: Sequence[TuneOutcome]) -> list[dict[str, Any]]:
    """Rows a compiler can look up: layer shape + hardware -> best mapping known (the search's
    first point, or the best classic dataflow where a single-objective search did not beat
    it; ``source`` says which)."""
    rows = []
    for o in outcomes:
        found = best_known(o)
        if found is None:
            continue
        layer, best = o.problem.layer, o.points[0]
        mapping, objectives, source = found
        rows.append(
            {
                "schema_version": SCHEMA_VERSION,
                "layer": layer.qualified_name,
                "op": layer.op.value,
                "dims": dict(layer.dims),
                "stride": [layer.stride_y, layer.stride_x],
                "hardware": asdict(best.hardware),
                "semantics": o.problem.semantics,
                "mapping": mapping.to_text(),
                "objectives": objectives,
                "source": source,
                "study": o.run.study,
                "storage": o.run.storage,
            }
        )
    return rows


def tuning_table_path(
    model: str, hardware: str, objectives: list[str], storage: str | None
) -> Path:
    """``<model>-<hardware>-<objectives>.tuning.json`` beside the studies' storage (a file
    storage's folder; ``studies/`` for the default storage or a database server)."""
    folder = DEFAULT_DIR if storage is None else storage_dir(storage)
    name = f"{model.lower()}-{hardware}-{'+'.join(objectives)}.tuning.json"
    return folder / re.sub(r"[^A-Za-z0-9_.+-]+", "_", name)


def write_tuning_table(outcomes: Sequence[TuneOutcome], path: Path) -> Path:
    """The tuning table of ``outcomes`` as JSON in ``path`` (its folder made if needed)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(tuning_table(outcomes), indent=2) + "\n")
    return path
