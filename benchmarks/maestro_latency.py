"""Maestro cost model on mixed templates, as searchers call it: ``python
benchmarks/maestro_latency.py [--json]``.

4,000 random genotypes of the default ``tune`` space of VGG16 CONV3_1 on edge_256 (levels
1,2; almost every row its own template), decoded once; then ``maestro.evaluate_batch`` alone
(no decoding, no objectives) on the whole batch and on consecutive slices of 1 and 64 rows,
the batch sizes a searcher sends. Best of several runs, in wall and in CPU seconds (CPU
time is steadier on a shared machine).
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable

import numpy as np

from mapsearch.costmodel import maestro
from mapsearch.costmodel.batch import MappingBatch
from mapsearch.hardware.presets import preset
from mapsearch.layers.zoo import find_layer
from mapsearch.problem import Problem


def _best(clock: Callable[[], float], fn: Callable[[], object], repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        t0 = clock()
        fn()
        best = min(best, clock() - t0)
    return best


def run(n: int = 4000, repeats: int = 5) -> dict[str, float]:
    problem = Problem.create(
        find_layer("conv3_1"), preset("edge_256"), ["edp"], semantics="maestro"
    )
    layer, hw = problem.layer, problem.hardware

    def batch(seed: int) -> MappingBatch:
        decoded = problem.decode(problem.genome.random(n, np.random.default_rng(seed)))[0]
        assert decoded.batch is not None
        return decoded.batch

    maestro.evaluate_batch(layer, hw, batch(1))  # warm-up (compiled kernels loaded)
    whole = batch(0)
    out: dict[str, float] = {"rows": len(whole)}
    for name, clock in (("wall", time.perf_counter), ("cpu", time.process_time)):
        t = _best(clock, lambda: maestro.evaluate_batch(layer, hw, whole), repeats)
        out[f"{name}_whole_batch_evals_per_s"] = round(len(whole) / t)
        for size in (1, 64):
            parts = [
                whole.take(np.arange(i, min(i + size, len(whole))))
                for i in range(0, min(len(whole), 200 * size), size)
            ]

            def score_all(parts: list[MappingBatch] = parts) -> None:
                for p in parts:
                    maestro.evaluate_batch(layer, hw, p)

            t = _best(clock, score_all, repeats)
            out[f"{name}_us_per_call_{size}_rows"] = round(t / len(parts) * 1e6, 1)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    out = run()
    if args.json:
        print(json.dumps(out, indent=2))
    else:
        for k, v in out.items():
            print(f"{k:36s} {v:>12,.1f}")


if __name__ == "__main__":
    main()
