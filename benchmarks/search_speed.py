"""Speed as a search sees it: ``python benchmarks/search_speed.py [--json] [--only KEY,...]``.

- ``mixed_maestro_evals_per_s`` / ``mixed_exact_evals_per_s``: 4,000 uniformly random
  genotypes of the compact space of VGG16 CONV3_1 on edge_256 (levels 1,2; the default
  ``tune`` space, pinned so that the numbers stay comparable if the default changes), scored
  by one ``Problem.evaluate`` call on one core. Random genotypes decode to almost as many
  loop orders, spatial dimensions and cluster sizes as there are rows, so this measures the
  cost model on mixed templates. A first call on other genotypes warms the process (imports,
  memoised group summaries), as the first batches of a search would.
- ``mixed_maestro_complete_evals_per_s`` / ``mixed_exact_complete_evals_per_s``: the same on
  the complete space (``--space complete``): more distinct cluster and tile sizes,
  row-stationary levels, edge tiles.
- ``tune_random_evals_per_s`` / ``tune_ga_evals_per_s``: ``mapsearch tune --layer conv3_1
  --objective edp --trials 10000`` (exact semantics, every evaluation stored in a new SQLite
  study), wall time of the whole command, on the default space;
  ``tune_random_maestro_evals_per_s`` / ``tune_ga_maestro_evals_per_s``: the same with
  ``--semantics maestro``.
- ``tune_random_100k_evals_per_s`` / ``tune_ga_100k_evals_per_s`` (exact) and
  ``tune_random_maestro_100k_evals_per_s`` / ``tune_ga_maestro_100k_evals_per_s``: the
  same commands with ``--trials 100000``, where the process's fixed cost weighs a tenth as
  much.
- ``tune_tpe_2k_evals_per_s``: the exact command with ``--searcher tpe --trials 2000``: TPE
  builds its Parzen estimators from the whole history, so its cost a trial grows with the
  trials (fewer of them here than above).
- ``tune_startup_s``: the same exact command with ``--trials 10``, wall seconds: what a
  ``tune`` process costs before and around its evaluations (imports, loading the compiled
  kernels, creating the study, the final report), which the four keys above include.
- ``model_resnet50_wall_s``: ``mapsearch tune --model resnet50 --objective edp --trials
  2000`` in a fresh folder, wall seconds.

The commands run as on an ordinary installation, where Python keeps the package's compiled
bytecode: with ``PYTHONDONTWRITEBYTECODE`` unset (a sandbox that sets it makes every process
recompile the package's sources, about 0.25-0.5 s of each command) and the bytecode kept in
a temporary ``PYTHONPYCACHEPREFIX`` that one untimed 10-trial ``tune`` fills first.
"""

from __future__ import annotations

import argparse
import atexit
import functools
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable

import numpy as np

KEYS = (
    "mixed_maestro_evals_per_s",
    "mixed_exact_evals_per_s",
    "mixed_maestro_complete_evals_per_s",
    "mixed_exact_complete_evals_per_s",
    "tune_random_evals_per_s",
    "tune_ga_evals_per_s",
    "tune_random_maestro_evals_per_s",
    "tune_ga_maestro_evals_per_s",
    "tune_random_100k_evals_per_s",
    "tune_ga_100k_evals_per_s",
    "tune_random_maestro_100k_evals_per_s",
    "tune_ga_maestro_100k_evals_per_s",
    "tune_tpe_2k_evals_per_s",
    "tune_startup_s",
    "model_resnet50_wall_s",
)
N_MIXED = 4000


def mixed(semantics: str, space: str) -> float:
    """Evaluations per second of one ``Problem.evaluate`` call on random genotypes of the
    ``space`` kind of space."""
    from mapsearch.hardware.presets import preset
    from mapsearch.layers.zoo import find_layer
    from mapsearch.problem import Problem
    from mapsearch.spaces import SpaceOptions

    problem = Problem.create(
        find_layer("conv3_1"),
        preset("edge_256"),
        ["edp"],
        semantics=semantics,
        options=SpaceOptions(kind=space),
    )
    problem.evaluate(problem.genome.random(N_MIXED, np.random.default_rng(1)))  # warm-up
    genotypes = problem.genome.random(N_MIXED, np.random.default_rng(0))
    t0 = time.perf_counter()
    problem.evaluate(genotypes)
    return N_MIXED / (time.perf_counter() - t0)


@functools.cache
def _cli_env() -> dict[str, str]:
    """The environment of the timed commands: bytecode kept in a temporary folder (removed
    at exit), filled by one untimed command."""
    pycache = tempfile.mkdtemp(prefix="mapsearch-pycache-")
    atexit.register(shutil.rmtree, pycache, True)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env |= {"PYTHONHASHSEED": "0", "PYTHONPYCACHEPREFIX": pycache}
    _run(["tune", "--layer", "conv3_1", "--objective", "edp", "--trials", "10"], env)
    return env


def _run(args: list[str], env: dict[str, str]) -> None:
    """``python -m mapsearch ARGS`` in a fresh temporary folder."""
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(
            [sys.executable, "-m", "mapsearch", *args],
            cwd=tmp,
            check=True,
            stdout=subprocess.DEVNULL,
            env=env,
        )


def _cli_wall_s(args: list[str]) -> float:
    """Wall seconds of ``python -m mapsearch ARGS`` run in a fresh temporary folder."""
    env = _cli_env()
    t0 = time.perf_counter()
    _run(args, env)
    return time.perf_counter() - t0


def _tune_wall_s(searcher: str, semantics: str, n: int) -> float:
    """Wall seconds of a whole ``n``-evaluation ``tune`` command on CONV3_1, all stored."""
    args = ["tune", "--layer", "conv3_1", "--objective", "edp", "--searcher", searcher]
    args += ["--semantics", semantics]
    return _cli_wall_s([*args, "--trials", str(n), "--format", "json"])


def tune(searcher: str, semantics: str = "exact", n: int = 10_000) -> float:
    """Evaluations per second of a whole ``n``-evaluation ``tune`` command, all stored."""
    return n / _tune_wall_s(searcher, semantics, n)


def model_resnet50() -> float:
    args = ["tune", "--model", "resnet50", "--objective", "edp", "--trials", "2000"]
    return _cli_wall_s([*args, "--format", "json"])


MEASURES: dict[str, Callable[[], float]] = {
    "mixed_maestro_evals_per_s": lambda: mixed("maestro", "compact"),
    "mixed_exact_evals_per_s": lambda: mixed("exact", "compact"),
    "mixed_maestro_complete_evals_per_s": lambda: mixed("maestro", "complete"),
    "mixed_exact_complete_evals_per_s": lambda: mixed("exact", "complete"),
    "tune_random_evals_per_s": lambda: tune("random"),
    "tune_ga_evals_per_s": lambda: tune("ga"),
    "tune_random_maestro_evals_per_s": lambda: tune("random", "maestro"),
    "tune_ga_maestro_evals_per_s": lambda: tune("ga", "maestro"),
    "tune_random_100k_evals_per_s": lambda: tune("random", n=100_000),
    "tune_ga_100k_evals_per_s": lambda: tune("ga", n=100_000),
    "tune_random_maestro_100k_evals_per_s": lambda: tune("random", "maestro", 100_000),
    "tune_ga_maestro_100k_evals_per_s": lambda: tune("ga", "maestro", 100_000),
    "tune_tpe_2k_evals_per_s": lambda: tune("tpe", n=2_000),
    "tune_startup_s": lambda: _tune_wall_s("random", "exact", 10),
    "model_resnet50_wall_s": model_resnet50,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--only", default="", help="comma-separated keys to measure")
    args = parser.parse_args()
    keys = [k for k in args.only.split(",") if k] or list(KEYS)
    unknown = sorted(set(keys) - set(KEYS))
    if unknown:
        parser.error(f"unknown keys {unknown}; choose from {', '.join(KEYS)}")
    out = {k: round(MEASURES[k](), 3) for k in keys}
    if args.json:
        print(json.dumps(out, indent=2))
    else:
        for k, v in out.items():
            print(f"{k:36s} {v:>12,.1f}")


if __name__ == "__main__":
    main()
