"""Writing scored trials: ``python benchmarks/study_writes.py [--batch N]``.

A run writes its trials from a thread while the search goes on in the main thread; the
database driver runs each statement without Python's global lock and takes it back after.
This times ``StudyRecord.write`` of a batch of ``N`` (3,000 by default) trials of ResNet50
CONV4_1_1 on the complete space (168 PEs), scored by the cost model with the attributes a
search stores: alone, and beside a thread that runs Python without pause (the search).
Prints the median of 6 writes of each kind, in microseconds a trial.
"""

from __future__ import annotations

import argparse
import dataclasses
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

from mapsearch.hardware.presets import preset
from mapsearch.layers.zoo import find_layer
from mapsearch.problem import Evaluation, Problem
from mapsearch.spaces import SpaceOptions
from mapsearch.studies import StudyRecord


def median_us(record: StudyRecord, ev: Evaluation, repeat: int = 6) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        record.write(ev)
        times.append(time.perf_counter() - t0)
    return float(np.median(times)) / len(ev) * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--batch", type=int, default=3000)
    args = parser.parse_args()
    hw = dataclasses.replace(preset("edge_256"), num_pes=168)
    problem = Problem.create(
        find_layer("resnet50.CONV4_1_1"), hw, ["edp"], options=SpaceOptions(kind="complete")
    )
    ev = problem.evaluate(problem.genome.random(args.batch, np.random.default_rng(0)))
    with tempfile.TemporaryDirectory() as folder:
        record = StudyRecord.open(f"sqlite:///{Path(folder) / 's.sqlite3'}", "s", problem)
        alone = median_us(record, ev)
        running = threading.Event()
        running.set()

        def busy() -> None:
            x = 0
            while running.is_set():
                for i in range(1000):
                    x += i

        thread = threading.Thread(target=busy)
        thread.start()
        try:
            beside = median_us(record, ev)
        finally:
            running.clear()
            thread.join()
    print(
        f"{args.batch:,} trials a write: {alone:.1f} us a trial alone, {beside:.1f} beside a busy thread"
    )


if __name__ == "__main__":
    main()
