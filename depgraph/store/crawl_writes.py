"""The one write path of a crawl: each project's page, releases, files, requirements and failures
replaced whole in one transaction (projects that finish together share one), so a re-run leaves
the same rows and a crash leaves each project before or after; and the reads a crawl makes to skip
what has not changed."""

from __future__ import annotations

from depgraph.core.db import Connection
from depgraph.core.schema import DepsState, PageOutcome, ProjectStatus

from .connection import StoreBase, now, retried_on_connection_loss
from .release_rows import insert_failures, mark_latest, replace_requirements
from .rows import ProjectRecord, ReleaseRecord
from .runs import mark_done

__all__ = ["CrawlWrites"]


class CrawlWrites(StoreBase):
    @retried_on_connection_loss
    def release_digests(
        self, project: str, extractor_version: str, verified_only: bool = False
    ) -> dict[str, str]:
        """version -> files_digest of releases whose extraction can be kept as is (with
        verified_only, known dependencies must have been read from hash-verified bytes)."""
        rows = self.db.execute(
            "SELECT version, files_digest FROM releases WHERE project = ? AND extractor_version = ?"
            " AND (deps_state IN (?, ?, ?) OR metadata_source LIKE 'sandbox%')"
            + (" AND (deps_state != ? OR deps_verified = 1)" if verified_only else ""),
            # sandbox failures wait for --retry-failed
            (
                project,
                extractor_version,
                DepsState.KNOWN,
                DepsState.PENDING_SANDBOX,
                DepsState.NO_USABLE_FILES,
                *([DepsState.KNOWN] if verified_only else []),
            ),
        )
        return dict(rows.fetchall())

    @retried_on_connection_loss
    def all_validators(self) -> dict[str, tuple[str | None, str | None]]:
        """project -> (ETag, Last-Modified) of its page at the last crawl."""
        return {
            name: (etag, modified)
            for name, etag, modified in self.db.execute(
                "SELECT name, etag, last_modified FROM projects"
            )
        }

    @retried_on_connection_loss
    def write_project(
        self,
        record: ProjectRecord,
        index_url: str,
        extractor_version: str,
        run_id: int | None = None,
    ) -> None:
        """Replace everything stored about one project, atomically (and tick it off `run_id`)."""
        self.write_projects([record], index_url, extractor_version, run_id)

    @retried_on_connection_loss
    def write_projects(
        self,
        records: list[ProjectRecord],
        index_url: str,
        extractor_version: str,
        run_id: int | None = None,
    ) -> None:
        """Several projects in one transaction: all of them or none (a commit costs more than a
        304)."""
        unchanged = [r for r in records if r.status == PageOutcome.UNCHANGED]
        self.note_written(r.name for r in records if r.status != PageOutcome.UNCHANGED)
        with self.transaction() as db:
            # 304s: a few statements for the whole batch (each execute costs a GIL hand-off)
            if unchanged:
                stamp = now()
                if run_id is not None:
                    db.executemany(
                        "UPDATE crawl_queue SET done = 1 WHERE run_id = ? AND project = ?",
                        [(run_id, r.name) for r in unchanged],
                    )
                db.executemany(
                    "UPDATE projects SET crawled_at = ?, etag = coalesce(?, etag),"
                    " last_modified = coalesce(?, last_modified) WHERE name = ?",
                    [(stamp, r.etag, r.last_modified, r.name) for r in unchanged],
                )
                db.executemany(
                    "DELETE FROM failures WHERE project = ? AND version IS NULL",
                    [(r.name,) for r in unchanged],
                )
            for record in records:
                if record.status != PageOutcome.UNCHANGED:
                    self._write_project(db, record, index_url, extractor_version, run_id)

    def _write_project(
        self,
        db: Connection,
        record: ProjectRecord,
        index_url: str,
        extractor_version: str,
        run_id: int | None,
    ) -> None:
        """One project, inside the caller's transaction."""
        if record.status == PageOutcome.STALE:  # keep what we have; the project stays queued
            insert_failures(db, record.name, None, record.failures)
            return
        if run_id is not None:
            mark_done(db, run_id, record.name)
        db.execute(
            "INSERT INTO projects (name, display_name, index_url, serial, etag, last_modified,"
            " status, crawled_at, page_url) VALUES (?,?,?,?,?,?,?,?,?) ON CONFLICT(name) DO"
            " UPDATE SET display_name=excluded.display_name, index_url=excluded.index_url,"
            " serial=excluded.serial, etag=excluded.etag, last_modified=excluded.last_modified,"
            " status=excluded.status, crawled_at=excluded.crawled_at,"
            " page_url=coalesce(excluded.page_url, projects.page_url)",
            (
                record.name,
                record.display_name,
                index_url,
                record.serial,
                record.etag,
                record.last_modified,
                ProjectStatus(record.status.value),
                now(),
                record.page_url,
            ),
        )
        db.execute("DELETE FROM failures WHERE project = ? AND version IS NULL", (record.name,))
        insert_failures(db, record.name, None, record.failures)
        if record.status != PageOutcome.OK:
            return  # a failed page keeps the releases stored by the last good crawl
        listed = {r.version for r in record.releases}
        stored = dict(
            db.execute(
                "SELECT version, id FROM releases WHERE project = ?", (record.name,)
            ).fetchall()
        )
        for gone in set(stored) - listed:  # removed from the index
            db.execute("DELETE FROM releases WHERE id = ?", (stored[gone],))
            db.execute(
                "DELETE FROM failures WHERE project = ? AND version = ?", (record.name, gone)
            )
        # where redirected files came from, kept for the releases not read this time: one query
        # per project, not one per release
        moved: dict[int, dict[str, str]] = {}
        for release_id, filename, final_url in db.execute(
            "SELECT f.release_id, f.filename, f.final_url FROM files f"
            " JOIN releases r ON r.id = f.release_id"
            " WHERE r.project = ? AND f.final_url IS NOT NULL",
            (record.name,),
        ):
            moved.setdefault(release_id, {})[filename] = final_url
        for release in record.releases:
            release_id = stored.get(release.version)
            kept = moved.get(release_id, {}) if release_id is not None else {}
            self._write_release(db, record.name, release, release_id, extractor_version, kept)
        mark_latest(db, record.name)

    def _write_release(
        self,
        db: Connection,
        project: str,
        rel: ReleaseRecord,
        release_id: int | None,
        extractor_version: str,
        kept: dict[str, str],
    ) -> None:
        """One release's rows; `kept`: where its redirected files came from when last read."""
        yanked = bool(rel.files) and all(f.yanked for f in rel.files)
        ex = rel.extraction
        if ex is not None and ex.deps_state == DepsState.NOT_READ and release_id is not None:
            ex = None  # not read this time: what an earlier crawl read of it stands
        if ex is None:
            assert release_id is not None, "an unchanged release must already be stored"
            db.execute("UPDATE releases SET yanked = ? WHERE id = ?", (yanked, release_id))
        else:
            values = (
                yanked,
                ex.requires_python,
                ex.deps_state,
                ex.source,
                ex.metadata_file,
                rel.digest,
                extractor_version,
                ex.note,
                ex.verified,
                None if ex.entry_points is None else 1,
            )
            if release_id is None:
                release_id = db.execute(
                    "INSERT INTO releases (yanked, requires_python, deps_state, metadata_source,"
                    " metadata_file, files_digest, extractor_version, note, deps_verified,"
                    " entry_points_read, project, version) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)"
                    " RETURNING id",
                    (*values, project, rel.version),
                ).fetchone()[0]
            else:
                db.execute(
                    "UPDATE releases SET yanked=?, requires_python=?, deps_state=?,"
                    " metadata_source=?, metadata_file=?, files_digest=?, extractor_version=?,"
                    " note=?, deps_verified=?, entry_points_read=? WHERE id=?",
                    (*values, release_id),
                )
            replace_requirements(db, release_id, ex.edges, ex.source or "", extractor_version)
            db.execute("DELETE FROM entry_points WHERE release_id = ?", (release_id,))
            db.executemany(
                "INSERT INTO entry_points (release_id, grp, name, value) VALUES (?,?,?,?)",
                [(release_id, p.group, p.name, p.value) for p in ex.entry_points or []],
            )
            db.execute(
                "DELETE FROM failures WHERE project = ? AND version = ?", (project, rel.version)
            )
            insert_failures(db, project, rel.version, ex.failures)
        # not read this time: where it came from last time stands
        final_urls = {**kept, **rel.final_urls} if rel.extraction is None else rel.final_urls
        db.execute("DELETE FROM files WHERE release_id = ?", (release_id,))
        db.executemany(
            "INSERT INTO files (release_id, filename, url, sha256, size, kind, yanked, "
            "yanked_reason, requires_python, core_metadata, core_metadata_sha256, upload_time,"
            " final_url) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
            [
                (
                    release_id,
                    f.filename,
                    f.url,
                    f.sha256,
                    f.size,
                    f.kind,
                    f.yanked,
                    f.yanked_reason,
                    f.requires_python,
                    f.core_metadata,
                    f.core_metadata_sha256,
                    f.upload_time,
                    final_urls.get(f.filename),
                )
                for f in rel.files
            ],
        )
