"""Sandbox builds: the releases only a build can answer, and each build's result recorded."""

from __future__ import annotations

from depgraph.core.schema import DepsState, FailureStage, FileKind

from .connection import StoreBase, retried_on_connection_loss
from .release_rows import insert_failures, replace_requirements
from .rows import BuildResult, Edge, Failure, SandboxCandidate

__all__ = ["Builds"]


class Builds(StoreBase):
    @retried_on_connection_loss
    def sandbox_candidates(
        self, retry_failed: bool = False, projects: list[str] | None = None
    ) -> list[SandboxCandidate]:
        """Releases to build in a sandbox, each with its first non-yanked sdist."""
        states = [DepsState.PENDING_SANDBOX] + ([DepsState.FAILED] if retry_failed else [])
        sql = (
            "SELECT r.id, r.project, r.version, f.filename, f.url, f.sha256 FROM releases r"
            " JOIN files f ON f.release_id = r.id AND f.kind = ?"
            f" WHERE r.deps_state IN ({','.join('?' * len(states))})"
            # a release that failed before the sandbox (no sdist read) is not the sandbox's
            " AND (r.deps_state = ? OR r.metadata_source LIKE 'sandbox%')"
            " ORDER BY r.project, r.version, f.yanked, f.filename"
        )
        rows = self.db.execute(sql, (FileKind.SDIST, *states, DepsState.PENDING_SANDBOX)).fetchall()
        wanted = set(projects) if projects else None
        first: dict[int, SandboxCandidate] = {}
        for row in rows:  # one sdist per release: the first non-yanked
            if (wanted is None or row[1] in wanted) and row[0] not in first:
                first[row[0]] = SandboxCandidate(*row)
        return list(first.values())

    @retried_on_connection_loss
    def record_sandbox_result(
        self,
        candidate: SandboxCandidate,
        result: BuildResult,
        edges: list[Edge],
        bad_lines: list[str],
        extractor_version: str,
    ) -> None:
        c = candidate
        source = f"sandbox-{result.backend}" + (f":{result.method}" if result.method else "")
        state = DepsState.KNOWN if result.ok else DepsState.FAILED
        note = result.detail if result.ok else None
        stage = FailureStage.SANDBOX
        self.note_written([c.project])
        with self.transaction() as db:
            db.execute(
                "UPDATE releases SET deps_state = ?, metadata_source = ?, metadata_file = ?,"
                " note = ?, requires_python = coalesce(requires_python, ?), deps_verified = ?"
                " WHERE id = ?",
                # the sdist was downloaded whole and checked when the index gave its sha256
                (
                    state,
                    source,
                    c.filename,
                    note,
                    result.requires_python,
                    (c.sha256 is not None) if result.ok else None,
                    c.release_id,
                ),
            )
            replace_requirements(db, c.release_id, edges, source, extractor_version)
            db.execute(
                "DELETE FROM failures WHERE project = ? AND version = ? AND stage = ?",
                (c.project, c.version, stage),
            )
            failures = [Failure(stage, "bad-requirement", line, c.filename) for line in bad_lines]
            if not result.ok:
                detail = f"{result.detail or ''}\n--- log tail ---\n{result.log_tail}".strip()
                failures.append(
                    Failure(stage, result.failure or "build-failed", detail, c.filename)
                )
            elif result.confidence == "low":
                failures.append(
                    Failure(
                        stage, "low-confidence", result.detail or result.method or "", c.filename
                    )
                )
            insert_failures(db, c.project, c.version, failures)
