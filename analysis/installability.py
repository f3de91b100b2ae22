"""Does a project even install on Python X? Each project's latest non-yanked release resolved with
its whole dependency tree, per target, from the store alone (resolvelib, the resolver pip uses;
the rules are in `analysis.resolver`).

Verdicts:
- `installable`: a full pinned set was found (`resolved` projects, the project included);
- `no-compatible-release`: the project's latest release has no file for the target, or its
  Requires-Python excludes it (`detail` says which);
- `conflict`: requirements that no set of releases satisfies together (`detail` is the chain, as
  pip's ResolutionImpossible message gives it), a dependency's releases all excluded included;
- `missing-dependency`: something in the tree requires a project the index does not have;
- `unknown-dependencies`: the resolver needed a release whose dependencies the store does not
  know (pending sandbox, failed);
- `too-deep`: no answer within `max_rounds` resolver rounds.
Where the store knows no files (an imported data set), every release is assumed to have a file for
every target (`assumption` says so); Requires-Python and markers still apply.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from packaging.specifiers import SpecifierSet
from packaging.utils import NormalizedName, canonicalize_name
from resolvelib import BaseReporter, Resolver
from resolvelib.resolvers import ResolutionImpossible, ResolutionTooDeep

from depgraph.core.progress import Progress, silent
from depgraph.store.reader import StoreSource

from .csvout import write_csv
from .newest_closure import NewestReleases, clean_closures
from .release_index import ReleaseIndex
from .resolver import Candidate, Req, StoreProvider, UnknownDependencies
from .targets import Target

__all__ = [
    "VERDICTS",
    "Installability",
    "Verdict",
    "check_installability",
    "check_installable",
    "installability_table",
    "write_installability",
]

VERDICTS = (
    "installable",
    "no-compatible-release",
    "conflict",
    "missing-dependency",
    "unknown-dependencies",
    "too-deep",
)
#: from how many projects the newest-closure shortcut is worth its reads
SHORTCUT_FROM = 20
NEWEST_THROUGHOUT = "every requirement in the tree met by the newest release"
NO_FILES_ASSUMPTION = (
    "no file data in the store: every release assumed to have a file for the target"
)


@dataclass(frozen=True)
class Verdict:
    project: str
    version: str | None
    target: str
    verdict: str
    resolved: int = 0
    pinned: tuple[tuple[str, str], ...] = ()  # (project, version) of the resolved set
    detail: str = ""
    assumption: str = ""
    seconds: float = 0.0

    def as_row(self) -> dict[str, object]:
        return {
            "project": self.project,
            "version": self.version,
            "target": self.target,
            "verdict": self.verdict,
            "resolved": self.resolved,
            "pinned": " ".join(f"{n}=={v}" for n, v in self.pinned),
            "detail": self.detail,
            "assumption": self.assumption,
            "seconds": round(self.seconds, 4),
        }


def _chain(causes: Sequence[object]) -> str:
    parts = []
    for cause in causes:
        requirement, parent = cause.requirement, cause.parent  # type: ignore[attr-defined]
        who = "the project itself" if parent is None else str(parent)
        parts.append(f"{who} requires {requirement}")
    return "; ".join(dict.fromkeys(parts))


def check_installable(
    index: ReleaseIndex,
    project: str,
    target: Target,
    max_rounds: int = 2000,
    provider: StoreProvider | None = None,
) -> Verdict:
    """The verdict for one project's latest non-yanked release on one target. A `provider` for
    the same index and target may be shared by many calls (it keeps what it has looked up)."""
    started = time.perf_counter()
    name = canonicalize_name(project)
    assumption = "" if index.has_files else NO_FILES_ASSUMPTION
    releases = [r for r in index.releases(name) if not r.yanked]
    latest = index.latest(name)
    if latest is None:
        return Verdict(
            name,
            None,
            target.label,
            "missing-dependency",
            detail=f"{name} is not in the store",
            assumption=assumption,
        )
    if latest.yanked:
        if not releases:  # pip skips yanked releases unless a specifier pins one
            return Verdict(
                name,
                str(latest.version),
                target.label,
                "no-compatible-release",
                detail="every release is yanked",
                assumption=assumption,
            )
        latest = releases[0]
    if provider is None:
        provider = StoreProvider(index, target)

    def verdict(
        kind: str, resolved: int = 0, pinned: tuple[tuple[str, str], ...] = (), detail: str = ""
    ) -> Verdict:
        return Verdict(
            name,
            str(latest.version),
            target.label,
            kind,
            resolved,
            pinned,
            detail,
            assumption,
            time.perf_counter() - started,
        )

    if latest not in provider.usable_releases(name):
        why = []
        rp = latest.requires_python
        if rp is not None and not rp.contains(target.python_version, prereleases=True):
            why.append(f"Requires-Python {rp}")
        file_problem = index.installable_file(latest, target)
        if file_problem:
            why.append(file_problem)
        return verdict("no-compatible-release", detail="; ".join(why))
    root = Req(name, SpecifierSet(f"=={latest.version}"), text=f"{name}=={latest.version}")
    resolver: Resolver[Req, Candidate, str] = Resolver(provider, BaseReporter())
    try:
        result = resolver.resolve([root], max_rounds=max_rounds)
    except UnknownDependencies as exc:
        return verdict("unknown-dependencies", detail=str(exc))
    except ResolutionTooDeep:
        return verdict("too-deep", detail=f"no answer within {max_rounds} resolver rounds")
    except ResolutionImpossible as exc:
        causes = list(exc.causes)
        missing = sorted({c.requirement.name for c in causes if c.requirement.name not in index})
        if missing:
            return verdict(
                "missing-dependency",
                detail=f"not on the index: {', '.join(missing)}; {_chain(causes)}",
            )
        # one requirement that nothing satisfies is not a conflict between requirements
        by_key: dict[str, set[str]] = {}
        for cause in causes:
            by_key.setdefault(cause.requirement.key, set()).add(str(cause.requirement.specifier))
        lonely = [
            c.requirement
            for c in causes
            if len(by_key[c.requirement.key]) == 1 and not provider.matching(c.requirement)
        ]
        if lonely and len(lonely) == len(causes):
            req = lonely[0]
            known = ", ".join(str(r.version) for r in index.releases(req.name)[:5])
            return verdict(
                "no-compatible-release",
                detail=f"no release of {req.name} matches {req.specifier or 'any'} for "
                f"{target.label} (newest known: {known}); {_chain(causes)}",
            )
        return verdict("conflict", detail=_chain(causes))
    pinned = tuple(
        sorted((c.name, str(c.version)) for c in result.mapping.values() if not c.extras)
    )
    return verdict("installable", resolved=len(pinned), pinned=pinned)


def installability_table(
    index: ReleaseIndex,
    projects: Iterable[str],
    targets: Sequence[Target],
    max_rounds: int = 2000,
    progress: Progress = silent,
    newest: NewestReleases | None = None,
) -> pd.DataFrame:
    """One row per (project, target): see Verdict.as_row. With `newest`, the projects whose
    whole tree is met by newest releases are decided without the resolver (the same verdict and
    pins: see `analysis.newest_closure`)."""
    chosen = list(projects)
    closures: dict[str, dict[NormalizedName, tuple[tuple[str, str], ...]]] = {}
    shortcut_seconds: dict[str, float] = {}
    if newest is not None:
        for t in targets:
            started = time.perf_counter()
            closures[t.label] = clean_closures(newest, chosen, t)
            shortcut_seconds[t.label] = (time.perf_counter() - started) / max(len(chosen), 1)
    providers = {t.label: StoreProvider(index, t) for t in targets}
    assumption = "" if index.has_files else NO_FILES_ASSUMPTION
    rows: list[dict[str, object]] = []
    for done, project in enumerate(chosen):
        name = canonicalize_name(project)
        for t in targets:
            pinned = closures.get(t.label, {}).get(name)
            if pinned is None:
                verdict = check_installable(index, project, t, max_rounds, providers[t.label])
            else:
                version = dict(pinned)[name]
                verdict = Verdict(
                    name,
                    version,
                    t.label,
                    "installable",
                    len(pinned),
                    pinned,
                    NEWEST_THROUGHOUT,
                    assumption,
                    shortcut_seconds[t.label],
                )
            rows.append(verdict.as_row())
        progress("installable", done + 1, len(chosen))
    columns = [
        "project",
        "version",
        "target",
        "verdict",
        "resolved",
        "pinned",
        "detail",
        "assumption",
        "seconds",
    ]
    return pd.DataFrame(rows, columns=columns)


def share_installable(table: pd.DataFrame) -> dict[str, float]:
    """target -> share of projects whose verdict is installable."""
    if table.empty:
        return {}
    share = table.assign(ok=table["verdict"].eq("installable")).groupby("target")["ok"].mean()
    return {str(k): round(float(v), 4) for k, v in share.items()}


def select_projects(
    source: StoreSource, projects: Sequence[str] | None, top: int | None
) -> list[str]:
    """The named projects, or the `top` projects by direct dependents, or every project."""
    if projects:
        return [canonicalize_name(p) for p in projects]
    if top is None:
        rows = source.release_rows()
        try:
            return [canonicalize_name(name) for name in rows.project_names()]
        finally:
            rows.close()
    from .build import load_graph
    from .metrics import dependents_table

    table = dependents_table(load_graph(source))
    table = table[~table["missing"]].sort_values(
        ["direct_dependents", "name"], ascending=[False, True]
    )
    return [str(n) for n in table["name"].head(top)]


@dataclass
class Installability:
    """Verdicts (one row per project and target) and their summary."""

    table: pd.DataFrame
    summary: dict[str, object]


def check_installability(
    db: str | Path | StoreSource,
    targets: Sequence[Target],
    *,
    projects: Sequence[str] | None = None,
    top: int | None = None,
    max_rounds: int = 2000,
    progress: Progress = silent,
) -> Installability:
    """The verdicts of the named projects, the `top` projects by direct dependents, or all."""
    source = StoreSource.of(db)
    started = time.perf_counter()
    # chosen before the index holds its connection: the columnar reads need the file to themselves
    chosen = select_projects(source, projects, top)
    # many projects: the short way first (three columnar reads, before the index's connection)
    newest = NewestReleases(source) if len(chosen) > SHORTCUT_FROM else None
    index = ReleaseIndex(source)
    try:
        table = installability_table(index, chosen, targets, max_rounds, progress, newest)
        seconds = time.perf_counter() - started
    finally:
        index.close()
    counts = table.groupby(["target", "verdict"]).size()
    summary: dict[str, object] = {
        "projects": len(chosen),
        "selection": "named" if projects else (f"top {top} by direct dependents" if top else "all"),
        "targets": [t.label for t in targets],
        "share_installable": share_installable(table),
        "verdicts": {
            str(t): {str(v): int(n) for v, n in counts[t].items()}
            for t in counts.index.get_level_values(0).unique()
        },
        "assumption": NO_FILES_ASSUMPTION if not index.has_files else None,
        "max_rounds": max_rounds,
        "seconds": round(seconds, 2),
    }
    return Installability(table, summary)


def write_verdicts(result: Installability, targets: Sequence[Target], out: Path) -> None:
    """installable.csv and installable.png (share installable per Python version) in `out`."""
    write_csv(result.table, out / "installable.csv")
    _plot_share(result.table, targets, out / "installable.png")


def write_installability(
    db: str | Path | StoreSource,
    out: str | Path,
    targets: Sequence[Target],
    *,
    projects: Sequence[str] | None = None,
    top: int | None = None,
    max_rounds: int = 2000,
    progress: Progress = silent,
) -> dict[str, object]:
    """installable.csv (one row per project and target), summary.json, installable.png (the
    verdicts per Python version). Returns the summary."""
    import json

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    result = check_installability(
        db, targets, projects=projects, top=top, max_rounds=max_rounds, progress=progress
    )
    write_verdicts(result, targets, out)
    (out / "summary.json").write_text(json.dumps(result.summary, indent=2))
    return result.summary


def _plot_share(table: pd.DataFrame, targets: Sequence[Target], path: Path) -> None:
    """One bar per target, split by verdict (% of the projects checked), each part labelled
    with its count; n and the platform in the title."""
    from matplotlib.figure import Figure

    n = int(table["project"].nunique())
    fig = Figure(figsize=(max(6.0, 1.3 * len(targets) + 3.5), 4.2))  # no pyplot state
    ax = fig.add_subplot()
    colours = ("tab:green", "tab:gray", "tab:red", "tab:orange", "tab:purple", "tab:brown")
    x = [t.python for t in targets]
    bottom = np.zeros(len(targets))
    for verdict, colour in zip(VERDICTS, colours, strict=True):
        counts = np.array(
            [
                int(((table["target"] == t.label) & (table["verdict"] == verdict)).sum())
                for t in targets
            ]
        )
        if not counts.any():
            continue
        share = 100 * counts / max(n, 1)
        bars = ax.bar(x, share, bottom=bottom, color=colour, label=verdict)
        ax.bar_label(
            bars, labels=[str(c) if c else "" for c in counts], label_type="center", fontsize=8
        )
        bottom += share
    ax.set_xlabel("Python version" + (f" ({targets[0].platform})" if targets else ""))
    ax.set_ylabel("% of projects checked")
    ax.set_ylim(0, 100)
    ax.set_title(f"Installability verdicts, n = {n} projects per target", fontsize=10)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    fig.subplots_adjust(left=0.1, right=0.72, bottom=0.13, top=0.9)
    fig.savefig(path, dpi=110)
