"""Questions a user asks of one project, answered from the store by indexed lookups: who lists it,
what it lists, its releases. The definitions are the report's (docs/data-dictionary.md): each
project's selected (latest) release, its known run-time requirements, markers kept."""

from __future__ import annotations

from collections.abc import Sequence

from depgraph.core.schema import DepsState, RequirementKind

from .connection import StoreBase, retried_on_connection_loss

__all__ = ["Queries"]


def _kinds(extras: bool) -> tuple[str, ...]:
    return (RequirementKind.RUN, RequirementKind.EXTRA) if extras else (RequirementKind.RUN,)


class Queries(StoreBase):
    @retried_on_connection_loss
    def listed_by(self, project: str, extras: bool = False) -> list[str]:
        """The projects whose selected release lists `project` (outside any extra; through
        extras too with `extras`), sorted: the report's direct dependents."""
        return sorted(self._listing(project, extras))

    def listed_by_both(self, project: str) -> tuple[int, int]:
        """How many projects list `project` (run time only, and through extras too): one read."""
        listing = self._listing(project, extras=True)
        return sum(1 for only_extra in listing.values() if not only_extra), len(listing)

    def _listing(self, project: str, extras: bool) -> dict[str, bool]:
        """The projects listing `project`, each with whether it does so only inside extras.
        (Duplicates are dropped here: the database's DISTINCT sorts them, which costs more.)"""
        kinds = _kinds(extras)
        rows = self.db.execute(
            "SELECT r.project, q.kind FROM requirements q JOIN releases r ON r.id = q.release_id"
            " WHERE q.name = ? AND r.is_latest = 1 AND r.deps_state = ? AND r.project != ?"
            f" AND q.kind IN ({','.join('?' * len(kinds))})",
            (project, DepsState.KNOWN, project, *kinds),
        )
        listing: dict[str, bool] = {}
        for name, kind in rows:
            listing[name] = listing.get(name, True) and kind != RequirementKind.RUN
        return listing

    @retried_on_connection_loss
    def listed_by_counts(self, projects: Sequence[str], extras: bool = False) -> dict[str, int]:
        """How many projects list each of `projects` (as `listed_by` counts them)."""
        kinds = _kinds(extras)
        counts: dict[str, int] = {}
        for start in range(0, len(projects), 500):
            chunk = list(projects[start : start + 500])
            rows = self.db.execute(
                "SELECT q.name, count(DISTINCT r.project) FROM requirements q"
                " JOIN releases r ON r.id = q.release_id"
                f" WHERE q.name IN ({','.join('?' * len(chunk))}) AND r.is_latest = 1"
                " AND r.deps_state = ? AND r.project != q.name"
                f" AND q.kind IN ({','.join('?' * len(kinds))}) GROUP BY q.name",
                (*chunk, DepsState.KNOWN, *kinds),
            )
            counts.update((name, int(n)) for name, n in rows)
        return {name: counts.get(name, 0) for name in projects}

    @retried_on_connection_loss
    def lists(self, project: str, extras: bool = False) -> list[dict[str, object]]:
        """What the selected release of `project` lists: name, specifier, marker, extra, raw."""
        kinds = _kinds(extras)
        keys = ("name", "specifier", "marker", "extra", "raw")
        rows = self.db.execute(
            "SELECT q.name, q.specifier, q.marker, q.extra, q.raw FROM requirements q"
            " JOIN releases r ON r.id = q.release_id"
            " WHERE r.project = ? AND r.is_latest = 1 AND r.deps_state = ?"
            f" AND q.kind IN ({','.join('?' * len(kinds))}) ORDER BY q.name, q.extra, q.raw",
            (project, DepsState.KNOWN, *kinds),
        )
        return [dict(zip(keys, row, strict=True)) for row in rows]

    @retried_on_connection_loss
    def project_record(self, project: str) -> dict[str, object] | None:
        """The project's page facts and releases (in the order stored), None when not stored."""
        row = self.db.execute(
            "SELECT name, status, index_url, page_url, serial, crawled_at FROM projects"
            " WHERE name = ?",
            (project,),
        ).fetchone()
        if row is None:
            return None
        keys = ("name", "status", "index_url", "page_url", "serial", "crawled_at")
        record: dict[str, object] = dict(zip(keys, row, strict=True))
        release_keys = (
            "version",
            "yanked",
            "deps_state",
            "metadata_source",
            "deps_verified",
            "is_latest",
            "requires_python",
            "note",
        )
        record["releases"] = [
            dict(zip(release_keys, r, strict=True))
            for r in self.db.execute(
                "SELECT version, yanked, deps_state, metadata_source, deps_verified, is_latest,"
                " requires_python, note FROM releases WHERE project = ? ORDER BY id DESC",
                (project,),
            )
        ]
        record["failures"] = self.db.execute(
            "SELECT count(*) FROM failures WHERE project = ?", (project,)
        ).fetchone()[0]
        return record
