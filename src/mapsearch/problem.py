"""A search problem: what is searched (space), how it is scored (cost model, objectives), and
what is allowed (constraints). Its ``evaluate`` turns a batch of genotypes into objective
values, a violation amount and a reason per candidate, one cost-model call per hardware
design (templates are data).

Tune (searchers, studies) and DSE (``TunedDataflow``) share it; how a problem is stored
and named is :mod:`mapsearch.studies.fingerprint`'s.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from mapsearch.costmodel import CostModel, MappingBatch, Semantics, cost_model
from mapsearch.costmodel.report import Report
from mapsearch.costmodel.summary import Summaries, directive_texts, metric_columns
from mapsearch.directives import Mapping
from mapsearch.errors import MappingError, UnsupportedError
from mapsearch.hardware import Hardware
from mapsearch.layers import Layer
from mapsearch.objectives import Constraints, Direction, Objective, get_objectives
from mapsearch.spaces import DecodedBatch, Gene, HardwareSpace, MappingSpace, SpaceOptions
from mapsearch.spaces.genes import IntArray
from mapsearch.spaces.genome import Genome

FloatArray = npt.NDArray[np.float64]
ObjArray = npt.NDArray[np.object_]


@dataclass(frozen=True, slots=True, kw_only=True)
class Evaluation:
    """Scores of ``B`` genotypes.

    ``values`` has shape ``(B, n_objectives)`` in each objective's own unit and direction
    (NaN where the candidate could not be scored); ``violation`` is 0 for feasible
    candidates, the summed relative excess over the constraint limits otherwise, and
    ``inf`` when the candidate was rejected by decoding or by the cost model; ``reasons``
    says why ("" when feasible). ``summaries`` (mapping text, hardware, headline metrics
    per row, what a study stores with each trial) come with ``Problem.evaluate``'s results,
    not with evaluations read back from a study.
    """

    genotypes: IntArray
    values: FloatArray
    violation: FloatArray
    reasons: ObjArray
    summaries: Summaries | None = None

    def __len__(self) -> int:
        return int(self.genotypes.shape[0])

    @property
    def feasible(self) -> npt.NDArray[np.bool_]:
        return self.violation == 0

    @classmethod
    def concat(cls, parts: list[Evaluation], n_genes: int, n_objectives: int) -> Evaluation:
        if not parts:
            return cls(
                genotypes=np.zeros((0, n_genes), np.int64),
                values=np.zeros((0, n_objectives)),
                violation=np.zeros(0),
                reasons=np.zeros(0, dtype=object),
            )
        return cls(
            genotypes=np.concatenate([p.genotypes for p in parts]),
            values=np.concatenate([p.values for p in parts]),
            violation=np.concatenate([p.violation for p in parts]),
            reasons=np.concatenate([p.reasons for p in parts]),
            summaries=None
            if any(p.summaries is None for p in parts)
            else Summaries.concat([p.summaries for p in parts if p.summaries is not None]),
        )

    def take(self, index: npt.ArrayLike) -> Evaluation:
        idx = np.asarray(index)
        return Evaluation(
            genotypes=self.genotypes[idx],
            values=self.values[idx],
            violation=self.violation[idx],
            reasons=self.reasons[idx],
            summaries=None if self.summaries is None else self.summaries.take(idx),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class Problem:
    """One layer on one hardware (or a hardware space), scored by ``objectives`` under ``constraints``."""

    layer: Layer
    hardware: Hardware
    space: MappingSpace
    objectives: tuple[Objective, ...]
    constraints: Constraints = field(default_factory=Constraints)
    hardware_space: HardwareSpace | None = None
    semantics: Semantics = Semantics.EXACT

    def __post_init__(self) -> None:
        # NOTE: a plain name ("maestro") is accepted and stored as the enum.
        object.__setattr__(self, "semantics", Semantics.parse(self.semantics))
        if not self.objectives:
            raise ValueError("a problem needs at least one objective, got none")
        if self.space.layer != self.layer:
            raise ValueError(
                f"the space is for layer {self.space.layer.qualified_name}, "
                f"the problem for {self.layer.qualified_name}"
            )
        cost_model(self.semantics)  # an unknown semantics lists the known ones

    @classmethod
    def create(
        cls,
        layer: Layer,
        hardware: Hardware,
        objectives: tuple[str, ...] | list[str],
        *,
        constraints: Constraints | None = None,
        options: SpaceOptions | None = None,
        co_design: HardwareSpace | None = None,
        semantics: Semantics | str = Semantics.EXACT,
    ) -> Problem:
        """The usual way in: objective names, a space built for the hardware's PE count(s)."""
        pes = co_design.pe_choices if co_design is not None else hardware.num_pes
        return cls(
            layer=layer,
            hardware=hardware,
            space=MappingSpace.build(layer, pes, options),
            objectives=get_objectives(list(objectives)),
            constraints=constraints or Constraints(),
            hardware_space=co_design,
            semantics=Semantics.parse(semantics),
        )

    @property
    def model(self) -> CostModel:
        """The cost model of the problem's semantics."""
        return cost_model(self.semantics)

    # --- genes ----------------------------------------------------------------------------
    @property
    def genome(self) -> Genome:
        """The genes searched: the mapping space's, then the hardware space's."""
        return Genome(mapping=self.space, hardware=self.hardware_space)

    @property
    def genes(self) -> tuple[Gene, ...]:
        return self.genome.genes

    @property
    def n_genes(self) -> int:
        return len(self.genes)

    @property
    def directions(self) -> tuple[Direction, ...]:
        return tuple(o.direction for o in self.objectives)

    # --- decoding and scoring -------------------------------------------------------------
    def _designs(self, genotypes: IntArray) -> tuple[list[Hardware], IntArray, IntArray]:
        if self.hardware_space is None:
            n = genotypes.shape[0]
            return (
                [self.hardware],
                np.zeros(n, np.int64),
                np.full(n, self.hardware.num_pes, np.int64),
            )
        return self.hardware_space.decode(genotypes[:, self.space.n_genes :])

    def decode(self, genotypes: IntArray) -> tuple[DecodedBatch, list[Hardware], IntArray]:
        """Decode a batch: the mappings (one batch, templates as data), the distinct hardware
        designs and each genotype row's design."""
        g = np.asarray(genotypes, dtype=np.int64).reshape(-1, self.n_genes)
        designs, hw_index, pes = self._designs(g)
        return self.space.decode(g[:, : self.space.n_genes], pes), designs, hw_index

    def evaluate(self, genotypes: IntArray) -> Evaluation:
        """Score a ``(B, n_genes)`` batch: decode, one cost-model call per hardware design."""
        g = np.asarray(genotypes, dtype=np.int64).reshape(-1, self.n_genes)
        B = g.shape[0]
        decoded, designs, hw_index = self.decode(g)
        values = np.full((B, len(self.objectives)), np.nan)
        violation = np.full(B, np.inf)
        reasons = decoded.reasons.copy()
        summaries = Summaries.empty(B)
        if decoded.batch is not None:
            hw_rows = np.empty(len(designs), dtype=object)
            hw_rows[:] = designs
            summaries.mappings[decoded.rows] = directive_texts(decoded.batch)
            summaries.hardware[decoded.rows] = hw_rows[hw_index[decoded.rows]]
            design = hw_index[decoded.rows]
            for h in np.unique(design):
                local = np.flatnonzero(design == h)
                self._score(
                    decoded.batch,
                    local,
                    decoded.rows[local],
                    designs[h],
                    values,
                    violation,
                    reasons,
                    summaries,
                )
        return Evaluation(
            genotypes=g, values=values, violation=violation, reasons=reasons, summaries=summaries
        )

    def _score(
        self,
        batch: MappingBatch,
        local: IntArray,
        rows: IntArray,
        hardware: Hardware,
        values: FloatArray,
        violation: FloatArray,
        reasons: ObjArray,
        summaries: Summaries | None = None,
    ) -> None:
        """Score ``batch`` rows ``local`` (study rows ``rows``) on ``hardware`` into the outputs.

        Rows the model cannot score (outside the exact model's class, say) get the reason;
        when it names them, the other rows are scored without them.
        """
        try:
            report = self.model.evaluate_batch(self.layer, hardware, batch.take(local))
        except (UnsupportedError, MappingError) as e:
            refused = np.asarray(getattr(e, "rows", ()), dtype=np.int64)
            if refused.size == 0 or refused.size == local.size:
                reasons[rows] = f"{type(e).__name__}: {e}"
                return
            reasons[rows[refused]] = f"{type(e).__name__}: {e}"
            keep = np.setdiff1d(np.arange(local.size), refused)
            self._score(
                batch, local[keep], rows[keep], hardware, values, violation, reasons, summaries
            )
            return
        v, why = self.constraints.check(report, hardware)
        impossible = ~np.asarray(report.feasible, dtype=bool) | (report.macs < self.layer.macs)
        if impossible.any():
            model_why = np.asarray(report.reason, dtype=object)
            short = (model_why == "") & impossible
            model_why[short] = f"computes fewer MACs than the layer's {self.layer.macs}"
            why[impossible] = model_why[impossible]
            v[impossible] = np.inf
        values[rows] = np.stack([o.value(report) for o in self.objectives], axis=1)
        if summaries is not None:
            summaries.metrics[rows] = metric_columns(report)
        values[rows[impossible]] = np.nan
        violation[rows] = v
        reasons[rows] = why

    def decode_one(self, genotype: IntArray) -> tuple[Mapping, Hardware]:
        """The mapping and hardware of one genotype (``ValueError`` with the reason if rejected)."""
        g = np.asarray(genotype, dtype=np.int64).reshape(1, -1)
        designs, hw_index, pes = self._designs(g)
        return self.space.mapping(g[0, : self.space.n_genes], int(pes[0])), designs[
            int(hw_index[0])
        ]

    def report(self, genotype: IntArray) -> tuple[Mapping, Hardware, Report]:
        """Mapping, hardware and full cost-model report of one genotype."""
        mapping, hw = self.decode_one(genotype)
        batch = MappingBatch.from_mappings([mapping], self.layer)
        return mapping, hw, self.model.evaluate_batch(self.layer, hw, batch)

    def description(self) -> str:
        """Human-readable summary (shown when a study refuses a different problem)."""
        lines = [
            f"layer      {self.layer.qualified_name}: {self.layer.describe()}",
            f"hardware   {self.hardware.name}: {self.hardware.describe()}",
        ]
        if self.hardware_space is not None:
            knobs = ", ".join(f"{k}={list(v)}" for k, v in self.hardware_space.choices)
            lines.append(f"co-design  {knobs}")
        opts = self.space.options
        lines += [
            f"space      levels {list(opts.levels)}, tiles {opts.tiles}"
            + (f", fixed {dict(opts.fixed)}" if opts.fixed else ""),
            f"objectives {', '.join(f'{o.name} ({o.direction})' for o in self.objectives)}",
            "constraints "
            + (
                ", ".join(
                    f"{k}={v}"
                    for k, v in self.constraints.to_dict().items()
                    if v not in (None, False)
                )
                or "none"
            ),
            f"semantics  {self.semantics}",
        ]
        return "\n".join(lines)
