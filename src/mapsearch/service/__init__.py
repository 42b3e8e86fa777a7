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

__all__ = [
    "evaluate_files",
    "evaluate_jobs",
    "jobs_from_files",
    "jobs_from_names",
    "mapping_from_file",
    "resolve_hardware",
]
