"""Search quality of every searcher (a benchmark, not a test).

(a) ``enumerable``: a restricted space of a ResNet50 layer (one cluster level, divisor
    tiles) small enough to enumerate; the exhaustive optimum is the ground truth, and each
    searcher gets a budget of ``--fraction`` of the space (default 2%). Target: within 1% of
    the optimum.
(b) ``conv3_1``: VGG16 CONV3_1 on 168 and 256 PEs (MAESTRO's reference hardware
    ``hw_pe256_bw64_offchip1e6``, PE count overridden), best EDP and latency found with
    ``--evals`` evaluations (default 10,000) per searcher, against the best classic dataflow
    and random search, with wall time and PE utilisation of the latency winner.

Every run goes through the real path (``run_study`` into an SQLite study in a temporary
folder), so wall times include storage.

    python benchmarks/search_quality.py enumerable --searchers ga,tpe,random
    python benchmarks/search_quality.py conv3_1 --evals 10000 --searchers ga,random
"""

from __future__ import annotations

import argparse
import dataclasses
import tempfile
import time
from pathlib import Path

import numpy as np

from mapsearch.hardware.presets import preset
from mapsearch.layers.zoo import find_layer
from mapsearch.problem import Problem
from mapsearch.spaces import SpaceOptions
from mapsearch.studies import RunConfig, StudyRecord, run_study
from mapsearch.studies.results import best_indices, classic_baselines, seed_mappings


def search(
    problem: Problem, searcher: str, evals: int, folder: Path, seed: int, seeds: bool
) -> tuple[float, float, StudyRecord, np.ndarray]:
    """Run one searcher; returns (best first-objective value, wall s, record, best genotype)."""
    name = f"{searcher}-{seed}"
    record = StudyRecord.open(f"sqlite:///{folder / name}.sqlite3", name, problem)
    t0 = time.time()
    run_study(
        problem,
        record,
        RunConfig(searcher=searcher, n_trials=evals, seed=seed),
        seeds=seed_mappings(problem) if seeds else (),
    )
    wall = time.time() - t0
    _, ev = record.history()
    idx = best_indices(problem, ev)
    if idx.size == 0:
        return float("inf"), wall, record, np.zeros(0)
    return float(ev.values[idx[0], 0]), wall, record, ev.genotypes[idx[0]]


def enumerable(args: argparse.Namespace) -> None:
    layer = find_layer(args.layer)
    hw = preset(args.hw)
    options = SpaceOptions(levels=(1,), tiles="divisors")
    problem = Problem.create(layer, hw, [args.objective], options=options, semantics=args.semantics)
    budget = max(1, int(problem.genome.size * args.fraction))
    print(
        f"(a) {layer.qualified_name} ({layer.describe()}) on {hw.name}, {args.semantics}, "
        f"objective {args.objective}: {problem.genome.size:,} genotypes; budget {budget:,} "
        f"({args.fraction:.1%}) per searcher, {args.repeats} seed(s)"
    )
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        truth, wall, _, _ = search(problem, "exhaustive", problem.genome.size, folder, 0, False)
        print(
            f"  exhaustive optimum {truth:.6g} in {wall:.1f} s ({problem.genome.size / wall:,.0f} evals/s incl. storage)"
        )
        print(f"  {'searcher':10} {'seed':>4} {'best':>12} {'gap':>8} {'wall s':>8}")
        for name in args.searchers:
            for seed in range(args.repeats):
                best, wall, _, _ = search(problem, name, budget, folder, seed, False)
                gap = best / truth - 1.0
                print(f"  {name:10} {seed:4d} {best:12.6g} {gap:8.2%} {wall:8.1f}")


def conv3_1(args: argparse.Namespace) -> None:
    layer = find_layer("vgg16.conv3_1")
    base = preset(args.hw)
    for pes in (168, 256):
        hw = dataclasses.replace(base, num_pes=pes, name=f"{base.name}@{pes}")
        for objective in ("edp", "latency"):
            problem = Problem.create(
                layer,
                hw,
                [objective],
                options=SpaceOptions(levels=(1, 2), tiles=args.tiles),
                semantics=args.semantics,
            )
            classic = [b for b in classic_baselines(problem) if b.feasible]
            ref = classic[0].objectives[objective] if classic else float("nan")
            ref_name = classic[0].name if classic else "-"
            print(
                f"(b) CONV3_1, {pes} PEs, {objective}, {args.semantics}, tiles {args.tiles}: "
                f"best classic {ref_name} {ref:.6g}"
            )
            with tempfile.TemporaryDirectory() as tmp:
                for name in args.searchers:
                    best, wall, _, g = search(problem, name, args.evals, Path(tmp), 0, True)
                    util = ""
                    if g.size:
                        _, hw_used, report = problem.report(g)
                        util = f", PE utilisation {float(report.avg_utilized_pes[0]) / hw_used.num_pes:.2%}"
                    print(
                        f"    {name:10} best {best:.6g} ({ref / best:.2f}x vs classic) "
                        f"in {args.evals:,} evals, {wall:.1f} s ({args.evals / wall:,.0f} evals/s){util}"
                    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="part", required=True)
    a = sub.add_parser("enumerable")
    a.add_argument("--layer", default="resnet50.conv2_1_2")
    a.add_argument("--hw", default="hw_pe256_bw64_offchip1e6")
    a.add_argument("--objective", default="edp")
    a.add_argument("--fraction", type=float, default=0.02)
    a.add_argument("--repeats", type=int, default=3)
    b = sub.add_parser("conv3_1")
    b.add_argument("--hw", default="hw_pe256_bw64_offchip1e6")
    b.add_argument("--evals", type=int, default=10_000)
    b.add_argument("--tiles", default="divisors", help="divisors or any")
    for p in (a, b):
        p.add_argument(
            "--searchers",
            type=lambda s: s.split(","),
            default=["ga", "tpe", "nsga2", "cmaes", "random", "qmc"],
        )
        p.add_argument("--semantics", default="maestro")
    args = parser.parse_args()
    enumerable(args) if args.part == "enumerable" else conv3_1(args)


if __name__ == "__main__":
    main()
