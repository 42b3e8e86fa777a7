"""Design-space exploration speed and correctness: ``python benchmarks/dse.py``.

1. designs/s of a VGG16 sweep under a fixed dataflow (KC-P) on one core, end to end
   (cost-model analysis of every core + the broadcast sweep) and for the sweep alone, with
   the exact semantics (the default) and with maestro's (after a warm-up, so numba's
   one-time compilation is not counted);
2. a random sample of designs evaluated alone (every layer through ``evaluate_batch`` on
   the design's ``Hardware``) must equal the sweep's numbers exactly, in both semantics;
3. a paper-style sweep of >= 10^8 designs on every core (default semantics): designs,
   valid, Pareto points, rate, and the peak memory of the sweep (constant in the number of
   designs).

The MAESTRO paper's dedicated engine swept 480M designs at 0.17M designs/s; the public
MAESTRO tool evaluates about 700-2,200 designs/s per core.
"""

from __future__ import annotations

import argparse
import json
import os
import time
import tracemalloc
from typing import Any

import numpy as np

from mapsearch.costmodel import DEFAULT_SEMANTICS, SEMANTICS
from mapsearch.dse.design import evaluate_design
from mapsearch.dse.mappings import FixedDataflow
from mapsearch.dse.run import build_space, prepare_dse, select_layers, sweep_budget
from mapsearch.dse.space import DesignSpace
from mapsearch.dse.sweep import SweepResult, sweep
from mapsearch.objectives import Constraints, mm2_from_um2


def timed_sweep(
    space: DesignSpace,
    dataflow: str,
    budget: Constraints,
    jobs: int,
    *,
    semantics: str = DEFAULT_SEMANTICS,
    trace: bool = False,
) -> tuple[SweepResult, float]:
    """Analyse and sweep; returns the result and the sweep's peak traced memory (MB)."""
    layers = select_layers("vgg16")
    prep = prepare_dse(
        space,
        layers,
        FixedDataflow(dataflow),
        constraints=budget,
        semantics=semantics,
        jobs=jobs,
    )
    if trace:
        tracemalloc.start()
    res = sweep(prep.problem, prep.table, jobs=jobs, analysis_s=prep.analysis_s)
    peak = 0.0
    if trace:
        peak = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
    return res, peak


def sample_check(
    res: SweepResult, dataflow: str, budget: Constraints, n: int, seed: int, semantics: str
) -> int:
    """Evaluate ``n`` random designs alone and compare; returns the number checked."""
    rng = np.random.default_rng(seed)
    space = res.problem.space
    idx = np.unique(rng.integers(0, space.size, size=n))
    # half of the sample from the valid designs, if the space has any
    if res.n_valid and len(res.sample):
        idx = np.unique(np.concatenate([idx[: n // 2], rng.choice(res.sample, size=n // 2)]))
    rec = res.records(idx)
    layers = res.table.layers
    mappings = [FixedDataflow(dataflow)(layer) for layer in layers]
    for k, i in enumerate(idx.tolist()):
        d = evaluate_design(
            space.hardware(i), layers, mappings, semantics=semantics, constraints=budget
        )
        got_fails = set(filter(None, str(rec["invalid_because"][k]).split("+")))
        ok = (
            got_fails == set(d.fails)
            and rec["area_mm2"][k] == mm2_from_um2(d.area_um2)
            and rec["power_mw"][k] == d.power_mw
        )
        if "mapping" not in d.fails:
            ok = ok and (
                rec["runtime_cycles"][k] == d.runtime_cycles
                and rec["energy"][k] == d.energy
                and rec["macs"][k] == d.macs
                and rec["l1_req_words"][k] == d.l1_req_words
                and rec["l2_req_words"][k] == d.l2_req_words
            )
        if not ok:
            raise SystemExit(f"design {i}: sweep {dict((c, rec[c][k]) for c in rec)} != {d}")
    return len(idx)


def describe(res: SweepResult, label: str) -> dict[str, Any]:
    return {
        "label": label,
        "designs": res.n_designs,
        "cores": res.problem.space.n_cores,
        "valid": res.n_valid,
        "pareto_points": len(res.front),
        "analysis_s": round(res.analysis_s, 2),
        "sweep_s": round(res.sweep_s, 2),
        "designs_per_s": round(res.designs_per_s),
        "sweep_designs_per_s": round(res.n_designs / max(res.sweep_s, 1e-9)),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dataflow", default="kcp")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--samples", type=int, default=200)
    ap.add_argument("--quick", action="store_true", help="skip the 10^8-design sweep")
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    args = ap.parse_args()
    budget = sweep_budget(area_mm2=400.0, power_mw=4000.0)
    out: dict[str, Any] = {"dataflow": args.dataflow, "budget": "400 mm^2, 4 W"}

    # 1. one core: 512 cores x 20,000 capacities = 10.24 M designs, in each semantics
    #    (default first: "one_core"), each after a warm-up on a tiny space
    one_core = build_space(pes="64:4096:256", noc_bw="8:256:8", l1="16:1600:16", l2="4K:800K:4K")
    tiny = build_space(pes="64,128", noc_bw="8,16", l1="16,32", l2="4K,8K")
    checked = 0
    t_check = 0.0
    for sem in sorted(SEMANTICS, key=lambda s: s != DEFAULT_SEMANTICS):
        key = "one_core" if sem == DEFAULT_SEMANTICS else f"one_core_{sem}"
        timed_sweep(tiny, args.dataflow, budget, jobs=1, semantics=sem)
        res, peak = timed_sweep(one_core, args.dataflow, budget, jobs=1, semantics=sem, trace=True)
        out[key] = describe(res, f"VGG16 one core, {sem}") | {
            "semantics": sem,
            "sweep_peak_mb": round(peak, 1),
        }
        # 2. a random sample evaluated alone equals the sweep
        t0 = time.perf_counter()
        checked += sample_check(res, args.dataflow, budget, args.samples, seed=1, semantics=sem)
        t_check += time.perf_counter() - t0
    out["sample_checked"] = checked
    out["sample_check_s"] = round(t_check, 1)

    # 3. paper-style: 2,048 cores x 50,000 capacities = 102.4 M designs, every core
    if not args.quick:
        big = build_space(pes="64:4096:64", noc_bw="8:256:8", l1="16:1600:16", l2="1K:500K:1K")
        res_big, _ = timed_sweep(big, args.dataflow, budget, jobs=args.jobs)
        out["paper_style"] = describe(res_big, f"VGG16 {args.jobs} workers") | {
            "jobs": args.jobs,
            "designs_per_s_per_core": round(res_big.designs_per_s / max(args.jobs, 1)),
        }
        # constant memory: the same sweep on one worker, 10x the designs of step 1
        _, peak_big = timed_sweep(big, args.dataflow, budget, jobs=1, trace=True)
        out["paper_style"]["sweep_peak_mb_one_worker"] = round(peak_big, 1)
    if args.json:
        print(json.dumps(out))
        return
    for key in ("one_core", *(f"one_core_{s}" for s in SEMANTICS), "paper_style"):
        if key in out:
            r = out[key]
            print(
                f"{r['label']}: {r['designs']:,} designs ({r['cores']:,} cores), "
                f"{r['valid']:,} valid, {r['pareto_points']} Pareto points; "
                f"analysis {r['analysis_s']} s + sweep {r['sweep_s']} s -> "
                f"{r['designs_per_s']:,} designs/s end to end, "
                f"{r['sweep_designs_per_s']:,} designs/s sweep only"
            )
    print(f"one-core sweep peak memory: {out['one_core']['sweep_peak_mb']} MB")
    if "paper_style" in out:
        p = out["paper_style"]
        print(
            f"paper-style: {p['designs_per_s_per_core']:,} designs/s per core; sweep peak "
            f"memory on one worker {p['sweep_peak_mb_one_worker']} MB"
        )
    print(
        f"sample check: {out['sample_checked']} designs evaluated alone equal the sweep "
        f"({out['sample_check_s']} s)"
    )


if __name__ == "__main__":
    main()
