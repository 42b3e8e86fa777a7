"""Count bounds of sets of mappings of one structure, from per-group factor minima.

See :mod:`mapsearch.bounds.table` for why it is sound: per step class and group the factor
is replaced by its minimum over the parts the set's loop orders allow and over the
configurations it allows; counts of new elements are summed in their telescoped form
``sum_j prod_{g<j} G_g (U_j - G_j) prod_{g>j} U_g``, whose factors are all nonnegative.
Everything is vectorised over a leading axis of ``B`` sets.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from mapsearch.bounds import _kernel
from mapsearch.bounds._kernel import (
    class_sums,
    count_rows,
    group_products,
)
from mapsearch.bounds.counts import FIELDS, compulsory
from mapsearch.bounds.table import MACMAX, N_FEATURES, PAIRS, GroupTable, StructureTable
from mapsearch.hardware import Hardware
from mapsearch.layers import Layer

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

_I, _F, _O, _H, _NI, _NF = range(len(PAIRS))
#: The rows of :func:`_kernel.count_rows`' pairs: input, filter, output, held outputs, new
#: input, new filter.
_ROWS = np.asarray([_I, _F, _O, _H, _NI, _NF])
#: The pairs whose words enter the PEs (input, filter).
_INGRESS = np.asarray([_I, _F])


@dataclass(frozen=True, slots=True, kw_only=True)
class GroupValues:
    """Per set and group, the least factors its allowed configurations have: its features
    are row ``features_of[b, g]`` (``(B, G)``) of ``features`` ``(R, P, N_FEATURES)``
    (``inf`` for parts a group lacks; sets that fix a group to the same configuration share
    its row, kept once: a grid's cells would otherwise copy every group's rows per cell),
    ``fill``/``tile_max`` ``(B, G, 3)``, ``drain``/``compute`` ``(B, G)``, ``used``
    ``(B, G, 2)``; ``keys`` ``(B,)``: sets with equal keys have equal values
    (:func:`count_bounds` then computes their step classes once)."""

    features: FloatArray
    features_of: IntArray
    fill: FloatArray
    tile_max: FloatArray
    drain: FloatArray
    compute: FloatArray
    used: FloatArray
    keys: IntArray


#: One group's factors, a row per configuration (or per family of configurations):
#: features, fill, tile_max, drain, compute, used (:class:`GroupTable`'s fields).
GroupRows = tuple[FloatArray, FloatArray, FloatArray, FloatArray, FloatArray, FloatArray]


def group_values(table: StructureTable, configs: list[list[npt.NDArray[np.int64]]]) -> GroupValues:
    """``configs[b][g]``: the configurations of group ``g`` set ``b`` allows (non-empty)."""
    P = table.masks[0].shape[3]
    rows = [
        [_least_row(grp, a, P) for grp, a in zip(table.groups, c, strict=True)] for c in configs
    ]
    return _unpack(np.asarray(rows), P)


def _least_row(grp: GroupTable, a: npt.NDArray[np.int64], P: int) -> FloatArray:
    """One group's least factors over its configurations ``a`` in one row: its features
    per part (``inf`` for parts it lacks; ``P`` parts), then fill, tile_max, drain,
    compute and used (the fields of :class:`GroupValues`)."""
    feats = np.full((P, N_FEATURES), np.inf)
    feats[: len(grp.parts)] = grp.features[a].min(axis=0)
    return np.concatenate(
        [
            feats.ravel(),
            grp.fill[a].min(axis=0),
            grp.tile_max[a].min(axis=0),
            [grp.drain[a].min(), grp.compute[a].min()],
            grp.used[a].min(axis=0),
        ]
    )


def _unpack(rows: FloatArray, P: int) -> GroupValues:
    """:class:`GroupValues` of ``(B, G)`` rows of :func:`_least_row`."""
    B, G = rows.shape[:2]
    w = P * N_FEATURES
    return GroupValues(
        features=np.ascontiguousarray(rows[..., :w]).reshape(B * G, P, N_FEATURES),
        features_of=np.arange(B * G, dtype=np.int64).reshape(B, G),
        fill=rows[..., w : w + 3].copy(),
        tile_max=rows[..., w + 3 : w + 6].copy(),
        drain=rows[..., w + 6].copy(),
        compute=rows[..., w + 7].copy(),
        used=rows[..., w + 8 : w + 10].copy(),
        keys=np.arange(B, dtype=np.int64),
    )


#: Configuration sets whose least factors a :class:`LeastFactors` keeps (emptied when full).
LEAST_CACHE = 16384


class LeastFactors:
    """:func:`group_values` of one set at a time, each group's least factors kept by its
    configuration set: a node's children and its filtering rounds change one or a few
    groups' domains, so most groups' rows are those of a set met before (the same values,
    bit for bit). Also each group's least and largest tiles (:meth:`tile_range`)."""

    def __init__(self, table: StructureTable) -> None:
        self.table = table
        self._parts = table.masks[0].shape[3]
        # per (group, its configurations): its :func:`_least_row` and its largest tiles
        self._rows: dict[tuple[int, bytes], tuple[FloatArray, FloatArray]] = {}
        self._families: dict[tuple[int, tuple[tuple[int, ...], ...]], GroupRows] = {}

    def _row(self, g: int, a: npt.NDArray[np.int64]) -> tuple[FloatArray, FloatArray]:
        key = (g, a.tobytes())
        row = self._rows.get(key)
        if row is None:
            if len(self._rows) >= LEAST_CACHE:
                self._rows.clear()
            grp = self.table.groups[g]
            row = self._rows[key] = (
                _least_row(grp, a, self._parts),
                grp.tile_max[a].max(axis=0),
            )
        return row

    def values(self, configs: Sequence[npt.NDArray[np.int64]]) -> GroupValues:
        """``configs[g]``: the configurations of group ``g`` the set allows (non-empty)."""
        rows = np.array([self._row(g, a)[0] for g, a in enumerate(configs)])
        return _unpack(rows[None], self._parts)

    def family_rows(self, g: int, members: tuple[tuple[int, ...], ...]) -> GroupRows:
        """Group ``g``'s least factors over each configuration set of ``members``, one row
        each, as the group's own rows are (what :func:`fix_group` takes); kept."""
        key = (g, members)
        found = self._families.get(key)
        if found is not None:
            return found
        if len(self._families) >= LEAST_CACHE:
            self._families.clear()
        packed = np.array([self._row(g, np.asarray(a, dtype=np.int64))[0] for a in members])
        v = _unpack(packed[:, None], self._parts)  # one set per family, of one group
        rows: GroupRows = (
            v.features,
            v.fill[:, 0].copy(),
            v.tile_max[:, 0].copy(),
            v.drain[:, 0].copy(),
            v.compute[:, 0].copy(),
            v.used[:, 0].copy(),
        )
        self._families[key] = rows
        return rows

    def tile_range(self, configs: Sequence[npt.NDArray[np.int64]]) -> tuple[FloatArray, FloatArray]:
        """Per group (rows), the least and the largest tile of each role (columns) over the
        configurations ``configs[g]``, shape ``(G, 3)`` each."""
        rows = [self._row(g, a) for g, a in enumerate(configs)]
        w = self._parts * N_FEATURES + 3  # the least tiles follow the features and fill
        return np.array([r[0][w : w + 3] for r in rows]), np.array([r[1] for r in rows])


def fixed_values(table: StructureTable, configs: IntArray, keys: IntArray) -> GroupValues:
    """The values of sets that fix every group (a node's points): set ``b``'s group ``g`` to
    configuration ``configs[b, g]`` (``(B, G)``), with ``keys`` (see :class:`GroupValues`).
    Each group's distinct configurations' features are kept once."""
    P = table.masks[0].shape[3]
    pool: list[FloatArray] = []
    features_of = np.empty(configs.shape, dtype=np.int64)
    start = 0  # the pool's rows so far
    for g, grp in enumerate(table.groups):
        distinct, which = np.unique(configs[:, g], return_inverse=True)
        rows = np.full((len(distinct), P, N_FEATURES), np.inf)
        rows[:, : len(grp.parts)] = grp.features[distinct]
        features_of[:, g] = start + which
        pool.append(rows)
        start += len(distinct)

    def each(name: str) -> FloatArray:
        """Per set and group, its configuration's entry of the groups' field ``name``."""
        out = [getattr(grp, name)[configs[:, g]] for g, grp in enumerate(table.groups)]
        return np.stack(out, axis=1)

    return GroupValues(
        features=np.concatenate(pool),
        features_of=features_of,
        fill=each("fill"),
        tile_max=each("tile_max"),
        drain=each("drain"),
        compute=each("compute"),
        used=each("used"),
        keys=keys,
    )


def fix_group(
    table: StructureTable,
    values: GroupValues,
    group: int,
    configs: npt.NDArray[np.int64],
    rows: GroupRows | None = None,
) -> GroupValues:
    """``values`` (one row, or one per entry of ``configs``) with group ``group``'s least
    factors replaced by configuration ``configs[b]``'s own, one row per entry: the sets that
    fix that group (a node's children, or the cells of a grid of two fixed domains). Rows
    are keyed by their configuration (and, for several rows, by their keys before); each
    distinct configuration's features are added to ``features`` once. ``rows``: the rows
    ``configs`` index instead of the group's (a family's least factors,
    :meth:`LeastFactors.family_rows`)."""
    grp = table.groups[group]
    if rows is None:
        rows = (grp.features, grp.fill, grp.tile_max, grp.drain, grp.compute, grp.used)
    fields = _kernel.fix_group_values(
        (
            values.features,
            values.features_of,
            values.fill,
            values.tile_max,
            values.drain,
            values.compute,
            values.used,
        ),
        group,
        configs,
        rows,
    )  # one compiled call: numpy's repeat and writes per field cost more on a few rows
    return GroupValues(
        features=fields[0],
        features_of=fields[1],
        fill=fields[2],
        tile_max=fields[3],
        drain=fields[4],
        compute=fields[5],
        used=fields[6],
        keys=configs if len(values.keys) == 1 else values.keys * len(rows[3]) + configs,
    )


def count_bounds(
    table: StructureTable,
    mask: BoolArray,
    values: GroupValues,
    hardware: Hardware,
    mask_of: IntArray | None = None,
    row_ids: IntArray | None = None,
) -> FloatArray:
    """Bounds of the counts of ``B`` sets of mappings of ``table``'s structure, shape
    ``(16, B)``: a row per field of :class:`CountBounds`, in order (what
    :func:`mapsearch.bounds.counts.row_objective_bounds` takes; ``CountBounds.of_rows``
    names them).

    ``mask``: ``(B, C, G, P)`` (or ``(1, C, G, P)`` for all sets), the parts each group may
    play in each step class, or with ``mask_of`` (``(B,)``) set ``b``'s is ``mask[mask_of[b]]``
    (a few distinct masks, each kept once); ``values``: the least factors of the
    configurations each set allows (``B`` or 1 rows; the groups whose rows all sets share
    are computed once per mask row and class); ``row_ids``: ``mask``'s
    :func:`_kernel.row_ids`, when the caller keeps them with a stack it reuses (computed
    here otherwise).
    """
    layer = table.layer
    # per class, the sum of the later steps' max(ingress, compute, egress) delays is at least
    # the largest of the summed delays; a delay of n > 0 words is >= ceil(n / bw) when the
    # NoC latency is >= 1 (otherwise only the compute counts: noc_bw 0)
    noc_bw = hardware.noc_bw_words_per_cycle if hardware.noc_latency_cycles >= 1 else 0
    if mask_of is None:
        mask_of = np.arange(len(mask), dtype=np.int64)
    mask = np.ascontiguousarray(mask)
    if row_ids is None:  # one block's rows are its own (all 0): no compiled call for them
        row_ids = _kernel.row_ids(mask) if len(mask) > 1 else np.zeros((1, mask.shape[1]), np.int64)
    sums, missing = class_sums(
        mask,
        row_ids,
        mask_of,
        np.ascontiguousarray(values.features),
        values.features_of,
        values.keys,
        len(PAIRS),
        MACMAX,
        _INGRESS,
        _H,
        float(hardware.vector_width),
        float(noc_bw),
    )  # (pairs + 4, B)
    if missing:
        raise ValueError("a group plays no known part in some step class (a bug)")
    # per count, its bounds: each fetched element is read from L2 and written into some L1
    # at least once (fill), and into every L1 whose PE uses it (used); partial-sum reads
    # are entering minus first visits, which total the output size at most; outputs are
    # written back when they leave (egress) and at the drain; every count is also at least
    # its compulsory floor (``_kernel.count_rows``, one compiled pass)
    prods = group_products(values.fill, values.drain, values.compute, values.tile_max, values.used)
    floor, out_size = _compulsory(layer, table.num_pes)
    out: FloatArray = count_rows(sums, prods, floor, _ROWS, out_size)
    return out


@functools.cache
def _compulsory(layer: Layer, num_pes: int) -> tuple[FloatArray, float]:
    """:func:`compulsory`'s counts, one per field of :class:`CountBounds` in its order (the
    same for every node of a table; read-only), and the output's size."""
    c = compulsory(layer, num_pes)
    out = np.asarray([getattr(c, k)[0] for k in FIELDS], dtype=np.float64)
    out.flags.writeable = False
    return out, float(layer.tensor_size("output"))
