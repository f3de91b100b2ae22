"""A requirement string -> the edges the graph counts: one for the base install when its marker can
hold without an extra, one per extra that brings it in (see `depgraph.core.markers`). The one
definition of an edge, shared by the crawler, the importers and the store's re-derivation."""

from __future__ import annotations

from dataclasses import dataclass

from packaging.requirements import Requirement
from packaging.utils import NormalizedName, canonicalize_name

from .markers import ExtraMembership, extra_membership
from .schema import RequirementKind

__all__ = ["Edge", "parse_requirement"]


@dataclass(frozen=True)
class Edge:
    """One requirement of a release, as stored in the `requirements` table."""

    raw: str
    name: NormalizedName  # canonical (PEP 503) name of the required project
    specifier: str
    marker: str | None
    extra: str | None  # the extra that pulls this requirement in, canonicalized; None = always
    kind: RequirementKind
    extras: str = ""  # extras requested *of the dependency*, comma separated


def parse_requirement(raw: str, kind: RequirementKind = RequirementKind.RUN) -> list[Edge]:
    """One requirement string -> its Edges. Raises InvalidRequirement for strings packaging rejects.

    One edge for the base install when the marker can hold without an extra (kind as given,
    `extra` None), and one per extra that brings it in where it would not otherwise apply (kind
    `extra` for run-time requirements): see `depgraph.core.markers`. Legacy spellings such as
    `foo (>=1.0)` are accepted by packaging and normalized by it.
    """
    req = Requirement(raw)
    marker = str(req.marker) if req.marker else None
    membership = extra_membership(req.marker) if req.marker else ExtraMembership(True, ())

    def edge(extra: NormalizedName | None) -> Edge:
        as_extra = extra is not None and kind == RequirementKind.RUN
        return Edge(
            raw=raw,
            name=canonicalize_name(req.name),
            specifier=str(req.specifier),
            marker=marker,
            extra=extra,
            kind=RequirementKind.EXTRA if as_extra else kind,
            extras=",".join(sorted(req.extras)),
        )

    return ([edge(None)] if membership.base else []) + [edge(e) for e in membership.extras]
