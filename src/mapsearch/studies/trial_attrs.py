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
    """Every user attribute of every trial of ``ev``, trial by trial, in the order above."""
    rows: list[AttrRow] = []
    bad = (ev.violation != 0).tolist()
    violation = ev.violation.tolist()
    reasons = ev.reasons.tolist()
    values = ev.values.tolist()
    s = ev.summaries
    mappings = hardware = metrics = finite = None
    if s is not None:
        mappings, hardware = s.mappings.tolist(), s.hardware.tolist()
        metrics, finite = s.metrics.tolist(), np.isfinite(s.metrics).all(axis=1).tolist()
    for k in range(len(ev)):
        if hardware is not None and hardware[k] is not None:
            hw = hardware[k]
            rows.append((k, "mapping", encode_basestring_ascii(str(mappings[k]))))  # type: ignore[index]
            rows.append((k, "hardware", _hardware_json(hw)))
            if finite[k]:  # type: ignore[index]
                text = _metrics_template(hw.energy.unit) % tuple(metrics[k])  # type: ignore[index]
                rows.append((k, "metrics", text))
        if bad[k]:
            rows.append((k, "infeasible", encode_basestring_ascii(str(reasons[k]))))
            rows.append((k, "violation", _float_json(violation[k])))
            rows.append((k, "values", _values_json(values[k])))
    return rows


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
