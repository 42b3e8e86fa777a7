"""Every Report field of random complete-space genotypes, to compare two source trees.

``PYTHONPATH=A/src python benchmarks/report_identity.py dump a.pkl [--n 2000] [--semantics
maestro]``, the same with tree B into ``b.pkl``, then ``python benchmarks/report_identity.py
compare a.pkl b.pkl``: every ``evaluate_batch`` call of the semantics' model (``exact`` by
default) made by ``Problem.evaluate`` on VGG16 CONV3_1, CONV1_1, AlexNet CONV1, ResNet50 CONV1
and FC1000 (edge_256, EDP, complete space; batches of 50; a fifth as many on ResNet50 CONV1,
whose strided 7x7 windows walk many groups together, and on FC1000, whose 7x7 window over a
7x7 input walks the whole nest when a unit holds part of it), plus the slow genotypes of
``benchmarks/joint_walk.py`` on CONV3_1 and on ResNet50 CONV1, must agree bit for bit (NaN =
NaN).
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import pickle
from typing import Any

import numpy as np

from mapsearch.costmodel import exact, maestro
from mapsearch.costmodel.report import Report, TensorCounts
from mapsearch.hardware.presets import preset
from mapsearch.layers.zoo import find_layer
from mapsearch.problem import Problem
from mapsearch.spaces.mapping_space import SpaceOptions

LAYERS = ("vgg16.conv3_1", "vgg16.conv1_1", "alexnet.conv1", "resnet50.conv1", "resnet50.fc1000")
#: Layers scored on a fifth as many random genotypes (their walks are long).
FEWER = ("resnet50.conv1", "resnet50.fc1000")


def fields(report: Report) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for f in dataclasses.fields(report):
        v = getattr(report, f.name)
        if isinstance(v, TensorCounts):
            for t in ("input", "filter", "output"):
                out[f"{f.name}.{t}"] = np.asarray(getattr(v, t)).tolist()
        else:
            out[f.name] = v.tolist() if isinstance(v, np.ndarray) else repr(v)
    return out


def dump(path: str, n: int, semantics: str) -> None:
    from joint_walk import SLOW, SLOW_CONV1

    records: list[Any] = []
    module: Any = exact if semantics == "exact" else maestro
    score = module.evaluate_batch

    def recorded(layer: Any, hardware: Any, batch: Any) -> Report:
        report = score(layer, hardware, batch)
        records.append(fields(report))
        return report

    module.evaluate_batch = recorded
    for name in LAYERS:
        problem = Problem.create(
            find_layer(name),
            preset("edge_256"),
            ["edp"],
            semantics=semantics,
            options=SpaceOptions(kind="complete"),
        )
        slow = {LAYERS[0]: SLOW, LAYERS[3]: SLOW_CONV1}.get(name, [])
        genotypes = problem.genome.random(n // 5 if name in FEWER else n, np.random.default_rng(7))
        if slow:
            genotypes = np.concatenate([genotypes, np.array(slow)])
        for i in range(0, len(genotypes), 50):
            ev = problem.evaluate(genotypes[i : i + 50])
            records.append((name, ev.values.tolist(), [str(r) for r in ev.reasons]))
    with open(path, "wb") as f:
        pickle.dump(records, f)
    print(f"{len(records)} records")


def same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    return bool(a == b)


def compare(path_a: str, path_b: str) -> None:
    with open(path_a, "rb") as fa, open(path_b, "rb") as fb:
        a, b = pickle.load(fa), pickle.load(fb)
    rows = sum(len(r["macs"]) for r in a if isinstance(r, dict))
    bad = len(a) != len(b) or not all(same(x, y) for x, y in zip(a, b, strict=True))
    print(f"{len(a)} vs {len(b)} records, {rows} report rows: {'DIFFER' if bad else 'identical'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    d = sub.add_parser("dump")
    d.add_argument("path")
    d.add_argument("--n", type=int, default=2000, help="random genotypes per layer")
    d.add_argument("--semantics", choices=("exact", "maestro"), default="exact")
    c = sub.add_parser("compare")
    c.add_argument("a")
    c.add_argument("b")
    args = parser.parse_args()
    if args.command == "dump":
        dump(args.path, args.n, args.semantics)
    else:
        compare(args.a, args.b)


if __name__ == "__main__":
    main()
