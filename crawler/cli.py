"""`depgraph` command line. `main(argv)` takes its arguments so tests call it directly."""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from tqdm import tqdm

from . import __version__
from .crawl import Crawler, CrawlSummary
from .errors import DepgraphError
from .fetch import Fetcher
from .http import RateLimiter, make_session
from .index import PYPI_SIMPLE, IndexClient
from .store import ProjectRecord, Store

if TYPE_CHECKING:
    from sandbox import Limits, Sandbox

    from .sdist_builds import SandboxSummary

__all__ = ["main"]


def _add_crawl_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--db", default="crawl.sqlite", help="SQLite store to write (created if missing; default %(default)s)")
    p.add_argument("--workers", type=int, default=8, help="concurrent projects, and HTTP connections (default %(default)s)")
    p.add_argument("--retries", type=int, default=5, help="tries per request on 429/5xx/resets before recording a failure (default %(default)s)")
    p.add_argument("--max-rps", type=float, default=None, help="politeness: at most this many requests per second (default: no cap)")
    p.add_argument("--no-resume", action="store_true", help="start a new run even if an unfinished one with the same options exists")
    p.add_argument("--json", action="store_true", help="print the closing summary as JSON")
    p.add_argument("--no-progress", action="store_true", help="no progress bar (it goes to stderr)")
    _add_sandbox_options(p)


def _add_limit_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--build-timeout", type=float, default=120, help="wall-clock seconds per sdist build (default %(default)s)")
    p.add_argument("--build-memory", type=int, default=1024, help="MiB of memory per sdist build (default %(default)s)")
    p.add_argument("--build-pids", type=int, default=256, help="processes+threads per sdist build (default %(default)s)")


def _add_sandbox_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--sandbox", choices=("auto", "docker", "bwrap", "none"), default="auto",
                   help="where sdists whose dependencies are not static get built: auto = Docker when a daemon "
                   "answers, else bwrap, else none (they stay pending-sandbox) (default %(default)s)")
    p.add_argument("--sandbox-workers", type=int, default=2, help="sdist builds at once (default %(default)s)")
    p.add_argument("--retry-failed", action="store_true", help="also rebuild releases whose sandbox build failed before")
    _add_limit_options(p)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="depgraph", description="Crawl a PyPI-compatible index into a dependency graph and measure it.")
    parser.add_argument("--version", action="version", version=f"pypi-depgraph {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    crawl = sub.add_parser("crawl", help="crawl projects of an index into the store",
                           description="Crawl every release of the chosen projects: files, hashes and "
                           "requirements, from the cheapest trustworthy metadata source.")
    crawl.add_argument("--index-url", default=PYPI_SIMPLE, help="simple API root (default %(default)s)")
    which = crawl.add_mutually_exclusive_group(required=True)
    which.add_argument("--all", action="store_true", help="every project the index root lists")
    which.add_argument("--project", action="append", metavar="NAME", help="a project to crawl (repeatable)")
    _add_crawl_options(crawl)

    demo = sub.add_parser("demo", help="build the demo index, serve it on loopback and crawl it end to end",
                          description="Offline end-to-end run on embedded defaults: writes the demo "
                          "distributions, serves them with pypiserver on 127.0.0.1, crawls into SQLite.")
    demo.add_argument("--out", default="demo-output", help="folder for the index, store and reports (default %(default)s)")
    demo.add_argument("--json", action="store_true", help="print the closing summary as JSON")
    demo.add_argument("--no-progress", action="store_true", help="no progress bar")
    _add_sandbox_options(demo)

    sbx = sub.add_parser("sandbox", help="the sdist build sandbox: image, one-off extraction, cleanup",
                         description="Build sdists in disposable containers (Docker) or bubblewrap, with no "
                         "network and CPU/memory/pid/time limits, and report the requirements they declare.")
    sbx_sub = sbx.add_subparsers(dest="sandbox_command", required=True)
    bi = sbx_sub.add_parser("build-image", help="build the sandbox image offline (debootstrap + docker import)")
    bi.add_argument("--if-missing", action="store_true", help="do nothing when the image and rootfs exist")
    bi.add_argument("--tag", default=None, help="image tag (default pypi-depgraph-sandbox:latest)")
    ex = sbx_sub.add_parser("extract", help="build one sdist in the sandbox and print what it declares as JSON")
    ex.add_argument("sdist", type=Path, help="path of a .tar.gz / .zip sdist")
    ex.add_argument("--backend", choices=("auto", "docker", "bwrap"), default="auto", help="(default %(default)s)")
    _add_limit_options(ex)
    sbx_sub.add_parser("cleanup", help="remove sandbox containers left behind by a crash")

    report = sub.add_parser("report", help="metrics and health of the graph as CSV reports and plots",
                            description="Direct and transitive dependents, dependents via extras only, PageRank, "
                            "percentile ranks, roles, cycles, missing and unsatisfiable dependencies, umbrellas; "
                            "compared with download counts when given.")
    report.add_argument("--db", default="crawl.sqlite", help="SQLite store (default %(default)s)")
    report.add_argument("--out", default="report", help="output folder (default %(default)s)")
    report.add_argument("--downloads", type=Path, help="download counts: BigQuery CSV (project,downloads[,installer]), "
                        "top-pypi-packages JSON or pypistats JSON")
    report.add_argument("--include-extras", action="store_true", help="count requirements reached through extras too")
    report.add_argument("--python", default=None, help="evaluate markers for this CPython version (e.g. 3.12); "
                        "default: keep every edge whatever its marker")
    report.add_argument("--platform", default="linux", choices=("linux", "win32", "darwin"),
                        help="platform for marker evaluation with --python (default %(default)s)")
    report.add_argument("--top", type=int, default=15, help="rows of the main table to print (default %(default)s)")
    report.add_argument("--graphml", action="store_true", help="also write graph.graphml (nodes with their attributes)")

    imp = sub.add_parser("import", help="load a public dependency data set into the store",
                         description="Load mach-nix pypi-deps-db buckets or a BigQuery distribution_metadata "
                         "export into the store (provenance recorded as import:<data set>).")
    imp.add_argument("kind", choices=("pypi-deps-db", "bigquery"))
    imp.add_argument("path", type=Path, help="pypi-deps-db folder (with sdist/ and wheel/), or a CSV/JSONL export")
    imp.add_argument("--db", default="crawl.sqlite", help="SQLite store (default %(default)s)")
    imp.add_argument("--all-versions", action="store_true", help="import every version's dependencies, not only the latest")

    upd = sub.add_parser("update", help="fetch only what changed since the last crawl",
                         description="Bring the store up to date with its index: new projects crawled, removed ones "
                         "dropped, changed ones re-read. Uses the index's changelog serials when --changelog-url is "
                         "given (PyPI: https://pypi.org/pypi), else conditional requests (ETag / Last-Modified).")
    upd.add_argument("--index-url", default=None, help="default: the index of the store's last crawl")
    upd.add_argument("--changelog-url", default=None, help="XML-RPC endpoint with changelog_since_serial "
                     "(default: https://pypi.org/pypi when the index is PyPI, else none)")
    _add_crawl_options(upd)

    status = sub.add_parser("status", help="what the store holds", description="Counts of the store: projects, "
                            "releases by dependency state and metadata source, failures by reason, and the serial "
                            "or time the store is consistent to.")
    status.add_argument("--db", default="crawl.sqlite", help="SQLite store (default %(default)s)")
    return parser


@contextmanager
def crawler_for(store: Store, index_url: str, workers: int = 8, retries: int = 5, progress: bool = True,
                max_rps: float | None = None, total: int | None = None) -> Iterator[Crawler]:
    session = make_session(pool_size=workers, retries=retries)
    fetcher = Fetcher(session, rate=RateLimiter(max_rps) if max_rps else None)
    client = IndexClient(fetcher, index_url)
    bar = tqdm(unit="project", desc="crawl", disable=not progress, file=sys.stderr, total=total)

    def tick(record: ProjectRecord) -> None:
        bar.update(1)
        bar.set_postfix(releases=len(record.releases), status=record.status, refresh=False)

    try:
        yield Crawler(store, client, fetcher, workers, on_project=tick)
    finally:
        bar.close()
        session.close()


def run_crawl(store: Store, index_url: str, projects: list[str] | None, workers: int = 8,
              retries: int = 5, resume: bool = True, progress: bool = True,
              max_rps: float | None = None) -> CrawlSummary:
    with crawler_for(store, index_url, workers, retries, progress, max_rps,
                     len(projects) if projects else None) as crawler:
        return crawler.crawl(projects, resume=resume)


def print_summary(summary: CrawlSummary, as_json: bool, builds: "SandboxSummary | None" = None) -> None:
    data = summary.as_dict()
    if builds is not None:
        data["sandbox"] = builds.as_dict()
    if as_json:
        print(json.dumps(data, indent=2, sort_keys=True))
        return
    state = "interrupted (run again to resume)" if summary.interrupted else "complete"
    print(f"crawl {state}{' (resumed)' if summary.resumed else ''}: {summary.projects} projects, "
          f"{summary.releases} releases ({summary.releases_unchanged} unchanged) in {summary.seconds:.1f} s "
          f"({summary.releases_per_second:.0f} releases/s), {summary.requests} requests, "
          f"{summary.bytes_fetched / 1e6:.2f} MB fetched")
    for title, key in (("projects by status", "projects_by_status"), ("releases by metadata source", "releases_by_source"),
                       ("releases by dependency state", "releases_by_state"), ("failures by stage:reason", "failures_by_reason")):
        counts = data[key]
        assert isinstance(counts, dict)
        if counts:
            print(f"  {title}: " + ", ".join(f"{k}={v}" for k, v in sorted(counts.items(), key=lambda kv: -kv[1])))
    if builds is not None:
        outcomes = ", ".join(f"{k}={v}" for k, v in sorted(builds.by_outcome.items(), key=lambda kv: -kv[1]))
        print(f"  sdists built in the {builds.backend} sandbox: {builds.attempted} in {builds.seconds:.1f} s"
              + (f" ({outcomes})" if outcomes else ""))


def cmd_crawl(args: argparse.Namespace) -> int:
    store = Store(args.db)
    summary = run_crawl(store, args.index_url, None if args.all else args.project, args.workers,
                        args.retries, not args.no_resume, not args.no_progress, args.max_rps)
    build_summary = None
    if not summary.interrupted:
        build_summary = run_sandbox_builds(store, args, None if args.all else args.project)
    print_summary(summary, args.json, build_summary)
    return 130 if summary.interrupted else 0


def limits_from(args: argparse.Namespace) -> "Limits":
    from sandbox import Limits

    return Limits(memory_mb=args.build_memory, pids=args.build_pids, wall_seconds=args.build_timeout)


def open_chosen_sandbox(kind: str, args: argparse.Namespace, quiet: bool = False) -> "Sandbox | None":
    """The sandbox the user chose; for auto, None (with a message) when this machine has none."""
    from sandbox import open_sandbox

    if kind == "none":
        return None
    try:
        sandbox = open_sandbox(kind, limits_from(args))
    except RuntimeError as exc:
        if kind != "auto":
            raise SystemExit(f"depgraph: {exc}") from None
        print(f"depgraph: sdists stay pending-sandbox: {exc}", file=sys.stderr)
        return None
    if not quiet:
        print(f"depgraph: building sdists in the {sandbox.name} sandbox", file=sys.stderr)
    return sandbox


def run_sandbox_builds(store: Store, args: argparse.Namespace, projects: list[str] | None) -> "SandboxSummary | None":
    from .sdist_builds import build_pending

    sandbox = open_chosen_sandbox(args.sandbox, args, quiet=args.json)
    if sandbox is None:
        return None
    session = make_session(pool_size=args.sandbox_workers)
    todo = len(store.sandbox_candidates(args.retry_failed, projects))
    bar = tqdm(total=todo, unit="sdist", desc="sandbox", disable=args.no_progress, file=sys.stderr)
    try:
        return build_pending(store, Fetcher(session), sandbox, args.sandbox_workers, args.retry_failed,
                             projects, on_release=lambda *_: bar.update(1))
    finally:
        bar.close()
        session.close()


def cmd_demo(args: argparse.Namespace) -> int:
    from .demo import build_demo_index
    from .localindex import IndexServer

    out = Path(args.out)
    folder = build_demo_index(out / "index")
    db = out / "demo.sqlite"
    with IndexServer(folder, "pypiserver", log=out / "index-server.log") as server:
        if not args.json:
            print(f"serving {len(list(folder.iterdir()))} demo files at {server.url}")
        store = Store(db)
        summary = run_crawl(store, server.url, None, workers=4, progress=not args.no_progress, resume=False)
        args.retry_failed, args.sandbox_workers = False, 2
        builds = run_sandbox_builds(store, args, None)
    print_summary(summary, args.json, builds)
    if not args.json:
        print(f"store: {db}")
        from analysis import write_report

        report = write_report(db, out / "report")
        print_report(report, out / "report", top=12)
    return 0


def print_report(summary: dict[str, object], out: Path, top: int) -> None:
    import pandas as pd

    table = pd.read_csv(out / "packages.csv")
    cols = [c for c in ("name", "direct_dependents", "transitive_dependents", "dependents_via_extras_only",
                        "pagerank", "role", "downloads") if c in table]
    with pd.option_context("display.width", 140, "display.max_columns", 20):
        print(table[~table["missing"]].head(top)[cols].to_string(index=False))
    keys = ("projects", "edges", "projects_with_unknown_dependencies", "cycles", "unsatisfiable_edges", "umbrellas",
            "missing_projects_required")
    print("  " + ", ".join(f"{k}={summary[k]}" for k in keys))
    comp = summary.get("comparison")
    if isinstance(comp, dict) and "spearman" in comp:
        print(f"  vs downloads over {comp['projects_compared']} projects: Spearman {comp['spearman']:.3f}, "
              f"Kendall {comp['kendall']:.3f}, top-100 overlap {comp['top_100_overlap']:.0%}")
    print(f"report: {out}/ (packages.csv, edges.csv, broken_edges.csv, umbrellas.csv, summary.json, plots)")


def cmd_report(args: argparse.Namespace) -> int:
    from analysis import DownloadsFormatError, target_environment, write_report

    if not Path(args.db).exists():
        print(f"depgraph: no store at {args.db}", file=sys.stderr)
        return 2
    if Store(args.db).counts()["projects"] == 0:
        print(f"depgraph: the store at {args.db} holds no projects yet: crawl or import first", file=sys.stderr)
        return 2
    env = target_environment(args.python, args.platform) if args.python else None
    try:
        summary = write_report(args.db, args.out, args.downloads, args.include_extras, env, args.graphml)
    except DownloadsFormatError as exc:  # names the file and line
        print(f"depgraph: {exc}", file=sys.stderr)
        return 2
    print_report(summary, Path(args.out), args.top)
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    from .importers import import_bigquery, import_pypi_deps_db

    store = Store(args.db)
    run = import_pypi_deps_db if args.kind == "pypi-deps-db" else import_bigquery
    try:
        summary = run(args.path, store, all_versions=args.all_versions)
    except (OSError, ValueError) as exc:  # unreadable file, or a bad row (the message names file:line)
        print(f"depgraph: {exc}", file=sys.stderr)
        return 2
    print(f"imported {summary.projects} projects, {summary.releases} releases, {summary.requirements} requirements "
          f"({summary.bad_requirements} unreadable, recorded as failures) into {args.db}")
    return 0


def cmd_update(args: argparse.Namespace) -> int:
    from .update import Changelog, update

    if not Path(args.db).exists():
        print(f"depgraph: no store at {args.db}: run `depgraph crawl` first", file=sys.stderr)
        return 2
    store = Store(args.db)
    index_url = args.index_url or store.last_index_url()
    if index_url is None:
        print(f"depgraph: {args.db} has no crawl yet; give --index-url", file=sys.stderr)
        return 2
    changelog_url = args.changelog_url or ("https://pypi.org/pypi" if index_url.rstrip("/") == PYPI_SIMPLE.rstrip("/") else None)
    with crawler_for(store, index_url, args.workers, args.retries, not args.no_progress, args.max_rps) as crawler:
        result = update(store, crawler, Changelog(changelog_url) if changelog_url else None)
    builds = None if result.crawl.interrupted else run_sandbox_builds(store, args, None)
    if args.json:
        data = result.as_dict()
        if builds is not None:
            data["sandbox"] = builds.as_dict()
        print(json.dumps(data, indent=2, sort_keys=True, default=str))
    else:
        print(f"update ({result.mode}): {len(result.new)} new projects, {len(result.removed)} removed")
        print_summary(result.crawl, False, builds)
        print(f"  consistent to: {result.consistent_to or 'not yet (incomplete: run update again)'}")
    return 130 if result.crawl.interrupted else 0


def cmd_status(args: argparse.Namespace) -> int:
    if not Path(args.db).exists():
        print(f"depgraph: no store at {args.db}", file=sys.stderr)
        return 2
    store = Store(args.db)
    status = store.counts()
    status["index_url"] = store.last_index_url()
    status["consistent_serial"] = store.get_meta("consistent_serial")
    status["consistent_at"] = store.get_meta("consistent_at")
    status["last_runs"] = [dict(zip(("id", "status", "started_at", "finished_at"), r)) for r in store.db.execute(
        "SELECT id, status, started_at, finished_at FROM crawl_runs ORDER BY id DESC LIMIT 5")]
    print(json.dumps(status, indent=2))
    return 0


def cmd_sandbox(args: argparse.Namespace) -> int:
    if args.sandbox_command == "build-image":
        from sandbox.image import build_image

        build_image(args.tag or "pypi-depgraph-sandbox:latest", if_missing=args.if_missing)
        return 0
    if args.sandbox_command == "cleanup":
        from sandbox.cleanup import remove_leftovers

        removed = remove_leftovers()
        print(f"removed {len(removed)} leftover sandbox containers" + (f": {', '.join(removed)}" if removed else ""))
        return 0
    if not args.sdist.is_file():
        print(f"depgraph: no such sdist: {args.sdist}", file=sys.stderr)
        return 2
    sandbox = open_chosen_sandbox(args.backend, args, quiet=True)
    assert sandbox is not None
    result = sandbox.extract(args.sdist)
    print(result.to_json())
    return 0 if result.ok else 1


def _sigterm_as_interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt  # `kill` stops a crawl as cleanly as Ctrl-C: finished projects stay committed


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _sigterm_as_interrupt)
    handler = {"crawl": cmd_crawl, "demo": cmd_demo, "status": cmd_status, "sandbox": cmd_sandbox,
               "report": cmd_report, "import": cmd_import, "update": cmd_update}[args.command]
    try:
        return handler(args)
    except DepgraphError as exc:  # e.g. the index root itself cannot be read: nothing to go on
        print(f"depgraph: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
