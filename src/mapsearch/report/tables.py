"""Tables for people (rich): tuned vs classic, Pareto fronts, study listings, histories and
the whole of a study (``mapsearch show``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from rich.console import Group
from rich.table import Table

from mapsearch.hardware.energy import energy_unit_name, objective_unit
from mapsearch.objectives import Direction

if TYPE_CHECKING:
    from mapsearch.problem import Problem
    from mapsearch.studies.certificate import Certificate
    from mapsearch.studies.results import Baseline, Point
    from mapsearch.studies.storage import StoredStudy, StudyRecord
    from mapsearch.studies.tune import TuneOutcome

#: (metric key, label) shown side by side.
COMPARED: tuple[tuple[str, str], ...] = (
    ("runtime_cycles", "runtime (cycles)"),
    ("energy_mac_units", "energy (MAC units)"),
    ("avg_utilized_pes", "utilised PEs (avg)"),
    ("l1_size_words", "L1 required (words/PE)"),
    ("l2_size_words", "L2 required (words)"),
    ("peak_noc_bw_words_per_cycle", "peak NoC BW (words/cycle)"),
)

#: Objectives that are one of the compared metrics (shown once).
SAME_AS: dict[str, str] = {"latency": "runtime_cycles", "energy": "energy_mac_units"}


def hardware_line(outcome: TuneOutcome) -> str:
    """``hardware NAME: description; area X mm2, power Y mW`` of the hardware a tuning used
    (``unlimited`` where an unlimited buffer or NoC has no area or power)."""
    cost = outcome.hardware_json()
    area = "unlimited" if cost["area_mm2"] is None else f"{cost['area_mm2']:,.2f} mm2"
    power = "unlimited" if cost["power_mw"] is None else f"{cost['power_mw']:,.1f} mW"
    hw = outcome.hardware
    return f"hardware {hw.name}: {hw.describe()}; area {area}, power {power}"


def fmt(value: Any) -> str:
    """Numbers short and readable: integers with separators, floats with 4 significant digits."""
    if value is None:
        return "-"
    if isinstance(value, dict):
        return fmt(sum(v for v in value.values() if v is not None))
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int) or (
        isinstance(value, float) and value.is_integer() and abs(value) < 1e15
    ):
        return f"{int(value):,}"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def fmt_column(values: Sequence[Any]) -> list[str]:
    """``values`` (one column) in one number format: integers with separators when every
    value is a whole number below 1e15, else 4 significant digits (``-`` for None)."""
    totals = [_total(v) for v in values]
    whole = all(t is None or (t.is_integer() and abs(t) < 1e15) for t in totals)
    return ["-" if t is None else fmt(int(t)) if whole else f"{t:.4g}" for t in totals]


def comparison_table(problem: Problem, point: Point, baseline: Baseline | None) -> Table:
    """Objectives and key metrics of the tuned mapping beside the best classic dataflow."""
    table = Table(title="tuned vs best classic dataflow (same hardware)")
    table.add_column("metric")
    table.add_column("tuned", justify="right")
    if baseline is not None:
        table.add_column(baseline.name, justify="right")
        table.add_column("ratio", justify="right")
    energy = problem.hardware.energy.unit
    rows: list[tuple[str, Any, Any]] = [
        (
            f"{o.name} ({objective_unit(o.unit, energy)})",
            point.objectives[o.name],
            baseline.objectives[o.name] if baseline else None,
        )
        for o in problem.objectives
    ]
    shown = {SAME_AS.get(o.name) for o in problem.objectives}
    rows += [
        (
            label.replace("MAC units", energy_unit_name(energy)),
            point.metrics[k],
            baseline.metrics[k] if baseline else None,
        )
        for k, label in COMPARED
        if k not in shown
    ]
    for label, tuned, ref in rows:
        shown_tuned, shown_ref = fmt_column([tuned, ref])
        cells = [label, shown_tuned]
        if baseline is not None:
            t = _total(tuned)
            r = _total(ref)
            cells += [shown_ref, f"{r / t:.2f}x" if t and r is not None else "-"]
        table.add_row(*cells)
    return table


def _total(v: Any) -> float | None:
    if v is None:
        return None
    if isinstance(v, dict):
        return float(sum(x for x in v.values() if x is not None))
    return float(v)


def pareto_table(problem: Problem, points: Sequence[Point]) -> Table:
    """One row per Pareto point: objectives, runtime, mapping (and hardware when co-designing)."""
    table = Table(title=f"Pareto front ({len(points)} points)")
    table.add_column("trial", justify="right")
    for o in problem.objectives:
        table.add_column(f"{o.name}", justify="right")
    if problem.hardware_space is not None:
        table.add_column("hardware")
    table.add_column("mapping", overflow="fold")
    columns = [fmt_column([p.objectives[o.name] for p in points]) for o in problem.objectives]
    for k, p in enumerate(points):
        cells = [str(p.trial), *(column[k] for column in columns)]
        if problem.hardware_space is not None:
            cells.append(p.hardware.describe())
        cells.append(str(p.mapping))
        table.add_row(*cells)
    return table


def exact_table(problem: Problem, points: Sequence[Point]) -> Table:
    """Each best mapping's score under the problem's semantics beside the exact semantics'
    score of the same mapping on the same hardware (runtime always shown)."""
    sem = problem.semantics
    table = Table(title=f"{sem} vs exact semantics (same mappings, same hardware)")
    table.add_column("trial", justify="right")
    pairs: list[tuple[str, str, str]] = []  # (label, "objectives" or "metrics", key)
    for o in problem.objectives:
        pairs.append((o.name, "objectives", o.name))
    if not any(SAME_AS.get(o.name) == "runtime_cycles" for o in problem.objectives):
        pairs.append(("runtime (cycles)", "metrics", "runtime_cycles"))
    for label, _, _ in pairs:
        table.add_column(f"{label} {sem}", justify="right")
        table.add_column(f"{label} exact", justify="right")
    table.add_column("exact feasible", overflow="fold")
    columns = []
    for _, where, key in pairs:
        exact = [getattr(p.exact, where) for p in points]
        columns.append(fmt_column([getattr(p, where)[key] for p in points]))
        columns.append(fmt_column([None if e is None else e[key] for e in exact]))
    for k, p in enumerate(points):
        cells = [str(p.trial), *(column[k] for column in columns)]
        cells.append("yes" if p.exact.feasible else f"no: {p.exact.reason}")
        table.add_row(*cells)
    return table


def baselines_table(problem: Problem, baselines: Sequence[Baseline]) -> Table:
    table = Table(title="classic dataflows on the same hardware")
    table.add_column("dataflow")
    for o in problem.objectives:
        table.add_column(o.name, justify="right")
    table.add_column("feasible")
    columns = [
        fmt_column([b.objectives[o.name] if b.scored else None for b in baselines])
        for o in problem.objectives
    ]
    for k, b in enumerate(baselines):
        table.add_row(
            b.name,
            *(column[k] for column in columns),
            "yes" if b.feasible else f"no: {b.reason}",
        )
    return table


def studies_table(studies: Sequence[tuple[StoredStudy, str]]) -> Table:
    """Study listing: name, storage, evaluations, problem summary, best value."""
    table = Table(title="studies")
    table.add_column("study", style="bold")
    table.add_column("storage", overflow="fold")
    table.add_column("evaluations", justify="right")
    table.add_column("problem", overflow="fold")
    table.add_column("best", justify="right")
    for s, best in studies:
        table.add_row(s.name, s.url, str(s.n_trials), _summary(s), best)
    return table


def _summary(study: StoredStudy) -> str:
    """``model.layer on hardware: objectives [co-design] [semantics]`` from the fingerprint."""
    fp = study.fingerprint
    if fp is None:
        return study.description
    layer = fp["layer"]
    name = f"{layer['model']}.{layer['name']}" if layer["model"] else layer["name"]
    objectives = ", ".join(o for o, _ in fp["objectives"])
    extra = " co-design" if fp.get("hardware_space") else ""
    return f"{name} on {fp['hardware']['name']}: {objectives}{extra} ({fp['semantics']})"


def layers_table(outcomes: Sequence[TuneOutcome]) -> Table:
    """Per-layer results of a model tuning: best value, best classic, speed-up, the gap to
    the proven bound, evaluations."""
    table = Table(title="per-layer tuning")
    table.add_column("layer", no_wrap=True)
    table.add_column("shape")
    if outcomes:
        first = outcomes[0].problem.objectives[0]
        table.add_column(f"tuned {first.name}", justify="right")
        table.add_column("best classic", justify="right")
        table.add_column("speed-up", justify="right")
        table.add_column("gap", justify="right")
    table.add_column("evaluations", justify="right")
    firsts = [o.problem.objectives[0].name for o in outcomes]
    tuned = fmt_column(
        [
            o.points[0].objectives[f] if o.points else None
            for o, f in zip(outcomes, firsts, strict=True)
        ]
    )
    classic = fmt_column(
        [
            None if o.best_baseline is None else o.best_baseline.objectives[f]
            for o, f in zip(outcomes, firsts, strict=True)
        ]
    )
    for k, o in enumerate(outcomes):
        base = o.best_baseline
        speed = o.speedup()
        table.add_row(
            o.problem.layer.qualified_name,
            o.problem.layer.describe(),
            tuned[k],
            "-" if base is None else f"{classic[k]} ({base.name})",
            "-" if speed is None else f"{speed:.2f}x",
            gap_text(o.certificate),
            str(o.run.n_evaluations),
        )
    return table


def gap_text(cert: Certificate) -> str:
    """``0% (proved)``, ``<= x%`` (the distance to the optimum is at most that), or ``-``."""
    if cert.proved_optimal:
        return "0% (proved)"
    gap = cert.gap_percent
    return "-" if gap is None else f"<= {gap:.2f}%"


def certificate_table(cert: Certificate) -> Table:
    """Best value of the first objective, the proven bound and the gap between them."""
    table = Table(title=f"how far from the best possible {cert.objective} (docs/certified.md)")
    table.add_column("best found", justify="right")
    bound = "lower bound" if cert.direction is Direction.MINIMIZE else "upper bound"
    table.add_column(f"proven {bound}", justify="right")
    table.add_column("gap", justify="right")
    table.add_column("optimal", justify="right")
    table.add_column("evaluated / space", justify="right")
    best, proven = fmt_column([cert.best_value, cert.lower_bound])
    table.add_row(
        best,
        proven,
        gap_text(cert),
        "proved" if cert.proved_optimal else "not proved",
        f"{cert.evaluated:,} / {cert.space_size:,}",
    )
    return table


def history_table(
    problem: Problem, numbers: Sequence[int], values: Any, reasons: Sequence[str], every: int
) -> Table:
    """Best-so-far of the first objective along the study (every ``every`` evaluations)."""
    import numpy as np

    first = problem.objectives[0]
    costs = np.where([not r for r in reasons], values[:, 0] * first.sign, np.inf)
    running = np.minimum.accumulate(costs) if len(costs) else costs
    table = Table(title=f"history: best {first.name} so far")
    table.add_column("evaluations", justify="right")
    table.add_column(f"best {first.name}", justify="right")
    table.add_column("feasible so far", justify="right")
    feasible = np.cumsum([not r for r in reasons])
    marks = (
        sorted({*range(every - 1, len(numbers), every), len(numbers) - 1}) if len(numbers) else []
    )
    shown = fmt_column(
        [float(running[i] * first.sign) if np.isfinite(running[i]) else None for i in marks]
    )
    for k, i in enumerate(marks):
        table.add_row(str(i + 1), shown[k], str(int(feasible[i])))
    return table


def dataflows_table() -> Table:
    """The classic dataflows: name, aliases, origin and description, directives (``Sz()`` kept)."""
    from mapsearch.directives.dataflows import DATAFLOWS, dataflow_info

    table = Table(title="Classic dataflows (MAESTRO)", show_lines=True)
    table.add_column("name", style="bold", no_wrap=True)
    table.add_column("aliases")
    table.add_column("origin")
    table.add_column("directives (CONV; GEMM form below when there is one)", overflow="fold")
    for name in DATAFLOWS:
        info = dataflow_info(name)
        directives = info.directives.replace("; ", ";\n")
        if info.gemm_directives:
            directives += "\nGEMM: " + info.gemm_directives
        table.add_row(
            info.name, ", ".join(info.aliases), f"{info.origin}\n{info.description}", directives
        )
    return table


def study_report(record: StudyRecord, every: int = 0) -> Group:
    """A study for ``mapsearch show``: where it is, its problem, best mapping(s) (Pareto
    table for several objectives) and a history row every ``every`` evaluations (about ten
    rows when 0)."""
    from mapsearch.studies.results import best_points

    problem = record.problem
    numbers, ev = record.history()
    points = best_points(record)
    parts: list[object] = [
        f"[bold]study {record.name}[/] in {record.display_url}: {len(ev):,} evaluations, "
        f"{int(ev.feasible.sum()):,} feasible",
        problem.description(),
    ]
    if points:
        best = points[0]
        parts.append(
            f"[bold]best mapping[/] (trial {best.trial}): "
            + ", ".join(f"{k} {v:.4g}" for k, v in best.objectives.items())
            + f"\n{best.mapping.to_text(indent='  ')}"
        )
        if len(problem.objectives) > 1:
            parts.append(pareto_table(problem, points))
    else:
        parts.append("no feasible point yet")
    if len(ev):
        step = every if every > 0 else max(1, len(ev) // 10)
        parts.append(
            history_table(problem, numbers.tolist(), ev.values, [str(r) for r in ev.reasons], step)
        )
    return Group(*parts)  # type: ignore[arg-type]
