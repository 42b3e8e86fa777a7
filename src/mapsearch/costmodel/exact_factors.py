"""The exact model's per-group factors, exposed for bounds (``docs/semantics.md`` section 3).

Under the exact semantics every count is a sum over step classes (the first step, then one
class per loop: the steps where that loop is the innermost to change) of products of
per-group factors, and a group's factors depend only on its own directives and unit counts.
In a step class a group plays one *part*: ``("first", 0)`` (the first step),
``("loop", k)`` (its own ``k``-th loop advances), ``("inner", k)`` (an outer loop advanced
and reset its loops from the ``k``-th on) or ``("self", 0)`` (all its loops are outside the
changing one: it does not move).

One exception: a group whose unit resumes after idling (``parted``) or whose outputs pass
between units unwritten (``staggered``) may be *coupled* to the others; the model then
walks the groups together (:mod:`mapsearch.costmodel._exact_joint`), and its counts of
held elements are not products. :attr:`GroupFactors.coupled` says so, and bounds must not
use such a configuration's held-element factors.

:func:`group_factors` gives, for a batch of mappings of one template, every group's column
sums in every part it can play, whatever the rest of the template; :func:`class_parts` says
which part a group plays in each step class of a template. ``mapsearch.bounds`` combines
them to bound counts over choices that vary one group at a time.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from mapsearch.costmodel._exact_groups import (
    _COLS,
    _Core,
    _group_of,
    class_parts,
)
from mapsearch.costmodel.batch import MappingBatch
from mapsearch.costmodel.exact import _distinct_rows, _group_core, _GroupShape, _Plan, _plan
from mapsearch.directives import DirectiveKind
from mapsearch.layers import Layer

IntArray = npt.NDArray[np.int64]
#: A group's part in a step class: ``("first", 0)``, ``("self", 0)``, ``("loop", k)``, ``("inner", k)``.
Part = tuple[str, int]

#: Factor columns, in the order of :attr:`GroupFactors.sums`: active PE-steps (``A``), MACs
#: summed and largest over PEs, and for input (``i``), filter (``f``), output (``o``) and
#: written-back outputs (``h``): the union of the new tiles (``U``) and the part of it every
#: holder kept (``G``); per-PE fetched (``N``) and kept (``I``) elements of input and
#: filter; first visits of outputs (``FV``).
COLUMNS: tuple[str, ...] = _COLS

__all__ = [
    "COLUMNS",
    "GroupFactors",
    "Part",
    "TemplateFactors",
    "class_parts",
    "dimension_group",
    "group_factors",
]


def dimension_group(layer: Layer, dim: str) -> str:
    """The name of the group of dimension ``dim`` (``Y`` for ``Y`` and ``R``; ``K`` for ``K``)."""
    return _group_of(layer)[dim]


@dataclass(frozen=True, slots=True, kw_only=True)
class GroupFactors:
    """One configuration of one group (its own directives and units).

    ``sums[n]`` are the column sums (:data:`COLUMNS`) of the group's factor rows in part
    ``parts[n]`` and ``nrows[n]`` their number; per role (input, filter, output) ``fill`` is
    the union of all its tiles and ``tile_max`` the largest; ``drain`` the union of the
    output tiles held at the end; ``exec_tuples`` its executable loop tuples (0: it computes
    nothing, so no mapping with it computes the layer). ``resumed[n]``: in part
    ``parts[n]`` a unit resumes late (its PE holds the tile of its last active step, which
    other groups' loops decide); ``staggered``: an output can pass between the group's
    units unwritten (whether it was written depends on the whole nest). Either way the
    model may walk the group with others (:attr:`coupled`).
    """

    exec_tuples: int
    parts: tuple[Part, ...]
    sums: IntArray
    nrows: IntArray
    fill: tuple[int, int, int]
    tile_max: tuple[int, int, int]
    drain: int
    resumed: tuple[bool, ...]
    staggered: bool

    @property
    def coupled(self) -> tuple[bool, ...]:
        """Per part, whether the model may walk the group with others there (a unit
        resumes late there, or the group is staggered: then in every part), so its
        held-element columns (``G``, ``I``, ``h``) are not factors there. A staggered group
        couples only which outputs were written: the tiles a PE holds follow from the
        directives alone, so outside ``resumed`` parts its input and filter columns and
        its written-back outputs (each output a PE lets go is written then) stay factors
        (``mapsearch.bounds.table`` uses them)."""
        return tuple(self.staggered or r for r in self.resumed)


@dataclass(frozen=True, slots=True, kw_only=True)
class TemplateFactors:
    """The groups of a batch's template and their distinct configurations.

    ``groups[g]`` is a group's name, ``index[g][i]`` the configuration of mapping ``i`` in
    ``factors[g]``; ``loop_groups`` the group of every loop of the template, outer first.
    """

    groups: tuple[str, ...]
    loop_groups: tuple[str, ...]
    index: tuple[IntArray, ...]
    factors: tuple[tuple[GroupFactors, ...], ...]


def group_factors(layer: Layer, batch: MappingBatch, num_pes: int) -> TemplateFactors:
    """Every group's factors for the mappings of ``batch`` (one template) on ``num_pes`` PEs.

    Each distinct group configuration is walked once (and shares the exact model's memo).
    The mappings must unfold (cluster sizes within the PE count, sizes >= 1).
    """
    plan, keys = group_keys(layer, batch, num_pes)
    specs, loop_groups = plan.specs, plan.loop_groups
    index: list[IntArray] = []
    factors: list[tuple[GroupFactors, ...]] = []
    for shape, key in zip(plan.shapes, keys, strict=True):
        first, inv = _distinct_rows(key)
        index.append(inv)
        factors.append(tuple(_shape_factors(layer, shape, tuple(key[f].tolist())) for f in first))
    return TemplateFactors(
        groups=tuple(s.name for s in specs),
        loop_groups=loop_groups,
        index=tuple(index),
        factors=tuple(factors),
    )


def group_keys(layer: Layer, batch: MappingBatch, num_pes: int) -> tuple[_Plan, list[IntArray]]:
    """The model's plan of ``batch``'s template (one) on ``num_pes`` PEs and, per group of
    the plan, every mapping's key row: the group's sizes and offsets and its levels' units,
    the key the model memoises the group's core on."""
    t = batch.template
    clusters = batch.sizes[:, [j for j, k in enumerate(t.kinds) if k is DirectiveKind.CLUSTER]]
    top = num_pes // np.maximum(np.prod(clusters, axis=1), 1)
    units = np.concatenate([top[:, None], clusters], axis=1)
    plan = _plan(layer, t)
    keys = [
        np.concatenate(
            [batch.sizes[:, spec.columns], batch.offsets[:, spec.columns], units[:, spec.levels]],
            axis=1,
        )
        for spec in plan.specs
    ]
    return plan, keys


@functools.lru_cache(maxsize=50_000)
def _shape_factors(layer: Layer, shape: _GroupShape, values: tuple[int, ...]) -> GroupFactors:
    """The factors of the group of ``shape`` with key row ``values``, memoised on the
    arguments like the model's group summaries: the structures of a space share most of
    their groups' configurations (read-only: the arrays are shared)."""
    core, _ = _group_core(layer, shape.spec, shape.directives, shape.n_levels, values)
    return core_factors(core)


def group_cores(layer: Layer, batch: MappingBatch, num_pes: int, name: str) -> list[_Core]:
    """The model's core of group ``name`` for each mapping of ``batch`` (one template),
    keyed as :func:`group_factors` keys it (the bounds time a group's later steps from it)."""
    plan, keys = group_keys(layer, batch, num_pes)
    k = next(i for i, spec in enumerate(plan.specs) if spec.name == name)
    shape = plan.shapes[k]
    return [
        _group_core(layer, shape.spec, shape.directives, shape.n_levels, tuple(row))[0]
        for row in keys[k].tolist()
    ]


def core_factors(core: _Core) -> GroupFactors:
    """The factors of one group core (:class:`GroupFactors`)."""
    rows = core.rows  # built on every access: read once
    parts = tuple(rows)
    late = {loop for loop, _ in core.parted}  # the group's loops where a unit resumes late
    return GroupFactors(
        exec_tuples=core.exec_tuples,
        parts=parts,
        sums=np.array([rows[p][0] for p in parts], dtype=np.int64).reshape(-1, len(_COLS)),
        nrows=np.array([rows[p][1] for p in parts], dtype=np.int64),
        fill=core.fill,
        tile_max=core.tile_max,
        drain=core.drain,
        resumed=tuple(kind == "loop" and k in late for kind, k in parts),
        staggered=core.staggered,
    )
