"""Summaries of a store for `depgraph status` and the crawl's closing lines."""

from __future__ import annotations

from depgraph.core.schema import DepsState

from .connection import StoreBase, retried_on_connection_loss

__all__ = ["Status"]


class Status(StoreBase):
    @retried_on_connection_loss
    def counts(self) -> dict[str, object]:
        q = self.db.execute
        return {
            "projects": q("SELECT count(*) FROM projects").fetchone()[0],
            "projects_by_status": dict(
                q("SELECT status, count(*) FROM projects GROUP BY status").fetchall()
            ),
            "releases": q("SELECT count(*) FROM releases").fetchone()[0],
            "releases_by_state": dict(
                q("SELECT deps_state, count(*) FROM releases GROUP BY deps_state").fetchall()
            ),
            "releases_by_source": dict(
                q(
                    "SELECT coalesce(metadata_source, 'none'), count(*) FROM releases GROUP BY 1"
                ).fetchall()
            ),
            "known_releases_by_verification": dict(
                q(
                    "SELECT CASE deps_verified WHEN 1 THEN 'verified' WHEN 0 THEN 'unverified'"
                    " ELSE 'not-recorded' END, count(*) FROM releases WHERE deps_state = ?"
                    " GROUP BY 1",
                    (DepsState.KNOWN,),
                ).fetchall()
            ),
            "files": q("SELECT count(*) FROM files").fetchone()[0],
            "requirements": q("SELECT count(*) FROM requirements").fetchone()[0],
            "failures_by_reason": dict(
                q(
                    "SELECT stage || ':' || reason, count(*) FROM failures GROUP BY 1"
                    " ORDER BY 2 DESC"
                ).fetchall()
            ),
        }
