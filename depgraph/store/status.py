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

    @retried_on_connection_loss
    def failures(
        self,
        *,
        stage: str | None = None,
        reason: str | None = None,
        project: str | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> tuple[int, list[dict[str, object]]]:
        """(how many failures match, `limit` of them from `offset`, by project and version)."""
        where, params = ["1 = 1"], []
        for column, value in (("stage", stage), ("reason", reason), ("project", project)):
            if value is not None:
                where.append(f"{column} = ?")
                params.append(value)
        condition = " AND ".join(where)
        total = self.db.execute(f"SELECT count(*) FROM failures WHERE {condition}", params)
        rows = self.db.execute(
            "SELECT project, version, filename, stage, reason, detail, recorded_at FROM failures"
            f" WHERE {condition} ORDER BY project, version, id LIMIT ? OFFSET ?",
            [*params, limit, offset],
        ).fetchall()
        keys = ("project", "version", "filename", "stage", "reason", "detail", "recorded_at")
        return int(total.fetchone()[0]), [dict(zip(keys, row, strict=True)) for row in rows]
