"""MAESTRO's area and power models, vectorised.

Source: MAESTRO (maestro-project/maestro, commit 4eb08d1), as measured in
``docs/maestro_model.md`` section 10; the formulas reproduce every row of MAESTRO's CSV output.
Inputs broadcast as numpy arrays: ``num_pes``, ``vector_width`` (MACs per PE per cycle),
``noc_bw_words_per_cycle``, ``l1_words`` (per PE) and ``l2_words`` (MAESTRO uses the
*required* sizes; a design-space sweep passes the provisioned ones).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from mapsearch.hardware import UNLIMITED, Hardware

ArrayLike = npt.ArrayLike
FloatArray = npt.NDArray[np.float64]


def _noc_arbiter(num_pes: FloatArray) -> FloatArray:
    """MAESTRO's quadratic NoC-arbitration term a(n) = 1.2886 n^2 + 5.5814 n - 23.711."""
    return 1.2886 * num_pes**2 + 5.5814 * num_pes - 23.711


def area_um2(
    num_pes: ArrayLike,
    vector_width: ArrayLike,
    noc_bw_words_per_cycle: ArrayLike,
    l1_words: ArrayLike,
    l2_words: ArrayLike,
) -> FloatArray:
    """Chip area (MAESTRO's unit, about square micrometres).

    ``n (283 vw + 0.104 L1) + 0.104 L2 + 101.7938 (14.662 n + 28.895) B + max(395.473 a(n), 395.473)``.
    """
    n = np.asarray(num_pes, dtype=np.float64)
    vw = np.asarray(vector_width, dtype=np.float64)
    bw = np.asarray(noc_bw_words_per_cycle, dtype=np.float64)
    l1 = np.asarray(l1_words, dtype=np.float64)
    l2 = np.asarray(l2_words, dtype=np.float64)
    return (
        n * (283.0 * vw + 0.104 * l1)
        + 0.104 * l2
        + 101.7938 * (14.662 * n + 28.895) * bw
        + np.maximum(395.473 * _noc_arbiter(n), 395.473)
    )


def power_mw_parts(
    num_pes: ArrayLike,
    vector_width: ArrayLike,
    noc_bw_words_per_cycle: ArrayLike,
    l1_words: ArrayLike,
    l2_words: ArrayLike,
) -> dict[str, FloatArray]:
    """Power (mW) of the PEs, L1s, L2 and NoC: MAESTRO's ``PE/L1/L2/NOC power`` columns."""
    n = np.asarray(num_pes, dtype=np.float64)
    vw = np.asarray(vector_width, dtype=np.float64)
    bw = np.asarray(noc_bw_words_per_cycle, dtype=np.float64)
    l1 = np.asarray(l1_words, dtype=np.float64)
    l2 = np.asarray(l2_words, dtype=np.float64)
    return {
        "pe": 1.2223 * vw * n,
        "l1": 0.00345 * l1 * n,
        "l2": 0.00345 * l2,
        "noc": 0.8 * (14.662 * n + 28.895) * bw / 1000.0
        + np.maximum(0.34 * _noc_arbiter(n) / 1000.0, 0.34),
    }


def power_mw(
    num_pes: ArrayLike,
    vector_width: ArrayLike,
    noc_bw_words_per_cycle: ArrayLike,
    l1_words: ArrayLike,
    l2_words: ArrayLike,
) -> FloatArray:
    """Total power (mW): the sum of :func:`power_mw_parts`."""
    parts = power_mw_parts(num_pes, vector_width, noc_bw_words_per_cycle, l1_words, l2_words)
    return parts["pe"] + parts["l1"] + parts["l2"] + parts["noc"]


def hardware_area_um2(hw: Hardware) -> float | None:
    """Area of ``hw`` as provisioned (its L1, L2 and NoC bandwidth), or None when one of
    them is unlimited: an unlimited NoC or buffer has no area."""
    if _unlimited(hw):
        return None
    return float(
        area_um2(
            hw.num_pes,
            hw.vector_width,
            hw.noc_bw_words_per_cycle,
            hw.l1_size_words,
            hw.l2_size_words,
        )
    )


def hardware_power_mw(hw: Hardware) -> float | None:
    """Power of ``hw`` as provisioned, or None when its L1, L2 or NoC is unlimited."""
    if _unlimited(hw):
        return None
    return float(
        power_mw(
            hw.num_pes,
            hw.vector_width,
            hw.noc_bw_words_per_cycle,
            hw.l1_size_words,
            hw.l2_size_words,
        )
    )


def _unlimited(hw: Hardware) -> bool:
    return max(hw.l1_size_words, hw.l2_size_words, hw.noc_bw_words_per_cycle) >= UNLIMITED
