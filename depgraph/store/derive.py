"""Derivations: stored requirement rows re-derived from their strings when the rule that reads
them changes (`EXTRAS_DERIVATION`), without a re-crawl."""

from __future__ import annotations

import logging

from depgraph.core.requirements import Edge, parse_requirement
from depgraph.core.schema import EXTRAS_DERIVATION, RequirementKind

from .connection import StoreBase, retried_on_connection_loss
from .release_rows import insert_requirements

log = logging.getLogger("pypi-depgraph")

__all__ = ["Derivations"]


class Derivations(StoreBase):
    @retried_on_connection_loss
    def _rederive_once(self) -> None:
        if self.get_meta("extras_derivation") != EXTRAS_DERIVATION:
            stored = self.db.execute("SELECT 1 FROM requirements LIMIT 1").fetchone() is not None
            if stored:  # (a new store has nothing to re-derive: say nothing)
                log.info(
                    "%s: re-deriving which extras pull each requirement in (once; a large "
                    "store takes a minute)",
                    self.name,
                )
            changed = self.rederive_requirements()
            if stored:
                log.info("%s: %d releases re-derived", self.name, changed)

    def rederive_requirements(self) -> int:
        """Re-derive `extra` / `kind` of stored requirement rows from their requirement strings
        (as `parse_requirement` derives them now), without a re-crawl; returns the releases
        changed. Only releases with a marker somewhere can change."""

        changed = 0
        self.note_written(None)  # any release with a marker may change
        with self.transaction() as db:
            rows = db.execute(
                "SELECT release_id, raw, extra, kind, source, extractor_version FROM requirements"
                " WHERE release_id IN (SELECT DISTINCT release_id FROM requirements"
                " WHERE marker IS NOT NULL) ORDER BY release_id, id"
            ).fetchall()
            by_release: dict[int, list[tuple[str, str | None, str, str, str]]] = {}
            for release_id, *row in rows:
                by_release.setdefault(release_id, []).append(tuple(row))
            for release_id, old in by_release.items():
                new: list[tuple[Edge, str, str]] = []
                # one requirement string may have been stored as several rows (one per extra)
                for raw, kind, source, extractor in dict.fromkeys(
                    (
                        raw,
                        RequirementKind.RUN
                        if kind == RequirementKind.EXTRA
                        else RequirementKind(kind),
                        source,
                        extractor,
                    )
                    for raw, _extra, kind, source, extractor in old
                ):
                    new += [(e, source, extractor) for e in parse_requirement(raw, kind)]
                before = sorted((raw, extra or "", kind) for raw, extra, kind, _, _ in old)
                after = sorted((e.raw, e.extra or "", str(e.kind)) for e, _, _ in new)
                if before == after:
                    continue
                db.execute("DELETE FROM requirements WHERE release_id = ?", (release_id,))
                for source, extractor in dict.fromkeys((src, x) for _, src, x in new):
                    insert_requirements(
                        db,
                        release_id,
                        [e for e, src, x in new if (src, x) == (source, extractor)],
                        source,
                        extractor,
                    )
                changed += 1
            db.execute(
                "INSERT INTO meta (key, value) VALUES ('extras_derivation', ?)"
                " ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                (EXTRAS_DERIVATION,),
            )
        return changed
