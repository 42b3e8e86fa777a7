"""Speed of the mapping validator: ``python benchmarks/validation.py``.

``mapping_problems`` on every classic dataflow of every VGG16 and ResNet50 layer (one
mapping at a time, as ``evaluate`` and the DSE call it), then on layers with a dimension of
10^9 (unmapped, mapped with few slices, with many slices, with a gap, with overlapping
windows), where the exact-once check must not grow with the dimension.
"""

from __future__ import annotations

import math
import time

from mapsearch.directives import Cluster, Mapping, SpatialMap, TemporalMap
from mapsearch.directives.dataflows import DATAFLOWS, dataflow
from mapsearch.directives.validate import mapping_problems
from mapsearch.errors import UnsupportedError
from mapsearch.hardware import Hardware
from mapsearch.layers import Layer
from mapsearch.layers.zoo import model_layers

BIG = 10**9


def classic() -> None:
    cases = []
    for model in ("vgg16", "resnet50"):
        for layer in model_layers(model):
            for name in DATAFLOWS:
                try:
                    m = dataflow(name, layer)
                except UnsupportedError:
                    continue
                clusters = math.prod(int(c) for c in m.resolve(layer).cluster_sizes)
                cases.append((m, layer, Hardware(num_pes=max(256, clusters))))
    start = time.perf_counter()
    illegal = sum(bool(mapping_problems(m, layer, hw)) for m, layer, hw in cases)
    wall = time.perf_counter() - start
    print(
        f"classic dataflows on VGG16 + ResNet50: {len(cases)} mappings ({illegal} illegal) in "
        f"{wall:.2f} s = {wall / len(cases) * 1e3:.2f} ms per mapping"
    )


def huge() -> None:
    T, S = TemporalMap, SpatialMap
    gemm = Layer.gemm("g", M=BIG, N=64, K=64)
    conv = Layer.conv("c", K=4, C=4, R=3, S=3, Y=BIG, X=8)
    conv2 = Layer.conv("c2", K=4, C=4, R=3, S=3, Y=BIG, X=8, stride=2)
    cases = [
        ("GEMM M=1e9 unmapped", gemm, (S(1, 1, "N"), T(8, 8, "K"))),
        ("GEMM M=1e9 T(1,1) M", gemm, (T(1, 1, "M"), S(1, 1, "N"))),
        ("GEMM M=1e9 T(1,2) M (gap)", gemm, (T(1, 2, "M"), S(1, 1, "N"))),
        ("conv Y=1e9 T(3,1) Y", conv, (S(1, 1, "K"), T(3, 1, "Y"), T(3, 1, "X"))),
        ("conv Y=1e9 stride 2 T(3,1) Y", conv2, (S(1, 1, "K"), T(3, 1, "Y"), T(3, 1, "X"))),
        ("conv Y=1e9 T(5,1) Y (repeats)", conv, (S(1, 1, "K"), T(5, 1, "Y"), T(3, 1, "X"))),
        (
            "conv Y=1e9 T(1000,998) Y, then rows and filter rows",
            conv,
            (S(1, 1, "K"), T(1000, 998, "Y"), Cluster(2), S(1, 1, "C"), T(1, 1, "Y"), T(1, 1, "R")),
        ),
    ]
    hw = Hardware(num_pes=256)
    for name, layer, directives in cases:
        start = time.perf_counter()
        problems = mapping_problems(Mapping(directives=directives), layer, hw)
        wall = time.perf_counter() - start
        verdict = "legal" if not problems else "illegal"
        print(f"  {name:55s} {wall * 1e3:8.2f} ms  {verdict}")


if __name__ == "__main__":
    classic()
    print("dimensions of 10^9:")
    huge()
