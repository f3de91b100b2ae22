"""What a resolver needs from the store, in memory: every project's releases (version, yanked,
Requires-Python, whether its dependencies are known), their files (kind, wheel tags, yanked), and
each release's requirements, read on demand. Read-only: never the network."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.tags import Tag
from packaging.utils import (
    InvalidWheelFilename,
    NormalizedName,
    canonicalize_name,
    parse_wheel_filename,
)
from packaging.version import InvalidVersion, Version

from depgraph.core.schema import DepsState, FileKind
from depgraph.store.reader import StoreSource

from .targets import Target

__all__ = ["DistInfo", "ReleaseIndex", "ReleaseInfo", "StoredRequirement"]


@dataclass(frozen=True)
class DistInfo:
    kind: str  # wheel | sdist | other
    tags: frozenset[Tag]  # wheels only
    yanked: bool
    requires_python: SpecifierSet | None


@dataclass
class ReleaseInfo:
    release_id: int
    version: Version
    yanked: bool
    requires_python: SpecifierSet | None
    deps_known: bool
    is_latest: bool
    files: list[DistInfo] = field(default_factory=list)


@dataclass(frozen=True)
class StoredRequirement:
    requirement: Requirement
    name: NormalizedName
    extra: str | None  # None: the base install; else the extra that brings it


@lru_cache(maxsize=1 << 16)
def _specifier(text: str | None) -> SpecifierSet | None:
    if not text:
        return None
    try:
        return SpecifierSet(text)
    except InvalidSpecifier:
        return None  # an unreadable Requires-Python does not exclude (pip warns and ignores it)


@lru_cache(maxsize=1 << 18)
def _requirement(raw: str) -> Requirement | None:
    try:
        return Requirement(raw)
    except InvalidRequirement:
        return None


class ReleaseIndex:
    """Releases by project, newest first, with their files, read from the store on demand (a
    resolution touches a few hundred projects of hundreds of thousands); requirements per release
    on demand too."""

    def __init__(self, db: str | Path | StoreSource) -> None:
        self._rows = StoreSource.of(db).release_rows()
        self._releases: dict[NormalizedName, list[ReleaseInfo]] = {}
        self.has_files = self._rows.has_files

    def close(self) -> None:
        self._rows.close()

    def project_names(self) -> list[NormalizedName]:
        """Every project of the store, sorted."""
        return [canonicalize_name(name) for name in self._rows.project_names()]

    def __contains__(self, project: object) -> bool:
        return isinstance(project, str) and bool(self.releases(canonicalize_name(project)))

    def releases(self, project: NormalizedName) -> list[ReleaseInfo]:
        """The project's releases, newest first (empty when the store does not have it)."""
        found = self._releases.get(project)
        if found is None:
            found = self._load(project)
            self._releases[project] = found
        return found

    def _load(self, project: str) -> list[ReleaseInfo]:
        by_id: dict[int, ReleaseInfo] = {}
        for rid, version, yanked, requires_python, state, latest in self._rows.releases_of(project):
            try:
                parsed = Version(version)
            except InvalidVersion:
                continue  # pip ignores releases whose version is not PEP 440
            by_id[rid] = ReleaseInfo(
                rid,
                parsed,
                bool(yanked),
                _specifier(requires_python),
                state == DepsState.KNOWN,
                bool(latest),
            )
        if by_id and self.has_files:
            for rid, filename, kind, yanked, requires_python in self._rows.files_of(list(by_id)):
                wheel_tags: frozenset[Tag] = frozenset()
                if kind == FileKind.WHEEL:
                    try:
                        wheel_tags = parse_wheel_filename(filename)[3]
                    except InvalidWheelFilename:
                        continue  # pip skips wheels it cannot name
                by_id[rid].files.append(
                    DistInfo(kind, wheel_tags, bool(yanked), _specifier(requires_python))
                )
        return sorted(by_id.values(), key=lambda r: r.version, reverse=True)

    def latest(self, project: NormalizedName) -> ReleaseInfo | None:
        releases = self.releases(project)
        if not releases:
            return None
        return next((r for r in releases if r.is_latest), releases[0])

    def installable_file(self, release: ReleaseInfo, target: Target) -> str | None:
        """None when the release has a file pip could install on `target`; else why not. Without
        any file data in the store (an imported data set) every release is assumed to have one."""
        if not self.has_files:
            return None
        if not release.files:
            return "no files"
        reasons = []
        for dist in release.files:
            rp = dist.requires_python
            if rp is not None and not rp.contains(target.python_version, prereleases=True):
                reasons.append("Requires-Python")
            elif dist.kind == FileKind.WHEEL:
                if dist.tags & target.wheel_tags:
                    return None
                reasons.append("no wheel for the target")
            elif dist.kind == FileKind.SDIST:
                if release.deps_known:  # the sandbox (or a static PKG-INFO) read its metadata
                    return None
                reasons.append("sdist not built")
        return ", ".join(sorted(set(reasons))) or "no usable files"

    @lru_cache(maxsize=1 << 16)  # noqa: B019 (the index lives as long as its cache is useful)
    def requirements(self, release_id: int) -> tuple[StoredRequirement, ...]:
        """Run-time requirements of a release (base install and extras)."""
        out = []
        for raw, name, extra in self._rows.runtime_requirements(release_id):
            req = _requirement(raw)
            if req is not None:
                out.append(StoredRequirement(req, canonicalize_name(name), extra))
        return tuple(out)
