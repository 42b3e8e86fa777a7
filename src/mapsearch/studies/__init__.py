"""Studies: Optuna storage of every evaluation, resumable runs, results."""

from __future__ import annotations

from mapsearch.studies.backends import open_storage
from mapsearch.studies.locations import default_storage_url
from mapsearch.studies.run import RunConfig, RunResult, run_study
from mapsearch.studies.storage import StudyRecord, list_studies

__all__ = [
    "RunConfig",
    "RunResult",
    "StudyRecord",
    "default_storage_url",
    "list_studies",
    "open_storage",
    "run_study",
]
