"""Content ids of structure tables: which nodes of different tables have the same bounds.

Every untimed bound of a set of a table (its counts, energy, EDP with the summed runtime
floor, the L1 fit and the least factors) is read from the table's masks and parts and from
the factor rows of the configurations each group allows (:class:`~mapsearch.bounds.table.
GroupTable`): nothing in it depends on which genes a configuration decodes from. Two nodes
whose tables have equal masks and parts, whose level orders are equal, and whose groups
allow configurations of equal rows, position by position, therefore get the same bounds,
and so do their children and their grids, position by position. Such repeats are common: on
ResNet50 CONV5_1_1 (EDP, 256 PEs) the nine structures that spread ``C`` over every PE
(cluster sizes 2-128 with ``C`` spatial at both levels, and the two with a level of one
unit) expand identical trees, 60% of the search's expansions (``docs/certified_log.md``).
The exact step timing reads the model's decoded cores, which can differ between such
tables, so a timed bound is shared only where each configuration also times its steps as
the other's does (:meth:`ContentIds.timing_key`).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from mapsearch.bounds.steps import StepRows
from mapsearch.bounds.table import GroupTable, StructureTable

Domains = tuple[tuple[int, ...], ...]

#: The fields of a group's configuration that its bounds read (its factor rows).
ROW_FIELDS = ("features", "fill", "tile_max", "drain", "compute", "used", "refused")


class ContentIds:
    """Ids of table layouts (masks and parts) and of configuration rows, equal exactly when
    the contents are (the bytes themselves are the keys); kept for one search."""

    def __init__(self) -> None:
        self._ids: dict[bytes, int] = {}
        # by the table's id, with the table itself (kept alive, so the id stays its own)
        self._tables: dict[int, tuple[StructureTable, tuple[int, tuple[list[int], ...]]]] = {}
        self._timings: dict[int, tuple[StepRows, tuple[list[int], ...]]] = {}

    def _id(self, key: bytes) -> int:
        return self._ids.setdefault(key, len(self._ids))

    def of(self, table: StructureTable) -> tuple[int, tuple[list[int], ...]]:
        """The table's layout id and, per group, the id of each configuration's row."""
        kept = self._tables.get(id(table))
        if kept is None:
            layout = [repr((table.order_sizes, [g.parts for g in table.groups])).encode()]
            layout += [m.tobytes() + repr(m.shape).encode() for m in table.masks]
            found = (
                self._id(b"|".join(layout)),
                tuple(self._rows(g, grp) for g, grp in enumerate(table.groups)),
            )
            kept = self._tables[id(table)] = (table, found)
        return kept[1]

    def key(
        self, table: StructureTable, orders: tuple[tuple[int, ...], ...], configs: Domains
    ) -> tuple[object, ...]:
        """A node's content: its table's layout, its orders, and the row id of each
        configuration its groups allow, in the order of its domains."""
        layout, rows = self.of(table)
        return layout, orders, _by_position(rows, configs)

    def timing_key(self, steps: StepRows, configs: Domains) -> Domains:
        """The ids of how each configuration a node allows times its steps
        (:meth:`StepRows.timing_keys`), in the order of its domains: with :meth:`key`,
        equal for two nodes whose points have the same timed bounds."""
        kept = self._timings.get(id(steps))
        if kept is None:
            ids = tuple(
                [self._id(b"t%d:" % g + k) for k in keys]
                for g, keys in enumerate(steps.timing_keys())
            )
            kept = self._timings[id(steps)] = (steps, ids)
        return _by_position(kept[1], configs)

    def _rows(self, g: int, grp: GroupTable) -> list[int]:
        n = len(grp.drain)
        cols: list[npt.NDArray[np.float64]] = [
            np.asarray(getattr(grp, name), dtype=np.float64).reshape(n, -1) for name in ROW_FIELDS
        ]
        rows = np.ascontiguousarray(np.concatenate(cols, axis=1))
        prefix = f"{g}:".encode()
        return [self._id(prefix + row.tobytes()) for row in rows]


def _by_position(ids: tuple[list[int], ...], configs: Domains) -> Domains:
    """Per group, the ids of the configurations its domain allows, in the domain's order."""
    return tuple(tuple(map(r.__getitem__, d)) for r, d in zip(ids, configs, strict=True))
