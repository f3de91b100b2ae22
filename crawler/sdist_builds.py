"""Fill in releases the ladder left `pending-sandbox` by building their sdist in a sandbox.

Sdists are downloaded (hash-verified) to a temporary folder, handed to any `sandbox.Sandbox`, and
the
result is written back per release: requirement edges with kind run/extra/setup/test and source
`sandbox-<backend>:<method>`, or a failure with the sandbox's reason and log tail.
"""

from __future__ import annotations

import tempfile
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from packaging.requirements import InvalidRequirement

from depgraph_core.schema import RequirementKind
from sandbox import SANDBOX_VERSION, Sandbox, SandboxResult

from .errors import CrawlerError
from .fetch import Fetcher
from .metadata import Edge, parse_requirement
from .store import SandboxCandidate, Store

__all__ = ["SandboxSummary", "build_pending", "edges_from_result"]


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


def _build_one(
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


def build_pending(
    store: Store,
    fetcher: Fetcher,
    sandbox: Sandbox,
    workers: int = 2,
    retry_failed: bool = False,
    projects: list[str] | None = None,
    on_release: Callable[[str, str, SandboxResult], None] | None = None,
) -> SandboxSummary:
    """Build every pending-sandbox release (and earlier sandbox failures with retry_failed)."""
    started = time.monotonic()
    rows = store.sandbox_candidates(retry_failed, projects)
    summary = SandboxSummary(backend=sandbox.name, attempted=len(rows))
    with (
        tempfile.TemporaryDirectory(prefix="depgraph-sdists-") as tmp,
        ThreadPoolExecutor(max(1, workers), thread_name_prefix="sandbox") as pool,
    ):
        for todo, result in pool.map(lambda r: _build_one(fetcher, sandbox, Path(tmp), r), rows):
            edges, bad = edges_from_result(result) if result.ok else ([], [])
            store.record_sandbox_result(todo, result, edges, bad, f"sandbox-{SANDBOX_VERSION}")
            summary.by_outcome[f"{result.method}" if result.ok else f"failed:{result.failure}"] += 1
            if on_release:
                on_release(todo.project, todo.version, result)
    summary.seconds = time.monotonic() - started
    return summary
