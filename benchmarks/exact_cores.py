"""The exact model's cold cost per group: ``python benchmarks/exact_cores.py [--json]``.

A search brings new group shapes (tile and cluster sizes) at almost every candidate, so the
exact model keeps walking *cold cores* (``costmodel/_exact_groups._core_shrunk``: one
group's loop tuples times its units, counted into factor rows). This scores random
genotypes of the default ``tune`` space of VGG16 CONV3_1 on edge_256 once, to collect the
distinct cores they need, then walks each of them again, uncached:

- ``cold_cores``: how many distinct cores the genotypes need;
- ``ms_per_cold_core``: mean wall milliseconds per core walk (the best of two passes).

Measured back to back on a shared 2-core machine (load average 13-14, so slow in absolute
terms), 510 cold cores of CONV3_1: 22.2-24.4 ms per core with the Python walk, 2.5-3.3 ms
with the compiled one (``--layer resnet50.CONV1``, 212 cores: 24.6 and 3.6 ms).
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

N_GENOTYPES = 600


def cold_cores(layer_name: str, n: int, seed: int) -> dict[str, float]:
    """Walk every distinct core that ``n`` random genotypes need, uncached."""
    from mapsearch.costmodel import _exact_groups, exact
    from mapsearch.hardware.presets import preset
    from mapsearch.layers.zoo import find_layer
    from mapsearch.problem import Problem

    problem = Problem.create(find_layer(layer_name), preset("edge_256"), ["edp"])
    genotypes = problem.genome.random(n, np.random.default_rng(seed))
    # every group core the genotypes need, as the model asks for it (fresh caches)
    queries: dict[object, _exact_groups._CoreQuery] = {}
    core_of = exact._core_of

    def asked(query: _exact_groups._CoreQuery) -> _exact_groups._Core:
        queries.setdefault(query.key, query)
        return core_of(query)

    exact._group_summary.cache_clear()
    exact._group_core.cache_clear()
    exact._core_of = asked  # type: ignore[assignment]
    try:
        problem.evaluate(genotypes)
    finally:
        exact._core_of = core_of

    def one_pass() -> float:
        t0 = time.perf_counter()
        for q in queries.values():
            _exact_groups._core_shrunk(q.model, q.spec)
        return time.perf_counter() - t0

    best = min(one_pass() for _ in range(2))
    return {"cold_cores": len(queries), "ms_per_cold_core": round(1000 * best / len(queries), 3)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--layer", default="conv3_1", help="zoo layer (default conv3_1)")
    parser.add_argument("--genotypes", type=int, default=N_GENOTYPES)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    out = cold_cores(args.layer, args.genotypes, args.seed)
    print(
        json.dumps(out, indent=2)
        if args.json
        else f"{out['cold_cores']} cold cores of {args.layer}: {out['ms_per_cold_core']} ms each"
    )


if __name__ == "__main__":
    main()
