"""Imported data sets (pypi-deps-db, BigQuery exports) written as releases of their origin."""

from __future__ import annotations

from depgraph.core.schema import DepsState, FailureStage, ProjectStatus

from .connection import StoreBase, now, retried_on_connection_loss
from .release_rows import insert_failures, mark_latest, replace_requirements
from .rows import IMPORT_EXTRACTOR, Failure, ImportedRelease

__all__ = ["Imports"]


class Imports(StoreBase):
    @retried_on_connection_loss
    def write_imported(self, batch: list[ImportedRelease], origin: str) -> None:
        """Releases read from a data set, in one transaction (provenance: `origin`, their
        source)."""
        stamp = now()
        projects = {r.project for r in batch}
        self.note_written(projects)
        with self.transaction() as db:
            db.executemany(
                "INSERT INTO projects (name, display_name, index_url, status, crawled_at)"
                " VALUES (?,?,?,?,?) ON CONFLICT(name) DO UPDATE SET index_url = "
                "excluded.index_url,"
                " crawled_at = excluded.crawled_at",
                [(p, p, origin, ProjectStatus.OK, stamp) for p in projects],
            )
            for rel in batch:
                rid = db.execute(
                    "INSERT INTO releases (project, version, yanked, requires_python, deps_state,"
                    " metadata_source, files_digest, extractor_version) VALUES (?,?,0,?,?,?,'',?)"
                    " ON CONFLICT(project, version) DO UPDATE SET"
                    " requires_python = excluded.requires_python, deps_state = excluded.deps_state,"
                    " metadata_source = excluded.metadata_source RETURNING id",
                    (
                        rel.project,
                        rel.version,
                        rel.requires_python,
                        DepsState.KNOWN,
                        rel.source,
                        IMPORT_EXTRACTOR,
                    ),
                ).fetchone()[0]
                replace_requirements(db, rid, rel.edges, rel.source, IMPORT_EXTRACTOR)
                db.execute(
                    "DELETE FROM failures WHERE project = ? AND version = ? AND stage = ?",
                    (rel.project, rel.version, FailureStage.IMPORT),
                )
                insert_failures(
                    db,
                    rel.project,
                    rel.version,
                    [
                        Failure(FailureStage.IMPORT, "bad-requirement", line)
                        for line in rel.bad_lines
                    ],
                )
                db.executemany(
                    "INSERT INTO releases (project, version, yanked, deps_state, files_digest,"
                    " extractor_version) VALUES (?,?,0,?,'',?) ON CONFLICT DO NOTHING",
                    [
                        (rel.project, v, DepsState.NOT_IMPORTED, IMPORT_EXTRACTOR)
                        for v in rel.other_versions
                    ],
                )
            for project in projects:
                mark_latest(db, project)
