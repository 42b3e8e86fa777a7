"""Branch and bound: the proven optimum (or Pareto front) of a mapping space.

The space is split into *structures* (levels, cluster sizes, spatial dimensions); within
one, a node fixes some groups' tile configurations and some levels' loop orders, the rest
free. Each node has a sound bound of every objective over all its points
(:mod:`mapsearch.bounds`); nodes are expanded best bound first, and a node is dropped when
its bound cannot beat the best point evaluated so far (with several objectives: when a
point of the front is at least as good on every objective as the node's bounds). Leaves
(one mapping each) are handed to the run to evaluate, so every point is stored in the
study like any searcher's; of the leaves of one loop nest (orders that differ only where
loops of one trip sit) only the first is queued (:meth:`OptimalSearcher._new_nests`).

Dropped too, without evaluation: configurations that cannot fit the L1 with any
completion, and, for objectives that only add counts (energy, l1, l2, area, power),
configurations dominated on every factor by another of the same node (any completion of
the dominated one costs at least as much as the same completion of the other).

A node's domains (the configurations of each group, the orders of each level) are
filtered before it branches: its points are the union of its children along any free group
or level, so a configuration or order whose child's bound cannot beat the best point leaves
the domain, and the other groups' least factors are then taken over what is left (near the
optimum a group keeps only the tiles that reach the ideal compute, and their fill and drain
lift the bound). A node then branches on the free group configuration or level order whose
children's least bound is largest (strong branching); a node of at most :data:`ENUMERATE`
points bounds each point in one batch instead and queues those that can win. Ties in the
queue go deepest first, so the search reaches leaves at once.

A child's bound takes one more free domain's minimum outside the sums (the *lookahead*,
:meth:`mapsearch.bounds.subspace.Bounder.lookahead`): under the least factors each step
class and count takes its own minimising configuration and part, so on VGG16 CONV3_1 (EDP,
complete space) a node with one free group and two free loop orders is bounded at 0.96 of
the best point while its points' own bounds are at least 1.26-1.31 of it (three such nodes),
and the least bound fixing that group and one level's order together is 1.25-1.31 already. A
child is bounded by the largest, over the other free domains (levels and groups), of the
least over the domain's choices of the bound fixing both; at most :data:`LOOKAHEAD` sets
per expansion. Each such grid also *narrows* the child: a choice whose cell cannot beat the
best point leaves the child's domain before it is queued. The levels are gridded first, so
that the groups' grids bound each child under only the orders it kept (what the child's own
first filtering round would bound), and a child left with no choice of some domain is not
gridded again.

A group's configurations also fall into a few *families* of alike factors
(:meth:`mapsearch.bounds.subspace.StructureBounds.families`): a family's least factors mix
little, so the cell fixing a family bounds nearly as tightly as its members' own cells, at
a fraction of the sets. The lookahead grids each other free group's families before the
group itself (a few sets per child; a child left with no family that can win dies there,
and one left with some keeps only their members), and a node's planning first grids the
families of its two largest free groups against each other (:meth:`_family_filter`). On
ResNet50 CONV3_1_PROJ (EDP, 168 PEs) the two took the proof from 463,910 expansions to
62,479 and from 145 to 73 s of CPU (``docs/certified_log.md``).

Without a timed objective, a node whose content (its table's masks, its orders, the factor
rows of the configurations it allows) equals a node planned before takes that plan, read
position by position (:mod:`mapsearch.bounds.content`): on ResNet50 CONV5_1_1 (EDP, 256
PEs) nine structures expand identical trees.

The best point matters as much as the bounds (it sets what filtering drops), so with one
objective each new best point is followed by a local search: every genotype one gene away,
then pairs of related genes (:meth:`OptimalSearcher._neighbours`). Those points are
evaluated and stored like leaves; they only lower the best, so the proof is unchanged.

On the complete space, with one objective, the search first proves the *compact* space
(a subset of it: ``docs/search_space.md``) for at most :data:`WARM_SHARE` of the run's time,
handing its leaves over as complete-space points: near the optimum the complete space's
many structures share one plateau of bounds, and best first reaches a structure's best leaf
only once every node under that plateau is expanded, while the compact search reaches the
compact optimum early. Its points only lower the best, so the proof is unchanged. It
prunes with the complete search's best as well as its own (the seeds' at first), so it
closes as soon as no compact point can beat that, and it stops once none can beat it by
more than :data:`WARM_GAP` (its proof would then crawl over a plateau of nodes bounded
just under the best point: on ResNet50 CONV5_2_1, EDP on 256 PEs, 15 s of CPU for no
better point).

When nothing is left, the best point is the optimum of the space (to a relative
tolerance of ``1e-9``, the rounding of the bounds' float sums): :meth:`proof` says so,
and before that gives the best proven bound.
"""

from __future__ import annotations

import contextlib
import dataclasses
import gc
import heapq
import itertools
import time
from collections.abc import Callable, Iterator, Sequence

import numpy as np
import numpy.typing as npt

from mapsearch.bounds.combine import GroupValues, count_bounds, fix_group, fixed_values
from mapsearch.bounds.content import ContentIds
from mapsearch.bounds.counts import CountBounds, later_enough
from mapsearch.bounds.subspace import (
    RTOL,
    Bounder,
    Domain,
    StructureBounds,
    check_exact,
    family_domain,
    family_positions,
    free_domains,
)
from mapsearch.bounds.table import Structure, structures
from mapsearch.directives.nest import nest_signature, unfold
from mapsearch.errors import MapsearchError, UnsupportedError
from mapsearch.objectives.pareto import nondominated
from mapsearch.problem import Evaluation, Problem
from mapsearch.searchers.base import Proof, Searcher, costs
from mapsearch.spaces import MappingSpace
from mapsearch.spaces.genes import IntArray
from mapsearch.spaces.handover import Handover

FloatArray = npt.NDArray[np.float64]

#: Node expansions an ask may make once it has a leaf to return (and, without one, before
#: it dives): a count, not seconds, so that a run without a time limit asks the same points
#: whatever the clock says. Measured on VGG16 CONV4_1 (EDP, 168 PEs, complete space): proved
#: with 14-16 s of CPU at 250-400, 24 s at 600, 29-31 s at 1000, 20-22 s with 2 s slices.
SLICE = 400
#: With a deadline: seconds the evaluation of one ask's points should take (the run checks
#: its deadline between batches, and one exact evaluation takes from a millisecond to more
#: than a second: ResNet50 FC1000's small-tile neighbours of its best point).
EVAL_S = 0.5
#: With a deadline: most points the first ask returns, and most neighbours of the best point
#: an ask returns when it starts a new kind of them (:meth:`OptimalSearcher._paced_move`).
FIRST_ASK = 1
#: Objectives that only add nonnegative counts (dominance on factors is sound for them).
ADDITIVE = ("energy", "l1", "l2", "area", "power")
#: Nodes with at most this many points are queued as their leaves rather than expanded.
ENUMERATE = 512
#: Most sets bounded to tighten one expansion's children (:meth:`OptimalSearcher._lookahead`):
#: at 1,024 sets (a group's configurations by one level's orders) the grids cost more than
#: they prune past it, but once each grid also narrows the children's domains (and groups
#: are gridded with groups) 3,072 proves ResNet50 CONV3_1_2 (EDP, 256 PEs) with 31% less
#: CPU than 1,024 without narrowing; with each point searched once (fewer structures, see
#: :func:`mapsearch.bounds.table.structures`) 9,216 takes VGG16 CONV4_1 (EDP, 256 PEs) from
#: 67 to 51 s of CPU and VGG16 CONV3_1 (EDP, 168 PEs) from open at 60 s to 61 s, and no
#: row measured more than 4% slower (``docs/certified_log.md``).
LOOKAHEAD = 9216
#: Nodes whose allowed configurations are kept (the cache is emptied when full).
NODE_CACHE = 4096
#: Expansion plans kept by node content (:meth:`OptimalSearcher._expand`; emptied when full).
PLAN_CACHE = 65536
#: Share of a complete-space run's time its compact warm-up may take (:meth:`OptimalSearcher.ask`).
WARM_SHARE = 1 / 2
#: The warm-up ends once it cannot lower the best point by more than this share of it
#: (:meth:`OptimalSearcher._warm_settled`); not on latency, whose open rows are a few
#: cycles (a few millionths) apart: with the gap, ResNet50 CONV4_1_PROJ on 256 PEs ended
#: at 401,420 cycles where the warm-up, run on, finds 401,417.
WARM_GAP = 1e-3


# a node: (structure index, the order choices each level allows, the configurations each
# group allows); fixed where one is left; a structure not yet tabulated has configs None
_Domains = tuple[tuple[int, ...], ...]
_Node = tuple[int, _Domains, _Domains | None]
_Choices = tuple[int, ...]


@dataclasses.dataclass(frozen=True, slots=True)
class _Plan:
    """What expanding a node decided, in its own configurations: the children to queue
    (bound before the parent's, orders, configurations, depth), or the filtered node whose
    points are bounded one by one (``enumerate``); neither when nothing can win."""

    children: tuple[tuple[FloatArray, _Domains, _Domains, int], ...] = ()
    enumerate: tuple[_Domains, _Domains] | None = None


def _translated(plan: _Plan, planned: _Domains, configs: _Domains) -> _Plan:
    """``plan``, made for a node allowing ``planned``, for a node of the same content
    allowing ``configs``: each configuration taken by its position in its group's domain."""
    if planned == configs:
        return plan
    maps: dict[int, dict[int, int]] = {}

    def moved(domains: _Domains) -> _Domains:
        out = []
        for g, (d, a, b) in enumerate(zip(domains, planned, configs, strict=True)):
            if d == a:
                out.append(b)
                continue
            m = maps.get(g)
            if m is None:
                m = maps[g] = dict(zip(a, b, strict=True))
            out.append(tuple(map(m.__getitem__, d)))
        return tuple(out)

    if plan.enumerate is not None:
        return _Plan(enumerate=(plan.enumerate[0], moved(plan.enumerate[1])))
    return _Plan(children=tuple((lb, o, moved(c), dp) for lb, o, c, dp in plan.children))


def _genotype(sb: StructureBounds, point: tuple[int, ...], n: int) -> IntArray:
    """The genotype of a point of ``sb``'s table: ``n`` order choices, then a configuration
    per group (each read as its first combination of genes)."""
    table = sb.table
    combos = tuple(int(grp.first[a]) for grp, a in zip(table.groups, point[n:], strict=True))
    return table.genotype(point[:n], combos)


def _first_of_nests(nests: Sequence[object], seen: set[object]) -> list[bool]:
    """Per loop nest (None: not decoded, always kept), whether it is the first of its nest
    here and not in ``seen``; the nests kept are added to ``seen``."""
    first = []
    for nest in nests:
        first.append(nest is None or nest not in seen)
        if nest is not None:
            seen.add(nest)
    return first


def branch_score(lbs: FloatArray) -> tuple[float, int, int]:
    """How good branching into children with first-objective bounds ``lbs`` is (larger is
    better): their least bound, then fewer children at that least (the rest leave the
    plateau), then fewer children. Branching on a level whose orders all tie at the least
    bound lifts nothing, however few they are."""
    least = float(lbs.min())
    return least, -int(np.count_nonzero(lbs <= least)), -len(lbs)


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """Python's cyclic garbage collector off for the block (as it was after it). An ask
    makes millions of small tuples (nodes, domains) and keeps many in the queue, none in a
    cycle; the collector's passes over that growing heap took 4-5% of a proof's CPU
    (ResNet50 CONV3_1_1 and VGG16 CONV3_2, EDP, ``docs/certified_log.md``)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


class OptimalSearcher(Searcher):
    """Best-first branch and bound (see the module docstring)."""

    name = "optimal"
    proves = True

    def __init__(self, *, batch_size: int = 256) -> None:
        super().__init__(batch_size=batch_size)

    def check(self, problem: Problem) -> None:
        check_exact(problem, "searcher 'optimal'")
        weak = Bounder(problem).weak
        if weak:
            raise UnsupportedError(
                f"searcher 'optimal' has no useful bound for {', '.join(weak)} (the peak NoC "
                "bandwidth needs every step); use exhaustive on a small space, or another "
                "searcher"
            )

    # --- run ------------------------------------------------------------------------------
    def start(
        self,
        problem: Problem,
        history: Evaluation,
        rng: np.random.Generator,
        *,
        worker: int = 0,
        n_workers: int = 1,
        deadline: float | None = None,
    ) -> None:
        self.check(problem)
        self._problem = problem
        self._deadline = deadline
        self._limit = FIRST_ASK  # with a deadline: most points the next ask returns
        self._polish_limit = FIRST_ASK  # and most neighbours of the best point among them
        self._asked = (0.0, 0, 0)  # when the last ask returned, its points, its neighbours
        self._polished = 0  # neighbours of the best point in the ask under way
        self._bounder = Bounder(problem, twins=False)  # each twin's points are listed
        # plans by node content (:meth:`_expand`), not with a timed objective; enumerated
        # points' timed bounds by content and timing key (:meth:`_enumerated`)
        self._contents = None if self._bounder.timed else ContentIds()
        self._plans: dict[tuple[object, ...], tuple[_Domains, _Plan]] = {}
        self._leaves: dict[tuple[object, ...], FloatArray] = {}  # enumerated nodes' bounds
        self._signs = np.asarray([o.sign for o in problem.objectives])
        cons = problem.constraints
        self._additive = all(o.name in ADDITIVE for o in problem.objectives) and (
            cons.max_noc_bw_words_per_cycle is None
            and cons.max_offchip_bw_words_per_cycle is None
            and not cons.strict_capacity  # the peak NoC bandwidth is not a sum
        )
        self._seen: dict[bytes, FloatArray] = {}
        self._nests: set[object] = set()  # loop nests of the leaves queued
        self.same_nest = 0  # leaves not queued: a leaf of the same loop nest was
        self._front = np.zeros((0, len(problem.objectives)))
        self._prune_at = np.inf  # one objective: a bound at least this cannot beat the best
        self._polish: list[IntArray] = []  # one objective: neighbours of the best point
        self._centre: IntArray | None = None  # the best point, until its pairs are asked
        self._origin = np.zeros(problem.n_genes, dtype=np.int64)  # the neighbours' centre
        self._last_move: tuple[int, ...] | None = None  # the genes the last neighbours changed
        self._absorb(history)
        self._found = False  # whether the best point's neighbours are of a point found here
        self._pending: list[tuple[float, bytes]] = []
        self._structures: list[Structure] = structures(
            problem.space, num_pes=problem.hardware.num_pes
        )[worker::n_workers]
        self._tables: list[StructureBounds | None] = [None] * len(self._structures)
        self._heap: list[tuple[float, int, int, _Node, FloatArray]] = []
        self._count = itertools.count()
        self._taken: set[_Node] = set()
        self._nodes: dict[
            tuple[int, _Domains],
            tuple[list[npt.NDArray[np.int64]], GroupValues] | None,
        ] = {}
        # the last node looked up (its table, its configurations, what it allows): an
        # expansion asks for the same one once per free domain and round
        self._last_node: tuple[
            StructureBounds | None,
            _Domains,
            tuple[list[npt.NDArray[np.int64]], GroupValues] | None,
        ] = (None, (), None)
        for sid, st in enumerate(self._structures):
            lb = self._bounder.structure_root(st)
            if np.isfinite(lb[0]):
                self._push(lb, (sid, (), None))
        self._warm: OptimalSearcher | None = None
        self._warm_asked: list[tuple[IntArray, int]] = []  # compact genotype, row of the ask
        if worker == 0 and len(problem.objectives) == 1 and problem.space.complete:
            self._warm = self._warm_up(problem, rng, deadline)

    def _warm_up(
        self, problem: Problem, rng: np.random.Generator, deadline: float | None
    ) -> OptimalSearcher | None:
        """A search of the compact space of the same problem, until it closes or settles
        (:meth:`_warm_settled`) or, with a deadline, until :data:`WARM_SHARE` of the time
        left has gone by; None when the space's fixed genes have no compact counterpart
        (e.g. a fixed ``diagonal``) or a compact genotype has no reading in the complete
        space (:class:`~mapsearch.spaces.handover.Handover`). It prunes with the complete search's best point too
        (:meth:`_share_best`)."""
        options = dataclasses.replace(problem.space.options, kind="compact")
        try:
            space = MappingSpace.build(problem.layer, problem.hardware.num_pes, options)
        except (MapsearchError, ValueError):
            return None
        handover = Handover.between(space, problem.space)
        if handover is None:
            return None
        self._handover = handover
        compact = dataclasses.replace(problem, space=space)
        if deadline is not None:
            now = time.time()
            deadline = now + WARM_SHARE * max(deadline - now, 0.0)
        warm = OptimalSearcher(batch_size=self.batch_size)
        none = Evaluation.concat([], compact.n_genes, len(compact.objectives))
        warm.start(compact, none, rng, deadline=deadline)
        self._share_best(warm)
        return warm

    def _share_best(self, warm: OptimalSearcher) -> None:
        """Let the warm-up prune what cannot beat the complete search's best point (the
        seeds', or one the complete search found): it looks only for better points, and
        its proof is not used. It then closes once no compact point can beat that best."""
        warm._prune_at = min(warm._prune_at, self._prune_at)

    def _ask_warm(self, n: int) -> IntArray | None:
        """The warm-up's next points as complete-space genotypes (those not asked yet), or
        None once it is over (closed, settled, out of time or out of points)."""
        warm = self._warm
        assert warm is not None
        none = Evaluation.concat([], self._problem.n_genes, len(self._signs))
        while True:
            asked = None if self._warm_settled(warm) else warm.ask(n)
            if asked is None or not len(asked):
                self._warm = None
                return None
            out: list[IntArray] = []
            self._warm_asked = []
            for g, full in zip(asked, self._handover.genotypes(asked), strict=True):
                row = -1
                if full.tobytes() not in self._seen:
                    self._seen[full.tobytes()] = np.full(len(self._signs), np.inf)
                    row = len(out)
                    out.append(full)
                self._warm_asked.append((g, row))
            if out:
                return np.stack(out)
            self._tell_warm(none)  # nothing new to hand over: told at once

    def _warm_settled(self, warm: OptimalSearcher) -> bool:
        """Whether the warm-up can no longer lower the best point by more than
        :data:`WARM_GAP` of it: the least key it has queued (a node a dive took only
        lowers it) is that close. Near the compact optimum its proof crawls over a
        plateau of nodes bounded just under the best point, time the complete search
        needs more."""
        if not len(self._front) or warm._pending:
            return False
        best = float(self._front[:, 0].min())
        least = warm._heap[0][0] if warm._heap else np.inf
        gap = 0.0 if self._problem.objectives[0].name == "latency" else WARM_GAP
        return bool(least >= best - gap * abs(best))

    def _tell_warm(self, evaluation: Evaluation) -> None:
        """The warm-up's evaluation of what it asked: the rows handed over, and for points
        already asked no feasible value (the warm-up only looks for good points; its proof
        is not used)."""
        warm = self._warm
        assert warm is not None
        asked, self._warm_asked = self._warm_asked, []
        rows = np.asarray([r for _, r in asked], dtype=np.int64)
        handed = rows >= 0
        n_obj = len(self._signs)
        values = np.full((len(asked), n_obj), np.nan)
        violation = np.full(len(asked), np.inf)
        reasons = np.full(len(asked), "asked before", dtype=object)
        values[handed] = evaluation.values[rows[handed]]
        violation[handed] = evaluation.violation[rows[handed]]
        reasons[handed] = evaluation.reasons[rows[handed]]
        warm.tell(
            Evaluation(
                genotypes=np.stack([g for g, _ in asked]),
                values=values,
                violation=violation,
                reasons=reasons,
            )
        )
        self._share_best(warm)

    def ask(self, n: int) -> IntArray:
        """Up to ``n`` points (:meth:`_next`); with a deadline, at most as many as the last
        batch's pace lets the run evaluate in :data:`EVAL_S` seconds (:meth:`_pace`), so
        that a batch asked before the deadline does not run far past it."""
        if self._deadline is not None:
            n = min(n, self._limit)
        self._polished = 0
        with _collector_paused():
            out = self._next(n)
        self._asked = (time.time(), len(out), self._polished)
        return out

    def _pace(self) -> None:
        """With a deadline, the most points the next ask returns: as many as take
        :data:`EVAL_S` seconds to evaluate at the pace of the batch the last ask returned
        (measured from its return to this tell), and at most twice as many as it could (a
        point's cost varies: the pace is raised step by step). Likewise the most neighbours
        of the best point, as if the batch's time were theirs alone."""
        returned, k, polished = self._asked
        if self._deadline is None or not k:
            return
        took = time.time() - returned
        self._asked = (returned, 0, 0)
        self._limit = self._paced(took / k, self._limit)
        if polished:
            self._polish_limit = self._paced(took / polished, self._polish_limit)

    def _paced(self, per_point: float, limit: int) -> int:
        """How many points take :data:`EVAL_S` seconds at ``per_point`` seconds each, at
        least one and at most twice ``limit`` (and the batch size)."""
        fits = self.batch_size if per_point <= 0 else EVAL_S / per_point
        return int(min(max(fits, 1), 2 * limit, self.batch_size))

    def _move_of(self, g: IntArray) -> tuple[int, ...]:
        """The genes in which neighbour ``g`` differs from the point it is a neighbour of."""
        return tuple(np.flatnonzero(g != self._origin).tolist())

    def _paced_move(self, g: IntArray) -> tuple[int, ...]:
        """With a deadline, the move (:meth:`_move_of`) of the first neighbour an ask takes:
        a batch's neighbours keep to one move, and a move other than the last batch's starts
        again at :data:`FIRST_ASK` neighbours, since the cost of evaluating a point changes
        with the genes changed (on ResNet50 FC1000 from a millisecond for one gene to
        seconds for an inner tile of 1), and the pace of the last batch does not tell it."""
        move = self._move_of(g)
        if move != self._last_move:
            self._polish_limit = FIRST_ASK
        self._last_move = move
        return move

    def _next(self, n: int) -> IntArray:
        """Up to ``n`` points: while the compact warm-up lasts, its points (module
        docstring); then first at most half of them from the local search around the
        best point (only those while points one gene away from a best point found by
        this search are left, not one of the history's, whose neighbours an earlier run
        asked: an ask that expands nodes returns only once it has a leaf, and on ResNet50
        CONV3_1_PROJ, EDP on 168 PEs, the optimum, one gene away from a best point found
        at 23 s, waited in such an ask until 55 s), then leaves, best bound first; fewer
        leaves once :data:`SLICE` nodes have been expanded with at least one, and fewer,
        maybe none, once the run's deadline has passed (checked between nodes, so every
        node is still queued or expanded and :meth:`proof` stays sound). None once the
        proof is closed (:meth:`_closed`), even with neighbours left: on VGG16 CONV4_1
        (EDP, 168 PEs) about 14,000 of them were asked after it had closed.

        With no point to beat yet, or when a slice goes by without a leaf, the search
        *dives*: it follows the best child of each node it expands down to a leaf (the
        siblings stay queued; a node taken by a dive is skipped when popped later).
        """
        if self._warm is not None:
            warm = self._ask_warm(n)
            if warm is not None:
                return warm
        single = len(self._problem.objectives) == 1
        if single and self._closed():
            return np.zeros((0, self._problem.n_genes), dtype=np.int64)
        out: list[IntArray] = []
        expanded = 0
        dive: tuple[float, _Node, FloatArray] | None = None
        if not self._polish and self._centre is not None:  # no single gene helped: pairs
            self._polish, self._centre = self._neighbours(self._centre, pairs=True), None
        late = self._deadline is not None and time.time() >= self._deadline
        move: tuple[int, ...] | None = None
        most = max(n // 2, 1)
        while self._polish and not late and len(out) < most:  # the rest: search
            g = self._polish[-1]
            key_bytes = g.tobytes()
            if key_bytes in self._seen:
                self._polish.pop()
                continue
            if self._deadline is not None:  # one move a batch, paced (:meth:`_paced_move`)
                if move is None:
                    move = self._paced_move(g)
                    most = min(most, self._polish_limit)
                elif self._move_of(g) != move:
                    break
            self._polish.pop()
            self._seen[key_bytes] = np.full(len(self._signs), np.inf)
            out.append(g)
        polished = self._polished = len(out)
        if polished and self._centre is not None and self._found:  # one gene away: first
            return np.stack(out)
        while len(out) < n:
            leaves = len(out) - polished
            if leaves and expanded >= SLICE:
                break
            if self._deadline is not None and time.time() >= self._deadline:
                break
            if dive is not None:
                key, node, lb = dive
                self._taken.add(node)
                dive = None
                if self._pruned(lb):
                    continue
            else:
                if not self._heap:
                    break
                key, _, _, node, lb = heapq.heappop(self._heap)
                if node in self._taken:
                    self._taken.discard(node)
                    continue
                if self._pruned(lb):
                    if single:
                        self._heap.clear()  # best first: everything left is at least as bad
                        self._taken.clear()
                    continue
            sid, orders, configs = node
            expanded += 1
            if configs is None:
                children = self._open(sid)
            elif any(len(d) > 1 for d in (*orders, *configs)):
                children = self._expand(sid, orders, configs, lb)
            else:
                g = self._leaf(sid, orders, configs)
                key_bytes = g.tobytes()
                seen = self._seen.get(key_bytes)
                if seen is not None:
                    if np.isinf(seen).all():  # asked in this batch: open until told
                        self._pending.append((key, key_bytes))
                    continue
                self._seen[key_bytes] = np.full(len(self._signs), np.inf)
                self._pending.append((key, key_bytes))
                out.append(g)
                continue
            stuck = not leaves and expanded >= SLICE
            if children and (stuck or not (len(self._front) or self._pending or leaves)):
                best = min(children, key=lambda c: float(c[0][0]))
                dive = (float(best[0][0]), best[1], best[0])
        if single and len(out) == polished and self._closed():  # closed during this ask
            for g in out:
                del self._seen[g.tobytes()]
            out = []
        if not out:
            return np.zeros((0, self._problem.n_genes), dtype=np.int64)
        return np.stack(out)

    def tell(self, evaluation: Evaluation) -> None:
        self._pace()
        self._absorb(evaluation)
        self._pending = []
        if self._warm_asked:
            self._tell_warm(evaluation)

    def _closed(self) -> bool:
        """With one objective, whether nothing is open (no queued node can beat the best
        point and no leaf awaits its value): the best point is then the optimum and its
        neighbours (:meth:`_neighbours`) cannot beat it, so the search asks no more. The
        heap's least key decides: every other key is at least it."""
        return not self._pending and (not self._heap or self._heap[0][0] >= self._prune_at)

    def proof(self) -> Proof:
        """The least bound of what is still open (or the best point when nothing is), on the
        first objective's cost, and whether the search is closed.

        With one objective a node is open when its key is under the best point and no dive
        took it, and only the least such key matters: the heap is walked in key order from
        its root (a node's children in the heap have keys at least its own) until an open
        node or a key at the best point, so only the nodes dives took before it are read
        (a minute's search on ResNet50 CONV4_1_PROJ, EDP on 256 PEs, queues 7 x 10^5)."""
        if len(self._signs) == 1:
            heap, least = self._heap, None
            walk = [(heap[0][0], 0)] if heap else []
            while walk:
                key, i = heapq.heappop(walk)
                if not key < self._prune_at:
                    break  # every node left in the walk, and under it, has a key at least this
                if heap[i][3] not in self._taken:
                    least = key
                    break
                for j in (2 * i + 1, 2 * i + 2):
                    if j < len(heap):
                        heapq.heappush(walk, (heap[j][0], j))
            open_keys = [] if least is None else [least]
        else:
            open_keys = [
                k
                for k, _, _, node, lb in self._heap
                if node not in self._taken and not self._pruned(lb)
            ]
        open_keys += [k for k, _ in self._pending]
        best = float(self._front[:, 0].min()) if len(self._front) else np.inf
        return Proof(lower_cost=float(min([best, *open_keys])), closed=not open_keys)

    # --- incumbent and pruning ---------------------------------------------------------------
    def _absorb(self, ev: Evaluation) -> None:
        if len(ev) == 0:
            return
        cost = costs(self._problem, ev)
        for row, c, _ok in zip(ev.genotypes, cost, ev.feasible, strict=True):
            self._seen[np.asarray(row, dtype=np.int64).tobytes()] = c
        feasible = cost[ev.feasible]
        if feasible.size:
            both = np.concatenate([self._front, feasible])
            self._front = both[nondominated(both)]
            if self._front.shape[1] == 1:  # one objective: pruning compares one float
                best = float(self._front.min())
                if best < self._prune_at:  # a new best point: search around it
                    top = np.asarray(ev.genotypes, dtype=np.int64)[ev.feasible][
                        int(np.argmin(feasible[:, 0]))
                    ]
                    self._polish, self._centre = self._neighbours(top), top
                    self._origin, self._last_move = top, None
                    self._found = True
                self._prune_at = best - RTOL * abs(best)

    def _neighbours(self, genotype: IntArray, *, pairs: bool = False) -> list[IntArray]:
        """The genotypes not asked yet that differ from ``genotype`` in one gene, or with
        ``pairs`` in two related genes (one gene at two levels, or a cluster size and a
        tile): a local search around each new best point. Evaluated points only lower
        the best, so the proof is unchanged, and a better best prunes more. One of each
        loop nest, none of the best point's own (they cost the same: :meth:`_new_nests`)."""
        genes = self._problem.genes
        moves: list[tuple[int, ...]]
        if pairs:
            rest = [g.name.partition(".")[2] for g in genes]
            moves = [
                (c, d)
                for c, d in itertools.combinations(range(len(genes)), 2)
                if (rest[c] == rest[d] and rest[c])
                or (rest[c] == "cluster" and rest[d].startswith("tile."))
            ]
        else:
            moves = [(c,) for c in range(len(genes))]
        out = []
        for cols in moves:
            for values in itertools.product(*(range(genes[c].size) for c in cols)):
                if any(v == genotype[c] for c, v in zip(cols, values, strict=True)):
                    continue
                g = genotype.copy()
                g[list(cols)] = values
                if g.tobytes() not in self._seen:
                    out.append(g)
        if out:  # one of each loop nest, not the best point's own (:meth:`_new_nests`)
            nests = self._nests_of(np.stack([genotype, *out]))
            out = list(itertools.compress(out, _first_of_nests(nests[1:], {nests[0]})))
        return out[::-1]  # popped from the end: first gene first

    def _pruned(self, lb: FloatArray) -> bool:
        """Whether a point of the front is at least as good as ``lb`` on every objective."""
        if len(lb) == 1:
            return not lb[0] < self._prune_at  # also when lb is inf or nan
        if not np.isfinite(lb).all():
            return True
        if not len(self._front):
            return False
        slack = RTOL * np.abs(self._front)
        return bool(np.any(np.all(self._front - slack <= lb[None, :], axis=1)))

    def _push(
        self, lb: FloatArray, node: _Node, depth: int | None = None
    ) -> list[tuple[FloatArray, _Node]]:
        """Queue ``node`` unless its bound is beaten; the queued node, as a list. ``depth``:
        its fixed domains plus one (counted when not given)."""
        if self._pruned(lb):
            return []
        # ties go deepest first (then newest), so the search reaches leaves early
        if depth is None:
            _sid, orders, configs = node
            depth = 0 if configs is None else sum(len(d) == 1 for d in (*orders, *configs)) + 1
        heapq.heappush(self._heap, (float(lb[0]), -depth, -next(self._count), node, lb))
        return [(lb, node)]

    def _beaten(self, lbs: FloatArray) -> npt.NDArray[np.bool_]:
        """Per row of bounds, whether it cannot beat the front (:meth:`_pruned`)."""
        if lbs.shape[1] == 1:
            return np.asarray(~(lbs[:, 0] < self._prune_at))
        return np.asarray([self._pruned(lb) for lb in lbs], dtype=bool)

    # --- bounds ---------------------------------------------------------------------------------
    def _open(self, sid: int) -> list[tuple[FloatArray, _Node]]:
        """Tabulate a structure and queue the root node of each of its tables (returned, if
        queued); tables after the first get ids of their own. A table whose points are also
        a listed structure's (a diagonal not in effect, ``StructureTable.plain_twin``) is
        left to that structure (the bounder builds none): on VGG16 CONV3_1 (EDP, 168 PEs)
        such tables took a fifth of the expansions."""
        st = self._structures[sid]
        root = self._bounder.structure_root(st)
        pushed: list[tuple[FloatArray, _Node]] = []
        for k, sb in enumerate(self._bounder.structure(st)):
            if k > 0:
                sid = len(self._structures)
                self._structures.append(st)
                self._tables.append(None)
            self._tables[sid] = sb
            orders = tuple(tuple(range(size)) for size in sb.table.order_sizes)
            configs = tuple(tuple(a.tolist()) for a in sb.allowed)
            # the structure's cheap bound (its spread compute) holds for every table of it
            lb = np.maximum(self._bounds(sb, orders, configs, None, None)[0], root)
            pushed += self._push(lb, (sid, orders, configs))
        return pushed

    def _node(
        self, sb: StructureBounds, configs: _Domains
    ) -> tuple[list[npt.NDArray[np.int64]], GroupValues] | None:
        """The configurations a node allows per group (those of its domain that can still
        fit the L1 with the other groups' smallest tiles) and their least factors; None
        when some group has none left (no point of the node is feasible)."""
        if sb is self._last_node[0] and configs is self._last_node[1]:
            return self._last_node[2]  # the same tuple again: no hashing of its domains
        key = (id(sb), configs)
        if key in self._nodes:
            self._last_node = (sb, configs, self._nodes[key])
            return self._nodes[key]
        chosen = [np.asarray(d, dtype=np.int64) for d in configs]
        free = any(len(d) > 1 for d in configs)
        fitting = self._bounder.fit(sb.table, chosen, sb.least) if free else chosen
        found = None if fitting is None else (fitting, sb.least.values(fitting))
        if len(self._nodes) >= NODE_CACHE:
            self._nodes.clear()
        self._nodes[key] = found
        self._last_node = (sb, configs, found)
        return found

    def _bounds(
        self,
        sb: StructureBounds,
        orders: _Domains,
        configs: _Domains,
        group: tuple[int, npt.NDArray[np.int64]] | None,
        level: int | None,
    ) -> FloatArray:
        """Bounds of the node, or of its children branching on a group's configuration
        (``group``: the group and its :meth:`_choices`, one row per choice) or ``level``'s
        order (one row per order of its domain); ``inf`` when no point of the node can be
        feasible."""
        node = self._node(sb, configs)
        if node is None:
            return np.full((1, len(self._signs)), np.inf)
        values = node[1]
        ids = None
        if group is not None:
            values = fix_group(sb.table, values, *group)
            mask = sb.mask(orders)[None]
        elif level is not None:
            stack = sb.level_masks(orders, level)
            mask, ids = stack.masks, stack.row_ids
        else:
            mask = sb.mask(orders)[None]
        rows = count_bounds(sb.table, mask, values, self._problem.hardware, None, ids)

        def sets() -> tuple[list[_Domains], list[list[npt.NDArray[np.int64]]]]:
            B = max(len(values.drain), len(mask))
            if group is not None:
                g, chosen = group
                allowed = [[*node[0][:g], chosen[k : k + 1], *node[0][g + 1 :]] for k in range(B)]
                return [orders] * B, allowed
            if level is not None:
                split = [(*orders[:level], (o,), *orders[level + 1 :]) for o in orders[level]]
                return split, [node[0]] * B
            return [orders], [node[0]]

        return self._stepped(sb, rows, sets)

    def _stepped(
        self,
        sb: StructureBounds,
        rows: FloatArray,
        sets: Callable[[], tuple[Sequence[_Domains], Sequence[Sequence[npt.NDArray[np.int64]]]]],
        *,
        points: bool = False,
    ) -> FloatArray:
        """The bounds of the counts ``rows`` (:func:`count_bounds`), with the least exact
        cycles of the later steps of each set's points (``sets()``: per set its level orders
        and group configurations; :mod:`mapsearch.bounds.steps`) for the sets the counts
        alone leave open (latency and throughput only, and EDP too where each set is one
        point, ``points``; with one objective, a set none of whose points is under what
        prunes it gets just that, :func:`mapsearch.bounds.counts.later_enough`)."""
        lbs = self._bounder.row_objectives(rows)
        if not (self._bounder.point_timed if points else self._bounder.timed):
            return lbs
        open_sets = ~self._beaten(lbs)
        if not open_sets.any():
            return lbs
        counts = CountBounds.of_rows(rows)
        orders, allowed = sets()
        hw = self._problem.hardware
        enough = None
        if len(self._signs) == 1:  # past what prunes the set, the least need not be known
            name = self._problem.objectives[0].name
            enough = later_enough(counts, self._problem.layer, hw, name, self._prune_at)
        tight = sb.steps.tighten(counts, orders, allowed, hw, open_sets, enough)
        return self._bounder.objectives(tight)

    def _choices(self, sb: StructureBounds, configs: _Domains, group: int) -> npt.NDArray[np.int64]:
        """The configurations of ``group`` worth expanding at a node: the allowed ones, less
        those dominated on every factor when the objectives only add counts (the node must
        have points that can be feasible)."""
        node = self._node(sb, configs)
        assert node is not None
        a = node[0][group]
        if not self._additive or a.size < 2:
            return a
        grp = sb.table.groups[group]
        vec = np.concatenate(
            [
                grp.features[a].reshape(a.size, -1),
                grp.fill[a],
                grp.tile_max[a],
                grp.drain[a, None],
                grp.compute[a, None],
            ],
            axis=1,
        )
        le = np.all(vec[:, None, :] <= vec[None, :, :], axis=2)  # le[i, j]: i <= j everywhere
        lt = le & ~np.all(vec[:, None, :] == vec[None, :, :], axis=2)
        first_equal = np.argmax(le & le.T, axis=0)  # the first of each set of equal vectors
        dominated = lt.any(axis=0) | (first_equal != np.arange(a.size))
        return a[~dominated]

    def _expand(
        self, sid: int, orders: _Domains, configs: _Domains, parent: FloatArray
    ) -> list[tuple[FloatArray, _Node]]:
        """Expand a node (:meth:`_plan`) and queue what can still win. Without a timed
        objective, a node whose content (:class:`~mapsearch.bounds.content.ContentIds`)
        was planned before, in this table or another, takes that plan, its configurations
        read position by position: the same bounds would give the same plan, and one made
        when the best point was worse prunes no more than this one would (its children only
        cover more points)."""
        sb = self._tables[sid]
        assert sb is not None
        key = None
        if self._contents is not None:
            key = self._contents.key(sb.table, orders, configs)
            hit = self._plans.get(key)
            if hit is not None:
                return self._apply(sid, _translated(hit[1], hit[0], configs), parent)
        plan = self._plan(sb, orders, configs)
        if key is not None:
            if len(self._plans) >= PLAN_CACHE:
                self._plans.clear()
            self._plans[key] = (configs, plan)
        return self._apply(sid, plan, parent)

    def _apply(self, sid: int, plan: _Plan, parent: FloatArray) -> list[tuple[FloatArray, _Node]]:
        """Queue a plan's children (each bound at least the parent's), or bound the points
        of its enumerated node one by one (timed for EDP) and queue those that can win."""
        pushed: list[tuple[FloatArray, _Node]] = []
        if plan.enumerate is not None:
            sb = self._tables[sid]
            assert sb is not None
            orders, configs = plan.enumerate
            points, leaf_lbs = self._enumerated(sb, orders, configs)
            leaf_lbs = np.maximum(leaf_lbs, parent[None, :])
            n, depth = len(orders), len(orders) + len(configs) + 1
            for k in self._new_nests(sb, points, n, np.flatnonzero(~self._beaten(leaf_lbs))):
                leaf = tuple(zip(points[k]))  # each choice a fixed domain of one
                pushed += self._push(leaf_lbs[k], (sid, leaf[:n], leaf[n:]), depth)
            return pushed
        for lb, orders, configs, depth in plan.children:
            pushed += self._push(np.maximum(lb, parent), (sid, orders, configs), depth)
        return pushed

    def _new_nests(
        self, sb: StructureBounds, points: list[tuple[int, ...]], n: int, alive: IntArray
    ) -> list[int]:
        """The points of ``alive`` (indices into ``points``: ``n`` order choices, then a
        configuration per group) whose loop nest no point queued before has
        (:func:`~mapsearch.directives.nest.nest_signature`: the same units, tiles and loops
        of more than one trip, in the same order). A loop of one trip runs once wherever
        it sits, so points of one nest are one mapping to the model, with the same costs:
        the first one queued is evaluated or pruned by its bound for all of them. On ResNet50
        FC1000 (EDP, 256 PEs) the 29,242 leaves a 60 s search had left open were 424 nests
        (loop orders that differ only where loops of one trip sit)."""
        if not len(alive):
            return []
        nests = self._nests_of(np.stack([_genotype(sb, points[k], n) for k in alive.tolist()]))
        first = _first_of_nests(nests, self._nests)
        self.same_nest += first.count(False)
        return list(itertools.compress(alive.tolist(), first))

    def _nests_of(self, genotypes: IntArray) -> list[tuple[object, ...] | None]:
        """The loop nest (:func:`~mapsearch.directives.nest.nest_signature`) of each
        genotype, None where it does not decode."""
        pes = self._problem.hardware.num_pes
        decoded = self._problem.space.decode(genotypes, pes)
        nests: list[tuple[object, ...] | None] = [None] * len(genotypes)
        if decoded.batch is not None:
            for j, row in enumerate(decoded.rows.tolist()):
                mapping = decoded.batch.mapping(j)
                nests[row] = nest_signature(unfold(self._problem.layer, mapping, pes))
        return nests

    def _enumerated(
        self, sb: StructureBounds, orders: _Domains, configs: _Domains
    ) -> tuple[list[tuple[int, ...]], FloatArray]:
        """:meth:`_leaf_bounds`, or those of a node bounded before whose points have the
        same content and time their steps alike, point by point (the points list every
        choice in the order of its domain, so the k-th point of each has the same bound).
        Bounds made when the best point was worse are no lower: a later step's least need
        not be known past what prunes the point then, and it is still a bound."""
        if self._contents is None:
            return self._leaf_bounds(sb, orders, configs)
        key = (
            self._contents.key(sb.table, orders, configs),
            self._contents.timing_key(sb.steps, configs),
        )
        lbs = self._leaves.get(key)
        if lbs is not None:
            return list(itertools.product(*orders, *configs)), lbs
        points, lbs = self._leaf_bounds(sb, orders, configs)
        if len(self._leaves) >= PLAN_CACHE:
            self._leaves.clear()
        self._leaves[key] = lbs
        return points, lbs

    def _plan(self, sb: StructureBounds, orders: _Domains, configs: _Domains) -> _Plan:
        """Filter the node's domains, then branch on the free group configuration or level
        order whose children have the largest least bound (strong branching: it lifts
        plateaus of equal bounds soonest); the children's bounds do not yet include the
        parent's.

        Filtering: a node's points are the union of its children along any one free group
        or level, so a configuration (or order) whose child cannot beat the best point
        holds no better point and leaves the domain; the other groups' least factors are
        then taken over smaller domains, so their children's bounds rise. This repeats until
        nothing changes (a group at the ideal compute keeps only the tiles that reach it,
        whose fill and drain are no longer the least of every tile's).

        Before that, the families of the two largest free groups are gridded
        (:meth:`_family_filter`).
        """
        filtered = self._family_filter(sb, orders, configs)
        if filtered is None:
            return _Plan()
        configs = filtered
        while True:
            if self._node(sb, configs) is None:
                return _Plan()
            best: tuple[float, int, int, int | None, int | None, FloatArray, _Choices] | None
            best = None
            new_orders, new_configs = list(orders), list(configs)
            changed = False
            for g in (g for g, d in enumerate(configs) if len(d) > 1):
                chosen = self._choices(sb, configs, g)
                lbs = self._bounds(sb, orders, configs, (g, chosen), None)
                choices = tuple(chosen.tolist())
                keep = ~self._beaten(lbs)
                if not keep.all():
                    choices, lbs = tuple(itertools.compress(choices, keep.tolist())), lbs[keep]
                if choices != configs[g]:
                    new_configs[g], changed = choices, True
                if not choices:
                    return _Plan()
                score = branch_score(lbs[:, 0])
                if best is None or score > best[:3]:
                    best = (*score, g, None, lbs, choices)
            for lv in (lv for lv, d in enumerate(orders) if len(d) > 1):
                lbs = self._bounds(sb, orders, configs, None, lv)
                keep = ~self._beaten(lbs)
                choices = tuple(np.asarray(orders[lv])[keep].tolist())
                if not choices:
                    return _Plan()
                if len(choices) < len(orders[lv]):
                    new_orders[lv], changed = choices, True
                score = branch_score(lbs[keep, 0])
                if best is None or score > best[:3]:
                    best = (*score, None, lv, lbs[keep], choices)
            if not changed:
                break
            orders, configs = tuple(new_orders), tuple(new_configs)
            if all(len(d) == 1 for d in (*orders, *configs)):  # a leaf: queue it
                lb = self._bounds(sb, orders, configs, None, None)[0]
                return _Plan(children=((lb, orders, configs, len(orders) + len(configs) + 1),))
        assert best is not None
        _, _, _, group, level, lbs, choices = best
        if np.prod([len(d) for d in (*orders, *configs)]) <= ENUMERATE:
            return _Plan(enumerate=(orders, configs))  # few points left: bound each
        if group is not None:
            first = Domain(kind="group", index=group, choices=choices)
        else:
            assert level is not None
            first = Domain(kind="level", index=level, choices=choices)
        ahead, narrowed = self._lookahead(sb, orders, configs, first)
        lbs = np.maximum(lbs, ahead)
        depth = sum(len(d) == 1 for d in (*orders, *configs)) + 2  # the children fix one more
        children = []
        for k, (c, lb) in enumerate(zip(choices, lbs, strict=True)):
            child = [list(orders), list(configs)]
            child[first.kind == "group"][first.index] = (c,)
            for d, kept in narrowed:
                child[d.kind == "group"][d.index] = kept[k]
            if all(child[0]) and all(child[1]):
                children.append((lb, tuple(child[0]), tuple(child[1]), depth))
        return _Plan(children=tuple(children))

    def _family_filter(
        self, sb: StructureBounds, orders: _Domains, configs: _Domains
    ) -> _Domains | None:
        """``configs`` less the families (:meth:`StructureBounds.families`) of its two
        largest free groups whose every cell of a grid of the two (or of the one) cannot
        beat the best point; None when no cell can. A few sets: on ResNet50 CONV3_1_PROJ
        (EDP, 168 PEs) most nodes that die, die here, before the grids of their
        configurations (``docs/certified_log.md``)."""
        node = self._node(sb, configs)
        if node is None:
            return None
        allowed, values = node
        groups, _ = free_domains(allowed, orders)
        fams = [
            f for d in sorted(groups, key=lambda d: -len(d.choices)) if (f := family_domain(sb, d))
        ]
        if not fams:
            return configs
        first, second = fams[0], fams[1] if len(fams) > 1 else None
        cells = self._bounder.grid(sb, orders, values, first, second)
        n1, n2, k = cells.shape
        win = ~self._beaten(cells.reshape(n1 * n2, k)).reshape(n1, n2)
        if not win.any():
            return None
        out = list(configs)
        for fam, axis in ((first, 1), (second, 0)):
            keep = [bool(x) for x in np.asarray(win.any(axis=axis))]
            if fam is not None and not all(keep):
                kept = {c for m, k in zip(fam.members, keep, strict=True) if k for c in m}
                out[fam.index] = tuple(c for c in configs[fam.index] if c in kept)
        return tuple(out)

    def _lookahead(
        self, sb: StructureBounds, orders: _Domains, configs: _Domains, first: Domain
    ) -> tuple[FloatArray, list[tuple[Domain, list[tuple[int, ...]]]]]:
        """Bounds of the children fixing ``first`` to each of its choices, each with one more
        free domain's minimum taken outside the sums (:meth:`Bounder.lookahead`): every
        other free level, then group, the smaller domains first while the sets bounded (of
        the children still alive) stay within :data:`LOOKAHEAD` (``-inf`` when none fits).
        Also, per domain gridded, each child's choices of it whose cell can still beat the
        best point: a cell bounds every point of the child with that choice, so the other
        choices leave the child's domain (what the child's own filtering would drop first,
        without bounding it again)."""
        node = self._node(sb, configs)
        assert node is not None
        allowed, values = node
        groups, levels = free_domains(allowed, orders)
        rest = [d for d in groups + levels if (d.kind, d.index) != (first.kind, first.index)]
        groups_by_index = {d.index: d for d in rest if d.kind == "group"}
        families = [family_domain(sb, d) for d in groups_by_index.values()]
        others = sorted(rest + [f for f in families if f is not None], key=lambda d: len(d.choices))
        out, kept = self._bounder.lookahead(
            sb, orders, values, first, others, self._beaten, LOOKAHEAD
        )
        # per domain gridded, per row the choices kept; a family's grid keeps its members
        masks: dict[tuple[str, int], npt.NDArray[np.bool_]] = {}
        for d, keep in zip(others, kept, strict=True):
            if keep is None:
                continue
            if d.kind == "family":  # each configuration keeps what its family kept
                keep = keep[:, family_positions(sb, groups_by_index[d.index])]
            key = ("level" if d.kind == "level" else "group", d.index)
            masks[key] = masks[key] & keep if key in masks else keep
        narrowed = []
        for d in rest:
            keep = masks.get((d.kind, d.index))
            if keep is not None:
                narrowed.append(
                    (d, [tuple(itertools.compress(d.choices, row)) for row in keep.tolist()])
                )
        return out, narrowed

    def _leaf_bounds(
        self, sb: StructureBounds, orders: _Domains, configs: _Domains
    ) -> tuple[list[tuple[int, ...]], FloatArray]:
        """Every point of a node (order choices, then configurations) and its bound."""
        points = list(itertools.product(*orders, *configs))
        n = len(orders)
        table = sb.table
        a = np.asarray([p[n:] for p in points], dtype=np.int64)  # (B, G)
        B = len(a)
        # the points list every configuration under each order choice in turn
        fixed = [sb.mask(tuple((o,) for o in choice)) for choice in itertools.product(*orders)]
        n_orders = len(fixed)
        keys = np.arange(B, dtype=np.int64) % (B // n_orders)  # configurations vary fastest
        values = fixed_values(table, a, keys)
        mask_of = np.arange(B, dtype=np.int64) // (B // n_orders)
        rows = count_bounds(table, np.stack(fixed), values, self._problem.hardware, mask_of)

        def sets() -> tuple[list[_Domains], list[list[npt.NDArray[np.int64]]]]:
            return [tuple(zip(p[:n])) for p in points], [list(row[:, None]) for row in a]

        return points, self._stepped(sb, rows, sets, points=True)

    def _leaf(self, sid: int, orders: _Domains, configs: _Domains) -> IntArray:
        sb = self._tables[sid]
        assert sb is not None
        return _genotype(
            sb, tuple(o for (o,) in orders) + tuple(a for (a,) in configs), len(orders)
        )
