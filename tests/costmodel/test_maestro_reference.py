"""The maestro semantics against MAESTRO's own outputs (``tests/data/maestro/dev.csv``).

Every unflagged row must match on MACs, runtime, L2 reads of input and filter, L2 writes of
output, L1/L2 size requirements, peak NoC bandwidth and total energy; flagged rows (MAESTRO
bugs) must come out infeasible. All mismatches are reported at once.
"""

from __future__ import annotations

import pytest
from maestro_rows import METRICS, Row, load_rows, matches, report_metric

from mapsearch.costmodel import maestro
from mapsearch.costmodel.batch import MappingBatch

ROWS = load_rows()


def _evaluate(row: Row) -> object:
    return maestro.evaluate_batch(
        row.layer, row.hardware, MappingBatch.from_mappings([row.mapping], row.layer)
    )


def test_reference_has_rows() -> None:
    assert len([r for r in ROWS if not r.flags]) > 800


def test_every_unflagged_row_matches_maestro() -> None:
    problems = []
    for row in ROWS:
        if row.flags:
            continue
        rep = _evaluate(row)
        for name, column, rel in METRICS:
            got, want = report_metric(rep, name), float(row.raw[column])
            if not matches(got, want, rel):
                problems.append(f"{row.label()}: {name} = {got}, MAESTRO {want}")
        if not rep.feasible[0]:  # type: ignore[attr-defined]
            problems.append(f"{row.label()}: marked infeasible ({rep.reason[0]})")  # type: ignore[attr-defined]
    assert not problems, f"{len(problems)} mismatches:\n" + "\n".join(problems)


@pytest.mark.parametrize(
    ("flag", "reason"),
    [
        ("macs_mismatch", "MAC count differs"),
        ("fpe_guard_build", "divides by zero"),
        ("runtime_below_ideal", "below the ideal"),
    ],
)
def test_flagged_rows_are_infeasible_with_the_reason(flag: str, reason: str) -> None:
    flagged = [r for r in ROWS if flag in r.flags.split(";")]
    assert flagged
    wrong = []
    for row in flagged:
        rep = _evaluate(row)
        if rep.feasible[0] or reason not in rep.reason[0]:  # type: ignore[attr-defined]
            wrong.append(row.label())
    assert not wrong, "\n".join(wrong)


def test_macs_mismatch_rows_count_what_maestro_counts() -> None:
    # The stride bug (quirk 8) is modelled, not fixed: the MAC count equals MAESTRO's.
    rows = [r for r in ROWS if r.flags == "macs_mismatch"]
    assert rows
    for row in rows:
        rep = _evaluate(row)
        assert report_metric(rep, "macs") == float(row.raw["m_Num MACs"]) != row.layer.macs
