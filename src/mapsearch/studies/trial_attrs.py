"""The user attributes a study keeps with each trial, as JSON text, a batch at a time.

Per trial: ``mapping`` (directive text), ``hardware`` (``summary.hardware_attrs``) and
``metrics`` (``TRIAL_METRICS`` and the energy unit, when every metric is finite) where the
genotype decoded; ``infeasible`` (the reason), ``violation`` and ``values`` (None where
not scored) where it is not feasible. The text is what ``json.dumps`` writes for the same
values (tests check it): a search stores thousands of trials a second, and encoding one
dictionary per trial through ``json.dumps`` costs more than the database's insert.
"""

from __future__ import annotations

import functools
import json
import math
from json.encoder import encode_basestring_ascii

import numpy as np

from mapsearch.costmodel.summary import TRIAL_METRICS, hardware_attrs
from mapsearch.hardware import Hardware
from mapsearch.problem import Evaluation

#: One stored attribute: (row of the batch, key, JSON text); rows ascending.
AttrRow = tuple[int, str, str]


def attr_rows(ev: Evaluation) -> list[AttrRow]:
    """Every user attribute of every trial of ``ev``, trial by trial, in the order above.

    Each attribute is encoded for the whole batch at once (a column, None where a trial has
    none), then the columns are interleaved trial by trial."""
    columns: dict[str, list[str | None]] = {}
    s = ev.summaries
    if s is not None:
        hardware = s.hardware.tolist()
        if any(hw is not None for hw in hardware):
            columns.update(_decoded_columns(hardware, s.mappings.tolist(), s.metrics))
    bad = (ev.violation != 0).tolist()
    if any(bad):
        reasons, violation, values = ev.reasons.tolist(), ev.violation.tolist(), ev.values.tolist()
        columns["infeasible"] = [
            encode_basestring_ascii(str(r)) if b else None
            for r, b in zip(reasons, bad, strict=True)
        ]
        columns["violation"] = [
            _float_json(v) if b else None for v, b in zip(violation, bad, strict=True)
        ]
        columns["values"] = [
            _values_json(v) if b else None for v, b in zip(values, bad, strict=True)
        ]
    keys = list(columns)
    return [
        (k, key, text)
        for k, texts in enumerate(zip(*columns.values(), strict=True))
        for key, text in zip(keys, texts, strict=True)
        if text is not None
    ]


def _decoded_columns(
    hardware: list[Hardware | None], mappings: list[str], metrics: np.ndarray
) -> dict[str, list[str | None]]:
    """The ``mapping``, ``hardware`` and ``metrics`` columns (None where not decoded, and
    ``metrics`` None where a metric is not finite)."""
    designs: dict[int, str] = {}  # a batch holds a few hardware objects, many times each
    hw_texts: list[str | None] = []
    for hw in hardware:
        if hw is None:
            hw_texts.append(None)
            continue
        text = designs.get(id(hw))
        if text is None:
            text = designs[id(hw)] = _hardware_json(hw)
        hw_texts.append(text)
    finite = np.isfinite(metrics).all(axis=1).tolist()
    return {
        "mapping": [
            None if t is None else encode_basestring_ascii(str(m))
            for m, t in zip(mappings, hw_texts, strict=True)
        ],
        "hardware": hw_texts,
        "metrics": [
            _metrics_template(hw.energy.unit) % tuple(row) if hw is not None and ok else None
            for hw, ok, row in zip(hardware, finite, metrics.tolist(), strict=True)
        ],
    }


@functools.lru_cache(maxsize=256)
def _hardware_json(hw: Hardware) -> str:
    """The JSON of ``hardware_attrs(hw)``, made once per design (a search reuses a few)."""
    return json.dumps(hardware_attrs(hw))


def _float_json(v: float) -> str:
    return float.__repr__(v) if math.isfinite(v) else json.dumps(v)


@functools.lru_cache(maxsize=16)
def _metrics_template(unit: str) -> str:
    """The metrics' JSON with ``%r`` for each value (a finite float's ``repr`` is its JSON)."""
    fields = [encode_basestring_ascii(name) + ": %r" for name in TRIAL_METRICS]
    unit_text = encode_basestring_ascii(unit).replace("%", "%%")
    return "{" + ", ".join(fields) + ", " + '"energy_unit": ' + unit_text + "}"


def _values_json(row: list[float]) -> str:
    """The objective values, null where not finite; null when none is."""
    if not any(math.isfinite(v) for v in row):
        return "null"
    return "[" + ", ".join(float.__repr__(v) if math.isfinite(v) else "null" for v in row) + "]"
