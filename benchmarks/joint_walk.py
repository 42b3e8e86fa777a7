"""Speed of the exact model's joint walk: ``python benchmarks/joint_walk.py [--json]``.

Genotypes of the complete space (VGG16 CONV3_1, edge_256, EDP) on which the exact model
walks groups together (``costmodel/_exact_joint.py``): a level's second SpatialMap
(row-stationary diagonals), found slow by the GA of ``mapsearch tune --layer conv3_1
--objective edp --space complete``. Each is scored alone with the group cores' cache
cleared (one core, CPU seconds). Then random genotypes of the same space, scored as one
batch (evaluations/s).

Measured on a shared, overloaded 2-core machine (load 8-11), CPU seconds: the YR-P-like
genotype below took 19.4 s after the array rewrite of the joint walk, and more than 240 s
(not finished) before it. With the walk compiled (slices, tiles' cells and unions in numba
passes) it takes 4.5 s against 15.3 s before (medians of 3 alternating runs, load 4-6).
With shrunk walks of ``2^k + k`` cuts from their slices' reach and the slices narrowed from
the first directive that changes, the six genotypes below take 0.4-6.5 s, 12.1 s in all
(load 1-2), and the README's complete-space tune runs in 17.0 s wall against 101 s before
(medians of 3 alternated pairs, load 1-3).
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

from mapsearch.costmodel import _exact_groups
from mapsearch.hardware.presets import preset
from mapsearch.layers.zoo import find_layer
from mapsearch.problem import Problem
from mapsearch.spaces.mapping_space import SpaceOptions

#: Genotypes of the complete space found slow under the GA (walk order of the study): every
#: genotype of ``mapsearch tune --layer conv3_1 --objective edp --space complete`` whose
#: groups are walked together (each a whole-nest walk, row-stationary diagonals).
SLOW = [
    # YR-P-like: SpatialMap(3,1) Y; ... Cluster(2); SpatialMap(1,1) Y; ... SpatialMap(1,1) R
    [1, 8, 2, 0, 0, 0, 0, 2, 1, 16, 2, 1, 15, 0, 0, 0],
    [1, 8, 2, 0, 15, 5, 0, 0, 1, 12, 2, 1, 2, 0, 0, 0],
    [1, 8, 2, 0, 15, 5, 0, 1, 1, 16, 2, 1, 16, 0, 0, 0],
    [1, 23, 3, 1, 14, 17, 0, 0, 1, 12, 3, 1, 15, 0, 1, 0],
    [1, 10, 1, 0, 17, 5, 0, 13, 1, 14, 2, 1, 9, 0, 0, 0],
    [1, 1, 0, 1, 2, 0, 0, 0, 1, 11, 3, 1, 1, 2, 6, 3],
]


#: Genotypes of the complete space of ResNet50 CONV1 (edge_256, EDP) whose joint groups cost
#: the most among the 2,000 that the GA of ``mapsearch tune --layer resnet50.CONV1 --objective
#: edp --trials 2000 --space complete`` scores (K, C, Y and X walked together: a strided
#: window stepping one row inside a tile of nearly the whole dimension).
SLOW_CONV1 = [
    [1, 4, 0, 1, 0, 0, 14, 16, 0, 0, 0, 1, 32, 6, 3, 0, 4, 2, 0, 11, 1, 1, 1, 0],
    [1, 11, 0, 0, 0, 0, 9, 15, 1, 0, 0, 1, 3, 2, 2, 1, 8, 2, 0, 3, 1, 1, 1, 0],
    [1, 4, 0, 0, 0, 0, 14, 18, 0, 0, 0, 0, 14, 5, 2, 0, 8, 2, 0, 0, 1, 1, 1, 0],
    [1, 1, 0, 1, 8, 0, 14, 16, 0, 1, 0, 0, 32, 5, 3, 0, 4, 2, 0, 10, 1, 1, 1, 0],
    [1, 0, 0, 0, 0, 0, 14, 18, 0, 1, 1, 0, 3, 11, 3, 1, 17, 0, 0, 0, 0, 0, 0, 1],
    [1, 16, 2, 1, 2, 0, 14, 16, 0, 0, 0, 0, 32, 6, 3, 0, 4, 2, 11, 11, 1, 1, 1, 0],
    [1, 14, 2, 0, 1, 0, 0, 14, 1, 1, 0, 0, 12, 18, 3, 0, 5, 0, 0, 7, 1, 1, 1, 1],
    [1, 12, 2, 0, 10, 0, 14, 7, 0, 0, 1, 0, 12, 15, 2, 0, 8, 0, 18, 7, 1, 1, 0, 1],
    [1, 4, 0, 0, 0, 0, 14, 18, 0, 0, 0, 0, 14, 19, 2, 0, 8, 2, 0, 7, 1, 1, 1, 1],
    [1, 16, 0, 0, 1, 0, 16, 0, 0, 1, 0, 1, 3, 7, 3, 1, 10, 2, 0, 0, 0, 1, 0, 0],
    [1, 14, 3, 0, 14, 0, 16, 8, 0, 1, 1, 1, 84, 9, 3, 1, 8, 1, 10, 17, 1, 1, 1, 0],
    [1, 16, 2, 1, 2, 0, 14, 16, 0, 0, 0, 0, 32, 12, 3, 0, 4, 2, 0, 0, 1, 1, 1, 0],
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--random", type=int, default=400, help="random genotypes to score")
    args = parser.parse_args()
    problem = Problem.create(
        find_layer("vgg16.conv3_1"),
        preset("edge_256"),
        ["edp"],
        options=SpaceOptions(kind="complete"),
    )
    rng = np.random.default_rng(0)
    problem.evaluate(problem.genome.random(4, rng))  # compile and warm up
    slow_s = []
    for genotype in SLOW:
        _exact_groups._core_of.cache_clear()
        t = time.process_time()
        problem.evaluate(np.array([genotype]))
        slow_s.append(round(time.process_time() - t, 3))
    _exact_groups._core_of.cache_clear()
    batch = problem.genome.random(args.random, rng)
    t = time.process_time()
    problem.evaluate(batch)
    rate = args.random / (time.process_time() - t)
    out = {"slow_cpu_s": slow_s, "random_complete_evals_per_s": round(rate, 1)}
    if args.json:
        print(json.dumps(out))
    else:
        for genotype, s in zip(SLOW, slow_s, strict=True):
            print(f"slow genotype {genotype}: {s} s")
        print(f"random complete genotypes: {out['random_complete_evals_per_s']} evaluations/s")


if __name__ == "__main__":
    main()
