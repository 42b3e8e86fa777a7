"""Reading a large study: ``python benchmarks/study_reads.py [--trials N] [--json]``.

Builds two SQLite studies of ``N`` (12,000 by default) evaluations of VGG16 CONV3_1 on
edge_256, one single-objective (edp) and one Pareto (latency, energy), from random
genotypes with made-up values (a tenth infeasible; the reads do not depend on the values),
then times what commands read from them: the trial count, the best point(s) a ``tune``
run reports at its end, the listing of ``mapsearch studies`` (every study in the folder),
and the whole history (what a run reads once to resume, and ``show``/``export csv`` read).
A third study (``edp-scored``) holds the same genotypes scored by the cost model, each with
the mapping, hardware and metrics a search stores: its history read is also measured for
the most memory Python holds during it (``tracemalloc``'s peak).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import numpy as np

from mapsearch.hardware.presets import preset
from mapsearch.layers.zoo import find_layer
from mapsearch.problem import Evaluation, Problem
from mapsearch.studies import StudyRecord, list_studies
from mapsearch.studies.results import best_points


def made_up(problem: Problem, n: int, rng: np.random.Generator) -> Evaluation:
    bad = rng.random(n) < 0.1
    values = rng.lognormal(20, 2, size=(n, len(problem.objectives)))
    return Evaluation(
        genotypes=problem.genome.random(n, rng),
        values=values,
        violation=np.where(bad, np.inf, 0.0),
        reasons=np.where(bad, "made up", "").astype(object),
    )


def history_peak_mb(record: StudyRecord) -> float:
    """The most memory Python holds while the whole history is read (MB)."""
    tracemalloc.start()
    try:
        record.history()
        return tracemalloc.get_traced_memory()[1] / 1e6
    finally:
        tracemalloc.stop()


def median_s(fn: Callable[[], object], repeat: int = 5) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return float(np.median(times))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--trials", type=int, default=12_000)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    layer, hw = find_layer("conv3_1"), preset("edge_256")
    rng = np.random.default_rng(0)
    out: dict[str, float] = {"trials": args.trials}
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{Path(folder) / 'studies.sqlite3'}"
        for key, objectives in (
            ("edp", ["edp"]),
            ("latency+energy", ["latency", "energy"]),
            ("edp-scored", ["edp"]),
        ):
            problem = Problem.create(layer, hw, objectives, semantics="maestro")
            record = StudyRecord.open(url, key, problem)
            ev = made_up(problem, args.trials, rng)
            if key == "edp-scored":
                ev = problem.evaluate(ev.genotypes)
            t0 = time.perf_counter()
            for start in range(0, args.trials, 1000):
                record.write(ev.take(np.arange(start, min(start + 1000, args.trials))))
            out[f"{key}_write_s"] = time.perf_counter() - t0
            out[f"{key}_count_s"] = median_s(record.n_trials)
            out[f"{key}_best_points_s"] = median_s(lambda r=record: best_points(r))
            out[f"{key}_history_s"] = median_s(record.history, repeat=3)
            out[f"{key}_history_peak_mb"] = history_peak_mb(record)
        out["studies_listing_s"] = median_s(lambda: list_studies(url))
        out["studies_listing_per_study_s"] = out["studies_listing_s"] / 3
    if args.json:
        print(json.dumps(out, indent=2))
        return
    for k, v in out.items():
        print(f"{k:32s} {v:12.4f}" if isinstance(v, float) else f"{k:32s} {v:12,}")


if __name__ == "__main__":
    main()
