"""Bounds of a problem's objectives over sub-spaces of its mapping space.

A :class:`SubSpace` allows, per gene, a subset of its choices (a fixed prefix of genes is
one). :class:`Bounder` bounds every objective over it, exactly as the step semantics
counts: per structure (levels, cluster sizes, spatial dimensions, diagonal levels) from the exact model's
group factors (:mod:`mapsearch.bounds.table`), the least over the structures it contains.
A bound is ``inf`` when no point of the sub-space can be feasible (its L1 requirement, area
or power surely exceeds the limit, or the model refuses every point).
"""

from __future__ import annotations

import itertools
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Literal

import numpy as np
import numpy.typing as npt
from scipy.cluster.vq import kmeans2

from mapsearch.bounds import _kernel
from mapsearch.bounds.combine import (
    GroupValues,
    LeastFactors,
    count_bounds,
    fix_group,
    group_values,
)
from mapsearch.bounds.counts import (
    COST_CODES,
    L1_ROW,
    OFFCHIP_ROW,
    WEAK_OBJECTIVES,
    CountBounds,
    compulsory,
    energy_runtime_args,
    group_spread,
    objective_bounds,
    row_objective_bounds,
    spread_dims,
)
from mapsearch.bounds.steps import POINT_TIMED, TIMED, StepRows
from mapsearch.bounds.table import (
    GroupTable,
    MaskCache,
    Structure,
    StructureTable,
    build_tables,
    structures,
)
from mapsearch.costmodel import Semantics, area_power
from mapsearch.directives.nest import level_units
from mapsearch.errors import UnsupportedError
from mapsearch.hardware import UNLIMITED
from mapsearch.layers import Layer
from mapsearch.problem import Problem
from mapsearch.spaces.genes import IntArray

FloatArray = npt.NDArray[np.float64]

#: Relative tolerance of every comparison with a bound (float sums of large counts).
RTOL = 1e-9
#: Most families a group's configurations are split into (:meth:`StructureBounds.families`).
FAMILIES = 4
#: Family domains a table keeps, by group and configurations (emptied when full).
FAMILY_CACHE = 65536


def check_exact(problem: Problem, what: str) -> None:
    """Bounds follow the exact semantics on one hardware: refuse anything else, saying why."""
    if problem.semantics is not Semantics.EXACT:
        raise UnsupportedError(
            f"{what} needs --semantics exact: the bounds follow the exact model's counts "
            f"(docs/semantics.md), not {problem.semantics.value!r}'s; use exhaustive or another "
            "searcher under maestro"
        )
    if problem.hardware_space is not None:
        raise UnsupportedError(
            f"{what} searches the mappings of one hardware; drop --co-design (or search the "
            "hardware with another searcher)"
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class SubSpace:
    """The genotypes whose gene ``c`` takes one of the choice indices ``allowed[c]``."""

    allowed: tuple[tuple[int, ...], ...]

    @classmethod
    def whole(cls, problem: Problem) -> SubSpace:
        return cls(allowed=tuple(tuple(range(g.size)) for g in problem.genes))

    @classmethod
    def prefix(cls, problem: Problem, genotype: Sequence[int] | IntArray, n_fixed: int) -> SubSpace:
        """The genes before ``n_fixed`` fixed to ``genotype``'s choices, the others free."""
        return cls(
            allowed=tuple(
                (int(genotype[c]),) if c < n_fixed else tuple(range(g.size))
                for c, g in enumerate(problem.genes)
            )
        )

    def by_name(self, problem: Problem) -> dict[str, tuple[int, ...]]:
        return {g.name: a for g, a in zip(problem.genes, self.allowed, strict=True)}

    def genotypes(self) -> IntArray:
        """Every genotype of the sub-space (for tests: mind the size)."""
        return np.asarray(list(itertools.product(*self.allowed)), dtype=np.int64).reshape(
            -1, len(self.allowed)
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class Domain:
    """A free domain of a set of one structure: group ``index``'s configurations or level
    ``index``'s loop orders, the ``choices`` the set allows; or group ``index``'s
    *families* (``kind="family"``): choice ``k`` stands for the configurations
    ``members[k]`` the set allows, bounded under their least factors
    (:meth:`StructureBounds.families`)."""

    kind: Literal["group", "level", "family"]
    index: int
    choices: tuple[int, ...]
    members: tuple[tuple[int, ...], ...] = ()


def free_domains(
    configs: Sequence[npt.NDArray[np.int64]], orders: tuple[tuple[int, ...], ...]
) -> tuple[list[Domain], list[Domain]]:
    """The free domains of a set (more than one choice): its groups', then its levels'."""
    groups = [
        Domain(kind="group", index=g, choices=tuple(a.tolist()))
        for g, a in enumerate(configs)
        if a.size > 1
    ]
    levels = [
        Domain(kind="level", index=lv, choices=o) for lv, o in enumerate(orders) if len(o) > 1
    ]
    return groups, levels


def _narrowed_orders(
    orders: tuple[tuple[int, ...], ...],
    first: Domain,
    others: Sequence[Domain],
    kept: dict[int, npt.NDArray[np.bool_]],
) -> list[tuple[tuple[int, ...], ...]]:
    """Per choice of ``first``, ``orders`` with ``first`` fixed to it (a level) and each
    gridded level of ``others`` (``kept``: by position, its row masks) narrowed to the
    orders that row keeps; a row keeping none is dead, and keeps ``orders``."""
    out = []
    for k, c in enumerate(first.choices):
        row = list(orders)
        if first.kind == "level":
            row[first.index] = (c,)
        for i, keep in kept.items():
            if others[i].kind == "level":
                row[others[i].index] = tuple(np.asarray(others[i].choices)[keep[k]].tolist())
        out.append(tuple(row) if all(row) else orders)
    return out


def family_domain(sb: StructureBounds, d: Domain) -> Domain | None:
    """Group domain ``d``'s configurations by family (:meth:`StructureBounds.families`),
    or None when they are all of one (kept by ``sb``: a node's children share domains)."""
    key = (d.index, d.choices)
    if key in sb._family_domains:
        return sb._family_domains[key]
    if len(sb._family_domains) >= FAMILY_CACHE:
        sb._family_domains.clear()
    found = sb._family_domains[key] = _family_domain(sb, d)
    return found


def family_positions(sb: StructureBounds, d: Domain) -> IntArray:
    """Per choice of group domain ``d``, the index of its family among those
    :func:`family_domain` lists (families in the order of their labels)."""
    labels = sb.families(d.index)[np.asarray(d.choices, dtype=np.int64)]
    return np.unique(labels, return_inverse=True)[1].astype(np.int64)


def _family_domain(sb: StructureBounds, d: Domain) -> Domain | None:
    of = family_positions(sb, d)
    n = int(of.max()) + 1
    if n < 2:
        return None
    choices = np.asarray(d.choices, dtype=np.int64)
    members = tuple(tuple(choices[of == f].tolist()) for f in range(n))
    return Domain(kind="family", index=d.index, choices=tuple(range(n)), members=members)


def _families(grp: GroupTable, k: int) -> IntArray:
    """Each configuration's family among at most ``k``: k-means clusters of the logarithms
    of the configurations' factors, so that a family's least factors are close to each
    member's own (seeded: the same table gives the same families)."""
    n = len(grp.drain)
    fields = (grp.features, grp.fill, grp.tile_max, grp.drain, grp.compute, grp.used)
    x = np.concatenate([np.asarray(f, dtype=np.float64).reshape(n, -1) for f in fields], axis=1)
    x = np.log1p(np.clip(np.nan_to_num(x, posinf=1e30), 0.0, 1e30))
    x = x[:, x.std(axis=0) > 0]
    if n <= k or not x.shape[1]:
        return np.zeros(n, dtype=np.int64)
    with warnings.catch_warnings():  # an empty cluster only leaves fewer families
        warnings.simplefilter("ignore")
        _, labels = kmeans2(x, k, seed=1, minit="++")
    return np.asarray(labels, dtype=np.int64)


@dataclass(frozen=True, slots=True, kw_only=True)
class MaskStack:
    """Stacked order masks ``(M, C, G, P)`` and their :func:`_kernel.row_ids` ``(M, C)``
    (:func:`count_bounds` takes both)."""

    masks: npt.NDArray[np.bool_]
    row_ids: npt.NDArray[np.int64]


@dataclass(slots=True)
class StructureBounds:
    """A structure's table with the configurations its bounds may use.

    ``allowed[g]``: the configurations of group ``g`` the model scores (refused ones only
    make infeasible points) and that fit the L1 with the other groups' smallest tiles;
    ``steps``: the exact step cycles of the classes a set fixes (read on first use);
    ``least``: the least factors of the configuration sets a search meets (kept).
    """

    table: StructureTable
    allowed: list[npt.NDArray[np.int64]]
    steps: StepRows = field(init=False)
    least: LeastFactors = field(init=False)
    _masks: dict[tuple[tuple[int, ...], ...], npt.NDArray[np.bool_]] = field(default_factory=dict)

    _level_masks: dict[tuple[tuple[tuple[int, ...], ...], int], MaskStack] = field(
        default_factory=dict
    )
    _level_parts: dict[tuple[int, tuple[int, ...]], npt.NDArray[np.bool_]] = field(
        default_factory=dict
    )
    _families: dict[int, IntArray] = field(default_factory=dict)
    _family_domains: dict[tuple[int, tuple[int, ...]], Domain | None] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.steps = StepRows(self.table)
        self.least = LeastFactors(self.table)

    def families(self, g: int) -> IntArray:
        """Group ``g``'s configurations in at most :data:`FAMILIES` families of alike
        factors (:func:`_families`, made on first use): a family's least factors mix
        little, so a grid of a set's families bounds nearly as tightly as one of its
        configurations, at a fraction of the sets (:meth:`Bounder.lookahead`)."""
        labels = self._families.get(g)
        if labels is None:
            labels = self._families[g] = _families(self.table.groups[g], FAMILIES)
        return labels

    def mask(self, orders: tuple[tuple[int, ...], ...]) -> npt.NDArray[np.bool_]:
        m = self._masks.get(orders)
        if m is None:
            m = self._masks[orders] = self.order_mask(orders)
        return m

    def order_mask(self, orders: tuple[tuple[int, ...], ...]) -> npt.NDArray[np.bool_]:
        """The parts any of the order combinations ``orders`` (allowed choices per level)
        gives, not kept, from each level's part of it, kept: a level's allowed orders recur
        across a search's sets far more than their combinations do (the lookahead's rows,
        each under the orders it kept)."""
        parts = []
        for lv, allowed in enumerate(orders):
            part = self._level_parts.get((lv, allowed))
            if part is None:
                rows = self.table.masks[lv][np.asarray(allowed, dtype=np.int64)]
                part = self._level_parts[(lv, allowed)] = np.any(rows, axis=0)
            parts.append(part)
        out: npt.NDArray[np.bool_] = np.logical_or.reduce(parts)  # a new array
        return out

    def level_masks(self, orders: tuple[tuple[int, ...], ...], level: int) -> MaskStack:
        """The masks of ``orders`` with ``level``'s order fixed to each of its choices in
        turn, stacked (the children of a node branching on that level, or a grid's level),
        with their row ids (hashed once, not at every use)."""
        key = (orders, level)
        m = self._level_masks.get(key)
        if m is None:
            stack = np.stack(
                [self.mask((*orders[:level], (o,), *orders[level + 1 :])) for o in orders[level]]
            )
            m = self._level_masks[key] = MaskStack(masks=stack, row_ids=_kernel.row_ids(stack))
        return m


class Bounder:
    """Bounds for one problem (exact semantics, one hardware); tables are built on demand
    and kept. With ``twins`` False a structure's tables leave out its plain twins
    (:func:`build_tables`): for a search over every structure, which finds their points
    in others, not for the bounds of a sub-space (:meth:`lower_bounds`)."""

    def __init__(self, problem: Problem, *, twins: bool = True) -> None:
        check_exact(problem, "bounds")
        self.problem = problem
        self.twins = twins
        self.layer = problem.layer
        self.hardware = problem.hardware
        self._structures: dict[Structure, list[StructureBounds]] = {}
        self._masks: MaskCache = {}
        self._spread_roots: dict[tuple[int | bytes, ...], FloatArray] = {}
        self._structure_roots: dict[Structure, FloatArray] = {}
        self._spread_dims = spread_dims(self.layer)
        self._group_spreads: dict[tuple[str, int, bool], IntArray] = {}
        self._fused = self._fused_costs()

    def _fused_costs(self) -> tuple[IntArray, tuple[float | FloatArray, ...]] | None:
        """The objectives' codes and the other arguments of ``_kernel.costs`` when it gives
        :meth:`row_objectives` (every objective an energy or runtime one, the L1 the only
        constraint that may hold), else None."""
        hw, cons = self.hardware, self.problem.constraints
        if any(o.name not in COST_CODES for o in self.problem.objectives):
            return None
        if cons.area_budget_um2 is not None or cons.power_budget_mw is not None:
            return None
        if cons.strict_capacity and hw.l2_size_words < UNLIMITED:
            return None
        if cons.max_pes is not None and hw.num_pes > cons.max_pes:
            return None
        limit = np.inf
        if cons.buffers and hw.l1_size_words < UNLIMITED:
            limit = hw.l1_size_words * (1 + RTOL)
        codes = np.asarray([COST_CODES[o.name] for o in self.problem.objectives], dtype=np.int64)
        return codes, (*energy_runtime_args(self.layer, hw), limit)

    # --- cheap bounds ---------------------------------------------------------------------
    def root(self) -> FloatArray:
        """Bounds over the whole space from compulsory counts only (no table): the costs of
        every objective (see :func:`objective_bounds`), shape ``(n_objectives,)``."""
        return self.objectives(compulsory(self.layer, self.hardware.num_pes))[0]

    def space_root(self) -> FloatArray:
        """Bounds over the whole space without tables: the least structure bound."""
        roots = [
            self.structure_root(st)
            for st in structures(self.problem.space, num_pes=self.hardware.num_pes)
        ]
        return np.min(np.stack([self.root(), *roots]), axis=0)

    def structure_root(self, st: Structure) -> FloatArray:
        """A cheap bound over a structure before its table: compulsory counts, with the
        compute spread over the units its spatial dimensions can keep busy
        (:func:`group_spread`) and the L1 writes that spread forces (:func:`spread_choices`);
        ``inf`` when its clusters need more PEs than there are. Kept per structure (a
        search asks for every structure's root more than once)."""
        root = self._structure_roots.get(st)
        if root is None:
            root = self._structure_roots[st] = self._structure_root(st)
        return root.copy()

    def _structure_root(self, st: Structure) -> FloatArray:
        space = self.problem.space
        n = int(space.genes[space.column("levels")].choices[st.levels])
        clusters = [
            int(space.genes[space.column(f"L{lv}.cluster")].choices[c])
            for lv, c in enumerate(st.clusters, start=1)
        ]
        if int(np.prod(clusters, dtype=np.int64)) > self.hardware.num_pes:
            return np.full(len(self.problem.objectives), np.inf)
        units = level_units(self.hardware.num_pes, clusters)
        per_dim: dict[str, int] = {}
        split: set[str] = set()  # window dimensions a diagonal level may split with its filter
        for lv in range(n):
            d = str(space.genes[space.column(f"L{lv}.spatial")].choices[st.spatial[lv]])
            per_dim[d] = per_dim.get(d, 1) * int(units[lv])
            if lv < len(st.diagonal):
                name = f"L{lv}.diagonal"
                if space.genes[space.column(name)].choices[st.diagonal[lv]] == "yes":
                    split.add(d)
        # groups kept apart: structures share units per dimension; many spread alike
        fixed, free = np.ones(3, dtype=np.int64), []
        for k in ((d, per_dim.get(d, 1), d in split) for d in self._spread_dims):
            choices = self._group_spreads.get(k)
            if choices is None:
                choices = self._group_spreads[k] = spread_choices(self.layer, *k)
            if choices.shape[1] == 1:
                fixed *= choices[:, 0]
            else:
                free.append(choices)
        key: tuple[int | bytes, ...] = (*fixed.tolist(), *(c.tobytes() for c in free))
        root = self._spread_roots.get(key)
        if root is None:
            root = self._spread_roots[key] = self._spread_root([fixed[:, None], *free])
        return root

    def _spread_root(self, groups: list[IntArray]) -> FloatArray:
        """The root of the structures whose groups have these choices of active units
        (:func:`spread_choices`, rows: compute, input and filter replication): per objective
        the least over every combination of the compulsory counts with that compute spread
        and the L1 writes its replication forces."""
        grid = np.ones((3, 1), dtype=np.float64)
        for c in groups:
            grid = (grid[:, :, None] * c[:, None, :]).reshape(3, -1)
        counts = compulsory(self.layer, np.full(grid.shape[1], float(self.hardware.num_pes)))
        counts = replace(
            counts,
            compute_macs=np.maximum(counts.compute_macs, grid[0]),
            l1_writes_input=counts.l1_writes_input * grid[1],
            l1_writes_filter=counts.l1_writes_filter * grid[2],
        )
        out: FloatArray = self.objectives(counts).min(axis=0)
        return out

    def objectives(self, counts: CountBounds) -> FloatArray:
        """Objective cost bounds of bounded counts, ``inf`` where surely infeasible."""
        out = objective_bounds(counts, self.layer, self.hardware, self.problem.objectives)
        out[self.infeasible(counts)] = np.inf
        return out

    def row_objectives(self, rows: FloatArray) -> FloatArray:
        """:meth:`objectives` of counts given as :func:`count_bounds`' ``(16, B)`` rows
        (in one compiled call when the objectives and constraints allow it)."""
        if self._fused is not None:
            out: FloatArray = _kernel.costs(rows, self._fused[0], *self._fused[1])
            return out
        out = row_objective_bounds(rows, self.layer, self.hardware, self.problem.objectives)
        out[self._infeasible(rows[L1_ROW], rows[OFFCHIP_ROW])] = np.inf
        return out

    def infeasible(self, c: CountBounds) -> npt.NDArray[np.bool_]:
        """Sets whose every mapping violates a constraint whose quantity is bounded."""
        return self._infeasible(c.l1_words, c.offchip_words)

    def _infeasible(self, l1_words: FloatArray, offchip_words: FloatArray) -> npt.NDArray[np.bool_]:
        """:meth:`infeasible` from the bounds of the L1 and the off-chip words."""
        hw, cons = self.hardware, self.problem.constraints
        bad = np.zeros(l1_words.shape, dtype=bool)
        if cons.buffers and hw.l1_size_words < UNLIMITED:
            bad |= l1_words > hw.l1_size_words * (1 + RTOL)
        args = (hw.num_pes, hw.vector_width, hw.noc_bw_words_per_cycle, l1_words, offchip_words)
        if cons.area_budget_um2 is not None:
            bad |= area_power.area_um2(*args) > cons.area_budget_um2 * (1 + RTOL)
        if cons.power_budget_mw is not None:
            bad |= area_power.power_mw(*args) > cons.power_budget_mw * (1 + RTOL)
        if cons.strict_capacity and hw.l2_size_words < UNLIMITED:
            bad |= offchip_words > hw.l2_size_words * (1 + RTOL)
        if cons.max_pes is not None and hw.num_pes > cons.max_pes:
            bad[:] = True
        return bad

    @property
    def timed(self) -> bool:
        """Whether some objective's bound grows with the runtime bound."""
        return any(o.name in TIMED for o in self.problem.objectives)

    @property
    def point_timed(self) -> bool:
        """Whether some objective's bound grows with the runtime bound of a single point."""
        return any(o.name in POINT_TIMED for o in self.problem.objectives)

    @property
    def weak(self) -> tuple[str, ...]:
        """The problem's objectives whose bound is trivial."""
        return tuple(o.name for o in self.problem.objectives if o.name in WEAK_OBJECTIVES)

    # --- tables -----------------------------------------------------------------------------
    def structure(self, st: Structure) -> list[StructureBounds]:
        """The bounds data of the structure's tables (one per variant combination, see
        :func:`build_tables`) that have points that can be scored."""
        if st not in self._structures:
            self._structures[st] = self._build(st)
        return self._structures[st]

    def _build(self, st: Structure) -> list[StructureBounds]:
        space = self.problem.space
        clusters = [
            int(space.genes[space.column(f"L{lv}.cluster")].choices[c])
            for lv, c in enumerate(st.clusters, start=1)
        ]
        if int(np.prod(clusters, dtype=np.int64)) > self.hardware.num_pes:
            return []
        tables = build_tables(space, self.hardware.num_pes, st, self._masks, twins=self.twins)
        return [sb for sb in map(self._bounds_of, tables) if sb is not None]

    def _bounds_of(self, table: StructureTable) -> StructureBounds | None:
        scored: list[npt.NDArray[np.int64]] = [
            np.flatnonzero(~g.refused).astype(np.int64) for g in table.groups
        ]
        if any(a.size == 0 for a in scored):
            return None
        allowed = self.fit(table, scored)
        if allowed is None:
            return None
        return StructureBounds(table=table, allowed=allowed)

    def fit(
        self,
        table: StructureTable,
        configs: list[npt.NDArray[np.int64]],
        least: LeastFactors | None = None,
    ) -> list[npt.NDArray[np.int64]] | None:
        """Per group, the configurations among ``configs[g]`` whose L1 requirement can fit
        with some configuration of every other group among theirs (when the L1 is a
        constraint), None if a group has none: the points of a set that can be feasible.
        ``least`` (the table's): first a check from each group's least and largest tiles
        alone, which passes when nothing is dropped (most nodes of a search)."""
        if not (self.problem.constraints.buffers and self.hardware.l1_size_words < UNLIMITED):
            return configs
        if least is not None and _fits_all(*least.tile_range(configs), self.hardware.l1_size_words):
            return configs
        return _fit_l1(table, configs, self.hardware.l1_size_words)

    # --- one free domain outside the sums ------------------------------------------------------
    def grid(
        self,
        sb: StructureBounds,
        orders: tuple[tuple[int, ...], ...],
        values: GroupValues,
        first: Domain,
        second: Domain | None,
        row_orders: Sequence[tuple[tuple[int, ...], ...]] | None = None,
    ) -> FloatArray:
        """Bounds of the sets that fix ``first`` to each of its choices and ``second`` (if
        any) to each of its, the rest of the set (``orders``, the least factors ``values``)
        free; shape ``(len(first.choices), len(second.choices) or 1, n_objectives)``.

        Each cell bounds its own points whatever the others' least factors are, so the least
        of a row bounds the set fixing ``first`` to that choice: there the free domain's
        minimum is taken outside the sum over classes and counts, where the least factors
        let each class and count take its own minimising choice (module ``table``).

        ``row_orders`` (``second`` then a group): per choice of ``first``, the orders its
        row's sets allow (narrower than ``orders``, with ``first`` fixed if it is a level).
        """
        domains = [first] if second is None else [first, second]
        n1, n2 = len(first.choices), 1 if second is None else len(second.choices)
        index = (np.repeat(np.arange(n1), n2), np.tile(np.arange(n2), n1))
        for d, rows in zip(domains, index, strict=False):
            if d.kind != "level":
                chosen = np.asarray(d.choices, dtype=np.int64)[rows]
                family = None
                if d.kind == "family":
                    family = sb.least.family_rows(d.index, d.members)
                values = fix_group(sb.table, values, d.index, chosen, family)
        levels = [(d, rows) for d, rows in zip(domains, index, strict=False) if d.kind == "level"]
        stack, which = sb.mask(orders)[None], np.zeros(1, dtype=np.int64)  # one mask for all
        ids = None  # the stack's row ids, when it is a cached one
        if row_orders is not None:
            assert second is None or second.kind != "level"
            # each distinct one once (most rows keep the same orders), not kept in ``sb``'s
            # cache (most are never met again: their sets die)
            distinct = {o: k for k, o in enumerate(dict.fromkeys(row_orders))}
            stack = np.stack([sb.order_mask(o) for o in distinct])
            which = np.asarray([distinct[o] for o in row_orders], dtype=np.int64)[index[0]]
        elif len(levels) == 1 and levels[0][0].choices == orders[levels[0][0].index]:
            cached = sb.level_masks(orders, levels[0][0].index)  # in the order of its choices
            stack, ids, which = cached.masks, cached.row_ids, levels[0][1]
        elif levels:
            masks, which = [], np.zeros(n1 * n2, dtype=np.int64)
            for picks in itertools.product(*(d.choices for d, _ in levels)):
                fixed = list(orders)
                for (d, _), o in zip(levels, picks, strict=True):
                    fixed[d.index] = (o,)
                masks.append(sb.mask(tuple(fixed)))
            for d, rows in levels:  # row-major over the levels' choices
                which = which * len(d.choices) + rows
            stack = np.stack(masks)
        counts = count_bounds(sb.table, stack, values, self.hardware, which, ids)
        return self.row_objectives(counts).reshape(n1, n2, -1)

    def lookahead(
        self,
        sb: StructureBounds,
        orders: tuple[tuple[int, ...], ...],
        values: GroupValues,
        first: Domain,
        others: Sequence[Domain],
        beaten: Callable[[FloatArray], npt.NDArray[np.bool_]] | None = None,
        budget: int | None = None,
    ) -> tuple[FloatArray, list[npt.NDArray[np.bool_] | None]]:
        """Per choice of ``first`` (a *row*), a bound of the set fixing it: the largest over
        the free domains ``others`` of the least of :meth:`grid`'s row (every point of the
        set has some choice of each domain); shape ``(len(first.choices), n_objectives)``,
        ``-inf`` without ``others``. The levels are gridded first, then the groups, each in
        the order of ``others``; with ``budget``, a domain only while the sets its grid
        bounds fit in what is left of it.

        With ``beaten`` (per row of bounds, whether it cannot beat the best point), also per
        domain of ``others`` which of its choices each row keeps, shape ``(len(first.choices),
        len(d.choices))`` (None if not gridded): a cell bounds every point of the row's set
        with that choice, so the others cannot win. A row keeping no choice of some domain
        holds no winning point and is not gridded again, and the groups' grids bound each
        row under only the orders its level grids kept (its points with another order cannot
        win): the sets a child fixing ``first`` would bound first. On ResNet50 CONV4_1_3
        (EDP, 256 PEs) 58% of the children left with one free group died there, one
        expansion each (``docs/certified_log.md``).
        """
        n1 = len(first.choices)
        out = np.full((n1, len(self.problem.objectives)), -np.inf)
        kept: dict[int, npt.NDArray[np.bool_]] = {}
        alive = np.ones(n1, dtype=bool)  # rows whose sets may still hold a winning point
        rows: list[tuple[tuple[int, ...], ...]] | None = None
        left = np.inf if budget is None else budget
        for i in sorted(range(len(others)), key=lambda i: others[i].kind != "level"):
            d = others[i]
            live = np.flatnonzero(alive)
            if not live.size or live.size * len(d.choices) > left:
                continue
            left -= live.size * len(d.choices)
            if d.kind != "level" and beaten is not None and rows is None:
                rows = _narrowed_orders(orders, first, others, kept)  # the levels' so far
            sub = replace(first, choices=tuple(first.choices[k] for k in live))
            # ``rows`` is set at the first group, once every level is gridded
            cells = self.grid(
                sb, orders, values, sub, d, None if rows is None else [rows[k] for k in live]
            )
            out[live] = np.maximum(out[live], cells.min(axis=1))
            if beaten is not None:
                n, n2, k = cells.shape
                keep = kept[i] = np.zeros((n1, n2), dtype=bool)
                keep[live] = ~beaten(cells.reshape(n * n2, k)).reshape(n, n2)
                alive &= keep.any(axis=1)
        return out, [kept.get(i) for i in range(len(others))] if beaten is not None else []

    # --- sub-spaces ---------------------------------------------------------------------------
    def lower_bounds(self, sub: SubSpace) -> FloatArray:
        """Per objective, a bound of its cost (value x sign) over every point of ``sub``
        (``inf`` if none can be feasible), shape ``(n_objectives,)``: per table the least
        factors' bound, raised by each free domain's least :meth:`lookahead` (the bounds the
        branch and bound gives a node's children, so the tests of this bound test theirs)."""
        space = self.problem.space
        named = sub.by_name(self.problem)
        best = np.full(len(self.problem.objectives), np.inf)
        for sb in (
            sb
            for st in structures(space, named, num_pes=self.hardware.num_pes)
            for sb in self.structure(st)
        ):
            table = sb.table
            orders = tuple(named[space.genes[c].name] for c in table.order_columns)
            configs = []
            for g, grp in enumerate(table.groups):
                ok = np.ones(len(grp.combos), dtype=bool)
                for k, col in enumerate(grp.columns):
                    ok &= np.isin(grp.combos[:, k], sub.allowed[col])
                configs.append(np.intersect1d(np.unique(grp.config[ok]), sb.allowed[g]))
            fitting = self.fit(table, configs) if all(c.size for c in configs) else None
            if fitting is None:
                continue
            values = group_values(table, [fitting])
            counts = CountBounds.of_rows(
                count_bounds(table, sb.mask(orders)[None], values, self.hardware)
            )
            if self.timed:
                counts = sb.steps.tighten(counts, [orders], [fitting], self.hardware)
            bound = self.objectives(counts)[0]
            groups, levels = free_domains(fitting, orders)
            free = groups + levels
            for k, first in enumerate(free):  # each free domain's least lookahead bounds the set
                rows = self.grid(sb, orders, values, first, None)[:, 0]
                others = free[:k] + free[k + 1 :]
                rows = np.maximum(rows, self.lookahead(sb, orders, values, first, others)[0])
                bound = np.maximum(bound, rows.min(axis=0))
            best = np.minimum(best, bound)
        return best


def replicated(layer: Layer, dim: str) -> tuple[bool, bool]:
    """Whether the input, and whether the filter, are indexed by no dimension of ``dim``'s
    group (``dim`` and the filter dimension it windows): then the PEs of each active unit
    index of the group use every used element of that tensor. (A PE's MACs are a product
    over groups and the steps the product of the groups' tuples, so the PEs of a unit
    index that works on a value of ``dim`` compute, over the steps, every MAC with that
    value, and each used element of such a tensor is read by one of them.)"""
    group = {dim} | {w for w in (layer.filter_of(dim),) if w is not None}
    tensors = layer.tensors
    return not group & tensors["input"], not group & tensors["filter"]


def spread_choices(layer: Layer, dim: str, units: int, split: bool) -> IntArray:
    """The choices of how many of its ``units`` units ``dim``'s group ever makes active,
    one column each: the least compute it leaves (:func:`group_spread`: the busiest
    unit's sum over steps, at most that many units a step), then the factors of the
    input's and the filter's L1 writes it forces (the units where :func:`replicated`
    says so, else 1). Only the fewest units for each compute (more only replicate more),
    and only all units when the group replicates no tensor.

    With ``a`` units of a group that replicates the input active, the PEs of each such
    unit index together hold every used input element at some step, so the L1 writes of
    input are at least ``a`` times the compulsory ones (the product over such groups:
    the steps are the product of the groups' tuples); likewise the filter."""
    by_input, by_filter = replicated(layer, dim)
    active = np.arange(1, units + 1) if by_input or by_filter else np.asarray([units])
    spreads = np.asarray([group_spread(layer, dim, int(a), split) for a in active])
    first = np.flatnonzero(np.r_[True, spreads[1:] != spreads[:-1]])  # decreasing in a
    active, ones = active[first], np.ones(first.size, dtype=np.int64)
    return np.stack([spreads[first], active if by_input else ones, active if by_filter else ones])


def _fits_all(least: FloatArray, most: FloatArray, l1_words: int) -> bool:
    """Whether every group's largest tiles (``most``, per role: a tile at least as large as
    each configuration's) fit the L1 with the other groups' ``least`` tiles: then
    :func:`_fit_l1` drops nothing (compiled: it runs at every node)."""
    return bool(_kernel.fits_all(least, most, l1_words * (1 + RTOL)))


def _fit_l1(
    table: StructureTable, allowed: list[npt.NDArray[np.int64]], l1_words: int
) -> list[npt.NDArray[np.int64]] | None:
    """Drop configurations whose L1 requirement exceeds ``l1_words`` even with the other
    groups' smallest tiles (rule 13: ``2 x`` the sum over tensors of the product of the
    groups' largest tiles); repeat until nothing changes. None if a group has none left.

    Dropping only raises the other groups' smallest tiles, so what is left is the same
    whichever order the drops come in: every group is checked at once, in one compiled
    pass over all groups' configurations per round (a node's fit is on the hot path)."""
    sizes = np.asarray([a.size for a in allowed])
    tiles = np.concatenate([g.tile_max[a] for g, a in zip(table.groups, allowed, strict=True)])
    group = np.repeat(np.arange(len(allowed)), sizes)
    alive, fits = _kernel.fit_alive(tiles, group, len(allowed), l1_words * (1 + RTOL))
    if not fits:
        return None
    if alive.all():
        return list(allowed)
    bounds = np.concatenate([[0], np.cumsum(sizes)])
    return [a[alive[lo:hi]] for a, lo, hi in zip(allowed, bounds[:-1], bounds[1:], strict=True)]
