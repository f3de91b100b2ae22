"""Fill in releases the ladder left `pending-sandbox` by building their sdist in a sandbox.

Sdists are downloaded (hash-verified) to a temporary folder, handed to any `sandbox.Sandbox`, and
the
result is written back per release: requirement edges with kind run/extra/setup/test and source
`sandbox-<backend>:<method>`, or a failure with the sandbox's reason and log tail.
"""

from __future__ import annotations

import functools
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Executor, Future, ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field, replace
from pathlib import Path

from packaging.requirements import InvalidRequirement

from depgraph.core.requirements import Edge, parse_requirement
from depgraph.core.schema import RequirementKind
from depgraph.sandbox import SANDBOX_VERSION, Sandbox, SandboxResult
from depgraph.store import SandboxCandidate, Store

from .errors import ClusterLost, CrawlerError
from .fetch import Fetcher
from .ladder import identity_mismatch

__all__ = ["SandboxSummary", "build_here", "build_one", "build_pending", "edges_from_result"]


@dataclass
class SandboxSummary:
    backend: str = ""
    attempted: int = 0
    by_outcome: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0

    def as_dict(self) -> dict[str, object]:
        return {
            "backend": self.backend,
            "attempted": self.attempted,
            "by_outcome": dict(self.by_outcome),
            "seconds": round(self.seconds, 2),
        }


def edges_from_result(result: SandboxResult) -> tuple[list[Edge], list[str]]:
    """Edges of a successful build, and the requirement strings that could not be parsed."""
    edges, bad = [], []
    groups = (
        (RequirementKind.RUN, result.requires_dist),
        (RequirementKind.SETUP, result.setup_requires),
        (RequirementKind.TEST, result.tests_require),
    )
    for kind, lines in groups:
        for line in dict.fromkeys(lines):
            try:
                edges.extend(parse_requirement(line, kind))
            except InvalidRequirement as exc:
                bad.append(f"{line!r}: {str(exc).splitlines()[0]}")
    return edges, bad


def build_one(
    fetcher: Fetcher, sandbox: Sandbox, workdir: Path, todo: SandboxCandidate
) -> tuple[SandboxCandidate, SandboxResult]:
    try:
        data = fetcher.download(todo.url, todo.sha256)
    except CrawlerError as exc:
        return todo, SandboxResult(False, sandbox.name, failure="download-failed", detail=str(exc))
    path = workdir / f"{todo.release_id}-{todo.filename}"
    path.write_bytes(data)
    try:
        return todo, sandbox.extract(path)
    finally:
        path.unlink(missing_ok=True)


def _record(
    store: Store,
    summary: SandboxSummary,
    todo: SandboxCandidate,
    result: SandboxResult,
    on_release: Callable[[str, str, SandboxResult], None] | None,
) -> None:
    if result.ok and result.name and result.version:
        # what the build says it is must be the release asked for (pip checks the same)
        why = identity_mismatch(result.name, result.version, todo.project, todo.version)
        if why is not None:
            result = replace(result, ok=False, failure="metadata-identity", detail=why)
    edges, bad = edges_from_result(result) if result.ok else ([], [])
    store.record_sandbox_result(todo, result, edges, bad, f"sandbox-{SANDBOX_VERSION}")
    summary.by_outcome[f"{result.method}" if result.ok else f"failed:{result.failure}"] += 1
    if on_release:
        on_release(todo.project, todo.version, result)


def build_pending(
    store: Store,
    candidates: Sequence[SandboxCandidate],
    executor: Executor,
    build: Callable[[SandboxCandidate], tuple[SandboxCandidate, SandboxResult]],
    backend: str,
    *,
    on_release: Callable[[str, str, SandboxResult], None] | None = None,
    lost: Callable[[BaseException], bool] = lambda exc: False,
) -> SandboxSummary:
    """Build each candidate (`Store.sandbox_candidates`) as one task on `executor`: a thread pool
    on this machine, or a Dask cluster's executor whose workers each build in their own sandbox.
    Each result is recorded as it arrives. A task that fails as a whole (its worker could not
    open a sandbox, the scheduler gave up on it after workers died under it, the sandbox itself
    raised) is recorded as a failed build of that release, with the reason, and the others go on;
    an error for which `lost` holds (the cluster itself is gone) stops the builds with
    ClusterLost, the unbuilt releases left pending for the next run."""
    started = time.monotonic()
    summary = SandboxSummary(backend=backend, attempted=len(candidates))
    futures: dict[Future[tuple[SandboxCandidate, SandboxResult]], SandboxCandidate] = {
        executor.submit(build, candidate): candidate for candidate in candidates
    }
    try:
        for todo, result in _as_results(futures, backend, lost):
            _record(store, summary, todo, result, on_release)
    except BaseException:
        for future in futures:
            future.cancel()
        raise
    summary.seconds = time.monotonic() - started
    return summary


def build_here(
    store: Store,
    candidates: Sequence[SandboxCandidate],
    fetcher: Fetcher,
    sandbox: Sandbox,
    *,
    workers: int = 2,
    on_release: Callable[[str, str, SandboxResult], None] | None = None,
) -> SandboxSummary:
    """`build_pending` on this machine: `workers` builds at once in `sandbox`, the sdists
    downloaded into one temporary folder."""
    with (
        tempfile.TemporaryDirectory(prefix="depgraph-sdists-") as tmp,
        ThreadPoolExecutor(max(1, workers), thread_name_prefix="sandbox") as pool,
    ):
        build = functools.partial(build_one, fetcher, sandbox, Path(tmp))
        return build_pending(store, candidates, pool, build, sandbox.name, on_release=on_release)


def _as_results(
    futures: dict[Future[tuple[SandboxCandidate, SandboxResult]], SandboxCandidate],
    backend: str,
    lost: Callable[[BaseException], bool],
) -> Iterator[tuple[SandboxCandidate, SandboxResult]]:
    for future in as_completed(futures):
        try:
            result = future.result()
        # any error of the task (KilledWorker, SandboxUnavailable, a sandbox that raised, ...):
        # recorded against its release, not raised, so one bad build does not stop the others
        except Exception as exc:
            if lost(exc):
                raise ClusterLost(f"{type(exc).__name__}: {exc}") from exc
            reason = type(exc).__name__
            detail = f"the build task failed ({backend}): {reason}: {exc}"
            yield (
                futures[future],
                SandboxResult(False, backend, failure="task-failed", detail=detail),
            )
        else:
            yield result
