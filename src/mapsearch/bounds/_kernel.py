"""The per-class sums behind :func:`mapsearch.bounds.combine.count_bounds` and the runtime
floor of :func:`mapsearch.bounds.counts.runtime_bound`, compiled with numba.

The branch and bound asks for the bounds of a node's children at every expansion, and the
work is small loops over sets, step classes, groups and parts: as numpy calls it is mostly
call overhead and temporary arrays (``(B, C, G, P, F)`` before the minimum over parts).
Here it is one compiled pass, which takes the groups that every set shares once per mask
row and class (:func:`class_sums`);
the runtime floor (some thirty small array operations in numpy) is one loop over the sets.
A node's L1 fit (:func:`fits_all`, :func:`fit_alive`) and a group fixed in its least factors
(:func:`fix_group_values`) are compiled for the same reason: small arrays, many calls.

Every factor is a count (an integer below ``2**53``) and so is every product and sum taken
here, so the floats are exact and do not depend on the order of the arithmetic.
"""

from __future__ import annotations

import numba as nb
import numpy as np

from mapsearch.costmodel._exact_combine import _delay as _noc_delay
from mapsearch.costmodel._exact_combine import _step, case_words, load_case, next_case

_jit = nb.njit(cache=True, error_model="numpy", nogil=True)

#: Rows of :func:`class_sums` after the ``n_pairs`` pair sums.
COMPUTE, FIRST_COMPUTE, FIRST_INGRESS, LATER = range(4)


@_jit
def ceil_down(v):  # type: ignore[no-untyped-def]
    """:func:`mapsearch.bounds.counts.ceil_down` on one float."""
    return np.ceil(v - 1e-12 * abs(v) - 1e-9)


#: An odd 64-bit multiplier (the golden ratio's): a key times it, shifted, spreads over slots.
_MIX = -7046029254386353131


@_jit
def _slot(key, n):  # type: ignore[no-untyped-def]
    """The slot of ``key`` in a direct-mapped cache of ``n`` slots (a power of 2)."""
    return ((key * _MIX) >> 24) & (n - 1)


@_jit
def _table_size(n):  # type: ignore[no-untyped-def]
    """Slots of an open-addressing table of ``n`` entries: a power of 2, at least ``2 n``."""
    size = 2
    while size < 2 * n:
        size *= 2
    return size


@_jit
def _numbered(keys):  # type: ignore[no-untyped-def]
    """Per entry of ``keys``, its key's number (0, 1, ... in order of first appearance), and
    per number the first entry with it."""
    n = keys.shape[0]
    size = _table_size(n)
    table = np.full(size, -1, dtype=np.int64)  # a key's first entry
    ids = np.empty(n, dtype=np.int64)
    firsts = np.empty(n, dtype=np.int64)
    count = 0
    for i in range(n):
        s = _slot(keys[i], size)
        while table[s] >= 0 and keys[table[s]] != keys[i]:
            s = (s + 1) & (size - 1)
        if table[s] < 0:
            table[s] = i
            firsts[count] = i
            count += 1
        ids[i] = ids[table[s]] if table[s] < i else count - 1
    return ids, firsts[:count]


@_jit
def row_ids(mask):  # type: ignore[no-untyped-def]
    """Per row ``(m, c)`` of ``mask`` ``(M, C, G, P)``: the first block ``m'`` whose row of
    class ``c`` equals it (each row packed into 63-bit words and hashed; one block: all 0).
    :func:`class_sums` takes them; a caller that reuses a stack computes them once."""
    M, C, G, P = mask.shape
    if M == 1:
        return np.zeros((1, C), dtype=np.int64)
    W = (G * P + 62) // 63
    flat = mask.reshape(M * C, G * P)
    words = np.zeros((M * C, W), dtype=np.int64)
    size = _table_size(M * C)
    table = np.full(size, -1, dtype=np.int64)  # a row's first m * C + c
    out = np.empty((M, C), dtype=np.int64)
    for i in range(M * C):
        h = i % C
        for w in range(W):
            word = np.int64(0)
            for j in range(w * 63, min(w * 63 + 63, G * P)):
                word |= np.int64(flat[i, j]) << (j - w * 63)
            words[i, w] = word
            h = h * _MIX + word
        s = _slot(h, size)
        while table[s] >= 0:
            t = table[s]
            if t % C == i % C:
                w = 0
                while w < W and words[t, w] == words[i, w]:
                    w += 1
                if w == W:
                    break
            s = (s + 1) & (size - 1)
        if table[s] < 0:
            table[s] = i
        out[i // C, i % C] = table[s] // C
    return out


#: :func:`class_sums` keeps its table of classes computed (a slot per class and pair of
#: distinct features and mask block) when there are at most this many pairs per set; with
#: more, the sets share too little to pay for it.
SHARE = 4


@_jit
def _least(features, row, mask, m, c, g, out):  # type: ignore[no-untyped-def]
    """Into ``out``, group ``g``'s least factors in class ``c`` of block ``m`` over the parts
    it may play (the first part's factors, then the least with each later one's: a group
    plays one part in most classes, so mostly copies); whether it plays none."""
    P, F = features.shape[1], features.shape[2]
    found = False
    for p in range(P):
        if not mask[m, c, g, p]:
            continue
        if found:
            for f in range(F):
                v = features[row, p, f]
                if v < out[f]:
                    out[f] = v
        else:
            for f in range(F):
                out[f] = features[row, p, f]
            found = True
    if not found:
        for f in range(F):
            out[f] = np.inf
    return out[0] == np.inf


@_jit
def class_sums(  # type: ignore[no-untyped-def]
    mask,
    rid,
    mask_of,
    features,
    features_of,
    keys,
    n_pairs,
    macmax,
    ingress,
    egress,
    vector_width,
    noc_bw,
):
    """Per set ``b``, sums over step classes ``c`` of bounds of per-class counts; shape
    ``(n_pairs + 4, B)``.

    ``mask`` ``(M, C, G, P)``: the parts each group may play in each class, set ``b``'s
    block ``mask_of[b]`` (``mask_of`` ``(Bm,)``); ``rid``: ``mask``'s :func:`row_ids`;
    ``features`` ``(R, P, F)``: rows of least factors per part (``G``, ``U - G``, ``U`` of
    pair ``k`` at ``3k``, ``3k + 1``, ``3k + 2``; the largest PE MACs at ``macmax``), set
    ``b``'s group ``g`` has row ``features_of[b, g]`` (``features_of`` ``(Bf, G)``: sets
    share rows, each kept once). ``Bm`` and ``Bf`` are ``B`` or 1 (shared by every set). In
    each class each factor is its least over the parts the group may play, then:

    * row ``k < n_pairs``: the sum over classes of ``sum_j prod_{g<j} G_g (U_j - G_j)
      prod_{g>j} U_g`` (pair ``k``'s count of new elements);
    * ``n_pairs + COMPUTE``: the sum over classes of the product of the largest PE MACs, and
      ``n_pairs + FIRST_COMPUTE`` that of class 0 (the first step);
    * ``n_pairs + FIRST_INGRESS``: the ``ingress`` pairs' counts in class 0;
    * ``n_pairs + LATER``: the sum over the later classes of the largest of
      ``ceil(MACs / vector_width)`` and, when ``noc_bw > 0``, ``ceil(ingress / noc_bw)``
      and ``ceil(egress / noc_bw)`` (each rounded down first, as ``ceil_down``).

    ``keys`` ``(Bf,)``: sets with equal keys have equal features. A class's counts
    depend only on its mask row and its set's features, so a class whose row and features
    are those of the same class of an earlier set takes that class's counts, and with one
    mask block a set whose features are an earlier set's takes its sums (the same floats,
    added in the same order): a node's children on one level share every class of the other
    levels, and the cells of a grid of a group's configurations and a level's orders repeat
    each configuration's classes outside that level. The classes computed are kept in a
    table of every (features, row) pair of each class, when there are at most
    :data:`SHARE` ``B`` of them.

    Most calls vary one or two groups between the sets (a node's children on one group, a
    grid of two groups or of a group and a level); a group whose row is the same in every
    set is *fixed*. The telescoped sum chains: a run of consecutive groups acts as one group
    with ``G = prod G``, ``U = prod U`` and ``U - G`` its own telescoped sum. So per mask row
    and class the fixed groups' runs are taken once, and per set only the varying groups'
    least factors are: with one varying group ``v`` the sum is ``a U_v + b (U - G)_v + c G_v``
    (``a, b, c`` from the runs on either side), with two ``u < v`` it is ``U_v (a U_u +
    b (U - G)_u + c G_u) + G_u (d (U - G)_v + e G_v)``, with more the chain is walked.

    Returns also whether some group plays no part in some class (a bug of the caller's tables).
    """
    M, C, G, P = mask.shape
    Bm = mask_of.shape[0]
    Bf, F = features_of.shape[0], features.shape[2]
    B = max(Bm, Bf)
    out = np.zeros((n_pairs + 4, B))
    fid, firsts = _numbered(keys)
    pairs = firsts.shape[0] * M
    share = Bm > 1 and pairs <= SHARE * B
    first = np.full(pairs * C if share else 0, -1, dtype=np.int64)  # a pair's first b * C + c
    # per class computed: the pairs' terms, then its MACs, ingress words and later-step floor
    done = np.empty((B * C if share else C, n_pairs + 3))
    # the varying groups (``var``, in order) and the run of each fixed group: run ``s`` holds
    # the fixed groups after ``s`` varying ones
    var = np.zeros(G, dtype=np.int64)
    run_of = np.empty(G, dtype=np.int64)
    n_var = 0
    for g in range(G):
        run_of[g] = n_var
        for b in range(1, Bf):
            if features_of[b, g] != features_of[0, g]:
                var[n_var] = g
                n_var += 1
                run_of[g] = -1
                break
    # per mask row and class, filled once: per pair each run's (G, U - G, U) (kept only
    # when more than two groups vary: else one scratch block, read into the coefficients),
    # the fixed groups' MACs, the part each varying group plays if it plays one (-1 if
    # several), and with at most two varying groups the coefficients of their factors
    n_coef = 2 * n_var + 1 if n_var <= 2 else 0
    runs = np.empty((1 if n_coef else M, C, n_pairs, n_var + 1, 3))
    macs_fixed = np.empty((M, C))
    part = np.empty((M, C, n_var), dtype=np.int64)
    filled = np.zeros((M, C), dtype=np.bool_)
    coef = np.empty((M if n_coef else 0, C, n_pairs, n_coef))
    least = np.empty((G, F))  # a fixed group's least factors (while its runs are filled)
    var_least = np.empty((max(n_var, 1), F))  # the varying groups' (per set and class)
    missing = False
    for b in range(B):
        bm = b if Bm > 1 else 0
        bf = b if Bf > 1 else 0
        m = mask_of[bm]
        if Bm == 1 and firsts[fid[bf]] < bf:  # an earlier set's features, under one mask
            out[:, b] = out[:, firsts[fid[bf]]]
            continue
        for c in range(C):
            r = c  # the row of done
            t = (fid[bf] * M + rid[m, c]) * C + c
            if share and first[t] >= 0:
                r = first[t]
            else:
                if share:
                    first[t] = r = b * C + c
                i = rid[m, c]
                ri = 0 if n_coef else i  # the row of runs
                if not filled[i, c]:
                    filled[i, c] = True
                    for k in range(n_pairs):
                        for s in range(n_var + 1):
                            runs[ri, c, k, s, 0] = 1.0
                            runs[ri, c, k, s, 1] = 0.0
                            runs[ri, c, k, s, 2] = 1.0
                    macs = 1.0
                    for g in range(G):
                        s = run_of[g]
                        if s < 0:
                            continue
                        if _least(features, features_of[bf, g], mask, m, c, g, least[g]):
                            missing = True
                        for k in range(n_pairs):  # g joins its run on the right
                            runs[ri, c, k, s, 1] = (
                                runs[ri, c, k, s, 1] * least[g, 3 * k + 2]
                                + runs[ri, c, k, s, 0] * least[g, 3 * k + 1]
                            )
                            runs[ri, c, k, s, 0] *= least[g, 3 * k]
                            runs[ri, c, k, s, 2] *= least[g, 3 * k + 2]
                        macs *= least[g, macmax]
                    macs_fixed[i, c] = macs
                    for j in range(n_var):
                        played = -1
                        for p in range(P):
                            if mask[m, c, var[j], p]:
                                played = p if played == -1 else -2
                        part[i, c, j] = max(played, -1)
                    one = min(1, n_var)  # the run after the first varying group
                    for k in range(n_pairs if n_coef else 0):
                        g0, d0 = runs[ri, c, k, 0, 0], runs[ri, c, k, 0, 1]
                        g1, d1, u1 = (
                            runs[ri, c, k, one, 0],
                            runs[ri, c, k, one, 1],
                            runs[ri, c, k, one, 2],
                        )
                        if n_var == 0:
                            coef[i, c, k, 0] = d0
                        elif n_var == 1:
                            coef[i, c, k, 0] = d0 * u1
                            coef[i, c, k, 1] = g0 * u1
                            coef[i, c, k, 2] = g0 * d1
                        else:
                            d2, u2 = runs[ri, c, k, 2, 1], runs[ri, c, k, 2, 2]
                            coef[i, c, k, 0] = d0 * u1 * u2
                            coef[i, c, k, 1] = g0 * u1 * u2
                            coef[i, c, k, 2] = g0 * d1 * u2
                            coef[i, c, k, 3] = g0 * g1 * u2
                            coef[i, c, k, 4] = g0 * g1 * d2
                macs = macs_fixed[i, c]
                # one varying group playing one part: its row's factors are read in place
                p0 = part[i, c, 0] if n_var == 1 else -1
                own = features[features_of[bf, var[0]], p0] if p0 >= 0 else var_least[0]
                if p0 >= 0:
                    missing |= own[0] == np.inf
                    macs *= own[macmax]
                for j in range(n_var if p0 < 0 else 0):
                    g, played, row = var[j], part[i, c, j], features_of[bf, var[j]]
                    if played >= 0:
                        for f in range(F):
                            var_least[j, f] = features[row, played, f]
                        missing |= var_least[j, 0] == np.inf
                    elif _least(features, row, mask, m, c, g, var_least[j]):
                        missing = True
                    macs *= var_least[j, macmax]
                if n_var == 0:
                    for k in range(n_pairs):
                        done[r, k] = coef[i, c, k, 0]
                elif n_var == 1:
                    for k in range(n_pairs):
                        done[r, k] = (
                            coef[i, c, k, 0] * own[3 * k + 2]
                            + coef[i, c, k, 1] * own[3 * k + 1]
                            + coef[i, c, k, 2] * own[3 * k]
                        )
                elif n_var == 2:
                    for k in range(n_pairs):
                        gu, du, uu = (
                            var_least[0, 3 * k],
                            var_least[0, 3 * k + 1],
                            var_least[0, 3 * k + 2],
                        )
                        done[r, k] = var_least[1, 3 * k + 2] * (
                            coef[i, c, k, 0] * uu + coef[i, c, k, 1] * du + coef[i, c, k, 2] * gu
                        ) + gu * (
                            coef[i, c, k, 3] * var_least[1, 3 * k + 1]
                            + coef[i, c, k, 4] * var_least[1, 3 * k]
                        )
                else:  # from the right: the last run, then each varying group and its run
                    for k in range(n_pairs):
                        total, right = runs[ri, c, k, n_var, 1], runs[ri, c, k, n_var, 2]
                        for j in range(n_var - 1, -1, -1):
                            total = var_least[j, 3 * k + 1] * right + var_least[j, 3 * k] * total
                            right *= var_least[j, 3 * k + 2]
                            total = runs[ri, c, k, j, 1] * right + runs[ri, c, k, j, 0] * total
                            right *= runs[ri, c, k, j, 2]
                        done[r, k] = total
                words_in = 0.0
                for k in ingress:
                    words_in += done[r, k]
                step = ceil_down(macs / vector_width)
                if noc_bw > 0:
                    step = max(step, ceil_down(words_in / noc_bw))
                    step = max(step, ceil_down(done[r, egress] / noc_bw))
                done[r, n_pairs], done[r, n_pairs + 1], done[r, n_pairs + 2] = macs, words_in, step
            for k in range(n_pairs):
                out[k, b] += done[r, k]
            out[n_pairs + COMPUTE, b] += done[r, n_pairs]
            if c == 0:
                out[n_pairs + FIRST_COMPUTE, b] = done[r, n_pairs]
                out[n_pairs + FIRST_INGRESS, b] = done[r, n_pairs + 1]
            else:
                out[n_pairs + LATER, b] += done[r, n_pairs + 2]
    return out, missing


@_jit
def _delay(words, latency, noc_bw):  # type: ignore[no-untyped-def]
    """Rule 12's NoC delay of at least ``words`` words (a nondecreasing function)."""
    n = ceil_down(max(words, 0.0))
    return latency + np.ceil(n / noc_bw) - 1 if n > 0 else 0.0


@_jit
def _ends(first_ingress, drain_words, first_compute, latency, noc_bw, vector_width):  # type: ignore[no-untyped-def]
    """A set's first ingress delay, first step (that ingress, then its compute) and drain."""
    first = _delay(first_ingress, latency, noc_bw)
    first_step = first + ceil_down(first_compute / vector_width)
    return first, first_step, _delay(drain_words, latency, noc_bw)


@_jit
def runtime_floor(  # type: ignore[no-untyped-def]
    first_ingress,
    drain_words,
    compute,
    first_compute,
    later,
    ingress,
    egress,
    offchip,
    latency,
    noc_bw,
    vector_width,
    offchip_bw,
):
    """:func:`mapsearch.bounds.counts.runtime_bound`, element by element (its docstring and
    the module docstring of :mod:`mapsearch.bounds.counts` say why each term holds)."""
    out = np.empty(first_ingress.shape[0])
    for b in range(out.shape[0]):
        first, first_step, drain = _ends(
            first_ingress[b], drain_words[b], first_compute[b], latency, noc_bw, vector_width
        )
        r = first + ceil_down(compute[b] / vector_width) + drain
        r = max(r, first_step + later[b] + drain)
        if latency >= 1:
            r = max(r, ceil_down(ingress[b] / noc_bw) + drain)
            r = max(r, first + ceil_down(egress[b] / noc_bw) + drain)
        out[b] = max(r, ceil_down(offchip[b] / offchip_bw))
    return out


@_jit
def energy_runtime(counts, fixed, macs, energies, latency, noc_bw, vector_width, offchip_bw):  # type: ignore[no-untyped-def]
    """Per set (a column of ``counts``: the fields of
    :class:`mapsearch.bounds.counts.CountBounds` in order, ``(16, B)``) its
    :func:`mapsearch.bounds.counts.energy_bound` and :func:`runtime_floor` (two arrays):
    the same float operations in the same order as those (so the same floats), in one call.
    ``fixed``: the energy of the MACs and their L1 reads; ``energies``: of an L1 write, an
    L2 read and an L2 write."""
    l1_write, l2_read, l2_write = energies[0], energies[1], energies[2]
    B = counts.shape[1]
    energy = np.empty(B)
    reads = np.empty(B)
    for b in range(B):
        reads[b] = counts[2, b] + counts[3, b] + counts[4, b]
        e = fixed + l1_write * (counts[0, b] + counts[1, b] + macs)
        e = e + l2_read * reads[b]
        energy[b] = e + l2_write * (counts[5, b] + counts[6, b] + counts[7, b])
    c = counts  # first ingress, drain, compute, first compute, later, ingress, egress, off-chip
    runtime = runtime_floor(
        c[9],
        c[13],
        c[8],
        c[10],
        c[11],
        reads,
        c[12],
        c[14],
        latency,
        noc_bw,
        vector_width,
        offchip_bw,
    )
    return energy, runtime


#: Objective codes of :func:`costs`.
LATENCY, ENERGY, EDP, THROUGHPUT = range(4)


@_jit
def costs(  # type: ignore[no-untyped-def]
    counts, codes, fixed, macs, energies, latency, noc_bw, vector_width, offchip_bw, l1_limit
):
    """Per set (a column of ``counts``, as :func:`energy_runtime` takes them) and objective
    (``codes``: :data:`LATENCY`, ...), the cost bound
    :func:`mapsearch.bounds.counts.objective_bounds` gives from :func:`energy_runtime`'s
    energy and runtime (the same float operations), ``inf`` for a set whose L1 words bound
    exceeds ``l1_limit`` (the L1 test of ``Bounder.infeasible``): one call where numpy
    takes a dozen small operations per node."""
    energy, runtime = energy_runtime(
        counts, fixed, macs, energies, latency, noc_bw, vector_width, offchip_bw
    )
    B, n = counts.shape[1], codes.shape[0]
    out = np.empty((B, n))
    for b in range(B):
        bad = counts[15, b] > l1_limit
        for i in range(n):
            code = codes[i]
            if bad:
                out[b, i] = np.inf
            elif code == LATENCY:
                out[b, i] = runtime[b]
            elif code == ENERGY:
                out[b, i] = energy[b]
            elif code == EDP:
                out[b, i] = energy[b] * runtime[b]
            else:
                out[b, i] = -macs / _larger(runtime[b], 1.0)
    return out


@_jit
def later_needed(first_ingress, drain_words, first_compute, runtime, latency, noc_bw, vector_width):  # type: ignore[no-untyped-def]
    """Per set, later-step cycles that surely lift :func:`runtime_floor`'s term of the first
    step, the later steps and the drain to ``runtime`` (one cycle over what it takes, so
    that the rounding of the subtraction cannot leave it short)."""
    out = np.empty(first_ingress.shape[0])
    for b in range(out.shape[0]):
        _, first_step, drain = _ends(
            first_ingress[b], drain_words[b], first_compute[b], latency, noc_bw, vector_width
        )
        out[b] = max(np.ceil(runtime - first_step - drain) + 1, 0.0)
    return out


@_jit
def _larger(a, b):  # type: ignore[no-untyped-def]
    """``np.maximum`` of two floats (``nan`` if either is)."""
    if a != a or b != b:
        return np.nan
    return a if a >= b else b


@_jit
def count_rows(sums, prods, floor, pairs, out_size):  # type: ignore[no-untyped-def]
    """Per set, the bounds of the counts of :class:`mapsearch.bounds.counts.CountBounds`, in
    its field order, shape ``(16, B)``: each the largest of its compulsory ``floor`` (16) and
    the bounds :func:`mapsearch.bounds.combine.count_bounds` explains, from ``sums``
    (:func:`class_sums`, ``(n_pairs + 4, B)``) and ``prods`` (:func:`group_products`,
    ``(8, B)`` or ``(8, 1)`` for every set). ``pairs``: the rows of input, filter, output,
    held outputs, new input and new filter elements in ``sums``."""
    n = sums.shape[0] - 4
    i_, f_, o_, h_, ni_, nf_ = pairs[0], pairs[1], pairs[2], pairs[3], pairs[4], pairs[5]
    B = sums.shape[1]
    out = np.empty((16, B))
    for b in range(B):
        p = b if prods.shape[1] > 1 else 0
        fill_in, fill_filt, fill_out = prods[0, p], prods[1, p], prods[2, p]
        drain = prods[3, p]
        out[0, b] = _larger(_larger(_larger(floor[0], sums[ni_, b]), fill_in), prods[6, p])
        out[1, b] = _larger(_larger(_larger(floor[1], sums[nf_, b]), fill_filt), prods[7, p])
        out[2, b] = _larger(_larger(floor[2], sums[i_, b]), fill_in)
        out[3, b] = _larger(_larger(floor[3], sums[f_, b]), fill_filt)
        out[4, b] = _larger(floor[4], sums[o_, b] - out_size)
        out[5, b] = _larger(floor[5], fill_in)
        out[6, b] = _larger(floor[6], fill_filt)
        out[7, b] = _larger(floor[7], sums[h_, b] + drain)
        out[8, b] = _larger(_larger(floor[8], prods[4, p]), sums[n + COMPUTE, b])
        out[9, b] = _larger(floor[9], sums[n + FIRST_INGRESS, b])
        out[10, b] = _larger(floor[10], sums[n + FIRST_COMPUTE, b])
        out[11, b] = _larger(floor[11], sums[n + LATER, b])
        out[12, b] = _larger(floor[12], sums[h_, b])
        out[13, b] = _larger(floor[13], drain)
        out[14, b] = _larger(floor[14], fill_in + fill_filt + fill_out)
        out[15, b] = _larger(floor[15], prods[5, p])
    return out


@_jit
def group_products(fill, drain, compute, tile_max, used):  # type: ignore[no-untyped-def]
    """Per set ``b``, products over groups of its least per-group values; shape ``(8, B)``:
    the fills of input, filter and output (``fill`` ``(B, G, 3)``), the drain and the summed
    largest PE MACs (``drain``, ``compute`` ``(B, G)``), the L1 words, ``2 x`` the sum
    over roles of the products of the largest tiles (``tile_max`` ``(B, G, 3)``), and the
    elements the PEs use of input and filter (``used`` ``(B, G, 2)``)."""
    B, G = drain.shape
    out = np.ones((8, B))
    for b in range(B):
        for g in range(G):
            for r in range(3):
                out[r, b] *= fill[b, g, r]
            out[3, b] *= drain[b, g]
            out[4, b] *= compute[b, g]
            out[6, b] *= used[b, g, 0]
            out[7, b] *= used[b, g, 1]
        words = 0.0
        for r in range(3):
            tile = 1.0
            for g in range(G):
                tile *= tile_max[b, g, r]
            words += tile
        out[5, b] = 2 * words
    return out


@_jit
def _class_cycles(mine, jstart, jlens, joint, jcount, row_at, acc, cnt, vector_width, latency, bw):  # type: ignore[no-untyped-def]
    """The cycles of the later steps of a class whose group ``g`` plays part ``mine[g]``:
    every case of the groups' distinct runtime rows (their product), timed by rule 13
    (``max`` of the ingress, compute and egress delays) times its count; scratch arrays
    ``row_at``, ``acc``, ``cnt`` (``G``, ``(G + 1, J)``, ``G + 1``)."""
    G = mine.shape[0]
    for g in range(G):
        if jlens[mine[g]] == 0:
            return 0
    cycles = 0
    row_at[:] = 0
    redo = 0
    while redo >= 0:  # the model's cases (``_exact_combine.combine_parts``)
        load_case(mine, G, row_at, redo, jstart, joint, jcount, acc, cnt)
        ingress, egress, compute = case_words(acc[G], vector_width)
        delays = _noc_delay(ingress, latency, bw), _noc_delay(egress, latency, bw)
        cycles += _step(False, delays[0], compute, delays[1]) * cnt[G]
        redo = next_case(mine, G, row_at, jlens)
    return cycles


@_jit
def later_minima(  # type: ignore[no-untyped-def]
    vec_of,
    vec_parts,
    level_classes,
    class_first,
    sets,
    orders,
    order_first,
    order_count,
    configs,
    first,
    count,
    start,
    coupled,
    same,
    jstart,
    jlens,
    joint,
    jcount,
    vector_width,
    latency,
    bw,
    limit,
    enough,
    canon,
    canon_radix,
    config_radix,
    level_same,
    order_set,
    class_keys,
    class_values,
    level_keys,
    level_values,
):
    """Per set ``b`` of ``sets``, the least cycles of the later steps of its points: the
    least over its groups' configuration combinations of the sum over levels of the least
    over the level's allowed orders of its classes' exact cycles (:func:`_class_cycles`;
    the parts in a level's classes depend on its order alone). A class part the model may
    walk with other groups (coupled) counts 0, and a set whose enumeration takes more than
    ``limit`` class timings gets 0. A set whose every point has at least ``enough[b]``
    cycles gets ``enough[b]`` (the least or less: a sound bound; the caller passes what
    makes the set's bound prune it, and combinations at least that leave early).

    Under order ``o`` (every level's order choices end to end) step class ``c`` has its
    groups play the parts ``vec_parts[vec_of[o, c]]``; level ``l``'s later classes are
    ``level_classes[class_first[l] : class_first[l + 1]]``. Set ``b`` allows level ``l``
    the orders ``orders[order_first[b, l] : ... + order_count[b, l]]`` and group ``g`` the
    configurations ``configs[first[b, g] : first[b, g] + count[b, g]]``. Configuration
    ``a`` of group ``g`` plays part ``p`` as part ``start[g, a] + p`` of the part table
    (``jstart``, ``jlens``, ``joint``, ``jcount``: its distinct runtime rows and counts),
    coupled to other groups where ``coupled[g, a, p]``; configuration ``same[g, a]`` times
    every later class as ``a`` does, so a set's configurations are enumerated once per
    ``same`` value (and ``limit`` counts those combinations).

    Within one combination a part vector (shared by many orders' classes) is timed once,
    and each level tries first the order that was least for the previous combination, so
    that the early exits (a level at least its least so far, a combination at least the
    least so far) come sooner; the sums are of integers, so the result does not depend on
    the order they are taken in.

    Two caches, kept by the caller between calls (each a direct-mapped table: a slot holds
    the last key hashed to it; empty arrays turn a cache off), skip work another set or call
    already did; a hit returns what the work would, so the result does not depend on them:

    * a class's cycles depend only on its groups' runtime rows: ``canon[q]`` numbers part
      ``q``'s distinct rows within its group, and the class is keyed by
      ``sum_g canon[mine[g]] * canon_radix[g]`` (``class_keys``, ``class_values``);
    * a level's least over its allowed orders depends only on those orders and the runtime
      rows and coupling of the parts the groups play in its classes: configuration
      ``level_same[l, g, a]`` of group ``g`` has those of ``a`` in level ``l``, and the
      level is keyed by ``sum_g level_same[l, g, a[g]] * config_radix[g]`` and
      ``order_set[b, l]`` (a number per distinct level and order choice; ``level_keys``,
      ``level_values``).
    """
    B, L = sets.shape[0], order_first.shape[1]
    G = start.shape[0]
    V = vec_parts.shape[0]
    out = np.zeros(B)
    cfg = np.zeros(G, dtype=np.int64)  # the configuration combination
    a = np.empty(G, dtype=np.int64)
    mine = np.empty(G, dtype=np.int64)
    row_at = np.zeros(G, dtype=np.int64)
    acc = np.ones((G + 1, joint.shape[1]), dtype=np.int64)
    cnt = np.ones(G + 1, dtype=np.int64)
    timed = np.full(V, -1, dtype=np.int64)  # the combination each part vector was timed in
    cycles = np.zeros(V)
    lead = np.zeros(L, dtype=np.int64)  # per level, the order tried first
    distinct = np.empty(configs.shape[0], dtype=np.int64)  # a set's, group after group
    d_first = np.empty(G, dtype=np.int64)
    d_count = np.empty(G, dtype=np.int64)
    kept = np.full(same.shape, -1, dtype=np.int64)  # the set that last kept a configuration
    n_class, n_level = class_values.shape[0], level_values.shape[0]
    ls = 0
    tick = 0
    for i in range(B):
        b = sets[i]
        n_cfg = 1
        n = 0
        for g in range(G):
            d_first[g] = n
            for k in range(first[b, g], first[b, g] + count[b, g]):
                r = same[g, configs[k]]
                if kept[g, r] != i:
                    kept[g, r] = i
                    distinct[n] = r
                    n += 1
            d_count[g] = n - d_first[g]
            n_cfg *= d_count[g]
        work = 0
        for lv in range(L):
            work += order_count[b, lv] * (class_first[lv + 1] - class_first[lv])
        if n_cfg == 0 or n_cfg * work > limit:
            continue
        least = enough[b]
        cfg[:] = 0
        lead[:] = 0
        while True:
            tick += 1
            for g in range(G):
                a[g] = distinct[d_first[g] + cfg[g]]
            total = 0.0
            for lv in range(L):
                if n_level:
                    code = 0
                    for g in range(G):
                        code += level_same[lv, g, a[g]] * config_radix[g]
                    ls = _slot(code * _MIX + order_set[b, lv], n_level)
                    if level_keys[ls, 0] == code and level_keys[ls, 1] == order_set[b, lv]:
                        total += level_values[ls]
                        if total >= least:
                            break
                        continue
                best = np.inf
                n, k0 = order_count[b, lv], lead[lv]
                for kk in range(n):
                    k = k0 + kk
                    if k >= n:
                        k -= n
                    o = orders[order_first[b, lv] + k]
                    level = 0.0
                    for j in range(class_first[lv], class_first[lv + 1]):
                        v = vec_of[o, level_classes[j]]
                        if timed[v] != tick:
                            timed[v] = tick
                            free = False
                            key = 0
                            for g in range(G):
                                p = vec_parts[v, g]
                                mine[g] = start[g, a[g]] + p
                                if coupled[g, a[g], p]:
                                    free = True
                                elif n_class:
                                    key += canon[mine[g]] * canon_radix[g]
                            cycles[v] = 0.0
                            cs = _slot(key, n_class) if n_class and not free else -1
                            if cs >= 0 and class_keys[cs] == key:
                                cycles[v] = class_values[cs]
                            elif not free:
                                cycles[v] = _class_cycles(
                                    mine,
                                    jstart,
                                    jlens,
                                    joint,
                                    jcount,
                                    row_at,
                                    acc,
                                    cnt,
                                    vector_width,
                                    latency,
                                    bw,
                                )
                                if cs >= 0:
                                    class_keys[cs] = key
                                    class_values[cs] = cycles[v]
                        level += cycles[v]
                        if level >= best:
                            break
                    if level < best:
                        best = level
                        lead[lv] = k
                if n_level:
                    level_keys[ls, 0] = code
                    level_keys[ls, 1] = order_set[b, lv]
                    level_values[ls] = best
                total += best
                if total >= least:  # this combination cannot lower the least
                    break
            least = min(least, total)
            g = G - 1
            while g >= 0:
                cfg[g] += 1
                if cfg[g] < d_count[g]:
                    break
                cfg[g] = 0
                g -= 1
            if g < 0:
                break
        out[i] = least
    return out


@_jit
def _other_tiles(least, out):  # type: ignore[no-untyped-def]
    """Per group (rows of ``least`` ``(G, 3)``) and role, into ``out``: the product of the
    other groups' least tiles, those before it (in order) times those after it (from the
    last one back), as ``mapsearch.bounds.subspace`` took them with two ``cumprod``."""
    G = least.shape[0]
    for r in range(3):
        left = 1.0
        for g in range(G):
            out[g, r] = left
            left = left * least[g, r]
        right = 1.0
        for g in range(G - 1, -1, -1):
            out[g, r] = out[g, r] * right
            right = right * least[g, r]


@_jit
def _need(tile, others):  # type: ignore[no-untyped-def]
    """The L1 words of one configuration's largest tiles ``tile`` (3) with the other
    groups' least tiles ``others`` (3): ``2 x`` the sum over roles of their products."""
    total = 0.0
    for r in range(3):
        total += tile[r] * others[r]
    return 2 * total


@_jit
def fits_all(least, most, limit):  # type: ignore[no-untyped-def]
    """Whether every group's largest tiles ``most`` (rows ``(G, 3)``) fit ``limit`` words of
    L1 with the other groups' ``least`` tiles: then :func:`fit_alive` drops nothing."""
    others = np.empty(least.shape)
    _other_tiles(least, others)
    for g in range(least.shape[0]):  # noqa: SIM110 (numba compiles no generator)
        if not _need(most[g], others[g]) <= limit:
            return False
    return True


@_jit
def fit_alive(tiles, group, n_groups, limit):  # type: ignore[no-untyped-def]
    """The configurations (rows of ``tiles`` ``(N, 3)``: their largest tiles; of group
    ``group[i]``) whose L1 words fit ``limit`` with the other groups' least tiles over the
    configurations left, dropped in rounds until none is (each round checks every one
    against the same least tiles); and whether every group keeps one (the loop stops at
    the first round where one has none)."""
    N = tiles.shape[0]
    alive = np.ones(N, dtype=np.bool_)
    least = np.empty((n_groups, 3))
    others = np.empty((n_groups, 3))
    count = np.zeros(n_groups, dtype=np.int64)
    while True:
        least[:] = np.inf
        count[:] = 0
        for i in range(N):
            if alive[i]:
                g = group[i]
                count[g] += 1
                for r in range(3):
                    least[g, r] = min(least[g, r], tiles[i, r])
        for g in range(n_groups):
            if count[g] == 0:
                return alive, False
        _other_tiles(least, others)
        dropped = False
        for i in range(N):
            if alive[i] and not _need(tiles[i], others[group[i]]) <= limit:
                alive[i] = False
                dropped = True
        if not dropped:
            return alive, True


@_jit
def _with_rows(x, rows, group, configs):  # type: ignore[no-untyped-def]
    """``x`` (``(1 or B, G, ...)``: one row per set, or one for every set) for ``B =
    len(configs)`` sets, with set ``b``'s group ``group`` taking ``rows[configs[b]]``.
    Flat copies: numba's slice assignments cost more than the copy."""
    B = configs.shape[0]
    out = np.empty((B, *x.shape[1:]), dtype=x.dtype)
    width = x.size // x.shape[0]
    src = np.ascontiguousarray(x).reshape((x.shape[0], width))
    dst = out.reshape((B, width))
    n = rows.size // rows.shape[0]
    table = np.ascontiguousarray(rows).reshape((rows.shape[0], n))
    at = group * (width // x.shape[1])
    for b in range(B):
        s = 0 if x.shape[0] == 1 else b
        for i in range(width):
            dst[b, i] = src[s, i]
        for i in range(n):
            dst[b, at + i] = table[configs[b], i]
    return out


@_jit
def _with_features(features, features_of, group, configs, table):  # type: ignore[no-untyped-def]
    """``features`` ``(R, P, F)`` and ``features_of`` (``(1 or B, G)``: one row index per
    set and group, or one for every set) for ``B = len(configs)`` sets, set ``b``'s group
    ``group`` reading configuration ``configs[b]``'s row of ``table`` (``(N, parts, F)``,
    ``inf`` past its parts): each distinct configuration's row is added to the pool once,
    not once per set (a grid repeats each configuration once per choice of its other
    domain)."""
    ids, firsts = _numbered(configs)
    R, P, F = features.shape
    parts = table.shape[1]
    pool = np.empty((R + firsts.shape[0], P, F))
    pool[:R] = features
    for i in range(firsts.shape[0]):
        a = configs[firsts[i]]
        for p in range(P):
            for f in range(F):
                pool[R + i, p, f] = table[a, p, f] if p < parts else np.inf
    B, G = configs.shape[0], features_of.shape[1]
    of = np.empty((B, G), dtype=np.int64)
    for b in range(B):
        s = 0 if features_of.shape[0] == 1 else b
        for g in range(G):
            of[b, g] = features_of[s, g]
        of[b, group] = R + ids[b]
    return pool, of


@_jit
def fix_group_values(values, group, configs, rows):  # type: ignore[no-untyped-def]
    """The fields of :func:`mapsearch.bounds.combine.fix_group`'s values in one call:
    ``values`` (features, features_of, fill, tile_max, drain, compute, used of the sets)
    with group ``group``'s entries replaced by configuration ``configs[b]``'s own (``rows``:
    the group's table's features, fill, tile_max, drain, compute, used), one set per entry
    of ``configs``."""
    features, features_of = _with_features(values[0], values[1], group, configs, rows[0])
    return (
        features,
        features_of,
        _with_rows(values[2], rows[1], group, configs),
        _with_rows(values[3], rows[2], group, configs),
        _with_rows(values[4], rows[3], group, configs),
        _with_rows(values[5], rows[4], group, configs),
        _with_rows(values[6], rows[5], group, configs),
    )
