"""The service layer: what a command does, as plain functions of plain values.

The CLI parses flags, calls one of these and renders the result; a notebook calls them
directly (the common ones are re-exported by ``mapsearch``). Each is imported on first use:
a command imports its own module only.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mapsearch._lazy import lazy_attributes

_EXPORTS = {
    **dict.fromkeys(
        ["evaluate_files", "evaluate_jobs", "jobs_from_files", "jobs_from_names"],
        "mapsearch.service.evaluate",
    ),
    "mapping_from_file": "mapsearch.service.evaluate",
    "resolve_hardware": "mapsearch.service.hardware",
    **dict.fromkeys(
        ["export_study", "load_study", "locate_study", "study_listing"], "mapsearch.service.studies"
    ),
    **dict.fromkeys(["build_problem", "tune", "tune_model"], "mapsearch.service.tune"),
}

__all__ = [
    "build_problem",
    "evaluate_files",
    "evaluate_jobs",
    "export_study",
    "jobs_from_files",
    "jobs_from_names",
    "load_study",
    "locate_study",
    "mapping_from_file",
    "resolve_hardware",
    "study_listing",
    "tune",
    "tune_model",
]

__getattr__, __dir__ = lazy_attributes(__name__, _EXPORTS)

if TYPE_CHECKING:
    from mapsearch.service.evaluate import (
        evaluate_files,
        evaluate_jobs,
        jobs_from_files,
        jobs_from_names,
        mapping_from_file,
    )
    from mapsearch.service.hardware import resolve_hardware
    from mapsearch.service.studies import export_study, load_study, locate_study, study_listing
    from mapsearch.service.tune import build_problem, tune, tune_model
