"""Area and power of a provisioned design: a replaceable model.

The default, :data:`MAESTRO_AREA_POWER`, is MAESTRO's own area and power formulas
(``docs/maestro_model.md`` section 10, vectorised in :mod:`mapsearch.costmodel.area_power`),
fitted by MAESTRO's authors to 28 nm synthesis results. MAESTRO evaluates them at the
*required* L1/L2 sizes of the mapping; a design-space sweep evaluates them at the
*provisioned* capacities of the design, since that is what the chip would be built with.

To use another technology, build an :class:`AreaPowerModel` from two functions with the
same signature (arrays broadcast): ``(num_pes, vector_width, noc_bw_words_per_cycle,
l1_words_per_pe, l2_words) -> area in um^2`` and ``-> power in mW``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from mapsearch.costmodel import area_power

FloatArray = npt.NDArray[np.float64]

#: ``(num_pes, vector_width, noc_bw_words_per_cycle, l1_words_per_pe, l2_words) -> array``.
DesignFunction = Callable[
    [npt.ArrayLike, npt.ArrayLike, npt.ArrayLike, npt.ArrayLike, npt.ArrayLike], FloatArray
]


@dataclass(frozen=True, slots=True, kw_only=True)
class AreaPowerModel:
    """Area (um^2) and power (mW) of a design from its provisioned resources.

    The functions must be picklable (module-level) so that sweep chunks can run in other
    processes, and should not decrease when L1 or L2 grows.
    """

    name: str
    source: str
    area_um2: DesignFunction
    power_mw: DesignFunction

    def __post_init__(self) -> None:
        if not self.name:
            raise ValueError("an area/power model needs a name")


MAESTRO_AREA_POWER = AreaPowerModel(
    name="maestro",
    source=(
        "MAESTRO (maestro-project/maestro 4eb08d1) area and power formulas, "
        "docs/maestro_model.md section 10, evaluated at the provisioned L1/L2 capacities"
    ),
    area_um2=area_power.area_um2,
    power_mw=area_power.power_mw,
)
