"""A resolvelib provider over the store: does a project install on a target, as pip decides it?

The rules pip's resolver applies, each taken from pip (`pip/_internal/resolution/resolvelib`):
- candidates are the releases with a file for the target (a compatible wheel, or an sdist whose
  metadata the sandbox or a static PKG-INFO gave) whose Requires-Python admits the target;
- specifiers filter versions with packaging's pre-release rule (pre-releases only when asked for
  explicitly, or when nothing else matches);
- yanked releases are skipped unless every matching release is yanked and the specifier pins one
  with `==` / `===` (PEP 592, as pip's factory does);
- markers are evaluated for the target, extras followed: `B[x]` is its own identifier that
  depends on `B==version` and on B's extra-x requirements (resolvelib's extras pattern);
- newest first; a release whose dependencies the store does not know stops the resolution with
  `UnknownDependencies` rather than pretending it has none.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from packaging.specifiers import SpecifierSet
from packaging.utils import NormalizedName, canonicalize_name
from packaging.version import Version
from resolvelib import AbstractProvider
from resolvelib.structs import RequirementInformation

from .release_index import ReleaseIndex, ReleaseInfo
from .targets import Target

__all__ = ["Candidate", "Req", "StoreProvider", "UnknownDependencies"]


@dataclass(frozen=True)
class Req:
    name: NormalizedName
    specifier: SpecifierSet
    extras: frozenset[str] = frozenset()
    text: str = ""  # as written, for messages
    # asked for on every resolver round: computed once
    key: str = field(init=False, compare=False, repr=False)
    specifier_text: str = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "key", _key(self.name, self.extras))
        object.__setattr__(self, "specifier_text", str(self.specifier))

    def __str__(self) -> str:
        return self.text or f"{self.name}{self.specifier}"


@dataclass(frozen=True)
class Candidate:
    name: NormalizedName
    version: Version
    extras: frozenset[str]
    release: ReleaseInfo
    key: str = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "key", _key(self.name, self.extras))

    def __str__(self) -> str:
        extras = f"[{','.join(sorted(self.extras))}]" if self.extras else ""
        return f"{self.name}{extras} {self.version}"


def _key(name: str, extras: frozenset[str]) -> str:
    return f"{name}[{','.join(sorted(extras))}]" if extras else name


class UnknownDependencies(Exception):
    """The resolver chose a release whose dependencies the store does not know."""

    def __init__(self, candidate: Candidate) -> None:
        super().__init__(f"{candidate.name} {candidate.version}: dependencies unknown")
        self.candidate = candidate


#: how many answers of find_matches a provider keeps
MATCHES_KEPT = 50_000


def _pinned(specifier: SpecifierSet) -> bool:
    specs = list(specifier)
    return len(specs) == 1 and specs[0].operator in ("==", "===") and "*" not in specs[0].version


class StoreProvider(AbstractProvider):  # type: ignore[type-arg]
    def __init__(self, index: ReleaseIndex, target: Target) -> None:
        self.index, self.target = index, target
        self._usable: dict[NormalizedName, list[ReleaseInfo]] = {}
        self._matches: dict[object, list[Candidate]] = {}
        self._dependencies: dict[tuple[int, frozenset[str]], list[Req]] = {}

    # --- candidates -------------------------------------------------------------------------

    def usable_releases(self, name: NormalizedName) -> list[ReleaseInfo]:
        """Releases of `name` with a file for the target whose Requires-Python admits it."""
        found = self._usable.get(name)
        if found is None:
            found = []
            for release in self.index.releases(name):
                rp = release.requires_python
                if rp is not None and not rp.contains(self.target.python_version, prereleases=True):
                    continue
                if self.index.installable_file(release, self.target) is None:
                    found.append(release)
            self._usable[name] = found
        return found

    def identify(self, requirement_or_candidate: Req | Candidate) -> str:
        return requirement_or_candidate.key

    def get_preference(
        self,
        identifier: str,
        resolutions: Mapping[str, Candidate],
        candidates: Mapping[str, Iterator[Candidate]],
        information: Mapping[str, Iterator[RequirementInformation[Req, Candidate]]],
        backtrack_causes: Sequence[RequirementInformation[Req, Candidate]],
    ) -> Any:
        # as pip: what caused backtracking first, then pinned requirements, then the rest
        causes = {cause.requirement.name for cause in backtrack_causes}
        reqs = [info.requirement for info in information[identifier]]
        pinned = any(_pinned(r.specifier) for r in reqs)
        return (identifier.split("[")[0] not in causes, not pinned, identifier)

    def find_matches(
        self,
        identifier: str,
        requirements: Mapping[str, Iterator[Req]],
        incompatibilities: Mapping[str, Iterator[Candidate]],
    ) -> Iterable[Candidate]:
        reqs = list(requirements[identifier])
        if not reqs:
            return []
        # one identifier, one name and set of extras
        name, extras = reqs[0].name, reqs[0].extras
        bad = frozenset(c.version for c in incompatibilities[identifier])
        # the same question comes back often (a resolution asks again after each pin; a provider
        # shared by many projects hears the same requirements from each): answered once. Keyed
        # by the specifiers' text: one text is one meaning (two spellings of one meaning only
        # ask twice)
        key = (identifier, frozenset(r.specifier_text for r in reqs), bad)
        found = self._matches.get(key)
        if found is None:
            if len(self._matches) >= MATCHES_KEPT:  # memory stays bounded over a long run
                self._matches.clear()
            found = self._matches[key] = self._find(name, extras, reqs, bad)
        return found

    def _find(
        self, name: NormalizedName, extras: frozenset[str], reqs: list[Req], bad: frozenset[Version]
    ) -> list[Candidate]:
        specifier = SpecifierSet()
        for req in reqs:
            specifier &= req.specifier
        releases = [r for r in self.usable_releases(name) if r.version not in bad]
        allowed = set(specifier.filter([r.version for r in releases]))
        matching = [r for r in releases if r.version in allowed]
        all_yanked = bool(matching) and all(r.yanked for r in matching)
        pinned = any(_pinned(r.specifier) for r in reqs)
        return [
            Candidate(name, r.version, extras, r)
            for r in matching
            if not r.yanked or (all_yanked and pinned)
        ]

    def matching(self, requirement: Req) -> list[Candidate]:
        """What `requirement` alone allows (no other requirement, nothing ruled out)."""
        return list(
            self.find_matches(
                requirement.key, {requirement.key: iter([requirement])}, {requirement.key: iter(())}
            )
        )

    def is_satisfied_by(self, requirement: Req, candidate: Candidate) -> bool:
        return requirement.specifier.contains(candidate.version, prereleases=True)

    def get_dependencies(self, candidate: Candidate) -> Iterable[Req]:
        if not candidate.release.deps_known:
            raise UnknownDependencies(candidate)
        key = (candidate.release.release_id, candidate.extras)
        found = self._dependencies.get(key)
        if found is None:
            found = self._dependencies[key] = self._dependencies_of(candidate)
        return found

    def _dependencies_of(self, candidate: Candidate) -> list[Req]:
        out: list[Req] = []
        if candidate.extras:  # B[x] needs B itself, at the same version
            out.append(Req(candidate.name, SpecifierSet(f"=={candidate.version}")))
        env = self.target.environment
        for stored in self.index.requirements(candidate.release.release_id):
            req = stored.requirement
            if candidate.extras:
                wanted = [
                    e
                    for e in candidate.extras
                    if req.marker is not None and req.marker.evaluate({**env, "extra": e})
                ]
                if stored.extra is None or not wanted:
                    continue  # the base install's requirements come through B itself
            else:
                if stored.extra is not None:
                    continue
                if req.marker is not None and not req.marker.evaluate({**env, "extra": ""}):
                    continue
            out.append(
                Req(
                    stored.name,
                    req.specifier,
                    frozenset(canonicalize_name(e) for e in req.extras),
                    str(req),
                )
            )
        return list(dict.fromkeys(out))
