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

import threading
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from concurrent.futures import Executor, as_completed
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
    "Elsewhere",
    "Installability",
    "Verdict",
    "check_installability",
    "check_installable",
    "installability_table",
    "resolve_batch",
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
    elsewhere: Elsewhere | None = None,
) -> pd.DataFrame:
    """One row per (project, target): see Verdict.as_row. With `newest`, the projects whose
    whole tree is met by newest releases are decided without the resolver (the same verdict and
    pins: see `analysis.newest_closure`). With `elsewhere`, the resolutions run as tasks of its
    executor, batches of projects over the same store (see `resolve_batch`)."""
    chosen = [canonicalize_name(p) for p in projects]
    closures: dict[str, dict[NormalizedName, tuple[tuple[str, str], ...]]] = {}
    shortcut_seconds: dict[str, float] = {}
    if newest is not None:
        for t in targets:
            started = time.perf_counter()
            closures[t.label] = clean_closures(newest, chosen, t)
            shortcut_seconds[t.label] = (time.perf_counter() - started) / max(len(chosen), 1)
    assumption = "" if index.has_files else NO_FILES_ASSUMPTION
    rows: dict[tuple[str, str], dict[str, object]] = {}
    pending: dict[NormalizedName, list[str]] = {}  # project -> labels the resolver decides
    for name in chosen:
        for t in targets:
            pinned = closures.get(t.label, {}).get(name)
            if pinned is None:
                pending.setdefault(name, []).append(t.label)
                continue
            rows[name, t.label] = Verdict(
                name,
                dict(pinned)[name],
                t.label,
                "installable",
                len(pinned),
                pinned,
                NEWEST_THROUGHOUT,
                assumption,
                shortcut_seconds[t.label],
            ).as_row()
    work = [(name, label) for name, labels in pending.items() for label in labels]
    tally = _Tally(progress, len(chosen) - len(pending), len(chosen), work)
    if elsewhere is None:
        resolved = _resolve_here(index, work, targets, max_rounds, tally)
    else:
        resolved = elsewhere.resolve(work, targets, max_rounds, tally)
    for row in resolved:
        rows[str(row["project"]), str(row["target"])] = row
    ordered = [rows[name, t.label] for name in chosen for t in targets]
    return pd.DataFrame(ordered, columns=list(Verdict("", None, "", "").as_row()))


class _Tally:
    """Progress in projects: one is done when each of its (project, target) pairs is."""

    def __init__(
        self, progress: Progress, decided: int, total: int, work: Sequence[tuple[str, str]]
    ) -> None:
        self.progress, self.decided, self.total = progress, decided, total
        self.left = Counter(name for name, _ in work)
        progress("installable", decided, total)

    def done(self, rows: Iterable[dict[str, object]]) -> None:
        for row in rows:
            name = str(row["project"])
            self.left[name] -= 1
            if not self.left[name]:
                self.decided += 1
        self.progress("installable", self.decided, self.total)


def _resolve_here(
    index: ReleaseIndex,
    work: Sequence[tuple[str, str]],
    targets: Sequence[Target],
    max_rounds: int,
    tally: _Tally,
) -> list[dict[str, object]]:
    by_label = {t.label: t for t in targets}
    providers = {t.label: StoreProvider(index, t) for t in targets}
    rows = []
    for name, label in work:
        row = check_installable(index, name, by_label[label], max_rounds, providers[label]).as_row()
        rows.append(row)
        tally.done([row])
    return rows


@dataclass(frozen=True)
class Elsewhere:
    """Resolutions as tasks of an executor (a Dask cluster's, or any whose tasks may run in
    other processes): each task a batch of (project, target) pairs over `source`, which every
    worker process opens for itself and keeps open for its next batches (the resolver's caches
    with it: most projects share much of their trees)."""

    executor: Executor
    source: StoreSource
    batch: int = 200  # (project, target) pairs a task

    def resolve(
        self,
        work: Sequence[tuple[str, str]],
        targets: Sequence[Target],
        max_rounds: int,
        tally: _Tally,
    ) -> list[dict[str, object]]:
        batches = [list(work[i : i + self.batch]) for i in range(0, len(work), self.batch)]
        futures = [
            self.executor.submit(resolve_batch, self.source, b, tuple(targets), max_rounds)
            for b in batches
        ]
        rows = []
        try:
            for future in as_completed(futures):
                done = future.result()
                rows.extend(done)
                tally.done(done)
        finally:
            for future in futures:
                future.cancel()
        return rows


# per worker thread: the last store and targets it resolved for, with their index and providers
_local = threading.local()


def resolve_batch(
    source: StoreSource,
    work: Sequence[tuple[str, str]],
    targets: tuple[Target, ...],
    max_rounds: int,
) -> list[dict[str, object]]:
    """The verdict rows of (project, target label) pairs: a task that may run in another process.
    The index and providers stay for the thread's next batch over the same store and targets."""
    kept = getattr(_local, "kept", None)
    if kept is None or kept[0] != (source, targets):
        if kept is not None:
            kept[1].close()
        index = ReleaseIndex(source)
        kept = _local.kept = (
            (source, targets),
            index,
            {t.label: StoreProvider(index, t) for t in targets},
        )
    _, index, providers = kept
    by_label = {t.label: t for t in targets}
    return [
        check_installable(index, name, by_label[label], max_rounds, providers[label]).as_row()
        for name, label in work
    ]


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
    executor: Executor | None = None,
) -> Installability:
    """The verdicts of the named projects, the `top` projects by direct dependents, or all; with
    an `executor`, the resolutions run as its tasks (see `Elsewhere`)."""
    source = StoreSource.of(db)
    started = time.perf_counter()
    # chosen before the index holds its connection: the columnar reads need the file to themselves
    chosen = select_projects(source, projects, top)
    # many projects: the short way first (three columnar reads, before the index's connection)
    newest = NewestReleases(source) if len(chosen) > SHORTCUT_FROM else None
    index = ReleaseIndex(source)
    try:
        elsewhere = None if executor is None else Elsewhere(executor, source)
        table = installability_table(
            index, chosen, targets, max_rounds, progress, newest, elsewhere
        )
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
    executor: Executor | None = None,
) -> dict[str, object]:
    """installable.csv (one row per project and target), summary.json, installable.png (the
    verdicts per Python version). Returns the summary."""
    import json

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    result = check_installability(
        db,
        targets,
        projects=projects,
        top=top,
        max_rounds=max_rounds,
        progress=progress,
        executor=executor,
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
