"""Scale-out: what a cluster costs and how many workers a full-PyPI crawl needs.

Measured in one run on this machine:
  1. Dask's per-task overhead: N no-op tasks through a real scheduler (a LocalCluster of two worker
     processes: the scheduler, the client and the workers share the two cores);
  2. write throughput of the store (releases with files and requirements per second): SQLite's one
     writer, PostgreSQL with 1, 4 and 8 concurrent writer processes;
  3. per-sdist build times in the Docker sandbox, on ../shared/corpus/dev;
  4. the metadata-crawl rate of one one-core worker (a LocalCluster of one process) on a loopback
     static mirror, and the requests it makes per release.
Then a projection of a from-scratch crawl of PyPI (5 M releases by metadata, 1.5 M sdists built)
on 1, 8, 64 and 256 one-core workers, and which part bounds each phase.

    python benchmarks/scaleout.py [--tasks 100000] [--pg URL] [--builds 38]
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import sys
import tempfile
import time
import uuid
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from distributed import Client, LocalCluster, wait
from packaging.utils import canonicalize_name

from benchmarks.crawl import CACHE, build_index
from depgraph.cluster import Cluster
from depgraph.core.requirements import parse_requirement
from depgraph.core.schema import DepsState, FileKind, PageOutcome, RequirementKind
from depgraph.crawler.access import IndexAccess
from depgraph.sandbox import open_sandbox
from depgraph.store import ProjectRecord, ReleaseRecord, Store
from depgraph.store.rows import DistFile, Extraction
from depgraph.wiring import run_crawl
from tests.lib.mirror import write_static_mirror
from tests.lib.servers import IndexServer

CORPUS = Path(os.environ.get("DEPGRAPH_SHARED", Path(__file__).resolve().parents[2] / "shared"))
CORPUS = CORPUS / "corpus" / "dev" / "sdists"

FULL_RELEASES = 5_000_000
FULL_SDISTS = 1_500_000
WORKERS = (1, 8, 64, 256)


def noop(i: int) -> int:
    return i


def dask_overhead(tasks: int) -> tuple[float, float]:
    """(seconds per task through the scheduler, tasks per second)."""
    with (
        LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        Client(cluster) as client,
    ):
        client.gather(client.map(noop, range(100), pure=False))  # warm up
        started = time.perf_counter()
        chunk = 20_000
        for low in range(0, tasks, chunk):
            futures = client.map(noop, range(low, min(tasks, low + chunk)), pure=False)
            wait(futures)
            del futures
        seconds = time.perf_counter() - started
    return seconds / tasks, tasks / seconds


def synthetic_records(first: int, projects: int) -> list[ProjectRecord]:
    """Projects of 3 releases, each with 2 files and 6 requirements: PyPI's averages, roughly."""
    records = []
    for p in range(first, first + projects):
        name = canonicalize_name(f"synthetic-{p:07d}")
        releases = []
        for r in range(3):
            version = f"{r}.0"
            files = [
                DistFile(
                    filename=f"{name}-{version}{suffix}",
                    url=f"https://files.example/{name}-{version}{suffix}",
                    project=name,
                    version=version,
                    sha256=f"{p:032x}{r:032x}",
                    size=100_000,
                    kind=kind,
                    yanked=False,
                    yanked_reason=None,
                    requires_python=">=3.8",
                    core_metadata=True,
                    core_metadata_sha256=None,
                    upload_time="2024-01-01T00:00:00+00:00",
                    pure=kind == FileKind.WHEEL,
                )
                for suffix, kind in (
                    (".tar.gz", FileKind.SDIST),
                    ("-py3-none-any.whl", FileKind.WHEEL),
                )
            ]
            edges = [
                e
                for d in range(6)
                for e in parse_requirement(f"dep-{(p * 7 + d) % 5000}>=1.{d}", RequirementKind.RUN)
            ]
            extraction = Extraction(
                deps_state=DepsState.KNOWN,
                source="pep658",
                edges=edges,
                requires_python=">=3.8",
                metadata_file=files[1].filename,
                verified=True,
            )
            releases.append(ReleaseRecord(version, files, extraction, f"{p}-{r}"))
        records.append(ProjectRecord(name, name, PageOutcome.OK, releases, []))
    return records


def write_share(db: str, first: int, projects: int, batch: int = 20) -> int:
    """One writer process: its projects in transactions of `batch` projects; releases written."""
    store = Store(db)
    records = synthetic_records(first, projects)
    for low in range(0, len(records), batch):
        store.write_projects(records[low : low + batch], "https://index.example/simple/", "bench")
    store.close()
    return sum(len(r.releases) for r in records)


def write_rate(db: str, writers: int, projects: int) -> float:
    """Releases per second written by `writers` concurrent processes into `db`."""
    Store(db).close()  # create the schema once, outside the timing
    share = projects // writers
    started = time.perf_counter()
    with ProcessPoolExecutor(writers) as pool:
        futures = [pool.submit(write_share, db, w * share, share) for w in range(writers)]
        releases = sum(f.result() for f in futures)
    return releases / (time.perf_counter() - started)


def pg_rate(base: str, writers: int, projects: int) -> float:
    """write_rate into a new database of its own on the server at `base`, dropped afterwards."""
    import psycopg

    name = f"depgraph_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(base, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        return write_rate(base.rsplit("/", 1)[0] + f"/{name}", writers, projects)
    finally:
        with psycopg.connect(base, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE "{name}"')


def build_times(limit: int) -> list[float]:
    sandbox = open_sandbox("docker")
    times = []
    for sdist in sorted(CORPUS.iterdir())[:limit]:
        started = time.perf_counter()
        result = sandbox.extract(sdist)
        times.append(time.perf_counter() - started)
        if not result.ok:
            print(f"  (build of {sdist.name} failed: {result.failure}; timed anyway)")
    return times


def crawl_rate_per_worker(projects: int, threads: int) -> tuple[float, float]:
    """(releases per second of one one-core worker with `threads` threads, requests per
    release), crawling a loopback static mirror through a real scheduler."""
    folder = CACHE / f"index-{projects}x4"
    build_index(folder, projects, 4)
    mirror = write_static_mirror(
        folder, CACHE / f"mirror-static+pep658-{projects}x4", core_metadata=True
    )
    with (
        IndexServer(mirror, "static") as server,
        tempfile.TemporaryDirectory() as tmp,
        LocalCluster(
            n_workers=1, threads_per_worker=threads, processes=True, dashboard_address=None
        ) as local,
        Client(local) as client,
    ):
        cluster = Cluster(client, client.get_executor(pure=False), threads)
        summary = run_crawl(
            Store(Path(tmp) / "c.sqlite"),
            IndexAccess(index_url=server.url),
            None,
            progress=False,
            cluster=cluster,
        )
    return summary.releases / summary.seconds, summary.requests / max(1, summary.releases)


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--tasks", type=int, default=100_000, help="no-op tasks for the overhead")
    ap.add_argument("--pg", default=os.environ.get("DEPGRAPH_TEST_PG"), help="PostgreSQL URL")
    ap.add_argument("--write-projects", type=int, default=2400)
    ap.add_argument("--builds", type=int, default=38, help="corpus sdists to build and time")
    ap.add_argument("--crawl-projects", type=int, default=130)
    ap.add_argument("--threads", type=int, default=4, help="threads of a one-core crawl worker")
    ap.add_argument("--batch", type=int, default=8, help="projects per crawl task (the CLI's)")
    ap.add_argument(
        "--latency",
        type=float,
        default=0.05,
        help="assumed seconds per request to the real index (loopback has none)",
    )
    ap.add_argument(
        "--pessimistic-build",
        type=float,
        default=3.0,
        help="seconds per sdist build for a second projection (the corpus builds fast)",
    )
    ap.add_argument(
        "--index-cap", type=float, default=1000.0, help="assumed requests/s the index allows"
    )
    args = ap.parse_args()
    # a LocalCluster's shutdown logs its closing connections as errors: not this benchmark's
    logging.getLogger("distributed").setLevel(logging.CRITICAL)

    per_task, throughput = dask_overhead(args.tasks)
    print(
        f"dask: {args.tasks} no-op tasks: {per_task * 1e6:.0f} us per task through the "
        f"scheduler, {throughput:.0f} tasks/s"
    )

    with tempfile.TemporaryDirectory() as tmp:
        sqlite_rate = write_rate(str(Path(tmp) / "w.sqlite"), 1, args.write_projects)
    rates = {"sqlite, 1 writer": sqlite_rate}
    if args.pg:
        for writers in (1, 4, 8):
            rates[f"postgresql, {writers} writers"] = pg_rate(args.pg, writers, args.write_projects)
    else:
        print("(no --pg / DEPGRAPH_TEST_PG: PostgreSQL not measured)")
    print("store writes (releases with 2 files and 6 requirements each):")
    for label, rate in rates.items():
        print(f"  {label:24} {rate:8.0f} releases/s")

    times = build_times(args.builds) if CORPUS.is_dir() else []
    if not times:
        print(f"(no corpus at {CORPUS}: builds assumed 3 s each)")
        times = [3.0]
    mean_build = statistics.mean(times)
    print(
        f"sandbox builds ({len(times)} corpus sdists, Docker): mean {mean_build:.2f} s, "
        f"median {statistics.median(times):.2f} s, max {max(times):.2f} s"
    )

    cpu_rate, requests_per_release = crawl_rate_per_worker(args.crawl_projects, args.threads)
    latency_rate = args.threads / (requests_per_release * args.latency)
    worker_rate = min(cpu_rate, latency_rate)
    print(
        f"metadata crawl, one one-core worker ({args.threads} threads): {cpu_rate:.0f} "
        f"releases/s on loopback, {requests_per_release:.2f} requests per release; at "
        f"{args.latency * 1000:.0f} ms per request: {latency_rate:.0f} releases/s; "
        f"projected with {worker_rate:.0f}"
    )

    writer_rate = rates["postgresql, 1 writers"] if args.pg else sqlite_rate
    index_rate = args.index_cap / requests_per_release
    crawl_tasks = FULL_RELEASES / (args.batch * 3)  # batches of projects of ~3 releases
    batch_seconds = args.batch * 3 / (worker_rate / args.threads)
    print()
    print(
        f"projection: {FULL_RELEASES / 1e6:.0f} M releases by metadata, {FULL_SDISTS / 1e6:.1f} M "
        f"sdists built; the client writes (one writer, {writer_rate:.0f} releases/s); index cap "
        f"{args.index_cap:.0f} requests/s (an assumption)"
    )
    for label, build_seconds in (
        (f"measured builds ({mean_build:.2f} s)", mean_build),
        (f"pessimistic builds ({args.pessimistic_build:.1f} s each)", args.pessimistic_build),
    ):
        print(f"-- {label}")
        projection(
            build_seconds,
            worker_rate,
            index_rate,
            writer_rate,
            throughput,
            per_task,
            args.batch,
            crawl_tasks,
            batch_seconds,
        )


def projection(
    mean_build: float,
    worker_rate: float,
    index_rate: float,
    writer_rate: float,
    throughput: float,
    per_task: float,
    batch: int,
    crawl_tasks: float,
    batch_seconds: float,
) -> None:
    """Hours of a from-scratch crawl per cluster size, and what bounds each phase."""
    print(
        f"{'workers':>7} {'metadata h':>10} {'bound by':>9} {'builds h':>9} {'bound by':>9} "
        f"{'total h':>8} {'sched. util':>11} {'sched. overhead':>15}"
    )
    for workers in WORKERS:
        meta_limits = {
            "workers": workers * worker_rate,
            "index": index_rate,
            "database": writer_rate,
            "scheduler": throughput * batch * 3,
        }
        meta_bound = min(meta_limits, key=lambda k: meta_limits[k])
        meta_h = FULL_RELEASES / meta_limits[meta_bound] / 3600
        build_limits = {
            "workers": workers / mean_build,
            "database": writer_rate,
            "scheduler": throughput,
        }
        build_bound = min(build_limits, key=lambda k: build_limits[k])
        build_h = FULL_SDISTS / build_limits[build_bound] / 3600
        # the scheduler's busy share of the run, and its cost per task against the task's work
        busy = (crawl_tasks + FULL_SDISTS) * per_task / ((meta_h + build_h) * 3600)
        overhead = max(per_task / mean_build, per_task / batch_seconds)
        print(
            f"{workers:7d} {meta_h:10.1f} {meta_bound:>9} {build_h:9.1f} {build_bound:>9} "
            f"{meta_h + build_h:8.1f} {100 * busy:10.1f}% {100 * overhead:14.2f}%"
        )


if __name__ == "__main__":
    main()
