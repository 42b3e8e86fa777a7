"""What a study found: the best trial (one objective) or the Pareto front (several), as
records with the mapping, hardware, objective values and cost-model metrics, plus the
comparison with the classic dataflows on the same hardware.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from mapsearch.costmodel import MappingBatch, Report, Semantics, evaluate_batch
from mapsearch.directives import Mapping
from mapsearch.errors import MapsearchError
from mapsearch.hardware import Hardware
from mapsearch.problem import Evaluation, Problem
from mapsearch.schemas import SCHEMA_VERSION
from mapsearch.studies.fingerprint import fingerprint
from mapsearch.studies.ranking import best_rows
from mapsearch.studies.storage import StudyRecord

#: Cost-model keys every result carries (``Report.record`` names).
METRIC_KEYS: tuple[str, ...] = (
    "macs",
    "runtime_cycles",
    "energy_mac_units",
    "l1_size_words",
    "l2_size_words",
    "peak_noc_bw_words_per_cycle",
    "avg_utilized_pes",
    "l2_reads",
    "l2_writes",
    "l1_reads",
    "l1_writes",
)


@dataclass(frozen=True, slots=True, kw_only=True)
class ExactScore:
    """A mapping scored by the ``exact`` semantics: objectives, metrics, feasibility and why
    not; ``objectives``/``metrics`` are None (and ``reason`` says why) when the exact model
    cannot score the mapping."""

    objectives: dict[str, float] | None
    metrics: dict[str, Any] | None
    feasible: bool
    reason: str

    def to_json(self) -> dict[str, Any] | None:
        if self.metrics is None:
            return None
        return {
            "objectives": self.objectives,
            "metrics": self.metrics,
            "feasible": self.feasible,
            "reason": self.reason,
        }


def exact_score(problem: Problem, mapping: Mapping, hardware: Hardware) -> ExactScore:
    """``mapping`` on ``hardware`` scored by the exact semantics with the problem's objectives
    (what a search under another semantics reports beside its own score)."""
    try:
        batch = MappingBatch.from_mappings([mapping], problem.layer)
        report = evaluate_batch(problem.layer, hardware, batch, semantics=Semantics.EXACT)
    except MapsearchError as e:
        return ExactScore(
            objectives=None, metrics=None, feasible=False, reason=f"{type(e).__name__}: {e}"
        )
    return ExactScore(
        objectives={o.name: float(o.value(report)[0]) for o in problem.objectives},
        metrics=metrics_of(report.record(0)),
        feasible=bool(report.feasible[0]),
        reason=report.reason[0],
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class Point:
    """One reported result: trial number, mapping, hardware, objectives and metrics, and the
    same mapping scored by the exact semantics (``exact``)."""

    trial: int
    mapping: Mapping
    hardware: Hardware
    objectives: dict[str, float]
    metrics: dict[str, Any]
    exact: ExactScore

    def to_json(self) -> dict[str, Any]:
        hw = asdict(self.hardware)
        return {
            "trial": self.trial,
            "mapping": self.mapping.to_text(),
            "hardware": hw,
            "objectives": self.objectives,
            "metrics": self.metrics,
            "exact": self.exact.to_json(),
            "exact_reason": self.exact.reason if self.exact.metrics is None else "",
        }


def best_indices(problem: Problem, ev: Evaluation) -> npt.NDArray[np.int64]:
    """Indices of the best feasible evaluations: the optimum, or the Pareto front sorted by
    the first objective (one per distinct objective vector). Empty if nothing is feasible."""
    return best_rows(ev.values, ev.feasible, [o.sign for o in problem.objectives])


def metrics_of(record: dict[str, Any]) -> dict[str, Any]:
    return {k: record[k] for k in METRIC_KEYS}


def best_points(record: StudyRecord, limit: int = 50) -> list[Point]:
    """The study's best point(s), re-scored for their full metrics (at most ``limit``), and
    by the exact semantics when the study uses another one.

    Only the best trials are read back (``StudyRecord.best``), not the whole history.
    """
    numbers, ev = record.best(limit)
    problem = record.problem
    out = []
    for i in range(len(ev)):
        mapping, hw, report = problem.report(ev.genotypes[i])
        objectives = {
            o.name: float(v) for o, v in zip(problem.objectives, ev.values[i], strict=True)
        }
        metrics = metrics_of(report.record(0))
        exact = (
            ExactScore(
                objectives=objectives,
                metrics=metrics,
                feasible=bool(report.feasible[0]),
                reason=report.reason[0],
            )
            if problem.semantics is Semantics.EXACT
            else exact_score(problem, mapping, hw)
        )
        out.append(
            Point(
                trial=int(numbers[i]),
                mapping=mapping,
                hardware=hw,
                objectives=objectives,
                metrics=metrics,
                exact=exact,
            )
        )
    return out


@dataclass(frozen=True, slots=True, kw_only=True)
class Baseline:
    """A classic dataflow scored on the problem's hardware."""

    name: str
    mapping: Mapping
    objectives: dict[str, float]
    metrics: dict[str, Any]
    feasible: bool
    reason: str
    #: Whether the model scored a schedule of the layer (its values mean something): False
    #: where the dataflow does not compute the layer's MACs, or the model refused it.
    scored: bool = True


def classic_baselines(problem: Problem, hardware: Hardware | None = None) -> list[Baseline]:
    """Every classic dataflow that applies to the layer, scored on ``hardware`` (default: the
    problem's), best first (feasible before infeasible, then by the first objective).

    They are scored in one cost-model call (a dataflow the model refuses, one at a time)."""
    hw = hardware or problem.hardware
    named = _classic_mappings(problem)
    if not named:
        return []
    try:
        scored = [(named, _score(problem, hw, [m for _, m in named]))]
    except (MapsearchError, ValueError):
        scored = []
        for one in named:
            try:
                scored.append(([one], _score(problem, hw, [one[1]])))
            except (MapsearchError, ValueError):
                continue
    out = []
    for group, report in scored:
        violation, why = problem.constraints.check(report, hw)
        values = {o.name: o.value(report) for o in problem.objectives}
        for i, (name, mapping) in enumerate(group):
            model_ok = bool(report.feasible[i]) and report.macs[i] >= problem.layer.macs
            reason = (
                str(why[i])
                if model_ok
                else (report.reason[i] or "computes fewer MACs than the layer")
            )
            out.append(
                Baseline(
                    name=name,
                    mapping=mapping,
                    objectives={key: float(v[i]) for key, v in values.items()},
                    metrics=metrics_of(report.record(i)),
                    feasible=model_ok and violation[i] == 0,
                    reason=reason,
                    scored=model_ok,
                )
            )
    first = problem.objectives[0]
    out.sort(key=lambda b: (not b.feasible, not b.scored, first.sign * b.objectives[first.name]))
    return out


def _score(problem: Problem, hardware: Hardware, mappings: list[Mapping]) -> Report:
    batch = MappingBatch.from_mappings(mappings, problem.layer)
    return evaluate_batch(problem.layer, hardware, batch, semantics=problem.semantics)


def _classic_mappings(problem: Problem) -> list[tuple[str, Mapping]]:
    """(name, mapping) of every classic dataflow that applies to the layer, in
    ``DATAFLOWS`` order."""
    from mapsearch.directives.dataflows import DATAFLOWS, dataflow

    out = []
    for name in DATAFLOWS:
        try:
            out.append((name, dataflow(name, problem.layer)))
        except (MapsearchError, ValueError):
            continue
    return out


def seed_mappings(problem: Problem) -> list[Mapping]:
    """The classic dataflows that apply to the layer (to seed a search)."""
    return [mapping for _, mapping in _classic_mappings(problem)]


def export_json(record: StudyRecord, points: list[Point]) -> dict[str, Any]:
    """``export --format json``: the study, its problem (the fingerprint, with the layer's
    ``dims`` as ``{dim: size}`` as in the tuning table) and its best points."""
    problem = fingerprint(record.problem)
    problem["layer"] = {**problem["layer"], "dims": dict(record.problem.layer.dims)}
    return {
        "schema_version": SCHEMA_VERSION,
        "study": record.name,
        "storage": record.display_url,
        "problem": problem,
        "n_evaluations": record.n_trials(),
        "best": [p.to_json() for p in points],
    }
