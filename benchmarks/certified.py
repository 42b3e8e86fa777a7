"""Certified optima of VGG16 and ResNet50 layers, and how far the heuristics end from them
(a benchmark, not a test; ``docs/certified.md`` explains the bounds and the table).

For every distinct layer shape of the zoo models, each objective (latency, EDP) and each
array (``edge_256``, and the same with 168 PEs), under the exact semantics in the default
space (1-2 levels, divisor tiles; ``--space complete`` or ``compact`` picks one):

* ``optimal`` (branch and bound, one core, seeded with the classic dataflows as ``tune``
  does): the proven optimum, the time to prove it, points evaluated vs the space size;
* GA, TPE, NSGA-II and random with ``--evals`` evaluations each (default 10,000): the gap
  of their best value to the optimum, ``100 (best - optimum) / optimum`` %.

Every run goes through ``run_study`` into an SQLite study in a temporary folder, so the
times include storage; the CPU column is this process's CPU time over the proof (on a
shared machine it shows how much of the wall time the search had). A proof stopped by ``--prove-timeout`` prints its best bound (the
gaps are then upper bounds of the true gaps, measured against that bound). Before and
after the rows it times a fixed Python loop (:func:`host_seconds`): the host's speed at
the time, to compare tables run at different hours.

    python benchmarks/certified.py --quick                     # 3 layers, 2,000 evaluations
    python benchmarks/certified.py --layers conv3_1,res3a_branch2b --objectives latency
    python benchmarks/certified.py                             # everything (hours)

``--optima FILE`` reads the table an earlier run printed (its rows, as printed) and does
not prove those rows again: their cells are repeated and their optimum (or, when open,
their bound) is the reference of the heuristics' gaps. The table must be of the same
space (``--space``). The proofs and the heuristics can then run at different times, e.g.
the heuristics of the whole table in the background after the proofs were timed on a
quiet machine.
"""

from __future__ import annotations

import argparse
import dataclasses
import tempfile
import time
from pathlib import Path

from mapsearch.hardware import Hardware
from mapsearch.hardware.presets import preset
from mapsearch.layers import Layer
from mapsearch.models import load_model
from mapsearch.problem import Problem
from mapsearch.spaces import SpaceOptions
from mapsearch.studies import RunConfig, StudyRecord, run_study
from mapsearch.studies.certificate import certify
from mapsearch.studies.fingerprint import problem_slug
from mapsearch.studies.results import seed_mappings
from mapsearch.studies.run import MAX_TRIALS

HEURISTICS = ("ga", "tpe", "nsga2", "random")
#: Relative difference under which a heuristic's best is the reference itself (an
#: ``--optima`` table prints 10 significant digits).
SAME = 1e-9
QUICK_LAYERS = ("vgg16.conv3_1", "resnet50.res2a_branch2b", "resnet50.res5a_branch2a")


def distinct_layers(models: list[str]) -> list[Layer]:
    """Each distinct layer shape of the models, first occurrence first."""
    seen: set[object] = set()
    out = []
    for name in models:
        for layer in load_model(name).distinct():
            if layer.shape_key not in seen:
                seen.add(layer.shape_key)
                out.append(layer)
    return out


def read_optima(path: Path) -> dict[tuple[str, int, str], list[str]]:
    """The first eight cells of each row of an earlier table, by (layer, PEs, objective)."""
    rows: dict[tuple[str, int, str], list[str]] = {}
    for line in path.read_text().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) >= 8 and cells[1].isdigit():
            rows[(cells[0], int(cells[1]), cells[2])] = cells[:8]
    return rows


def host_seconds() -> float:
    """CPU seconds of a fixed pure-Python loop (no mapsearch code, so the same work at
    every commit): this host's speed moves by 2x within an hour, and the table's times
    (and which rows prove under a cap) move with it, so the table prints this before and
    after its rows to say how fast the host ran."""
    c0 = time.process_time()
    total = 0
    for i in range(20_000_000):
        total += i & 7
    assert total
    return time.process_time() - c0


def run(
    problem: Problem, searcher: str, folder: Path, **config: object
) -> tuple[float, float, float, int, object]:
    """One search: (best first-objective value, wall s, CPU s of this process,
    evaluations, the run's result)."""
    name = f"{searcher}-{problem.hardware.num_pes}pe-{problem_slug(problem)}"
    record = StudyRecord.open(f"sqlite:///{folder / name}.sqlite3", name, problem)
    t0, c0 = time.perf_counter(), time.process_time()
    result = run_study(
        problem,
        record,
        RunConfig(searcher=searcher, **config),  # type: ignore[arg-type]
        seeds=seed_mappings(problem),
    )
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    _, ev = record.best(limit=1)  # read without the history: a proof stores 10^5-10^6 points
    best = float(ev.values[0, 0]) if len(ev) else float("inf")
    return best, wall, cpu, result.n_evaluations, result


def prove(problem: Problem, folder: Path, timeout_s: float) -> list[str]:
    """The first eight cells of a row: ``optimal``'s optimum (or bound), whether proved,
    its wall and CPU seconds, and the points it evaluated against the space's size."""
    best, wall, cpu, n, result = run(
        problem, "optimal", folder, n_trials=MAX_TRIALS, timeout_s=timeout_s
    )
    cert = certify(problem, best, result.proof, n)  # type: ignore[attr-defined]
    gap = cert.gap_percent
    open_gap = "" if gap is None else f", gap {gap:.2g}%"
    return [
        problem.layer.qualified_name,
        str(problem.hardware.num_pes),
        problem.objectives[0].name,
        f"{best:.10g}" if cert.proved_optimal else f">= {cert.lower_bound:.10g}",
        "yes" if cert.proved_optimal else f"no (best {best:.10g}{open_gap})",
        f"{wall:.1f}",
        f"{cpu:.1f}",
        f"{n:,} / {problem.genome.size:.3g}",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", default="vgg16,resnet50")
    parser.add_argument("--layers", default="", help="comma-separated layer names (a subset)")
    parser.add_argument("--objectives", default="latency,edp")
    parser.add_argument("--pes", default="256,168", help="PE counts of edge_256")
    parser.add_argument("--evals", type=int, default=10_000)
    parser.add_argument("--searchers", default=",".join(HEURISTICS))
    parser.add_argument("--prove-timeout", type=float, default=600.0)
    parser.add_argument(
        "--space", default=None, help="complete or compact (default: the default space)"
    )
    parser.add_argument(
        "--optima",
        type=Path,
        default=None,
        help="an earlier run's printed table: its rows are not proved again",
    )
    parser.add_argument(
        "--quick", action="store_true", help=f"{', '.join(QUICK_LAYERS)}; 2,000 evaluations"
    )
    args = parser.parse_args()
    if args.quick:
        args.layers = args.layers or ",".join(QUICK_LAYERS)
        args.evals = min(args.evals, 2_000)
    layers = distinct_layers(args.models.split(","))
    if args.layers:
        wanted = [w.strip().lower() for w in args.layers.split(",")]
        layers = [
            ly for ly in layers if ly.qualified_name.lower() in wanted or ly.name.lower() in wanted
        ]
    searchers = [s for s in args.searchers.split(",") if s]
    known = {} if args.optima is None else read_optima(args.optima)
    base = preset("edge_256")
    options = SpaceOptions() if args.space is None else SpaceOptions(kind=args.space)
    before = host_seconds()
    print(
        f"exact semantics, {args.space or 'default'} space (levels 1-2, divisor tiles), {base.name} "
        f"({base.describe()}); heuristics: {args.evals:,} evaluations each, seeded with the "
        "classic dataflows; one core\n"
    )
    header = (
        "| layer | PEs | objective | optimum | proved | time to prove (s) | CPU (s) "
        "| evaluated / space |"
    )
    header += "".join(f" {s} gap |" for s in searchers)
    print(header)
    print("|" + "---|" * (8 + len(searchers)))
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for layer in layers:
            for pes in (int(p) for p in args.pes.split(",")):
                hw: Hardware = dataclasses.replace(base, num_pes=pes)
                for objective in args.objectives.split(","):
                    problem = Problem.create(layer, hw, [objective], options=options)
                    key = (layer.qualified_name, pes, objective)
                    cells = (
                        list(known[key])
                        if key in known
                        else prove(problem, folder, args.prove_timeout)
                    )
                    proved = cells[4] == "yes"
                    reference = float(cells[3].removeprefix(">=").strip())
                    for name in searchers:
                        found, _, _, _, _ = run(problem, name, folder, n_trials=args.evals, seed=0)
                        gap = 100 * (found - reference) / reference if reference else float("nan")
                        if abs(found - reference) <= SAME * abs(reference):
                            gap = 0.0  # the reference as --optima read it: 10 digits
                        cells.append(f"{gap:.2f}%" if proved else f"<= {gap:.2f}%")
                    print("| " + " | ".join(cells) + " |", flush=True)
    print(
        f"\nhost: a fixed Python loop took {before:.2f} s of CPU before the rows, "
        f"{host_seconds():.2f} s after"
    )


if __name__ == "__main__":
    main()
