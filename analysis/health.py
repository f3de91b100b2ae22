"""Graph health: cycles, dependencies on missing projects, unsatisfiable edges,
projects whose dependencies are unknown."""

from __future__ import annotations

import math
import operator
from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import InvalidVersion, Version
from scipy.sparse.csgraph import connected_components

from .graph import DependencyGraph

__all__ = [
    "cycles",
    "missing_dependencies",
    "self_loops",
    "unknown_dependencies",
    "unsatisfiable_edges",
]


def cycles(g: DependencyGraph, include_extras: bool = False) -> list[list[str]]:
    """Strongly connected components of more than one project, largest first, members sorted."""
    n, labels = connected_components(
        g.adjacency(include_extras), directed=True, connection="strong"
    )
    sizes = np.bincount(labels, minlength=n)
    names = g.names.to_numpy()
    out = [sorted(names[labels == c].tolist()) for c in np.flatnonzero(sizes > 1)]
    return sorted(out, key=lambda members: (-len(members), members))


def self_loops(g: DependencyGraph) -> list[str]:
    e = g.edges
    return sorted(g.names.to_numpy()[e.loc[e["src"] == e["dst"], "src"]].tolist())


def missing_dependencies(g: DependencyGraph) -> pd.DataFrame:
    """Required names that are not on the index, with how many projects require them."""
    missing = g.nodes.index[g.nodes["missing"]].to_numpy()
    e = g.edges[g.edges["dst"].isin(missing)]
    counts = e.groupby("dst").size()
    return (
        pd.DataFrame({"name": g.names.to_numpy()[counts.index], "dependents": counts.to_numpy()})
        .sort_values(["dependents", "name"], ascending=[False, True])
        .reset_index(drop=True)
    )


@dataclass
class _Releases:
    every: list[Version]  # newest first: most specifiers are met by the newest release
    unyanked: list[Version]
    exact: set[Version]
    # oldest first, with their comparison keys: bounds are found by bisection
    every_keys: list[Any] = field(default_factory=list)
    unyanked_keys: list[Any] = field(default_factory=list)


@lru_cache(maxsize=1 << 18)
def _specifier_set(specifier: str) -> SpecifierSet | None:
    try:
        return SpecifierSet(specifier)
    except InvalidSpecifier:
        return None


def _satisfiable(specifier: str, releases: _Releases) -> bool | None:
    """Whether any known release matches; None when the specifier cannot be read.

    Pre-releases count as pip counts them: only when the specifier names one, or when no final
    release matches (packaging's `filter` rule), which makes "satisfiable" the same as "some release
    matches with pre-releases allowed". Yanked releases count only for an exact pin (PEP 592).
    """
    spec = _specifier_set(specifier)
    if spec is None:
        return None
    items = list(spec)
    exact = any(s.operator in ("==", "===") and "*" not in s.version for s in items)
    pool = releases.every if exact else releases.unyanked
    if not pool:
        return False
    if len(items) == 1:
        only = items[0]
        if only.operator == "==" and "*" not in only.version:
            pinned = _parse_version(only.version)
            if pinned is not None and pinned in releases.exact:  # an exact pin, by lookup
                return True
        # a lone bound is met by some release iff it is met by the newest (>, >=) or oldest (<, <=)
        if only.operator in (">=", ">"):
            return only.contains(pool[0], prereleases=True)
        if only.operator in ("<", "<="):
            return only.contains(pool[-1], prereleases=True)
    window = _bounded(items, pool, releases.every_keys if exact else releases.unyanked_keys)
    return any(spec.contains(v, prereleases=True) for v in window)


def _bounded(items: list[Any], pool: list[Version], keys: list[Any]) -> Sequence[Version]:
    """The releases of `pool` (newest first) between the specifier's lower and upper bounds,
    newest first: a superset of what it admits (contains still decides), found by bisection on
    the ascending comparison keys, so a specifier like `>=1.2,<2,!=1.5`, `~=1.4` or `==2.0.*`
    checks a handful of releases rather than every one."""
    lows, highs = [], []
    for item in items:
        bound = _item_bounds(item.operator, item.version)
        if bound is None:
            return pool  # ===, or a version that does not parse: check them all
        low, high = bound
        if low is not None:
            lows.append(low)
        if high is not None:
            highs.append(high)
    start = bisect_left(keys, max(lows)) if lows else 0
    stop = bisect_right(keys, min(highs)) if highs else len(keys)
    # pool is newest first: ascending position i is pool[len - 1 - i]
    n = len(pool)
    return pool[n - stop : n - start] if stop > start else []


@lru_cache(maxsize=1 << 16)
def _item_bounds(op: str, text: str) -> tuple[Any, Any] | None:
    """(lowest, highest) comparison key a release admitted by `op text` can have, inclusive, each
    None when unbounded on that side; None when there is no cheap bound. Wider than exact is fine.

    ==V: V itself, up to V with any local label (they sort right after V); ==V.* and ~=V: the
    release prefix, from its first dev release to the next prefix."""
    if op == "!=":
        return (None, None)
    if op == "===":
        return None
    wildcard = text.endswith(".*")
    version = _parse_version(text[:-2] if wildcard else text)
    if version is None:
        return None
    if op in (">=", ">"):
        return (version._key, None)
    if op in ("<", "<="):
        return (None, version._key)
    if op == "==" and not wildcard:
        if version.local is not None:
            return (version._key, version._key)
        return (version._key, (*version._key[:5], _ABOVE_ANY_LOCAL))
    if op == "==" or op == "~=":
        release = version.release if wildcard else version.release[:-1]
        if not release:  # (~= needs two components; packaging refuses one)
            return None
        prefix = ".".join(map(str, release))
        following = ".".join(map(str, (*release[:-1], release[-1] + 1)))
        low = _parse_version(f"{version.epoch}!{prefix}.dev0") if wildcard else version
        high = _parse_version(f"{version.epoch}!{following}.dev0")
        if low is None or high is None:
            return None
        return (low._key, high._key)
    return None


_version_key = operator.attrgetter("_key")

#: a local-label key above every real one (those are tuples of (int, "") / (-inf, str) pairs)
_ABOVE_ANY_LOCAL = ((math.inf,),)


@lru_cache(maxsize=1 << 20)
def _parse_version(text: str) -> Version | None:
    try:
        return Version(text)
    except InvalidVersion:
        return None


def unsatisfiable_edges(reqs: pd.DataFrame, versions: pd.DataFrame) -> pd.DataFrame:
    """Requirement rows (source, target, specifier, ...) on indexed projects that no known release
    of the target satisfies; `reason` says `no-matching-release` or `bad-specifier`."""
    candidates = reqs[reqs["specifier"] != ""]
    wanted = versions[versions["project"].isin(set(candidates["target"]))]
    # parse each distinct version string once, then hand every project its rows by index
    codes, uniques = pd.factorize(wanted["version"])
    parsed = np.array([_parse_version(v) for v in uniques] + [None], dtype=object)[codes]
    usable = np.array([v is not None for v in parsed])
    yanked = wanted["yanked"].to_numpy(dtype=bool)
    by_project = {
        project: rows[usable[rows]]
        for project, rows in wanted.groupby("project", sort=False).indices.items()
    }
    by_project = {project: rows for project, rows in by_project.items() if len(rows)}
    built: dict[str, _Releases] = {}

    def releases_of(project: str) -> _Releases:
        found = built.get(project)
        if found is None:
            rows = by_project[project]
            # Version's own comparison key: sorting on it runs in C, ~5x faster than __lt__
            every = sorted(parsed[rows], key=_version_key, reverse=True)
            unyanked = sorted(parsed[rows[~yanked[rows]]], key=_version_key, reverse=True)
            found = built[project] = _Releases(
                every,
                unyanked,
                set(every),
                [v._key for v in reversed(every)],
                [v._key for v in reversed(unyanked)],
            )
        return found

    # most requirements are met by the project's newest release: when it is not yanked, one
    # `contains` settles them, and the project's releases are never sorted
    newest: dict[str, Version | None] = {}

    def newest_unyanked(project: str) -> Version | None:
        if project not in newest:
            rows = by_project[project]
            rows = rows[~yanked[rows]]
            newest[project] = max(parsed[rows], key=_version_key) if len(rows) else None
        return newest[project]

    def verdict_of(target: str, specifier: str) -> bool | None:
        spec = _specifier_set(specifier)
        if spec is None:
            return None
        witness = newest_unyanked(target)
        if witness is not None and spec.contains(witness, prereleases=True):
            return True
        return _satisfiable(specifier, releases_of(target))

    candidates = candidates[candidates["target"].isin(by_project.keys())]
    pairs = candidates[["target", "specifier"]].drop_duplicates()
    verdict = {
        (t, s): verdict_of(t, s)
        for t, s in zip(pairs["target"].tolist(), pairs["specifier"].tolist(), strict=True)
    }
    ok = [
        verdict[pair]
        for pair in zip(
            candidates["target"].tolist(), candidates["specifier"].tolist(), strict=True
        )
    ]
    out = candidates.assign(satisfiable=ok)
    out = out[out["satisfiable"] != True].copy()  # noqa: E712  (None = unreadable specifier)
    out["reason"] = np.where(out["satisfiable"].isna(), "bad-specifier", "no-matching-release")
    return (
        out.drop(columns=["satisfiable"]).sort_values(["source", "target"]).reset_index(drop=True)
    )


def _pinned(specifier: str) -> bool:
    spec = _specifier_set(specifier)
    items = list(spec) if spec is not None else []
    return len(items) == 1 and items[0].operator in ("==", "===") and "*" not in items[0].version


def unknown_dependencies(g: DependencyGraph) -> pd.DataFrame:
    """Projects on the index whose latest release's dependencies are not known (pending or
    failed)."""
    nodes = g.nodes
    if "deps_known" not in nodes:
        return pd.DataFrame(columns=["name", "deps_state"])
    mask = ~nodes["missing"] & ~nodes["deps_known"].fillna(False).astype(bool)
    return nodes.loc[mask, ["name", "deps_state"]].sort_values("name").reset_index(drop=True)
