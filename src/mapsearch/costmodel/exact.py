"""The ``exact`` semantics: data movement counted exactly under the step model.

Definition: ``docs/semantics.md``, as implemented by the simulator
(:mod:`mapsearch.costmodel.simulate`). This module
computes the same numbers analytically (see :mod:`mapsearch.costmodel._exact_groups` for
the factorisation) and fills a :class:`Report`:

* counts in words: L1 reads = MACs for every tensor (one operand read and one accumulator
  read per MAC), L1 writes = elements fetched per PE (input, filter) and MACs (output);
  L2 reads = distinct elements multicast per step, plus partial-sum read-backs (output);
  L2 writes = elements filled from DRAM (input, filter), written-back partial sums (output);
* runtime = first step (ingress + compute) + every later step
  ``max(ingress, compute, egress)`` + final drain, floored by off-chip traffic / bandwidth;
* L1 requirement = 2 x (the largest tile of each tensor, summed; double-buffered), L2
  requirement = the tensors' used footprint (everything stays resident in L2);
* energy = accesses x the hardware's energy table, MACs x MAC energy.

Every mapping is scored (groups that cannot be counted alone are walked together, see
:mod:`mapsearch.costmodel._exact_joint`); MappingErrors from unfolding (e.g. more clusters
than PEs) and wrong MAC counts mark the mapping infeasible.
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from mapsearch.costmodel import area_power
from mapsearch.costmodel._exact_groups import (
    ONE_PIECE,
    CoreKey,
    CoreRows,
    GroupSpec,
    GroupSummary,
    Piece,
    Placed,
    Totals,
    _Core,
    _core_of,
    _CoreQuery,
    _parts,
    _placed,
    combine,
    core_piece,
    group_model,
    group_scalars,
    part_table,
    summaries_placed,
    template_groups,
    template_loop_groups,
)
from mapsearch.costmodel._exact_rows import FIELDS, BatchRows, read_rows
from mapsearch.costmodel.batch import DIM_NAMES, KIND_CODES, KINDS, MappingBatch, Template
from mapsearch.costmodel.report import Report, TensorCounts
from mapsearch.directives import DirectiveKind
from mapsearch.directives.nest import (
    StepModel,
    child_extent,
    in_input_space,
    slice_count,
    template_problems,
)
from mapsearch.hardware import Hardware
from mapsearch.layers import Layer

IntArray = npt.NDArray[np.int64]


def evaluate_batch(layer: Layer, hardware: Hardware, batch: MappingBatch) -> Report:
    """Score every mapping of ``batch`` with the exact semantics (one Report, arrays of (B,)).

    Rows may have different templates. Each dimension group's factors depend only on that
    group's directives and unit counts (its core), and its place among the loops only picks
    which of the core's parts it plays in each step class, so the templates are read as
    arrays (:mod:`mapsearch.costmodel._exact_rows`), every distinct core of the batch is
    computed once (and memoised across batches and templates), and the groups are combined
    for all mappings at once with numpy by gathering parts from one table. Mappings whose
    groups are coupled, or whose templates join groups, are combined per template, with the
    coupled groups walked together.
    """
    return _report(layer, hardware, len(batch), *_count(layer, hardware, batch, None))


def runtime_sweep(
    layer: Layer, hardware: Hardware, batch: MappingBatch, noc_bws_words_per_cycle: Sequence[int]
) -> IntArray:
    """Runtime (cycles) of every mapping at each NoC bandwidth, shape ``(n_bw, B)``: equal to
    ``evaluate_batch(...).runtime_cycles`` on ``hardware`` with that bandwidth.

    No count depends on the NoC bandwidth, so the batch is counted once and only its step
    cases are re-timed, for all bandwidths at once (:mod:`mapsearch.costmodel._exact_timing`).
    """
    bws = np.asarray(noc_bws_words_per_cycle, dtype=np.int64).reshape(-1)
    out = np.zeros((bws.size, len(batch)), dtype=np.int64)
    if bws.size:
        idx, totals, _ = _count(layer, hardware, batch, bws)
        if totals is not None:
            out[:, idx] = totals.runtime_sweep_cycles.T
    return out


def evaluate_sweep(
    layer: Layer, hardware: Hardware, batch: MappingBatch, noc_bws_words_per_cycle: Sequence[int]
) -> tuple[Report, IntArray]:
    """``evaluate_batch`` on ``hardware`` and ``runtime_sweep`` at every NoC bandwidth of
    ``noc_bws_words_per_cycle``, from one count of the batch."""
    bws = np.asarray(noc_bws_words_per_cycle, dtype=np.int64).reshape(-1)
    idx, totals, reasons = _count(layer, hardware, batch, bws)
    swept = np.zeros((bws.size, len(batch)), dtype=np.int64)
    if totals is not None:
        swept[:, idx] = totals.runtime_sweep_cycles.T
    return _report(layer, hardware, len(batch), idx, totals, reasons), swept


def _count(
    layer: Layer, hardware: Hardware, batch: MappingBatch, noc_bws: IntArray | None
) -> tuple[IntArray, Totals | None, list[str]]:
    """The valid rows of ``batch``, their combined totals (also timed at ``noc_bws``) and
    every row's infeasibility reason ("" when feasible)."""
    B = len(batch)
    kinds, sizes, offsets = batch.kinds, batch.sizes, batch.offsets
    cluster = kinds == KIND_CODES[DirectiveKind.CLUSTER]
    mapped = (kinds == KIND_CODES[DirectiveKind.TEMPORAL]) | (
        kinds == KIND_CODES[DirectiveKind.SPATIAL]
    )
    top = hardware.num_pes // np.maximum(np.prod(np.where(cluster, sizes, 1), axis=1), 1)
    valid = (top >= 1) & ~(cluster & (sizes < 1)).any(axis=1)
    valid &= ~(mapped & ((sizes < 1) | (offsets < 1))).any(axis=1)
    reasons = [""] * B
    for i in np.flatnonzero(~valid).tolist():
        reasons[i] = (
            f"Cluster sizes {sizes[i][cluster[i]].tolist()} need more than {hardware.num_pes} PEs"
            if top[i] < 1
            else "sizes, offsets and cluster sizes must be >= 1"
        )
    read = read_rows(layer, batch, top)
    parts: list[tuple[IntArray, Totals]] = []
    # rows read as arrays are combined at once; the rest (templates that join groups or
    # cannot be unfolded, and mappings whose groups may couple) template by template
    later = np.flatnonzero(valid & ~read.readable)
    fast = np.flatnonzero(valid & read.readable)
    if fast.size:
        later = np.union1d(later, _score_read(layer, hardware, read, fast, parts, noc_bws))
    if later.size:
        plans, which = _plans(layer, batch.take(later))
        for k, plan in enumerate(plans):
            mine = later[which == k]
            if plan.problems:  # the template itself cannot be unfolded
                valid[mine] = False
                for i in mine.tolist():
                    reasons[i] = plan.problems
            else:
                units = read.units[mine, : 1 + len(plan.clusters)]
                _score(layer, hardware, plan.template, batch, mine, units, (), parts, noc_bws)
    idx = np.flatnonzero(valid)
    if idx.size == 0:
        return idx, None, reasons
    totals = _gather([(np.searchsorted(idx, rows), tot) for rows, tot in parts], idx.size)
    if (totals.steps != totals.exec_steps).any():
        n = int(np.flatnonzero(totals.steps != totals.exec_steps)[0])
        raise RuntimeError(
            f"exact model: step classes cover {totals.steps[n]} of {totals.exec_steps[n]} "
            f"executed steps of [{batch.mapping(int(idx[n]))}] (a bug: please report it)"
        )
    wrong_macs = totals.macs != layer.macs
    l1_over = totals.l1_size_words > hardware.l1_size_words
    # most random mappings overflow L1: their reasons are one f-string each
    over = f" L1 words per PE, hardware has {hardware.l1_size_words}"
    l1_only = np.flatnonzero(l1_over & ~wrong_macs)
    for at, l1 in zip(idx[l1_only].tolist(), totals.l1_size_words[l1_only].tolist(), strict=True):
        reasons[at] = f"needs {l1}{over}"
    bad = np.flatnonzero(wrong_macs)
    for at, macs, too_big, l1 in zip(
        idx[bad].tolist(),
        totals.macs[bad].tolist(),
        l1_over[bad].tolist(),
        totals.l1_size_words[bad].tolist(),
        strict=True,
    ):
        why = f"computes {macs} MACs, the layer has {layer.macs}"
        reasons[at] = f"{why}; needs {l1}{over}" if too_big else why
    return idx, totals, reasons


@dataclass(frozen=True, slots=True)
class _GroupShape:
    """What a group's summary depends on besides its numbers: the group (``columns``
    dropped: they are template positions), each of its directives' level, kind and
    dimension, the template's number of levels, and the group's place among the template's
    loops (``loop_groups``: its name at its own loops, ``""`` at the others')."""

    spec: GroupSpec
    directives: tuple[tuple[int, DirectiveKind, str], ...]
    n_levels: int
    loop_groups: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class _Plan:
    """A template's groups (``merged`` base groups walked together) and their shapes, its
    Cluster positions; ``problems``: why the template cannot be unfolded (empty if it can)."""

    template: Template
    problems: str
    specs: tuple[GroupSpec, ...]
    loop_groups: tuple[str, ...]
    shapes: tuple[_GroupShape, ...]
    clusters: tuple[int, ...]

    @property
    def n_classes(self) -> int:
        return 1 + len(self.loop_groups)


@functools.lru_cache(maxsize=20_000)
def _plan(layer: Layer, t: Template, merged: tuple[frozenset[str], ...] = ()) -> _Plan:
    """The groups of template ``t`` on ``layer`` (memoised: searches revisit templates)."""
    clusters = tuple(j for j, k in enumerate(t.kinds) if k is DirectiveKind.CLUSTER)
    problems = template_problems(layer, t.kinds, t.dims)
    if problems:
        return _Plan(t, "; ".join(problems), (), (), (), clusters)
    specs = template_groups(layer, t.kinds, t.dims, merged)
    loop_groups = template_loop_groups(layer, t.kinds, t.dims, specs)
    level_of = list(itertools.accumulate(k is DirectiveKind.CLUSTER for k in t.kinds))
    shapes = tuple(
        _GroupShape(
            GroupSpec(spec.name, (), spec.levels, spec.members),
            tuple((level_of[j], t.kinds[j], t.dims[j]) for j in spec.columns),
            1 + len(clusters),
            tuple(n if n == spec.name else "" for n in loop_groups),
        )
        for spec in specs
    )
    return _Plan(t, "", tuple(specs), loop_groups, shapes, clusters)


@functools.lru_cache(maxsize=20_000)
def _plan_of_codes(layer: Layer, codes: bytes) -> _Plan:
    """:func:`_plan` of the template that a batch row's kind and dimension codes spell."""
    row = np.frombuffer(codes, dtype=np.int8).reshape(2, 1, -1)
    zeros = np.zeros((1, row.shape[2]), dtype=np.int64)
    return _plan(layer, MappingBatch(row[0], row[1], zeros, zeros).template_of(0))


def _plans(layer: Layer, batch: MappingBatch) -> tuple[list[_Plan], IntArray]:
    """The plan of every distinct template of ``batch`` and each row's index among them."""
    codes = np.ascontiguousarray(np.stack([batch.kinds, batch.dims], axis=1))
    if (codes == codes[:1]).all():
        return [_plan_of_codes(layer, codes[0].tobytes())], np.zeros(len(batch), dtype=np.int64)
    _, first, inv = np.unique(
        codes.reshape(len(batch), -1), axis=0, return_index=True, return_inverse=True
    )
    return [_plan_of_codes(layer, codes[f].tobytes()) for f in first.tolist()], inv.ravel()


def _score_read(
    layer: Layer,
    hardware: Hardware,
    read: BatchRows,
    rows: IntArray,
    parts: list[tuple[IntArray, Totals]],
    noc_bws: IntArray | None,
) -> IntArray:
    """Combine the groups of mappings ``rows`` (any templates, read as arrays: ``read``)
    into ``parts``, timed at ``noc_bws`` too, and return the rows left out: those with a
    group that may couple to others (scored per template by :func:`_score`).

    Every row's group in every slot is looked up by its key (memoised in
    :data:`_slot_core`, its core in :func:`_core_of`); the part it plays in each step
    class is an index into a table of all those cores' parts (a distinct key of a slot is
    a distinct core: its core key). Slots a row's template lacks change nothing (a part
    of ones).
    """
    from mapsearch.costmodel import _exact_rows_kernel as rows_kernel

    n_units = read.units.shape[1]
    pieces: list[Piece] = [ONE_PIECE]
    piece = np.zeros((len(read.slots), rows.size), dtype=np.int64)  # the ONE piece: no group
    scalars = np.ones((rows.size, 8), dtype=np.int64)
    coupled = np.zeros(rows.size, dtype=bool)
    firsts, counts, invs = rows_kernel.distinct_keys(read.keys, read.key_at, rows)
    memo = _slot_core.of(layer)
    for s, name in enumerate(read.slots):
        first, inv = firsts[s, : counts[s]], invs[s]
        key = read.key(s)
        distinct = key[rows[first]]
        has = np.flatnonzero(distinct[:, 0] >= 0)  # the others' templates lack the slot
        if has.size == 0:
            continue
        raw = distinct[has].tobytes()
        width = 8 * key.shape[1]
        found: list[_SlotCore] = []
        for at in range(0, len(raw), width):
            k = (name, n_units, raw[at : at + width])
            slot = memo.get(k)
            if slot is None:
                slot = memo[k] = _slot_core_of(layer, *k)
            found.append(slot)
        numbers = np.zeros((first.size, _COUPLED + 1), dtype=np.int64)
        numbers[:, :_LOOPS] = 1  # no group: scalars of ones
        numbers[has] = [slot.numbers for slot in found]
        mine = np.zeros(first.size, dtype=np.int64)
        mine[has] = np.arange(len(pieces), len(pieces) + has.size)
        pieces += [slot.piece for slot in found]
        per_row = numbers[inv]
        present = key[rows, 0] >= 0
        if (present & (per_row[:, _LOOPS] != read.n_mine[s, rows])).any():
            raise RuntimeError(f"exact model: group {name} has other loops than its core (a bug)")
        coupled |= per_row[:, _COUPLED] > 0
        scalars *= per_row[:, :_LOOPS]
        piece[s] = mine[inv]
    keep = np.flatnonzero(~coupled)
    if keep.size:
        table, starts = part_table(pieces)
        placed = Placed(starts[piece[:, keep]], read.local, rows[keep], int(starts[0]))
        parts.append((rows[keep], combine(table, placed, scalars[keep], hardware, noc_bws)))
    return rows[coupled]


@dataclass(frozen=True, slots=True)
class _SlotCore:
    """What a batch reads of a slot's core: its parts as a piece of a part table
    (:func:`core_piece`) and per row ``numbers``: its scalars (:func:`group_scalars`), then
    its number of loops (at ``_LOOPS``), then 1 if it may couple to other groups, else 0
    (at ``_COUPLED``). (The core itself stays memoised in :func:`_core_of` only.)"""

    piece: Piece
    numbers: tuple[int, ...]


_LOOPS = 8  # after the 8 scalars
_COUPLED = 9


class _SlotCores:
    """Memoised :func:`_slot_core_of` results, per layer a dict keyed by (slot name, units
    columns, key bytes): a batch looks up each distinct key with one dict access, without
    hashing the layer each time as a ``functools.lru_cache`` keyed on it would. At most
    ``maxsize`` keys over all layers; when full, all are dropped (a miss costs one slot
    query: the cores themselves stay memoised in :func:`_core_of`)."""

    def __init__(self, maxsize: int) -> None:
        self.maxsize = maxsize
        self._by_layer: dict[Layer, dict[tuple[str, int, bytes], _SlotCore]] = {}

    def of(self, layer: Layer) -> dict[tuple[str, int, bytes], _SlotCore]:
        """The memo of ``layer``'s slots (to read and fill)."""
        if sum(len(m) for m in self._by_layer.values()) > self.maxsize:
            self._by_layer.clear()
        return self._by_layer.setdefault(layer, {})

    def cache_clear(self) -> None:
        """Forget every memoised slot (as ``functools.lru_cache.cache_clear``)."""
        self._by_layer.clear()


def _slot_core_of(layer: Layer, name: str, n_units: int, key: bytes) -> _SlotCore:
    """The core of the group in slot ``name`` with key ``key`` (see :func:`slot_query`;
    memoised in :data:`_slot_core`, the core itself on its own key in :func:`_core_of`)."""
    core = _core_of(slot_query(layer, name, n_units, key))
    if list(core.stacked.index) != _parts(len(core.trips), False):
        raise RuntimeError(f"exact model: group {name}'s core has unexpected parts (a bug)")
    flag = bool(core.parted) or core.staggered
    return _SlotCore(core_piece(core), (*group_scalars(core), len(core.trips), int(flag)))


_slot_core = _SlotCores(maxsize=50_000)


def slot_query(layer: Layer, name: str, n_units: int, key: bytes) -> _CoreQuery:
    """The core query of slot ``name``'s group whose key (:class:`BatchRows`, int64 bytes;
    ``n_units`` units columns; a dimension group's key already its core key) is ``key``:
    its core key read straight from the integers, its model only if the core is walked."""
    k = np.frombuffer(key, dtype=np.int64).tolist()
    units = [0] * k[0]
    per_level: list[list[tuple[DirectiveKind, str, int, int]]] = [[] for _ in units]
    if name.startswith("@"):
        levels: tuple[int, ...] = (int(name[1:]),)
        units[levels[0]] = k[1]
    else:
        units[:] = k[1 : 1 + k[0]]
        levels = tuple(i for i, u in enumerate(units) if u > 0)
        for i in range(1 + n_units, len(k), FIELDS):
            if k[i] < 0:  # padding, after the group's directives
                break
            per_level[k[i]].append((KINDS[k[i + 1]], DIM_NAMES[k[i + 2]], k[i + 3], k[i + 4]))
    local = tuple(
        (u, tuple((dim, kind, size, offset) for kind, dim, size, offset in level))
        for u, level in zip(units, per_level, strict=True)
    )
    return _CoreQuery(
        (layer, name, local),
        GroupSpec(name, (), levels, (name,)),
        lambda: group_model(
            layer, tuple(u if i in levels else 1 for i, u in enumerate(units)), per_level
        ),
    )


def _distinct_rows(key: IntArray) -> tuple[IntArray, IntArray]:
    """The first occurrence of every distinct row of ``key`` and each row's distinct index.

    Rows are packed into one int64 each (mixed radix, first column most significant; when
    the radix outgrows int64, what is packed so far is first replaced by its distinct
    index), which ``np.unique`` sorts much faster than rows.
    """
    if key.shape[1] == 0:
        return np.zeros(1, dtype=np.int64), np.zeros(key.shape[0], dtype=np.int64)
    low = key.min(axis=0)
    radix = (key.max(axis=0) - low + 1).tolist()
    packed = np.zeros(key.shape[0], dtype=np.int64)
    span = 1
    for col, r in zip((key - low).T, radix, strict=True):
        if span * r >= 1 << 62:
            _, packed = np.unique(packed, return_inverse=True)
            packed = packed.ravel().astype(np.int64)
            span = int(packed.max()) + 1
        packed = packed * r + col
        span *= r
    _, first, inv = np.unique(packed, return_index=True, return_inverse=True)
    return first, inv.ravel().astype(np.int64)


def _score(
    layer: Layer,
    hardware: Hardware,
    t: Template,
    batch: MappingBatch,
    rows: IntArray,
    units: IntArray,
    merged: tuple[frozenset[str], ...],
    parts: list[tuple[IntArray, Totals]],
    noc_bws: IntArray | None,
) -> None:
    """Combine the groups of mappings ``rows`` of ``batch`` (all of template ``t``; their
    ``units`` per level), the base groups in ``merged`` walked together, into ``parts``
    (timed at ``noc_bws`` too).

    Mappings whose groups turn out coupled (see :func:`_coupled`) are scored again with
    those groups walked together, which only ever merges more.
    """
    plan = _plan(layer, t, merged)
    specs, loop_groups = list(plan.specs), plan.loop_groups
    groups: list[tuple[IntArray, list[GroupSummary]]] = []
    for spec, shape in zip(specs, plan.shapes, strict=True):
        key = np.concatenate(
            [
                batch.sizes[rows][:, spec.columns],
                batch.offsets[rows][:, spec.columns],
                units[:, spec.levels],
            ],
            axis=1,
        )
        first, inv = _distinct_rows(key)
        summaries = [_group_summary(layer, shape, tuple(key[f].tolist())) for f in first.tolist()]
        groups.append((inv, summaries))
    flagged = np.zeros(rows.size, dtype=bool)
    for inv, summaries in groups:
        flagged |= np.array([bool(s.parted) or s.staggered for s in summaries])[inv]
    # per distinct combination of the flagged rows' summaries: the groups to walk together
    at = np.flatnonzero(flagged)
    again: dict[tuple[frozenset[str], ...], list[int]] = {}
    if at.size:
        first, which = _distinct_rows(np.stack([inv[at] for inv, _ in groups], axis=1))
        for k, f in enumerate(first.tolist()):
            n = int(at[f])
            more = _coupled(specs, loop_groups, [summ[inv[n]] for inv, summ in groups])
            if more:
                coarser = tuple(sorted(set(merged) | set(more), key=sorted))
                again.setdefault(coarser, []).extend(at[which == k].tolist())
    done = np.ones(rows.size, dtype=bool)
    for n_rows in again.values():
        done[n_rows] = False
    if done.any():
        keep = np.flatnonzero(done)
        n_classes = int(groups[0][1][0].sums.shape[0])
        table, placed, scalars = summaries_placed(
            [(inv[keep], summ) for inv, summ in groups], n_classes
        )
        parts.append((rows[keep], combine(table, placed, scalars, hardware, noc_bws)))
    for coarser, n_rows in again.items():
        _score(layer, hardware, t, batch, rows[n_rows], units[n_rows], coarser, parts, noc_bws)


def _coupled(
    specs: list[GroupSpec], loop_groups: tuple[str, ...], summaries: list[GroupSummary]
) -> tuple[frozenset[str], ...]:
    """Base groups to walk together for one mapping, as sets to join (none: the groups are
    independent as they are).

    An output passing between units unwritten needs the whole nest walked in order. A unit
    of group ``g`` that resumes at loop ``l`` after idling holds the tile of a step where
    ``g``'s tuple parted from the current one at an outer position (``_exact_groups._Core``): every
    other group with a loop of more than one trip between that position and ``l`` decides
    that step too, so it is walked with ``g``.
    """
    if any(s.staggered for s in summaries):
        return (frozenset(m for spec in specs for m in spec.members),)
    mine = {spec.name: [k for k, n in enumerate(loop_groups) if n == spec.name] for spec in specs}
    members = {spec.name: frozenset(spec.members) for spec in specs}
    trips = [1] * len(loop_groups)
    for spec, s in zip(specs, summaries, strict=True):
        for k, at in enumerate(mine[spec.name]):
            trips[at] = s.trips[k]
    joins: list[frozenset[str]] = []
    for spec, s in zip(specs, summaries, strict=True):
        own = mine[spec.name]
        for loop, parted in s.parted:
            for at in range(own[parted] + 1 if parted >= 0 else 0, own[loop]):
                if loop_groups[at] != spec.name and trips[at] > 1:
                    joins.append(members[spec.name] | members[loop_groups[at]])
    return tuple(dict.fromkeys(joins))


def _gather(parts: list[tuple[IntArray, Totals]], n: int) -> Totals:
    """One Totals of ``n`` mappings from parts scored separately: (positions, totals)."""
    if len(parts) == 1 and np.array_equal(parts[0][0], np.arange(n)):
        return parts[0][1]
    out: dict[str, object] = {}
    for f in dataclasses.fields(Totals):
        values = [getattr(tot, f.name) for _, tot in parts]
        if isinstance(values[0], tuple):
            out[f.name] = tuple(
                _scatter([(pos, v[k]) for (pos, _), v in zip(parts, values, strict=True)], n)
                for k in range(len(values[0]))
            )
        else:
            out[f.name] = _scatter([(pos, v) for (pos, _), v in zip(parts, values, strict=True)], n)
    return Totals(**out)  # type: ignore[arg-type]


def _scatter(
    parts: list[tuple[IntArray, npt.NDArray[np.generic]]], n: int
) -> npt.NDArray[np.generic]:
    out = np.zeros((n, *parts[0][1].shape[1:]), dtype=parts[0][1].dtype)
    for pos, values in parts:
        out[pos] = values
    return out


@functools.lru_cache(maxsize=50_000)
def _group_summary(layer: Layer, shape: _GroupShape, values: tuple[int, ...]) -> GroupSummary:
    """The summary of the group of ``shape`` with ``values`` (its key row: sizes, offsets
    of its directives, then units of ``shape.spec.levels``), memoised on the arguments (a
    pure function of them): searches that revisit a group's tiling pay for it once, and
    the least recently used summaries go first when the cache is full."""
    core, rows = _group_core(layer, shape.spec, shape.directives, shape.n_levels, values)
    return _placed(rows, core, shape.spec, shape.loop_groups)


@functools.lru_cache(maxsize=20_000)
def _group_core(
    layer: Layer,
    spec: GroupSpec,
    directives: tuple[tuple[int, DirectiveKind, str], ...],
    n_levels: int,
    values: tuple[int, ...],
) -> tuple[_Core, CoreRows]:
    """The core of a group (see :class:`_GroupShape`) with ``values``, and its rows
    stacked, memoised wherever the group sits among a template's loops (a random loop
    order moves it, not its core)."""
    key = _group_core_key(layer, spec, directives, n_levels, values)
    query = _CoreQuery(
        key, spec, lambda: _group_model(layer, directives, n_levels, spec.levels, values)
    )
    core = _core_of(query)
    return core, core.stacked


def _group_core_key(
    layer: Layer,
    spec: GroupSpec,
    directives: tuple[tuple[int, DirectiveKind, str], ...],
    n_levels: int,
    values: tuple[int, ...],
) -> CoreKey:
    """:func:`_core_key` of the group's model (see :func:`_group_model`), computed from the
    integers (:func:`_levels_core_key`), so that a cached core costs no model."""
    units, per_level = _per_level(directives, n_levels, spec.levels, values, idle=0)
    return _levels_core_key(layer, spec.name, units, per_level)


def _levels_core_key(
    layer: Layer,
    name: str,
    units: Sequence[int],
    per_level: Sequence[Sequence[tuple[DirectiveKind, str, int, int]]],
) -> CoreKey:
    """:func:`_core_key` of group ``name`` with directives (kind, dimension as written,
    size, offset) per level and ``units`` per level (0 on a level not the group's),
    computed by the unfolding rules of :func:`mapsearch.directives.nest.unfold_template`
    (``Y'``/``X'`` to input space, slice counts, extents handed down)."""
    extents = dict(layer.dims)  # each dimension's extent handed down so far
    local: list[tuple[int, tuple[tuple[str, DirectiveKind, int, int], ...]]] = []
    for u, level in zip(units, per_level, strict=True):
        sized = {written: size for _, written, size, _ in level}
        tiles: dict[str, int] = {}
        mine: list[tuple[str, DirectiveKind, int, int]] = []
        lead_slices = 0
        for kind, written, written_size, written_offset in level:
            dim, size, offset = in_input_space(layer, written, written_size, written_offset, sized)
            extent = extents[dim]
            if kind is DirectiveKind.SPATIAL and not lead_slices:
                lead_slices = slice_count(size, offset, extent)
            tiles[dim] = child_extent(size, extent)
            mine.append((dim, kind, size, offset))
        extents.update(tiles)
        if u and lead_slices:
            u = min(u, lead_slices)
        local.append((u, tuple(mine)))
    return (layer, name, tuple(local))


def _group_model(
    layer: Layer,
    directives: tuple[tuple[int, DirectiveKind, str], ...],
    n_levels: int,
    levels: tuple[int, ...],
    values: tuple[int, ...],
) -> StepModel:
    """The group's model from its directives (level, kind, dimension) and key row (their
    sizes, offsets, then the units of ``levels``); other levels get one unit, which the
    group's core does not read."""
    units, per_level = _per_level(directives, n_levels, levels, values, idle=1)
    return group_model(layer, tuple(units), per_level)


def _per_level(
    directives: tuple[tuple[int, DirectiveKind, str], ...],
    n_levels: int,
    levels: tuple[int, ...],
    values: tuple[int, ...],
    idle: int,
) -> tuple[list[int], list[list[tuple[DirectiveKind, str, int, int]]]]:
    """A group's key row read back: units per level (``idle`` on a level not in
    ``levels``) and each level's directives as (kind, dimension as written, size, offset)."""
    n = len(directives)
    units = [idle] * n_levels
    for lv, u in zip(levels, values[2 * n :], strict=True):
        units[lv] = u
    per_level: list[list[tuple[DirectiveKind, str, int, int]]] = [[] for _ in units]
    for (lv, kind, written), size, offset in zip(
        directives, values[:n], values[n : 2 * n], strict=True
    ):
        per_level[lv].append((kind, written, size, offset))
    return units, per_level


def _report(
    layer: Layer,
    hw: Hardware,
    B: int,
    idx: IntArray,
    tot: Totals | None,
    reasons: list[str],
) -> Report:
    """Scatter the combined totals of the valid mappings ``idx`` into a Report of ``B`` rows."""

    def arr(values: IntArray | npt.NDArray[np.float64] | None) -> npt.NDArray[Any]:
        out = np.zeros(B)
        if values is not None:
            out[idx] = values
        return out

    def get(name: str, k: int | None = None) -> npt.NDArray[Any]:
        if tot is None:
            return np.zeros(B)
        v = getattr(tot, name)
        return arr(v if k is None else v[k])

    macs = get("macs")
    runtime = get("runtime_cycles")
    steps = np.maximum(get("steps"), 1.0)
    l1_reads = TensorCounts(input=macs, filter=macs, output=macs)
    l1_writes = TensorCounts(
        input=get("l1_writes_input"), filter=get("l1_writes_filter"), output=macs
    )
    l2_reads = TensorCounts(
        input=get("l2_reads", 0), filter=get("l2_reads", 1), output=get("l2_reads", 2)
    )
    l2_writes = TensorCounts(
        input=get("l2_writes", 0), filter=get("l2_writes", 1), output=get("l2_writes", 2)
    )
    e = hw.energy
    energy_l1 = TensorCounts.energy(l1_reads, l1_writes, e.l1_read, e.l1_write)
    energy_l2 = TensorCounts.energy(l2_reads, l2_writes, e.l2_read, e.l2_write)
    energy_mac = macs * e.mac
    l1_size = get("l1_size_words")
    l2_size = get("offchip_words")
    safe_rt = np.maximum(runtime, 1.0)
    noc_words = l2_reads.total() + l2_writes.output
    feasible = np.array([not r for r in reasons], dtype=bool)
    return Report(
        semantics="exact",
        macs=macs,
        runtime_cycles=runtime,
        l1_reads=l1_reads,
        l1_writes=l1_writes,
        l2_reads=l2_reads,
        l2_writes=l2_writes,
        l1_size_words=l1_size,
        l2_size_words=l2_size,
        l2_required_words=np.zeros(B, dtype=np.int64),
        peak_noc_bw_words_per_cycle=get("peak_noc_bw"),
        avg_noc_bw_words_per_cycle=noc_words / safe_rt,
        offchip_bw_words_per_cycle=get("offchip_words") / safe_rt,
        avg_utilized_pes=get("active_pe_steps") / steps,
        ingress_delay_min=get("delay_min", 0),
        ingress_delay_max=get("delay_max", 0),
        ingress_delay_avg=get("delay_sum", 0) / steps,
        egress_delay_min=get("delay_min", 1),
        egress_delay_max=get("delay_max", 1),
        egress_delay_avg=get("delay_sum", 1) / steps,
        compute_delay_min=get("delay_min", 2),
        compute_delay_max=get("delay_max", 2),
        compute_delay_avg=get("delay_sum", 2) / steps,
        energy_l1=energy_l1,
        energy_l2=energy_l2,
        energy_mac=energy_mac,
        energy_total=energy_l1.total() + energy_l2.total() + energy_mac,
        energy_unit=e.unit,
        area_um2=area_power.area_um2(
            hw.num_pes, hw.vector_width, hw.noc_bw_words_per_cycle, l1_size, l2_size
        ),
        power_mw=area_power.power_mw(
            hw.num_pes, hw.vector_width, hw.noc_bw_words_per_cycle, l1_size, l2_size
        ),
        feasible=feasible,
        reason=tuple(reasons),
    )
