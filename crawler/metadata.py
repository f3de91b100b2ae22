"""Core metadata (PKG-INFO / METADATA) bytes -> requirement edges, read loosely, problems collected.

`packaging.metadata.parse_email` does the RFC 822 reading; this module decides what each field means
for the graph: Requires-Dist (and the legacy `Requires` of metadata 1.1) become `Edge`s with their
extra pulled out of the marker, and every line that cannot be read is reported, never fatal.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from packaging.metadata import parse_email
from packaging.requirements import InvalidRequirement
from packaging.version import InvalidVersion, Version

from depgraph.core.requirements import Edge, parse_requirement
from depgraph.core.schema import RequirementKind

__all__ = ["CoreMetadata", "Problem", "parse_core_metadata"]


@dataclass(frozen=True)
class Problem:
    """Something in the metadata that could not be used as written."""

    reason: str  # machine-readable: bad-requirement, non-utf8, duplicate-field, ...
    detail: str


@dataclass
class CoreMetadata:
    metadata_version: str | None = None
    name: str | None = None
    version: str | None = None
    requires_python: str | None = None
    provides_extra: list[str] = field(default_factory=list)
    dynamic: list[str] = field(default_factory=list)
    edges: list[Edge] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    @property
    def requires_dist_is_static(self) -> bool:
        """PEP 643: an sdist's Requires-Dist is authoritative from 2.2 on unless marked Dynamic."""
        try:
            mv = Version(self.metadata_version or "0")
        except InvalidVersion:
            return False
        return mv >= Version("2.2") and "requires-dist" not in self.dynamic


def _decode(data: bytes, problems: list[Problem]) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        # Old tools wrote PKG-INFO in the author's locale; latin-1 never fails and keeps ASCII
        # requirement strings intact, which is what the graph needs.
        problems.append(
            Problem("non-utf8", f"not UTF-8 ({exc.reason} at byte {exc.start}); read as latin-1")
        )
        return data.decode("latin-1")


def parse_core_metadata(data: bytes) -> CoreMetadata:
    """Read METADATA / PKG-INFO bytes of any metadata version (1.0 .. 2.4). Never raises."""
    problems: list[Problem] = []
    raw, unparsed = parse_email(_decode(data, problems))
    meta = CoreMetadata(
        metadata_version=raw.get("metadata_version"),
        name=raw.get("name"),
        version=raw.get("version"),
        requires_python=raw.get("requires_python"),
        provides_extra=list(raw.get("provides_extra", [])),
        dynamic=[d.lower() for d in raw.get("dynamic", [])],
        problems=problems,
    )
    for key, values in unparsed.items():
        # single-use fields given twice (e.g. two Name: lines) land here with all their values
        problems.append(Problem("unreadable-field", f"{key}: {values!r}"))
        if (
            key.lower() in ("name", "version", "metadata-version")
            and values
            and not getattr(meta, key.lower().replace("-", "_"))
        ):
            setattr(meta, key.lower().replace("-", "_"), values[0])
    if meta.metadata_version is None:
        problems.append(Problem("missing-field", "no Metadata-Version header"))
    seen: set[str] = set()
    for line in raw.get("requires_dist", []):
        _add_edge(meta, line, RequirementKind.RUN, seen)
    if "requires_dist" not in raw:
        # metadata 1.1 `Requires:` names importable modules/packages; the closest thing to an edge
        for line in raw.get("requires", []):
            _add_edge(meta, line, RequirementKind.RUN, seen, legacy=True)
    return meta


def _add_edge(
    meta: CoreMetadata, line: str, kind: RequirementKind, seen: set[str], legacy: bool = False
) -> None:
    line = line.strip()
    if not line:
        return
    if line in seen:
        meta.problems.append(Problem("duplicate-requirement", line))
        return
    seen.add(line)
    try:
        meta.edges.extend(parse_requirement(line, kind))
    except InvalidRequirement as exc:
        first = str(exc).splitlines()[0]
        label = "Requires" if legacy else "Requires-Dist"
        meta.problems.append(Problem("bad-requirement", f"{label}: {line!r}: {first}"))
