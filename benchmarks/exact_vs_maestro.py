"""The exact and maestro semantics side by side, and how fast each one scores mappings.

Usage::

    python benchmarks/exact_vs_maestro.py                      # print the table and timings
    python benchmarks/exact_vs_maestro.py --write docs/exact_vs_maestro.md
    python benchmarks/exact_vs_maestro.py --timing-only --n-maestro 100000 --n-exact 100000

The table scores the classic dataflows on reference layers (VGG16, ResNet50, MobileNetV2)
on MAESTRO's ``hw_pe256_bw64_offchip1e6`` configuration with both semantics; the timing
scores random legal mappings of VGG16 CONV3_1 with a one-level (K spatial) and a two-level
(K spatial over clusters, C spatial within) template, and random points of the search
space (``mapsearch.spaces``), which spread over thousands of templates.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from mapsearch.costmodel import evaluate_batch
from mapsearch.costmodel.batch import MappingBatch, Template
from mapsearch.costmodel.report import Report
from mapsearch.directives import DirectiveKind
from mapsearch.directives.dataflows import DATAFLOWS, dataflow
from mapsearch.errors import MapsearchError
from mapsearch.hardware import Hardware
from mapsearch.hardware.presets import preset
from mapsearch.layers import Layer
from mapsearch.layers.zoo import find_layer
from mapsearch.spaces.mapping_space import MappingSpace

LAYERS = (
    "vgg16.CONV3_1",
    "vgg16.CONV5_1",
    "vgg16.FC6",
    "resnet50.CONV1",
    "mobilenetv2.BN2_1_DW",
)
HARDWARE = "hw_pe256_bw64_offchip1e6"

#: (column title, Report accessor)
METRICS = (
    ("MACs", lambda r: r.macs[0]),
    ("runtime", lambda r: r.runtime_cycles[0]),
    ("L2 rd in", lambda r: r.l2_reads.input[0]),
    ("L2 rd w", lambda r: r.l2_reads.filter[0]),
    ("L2 rd psum", lambda r: r.l2_reads.output[0]),
    ("L2 wr out", lambda r: r.l2_writes.output[0]),
    ("L1 req", lambda r: r.l1_size_words[0]),
    ("L2 req", lambda r: r.l2_size_words[0]),
    ("energy", lambda r: r.energy_total[0]),
)

CAUSES = """\
## Why the numbers differ

* **MACs**: MAESTRO counts outputs as `input tile - R + 1`, ignoring stride
  (`docs/maestro_model.md` Q8), so strided layers (ResNet50 CONV1, MobileNetV2
  BN2_1_DW) get wrong MAC counts; exact always computes the layer's MACs.
* **L2 rd in / L2 rd w**: MAESTRO moves nothing of a tensor when the changing loop does not
  index it, even if inner loops wrapped around (Q14), and charges whole tiles after a reset;
  exact fetches exactly what left each PE's tile, reuses halo rows across any change, and
  counts a multicast once per step.
* **L2 rd psum**: MAESTRO never reads partial sums back (its column is the output size, a
  constant, Q13); exact reads back every output that re-enters a PE after being written.
* **L2 wr out**: MAESTRO writes the output tile every step (Q13); exact writes an output when
  it leaves a PE (reduced across PEs) plus the final drain, so output-stationary mappings
  write each output once and weight-stationary ones once per reduction pass.
* **runtime**: besides the traffic above, MAESTRO re-analyses a child level for every parent
  step and pays its first fill each time (two-level dataflows such as KC-P, CK-P, YK-P,
  MAERI look slower), while exact runs one flattened loop nest with double buffering; exact
  also pays the egress of partial sums and a final drain.
* **L1 req / L2 req**: MAESTRO doubles the first step's tiles (its output tile in input
  coordinates, Q11) and stages twice the first delivery in L2 (Q12); exact doubles the
  largest tile of each tensor, and reports the layer's footprint for L2.
* **energy** follows the access counts: the default table weights L2 accesses 18.61x a MAC.
* **YR-P_rs_vgg** (MICRO'19 Eyeriss, `SpatialMap X; SpatialMap R` in one level): each PE
  pairs one input column with a whole filter row, so under exact it computes no MAC and the
  mapping is infeasible; MAESTRO's result on that dataflow is flagged as well. Exact walks
  the two dimension groups of such a level together (`docs/semantics.md` section 3).
"""


def _score(layer: Layer, hw: Hardware, name: str, semantics: str) -> Report | str:
    try:
        mapping = dataflow(name, layer)
        batch = MappingBatch.from_mappings([mapping], layer)
        rep = evaluate_batch(layer, hw, batch, semantics=semantics)
    except MapsearchError as e:
        return f"refused: {type(e).__name__}"
    return rep


def _fmt(x: float) -> str:
    return f"{x:,.0f}" if abs(x) < 1e15 else f"{x:.3g}"


def side_by_side() -> str:
    """Markdown: one table per layer, maestro / exact per metric."""
    hw = preset(HARDWARE)
    out = [
        "# exact vs maestro on the reference layers and dataflows",
        "",
        f"Hardware `{HARDWARE}` ({hw.describe()}). Each cell is `maestro / exact`; "
        "`*` marks a result the semantics flags infeasible (reason below the table). "
        "Regenerate with `python benchmarks/exact_vs_maestro.py --write docs/exact_vs_maestro.md`.",
        "",
    ]
    for qualified in LAYERS:
        layer = find_layer(qualified)
        out += [f"## {layer.qualified_name} ({layer.describe()})", ""]
        out.append("| dataflow | " + " | ".join(t for t, _ in METRICS) + " |")
        out.append("|---" * (len(METRICS) + 1) + "|")
        notes: list[str] = []
        for name in DATAFLOWS:
            cells = []
            reps = {s: _score(layer, hw, name, s) for s in ("maestro", "exact")}
            for s, rep in reps.items():
                if isinstance(rep, Report) and not rep.feasible[0]:
                    notes.append(f"* {name} ({s}): {rep.reason[0]}")
            for _, get in METRICS:
                pair = []
                for _s, rep in reps.items():
                    if isinstance(rep, str):
                        pair.append(rep)
                    else:
                        pair.append(_fmt(float(get(rep))) + ("" if rep.feasible[0] else "*"))
                cells.append(" / ".join(pair))
            out.append(f"| {name} | " + " | ".join(cells) + " |")
        out += ["", *notes, ""]
    out.append(CAUSES)
    return "\n".join(out)


def random_batch(layer: Layer, levels: int, n: int, rng: np.random.Generator) -> MappingBatch:
    """``n`` random legal mappings of a one-level (K spatial) or two-level (+ C spatial) template."""
    s = layer.sizes
    oy, ox = layer.out_y, layer.out_x
    T, S, C = DirectiveKind.TEMPORAL, DirectiveKind.SPATIAL, DirectiveKind.CLUSTER

    def tile(hi: np.ndarray | int) -> np.ndarray:
        return rng.integers(1, np.asarray(hi) + 1, size=n)

    k, c = tile(s["K"]), tile(s["C"])
    ky, kx = tile(oy), tile(ox)
    cols = [
        (S, "K", k, k),
        (T, "C", c, c),
        (T, "Y", (ky - 1) * layer.stride_y + s["R"], ky * layer.stride_y),
        (T, "X", (kx - 1) * layer.stride_x + s["S"], kx * layer.stride_x),
        (T, "R", np.full(n, s["R"]), np.full(n, s["R"])),
        (T, "S", np.full(n, s["S"]), np.full(n, s["S"])),
    ]
    if levels == 2:
        c2, ky2, kx2 = tile(c), tile(ky), tile(kx)
        cols += [
            (C, "", rng.choice([4, 8, 16, 32, 64], size=n), np.zeros(n, dtype=np.int64)),
            (S, "C", c2, c2),
            (T, "Y", (ky2 - 1) * layer.stride_y + s["R"], ky2 * layer.stride_y),
            (T, "X", (kx2 - 1) * layer.stride_x + s["S"], kx2 * layer.stride_x),
            (T, "R", np.full(n, s["R"]), np.full(n, s["R"])),
            (T, "S", np.full(n, s["S"]), np.full(n, s["S"])),
        ]
    template = Template(kinds=tuple(c[0] for c in cols), dims=tuple(c[1] for c in cols))
    sizes = np.stack([np.asarray(c[2], dtype=np.int64) for c in cols], axis=1)
    offsets = np.stack([np.asarray(c[3], dtype=np.int64) for c in cols], axis=1)
    return MappingBatch(template=template, sizes=sizes, offsets=offsets)


def timing(n_maestro: int, n_exact: int, seed: int = 0) -> list[str]:
    """Evaluations per second of each semantics on random CONV3_1 mappings."""
    layer = find_layer("vgg16.CONV3_1")
    hw = preset(HARDWARE)
    rng = np.random.default_rng(seed)
    lines = []
    for levels in (1, 2):
        for semantics, n in (("maestro", n_maestro), ("exact", n_exact)):
            batch = random_batch(layer, levels, n, rng)
            t0 = time.perf_counter()
            evaluate_batch(layer, hw, batch, semantics=semantics)
            dt = time.perf_counter() - t0
            lines.append(
                f"{semantics:8s} {levels}-level: {n:>7d} mappings in {dt:8.2f} s = "
                f"{n / dt:>10,.0f} evaluations/s"
            )
    return lines


def space_timing(n: int, seed: int = 0) -> list[str]:
    """Evaluations per second on ``n`` random genotypes of the search space for CONV3_1
    (many templates, a few mappings each: the searchers' workload)."""
    layer = find_layer("vgg16.CONV3_1")
    hw = preset(HARDWARE)
    space = MappingSpace.build(layer, hw.num_pes)
    rng = np.random.default_rng(seed)
    genotypes = np.stack([rng.integers(0, len(g.choices), n) for g in space.genes], axis=1)
    decoded = space.decode(genotypes, hw.num_pes)
    lines = []
    for semantics in ("maestro", "exact"):
        t0 = time.perf_counter()
        for _, batch in decoded.groups:
            evaluate_batch(layer, hw, batch, semantics=semantics)
        dt = time.perf_counter() - t0
        lines.append(
            f"{semantics:8s} space:   {n:>7d} mappings ({len(decoded.groups)} templates) in "
            f"{dt:6.2f} s = {n / dt:>10,.0f} evaluations/s"
        )
    return lines


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--write", type=Path, help="write the side-by-side markdown here")
    ap.add_argument("--timing-only", action="store_true")
    ap.add_argument("--n-maestro", type=int, default=100_000)
    ap.add_argument("--n-exact", type=int, default=100_000)
    ap.add_argument("--n-space", type=int, default=10_000)
    args = ap.parse_args()
    lines = timing(args.n_maestro, args.n_exact) + space_timing(args.n_space)
    for line in lines:
        print(line)
    if not args.timing_only:
        text = side_by_side()
        text += (
            "\n## Throughput\n\nRandom legal mappings of VGG16 CONV3_1: one batch of one "
            "template per `N-level` row, random search-space points (grouped by template, as "
            "the searchers do) in the `space` rows "
            "(`python benchmarks/exact_vs_maestro.py --timing-only`; exact memoises each "
            "dimension group's factors, so larger batches amortise more):\n\n```\n"
            + "\n".join(lines)
            + "\n```\n"
        )
        if args.write:
            args.write.write_text(text)
            print(f"wrote {args.write}")
        else:
            print(text)


if __name__ == "__main__":
    main()
