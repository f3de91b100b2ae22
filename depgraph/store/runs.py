"""Crawl runs and their queues (what an interrupted run resumes), and what incremental updates
read and remove: the projects stored, the last index crawled."""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Iterable, Sequence

from depgraph.core.db import Connection, Dialect
from depgraph.core.schema import ProjectStatus, RequirementKind, RunStatus

from .connection import StoreBase, now, retried_on_connection_loss

__all__ = ["Runs", "enqueue_projects", "mark_done", "run_owner"]


def enqueue_projects(db: Connection, run_id: int, projects: Sequence[str]) -> None:
    db.executemany(
        "INSERT INTO crawl_queue (run_id, position, project) VALUES (?,?,?) ON CONFLICT DO NOTHING",
        [(run_id, i, p) for i, p in enumerate(projects)],
    )


def run_owner() -> str:
    """host:pid of this process, recorded on the runs it starts or resumes."""
    return f"{socket.gethostname()}:{os.getpid()}"


def mark_done(db: Connection, run_id: int, project: str) -> None:
    """The project's queue row is done (in the transaction that wrote the project)."""
    db.execute(
        "UPDATE crawl_queue SET done = 1 WHERE run_id = ? AND project = ?", (run_id, project)
    )


class Runs(StoreBase):
    @retried_on_connection_loss
    def open_run(
        self,
        index_url: str,
        options: dict[str, object],
        projects: Sequence[str] | None,
        resume: bool = True,
    ) -> tuple[int, bool]:
        """(run id, resumed?). An unfinished run with the same index and options is resumed."""
        opts = json.dumps(options, sort_keys=True)
        if resume:
            row = self.db.execute(
                "SELECT id FROM crawl_runs WHERE status IN (?, ?) AND index_url = ? AND options = ?"
                " ORDER BY id DESC LIMIT 1",
                (RunStatus.RUNNING, RunStatus.INTERRUPTED, index_url, opts),
            ).fetchone()
            if row:
                with self.transaction() as db:  # this process runs it now
                    db.execute(
                        "UPDATE crawl_runs SET status = ?, owner = ? WHERE id = ?",
                        (RunStatus.RUNNING, run_owner(), row[0]),
                    )
                return int(row[0]), True
        with self.transaction() as db:
            run_id: int = db.execute(
                "INSERT INTO crawl_runs (index_url, started_at, status, options, owner)"
                " VALUES (?,?,?,?,?) RETURNING id",
                (index_url, now(), RunStatus.RUNNING, opts, run_owner()),
            ).fetchone()[0]
            if projects is not None:
                enqueue_projects(db, run_id, projects)
        return run_id, False

    @retried_on_connection_loss
    def enqueue(self, run_id: int, projects: Sequence[str]) -> None:
        with self.transaction() as db:
            enqueue_projects(db, run_id, projects)

    @retried_on_connection_loss
    def queued(self, run_id: int) -> tuple[list[str], int]:
        """(projects still to do in order, number already done)."""
        todo = [
            r[0]
            for r in self.db.execute(
                "SELECT project FROM crawl_queue WHERE run_id = ? AND done = 0 ORDER BY position",
                (run_id,),
            )
        ]
        done = self.db.execute(
            "SELECT count(*) FROM crawl_queue WHERE run_id = ? AND done = 1", (run_id,)
        ).fetchone()[0]
        return todo, int(done)

    @retried_on_connection_loss
    def has_queue(self, run_id: int) -> bool:
        return (
            self.db.execute(
                "SELECT 1 FROM crawl_queue WHERE run_id = ? LIMIT 1", (run_id,)
            ).fetchone()
            is not None
        )

    @retried_on_connection_loss
    def finish_run(self, run_id: int, status: RunStatus) -> None:
        with self.transaction() as db:
            db.execute(
                "UPDATE crawl_runs SET status = ?, finished_at = ? WHERE id = ?",
                (status, now(), run_id),
            )
        # fold the WAL back into the database: a large WAL makes every later commit pay for a
        # checkpoint attempt while the next run's readers hold it open
        if self.dialect is Dialect.SQLITE:
            self.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    @retried_on_connection_loss
    def last_runs(self, limit: int = 5) -> list[dict[str, object]]:
        """The newest crawl runs: id, status, started_at, finished_at, owner."""
        keys = ("id", "status", "started_at", "finished_at", "owner")
        rows = self.db.execute(
            "SELECT id, status, started_at, finished_at, owner FROM crawl_runs"
            " ORDER BY id DESC LIMIT ?",
            (limit,),
        )
        return [dict(zip(keys, r, strict=True)) for r in rows]

    @retried_on_connection_loss
    def required_projects(self, projects: Sequence[str], extras: bool = False) -> set[str]:
        """The projects the latest releases of `projects` require at run time (through extras
        too with `extras`), that the store has no page of yet."""
        kinds = (RequirementKind.RUN, RequirementKind.EXTRA) if extras else (RequirementKind.RUN,)
        found: set[str] = set()
        for start in range(0, len(projects), 500):
            chunk = list(projects[start : start + 500])
            rows = self.db.execute(
                "SELECT DISTINCT q.name FROM requirements q JOIN releases r ON r.id = q.release_id"
                f" WHERE r.is_latest = 1 AND r.project IN ({','.join('?' * len(chunk))})"
                f" AND q.kind IN ({','.join('?' * len(kinds))})"
                " AND q.name NOT IN (SELECT name FROM projects)",
                (*chunk, *kinds),
            )
            found.update(r[0] for r in rows)
        return found

    @retried_on_connection_loss
    def run_started_at(self, run_id: int) -> str:
        row = self.db.execute("SELECT started_at FROM crawl_runs WHERE id = ?", (run_id,))
        return str(row.fetchone()[0])

    @retried_on_connection_loss
    def last_index_url(self) -> str | None:
        row = self.db.execute(
            "SELECT index_url FROM crawl_runs ORDER BY id DESC LIMIT 1"
        ).fetchone()
        return row[0] if row else None

    @retried_on_connection_loss
    def project_names(self) -> set[str]:
        return {
            r[0]
            for r in self.db.execute(
                "SELECT name FROM projects WHERE index_url NOT LIKE 'import:%'"
            )
        }

    @retried_on_connection_loss
    def project_serials(self) -> dict[str, int | None]:
        """Each crawled project's serial as last read (None: unknown, or its page failed: such a
        project is always read again)."""
        return {
            name: (serial if status == ProjectStatus.OK else None)
            for name, serial, status in self.db.execute(
                "SELECT name, serial, status FROM projects WHERE index_url NOT LIKE 'import:%'"
            )
        }

    @retried_on_connection_loss
    def remove_projects(self, names: Iterable[str]) -> int:
        """Projects the index no longer lists: gone from the store (and so from the graph)."""
        names = list(names)
        self.note_written(names)
        with self.transaction() as db:
            for name in names:
                db.execute(
                    "DELETE FROM projects WHERE name = ?", (name,)
                )  # releases, files, requirements cascade
                db.execute("DELETE FROM failures WHERE project = ?", (name,))
        return len(names)
