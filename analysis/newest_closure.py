"""Installability the short way, for many projects at once: where every requirement in a
project's tree is met by the newest release of what it names, that set of newest releases is what
pip's resolver pins, without one step back, and the project installs.

A project is *clean* on a target when its selected release (the newest non-yanked final, as
`is_latest` marks it)
- has a file for the target and a Requires-Python that admits it, and known dependencies;
- and each of its requirements there (markers evaluated for the target, extras followed) names a
  clean project whose selected release the specifier admits, and asks for no pre-release
  explicitly (then a newer pre-release could be what pip picks);
- and so on down the tree (a fixed point: unclean spreads from each release that fails a test to
  everything that requires it).

For a clean project, resolvelib with pip's preferences picks the newest admissible candidate of
each name first and never meets a conflict: it pins exactly the clean closure. Every other
project is left to the resolver (`analysis.installability`), which gives the verdict and its
reason. So the short way never changes a verdict; it only skips resolutions whose outcome is
already known. The selected release, the rules for files and markers, and the resolver's rules
are those of `analysis.resolver`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

import pandas as pd
from packaging.markers import InvalidMarker, Marker
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

from .release_index import _specifier
from .targets import Target

__all__ = ["NewestReleases", "clean_closures"]


#: a node of the tree: a project's base install (None) or one of its extras
Node = tuple[NormalizedName, str | None]


@dataclass(frozen=True)
class _File:
    kind: str
    tags: frozenset[Tag]
    yanked: bool
    requires_python: SpecifierSet | None


@dataclass(frozen=True)
class _Req:
    """A run-time requirement as the resolver reads it from its text."""

    name: NormalizedName
    specifier: SpecifierSet
    marker: Marker | None
    extras: frozenset[NormalizedName]
    from_extra: str | None  # the extra that brings it; None: the base install


_UNSEEN = object()


@dataclass(frozen=True)
class _Selected:
    version: Version
    yanked: bool
    requires_python: SpecifierSet | None
    deps_known: bool
    files: tuple[_File, ...]
    requirements: tuple[_Req, ...]


class NewestReleases:
    """Each project's selected release with its files and run-time requirements, read once from
    the store (three columnar reads) for every target."""

    def __init__(self, source: StoreSource) -> None:
        releases = source.selected_releases()
        self.has_files = bool(len(files := source.selected_files()))
        by_release: dict[int, list[_File]] = {}
        if self.has_files:
            for rid, filename, kind, yanked, rp in files.itertuples(index=False):
                tags: frozenset[Tag] = frozenset()
                if kind == FileKind.WHEEL:
                    try:
                        tags = _wheel_tags(filename)
                    except InvalidWheelFilename:
                        continue  # pip skips wheels it cannot name
                by_release.setdefault(int(rid), []).append(
                    _File(str(kind), tags, bool(yanked), _specifier(_text(rp)))
                )
        columns = ("source", "target", "specifier", "marker", "extras", "extra")
        reqs = source.requirements(columns=columns)
        by_project: dict[str, list[_Req]] = {}
        # the store keeps each requirement's parts as packaging writes them back: parsed again
        # once per distinct text (hundreds of thousands of projects ask for `requests`), not
        # once per row
        specifiers: dict[str, SpecifierSet | None] = {}
        markers: dict[str, Marker | None] = {}
        for project, target, spec, marker, extras, extra in zip(
            *(reqs[c].tolist() for c in columns), strict=True
        ):
            specifier = specifiers.get(spec, _UNSEEN)
            if specifier is _UNSEEN:
                specifier = specifiers[spec] = _specifier_or_none(spec)
            parsed_marker: Marker | None = None
            if isinstance(marker, str) and marker:
                found = markers.get(marker, _UNSEEN)
                if found is _UNSEEN:
                    found = markers[marker] = _marker_or_none(marker)
                if found is None:
                    continue  # as the resolver, which skips what it cannot read
                parsed_marker = found  # type: ignore[assignment]
            if not isinstance(specifier, SpecifierSet):
                continue
            by_project.setdefault(project, []).append(
                _Req(
                    canonicalize_name(target),
                    specifier,
                    parsed_marker,
                    _extras(extras),
                    extra if isinstance(extra, str) else None,
                )
            )
        self.selected: dict[NormalizedName, _Selected] = {}
        names = ("id", "project", "version", "yanked", "requires_python", "deps_state")
        for rid, project, version, yanked, rp, state in zip(
            *(releases[c].tolist() for c in names), strict=True
        ):
            try:
                parsed_version = Version(version)
            except InvalidVersion:
                continue  # pip ignores releases whose version is not PEP 440
            self.selected[canonicalize_name(project)] = _Selected(
                parsed_version,
                bool(yanked),
                _specifier(_text(rp)),
                state == DepsState.KNOWN,
                tuple(by_release.get(int(rid), ())),
                tuple(by_project.get(project, ())),
            )

    def usable(self, selected: _Selected, target: Target) -> bool:
        """Whether pip could install the release on the target (`ReleaseIndex.installable_file`
        and the provider's Requires-Python test)."""
        rp = selected.requires_python
        if rp is not None and not rp.contains(target.python_version, prereleases=True):
            return False
        if not self.has_files:
            return True
        for dist in selected.files:
            rp = dist.requires_python
            if rp is not None and not rp.contains(target.python_version, prereleases=True):
                continue
            if dist.kind == FileKind.WHEEL and dist.tags & target.wheel_tags:
                return True
            if dist.kind == FileKind.SDIST and selected.deps_known:
                return True
        return False


def _specifier_or_none(text: object) -> SpecifierSet | None:
    try:
        return SpecifierSet(text if isinstance(text, str) else "")
    except InvalidSpecifier:
        return None


def _marker_or_none(text: str) -> Marker | None:
    try:
        return Marker(text)
    except InvalidMarker:
        return None


@lru_cache(maxsize=1 << 12)
def _extras_of(text: str) -> frozenset[NormalizedName]:
    return frozenset(canonicalize_name(e) for e in text.split(",") if e)


def _extras(value: object) -> frozenset[NormalizedName]:
    return _extras_of(value) if isinstance(value, str) and value else frozenset()


def _text(value: object) -> str | None:
    return None if value is None or pd.isna(value) else str(value)


@lru_cache(maxsize=1 << 16)
def _wheel_tags(filename: str) -> frozenset[Tag]:
    return parse_wheel_filename(filename)[3]


def clean_closures(
    newest: NewestReleases, roots: Iterable[str], target: Target
) -> dict[NormalizedName, tuple[tuple[str, str], ...]]:
    """For each root that is clean on `target`: the (project, version) pairs pip would pin, the
    root included, sorted. Roots that are not clean are absent."""
    env = target.environment
    marker_cache: dict[tuple[Marker, str], bool] = {}

    def applies(marker: Marker, extra: str) -> bool:
        key = (marker, extra)
        found = marker_cache.get(key)
        if found is None:
            found = marker_cache[key] = marker.evaluate({**env, "extra": extra})
        return found

    usable: dict[NormalizedName, bool] = {}

    def ok(name: NormalizedName) -> bool:
        found = usable.get(name)
        if found is None:
            sel = newest.selected.get(name)
            found = usable[name] = (
                sel is not None and not sel.yanked and sel.deps_known and newest.usable(sel, target)
            )
        return found

    children: dict[Node, list[Node] | None] = {}  # None: fails a test of its own

    def edges(node: Node) -> list[Node] | None:
        if node not in children:
            children[node] = _edges(node)
        return children[node]

    def _edges(node: Node) -> list[Node] | None:
        name, extra = node
        if not ok(name):
            return None
        out: list[Node] = []
        if extra is not None:
            out.append((name, None))  # B[x] needs B itself, at the same version
        for req in newest.selected[name].requirements:
            if extra is None:
                if req.from_extra is not None:
                    continue
                if req.marker is not None and not applies(req.marker, ""):
                    continue
            elif req.from_extra is None or req.marker is None or not applies(req.marker, extra):
                continue
            dep = req.name
            if not ok(dep) or not _admits(req.specifier, newest.selected[dep].version):
                return None
            out.append((dep, None))
            out.extend((dep, e) for e in req.extras)
        return out

    # every node the roots reach, then unclean spread upwards from each that fails
    wanted = [canonicalize_name(r) for r in roots]
    parents: dict[Node, list[Node]] = {}
    seen: set[Node] = set()
    stack: list[Node] = [(r, None) for r in wanted]
    bad: list[Node] = []
    while stack:
        node = stack.pop()
        if node in seen:
            continue
        seen.add(node)
        out = edges(node)
        if out is None:
            bad.append(node)
            continue
        for child in out:
            parents.setdefault(child, []).append(node)
            if child not in seen:
                stack.append(child)
    unclean: set[Node] = set()
    while bad:
        node = bad.pop()
        if node in unclean:
            continue
        unclean.add(node)
        bad.extend(parents.get(node, ()))
    closures: dict[NormalizedName, tuple[tuple[str, str], ...]] = {}
    for root in dict.fromkeys(wanted):
        if (root, None) in unclean:
            continue
        reached = _reach((root, None), children)
        names = {name for name, _ in reached}
        closures[root] = tuple(sorted((n, str(newest.selected[n].version)) for n in names))
    return closures


def _reach(start: Node, children: dict[Node, list[Node] | None]) -> set[Node]:
    seen = {start}
    stack = [start]
    while stack:
        for child in children[stack.pop()] or ():
            if child not in seen:
                seen.add(child)
                stack.append(child)
    return seen


@lru_cache(maxsize=1 << 18)
def _admits(specifier: SpecifierSet, version: Version) -> bool:
    """Whether the resolver's first candidate for `specifier` alone is `version`, the newest
    non-yanked final release: the specifier admits it and asks for no pre-release (which could
    let a newer pre-release in first)."""
    if specifier.prereleases:
        return False
    return specifier.contains(version)


def projects_in(newest: NewestReleases) -> Sequence[NormalizedName]:
    return sorted(newest.selected)
