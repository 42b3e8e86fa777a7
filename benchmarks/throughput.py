"""Throughput of the maestro-semantics cost model: ``python benchmarks/throughput.py [--json]``.

Batches of random legal mappings of one template on VGG16 CONV3_1 (256 PEs, NoC 64
words/cycle): a one-level X-P-like template and a two-level KC-P-like template, scored with
one ``evaluate_batch`` call per batch on one core; then the scalar path (``evaluate``: one
validated mapping at a time) on a sample; then NoC-bandwidth sweeps (``runtime_sweep``:
the reuse analysis once, the timing vectorised over 32 bandwidths x 4,096 mappings, and
over 1,024 bandwidths for one mapping). The original MAESTRO evaluates about
2,200 mappings/s (X-P) and 700-880/s (KC-P) per core in-process (-O2).
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

from mapsearch.costmodel import evaluate
from mapsearch.costmodel.batch import MappingBatch, Template
from mapsearch.costmodel.maestro import evaluate_batch, runtime_sweep
from mapsearch.directives import DirectiveKind
from mapsearch.directives.validate import mapping_problems
from mapsearch.hardware import Hardware
from mapsearch.layers import Layer

LAYER = Layer.conv("CONV3_1", K=256, C=128, R=3, S=3, Y=56, X=56, model="VGG16")
HW = Hardware(
    name="pe256_bw64", num_pes=256, noc_bw_words_per_cycle=64, offchip_bw_words_per_cycle=10**6
)

T, S, C = DirectiveKind.TEMPORAL, DirectiveKind.SPATIAL, DirectiveKind.CLUSTER
XP_LIKE = Template(kinds=(T, T, T, S, T, T), dims=("K", "C", "Y", "X", "R", "S"))
KCP_LIKE = Template(
    kinds=(S, T, T, T, T, T, C, S, T, T, T, T),
    dims=("K", "C", "R", "S", "Y", "X", "", "C", "Y", "X", "R", "S"),
)


def random_xp(rng: np.random.Generator, n: int) -> MappingBatch:
    """X-P-like mappings: any K/C tile, any Y/X window tile (offset = size - R + 1)."""
    k, c = rng.integers(1, 257, n), rng.integers(1, 129, n)
    y, x = rng.integers(3, 57, n), rng.integers(3, 57, n)
    three = np.full(n, 3)
    sizes = np.stack([k, c, y, x, three, three], 1)
    offsets = np.stack([k, c, y - 2, x - 2, three, three], 1)
    return MappingBatch.of(XP_LIKE, sizes, offsets)


def random_kcp(rng: np.random.Generator, n: int) -> MappingBatch:
    """KC-P-like mappings: clusters of 1-64 PEs, any K/C tiles, small Y/X window tiles."""
    k, c = rng.integers(1, 33, n), rng.integers(1, 129, n)
    c1 = rng.integers(1, c + 1)
    y, x = rng.integers(3, 12, n), rng.integers(3, 12, n)
    cl = rng.integers(1, 65, n)
    three, one = np.full(n, 3), np.ones(n, dtype=np.int64)
    sizes = np.stack([k, c, three, three, y, x, cl, c1, three, three, three, three], 1)
    offsets = np.stack([k, c, three, three, y - 2, x - 2, 0 * cl, c1, one, one, three, three], 1)
    return MappingBatch.of(KCP_LIKE, sizes, offsets)


def _rate(fn: object, n: int, repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()  # type: ignore[operator]
        best = min(best, time.perf_counter() - t0)
    return n / best


def run(batch_size: int, scalar_sample: int, repeats: int, seed: int) -> dict[str, float]:
    rng = np.random.default_rng(seed)
    out: dict[str, float] = {"batch_size": batch_size}
    for name, gen in (("one_level", random_xp), ("two_level", random_kcp)):
        batch = gen(rng, batch_size)
        sample = batch.take(np.arange(min(20, batch_size)))
        illegal = [i for i in range(len(sample)) if mapping_problems(sample.mapping(i), LAYER, HW)]
        if illegal:
            raise SystemExit(f"{name}: generated illegal mappings {illegal}")
        out[f"{name}_evals_per_s"] = _rate(
            lambda b=batch: evaluate_batch(LAYER, HW, b), batch_size, repeats
        )
        small = batch.take(np.arange(scalar_sample))
        mappings = [small.mapping(i) for i in range(scalar_sample)]
        out[f"{name}_scalar_evals_per_s"] = _rate(
            lambda ms=mappings: [evaluate(LAYER, HW, m, semantics="maestro") for m in ms],
            scalar_sample,
            1,
        )
        bws = np.arange(8, 8 + 32 * 8, 8)
        sweep_n = min(batch_size, 4096)
        sub = batch.take(np.arange(sweep_n))
        out[f"{name}_noc_sweep_designs_per_s"] = _rate(
            lambda s=sub, b=bws: runtime_sweep(LAYER, HW, s, b), sweep_n * len(bws), 1
        )
        one, many = batch.take([0]), np.arange(1, 1025)
        out[f"{name}_noc_sweep_one_mapping_designs_per_s"] = _rate(
            lambda s=one, b=many: runtime_sweep(LAYER, HW, s, b), len(many), repeats
        )
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    ap.add_argument("--batch", type=int, default=100_000, help="mappings per batch")
    ap.add_argument("--scalar", type=int, default=200, help="mappings for the scalar path")
    ap.add_argument("--repeats", type=int, default=3, help="best of N batch timings")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    res = run(args.batch, args.scalar, args.repeats, args.seed)
    if args.json:
        print(json.dumps(res))
        return
    print(f"VGG16 CONV3_1 on {HW.describe()}, batches of {args.batch:,} random legal mappings")
    for name, label in (
        ("one_level", "one level (X-P-like)"),
        ("two_level", "two levels (KC-P-like)"),
    ):
        print(
            f"  {label:24s} batched {res[f'{name}_evals_per_s']:>12,.0f}/s   "
            f"scalar {res[f'{name}_scalar_evals_per_s']:>8,.0f}/s   "
            f"NoC-bandwidth sweep {res[f'{name}_noc_sweep_designs_per_s']:>12,.0f} designs/s "
            f"(one mapping: {res[f'{name}_noc_sweep_one_mapping_designs_per_s']:,.0f}/s)"
        )


if __name__ == "__main__":
    main()
