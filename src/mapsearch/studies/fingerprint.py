"""What identifies a problem in storage: its fingerprint (a JSON-ready dict of everything
that defines it, stored with the study and compared on resume), the problem rebuilt from
one, the problem a study resumes, and its default study name.

The fingerprint records the kind of space (``space.kind``) of every complete space; a
compact one records none, so that studies made before space kinds (all compact) keep
their fingerprint. A run that leaves the kind unchosen resumes a study with the study's
kind (:func:`resumed_problem`).
"""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any

from mapsearch.costmodel import Semantics
from mapsearch.errors import StudyError
from mapsearch.hardware import EnergyTable, Hardware
from mapsearch.layers import Layer, Op
from mapsearch.objectives import Constraints, get_objectives
from mapsearch.problem import Problem
from mapsearch.spaces import HardwareSpace, MappingSpace, SpaceOptions
from mapsearch.studies.locations import derived_study_name

FINGERPRINT_VERSION = 1
#: The kind of space of a fingerprint that records none (see the module docstring).
UNRECORDED_KIND = "compact"


def fingerprint(problem: Problem) -> dict[str, Any]:
    """Everything that defines ``problem``, JSON-ready; equal fingerprints = same problem."""
    layer = problem.layer
    return {
        "version": FINGERPRINT_VERSION,
        "layer": {
            "name": layer.name,
            "model": layer.model,
            "op": layer.op.value,
            "dims": [[d, int(n)] for d, n in layer.dims],
            "stride": [layer.stride_y, layer.stride_x],
        },
        "hardware": asdict(problem.hardware),
        "hardware_space": problem.hardware_space.to_dict() if problem.hardware_space else None,
        "space": {
            **problem.space.options.to_dict(),
            "clusters": list(problem.space.cluster_choices),
        },
        "objectives": [[o.name, o.direction.value] for o in problem.objectives],
        "constraints": problem.constraints.to_dict(),
        "semantics": problem.semantics.value,
    }


def fingerprint_json(problem: Problem) -> str:
    """The fingerprint as stored: JSON with sorted keys."""
    return json.dumps(fingerprint(problem), sort_keys=True)


def problem_from_fingerprint(fp: dict[str, Any]) -> Problem:
    """Rebuild the problem a study was created for."""
    ly = fp["layer"]
    layer = Layer(
        name=ly["name"],
        op=Op(ly["op"]),
        dims=tuple((d, int(n)) for d, n in ly["dims"]),
        stride_y=int(ly["stride"][0]),
        stride_x=int(ly["stride"][1]),
        model=ly["model"],
    )
    hw_fields = dict(fp["hardware"])
    hw = Hardware(**{**hw_fields, "energy": EnergyTable(**hw_fields["energy"])})
    sp = fp["space"]
    options = SpaceOptions(
        levels=tuple(sp["levels"]),
        tiles=sp["tiles"],
        fixed=tuple((a, b) for a, b in sp["fixed"]),
        kind=space_kind(fp),
    )
    hw_space = None
    if fp.get("hardware_space"):
        hw_space = HardwareSpace(
            base=hw, choices=tuple((k, tuple(v)) for k, v in fp["hardware_space"].items())
        )
    return Problem(
        layer=layer,
        hardware=hw,
        space=MappingSpace(layer=layer, cluster_choices=tuple(sp["clusters"]), options=options),
        objectives=get_objectives([name for name, _ in fp["objectives"]]),
        constraints=Constraints(**fp["constraints"]),
        hardware_space=hw_space,
        semantics=Semantics.parse(fp["semantics"]),
    )


def space_kind(fp: dict[str, Any]) -> str:
    """The kind of space fingerprint ``fp`` records."""
    return str(fp["space"].get("kind", UNRECORDED_KIND))


def _but_space_kind(fp: dict[str, Any]) -> dict[str, Any]:
    """``fp`` without what the kind of space decides (the kind and the cluster sizes)."""
    space = {k: v for k, v in fp["space"].items() if k not in ("kind", "clusters")}
    return {**fp, "space": space}


def resumed_problem(
    problem: Problem, stored: dict[str, Any], *, study: str, where: str
) -> Problem | None:
    """The problem with which ``problem`` resumes study ``study`` in ``where``, whose stored
    fingerprint is ``stored``; None when it is another problem.

    That is ``problem`` when the fingerprints are equal. When they differ only in the kind
    of space, it is the stored problem if ``problem`` left the kind unchosen
    (``SpaceOptions.kind`` None: a study resumes on its own kind of space, whichever is the
    default); a kind chosen otherwise raises ``StudyError``
    naming both kinds.
    """
    ours = json.loads(fingerprint_json(problem))
    if ours == stored:
        return problem
    kind = space_kind(stored)
    if kind == space_kind(ours) or _but_space_kind(ours) != _but_space_kind(stored):
        return None
    asked = problem.space.options.kind
    if asked is None:
        return problem_from_fingerprint(stored)
    raise StudyError(
        f"study {study!r} in {where} searches the {kind} space, not the {asked} space asked "
        f"for; resume it with --space {kind} (or without --space), or pass another --study "
        "name to start a new study"
    )


def problem_slug(problem: Problem) -> str:
    """The default study name, e.g. ``vgg16-conv3_1-edge_256-edp`` (a name: see
    :func:`~mapsearch.studies.locations.derived_study_name`)."""
    parts = [
        problem.layer.model,
        problem.layer.name,
        problem.hardware.name,
        "+".join(o.name for o in problem.objectives),
    ]
    if problem.hardware_space is not None:
        parts.append("codesign")
    if problem.semantics is not Semantics.EXACT:
        parts.append(str(problem.semantics))
    return derived_study_name("-".join(p for p in parts if p).lower())
