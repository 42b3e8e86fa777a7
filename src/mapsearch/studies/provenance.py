"""What a study says about how it was made, and what a run says when it does not do what
its command asked.

A new study records, as Optuna study user attributes, the searcher and seed of the run that
created it, the cost-model semantics and the mapsearch version (``creation_attrs``); every
run appends ``{searcher, seed, version, n_before, n_new}`` to ``mapsearch.runs``. A run that
resumes a study with another searcher or seed, or that adds nothing because the study's
budget is spent, gets a note saying so and how to get what was meant (``resume_notes``,
``nothing_new_note``): a rerun is never silently a no-op. A run that stops before the study
holds its budget says why (``short_run_note``): a run is never silently short.
"""

from __future__ import annotations

from typing import Any

from mapsearch import __version__

SEARCHER_ATTR = "mapsearch.searcher"
SEED_ATTR = "mapsearch.seed"
SEMANTICS_ATTR = "mapsearch.semantics"
VERSION_ATTR = "mapsearch.version"
RUNS_ATTR = "mapsearch.runs"


def creation_attrs(searcher: str, seed: int, semantics: str) -> dict[str, Any]:
    """The provenance attributes of a new study."""
    return {
        SEARCHER_ATTR: searcher,
        SEED_ATTR: seed,
        SEMANTICS_ATTR: semantics,
        VERSION_ATTR: __version__,
    }


def run_entry(searcher: str, seed: int, n_before: int, n_new: int) -> dict[str, Any]:
    """One element of ``mapsearch.runs``."""
    return {
        "searcher": searcher,
        "seed": seed,
        "version": __version__,
        "n_before": n_before,
        "n_new": n_new,
    }


def resume_notes(
    attrs: dict[str, Any], searcher: str, seed: int, n_held: int, name: str
) -> list[str]:
    """Notes for a run about to resume study ``name`` (holding ``n_held`` evaluations) with
    ``searcher`` and ``seed``, when the study was made with another searcher or seed."""
    if n_held == 0:
        return []
    runs = attrs.get(RUNS_ATTR) or []
    used = [r["searcher"] for r in runs if r.get("n_new")] or [attrs.get(SEARCHER_ATTR)]
    known = [s for s in dict.fromkeys(used) if s is not None]
    notes = []
    if known and searcher not in known:
        notes.append(
            f"study {name!r} holds {n_held:,} evaluations made by {' and '.join(known)}; "
            f"{searcher} continues it from them (pass a new --study to search with {searcher} "
            "from scratch)"
        )
    first_seed = attrs.get(SEED_ATTR)
    if first_seed is not None and first_seed != seed and searcher in known:
        notes.append(
            f"study {name!r} was started with --seed {first_seed}; resuming it with --seed "
            f"{seed} mixes the two (pass a new --study to rerun with seed {seed} alone)"
        )
    return notes


def nothing_new_note(name: str, n_held: int, n_trials: int | None, searcher: str) -> str:
    """Why a run added no evaluation to study ``name``, and how to search more."""
    if n_trials is not None and n_held >= n_trials:
        return (
            f"0 new evaluations: study {name!r} already holds {n_held:,}, the --trials budget "
            f"of {n_trials:,} is spent; pass --trials above {n_held:,} to search more with "
            f"{searcher}, or a new --study to start afresh"
        )
    return (
        f"0 new evaluations: {searcher} found nothing new to try in study {name!r} (the space "
        "is exhausted or the time ran out); widen the space (--tiles any, --levels 1,2,3) "
        "or give a longer --timeout"
    )


def short_run_note(
    name: str,
    n_held: int,
    n_trials: int | None,
    *,
    interrupted: bool,
    exhausted: bool,
    searcher: str,
) -> str | None:
    """Why study ``name`` holds ``n_held`` evaluations, fewer than the ``n_trials`` budget,
    after a run that added some (interrupted, the searcher had nothing more to try, or the
    time ran out) and how to go on; None when the budget is met or there is none."""
    if n_trials is None or n_held >= n_trials:
        return None
    held = f"study {name!r} holds {n_held:,} of the --trials budget of {n_trials:,} evaluations"
    if interrupted:
        return f"interrupted: {held}; rerun the same command to resume"
    if exhausted:
        return (
            f"{searcher} found nothing new to try: {held} (it tried every point of the space "
            "it searches); widen the space (--tiles any, --levels 1,2,3) to search more"
        )
    return f"the --timeout ran out: {held}; rerun with a longer --timeout to resume"
