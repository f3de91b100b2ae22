"""The crawl: projects fetched and extracted by a bounded pool of workers, written by one thread.

Workers only read the network (and the store, for what is already known); the calling thread does
every write, one transaction per project, so an interrupted crawl loses at most the projects in
flight and a re-run resumes from the run's queue.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, Executor, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field, fields
from itertools import islice
from typing import Any

from packaging.utils import canonicalize_name

from depgraph.core.schema import DepsState, FailureStage, PageOutcome, RunStatus
from depgraph.core.versions import latest_key
from depgraph.store import ProjectRecord, ReleaseRecord, Store, files_digest
from depgraph.store.rows import DistFile, Extraction, Failure

from . import EXTRACTOR_VERSION
from .errors import ClusterLost, CrawlerError, FetchError
from .fetch import Fetcher
from .index import FileProblem, IndexClient, group_releases, lists_files
from .ladder import extract_release

log = logging.getLogger("pypi-depgraph")

__all__ = ["ClusterWork", "CrawlSummary", "Crawler", "ProjectTask", "ReleaseChoice", "crawl_one"]


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
    #: why the index URL is not a simple index (nothing was crawled); None when it is one
    not_an_index: str | None = None
    #: project -> "stage:reason: detail" of the first failure of each problem project
    problem_reasons: dict[str, str] = field(default_factory=dict)

    @property
    def releases_per_second(self) -> float:
        return self.releases / self.seconds if self.seconds else 0.0

    def add(self, record: ProjectRecord) -> None:
        self.projects += 1
        self.projects_by_status[record.status] += 1
        if record.status in (PageOutcome.MISSING, PageOutcome.FAILED):
            self.problem_projects.append(record.name)
            first = record.failures[0] if record.failures else None
            said = f"{first.stage}:{first.reason}: {first.detail}" if first else record.status
            self.problem_reasons[record.name] = " ".join(said.split())[:300]  # one line
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

    def absorb(self, other: CrawlSummary) -> None:
        """Count another run's work in this one (the rounds of a crawl that follows
        dependencies are one crawl to its user)."""
        for f in fields(self):
            mine, theirs = getattr(self, f.name), getattr(other, f.name)
            if isinstance(mine, Counter):
                mine.update(theirs)
            elif isinstance(mine, list):
                mine.extend(theirs)
            elif isinstance(mine, dict):
                mine.update(theirs)
            elif isinstance(mine, bool):
                setattr(self, f.name, mine or theirs)
            elif isinstance(mine, int | float) and f.name not in ("run_id",):
                setattr(self, f.name, mine + theirs)
        self.run_id = other.run_id
        self.not_an_index = self.not_an_index or other.not_an_index

    def as_dict(self) -> dict[str, object]:
        # not dataclasses.asdict: it rebuilds Counters from (key, value) pairs and miscounts them
        out = {f.name: getattr(self, f.name) for f in fields(self)}
        out = {k: (dict(v) if isinstance(v, Counter) else v) for k, v in out.items()}
        out["releases_per_second"] = round(self.releases_per_second, 1)
        out["seconds"] = round(self.seconds, 3)
        return out


@dataclass(frozen=True)
class ProjectTask:
    """One project to crawl, with what the store already holds of it: plain data, so a task can
    run in another process or on another machine (`crawler.tasks`)."""

    name: str
    known: dict[str, str]  # version -> files_digest of releases whose extraction can be kept
    etag: str | None = None  # validators sent back for a conditional request
    last_modified: str | None = None
    #: the serial the changelog or the root promised: an older page is a stale CDN copy
    min_serial: int | None = None
    #: which releases to read (None: all)
    choice: ReleaseChoice | None = None


@dataclass(frozen=True)
class ReleaseChoice:
    """Which of a project's releases a crawl reads: the one pip would pick (`latest_only`), those
    uploaded on or after `since` (PEP 700 upload times; a release whose files carry none is read),
    or both. The rest are stored as listed, their dependencies `not-read`."""

    latest_only: bool = False
    since: str | None = None

    def describe(self) -> str:
        parts = (["the latest release"] if self.latest_only else []) + (
            [f"releases uploaded since {self.since}"] if self.since else []
        )
        return " and ".join(parts) or "every release"

    def wanted(self, releases: dict[str, list[DistFile]]) -> set[str]:
        chosen: set[str] = set()
        if self.latest_only and releases:
            chosen.add(
                max(
                    releases,
                    key=lambda v: latest_key(v, all(f.yanked for f in releases[v])),
                )
            )
        if self.since is not None:
            for version, files in releases.items():
                times = [f.upload_time for f in files if f.upload_time]
                if not times or max(times)[:10] >= self.since:
                    chosen.add(version)
        return chosen


def crawl_one(
    client: IndexClient,
    fetcher: Fetcher,
    task: ProjectTask,
    verify_hashes: bool = False,
    entry_points: bool = False,
) -> ProjectRecord:
    """Fetch one project's page and extract every release that changed. Never raises for what
    the index serves: every failure is the project's (or a release's), recorded with its reason.

    With validators, a 304 gives status "unchanged". With min_serial, a page whose
    X-PyPI-Last-Serial is older is a stale CDN copy: status "stale" (nothing stored, retried
    later)."""
    try:
        return _crawl_one(client, fetcher, task, verify_hashes, entry_points)
    except Exception as exc:  # noqa: BLE001 (recorded: one project never stops a crawl)
        detail = f"{type(exc).__name__}: {exc}"[:1000]
        log.warning("%s: recorded as internal-error: %s", task.name, detail)
        failure = Failure(FailureStage.PAGE, "internal-error", detail)
        return ProjectRecord(
            canonicalize_name(task.name), task.name, PageOutcome.FAILED, [], [failure]
        )


def _crawl_one(
    client: IndexClient,
    fetcher: Fetcher,
    task: ProjectTask,
    verify_hashes: bool = False,
    entry_points: bool = False,
) -> ProjectRecord:
    name = task.name
    project = canonicalize_name(name)
    try:
        answer = client.project_page(project, task.etag, task.last_modified)
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
    page_failures = [Failure(FailureStage.PAGE, r, d) for r, d in answer.problems]
    if answer.page is None:
        return ProjectRecord(
            project,
            name,
            PageOutcome.UNCHANGED,
            [],
            page_failures,
            answer.serial,
            answer.etag,
            answer.last_modified,
            answer.url,
        )
    # an index without serials cannot be checked; one whose page is older than its changelog can
    min_serial = task.min_serial
    if min_serial is not None and answer.serial is not None and answer.serial < min_serial:
        detail = f"page serial {answer.serial} is older than the {min_serial} the index promised"
        return ProjectRecord(
            project,
            name,
            PageOutcome.STALE,
            [],
            [Failure(FailureStage.PAGE, "stale-page", detail)],
        )
    releases = []
    problems: list[FileProblem] = []
    grouped = group_releases(project, answer.page, problems)
    wanted = task.choice.wanted(grouped) if task.choice is not None else None
    for version, files in grouped.items():
        digest = files_digest(files)
        unchanged = task.known.get(version) == digest
        extraction: Extraction | None
        if unchanged:
            extraction = None
        elif task.choice is not None and wanted is not None and version not in wanted:
            extraction = Extraction(DepsState.NOT_READ, note=f"read: {task.choice.describe()}")
        else:
            extraction = extract_release(fetcher, files, verify_hashes, entry_points)
        moved: dict[str, str] = {}
        for f in files:  # both taken: what is left in the fetcher is never read again
            whole = fetcher.final_urls.pop(f.url, None)
            metadata = fetcher.final_urls.pop(f.metadata_url, None)
            final = whole or metadata
            if final is not None:
                moved[f.filename] = final
        releases.append(ReleaseRecord(version, files, extraction, digest, moved))
    page_failures += [Failure(FailureStage.PAGE, p.reason, p.detail, p.filename) for p in problems]
    return ProjectRecord(
        project,
        name,
        PageOutcome.OK,
        releases,
        page_failures,
        # a page without a serial of its own is as new as the serial it was fetched for
        answer.serial if answer.serial is not None else min_serial,
        answer.etag,
        answer.last_modified,
        answer.url,
    )


class Crawler:
    def __init__(
        self,
        store: Store,
        client: IndexClient,
        fetcher: Fetcher,
        workers: int = 8,
        on_project: Callable[[ProjectRecord], None] | None = None,
        on_total: Callable[[int, int], None] | None = None,
        stale_retries: int = 2,
        stale_delay: float = 2.0,
        verify_hashes: bool = False,
        entry_points: bool = False,
        cluster: ClusterWork | None = None,
        choice: ReleaseChoice | None = None,
    ) -> None:
        self.store, self.client, self.fetcher = store, client, fetcher
        #: which releases to read (None: all)
        self.choice = choice
        #: where the work runs: this process's threads (None), or a cluster's workers
        self.cluster = cluster
        self.workers = max(1, workers)
        self.on_project = on_project or (lambda record: None)
        #: told (projects in the run, already done) once the run's list is known: a progress
        #: bar's total, for a crawl of every project too
        self.on_total = on_total or (lambda total, done: None)
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

    def task_for(self, name: str) -> ProjectTask:
        """What a worker needs to crawl one project: what the store knows of it already."""
        project = canonicalize_name(name)
        no_validators: tuple[str | None, str | None] = (None, None)
        etag, modified = (
            self.validators.get(project, no_validators) if self.conditional else no_validators
        )
        known = self.store.release_digests(project, EXTRACTOR_VERSION, self.verify_hashes)
        return ProjectTask(name, known, etag, modified, self.min_serials.get(project), self.choice)

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

        Stale pages (see crawl_one) are tried again `stale_retries` times, `stale_delay` x
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
            "releases": (self.choice or ReleaseChoice()).describe(),
        }
        run_id, resumed = self.store.open_run(self.client.index_url, options, wanted, resume)
        summary = CrawlSummary(run_id=run_id, resumed=resumed)
        # --all: the project list is part of the run
        if wanted is None and not self.store.has_queue(run_id):
            names = self.client.list_projects()
            if not self.client.root_markers and not lists_files(self.client, names):
                # a directory listing or a web site: its links are not projects to store
                summary.not_an_index = (
                    f"{self.client.index_url} is not a simple index: its root page has no "
                    f"simple-API markers and none of its first links ({len(names)} in all) is "
                    "a project page listing files"
                )
                self.store.finish_run(run_id, RunStatus.COMPLETE)
                summary.seconds = time.monotonic() - started
                return summary
            self.store.enqueue(run_id, names)
        todo_now, done_before = self.store.queued(run_id)
        self.on_total(len(todo_now) + done_before, done_before)
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
                if self.cluster is None:
                    self._run(todo, run_id, summary)
                else:
                    self._run_on_cluster(todo, run_id, summary, self.cluster)
        except KeyboardInterrupt:
            summary.interrupted = True
            self.store.finish_run(run_id, RunStatus.INTERRUPTED)
        else:
            left, _ = self.store.queued(run_id)
            self.store.finish_run(run_id, RunStatus.INCOMPLETE if left else RunStatus.COMPLETE)
            summary.incomplete = len(left)
            if wanted is None and not left and mode == "crawl":
                # every project of the index read since the run began: consistent as of then
                self.store.set_meta({"consistent_at": self.store.run_started_at(run_id)})
        summary.requests += self.fetcher.counter.requests - requests0
        summary.bytes_fetched += self.fetcher.counter.bytes - bytes0
        summary.seconds = time.monotonic() - started
        return summary

    def _task(self, name: str) -> ProjectRecord:
        task = self.task_for(name)
        return crawl_one(self.client, self.fetcher, task, self.verify_hashes, self.entry_points)

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
                    self._commit([future.result() for future in done], run_id, summary)
            except BaseException:
                for future in in_flight:
                    future.cancel()
                raise

    def _commit(self, records: list[ProjectRecord], run_id: int, summary: CrawlSummary) -> None:
        """Everything that finished together is committed together, then counted. A batch the
        store refuses (a value it cannot hold) is written one project at a time, and a project
        it still refuses is recorded as failed with the reason: the others are kept."""
        index_url = self.client.index_url
        try:
            self.store.write_projects(records, index_url, EXTRACTOR_VERSION, run_id)
        except Exception:  # noqa: BLE001 (each project is written alone below; failures recorded)
            records = [self._write_alone(record, run_id) for record in records]
        for record in records:
            summary.add(record)
            self.on_project(record)

    def _write_alone(self, record: ProjectRecord, run_id: int) -> ProjectRecord:
        index_url = self.client.index_url
        try:
            self.store.write_project(record, index_url, EXTRACTOR_VERSION, run_id)
            return record
        except Exception as exc:  # noqa: BLE001 (recorded against the project, below)
            detail = f"the store refused the project's rows: {type(exc).__name__}: {exc}"[:1000]
            log.warning("%s: %s", record.name, detail)
            failed = ProjectRecord(
                record.name,
                record.display_name,
                PageOutcome.FAILED,
                [],
                [Failure(FailureStage.PAGE, "unstorable", detail)],
            )
            self.store.write_project(failed, index_url, EXTRACTOR_VERSION, run_id)
            return failed

    def _run_on_cluster(
        self, todo: list[str], run_id: int, summary: CrawlSummary, cluster: ClusterWork
    ) -> None:
        """Batches of projects as tasks on the cluster; results written here as they come back.
        A batch whose task fails as a whole (the scheduler gave up on it after workers died under
        it) has each of its projects recorded as a failed page, with the reason."""
        pending = iter(todo)
        in_flight: dict[Future[Any], list[ProjectTask]] = {}
        try:
            while True:
                while len(in_flight) < cluster.in_flight:
                    names = list(islice(pending, cluster.batch_size))
                    if not names:
                        break
                    tasks = [self.task_for(name) for name in names]
                    in_flight[cluster.executor.submit(cluster.crawl_batch, tasks)] = tasks
                if not in_flight:
                    return
                done, _ = wait(in_flight, return_when=FIRST_COMPLETED)
                records: list[ProjectRecord] = []
                for future in done:
                    tasks = in_flight.pop(future)
                    try:
                        result = future.result()
                    # an error of the remote task: recorded against its projects, not raised;
                    # the cluster itself gone: the run stops, to be resumed
                    except Exception as exc:
                        if cluster.lost(exc):
                            raise ClusterLost(f"{type(exc).__name__}: {exc}") from exc
                        records += [_task_failed(task, exc) for task in tasks]
                        continue
                    records += result.records
                    summary.requests += result.requests
                    summary.bytes_fetched += result.bytes_fetched
                self._commit(records, run_id, summary)
        except BaseException:
            for future in in_flight:
                future.cancel()
            raise


def _task_failed(task: ProjectTask, exc: BaseException) -> ProjectRecord:
    detail = f"the crawl task failed on the cluster: {type(exc).__name__}: {exc}"
    project = canonicalize_name(task.name)
    failure = Failure(FailureStage.PAGE, "task-failed", detail)
    return ProjectRecord(project, task.name, PageOutcome.FAILED, [], [failure])


@dataclass(frozen=True)
class ClusterWork:
    """How the crawl runs on a cluster: an Executor (Dask's `Client.get_executor()`), the task
    that crawls a batch of projects there (`crawler.tasks.crawl_batch` bound to its index
    access), projects per task, and tasks kept in flight (a bound: never queue the world)."""

    executor: Executor
    crawl_batch: Callable[[list[ProjectTask]], Any]
    batch_size: int = 8
    in_flight: int = 16
    #: whether an error a task's future gives means the cluster itself is gone (not the task)
    lost: Callable[[BaseException], bool] = lambda exc: False
