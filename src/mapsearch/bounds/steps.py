"""The least exact cycles of the later steps of a set of mappings (the runtime of a
plateau's nodes and leaves).

:func:`mapsearch.bounds.combine.count_bounds` bounds a step class's cycles by the largest of
its *summed* compute, ingress and egress delays; the model (``docs/semantics.md`` rules
12-13) sums each *step's* largest delay, each rounded up on its own. When the steps'
delays vary (a step computes for 2-3 cycles and fetches for 1-5), the sum of the maxima is
well above the largest sum, and a node of such leaves stays under the best point.

Here the later steps are timed as the model times them. With every group's configuration
and a level's order fixed, each step class of that level has its steps: the cases of the
groups' distinct runtime rows in the parts they play there (the model's group cores, read
once per configuration), each timed by rule 13 and counted as often as it occurs
(:func:`mapsearch.bounds._kernel.later_minima`, the model's own delay and step rules). A
point's later steps are the disjoint union of its classes' steps, and the parts in a
level's classes depend on that level's order alone, so for one combination of
configurations the least over the set's points is the sum over levels of the least over
each level's allowed orders; the set's bound is the least over its combinations (exact
when they are all enumerated). Configurations of a group with the same runtime rows in
every part a later class may give it time every class alike, so the enumeration takes one
of them. A set with more than :data:`CASES` class timings keeps the summed bound. The
branch and bound times the same combinations again and again (a node's set, then its
children's, under the same orders), so each table keeps two small caches between calls: a
class's cycles by its groups' runtime rows, and a level's least by the runtime rows its
configurations give its classes and by its allowed orders (they change the time, never the
result). A part where the model may walk the group with others (``coupled``) is not a
product of the groups' rows: its class counts 0 there.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from mapsearch.bounds._kernel import later_minima
from mapsearch.bounds.counts import CountBounds
from mapsearch.bounds.table import StructureTable
from mapsearch.costmodel._exact_groups import PartTable, core_piece, part_table
from mapsearch.costmodel.exact_factors import core_factors, group_cores
from mapsearch.hardware import Hardware

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

#: Objectives whose bound is the runtime bound's alone (EDP's is not timed this way: on
#: compact EDP rows the enumeration cost 4-5x the search's time, docs/certified_log.md).
TIMED = ("latency", "throughput")
#: Objectives whose bound grows with the runtime bound, timed at single points only (one
#: combination, one order per level): on ResNet50 CONV4_1_1 (EDP, 168 PEs) hundreds of
#: thousands of leaves tie with the optimum, their summed runtime bound 0.01% under it.
POINT_TIMED = (*TIMED, "edp")

#: Most class timings per set (combinations of configurations that time the later steps
#: differently, times the levels' orders and classes); a larger set keeps the summed bound.
CASES = 50_000

#: Slots of each of a table's two caches of class and level cycles (a power of 2; 1.25 MB
#: per table): on a 60 s ResNet50 CONV4_1_PROJ run (256 PEs), 2**14 / 2**15 / 2**16 slots
#: took the step kernel from 34.4 s to 10.0 / 9.3 / 9.0 s (docs/certified_log.md).
SLOTS = 2**15


@dataclass(frozen=True, slots=True, kw_only=True)
class _Rows:
    """A table's groups' runtime rows: configuration ``a`` of group ``g`` plays its part
    ``p`` as part ``start[g, a] + p`` of ``parts``, coupled to other groups where
    ``coupled[g, a, p]``; configuration ``same[g, a]`` of the group times every later step
    class as ``a`` does (the same runtime rows and coupling in every part a later class may
    give the group). With the table's order choices end to end (level ``l``'s from
    ``level_start[l]``), under order ``o`` step class ``c`` has the groups play the parts
    ``vec_parts[vec_of[o, c]]`` (the distinct part vectors); level ``l``'s later step classes
    are ``level_classes[class_first[l] : class_first[l + 1]]``. ``canon[q]`` numbers part
    ``q``'s distinct runtime rows within its group; ``level_same[l, g, a]`` is ``same`` for
    the parts the group plays in level ``l``'s later classes alone. A class's groups'
    numbers, weighted by ``canon_radix``, and a combination's ``level_same``
    configurations, weighted by ``config_radix``, are the keys of the kernel's caches (each
    radix empty when its keys could pass ``2**62``: that cache is off)."""

    parts: PartTable
    start: IntArray
    coupled: BoolArray
    same: IntArray
    level_same: IntArray
    canon: IntArray
    canon_radix: IntArray
    config_radix: IntArray
    level_start: IntArray
    vec_of: IntArray
    vec_parts: IntArray
    level_classes: IntArray
    class_first: IntArray


@dataclass(frozen=True, slots=True)
class _Caches:
    """One hardware's caches of :func:`_kernel.later_minima` (its docstring), the numbers
    of the level and order choices the sets allowed (``order_sets``) and per number its
    orders as rows of ``vec_of`` (``order_rows``: made once, not once per set and call)."""

    class_keys: IntArray
    class_values: FloatArray
    level_keys: IntArray
    level_values: FloatArray
    order_sets: dict[tuple[int, tuple[int, ...]], int]
    order_rows: list[IntArray]


class StepRows:
    """The distinct runtime rows of every configuration and part of one structure table's
    groups, read from the model's group cores on first use and kept (one decode per group),
    and the step kernel's caches of ``slots`` slots each (0: none)."""

    def __init__(self, table: StructureTable, slots: int = SLOTS) -> None:
        self.table = table
        self.slots = slots
        self._rows: _Rows | None = None
        self._caches: dict[tuple[int, int, int], _Caches] = {}

    def _load(self) -> _Rows:
        """Every group's configurations' cores, as one part table."""
        if self._rows is not None:
            return self._rows
        table = self.table
        G, P = len(table.groups), table.masks[0].shape[3]
        n_configs = max(len(grp.first) for grp in table.groups)
        start = np.zeros((G, n_configs), dtype=np.int64)
        coupled = np.ones((G, n_configs, P), dtype=bool)
        pieces: list[IntArray] = []
        n_parts = 0
        for g, grp in enumerate(table.groups):
            combos = [0] * G
            genotypes = []
            for first in grp.first.tolist():
                combos[g] = first
                genotypes.append(table.genotype((0,) * table.n_levels, tuple(combos)))
            decoded = table.space.decode(np.stack(genotypes), table.num_pes)
            assert decoded.batch is not None and len(decoded.rows) == len(genotypes)  # tabulated
            batch = decoded.batch.take(np.argsort(decoded.rows))
            cores = group_cores(table.layer, batch, table.num_pes, grp.name)
            k = len(grp.parts)
            start[g, : len(cores)] = n_parts + k * np.arange(len(cores))
            coupled[g, : len(cores), :k] = [core_factors(core).coupled for core in cores]
            n_parts += k * len(cores)
            pieces += [core_piece(core) for core in cores]
        sizes = [len(m) for m in table.masks]
        masks = np.concatenate(table.masks)
        # the part each group plays (the first the mask allows; the last if none)
        part_at = np.where(masks.any(axis=3), np.argmax(masks, axis=3), P - 1)
        vec_parts, vec_of = np.unique(part_at.reshape(-1, G), axis=0, return_inverse=True)
        class_level = np.argmax(np.stack([m.any(axis=(0, 2, 3)) for m in table.masks]), axis=0)
        later = np.arange(1, len(class_level))
        level_classes = [later[class_level[1:] == lv] for lv in range(len(table.masks))]
        parts = part_table(pieces)[0]
        vec_parts = vec_parts.astype(np.int64)
        vec_of = vec_of.reshape(part_at.shape[:2]).astype(np.int64)
        level_start = np.cumsum([0, *sizes[:-1]]).astype(np.int64)
        level_vecs = [
            np.unique(vec_of[level_start[lv] : level_start[lv] + sizes[lv]][:, classes])
            for lv, classes in enumerate(level_classes)
        ]
        canon, n_canon = _canonical_parts(parts, start[:, 0])
        self._rows = _Rows(
            parts=parts,
            start=start,
            coupled=coupled,
            same=_same_configs(canon, start, coupled, vec_parts[np.unique(vec_of[:, 1:])], table),
            level_same=np.stack(
                [_same_configs(canon, start, coupled, vec_parts[v], table) for v in level_vecs]
            ),
            canon=canon,
            canon_radix=_radix(n_canon),
            config_radix=_radix([n_configs] * G),
            level_start=level_start,
            vec_of=vec_of,
            vec_parts=vec_parts,
            level_classes=np.concatenate(level_classes).astype(np.int64),
            class_first=np.cumsum([0, *map(len, level_classes)]).astype(np.int64),
        )
        return self._rows

    def timing_keys(self) -> tuple[list[bytes], ...]:
        """Per group, per configuration: bytes equal exactly when two configurations (of
        this table or another with the same masks) time every step alike, the runtime rows
        and counts of each part it plays and whether the part is coupled."""
        r = self._load()
        t = r.parts
        out = []
        for g, grp in enumerate(self.table.groups):
            k = len(grp.parts)
            keys = []
            for a in range(len(grp.first)):
                key = [r.coupled[g, a, :k].tobytes()]
                for q in range(int(r.start[g, a]), int(r.start[g, a]) + k):
                    rows = slice(t.jstart[q], t.jstart[q] + t.jlens[q])
                    key += [t.joint[rows].tobytes(), t.jcount[rows].tobytes(), b"|"]
                keys.append(b"".join(key))
            out.append(keys)
        return tuple(out)

    def later_cycles(
        self,
        orders: Sequence[Sequence[Sequence[int]]],
        configs: Sequence[Sequence[IntArray]],
        hardware: Hardware,
        rows: BoolArray,
        enough: FloatArray | None = None,
    ) -> FloatArray:
        """Per set ``b`` among ``rows`` (0 for the others), the least cycles of the later
        steps of its points (``orders[b][l]``: the order choices it allows level ``l``,
        ``configs[b][g]``: the configurations it allows group ``g``): for each combination
        of configurations, each level's classes are timed exactly under each of its orders
        (:func:`_kernel.later_minima`); 0 for a set past :data:`CASES` class timings.
        ``enough[b]``: cycles past which the least need not be known (the set gets
        ``enough[b]`` when no point is under it; :func:`mapsearch.bounds.counts.later_enough`).
        """
        out = np.zeros(len(configs))
        sets = np.flatnonzero(rows)
        if not sets.size:
            return out
        r = self._load()
        B = len(configs)
        count = np.asarray([[a.size for a in configs[b]] for b in range(B)], dtype=np.int64)
        first = (np.cumsum(count) - count.ravel()).reshape(count.shape)
        every = np.concatenate([a for b in range(B) for a in configs[b]]).astype(np.int64)
        t = r.parts
        caches = self._cache(hardware)
        ids, rows_of = caches.order_sets, caches.order_rows
        keys = [(lv, tuple(o)) for b in range(B) for lv, o in enumerate(orders[b])]
        for key in keys:
            if key not in ids:
                ids[key] = len(ids)
                rows_of.append(r.level_start[key[0]] + np.asarray(key[1], dtype=np.int64))
        numbers = [ids[key] for key in keys]
        order_set = np.asarray(numbers, dtype=np.int64).reshape(B, r.level_start.size)
        picked = [rows_of[i] for i in numbers]
        n_orders = np.asarray([o.size for o in picked], dtype=np.int64).reshape(order_set.shape)
        order_first = (np.cumsum(n_orders) - n_orders.ravel()).reshape(n_orders.shape)
        chosen = np.concatenate(picked)
        out[sets] = later_minima(
            r.vec_of,
            r.vec_parts,
            r.level_classes,
            r.class_first,
            sets,
            chosen,
            order_first,
            n_orders,
            every,
            first,
            count,
            r.start,
            r.coupled,
            r.same,
            t.jstart,
            t.jlens,
            t.joint,
            t.jcount,
            hardware.vector_width,
            hardware.noc_latency_cycles,
            hardware.noc_bw_words_per_cycle,
            CASES,
            np.full(B, np.inf) if enough is None else np.asarray(enough, dtype=np.float64),
            r.canon,
            r.canon_radix,
            r.config_radix,
            r.level_same,
            order_set,
            caches.class_keys,
            caches.class_values,
            caches.level_keys,
            caches.level_values,
        )
        return out

    def _cache(self, hardware: Hardware) -> _Caches:
        """The kernel's caches for ``hardware`` (its class cycles depend on it), made on
        first use; a cache whose keys could overflow (an empty radix) gets no slots."""
        hw = (hardware.vector_width, hardware.noc_latency_cycles, hardware.noc_bw_words_per_cycle)
        if hw not in self._caches:
            r = self._load()
            n_class = self.slots if r.canon_radix.size else 0
            n_level = self.slots if r.config_radix.size else 0
            self._caches[hw] = _Caches(
                class_keys=np.full(n_class, -1, dtype=np.int64),
                class_values=np.zeros(n_class),
                level_keys=np.full((n_level, 2), -1, dtype=np.int64),
                level_values=np.zeros(n_level),
                order_sets={},
                order_rows=[],
            )
        return self._caches[hw]

    def tighten(
        self,
        counts: CountBounds,
        orders: Sequence[Sequence[Sequence[int]]],
        configs: Sequence[Sequence[IntArray]],
        hardware: Hardware,
        rows: BoolArray | None = None,
        enough: FloatArray | None = None,
    ) -> CountBounds:
        """``counts`` with the later steps' cycles at least :meth:`later_cycles` (all sets
        unless ``rows`` says which; ``enough`` as there)."""
        if rows is None:
            rows = np.ones(len(configs), dtype=bool)
        later = self.later_cycles(orders, configs, hardware, rows, enough)
        return dataclasses.replace(
            counts, later_step_cycles=np.maximum(counts.later_step_cycles, later)
        )


def _same_configs(
    canon: IntArray,
    start: IntArray,
    coupled: BoolArray,
    later_parts: IntArray,
    table: StructureTable,
) -> IntArray:
    """Per group ``g`` and configuration ``a``, the first configuration of the group with
    the same runtime rows (and counts; ``canon``: :func:`_canonical_parts`) and coupling in
    every part ``later_parts[:, g]`` (the parts the group plays in some later step class
    under some order): the two time every later class alike, so a set's enumeration needs
    one of them (a configuration that differs only in its first step or in parts no class
    gives it is timed once). One ``np.unique`` of the configurations' numbers per group:
    comparing each part's rows took some 4% of a latency proof's step bounds."""
    same = np.zeros(start.shape, dtype=np.int64)
    for g, grp in enumerate(table.groups):
        n = len(grp.first)
        used = np.unique(later_parts[:, g])
        own = used[used < len(grp.parts)]
        keys = np.concatenate([coupled[g, :n][:, used], canon[start[g, :n, None] + own]], axis=1)
        _, firsts, inverse = np.unique(keys, axis=0, return_index=True, return_inverse=True)
        same[g, :n] = firsts[inverse.ravel()]
    return same


def _canonical_parts(parts: PartTable, group_first: IntArray) -> tuple[IntArray, list[int]]:
    """Per part of ``parts`` (group ``g``'s from ``group_first[g]`` on), a number of its
    runtime rows and counts, the same for two parts of a group with the same rows (which
    time every class alike), and per group how many numbers it has."""
    canon = np.zeros(len(parts.jstart), dtype=np.int64)
    ends = [*group_first.tolist()[1:], len(parts.jstart)]
    counts = []
    for lo, hi in zip(group_first.tolist(), ends, strict=True):
        seen: dict[tuple[bytes, bytes], int] = {}
        for q in range(lo, hi):
            rows = slice(parts.jstart[q], parts.jstart[q] + parts.jlens[q])
            key = (parts.joint[rows].tobytes(), parts.jcount[rows].tobytes())
            canon[q] = seen.setdefault(key, len(seen))
        counts.append(len(seen))
    return canon, counts


def _radix(sizes: Sequence[int]) -> IntArray:
    """The weights of a mixed-radix number with digits below ``sizes`` (each key a distinct
    number), or an empty array when the largest could pass ``2**62``."""
    weights = np.cumprod([1, *sizes[:-1]], dtype=object)
    if int(weights[-1]) * sizes[-1] >= 2**62:
        return np.zeros(0, dtype=np.int64)
    return weights.astype(np.int64)
