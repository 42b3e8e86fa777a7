"""The service layer: what a command does, as plain functions of plain values.

The CLI parses flags, calls one of these and renders the result; a notebook calls them
directly (the common ones are re-exported by ``mapsearch``).
"""

from __future__ import annotations

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
