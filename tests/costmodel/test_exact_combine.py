"""The compiled combination of groups' parts (``costmodel/_exact_combine.py``) equals the
product of the parts enumerated case by case in Python, on random part tables (empty parts,
parts with no runtime rows, several runtime rows, NoC bandwidth sweeps)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from mapsearch.costmodel import _exact_combine as kernel

N_COLS, N_JOINT = 16, 10


def random_table(rng: np.random.Generator, n_parts: int) -> dict[str, np.ndarray]:
    """A part table: part 0 empty (no rows, zero sums), part 1 with rows but no runtime
    rows, the others 1-3 runtime rows of small random counts."""
    jlens = rng.integers(1, 4, size=n_parts)
    jlens[:2] = 0
    nrows = rng.integers(1, 5, size=n_parts)
    nrows[0] = 0
    sums = rng.integers(0, 9, size=(n_parts, N_COLS))
    sums[0] = 0
    total = int(jlens.sum())
    return {
        "nrows": nrows,
        "sums": sums,
        "jstart": np.cumsum(jlens) - jlens,
        "jlens": jlens,
        "joint": rng.integers(0, 40, size=(total, N_JOINT)),
        "jcount": rng.integers(1, 4, size=total),
    }


def delay(words: int, latency: int, bw: int) -> int:
    """``docs/semantics.md`` rule 12."""
    return latency + -(-words // bw) - 1 if words > 0 else 0


def step(first: bool, ingress: int, egress: int, compute: int, lat: int, bw: int) -> int:
    """``docs/semantics.md`` rule 13 at bandwidth ``bw``."""
    din, dout = delay(ingress, lat, bw), delay(egress, lat, bw)
    return din + compute if first else max(din, compute, dout)


def reference(
    parts: np.ndarray, t: dict[str, np.ndarray], vw: int, lat: int, bw: int, bws: list[int]
) -> tuple[list[object], ...]:
    """Every case of every (mapping, class) enumerated and reduced in Python."""
    out: list[tuple[object, ...]] = []
    for per_map in parts.tolist():
        steps, totals = 0, np.zeros(N_COLS, dtype=np.int64)
        cycles, swept = 0, [0] * len(bws)
        dmin, dmax, dsum = [None] * 3, [0] * 3, [0] * 3
        peak = [0.0, 0.0]
        for c, mine in enumerate(per_map):
            steps += int(np.prod(t["nrows"][mine]))
            totals += np.prod(t["sums"][mine], axis=0)
            rows = [range(t["jstart"][p], t["jstart"][p] + t["jlens"][p]) for p in mine]
            for case in itertools.product(*rows):
                r = np.prod(t["joint"][list(case)], axis=0).tolist()
                n = int(np.prod(t["jcount"][list(case)]))
                ingress = r[1] - r[2] + r[3] - r[4] + r[5] - r[6] - r[9]
                egress = r[7] - r[8]
                compute = -(-r[0] // vw)

                cycles += step(c == 0, ingress, egress, compute, lat, bw) * n
                swept = [
                    s + step(c == 0, ingress, egress, compute, lat, b) * n
                    for s, b in zip(swept, bws, strict=True)
                ]
                for d, v in enumerate((delay(ingress, lat, bw), delay(egress, lat, bw), compute)):
                    dmin[d] = v if dmin[d] is None else min(dmin[d], v)
                    dmax[d] = max(dmax[d], v)
                    dsum[d] += v * n
                peak[c > 0] = max(peak[c > 0], max(ingress, egress) / max(compute, 1))
        no_min = int(np.iinfo(np.int64).max)
        out.append(
            (
                steps,
                totals.tolist(),
                cycles,
                [no_min if v is None else v for v in dmin],
                dmax,
                dsum,
                peak,
                swept,
            )
        )
    return tuple(list(col) for col in zip(*out, strict=True))


def with_ones(t: dict[str, np.ndarray]) -> tuple[dict[str, np.ndarray], int]:
    """The table with a last part of ones (what a group a mapping lacks plays), and its index."""
    one = t["nrows"].size
    out = {
        "nrows": np.append(t["nrows"], 1),
        "sums": np.vstack([t["sums"], np.ones((1, N_COLS), dtype=np.int64)]),
        "jlens": np.append(t["jlens"], 1),
        "joint": np.vstack([t["joint"], np.ones((1, N_JOINT), dtype=np.int64)]),
        "jcount": np.append(t["jcount"], 1),
    }
    out["jstart"] = np.cumsum(out["jlens"]) - out["jlens"]
    return out, one


@pytest.mark.parametrize("seed", range(6))
def test_compiled_combination_equals_the_enumerated_cases(seed: int) -> None:
    """Parts placed as ``start + local`` (groups a mapping lacks: the ``one`` part; classes
    past a mapping's loops, negative local parts: the empty part 0) and combined by the
    kernel equal the reference on the placed parts."""
    rng = np.random.default_rng(seed)
    table, one = with_ones(random_table(rng, n_parts=9))
    n_maps, n_classes, n_groups = 7, 4, int(rng.integers(1, 4))
    start = rng.integers(0, 4, size=(n_groups, n_maps))
    local = rng.integers(0, 6, size=(n_groups, n_maps + 3, n_classes))
    # classes past a mapping's loops: its last ones, negative for every group
    loops = rng.integers(0, n_classes, size=n_maps + 3)
    local[:, np.arange(n_classes) > loops[:, None]] = -1
    rows = rng.permutation(n_maps + 3)[:n_maps]
    start[:, 0], local[:, rows[0]] = 0, 2  # one mapping without empty parts
    start[0, 1:3] = one  # mappings that lack a group
    parts = np.where(local[:, rows] < 0, 0, start[:, :, None] + local[:, rows])
    parts = np.where(start[:, :, None] == one, one, parts).transpose(1, 2, 0)
    vw, lat, bw, bws = 3, 2, 5, [1, 5, 64]
    got = kernel.combine_parts(
        start,
        local,
        rows,
        one,
        table["nrows"],
        table["sums"],
        table["jstart"],
        table["jlens"],
        table["joint"],
        table["jcount"],
        vw,
        lat,
        bw,
        np.array(bws, dtype=np.int64),
    )
    want = reference(parts, table, vw, lat, bw, bws)
    for name, g, w in zip(
        ("steps", "totals", "cycles", "dmin", "dmax", "dsum", "peak", "swept"),
        got,
        want,
        strict=True,
    ):
        assert g.tolist() == w, name
    assert got[7][:, 1].tolist() == got[2].tolist()  # the sweep at the hardware's bandwidth
