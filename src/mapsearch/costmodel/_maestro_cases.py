"""Per-level tile bookkeeping, iteration states and per-case volumes (``docs/maestro_model.md``
sections 4-6).

Everything is an int64 array over the batch. A *case* is one iteration state per directive
(``INIT``, ``STEADY``, ``EDGE``); the state tuple is the same for the whole batch, while
whether it occurs (and how often) is per mapping.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from mapsearch.costmodel._maestro_levels import (
    SPATIAL,
    TEMPORAL,
    WINDOW_OF,
    MaestroLevel,
    TensorVars,
)

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

INIT, STEADY, EDGE = 0, 1, 2


def tdiv(a: IntArray, b: IntArray | int) -> IntArray:
    """Integer division truncating toward zero (C++ semantics), for b > 0."""
    if a.min(initial=0) >= 0:
        return a // b
    q = np.abs(a) // b
    return np.where(a < 0, -q, q)


@dataclass(frozen=True, slots=True)
class Sizes:
    """Section 4 tile sizes of one level, from its *static* dimensions.

    ``m``/``u`` are the mapped and unique (new per step) sizes, ``me``/``ue`` their edge
    counterparts, keyed by variable (``Y'``/``X'`` derived from the Y/X and R/S entries).
    ``pe`` is the number of active units in the last spatial fold of the first SpatialMap.
    """

    m: dict[str, IntArray]
    u: dict[str, IntArray]
    me: dict[str, IntArray]
    ue: dict[str, IntArray]
    pe: IntArray


def level_sizes(level: MaestroLevel, tv: TensorVars) -> Sizes:
    """Mapped/unique/edge tile sizes per variable and the last fold's active units (section 4).

    ``n = max(0, trunc((D - M) / O))`` full steps after the first; the edge tile is the
    remainder ``D - (n + 1) O`` (``D`` when negative); ``u = min(M, O)``, 0 for a temporal
    map that covers its dimension. Output rows/columns: ``m_Y' = m_Y - m_R + 1`` (stride not
    applied, quirk 8).
    """
    m: dict[str, IntArray] = {}
    u: dict[str, IntArray] = {}
    me: dict[str, IntArray] = {}
    ue: dict[str, IntArray] = {}
    for kind, v, M, Of in zip(level.kinds, level.vars, level.size, level.offset, strict=True):
        D = level.dims[v]
        n = np.maximum(tdiv(D - M, Of), 0)
        has_edge = (n * Of + M < D) | (M > D)
        m[v] = M
        uu = np.minimum(M, Of)
        u[v] = np.where(D <= M, 0, uu) if kind is TEMPORAL else uu
        r = D - (n + 1) * Of
        r = np.where(r < 0, D, r)
        me[v] = np.where(has_edge, r, M)
        ue[v] = np.maximum(Of - (M - r), 0)
    if tv.windows:
        for v, (w, out) in WINDOW_OF.items():
            j = level.index(v)
            m[out] = m[v] - m[w] + 1
            u[out] = np.minimum(level.offset[j], level.size[j])
            me[out] = me[v] - me[w] + 1
            ue[out] = np.minimum(level.offset[j], me[out])
    j = level.kinds.index(SPATIAL)
    D, M, Of, P = level.dims[level.vars[j]], level.size[j], level.offset[j], level.units
    cover = Of * (P - 1) + M
    q = tdiv(tdiv(D - M, Of) + 1, P) - 1
    rem = D - (q + 1) * Of * P
    pe_fold = np.where(rem < M, 1, tdiv(rem - M, Of) + 1)
    pe_init = tdiv(D - M, Of) + 1
    pe_init = pe_init + ((Of * (pe_init - 1) + M) < D)
    pe_init = np.where(D > M, pe_init, 1)
    pe = np.where(cover < D, pe_fold, pe_init)
    return Sizes(m=m, u=u, me=me, ue=ue, pe=pe)


@dataclass(frozen=True, slots=True)
class States:
    """Section 5 iteration states of each directive for one analysed instance.

    ``mult[j][s]`` is how often state ``s`` of directive ``j`` occurs (0 = absent);
    ``init_edge``/``init_unroll`` qualify the Init state; ``edge_ee`` says the spatial Edge
    state's last active unit holds a partial tile.
    """

    mult: tuple[tuple[IntArray, IntArray, IntArray], ...]
    init_edge: tuple[BoolArray, ...]
    init_unroll: tuple[BoolArray, ...]
    edge_ee: tuple[BoolArray, ...]


def level_states(level: MaestroLevel, dims: dict[str, IntArray]) -> States:
    """Init/Steady/Edge multiplicities of each directive for instance dimensions ``dims``
    (section 5).

    Temporal: Steady ``trunc((D - M) / O)`` times, Edge once when a remainder is left.
    Spatial (P units, coverage ``M + O (P - 1)``): Steady ``trunc((trunc((D - M) / O) + 1) / P)
    - 1`` folds, Edge once when the last fold is partial.
    """
    mult = []
    init_edge = []
    init_unroll = []
    edge_ee = []
    ones = np.ones_like(level.units)
    for kind, v, M, Of in zip(level.kinds, level.vars, level.size, level.offset, strict=True):
        D = dims[v]
        if kind is TEMPORAL:
            unroll, iedge = D <= M, D < M
            n = tdiv(D - M, Of)
            steady = np.where((M < D) & (n > 0), n, 0)
            edge = (~iedge & (n * Of + M < D)).astype(np.int64)
            ee = np.zeros(D.shape, dtype=bool)
        else:
            P = level.units
            cover = M + Of * (P - 1)
            unroll, iedge = cover >= D, cover > D
            q = tdiv(tdiv(D - M, Of) + 1, P) - 1
            steady = np.where((cover < D) & (q > 0), q, 0)
            has_edge = ~unroll & ((q + 1) * Of * P + cover > D) & (q * Of * P + cover != D)
            rem = D - (q + 1) * Of * P
            active = np.where(rem < M, 1, tdiv(rem - M, Of) + 1)
            ee = (active - 1) * Of + M < rem
            edge = (~iedge & has_edge).astype(np.int64)
        mult.append((ones, steady.astype(np.int64), edge))
        init_edge.append(iedge)
        init_unroll.append(unroll)
        edge_ee.append(ee)
    return States(
        mult=tuple(mult),
        init_edge=tuple(init_edge),
        init_unroll=tuple(init_unroll),
        edge_ee=tuple(edge_ee),
    )


class Case:
    """Per-case volumes of one level instance (section 6), vectorised over the batch."""

    def __init__(
        self,
        level: MaestroLevel,
        sizes: Sizes,
        states: States,
        tv: TensorVars,
        case: tuple[int, ...],
        shared: dict[tuple[object, ...], IntArray] | None = None,
    ) -> None:
        self.level, self.sz, self.tv, self.case = level, sizes, tv, case
        # Arrays that depend only on part of the case, shared by the cases of one instance.
        self._shared = shared if shared is not None else {}
        self._flags: dict[str, BoolArray] = {}
        no = self._const("no", False)
        yes = self._const("yes", True)
        self.is_edge = tuple(
            states.init_edge[j] if s == INIT else (yes if s == EDGE else no)
            for j, s in enumerate(case)
        )
        self.unrolled = tuple(
            states.init_unroll[j] if s == INIT else no for j, s in enumerate(case)
        )
        self.has_ee = tuple(
            states.init_edge[j] if s == INIT else (states.edge_ee[j] if s == EDGE else no)
            for j, s in enumerate(case)
        )
        self.changing = max((j for j, s in enumerate(case) if s != INIT), default=-1)
        self.pe1 = sizes.pe == 1

    def _const(self, key: str, value: bool) -> BoolArray:
        hit = self._flags.get(key)
        if hit is None:
            hit = np.full(self.level.units.shape, value)
            self._flags[key] = hit
        return hit

    def _cached(self, key: tuple[object, ...], make: Callable[[], IntArray]) -> IntArray:
        hit = self._shared.get(key)
        if hit is None:
            hit = make()
            self._shared[key] = hit
        return hit

    def _tile(self, j: int, v: str) -> IntArray:
        """``m^e`` of ``v`` where directive ``j`` is at an edge in this case, else ``m``."""
        s, sz = self.case[j], self.sz
        if s != INIT:
            return sz.me[v] if s == EDGE else sz.m[v]
        return self._cached(("tile", j, v), lambda: np.where(self.is_edge[j], sz.me[v], sz.m[v]))

    def _states_of(self, js: list[int]) -> tuple[int, ...]:
        return tuple(self.case[j] for j in js)

    # --- helpers ------------------------------------------------------------------------
    def _spatial_of(self, vars_: tuple[str, ...]) -> list[int]:
        lv = self.level
        return [lv.index(v) for v in vars_ if lv.kinds[lv.index(v)] is SPATIAL]

    def _any_edge(self, js: list[int]) -> BoolArray:
        out = np.zeros(self.level.units.shape, dtype=bool)
        for j in js:
            out = out | self.is_edge[j]
        return out

    def _units_sum(
        self,
        vol: Callable[[bool, bool], IntArray],
        sp_edge: BoolArray,
        last: int,
        first_full: tuple[bool, bool] = (False, False),
        ee_unit: tuple[bool, bool] = (False, True),
    ) -> IntArray:
        """First unit + the others, with MAESTRO's last-fold bookkeeping (section 6, ``F_T``).

        ``vol(first, ee)`` is the per-unit volume of the first unit / another unit, of a
        full unit / the partial last unit; only the variants needed are computed. Spatial
        directive ``last`` says whether the last fold's last unit is partial.
        """
        pe, hee, key = self.sz.pe, self.has_ee[last], (last, self.case[last])
        f0 = vol(True, False)
        ff = f0 if first_full == (True, False) else vol(*first_full)
        normal = f0 + self._cached(("P-1",), lambda: self.level.units - 1) * ff
        if not sp_edge.any():
            return normal
        # The other units of the last fold (none when pe <= 1), the partial one apart.
        if hee.any():
            first = np.where(self.pe1 & hee, vol(True, True), f0)
            n_full = self._cached(("n_full", *key), lambda: np.maximum(pe - hee - 1, 0))
            n_ee = self._cached(("n_ee", *key), lambda: (hee & (pe > 1)).astype(np.int64))
            edge = first + n_full * ff + n_ee * vol(*ee_unit)
        else:
            edge = f0 + self._cached(("pe-1",), lambda: np.maximum(pe - 1, 0)) * ff
        return np.where(sp_edge, edge, normal)

    # --- inputs -------------------------------------------------------------------------
    def _mapped_spatial(self, vars_: tuple[str, ...], first: bool, ee: bool) -> IntArray | int:
        """Product of the spatial factors of ``GetPEMappedVolume`` (per-unit input tile)."""
        sz = self.sz
        ret: IntArray | int = 1
        for j in self._spatial_of(vars_):
            v = self.level.vars[j]
            if first or ee:
                sp = np.where(self.pe1 | ee, sz.me[v], sz.m[v])
            else:
                sp = np.where(self.pe1, 1, sz.m[v])
            ret = ret * np.where(self.is_edge[j], sp, sz.m[v])
        return ret

    def _inited(self, vars_: tuple[str, ...]) -> BoolArray:
        """``reset_T``: an inner loop of the tensor wrapped around (Init, not unrolled)."""
        lv, ell = self.level, self.changing
        inited = np.zeros(lv.units.shape, dtype=bool)
        for j in range(ell + 1, len(self.case)):
            if lv.vars[j] in vars_ and self.case[j] == INIT:
                inited = inited | ~self.unrolled[j]
        return inited

    def _ingress_base(self, vars_: tuple[str, ...], inited: BoolArray) -> IntArray:
        """Product of the temporal factors of ``GetPEIngressVolume`` (same for every unit;
        in the all-Init case, of ``GetPEMappedVolume``)."""
        lv, sz, ell = self.level, self.sz, self.changing
        ret = self._cached(("ones",), lambda: np.ones(lv.units.shape, dtype=np.int64))
        for j, (kind, v) in enumerate(zip(lv.kinds, lv.vars, strict=True)):
            if v not in vars_ or kind is not TEMPORAL:
                continue
            s = self.case[j]
            if s == INIT:
                f = self._tile(j, v)
            elif j == ell:
                f = np.where(inited, sz.m[v], np.maximum(sz.u[v], 1))
            else:
                f = sz.m[v]
            ret = ret * f
        return ret

    def _ingress_spatial(
        self, vars_: tuple[str, ...], inited: BoolArray, first: bool, ee: bool
    ) -> IntArray | int:
        """Product of the spatial factors of ``GetPEIngressVolume`` for one kind of unit."""
        lv, sz, ell = self.level, self.sz, self.changing
        ret: IntArray | int = 1
        for j in self._spatial_of(vars_):
            v, s = lv.vars[j], self.case[j]
            mapped = sz.me[v] if ee else sz.m[v]
            unique = sz.ue[v] if ee else sz.u[v]
            if first:
                f = mapped
            elif s == INIT:
                f = mapped if j <= ell else unique
            elif j == ell:
                f = np.where(inited, mapped, unique)
            else:
                f = mapped
            ret = ret * f
        return ret

    def ingress(self, vars_: tuple[str, ...]) -> IntArray:
        """Words of one input tensor sent over this level's NoC this step (``F_T``).

        Outside the changing loop Init/Steady/Edge give the same factors on every mapping
        where the case occurs, so the result depends on the changing loop and the states of
        the tensor's spatial directives only, and is shared by the cases that agree on them.
        """
        lv, ell = self.level, self.changing
        if ell >= 0 and lv.vars[ell] not in vars_:
            return self._cached(("zero",), lambda: np.zeros(lv.units.shape, dtype=np.int64))
        sp = self._spatial_of(vars_)
        key = ("F", vars_, ell, self.case[ell] if ell >= 0 else INIT, self._states_of(sp))
        return self._cached(key, lambda: self._ingress(vars_, sp))

    def _ingress(self, vars_: tuple[str, ...], sp: list[int]) -> IntArray:
        inited = self._inited(vars_)
        base = self._ingress_base(vars_, inited)
        if not sp:
            return base
        # The unit sum is linear in the per-unit volume: sum the spatial factors only.

        def spatial(first: bool, ee: bool) -> IntArray:
            if self.changing < 0:
                f = self._mapped_spatial(vars_, first, ee)
            else:
                f = self._ingress_spatial(vars_, inited, first, ee)
            assert isinstance(f, np.ndarray)
            return f

        return base * self._units_sum(spatial, self._any_edge(sp), sp[-1])

    # --- outputs ------------------------------------------------------------------------
    def _egress_base(self, psum: bool, start: int = 0) -> IntArray:
        """Product of the temporal factors of ``GetPEEgressVolume`` (same for every unit)
        over directives ``start``.. (at least one is temporal); the products of equal
        suffixes of the case are shared between cases."""
        kinds, case = self.level.kinds, self.case
        j = kinds.index(TEMPORAL, start)

        def make() -> IntArray:
            f = self._egress_factor(j, psum)
            if TEMPORAL not in kinds[j + 1 :]:
                return f
            return f * self._egress_base(psum, j + 1)

        return self._cached(("eb", psum, case[j:]), make)

    def _egress_factor(self, j: int, psum: bool) -> IntArray:
        tv, v = self.tv, self.level.vars[j]
        if v not in tv.output[1]:
            if psum:
                return self._tile(j, v)
            return self._cached(("ones",), lambda: np.ones(self.level.units.shape, dtype=np.int64))
        return self._tile(j, WINDOW_OF[v][1] if (tv.windows and v in WINDOW_OF) else v)

    def _egress_spatial(self, psum: bool, first: bool, ee: bool, reuse: bool) -> IntArray | int:
        """Product of the spatial factors of ``GetPEEgressVolume`` for one kind of unit."""
        lv, sz, tv, pe1 = self.level, self.sz, self.tv, self.pe1
        out_vars = tv.output[1]
        ret: IntArray | int = 1
        for j, (kind, v) in enumerate(zip(lv.kinds, lv.vars, strict=True)):
            if kind is not SPATIAL:
                continue
            s, edge = self.case[j], self.is_edge[j]
            if v not in out_vars:
                if not psum:
                    continue
                other = sz.m[v] if first else np.where(sz.u[v] != 0, sz.u[v], 1)
                if s == INIT:
                    f = np.where(edge, sz.me[v], other) if ee else other
                elif s == STEADY:
                    f = other
                elif first or ee:
                    f = np.where(pe1, sz.me[v], sz.ue[v] if ee else sz.m[v])
                else:
                    f = np.where(pe1, 1, other)
                ret = ret * f
                continue
            a = WINDOW_OF[v][1] if (tv.windows and v in WINDOW_OF) else v
            other = sz.m[a] if first else np.where(sz.u[a] != 0, sz.u[a], 1)
            if s == INIT:
                if ee:
                    at_edge = np.where(pe1, sz.me[a], sz.ue[a] if reuse else sz.me[a])
                    f = np.where(edge, at_edge, other)
                else:
                    f = other
            elif s == STEADY:
                f = other
            elif first or ee:
                # MAESTRO reads the input-space size here when one unit is active.
                f = np.where(pe1, sz.me[v], sz.ue[a] if ee else sz.m[a])
            else:
                f = np.where(pe1, 1, other)
            ret = ret * f
        return ret

    # The unit sums below are linear in the per-unit volume, whose temporal part is the same
    # for every unit: each is (temporal product) x (unit sum of the spatial factors), and the
    # latter depends only on the states of the spatial directives.
    def egress(self) -> IntArray:
        """Output words sent upstream this step (``G``)."""
        sp = self._spatial_of(self.tv.output[1])

        def units() -> IntArray:
            if not sp:
                return self._spatial_array(False, True, False, True)
            return self._units_sum(
                lambda first, ee: self._spatial_array(False, first, ee, True),
                self._any_edge(sp),
                sp[-1],
            )

        return self._egress_base(False) * self._cached(("G", self._states_of(sp)), units)

    def critical_psums(self) -> IntArray:
        """MACs of the busiest unit this step (``mu``; <= 0 means the case is skipped)."""
        sp = self._spatial_of(self.tv.output[1])
        sp_all = [j for j, k in enumerate(self.level.kinds) if k is SPATIAL]

        def unit() -> IntArray:
            base = self._spatial_array(True, True, False, True)
            if not sp:
                return base
            cond = self._any_edge(sp) & self.pe1 & self.has_ee[sp[-1]]
            if not cond.any():
                return base
            return np.where(cond, self._spatial_array(True, True, True, True), base)

        return self._egress_base(True) * self._cached(("mu", self._states_of(sp_all)), unit)

    def macs(self) -> IntArray:
        """MACs over all units this step (``M``)."""
        sp_all = [j for j, k in enumerate(self.level.kinds) if k is SPATIAL]

        def units() -> IntArray:
            return self._units_sum(
                lambda first, ee: self._spatial_array(True, first, ee, first),
                self._any_edge(sp_all),
                sp_all[-1],
                first_full=(True, False),
            )

        return self._egress_base(True) * self._cached(("M", self._states_of(sp_all)), units)

    def _spatial_array(self, psum: bool, first: bool, ee: bool, reuse: bool) -> IntArray:
        f = self._egress_spatial(psum, first, ee, reuse)
        return (
            f if isinstance(f, np.ndarray) else np.full(self.level.units.shape, f, dtype=np.int64)
        )

    # --- child dimensions ----------------------------------------------------------------
    def child_edge_mask(self, ee: bool, start: int = 0) -> IntArray:
        """Which directives hand their edge tile to the sub-clusters, as a bit mask.

        Bit ``j`` set: the sub-cluster dimension of directive ``j``'s variable is ``m^e``,
        else ``m`` (``ConstructSubClusterDimension``; ``ee`` for the partial last unit).
        Only directives ``start``.. count; equal suffixes of cases share their masks.
        """
        lv, case = self.level, self.case
        if start == len(case):
            return self._cached(("zero",), lambda: np.zeros(lv.units.shape, dtype=np.int64))

        def make() -> IntArray:
            j, rest = start, self.child_edge_mask(ee, start + 1)
            if case[j] == STEADY:
                return rest
            edge = self.is_edge[j]
            if lv.kinds[j] is SPATIAL:
                edge = edge & (self.pe1 | ee)
            return rest | (edge.astype(np.int64) << j)

        return self._cached(("cm", ee, case[start:]), make)


def child_dims(
    level: MaestroLevel, sizes: Sizes, rows: IntArray, mask: IntArray
) -> dict[str, IntArray]:
    """Sub-cluster dimensions of the parent mappings ``rows`` for edge bit masks ``mask``."""
    return {
        v: np.where((mask >> j) & 1 == 1, sizes.me[v][rows], sizes.m[v][rows])
        for j, v in enumerate(level.vars)
    }


def take_level(level: MaestroLevel, rows: IntArray) -> MaestroLevel:
    """The level's arrays at ``rows`` (a sub-batch, rows may repeat)."""
    return MaestroLevel(
        kinds=level.kinds,
        vars=level.vars,
        size=tuple(a[rows] for a in level.size),
        offset=tuple(a[rows] for a in level.offset),
        units=level.units[rows],
        dims={v: d[rows] for v, d in level.dims.items()},
    )


def take_sizes(sizes: Sizes, rows: IntArray) -> Sizes:
    """The tile sizes at ``rows``."""
    return Sizes(
        m={v: a[rows] for v, a in sizes.m.items()},
        u={v: a[rows] for v, a in sizes.u.items()},
        me={v: a[rows] for v, a in sizes.me.items()},
        ue={v: a[rows] for v, a in sizes.ue.items()},
        pe=sizes.pe[rows],
    )
