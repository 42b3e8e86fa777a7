"""MAESTRO's per-case analysis of one mapping at a time, compiled with numba.

``docs/maestro_model.md`` sections 4-9, per mapping row. A searcher's batch mixes loop
orders, spatial dimensions, cluster sizes and numbers of levels, so the template is data
here: :func:`analyze_rows` completes each row's levels
(:func:`complete_row`: every level is ``D`` directives in
loop order, ``D`` being the number of input-tensor variables) and analyses them, so a row
only pays for the iteration cases it has and a batch of any size is one compiled call.
Numpy assembles the report (:mod:`mapsearch.costmodel.maestro`).

:func:`analyze_rows` fills *case tables*, one per analysed level instance (the top level,
then each distinct sub-cluster problem of its cases, recursively): the live cases with
their occurrences, ingress and egress words, and either the busiest unit's MACs (innermost
level) or the sub-cluster tables the case waits for. None of it depends on NoC bandwidth or
latency, off-chip bandwidth or vector width, which :func:`time_rows` and
:func:`runtime_rows` apply afterwards (once, or for a whole sweep of hardware speeds).

Variables are numbered per layer (``LayerVars``): the input-tensor variables in sorted
order, then the output-space aliases ``Y'`` and ``X'`` of windowed layers.
"""

from __future__ import annotations

import numba as nb
import numpy as np
import numpy.typing as npt

INIT, STEADY, EDGE = 0, 1, 2
#: Directive kind codes (``costmodel.batch.KIND_CODES``).
TEMPORAL, SPATIAL, CLUSTER = 0, 1, 2

# Columns of the case table (``cases``), one row per live case.
OCC = 0  # occurrences
INGRESS_INPUT = 1  # input words sent over the level's NoC this step
INGRESS_FILTER = 2  # filter words
EGRESS = 3  # output words this step
MU = 4  # MACs of the busiest unit
ACTIVE = 5  # units working in this case
KID = 6  # table of the sub-cluster problem of the full units (-1: none)
KID_EE = 7  # table of the partial last unit's problem (-1: none)
FLAGS = 8  # bit 0: the all-Init case; bit 1: the partial last unit decides (edge-edge)
STATES = 9  # the case: state of directive j (INIT, STEADY, EDGE) in base-3 digit j
N_CASE_COLS = 10

# Columns of the level-instance table (``tables``).
T_LEVEL, T_START, T_COUNT, T_PE, T_MASK = 0, 1, 2, 3, 4
N_TABLE_COLS = 5

# Columns of the per-row top-level counters (``top``).
L2_READ_INPUT, L2_READ_FILTER, L2_WRITE_OUTPUT, L1_OUTPUT, MACS = 0, 1, 2, 3, 4
L2_BUF_INPUT, L2_BUF_FILTER, L2_BUF_OUTPUT = 5, 6, 7
N_TOP_COLS = 8

# Columns of :func:`time_rows`'s output.
RUNTIME, PEAK_BW, AVG_BW, OFFCHIP_BW, UTIL = 0, 1, 2, 3, 4
DELAY_MIN, DELAY_MAX, DELAY_AVG = 5, 8, 11  # + 0 ingress, 1 egress, 2 compute
DIVIDE_BY_ZERO = 14
N_TIME_COLS = 15

IntArray = npt.NDArray[np.int64]
CodeArray = npt.NDArray[np.int8]

_jit = nb.njit(cache=True, error_model="numpy", nogil=True)
_inline = nb.njit(cache=True, error_model="numpy", nogil=True, inline="always")


@_inline
def _tdiv(a: int, b: int) -> int:
    """Integer division truncating toward zero (C++), for ``b > 0``."""
    q = abs(a) // b
    return -q if a < 0 else q


@_jit
def _level_sizes(kind, var, size, off, units, sdims, win, m, u, me, ue):
    """Section 6.3: mapped, unique and edge tile sizes per variable (into ``m``/``u``/``me``/
    ``ue``) from the level's static dimensions ``sdims``; returns the active units of the
    last fold of the first SpatialMap."""
    d = kind.shape[0]
    for j in range(d):
        v = var[j]
        D, M, Of = sdims[v], size[j], off[j]
        n = max(_tdiv(D - M, Of), 0)
        has_edge = (n * Of + M < D) or (M > D)
        m[v] = M
        u[v] = 0 if (kind[j] == TEMPORAL and D <= M) else min(M, Of)
        r = D - (n + 1) * Of
        if r < 0:
            r = D
        me[v] = r if has_edge else M
        ue[v] = max(Of - (M - r), 0)
    for k in range(win.shape[0]):
        v, w, o = win[k, 0], win[k, 1], win[k, 2]
        j = 0
        for jj in range(d):
            if var[jj] == v:
                j = jj
        m[o] = m[v] - m[w] + 1
        u[o] = min(off[j], size[j])
        me[o] = me[v] - me[w] + 1
        ue[o] = min(off[j], me[o])
    j = 0
    while kind[j] != SPATIAL:
        j += 1
    D, M, Of, P = sdims[var[j]], size[j], off[j], units
    if Of * (P - 1) + M < D:
        q = _tdiv(_tdiv(D - M, Of) + 1, P) - 1
        rem = D - (q + 1) * Of * P
        return 1 if rem < M else _tdiv(rem - M, Of) + 1
    if D <= M:
        return 1
    pe = _tdiv(D - M, Of) + 1
    return pe + 1 if Of * (pe - 1) + M < D else pe


@_jit
def _level_states(kind, var, size, off, units, idims, steady, edge, iedge, unroll, eee):
    """Section 6.4: Steady and Edge multiplicities of each directive for the instance
    dimensions ``idims``, whether its Init state is an edge / unrolled, and whether its
    spatial Edge state leaves the last active unit a partial tile."""
    for j in range(kind.shape[0]):
        D, M, Of = idims[var[j]], size[j], off[j]
        if kind[j] == TEMPORAL:
            unroll[j] = D <= M
            iedge[j] = D < M
            n = _tdiv(D - M, Of)
            steady[j] = n if (M < D and n > 0) else 0
            edge[j] = 1 if (not iedge[j] and n * Of + M < D) else 0
            eee[j] = False
        else:
            P = units
            cover = M + Of * (P - 1)
            unroll[j] = cover >= D
            iedge[j] = cover > D
            q = _tdiv(_tdiv(D - M, Of) + 1, P) - 1
            steady[j] = q if (cover < D and q > 0) else 0
            has_edge = not unroll[j] and (q + 1) * Of * P + cover > D and q * Of * P + cover != D
            rem = D - (q + 1) * Of * P
            active = 1 if rem < M else _tdiv(rem - M, Of) + 1
            eee[j] = (active - 1) * Of + M < rem
            edge[j] = 1 if (not iedge[j] and has_edge) else 0


@_inline
def _units_sum(f0, ff, f_first_ee, f_ee, units, pe, sp_edge, hee, pe1):
    """First unit + the others with MAESTRO's last-fold bookkeeping (section 6.5 ``F_T``):
    per-unit volumes of the first unit ``f0``, a full unit ``ff``, the first unit when it is
    the partial one ``f_first_ee`` and the partial last unit ``f_ee``."""
    if not sp_edge:
        return f0 + (units - 1) * ff
    if hee:
        first = f_first_ee if pe1 else f0
        return first + max(pe - 2, 0) * ff + (1 if pe > 1 else 0) * f_ee
    return f0 + max(pe - 1, 0) * ff


# Per-directive data of a level instance (``pos``), read by every case.
P_KIND, P_TENSORS, P_M, P_ME, P_M_OUT, P_ME_OUT, P_U1 = 0, 1, 2, 3, 4, 5, 6
N_P = 7
# Fields of a SpatialMap's tuple: its position, whether its variable indexes the output,
# the tile sizes of its variable (``V_``) and of its output alias (``A_``: the variable's
# own when it does not index the output). Tuples, not arrays, keep the per-case helpers free
# of reference counting.
S_POS, S_OUT, V_M, V_U, V_ME, V_UE, A_M, A_U, A_ME, A_UE = 0, 1, 2, 3, 4, 5, 6, 7, 8, 9


@_inline
def _ingress_factor(sp, s, edge, ell, inited, first, ee, pe1):
    """Factor of SpatialMap ``sp`` (state ``s``, at an edge or not) in
    ``GetPEIngressVolume`` (``GetPEMappedVolume`` in the all-Init case, ``ell < 0``) for one
    kind of unit."""
    if ell < 0:
        if not edge:
            return sp[V_M]
        if first or ee:
            return sp[V_ME] if (pe1 or ee) else sp[V_M]
        return 1 if pe1 else sp[V_M]
    mapped = sp[V_ME] if ee else sp[V_M]
    unique = sp[V_UE] if ee else sp[V_U]
    if first:
        return mapped
    if s == INIT:
        return mapped if sp[S_POS] <= ell else unique
    if sp[S_POS] == ell:
        return mapped if inited else unique
    return mapped


@_inline
def _egress_factor(sp, s, edge, psum, first, ee, reuse, pe1):
    """Factor of SpatialMap ``sp`` in ``GetPEEgressVolume`` for one kind of unit (``psum``:
    the MAC count's variant, which includes the variables outside the output)."""
    out = sp[S_OUT] != 0
    if not out and not psum:
        return 1
    other = sp[A_M] if first else (sp[A_U] if sp[A_U] != 0 else 1)
    if s == STEADY:
        return other
    if s == INIT:
        if ee and edge:
            if not out:
                return sp[V_ME]
            return sp[A_ME] if (pe1 or not reuse) else sp[A_UE]
        return other
    if first or ee:
        # MAESTRO reads the input-space size here when one unit is active.
        return sp[V_ME] if pe1 else (sp[A_UE] if ee else sp[A_M])
    return 1 if pe1 else other


@_inline
def _any_edge(order, e0, e1):
    """Whether any of a tensor's SpatialMaps (``order``, see :func:`_ingress_units`) is at
    an edge."""
    return (e0 if order[0] == 0 else e1) or (order[2] > 1 and (e0 if order[1] == 0 else e1))


@_inline
def _last(order, j0, j1):
    """Position of the last of a tensor's SpatialMaps (``order``)."""
    k = order[1] if order[2] > 1 else order[0]
    return j0 if k == 0 else j1


@_inline
def _egress_units(sa, sb, n, s0, e0, s1, e1, psum, first, ee, reuse, pe1):
    """Product of the egress factors of the level's ``n`` (1 or 2) SpatialMaps."""
    f = _egress_factor(sa, s0, e0, psum, first, ee, reuse, pe1)
    if n > 1:
        f *= _egress_factor(sb, s1, e1, psum, first, ee, reuse, pe1)
    return f


@_inline
def _ingress_units(sa, sb, order, s0, e0, s1, e1, ell, inited, first, ee, pe1):
    """Product of the ingress factors of a tensor's SpatialMaps; ``order`` = (first, second,
    count) of them among the level's (0 or 1), in the tensor's variable order."""
    f = 1
    for i in range(order[2]):
        if order[i] == 0:
            f *= _ingress_factor(sa, s0, e0, ell, inited, first, ee, pe1)
        else:
            f *= _ingress_factor(sb, s1, e1, ell, inited, first, ee, pe1)
    return f


@_inline
def _spatial_order(v0, v1, n_sp, tensor_vars):
    """A tensor's SpatialMaps among the level's ``n_sp`` (0: the first, on ``v0``; 1: the
    second, on ``v1``) in the tensor's variable order: (first, second, count)."""
    k0, k1, nk = 0, 0, 0
    for v in tensor_vars:
        for k in range(n_sp):
            if (v0 if k == 0 else v1) == v:
                if nk == 0:
                    k0 = k
                else:
                    k1 = k
                nk += 1
    return k0, k1, nk


@_jit
def _analyze_level(
    kind,
    var,
    size,
    off,
    units,
    sdims,
    idims,
    is_top,
    innermost,
    tmask,
    tvars,
    ntv,
    alias,
    win,
    cases,
    start,
    top,
    work,
    pos,
):
    """Analyse one level instance into ``cases[start:]``; return the number of live cases,
    the active units of the last fold and the bit mask of directives whose edge tile
    differs from the full tile. The sub-cluster edge masks of each case go to
    ``cases[:, KID]``/``cases[:, KID_EE]`` (resolved to tables by the caller).
    ``work`` and ``pos`` are scratch arrays.
    """
    d = kind.shape[0]
    m, u, me, ue = work[0], work[1], work[2], work[3]
    steady, edge, iedge, unroll, eee = work[4], work[5], work[6], work[7], work[8]
    case, is_edge, has_ee = work[9], work[10], work[11]
    pe = _level_sizes(kind, var, size, off, units, sdims, win, m, u, me, ue)
    _level_states(kind, var, size, off, units, idims, steady, edge, iedge, unroll, eee)
    pe1 = pe == 1
    # what every case reads, per directive and per SpatialMap
    # per input tensor: bits of the directives that are not unrolled
    not_unrolled_in = 0
    not_unrolled_w = 0
    n_sp = 0
    for j in range(d):
        v = var[j]
        out = tmask[2, v]
        a = alias[v] if out else v
        bits = (1 if tmask[0, v] else 0) | (2 if tmask[1, v] else 0) | (4 if out else 0)
        pos[j, P_KIND] = kind[j]
        pos[j, P_TENSORS] = bits
        pos[j, P_M], pos[j, P_ME] = m[v], me[v]
        pos[j, P_M_OUT], pos[j, P_ME_OUT] = m[a], me[a]
        pos[j, P_U1] = max(u[v], 1)
        if not unroll[j]:
            if bits & 1:
                not_unrolled_in |= 1 << j
            if bits & 2:
                not_unrolled_w |= 1 << j
        if kind[j] == SPATIAL:
            sp = (j, 1 if out else 0, m[v], u[v], me[v], ue[v], m[a], u[a], me[a], ue[a])
            if n_sp == 0:
                sa = sp
            sb = sp
            n_sp += 1
    # each tensor's SpatialMaps (0: the level's first, 1: its second) in the tensor's
    # variable order (section 6.5): (first, second, count)
    j0 = sa[S_POS]
    j1 = sb[S_POS]
    order_in = _spatial_order(var[j0], var[j1], n_sp, tvars[0, : ntv[0]])
    order_w = _spatial_order(var[j0], var[j1], n_sp, tvars[1, : ntv[1]])
    order_out = _spatial_order(var[j0], var[j1], n_sp, tvars[2, : ntv[2]])
    n = 0
    first_case = True
    # Cases (section 6.4), in MAESTRO's order: the all-Init case, then by the innermost
    # non-Init directive ell (Steady, then Edge); outside ell Init and Steady are merged
    # (equal volumes, 1 + Steady occurrences) and only Edge stays apart, enumerated with
    # the outermost directive slowest; inside ell everything is Init.
    for ell in range(-1, d):
        for s_ell in (STEADY, EDGE):
            if ell < 0:
                if s_ell == EDGE:
                    continue
                base_occ = 1
            else:
                base_occ = steady[ell] if s_ell == STEADY else edge[ell]
                if base_occ == 0:
                    continue
            n_edges = 0
            for j in range(max(ell, 0)):
                if edge[j] > 0:
                    n_edges += 1
            for pattern in range(1 << n_edges):
                occ = base_occ
                bit = n_edges - 1
                for j in range(d):
                    if j < ell:
                        s = INIT
                        if edge[j] > 0:
                            if (pattern >> bit) & 1:
                                s = EDGE
                            bit -= 1
                        occ *= 1 + steady[j] if s == INIT else edge[j]
                    elif j == ell:
                        s = s_ell
                    else:
                        s = INIT
                    case[j] = s
                    if s == INIT:
                        is_edge[j] = iedge[j]
                        has_ee[j] = iedge[j]
                    else:
                        is_edge[j] = s == EDGE
                        has_ee[j] = eee[j] if s == EDGE else 0
                # an inner loop of the tensor that wraps around makes its tile new (reset_T)
                above = ~((1 << (ell + 1)) - 1)
                inited_in = (not_unrolled_in & above) != 0
                inited_w = (not_unrolled_w & above) != 0
                # temporal products: egress (outputs), MACs (every variable), ingress
                eb = 1
                eb_psum = 1
                base_in = 1
                base_w = 1
                for j in range(d):
                    if pos[j, P_KIND] != TEMPORAL:
                        continue
                    bits = pos[j, P_TENSORS]
                    e = is_edge[j] != 0
                    tile = pos[j, P_ME] if e else pos[j, P_M]
                    if bits & 4:
                        f = pos[j, P_ME_OUT] if e else pos[j, P_M_OUT]
                        eb *= f
                        eb_psum *= f
                    else:
                        eb_psum *= tile
                    if bits & 3:
                        if case[j] == INIT:
                            f_in = f_w = tile
                        elif j == ell:
                            f_in = pos[j, P_M] if inited_in else pos[j, P_U1]
                            f_w = pos[j, P_M] if inited_w else pos[j, P_U1]
                        else:
                            f_in = f_w = pos[j, P_M]
                        if bits & 1:
                            base_in *= f_in
                        if bits & 2:
                            base_w *= f_w
                s0, e0 = case[j0], is_edge[j0] != 0
                s1, e1 = case[j1], is_edge[j1] != 0
                # egress G (section 6.5)
                g0 = _egress_units(sa, sb, n_sp, s0, e0, s1, e1, False, True, False, True, pe1)
                n_out = order_out[2]
                g = g0
                if n_out > 0:
                    g = _units_sum(
                        g0,
                        _egress_units(sa, sb, n_sp, s0, e0, s1, e1, False, False, False, True, pe1),
                        _egress_units(sa, sb, n_sp, s0, e0, s1, e1, False, True, True, True, pe1),
                        _egress_units(sa, sb, n_sp, s0, e0, s1, e1, False, False, True, True, pe1),
                        units,
                        pe,
                        _any_edge(order_out, e0, e1),
                        has_ee[_last(order_out, j0, j1)] != 0,
                        pe1,
                    )
                g *= eb
                # ingress F of both input tensors
                f_in = 0
                f_w = 0
                for t in range(2):
                    if ell >= 0 and not (pos[ell, P_TENSORS] >> t) & 1:
                        continue
                    base = base_in if t == 0 else base_w
                    order = order_in if t == 0 else order_w
                    if order[2] == 0:
                        f = base
                    else:
                        inited = inited_in if t == 0 else inited_w
                        f = base * _units_sum(
                            _ingress_units(
                                sa, sb, order, s0, e0, s1, e1, ell, inited, True, False, pe1
                            ),
                            _ingress_units(
                                sa, sb, order, s0, e0, s1, e1, ell, inited, False, False, pe1
                            ),
                            _ingress_units(
                                sa, sb, order, s0, e0, s1, e1, ell, inited, True, True, pe1
                            ),
                            _ingress_units(
                                sa, sb, order, s0, e0, s1, e1, ell, inited, False, True, pe1
                            ),
                            units,
                            pe,
                            _any_edge(order, e0, e1),
                            has_ee[_last(order, j0, j1)] != 0,
                            pe1,
                        )
                    if t == 0:
                        f_in = f
                    else:
                        f_w = f
                if first_case and is_top:
                    top[L2_BUF_INPUT] = 2 * f_in
                    top[L2_BUF_FILTER] = 2 * f_w
                    top[L2_BUF_OUTPUT] = 2 * g
                first_case = False
                # MACs of the busiest unit (mu) and, at the top, of all units
                p0 = _egress_units(sa, sb, n_sp, s0, e0, s1, e1, True, True, False, True, pe1)
                p_ee = p0
                if pe1 or is_top:
                    p_ee = _egress_units(sa, sb, n_sp, s0, e0, s1, e1, True, True, True, True, pe1)
                mu = p0
                if (
                    n_out > 0
                    and pe1
                    and has_ee[_last(order_out, j0, j1)]
                    and _any_edge(order_out, e0, e1)
                ):
                    mu = p_ee
                mu *= eb_psum
                macs = 0
                if is_top:
                    p_other_ee = _egress_units(
                        sa, sb, n_sp, s0, e0, s1, e1, True, False, True, False, pe1
                    )
                    macs = eb_psum * _units_sum(
                        p0, p0, p_ee, p_other_ee, units, pe, e0 or e1, has_ee[j1] != 0, pe1
                    )
                    top[L2_WRITE_OUTPUT] += occ * g
                    top[L1_OUTPUT] += occ * macs
                if mu <= 0:
                    continue  # skipped for runtime and input traffic (section 6.5)
                row = start + n
                cases[row, OCC] = occ
                cases[row, INGRESS_INPUT] = f_in
                cases[row, INGRESS_FILTER] = f_w
                cases[row, EGRESS] = g
                cases[row, MU] = mu
                cases[row, ACTIVE] = pe if e0 else units
                use_ee = e0 and has_ee[j0] != 0
                cases[row, FLAGS] = (1 if ell < 0 else 0) | (2 if use_ee else 0)
                code = 0
                for j in range(d - 1, -1, -1):
                    code = 3 * code + case[j]
                cases[row, STATES] = code
                if is_top:
                    top[L2_READ_INPUT] += occ * f_in
                    top[L2_READ_FILTER] += occ * f_w
                    top[MACS] += occ * macs
                if not innermost:
                    # Which directives hand their edge tile to the sub-clusters
                    # (``ConstructSubClusterDimension``), for full units and the partial one.
                    mask_n = 0
                    mask_ee = 0
                    for j in range(d):
                        if case[j] == STEADY or not is_edge[j]:
                            continue
                        mask_ee |= 1 << j
                        if kind[j] != SPATIAL or pe1:
                            mask_n |= 1 << j
                    cases[row, KID] = mask_n
                    cases[row, KID_EE] = mask_ee
                n += 1
    differs = 0
    for j in range(d):
        if me[var[j]] != m[var[j]]:
            differs |= 1 << j
    return n, pe, differs


def most_cases(d: int) -> int:
    """Bound on the live cases of a level instance of ``d`` directives (``2^(d+1) - 1``);
    each case asks for at most two sub-cluster tables."""
    return 1 << (d + 1)


@_jit
def maestro_output_to_input(size: int, offset: int, filter_size: int) -> tuple[int, int]:
    """MAESTRO's ``Y'(M, O) -> Y(M + M_R - 1, O)`` (section 3, step 1): stride is not
    applied here but by :func:`maestro_stride` afterwards."""
    return size + filter_size - 1, offset


@_jit
def maestro_stride(
    size: int, offset: int, stride: int, filter_size: int, top: bool
) -> tuple[int, int]:
    """MAESTRO's stride rewrite of a window directive (section 3, step 4): when ``M >= R``,
    a tile of ``k = floor((M + s - R) / s)`` outputs spans ``k * min(s, R) + max(R - s, 0)``
    rows and advances by ``k * s`` (``k * R`` below the top level when ``R < s``); ``R`` is
    the layer's full filter size."""
    if stride == 1 or size < filter_size:
        return size, offset
    k = (size + stride - filter_size) // stride
    new_offset = k * (filter_size if (not top and filter_size < stride) else stride)
    return k * min(stride, filter_size) + max(filter_size - stride, 0), new_offset


@_jit
def complete_row(
    kinds: CodeArray,
    dims: CodeArray,
    sizes: IntArray,
    offsets: IntArray,
    num_pes: int,
    codes: IntArray,
    layer_dims: IntArray,
    windows: IntArray,
    tvars: IntArray,
    tlen: IntArray,
    kind: IntArray,
    var: IntArray,
    size: IntArray,
    off: IntArray,
    sdims: IntArray,
    units: IntArray,
    col: IntArray,
    work: IntArray,
) -> tuple[int, bool, bool, int, int]:
    """Complete the levels of one mapping (``kinds``..``offsets``: its directives as codes,
    padded with ``NONE``; at most four levels) on a layer (``LayerConsts``)
    into ``kind``/``var``/``size``/
    ``off`` (``(L, D)``: each level's directives in loop order, ``D`` = number of
    input-tensor variables, every level mapping them all), ``sdims`` (``(L, NV)``: each
    level's static dimensions by variable, section 3 step 5) and ``units`` (``(L,)``:
    ``floor(num_pes / prod c_i)`` clamped to >= 1, then ``c_1..c_m``). ``col`` (at least
    ``(levels, D)``) and ``work`` (at least ``(12, D)``) are scratch.

    Returns ``(L, ok, too_few_pes, l1_words, busy_pes)``. ``ok`` is False when MAESTRO cannot
    read the mapping (``_maestro_layout.row_problems`` says why); nothing else is set then.
    ``l1_words`` is MAESTRO's L1 requirement (section 7: twice the innermost mapped tile of
    each tensor, the output in input space); ``busy_pes`` the most PEs that ever work at
    once, read as every semantics reads the mapping
    (:attr:`mapsearch.directives.nest.StepModel.busy_pes`), at least 1.
    """
    D = kind.shape[1]
    n = kinds.shape[0]
    # Cut at every Cluster: the column of each level's directive on each variable (-1:
    # none). A level needs one or two SpatialMaps, known variables, each mapped once.
    ok = True
    L = 1
    n_spatial = 0
    product = 1
    col[0, :] = -1
    for j in range(n):
        k = kinds[j]
        if k == CLUSTER:
            ok = ok and 1 <= n_spatial <= 2
            units[L] = sizes[j]
            product *= sizes[j]
            col[L, :] = -1
            L += 1
            n_spatial = 0
        elif k in (TEMPORAL, SPATIAL):
            if k == SPATIAL:
                n_spatial += 1
            v = codes[0, dims[j]] if dims[j] >= 0 else -1
            if v < 0 or col[L - 1, v] >= 0:
                ok = False
            else:
                col[L - 1, v] = j
    ok = ok and 1 <= n_spatial <= 2
    for i in range(L):  # Y' needs the level's R (X' its S) to be converted
        for w in range(windows.shape[0]):
            c = col[i, windows[w, 0]]
            if c >= 0 and codes[1, dims[c]] and col[i, windows[w, 1]] < 0:
                ok = False
    if not ok:
        return L, False, False, 0, 1
    top_units = num_pes // product
    units[0] = max(top_units, 1)

    kd, sz, of, rank, order = work[0], work[1], work[2], work[3], work[4]
    psize, poff, ppos, static = work[5], work[6], work[7], work[8]
    for v in range(D):
        static[v] = layer_dims[v]
        ppos[v] = 0
    for i in range(L):
        for v in range(D):
            c = col[i, v]
            if c >= 0:
                kd[v], sz[v], of[v], rank[v] = kinds[c], sizes[c], offsets[c], c
            elif i == 0:  # step 3: TemporalMap(D, D) after the directives, alphabetically
                kd[v], sz[v], of[v], rank[v] = TEMPORAL, static[v], static[v], n + v
            else:  # step 2: the parent's, in front, in reverse parent order
                kd[v], sz[v], of[v], rank[v] = TEMPORAL, psize[v], poff[v], -1 - ppos[v]
        for w in range(windows.shape[0]):
            v, stride, filter_size = windows[w, 0], windows[w, 3], windows[w, 4]
            c = col[i, v]
            if c >= 0 and codes[1, dims[c]]:  # step 1
                sz[v], of[v] = maestro_output_to_input(sz[v], of[v], sizes[col[i, windows[w, 1]]])
            sz[v], of[v] = maestro_stride(sz[v], of[v], stride, filter_size, i == 0)  # step 4
        for j in range(D):  # loop order: the variables by rank (insertion sort)
            x = order[j] = j
            p = j - 1
            while p >= 0 and rank[order[p]] > rank[x]:
                order[p + 1] = order[p]
                p -= 1
            order[p + 1] = x
        sdims[i, :] = 0
        for j in range(D):
            v = order[j]
            kind[i, j], var[i, j], size[i, j], off[i, j] = kd[v], v, sz[v], of[v]
            ppos[v] = j
        for v in range(D):
            sdims[i, v] = static[v]
            psize[v], poff[v] = sz[v], of[v]
            static[v] = min(sz[v], static[v])  # step 5
    l1 = 0
    for t in range(3):
        tile = 1
        for k in range(tlen[t]):
            tile *= psize[tvars[t, k]]
        l1 += 2 * tile
    return (
        L,
        True,
        top_units < 1,
        l1,
        _busy_pes(kinds, dims, sizes, offsets, L, codes, layer_dims, windows, units, col, work[9:]),
    )


@_jit
def _busy_pes(
    kinds: CodeArray,
    dims: CodeArray,
    sizes: IntArray,
    offsets: IntArray,
    L: int,
    codes: IntArray,
    layer_dims: IntArray,
    windows: IntArray,
    units: IntArray,
    col: IntArray,
    work: IntArray,
) -> int:
    """The most PEs that ever work at once (at least 1): per level, the units that get a
    slice of every SpatialMap of the level (``docs/semantics.md`` rules 1-4, the arithmetic
    of :mod:`mapsearch.directives.nest` on one row), multiplied over the levels. ``work``:
    three rows of scratch."""
    D = col.shape[1]
    extent, size, off = work[0], work[1], work[2]
    for v in range(D):
        extent[v] = layer_dims[v]
    busy = 1
    for i in range(L):
        for v in range(D):
            c = col[i, v]
            if c >= 0:
                size[v], off[v] = sizes[c], offsets[c]
        for w in range(windows.shape[0]):  # rule 2: Y'(M, O) read in input rows
            v, stride = windows[w, 0], windows[w, 3]
            c = col[i, v]
            if c >= 0 and codes[1, dims[c]]:
                cf = col[i, windows[w, 1]]
                f = sizes[cf] if cf >= 0 else windows[w, 4]
                size[v], off[v] = (size[v] - 1) * stride + f, off[v] * stride
        level = units[i]
        for v in range(D):
            c = col[i, v]
            if c >= 0 and kinds[c] == SPATIAL:  # slice_count
                level = min(level, max(-((size[v] - extent[v]) // max(off[v], 1)), 0) + 1)
        busy *= level
        for v in range(D):
            if col[i, v] >= 0:
                extent[v] = min(size[v], extent[v])  # child_extent
    return max(busy, 1)


# Rows of the per-row results of :func:`analyze_rows` (``info``, ``(N_INFO, B)``).
R_LEVELS, R_OK, R_TOO_FEW_PES, R_L1_WORDS, R_BUSY_PES = 0, 1, 2, 3, 4
N_INFO = 5


@_jit
def analyze_rows(
    first_row,
    n_cases,
    n_tables,
    most,
    kinds,
    dims,
    sizes,
    offsets,
    num_pes,
    codes,
    layer_dims,
    tmask,
    tvars,
    ntv,
    alias,
    win,
    cases,
    tables,
    row_tables,
    top,
    info,
    level_var,
    level_units,
):
    """Complete and analyse rows ``first_row``.. of a batch of mappings (directive codes,
    sizes and offsets ``(B, n)``; any templates of at most ``level_var.shape[1]`` levels) into
    ``cases`` and ``tables`` (layer: ``LayerVars`` and ``LayerConsts`` arrays; ``win`` is
    ``LayerConsts.windows``; tables shared by all rows, ``n_cases``/``n_tables`` of them already
    used; ``row_tables[b]`` = first table and count of row ``b``), ``top`` (the top-level
    counters), ``info`` (``R_`` rows; a row MAESTRO cannot read has ``R_OK`` 0 and no
    tables) and each row's loop order and units per level (``level_var``, ``level_units``).

    Returns the number of cases and tables used and the first row not analysed: when the
    buffers could overflow (``most``: :func:`most_cases` of the layer) the caller grows them
    and calls again from that row.
    """
    B, L_max, d = level_var.shape
    kind = np.zeros((L_max, d), np.int64)
    var = np.zeros((L_max, d), np.int64)
    size = np.zeros((L_max, d), np.int64)
    off = np.zeros((L_max, d), np.int64)
    sdims = np.zeros((L_max, alias.shape[0]), np.int64)
    units = np.zeros(L_max, np.int64)
    level_col = np.zeros((L_max, d), np.int64)
    scratch = np.zeros((12, d), np.int64)
    work = np.zeros((12, max(alias.shape[0], d)), np.int64)
    pos = np.zeros((d, N_P), np.int64)
    for b in range(first_row, B):
        L, ok, too_few, l1, busy = complete_row(
            kinds[b],
            dims[b],
            sizes[b],
            offsets[b],
            num_pes,
            codes,
            layer_dims,
            win,
            tvars,
            ntv,
            kind,
            var,
            size,
            off,
            sdims,
            units,
            level_col,
            scratch,
        )
        info[R_LEVELS, b] = L
        info[R_OK, b] = ok
        info[R_TOO_FEW_PES, b] = too_few
        info[R_L1_WORDS, b] = l1
        info[R_BUSY_PES, b] = busy
        top[b, :] = 0
        row_tables[b, 0] = n_tables
        row_tables[b, 1] = 0
        if not ok:
            continue
        level_var[b, :L] = var[:L]
        level_units[b, :L] = units[:L]
        row_first_table = n_tables
        row_first_case = n_cases
        tables[n_tables, T_LEVEL] = 0
        for v in range(layer_dims.shape[0]):
            tables[n_tables, N_TABLE_COLS + v] = layer_dims[v]
        n_tables += 1
        t = row_first_table
        while t < n_tables:
            if n_cases + most > cases.shape[0] or n_tables + 2 * most > tables.shape[0]:
                return row_first_case, row_first_table, b
            lv = tables[t, T_LEVEL]
            innermost = lv == L - 1
            n, pe, differs = _analyze_level(
                kind[lv],
                var[lv],
                size[lv],
                off[lv],
                units[lv],
                sdims[lv],
                tables[t, N_TABLE_COLS:],
                t == row_first_table,
                innermost,
                tmask,
                tvars,
                ntv,
                alias,
                win,
                cases,
                n_cases,
                top[b],
                work,
                pos,
            )
            tables[t, T_START] = n_cases
            tables[t, T_COUNT] = n
            tables[t, T_PE] = pe
            if not innermost:
                # one sub-cluster table per distinct (edge mask) problem of this instance
                first_child = n_tables
                has_full = pe > 1
                for c in range(n_cases, n_cases + n):
                    use_ee = (cases[c, FLAGS] & 2) != 0
                    for col in (KID, KID_EE):
                        need = (not use_ee or has_full) if col == KID else use_ee
                        mask = cases[c, col] & differs
                        cases[c, col] = -1
                        if not need:
                            continue
                        found = -1
                        for k in range(first_child, n_tables):
                            if tables[k, T_MASK] == mask:
                                found = k
                                break
                        if found < 0:
                            found = n_tables
                            n_tables += 1
                            tables[found, T_LEVEL] = lv + 1
                            tables[found, T_MASK] = mask
                            for j in range(d):
                                v = var[lv, j]
                                tables[found, N_TABLE_COLS + v] = (
                                    work[2, v] if (mask >> j) & 1 else work[0, v]
                                )
                        cases[c, col] = found
            n_cases += n
            t += 1
        row_tables[b, 1] = n_tables - row_first_table
    return n_cases, n_tables, B


@_inline
def noc_delay(words, bw, latency):
    """MAESTRO's NoC delay: ``latency + ceil(words / bw) - 1`` (0 words: ``latency - 1``)."""
    return (words + bw - 1) // bw + latency - 1


@_inline
def _step(cases, c, k, bw, latency):
    """Delay of case ``c`` with compute delay ``k`` (section 6.7), and its ingress and
    egress delays: ``k + delta(ingress)`` in the all-Init case, else ``max(delta(ingress),
    k, delta(egress))`` (double buffering)."""
    d_in = noc_delay(cases[c, INGRESS_INPUT] + cases[c, INGRESS_FILTER], bw, latency)
    d_out = noc_delay(cases[c, EGRESS], bw, latency)
    if cases[c, FLAGS] & 1:
        return k + d_in, d_in, d_out
    return max(max(d_out, k), d_in), d_in, d_out


@_jit
def _level_runtimes(cases, tables, first, count, L, bw, latency, vw, runtime, util):
    """Runtime (``sum occ * t``) and average utilised units of every table of one row
    (children after parents, so computed last to first), section 6.7-6.8."""
    for t in range(first + count - 1, first - 1, -1):
        innermost = tables[t, T_LEVEL] == L - 1
        pe = tables[t, T_PE]
        total = 0
        used = 0.0
        steps = 0
        for c in range(tables[t, T_START], tables[t, T_START] + tables[t, T_COUNT]):
            occ = cases[c, OCC]
            if innermost:
                k = (cases[c, MU] + vw - 1) // vw
                used += occ * cases[c, ACTIVE]
            else:
                kid, kid_ee = cases[c, KID], cases[c, KID_EE]
                k = runtime[kid - first] if kid >= 0 else 0
                kid_util = util[kid - first] if kid >= 0 else 0.0
                unit_util = kid_util * cases[c, ACTIVE]
                if cases[c, FLAGS] & 2:
                    k = max(runtime[kid_ee - first], k if pe > 1 else 0)
                    unit_util = util[kid_ee - first] + kid_util * max(pe - 1, 0)
                if unit_util == 0:
                    unit_util = cases[c, ACTIVE]
                used += occ * unit_util
            steps += occ
            total += occ * _step(cases, c, k, bw, latency)[0]
        runtime[t - first] = total
        util[t - first] = used / max(steps, 1)


@_jit
def _top_compute(cases, tables, first, L, vw, runtime, c):
    """Compute delay of top-level case ``c`` (children's runtimes already in ``runtime``)."""
    if L == 1:
        return (cases[c, MU] + vw - 1) // vw
    kid, kid_ee = cases[c, KID], cases[c, KID_EE]
    k = runtime[kid - first] if kid >= 0 else 0
    if cases[c, FLAGS] & 2:
        k = max(runtime[kid_ee - first], k if tables[first, T_PE] > 1 else 0)
    return k


@_jit
def time_rows(
    cases, tables, row_tables, top, levels, bw, latency, offchip_bw, vw, out, runtime, util
):
    """Runtime, bandwidth and delay metrics of every analysed row (``levels[b]``: its number
    of levels) for one set of hardware speeds (section 6.7-6.8), into ``out``
    (``(B, N_TIME_COLS)``); ``runtime``/``util`` are scratch for the most tables of a row."""
    big = 1 << 62
    for b in range(row_tables.shape[0]):
        first, count, L = row_tables[b, 0], row_tables[b, 1], levels[b]
        if count > 1:
            _level_runtimes(
                cases, tables, first + 1, count - 1, L, bw, latency, vw, runtime[1:], util[1:]
            )
        s_in = top[b, L2_BUF_INPUT] + top[b, L2_BUF_FILTER]
        s_out = top[b, L2_BUF_OUTPUT]
        floor = max(s_in // offchip_bw // 2, s_out // offchip_bw // 2)
        need_words = max(s_out, s_in)
        total = 0
        peak = 0
        avg = 0
        offchip = 0
        steps = 0
        used = 0.0
        dmin0 = dmin1 = dmin2 = big
        dmax0 = dmax1 = dmax2 = -big
        dsum0 = dsum1 = dsum2 = 0
        zero_compute = False
        pe = tables[first, T_PE]
        for c in range(tables[first, T_START], tables[first, T_START] + tables[first, T_COUNT]):
            occ = cases[c, OCC]
            k = _top_compute(cases, tables, first, L, vw, runtime, c)
            if L == 1:
                used += occ * cases[c, ACTIVE]
            else:
                kid, kid_ee = cases[c, KID], cases[c, KID_EE]
                kid_util = util[kid - first] if kid >= 0 else 0.0
                unit_util = kid_util * cases[c, ACTIVE]
                if cases[c, FLAGS] & 2:
                    unit_util = util[kid_ee - first] + kid_util * max(pe - 1, 0)
                if unit_util == 0:
                    unit_util = cases[c, ACTIVE]
                used += occ * unit_util
            step, d_in, d_out = _step(cases, c, k, bw, latency)
            total += occ * max(step, floor)
            steps += occ
            k1 = max(k, 1)
            words = max(cases[c, INGRESS_INPUT] + cases[c, INGRESS_FILTER], cases[c, EGRESS])
            peak = max(peak, words // k1)
            avg += occ * words // k1
            # MAESTRO halves the off-chip requirement after every case (quirk 16)
            offchip = max(offchip, need_words // k1) // 2
            dmin0, dmax0, dsum0 = min(dmin0, d_in), max(dmax0, d_in), dsum0 + occ * d_in
            dmin1, dmax1, dsum1 = min(dmin1, d_out), max(dmax1, d_out), dsum1 + occ * d_out
            dmin2, dmax2, dsum2 = min(dmin2, k1), max(dmax2, k1), dsum2 + occ * k1
            zero_compute = zero_compute or k == 0
        n_steps = max(steps, 1)
        o = out[b]
        o[RUNTIME] = total
        o[PEAK_BW] = peak
        o[AVG_BW] = avg / n_steps
        o[OFFCHIP_BW] = offchip
        o[UTIL] = used / n_steps
        o[DELAY_MIN] = dmin0 if dmin0 != big else 0
        o[DELAY_MIN + 1] = dmin1 if dmin1 != big else 0
        o[DELAY_MIN + 2] = dmin2 if dmin2 != big else 0
        o[DELAY_MAX] = dmax0 if dmax0 != -big else 0
        o[DELAY_MAX + 1] = dmax1 if dmax1 != -big else 0
        o[DELAY_MAX + 2] = dmax2 if dmax2 != -big else 0
        o[DELAY_AVG] = dsum0 / n_steps
        o[DELAY_AVG + 1] = dsum1 / n_steps
        o[DELAY_AVG + 2] = dsum2 / n_steps
        o[DIVIDE_BY_ZERO] = zero_compute


@_jit
def runtime_rows(
    cases, tables, row_tables, top, levels, bws, latency, offchip_bw, vw, out, runtime, util
):
    """Runtime of every row for each NoC bandwidth of ``bws``, into ``out`` ``(n_bw, B)``."""
    for i in range(bws.shape[0]):
        bw = bws[i]
        for b in range(row_tables.shape[0]):
            first, count, L = row_tables[b, 0], row_tables[b, 1], levels[b]
            if count > 1:
                _level_runtimes(
                    cases, tables, first + 1, count - 1, L, bw, latency, vw, runtime[1:], util[1:]
                )
            s_in = top[b, L2_BUF_INPUT] + top[b, L2_BUF_FILTER]
            floor = max(s_in // offchip_bw // 2, top[b, L2_BUF_OUTPUT] // offchip_bw // 2)
            total = 0
            for c in range(tables[first, T_START], tables[first, T_START] + tables[first, T_COUNT]):
                k = _top_compute(cases, tables, first, L, vw, runtime, c)
                total += cases[c, OCC] * max(_step(cases, c, k, bw, latency)[0], floor)
            out[i, b] = total


# Rows of :func:`report_rows`' energies: per tensor (+ 0 input, 1 filter, 2 output) at L1
# and L2, the MACs', the total.
E_L1, E_L2, E_MAC, E_TOTAL = 0, 3, 6, 7
N_ENERGY = 8
# Bits of :func:`report_rows`' problem code.
TOO_FEW_PES, DIVIDE_BY_ZERO_BIT, MACS_DIFFER, RUNTIME_BELOW_IDEAL = 1, 2, 4, 8


@_jit
def report_rows(
    top,
    runtime,
    busy_pes,
    too_few_pes,
    divide_by_zero,
    layer_macs,
    vw,
    in_words,
    w_words,
    out_words,
    l1_read,
    l1_write,
    l2_read,
    l2_write,
    mac,
    energy,
    l2_size,
    ideal,
    code,
):
    """Per row (section 10): the energy of every tensor at L1 and L2, of the MACs and in
    total (``energy``, rows ``E_``), the L2 size, the ideal runtime ``ceil(MACs / (busy PEs x
    vector width))`` and the problem bits (``code``). The energy is computed in the order
    and with the types of the array expressions ``reads * per_read + writes * per_write``
    (an integer table stays integer until the MACs' float term), so the numbers are theirs.
    L1 reads are (MACs, MACs, L1 output); L1 writes copy the L2 reads of inputs and filters
    (quirk 9); L2 writes every input and filter word once and reads every output once.
    """
    for b in range(top.shape[0]):
        macs = top[b, MACS]
        l1_out = top[b, L1_OUTPUT]
        rd_in = top[b, L2_READ_INPUT]
        rd_w = top[b, L2_READ_FILTER]
        l1_in = macs * l1_read + rd_in * l1_write
        l1_w = macs * l1_read + rd_w * l1_write
        l1_o = l1_out * l1_read + l1_out * l1_write
        l2_in = rd_in * l2_read + in_words * l2_write
        l2_w = rd_w * l2_read + w_words * l2_write
        l2_o = out_words * l2_read + top[b, L2_WRITE_OUTPUT] * l2_write
        e_mac = np.float64(macs) * mac
        energy[E_L1, b], energy[E_L1 + 1, b], energy[E_L1 + 2, b] = l1_in, l1_w, l1_o
        energy[E_L2, b], energy[E_L2 + 1, b], energy[E_L2 + 2, b] = l2_in, l2_w, l2_o
        energy[E_MAC, b] = e_mac
        energy[E_TOTAL, b] = ((l1_in + l1_w) + l1_o + ((l2_in + l2_w) + l2_o)) + e_mac
        l2_size[b] = top[b, L2_BUF_INPUT] + top[b, L2_BUF_FILTER] + top[b, L2_BUF_OUTPUT]
        ideal[b] = -(-layer_macs // (busy_pes[b] * vw))
        code[b] = (
            (TOO_FEW_PES if too_few_pes[b] else 0)
            | (DIVIDE_BY_ZERO_BIT if divide_by_zero[b] else 0)
            | (MACS_DIFFER if macs != layer_macs else 0)
            | (RUNTIME_BELOW_IDEAL if runtime[b] < ideal[b] else 0)
        )
