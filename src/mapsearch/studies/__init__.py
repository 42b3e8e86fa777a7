"""Studies: Optuna storage of every evaluation, resumable runs, results."""

from __future__ import annotations

from mapsearch.studies.run import RunConfig, RunResult, run_study
from mapsearch.studies.storage import StudyRecord, default_storage_url, list_studies, open_storage

__all__ = [
    "RunConfig",
    "RunResult",
    "StudyRecord",
    "default_storage_url",
    "list_studies",
    "open_storage",
    "run_study",
]
