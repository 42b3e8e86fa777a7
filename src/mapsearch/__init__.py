"""mapsearch: find the best MAESTRO-directive mapping (and hardware) for DNN layers.

What a notebook needs is here, imported on first use (``import mapsearch`` stays quick)::

    import mapsearch

    layer = mapsearch.find_layer("conv3_1")
    report = mapsearch.evaluate(layer, mapsearch.preset("edge_256"), mapsearch.dataflow("kcp", layer))
    outcome = mapsearch.tune(layer, "edge_256", ["edp"])
    model = mapsearch.tune_model("vgg16", "edge_256", ["edp"])   # every distinct shape
    texts = mapsearch.export_study(outcome.run.study, "maestro")  # or load_study(name)
"""

from __future__ import annotations

from mapsearch._lazy import lazy_attributes

# NOTE: not ``typing.TYPE_CHECKING``: importing typing would double the import time.
TYPE_CHECKING = False

__version__ = "0.1.0"

#: Public name -> the module that defines it.
_EXPORTS = {
    "Layer": "mapsearch.layers",
    "find_layer": "mapsearch.layers.zoo",
    "load_model": "mapsearch.models",
    "Hardware": "mapsearch.hardware",
    "preset": "mapsearch.hardware.presets",
    "dataflow": "mapsearch.directives.dataflows",
    "evaluate": "mapsearch.costmodel",
    "tune": "mapsearch.service.tune",
    "tune_model": "mapsearch.service.tune",
    "load_study": "mapsearch.service.studies",
    "export_study": "mapsearch.service.studies",
    "run_dse": "mapsearch.dse",
    # the values tune's options are made of
    "RunConfig": "mapsearch.studies",
    "SpaceOptions": "mapsearch.spaces",
    "Constraints": "mapsearch.objectives",
}

__all__ = [
    "Constraints",
    "Hardware",
    "Layer",
    "RunConfig",
    "SpaceOptions",
    "__version__",
    "dataflow",
    "evaluate",
    "export_study",
    "find_layer",
    "load_model",
    "load_study",
    "preset",
    "run_dse",
    "tune",
    "tune_model",
]


__getattr__, __dir__ = lazy_attributes(__name__, _EXPORTS)

if TYPE_CHECKING:
    from mapsearch.costmodel import evaluate
    from mapsearch.directives.dataflows import dataflow
    from mapsearch.dse import run_dse
    from mapsearch.hardware import Hardware
    from mapsearch.hardware.presets import preset
    from mapsearch.layers import Layer
    from mapsearch.layers.zoo import find_layer
    from mapsearch.models import load_model
    from mapsearch.objectives import Constraints
    from mapsearch.service.studies import export_study, load_study
    from mapsearch.service.tune import tune, tune_model
    from mapsearch.spaces import SpaceOptions
    from mapsearch.studies import RunConfig
