"""The crawl: projects fetched and extracted by a bounded pool of workers, written by one thread.

Workers only read the network (and the store, for what is already known); the calling thread does
every write, one transaction per project, so an interrupted crawl loses at most the projects in
flight and a re-run resumes from the run's queue.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field, fields

from packaging.utils import canonicalize_name

from depgraph_core.schema import FailureStage, PageOutcome, RunStatus

from . import EXTRACTOR_VERSION
from .errors import CrawlerError, FetchError
from .fetch import Fetcher
from .index import IndexClient, group_releases
from .ladder import Failure, extract_release
from .store import ProjectRecord, ReleaseRecord, Store, files_digest

__all__ = ["CrawlSummary", "Crawler"]


@dataclass
class CrawlSummary:
    run_id: int = 0
    resumed: bool = False
    interrupted: bool = False
    incomplete: int = 0  # projects left for a later run (pages still stale after retries)
    projects: int = 0
    projects_by_status: Counter[str] = field(default_factory=Counter)
    releases: int = 0
    releases_unchanged: int = 0
    releases_by_source: Counter[str] = field(default_factory=Counter)
    releases_by_state: Counter[str] = field(default_factory=Counter)
    #: releases whose dependencies were read now: from hash-verified bytes or not (range reads)
    releases_by_verification: Counter[str] = field(default_factory=Counter)
    failures_by_reason: Counter[str] = field(default_factory=Counter)
    requests: int = 0
    bytes_fetched: int = 0
    seconds: float = 0.0
    #: projects whose page the index does not have (404/410) or that could not be read
    problem_projects: list[str] = field(default_factory=list)

    @property
    def releases_per_second(self) -> float:
        return self.releases / self.seconds if self.seconds else 0.0

    def add(self, record: ProjectRecord) -> None:
        self.projects += 1
        self.projects_by_status[record.status] += 1
        if record.status in (PageOutcome.MISSING, PageOutcome.FAILED):
            self.problem_projects.append(record.name)
        for f in record.failures:
            self.failures_by_reason[f"{f.stage}:{f.reason}"] += 1
        for rel in record.releases:
            self.releases += 1
            ex = rel.extraction
            if ex is None:
                self.releases_unchanged += 1
                continue
            self.releases_by_source[ex.source or "none"] += 1
            self.releases_by_state[ex.deps_state] += 1
            if ex.verified is not None:
                self.releases_by_verification["verified" if ex.verified else "unverified"] += 1
            for f in ex.failures:
                self.failures_by_reason[f"{f.stage}:{f.reason}"] += 1

    def as_dict(self) -> dict[str, object]:
        # not dataclasses.asdict: it rebuilds Counters from (key, value) pairs and miscounts them
        out = {f.name: getattr(self, f.name) for f in fields(self)}
        out = {k: (dict(v) if isinstance(v, Counter) else v) for k, v in out.items()}
        out["releases_per_second"] = round(self.releases_per_second, 1)
        out["seconds"] = round(self.seconds, 3)
        return out


class Crawler:
    def __init__(
        self,
        store: Store,
        client: IndexClient,
        fetcher: Fetcher,
        workers: int = 8,
        on_project: Callable[[ProjectRecord], None] | None = None,
        stale_retries: int = 2,
        stale_delay: float = 2.0,
        verify_hashes: bool = False,
        entry_points: bool = False,
    ) -> None:
        self.store, self.client, self.fetcher = store, client, fetcher
        self.workers = max(1, workers)
        self.on_project = on_project or (lambda record: None)
        self.stale_retries, self.stale_delay = stale_retries, stale_delay
        #: read dependencies from hash-verified bytes only (no range reads); earlier unverified
        #: extractions are redone
        self.verify_hashes = verify_hashes
        #: read wheels' entry_points.txt even where a PEP 658 file answered the metadata
        self.entry_points = entry_points
        self.conditional: bool = False
        self.validators: dict[str, tuple[str | None, str | None]] = {}
        self.min_serials: dict[str, int] = {}

    # --- worker side: network only --------------------------------------------------------------

    def crawl_project(
        self, name: str, conditional: bool = False, min_serial: int | None = None
    ) -> ProjectRecord:
        """Fetch one project's page and extract every release that changed. Never raises
        CrawlerError.

        conditional: send the stored ETag / Last-Modified; a 304 gives status "unchanged".
        min_serial: the changelog says the project changed at this serial; a page whose
        X-PyPI-Last-Serial is older than that is a stale CDN copy: status "stale" (nothing stored,
        retried later).
        """
        project = canonicalize_name(name)
        etag, modified = self.validators.get(project, (None, None)) if conditional else (None, None)
        try:
            answer = self.client.project_page(project, etag, modified)
        except FetchError as exc:
            status = PageOutcome.MISSING if exc.status in (404, 410) else PageOutcome.FAILED
            return ProjectRecord(
                project, name, status, [], [Failure(FailureStage.PAGE, exc.code, str(exc))]
            )
        except CrawlerError as exc:
            return ProjectRecord(
                project,
                name,
                PageOutcome.FAILED,
                [],
                [Failure(FailureStage.PAGE, exc.reason, str(exc))],
            )
        if answer.page is None:
            return ProjectRecord(
                project,
                name,
                PageOutcome.UNCHANGED,
                [],
                [],
                answer.serial,
                answer.etag,
                answer.last_modified,
            )
        # an index without serials cannot be checked; one whose page is older than its changelog can
        if min_serial is not None and answer.serial is not None and answer.serial < min_serial:
            detail = f"page serial {answer.serial} is older than the changelog's {min_serial}"
            return ProjectRecord(
                project,
                name,
                PageOutcome.STALE,
                [],
                [Failure(FailureStage.PAGE, "stale-page", detail)],
            )
        known = self.store.release_digests(project, EXTRACTOR_VERSION, self.verify_hashes)
        releases = []
        for version, files in group_releases(project, answer.page).items():
            digest = files_digest(files)
            unchanged = known.get(version) == digest
            extraction = (
                None
                if unchanged
                else extract_release(self.fetcher, files, self.verify_hashes, self.entry_points)
            )
            releases.append(ReleaseRecord(version, files, extraction, digest))
        return ProjectRecord(
            project,
            name,
            PageOutcome.OK,
            releases,
            [],
            answer.serial,
            answer.etag,
            answer.last_modified,
        )

    # --- calling thread: scheduling and writes ----------------------------------------------------

    def crawl(
        self,
        projects: Iterable[str] | None = None,
        resume: bool = True,
        conditional: bool = False,
        min_serials: dict[str, int] | None = None,
        mode: str = "crawl",
    ) -> CrawlSummary:
        """Crawl the named projects, or every project of the index when `projects` is None.

        Stale pages (see crawl_project) are tried again `stale_retries` times, `stale_delay` x
        attempt
        seconds apart; what is still stale leaves the run "incomplete", for the next update.
        """
        started = time.monotonic()
        requests0, bytes0 = self.fetcher.counter.requests, self.fetcher.counter.bytes
        wanted = (
            None
            if projects is None
            else list(dict.fromkeys(canonicalize_name(p) for p in projects))
        )
        options: dict[str, object] = {
            "projects": wanted if wanted is not None else "all",
            "extractor": EXTRACTOR_VERSION,
            "mode": mode,
            "verify_hashes": self.verify_hashes,
        }
        run_id, resumed = self.store.open_run(self.client.index_url, options, wanted, resume)
        # --all: the project list is part of the run
        if wanted is None and not self.store.has_queue(run_id):
            self.store.enqueue(run_id, self.client.list_projects())
        summary = CrawlSummary(run_id=run_id, resumed=resumed)
        self.conditional, self.min_serials = conditional, min_serials or {}
        # every project's validators in one query rather than one per project
        self.validators = self.store.all_validators() if conditional else {}
        try:
            for attempt in range(self.stale_retries + 1):
                todo, _ = self.store.queued(run_id)
                if not todo:
                    break
                if attempt:
                    time.sleep(self.stale_delay * attempt)
                self._run(todo, run_id, summary)
        except KeyboardInterrupt:
            summary.interrupted = True
            self.store.finish_run(run_id, RunStatus.INTERRUPTED)
        else:
            left, _ = self.store.queued(run_id)
            self.store.finish_run(run_id, RunStatus.INCOMPLETE if left else RunStatus.COMPLETE)
            summary.incomplete = len(left)
        summary.requests = self.fetcher.counter.requests - requests0
        summary.bytes_fetched = self.fetcher.counter.bytes - bytes0
        summary.seconds = time.monotonic() - started
        return summary

    def _task(self, name: str) -> ProjectRecord:
        return self.crawl_project(name, self.conditional, self.min_serials.get(name))

    def _run(self, todo: list[str], run_id: int, summary: CrawlSummary) -> None:
        pending = iter(todo)
        in_flight: set[Future[ProjectRecord]] = set()
        with ThreadPoolExecutor(self.workers, thread_name_prefix="crawl") as pool:
            try:
                while True:
                    while len(in_flight) < 2 * self.workers:  # bounded: never queue the world
                        name = next(pending, None)
                        if name is None:
                            break
                        in_flight.add(pool.submit(self._task, name))
                    if not in_flight:
                        return
                    done, in_flight = wait(in_flight, return_when=FIRST_COMPLETED)
                    records = [future.result() for future in done]
                    # everything that finished together is committed together
                    self.store.write_projects(
                        records, self.client.index_url, EXTRACTOR_VERSION, run_id
                    )
                    for record in records:
                        summary.add(record)
                        self.on_project(record)
            except BaseException:
                for future in in_flight:
                    future.cancel()
                raise
