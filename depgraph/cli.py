"""`depgraph` command line. `main(argv)` takes its arguments so tests call it directly.

Exit codes are the table in `depgraph.exitcodes`; every error a command meets ends there, in `main`.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from crawler import PYPI_DEFAULT_RPS, PYPI_SIMPLE, USER_AGENT
from depgraph_core.db import display_locator, is_postgres
from depgraph_core.errors import DepgraphError

from . import __version__
from .errors import UsageError
from .exitcodes import ExitCode, exit_code_for
from .output import print_json, print_report, print_summary, summary_dict

if TYPE_CHECKING:
    from crawler.store import Store
    from sandbox import Limits

    from .wiring import BuildOptions, NetOptions

# The crawler, the sandbox and the analysis are imported by the commands that use them: each
# costs a start-up (the crawler's HTTP stack 0.3 s) that `depgraph report` or `status` never needs.

__all__ = ["build_parser", "main"]

DB_HELP = (
    "the store: a SQLite file, or a PostgreSQL URL postgresql://user:password@host/dbname"
    " (default %(default)s)"
)


def _add_crawl_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--db",
        default="crawl.sqlite",
        help="the store to write: a SQLite file (created if missing) or a PostgreSQL URL"
        " postgresql://user:password@host/dbname (default %(default)s)",
    )
    p.add_argument(
        "--workers",
        type=int,
        default=8,
        help="concurrent projects, and HTTP connections (default %(default)s)",
    )
    p.add_argument(
        "--retries",
        type=int,
        default=5,
        help="tries per request on 429/5xx/resets before recording a failure (default %(default)s)",
    )
    p.add_argument(
        "--max-rps",
        type=float,
        default=None,
        help="politeness: at most this many requests per second (default: no cap, except "
        f"{PYPI_DEFAULT_RPS:g}/s against pypi.org)",
    )
    p.add_argument(
        "--verify-hashes",
        action="store_true",
        help="read dependencies only from bytes checked against the index's sha256: whole "
        "wheels instead of range reads where the index serves no metadata file; a file without "
        "a digest, or with a wrong one, gives no dependencies and a recorded failure",
    )
    p.add_argument(
        "--entry-points",
        action="store_true",
        help="also read each wheel's entry_points.txt where a PEP 658 file answered the metadata "
        "(one more ranged read per release; range reads get it for free): console scripts tell "
        "applications from libraries",
    )
    _add_net_options(p)
    p.add_argument(
        "--no-resume",
        action="store_true",
        help="start a new run even if an unfinished one with the same options exists",
    )
    _add_sandbox_options(p)
    _add_cluster_options(p)


def _add_cluster_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        default=None,
        help="run the crawl and the sdist builds on a Dask distributed cluster, e.g. "
        "tcp://scheduler:8786: batches of projects and one task per sdist on its workers (each "
        "building in its own sandbox; --max-rps applies per worker), the store written here",
    )
    p.add_argument(
        "--cluster",
        metavar="local:N",
        default=None,
        help="start a Dask LocalCluster of N worker processes on this machine for the run",
    )


def _add_net_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--cert",
        metavar="PATH",
        default=None,
        help="CA bundle (PEM) to verify the index's TLS certificate against; without it: "
        "REQUESTS_CA_BUNDLE, CURL_CA_BUNDLE, SSL_CERT_FILE, else the certifi bundle",
    )
    p.add_argument(
        "--user-agent",
        default=USER_AGENT,
        help="User-Agent header of every request (default: %(default)s)",
    )


def _net(args: argparse.Namespace) -> NetOptions:
    from .wiring import NetOptions

    return NetOptions(
        args.cert,
        args.user_agent,
        getattr(args, "verify_hashes", False),
        getattr(args, "entry_points", False),
    )


def _add_limit_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--build-timeout",
        type=float,
        default=120,
        help="wall-clock seconds per sdist build (default %(default)s)",
    )
    p.add_argument(
        "--build-memory",
        type=int,
        default=1024,
        help="MiB of memory per sdist build (default %(default)s)",
    )
    p.add_argument(
        "--build-pids",
        type=int,
        default=256,
        help="processes+threads per sdist build (default %(default)s)",
    )


def _add_sandbox_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--sandbox",
        choices=("auto", "docker", "bwrap", "none"),
        default="auto",
        help="where sdists whose dependencies are not static get built: auto = Docker when a "
        "daemon answers, else bwrap, else none (they stay pending-sandbox) (default %(default)s)",
    )
    p.add_argument(
        "--sandbox-workers", type=int, default=2, help="sdist builds at once (default %(default)s)"
    )
    p.add_argument(
        "--retry-failed",
        action="store_true",
        help="also rebuild releases whose sandbox build failed before",
    )
    _add_limit_options(p)


def _common_options() -> argparse.ArgumentParser:
    """Options every command takes."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--json", action="store_true", help="print the result as JSON on stdout")
    common.add_argument(
        "-q",
        "--quiet",
        action="store_true",
        help="no progress bars and no informational lines on stderr",
    )
    common.add_argument(
        "--no-progress",
        action="store_true",
        help="no progress bars (they are off anyway when stderr is not a terminal)",
    )
    return common


def build_parser() -> argparse.ArgumentParser:
    from .exitcodes import __doc__ as exit_table

    parser = argparse.ArgumentParser(
        prog="depgraph",
        description="Crawl a PyPI-compatible index into a dependency graph and measure it.",
        epilog=exit_table,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"pypi-depgraph {__version__}")
    common = _common_options()
    sub = parser.add_subparsers(dest="command", required=True)

    crawl = sub.add_parser(
        "crawl",
        parents=[common],
        help="crawl projects of an index into the store",
        description="Crawl every release of the chosen projects: files, hashes and "
        "requirements, from the cheapest trustworthy metadata source.",
    )
    crawl.add_argument(
        "--index-url", default=PYPI_SIMPLE, help="simple API root (default %(default)s)"
    )
    which = crawl.add_mutually_exclusive_group(required=True)
    which.add_argument("--all", action="store_true", help="every project the index root lists")
    which.add_argument(
        "--project", action="append", metavar="NAME", help="a project to crawl (repeatable)"
    )
    _add_crawl_options(crawl)

    demo = sub.add_parser(
        "demo",
        parents=[common],
        help="build the demo index, serve it on loopback and crawl it end to end",
        description="Offline end-to-end run on embedded defaults: writes the demo "
        "distributions, serves them with pypiserver on 127.0.0.1, crawls into SQLite.",
    )
    demo.add_argument(
        "--out",
        default="demo-output",
        help="folder for the index, store and reports (default %(default)s)",
    )
    _add_sandbox_options(demo)

    sbx = sub.add_parser(
        "sandbox",
        help="the sdist build sandbox: image, one-off extraction, cleanup",
        description="Build sdists in disposable containers (Docker) or bubblewrap, with no "
        "network and CPU/memory/pid/time limits, and report the requirements they declare.",
    )
    sbx_sub = sbx.add_subparsers(dest="sandbox_command", required=True)
    bi = sbx_sub.add_parser(
        "build-image",
        parents=[common],
        help="build the sandbox image offline (debootstrap + docker import)",
    )
    bi.add_argument(
        "--if-missing", action="store_true", help="do nothing when the image and rootfs exist"
    )
    bi.add_argument("--tag", default=None, help="image tag (default pypi-depgraph-sandbox:latest)")
    ex = sbx_sub.add_parser(
        "extract",
        parents=[common],
        help="build one sdist in the sandbox and print what it declares as JSON",
    )
    ex.add_argument("sdist", type=Path, help="path of a .tar.gz / .zip sdist")
    ex.add_argument(
        "--backend",
        choices=("auto", "docker", "bwrap"),
        default="auto",
        help="(default %(default)s)",
    )
    _add_limit_options(ex)
    sbx_sub.add_parser(
        "cleanup", parents=[common], help="remove sandbox containers left behind by a crash"
    )

    report = sub.add_parser(
        "report",
        parents=[common],
        help="metrics and health of the graph as CSV reports and plots",
        description="Direct and transitive dependents, dependents via extras only, PageRank, "
        "percentile ranks, roles, cycles, missing and unsatisfiable dependencies, metapackages, "
        "frozen environments, pinned applications; "
        "compared with download counts when given.",
    )
    report.add_argument("--db", default="crawl.sqlite", help=DB_HELP)
    report.add_argument("--out", default="report", help="output folder (default %(default)s)")
    report.add_argument(
        "--downloads",
        type=Path,
        help="download counts: BigQuery CSV (project,downloads[,installer]), "
        "top-pypi-packages JSON or pypistats JSON",
    )
    report.add_argument(
        "--include-extras",
        action="store_true",
        help="count requirements reached through extras too",
    )
    report.add_argument(
        "--python",
        default=None,
        help="evaluate markers for this CPython version (e.g. 3.12); "
        "default: keep every edge whatever its marker",
    )
    report.add_argument(
        "--platform",
        default="linux",
        choices=("linux", "win32", "darwin"),
        help="platform for marker evaluation with --python (default %(default)s)",
    )
    report.add_argument(
        "--top", type=int, default=15, help="rows of the main table to print (default %(default)s)"
    )
    report.add_argument(
        "--graphml",
        action="store_true",
        help="also write graph.graphml (nodes with their attributes)",
    )
    report.add_argument(
        "--installable",
        nargs="+",
        metavar="X.Y",
        help="also resolve the top projects on these CPython versions (on --platform): "
        "installable.csv, an installable_<target> column, shares in summary.json",
    )
    report.add_argument(
        "--installable-top",
        type=int,
        default=1000,
        help="how many projects, by direct dependents, --installable checks (default %(default)s)",
    )
    report.add_argument(
        "--as-of",
        metavar="YYYY-MM-DD",
        help="every metric as the index stood at the end of that day (UTC): releases uploaded "
        "later ignored (needs upload times: PEP 691/700 indexes such as PyPI give them)",
    )
    report.add_argument(
        "--history",
        type=int,
        default=0,
        metavar="MONTHS",
        help="also history.csv and history.png: monthly dependents of the top projects",
    )
    report.add_argument(
        "--history-top", type=int, default=10, help="projects in the history (default %(default)s)"
    )
    report.add_argument(
        "--downloads-history",
        type=Path,
        help="top-pypi-packages' monthly history (history/top-pypi-packages-30-days-monthly.csv.gz)"
        " to plot beside the dependents history",
    )

    imp = sub.add_parser(
        "import",
        parents=[common],
        help="load a public dependency data set into the store",
        description="Load mach-nix pypi-deps-db buckets or a BigQuery distribution_metadata "
        "export into the store (provenance recorded as import:<data set>).",
    )
    imp.add_argument("kind", choices=("pypi-deps-db", "bigquery"))
    imp.add_argument(
        "path",
        type=Path,
        help="pypi-deps-db folder (with sdist/ and wheel/), or a CSV/JSONL export",
    )
    imp.add_argument("--db", default="crawl.sqlite", help=DB_HELP)
    imp.add_argument(
        "--all-versions",
        action="store_true",
        help="import every version's dependencies, not only the latest",
    )

    inst = sub.add_parser(
        "installable",
        parents=[common],
        help="does each project install on these Pythons? resolved from the store, as pip would",
        description="Resolve each selected project's latest non-yanked release with its whole "
        "dependency tree for each target (CPython version x platform) from the store alone, with "
        "resolvelib (pip's resolver): installable, no-compatible-release, conflict, "
        "missing-dependency, unknown-dependencies or too-deep. Writes installable.csv, "
        "summary.json and installable.png.",
    )
    inst.add_argument("--db", default="crawl.sqlite", help=DB_HELP)
    inst.add_argument(
        "--python",
        nargs="+",
        required=True,
        metavar="X.Y",
        help="CPython versions to check, e.g. 3.9 3.12",
    )
    inst.add_argument(
        "--platform",
        default="linux",
        choices=("linux", "win32", "darwin"),
        help="platform of every target (default %(default)s)",
    )
    chosen = inst.add_mutually_exclusive_group()
    chosen.add_argument("--project", action="append", metavar="NAME", help="a project (repeatable)")
    chosen.add_argument(
        "--top",
        type=int,
        default=None,
        help="the N projects with the most direct dependents (default: 100)",
    )
    chosen.add_argument("--all", action="store_true", help="every project in the store")
    inst.add_argument("--out", default="installable", help="output folder (default %(default)s)")
    inst.add_argument(
        "--max-rounds",
        type=int,
        default=2000,
        help="resolver rounds before a project is `too-deep` (default %(default)s)",
    )

    upd = sub.add_parser(
        "update",
        parents=[common],
        help="fetch only what changed since the last crawl",
        description="Bring the store up to date with its index: new projects crawled, removed ones "
        "dropped, changed ones re-read. Uses the index's changelog serials when --changelog-url is "
        "given (PyPI: https://pypi.org/pypi), else conditional requests (ETag / Last-Modified).",
    )
    upd.add_argument(
        "--index-url", default=None, help="default: the index of the store's last crawl"
    )
    upd.add_argument(
        "--changelog-url",
        default=None,
        help="XML-RPC endpoint with changelog_since_serial "
        "(default: https://pypi.org/pypi when the index is PyPI, else none)",
    )
    _add_crawl_options(upd)

    status = sub.add_parser(
        "status",
        parents=[common],
        help="what the store holds",
        description="Counts of the store: projects, "
        "releases by dependency state and metadata source, failures by reason, and the serial "
        "or time the store is consistent to.",
    )
    status.add_argument("--db", default="crawl.sqlite", help=DB_HELP)
    return parser


def progress_wanted(args: argparse.Namespace) -> bool:
    """Progress bars only where someone watches: a terminal on stderr, and not silenced."""
    return (
        not (args.no_progress or args.quiet or getattr(args, "json", False)) and sys.stderr.isatty()
    )


def limits_from(args: argparse.Namespace) -> Limits:
    from sandbox import Limits

    return Limits(
        memory_mb=args.build_memory, pids=args.build_pids, wall_seconds=args.build_timeout
    )


def build_options(
    args: argparse.Namespace,
    kind: str | None = None,
    workers: int | None = None,
    retry_failed: bool | None = None,
) -> BuildOptions:
    from .wiring import BuildOptions, NetOptions

    return BuildOptions(
        kind=kind or args.sandbox,
        workers=workers or args.sandbox_workers,
        retry_failed=args.retry_failed if retry_failed is None else retry_failed,
        limits=limits_from(args),
        progress=progress_wanted(args),
        quiet=args.json or args.quiet,
        net=_net(args) if hasattr(args, "cert") else NetOptions(),
    )


def existing_store(db: str) -> Store:
    from crawler.store import Store

    if not is_postgres(db) and not Path(db).exists():
        raise UsageError(f"no store at {db}")
    return Store(db)


def crawl_exit(interrupted: bool, problems: list[str]) -> ExitCode:
    if interrupted:
        return ExitCode.INTERRUPTED
    if problems:
        shown = ", ".join(problems[:20]) + (
            f" and {len(problems) - 20} more" if len(problems) > 20 else ""
        )
        print(f"depgraph: missing from the index or unreadable: {shown}", file=sys.stderr)
        return ExitCode.PARTIAL
    return ExitCode.OK


def cmd_crawl(args: argparse.Namespace) -> int:
    from crawler.store import Store

    from .cluster import open_cluster
    from .wiring import run_crawl, run_sandbox_builds

    store = Store(args.db)
    projects = None if args.all else args.project
    with open_cluster(args.scheduler, args.cluster) as cluster:
        summary = run_crawl(
            store,
            args.index_url,
            projects,
            args.workers,
            args.retries,
            not args.no_resume,
            progress_wanted(args),
            args.max_rps,
            _net(args),
            cluster,
        )
        builds = (
            None
            if summary.interrupted
            else run_sandbox_builds(store, build_options(args), projects, cluster)
        )
    print_summary(summary, args.json, builds)
    return crawl_exit(summary.interrupted, summary.problem_projects)


def cmd_demo(args: argparse.Namespace) -> int:
    from analysis import write_report
    from crawler.store import Store

    from .demo import PypiServer, build_demo_index
    from .wiring import run_crawl, run_sandbox_builds

    out = Path(args.out)
    folder = build_demo_index(out / "index")
    db = out / "demo.sqlite"
    with PypiServer(folder, log=out / "index-server.log") as server:
        if not (args.json or args.quiet):
            print(f"serving {len(list(folder.iterdir()))} demo files at {server.url}")
        store = Store(db)
        summary = run_crawl(
            store, server.url, None, workers=4, progress=progress_wanted(args), resume=False
        )
        builds = run_sandbox_builds(store, build_options(args, workers=2, retry_failed=False), None)
    report = write_report(db, out / "report")
    if args.json:
        print_json(
            {
                "crawl": summary_dict(summary, builds),
                "store": str(db),
                "report": str(out / "report"),
                "report_summary": report,
            }
        )
    else:
        print_summary(summary, False, builds)
        print(f"store: {db}")
        print_report(report, out / "report", top=12)
    return crawl_exit(summary.interrupted, summary.problem_projects)


def cmd_report(args: argparse.Namespace) -> int:
    from analysis import Target, target_environment, write_report
    from analysis.store_reader import as_of_date

    env = target_environment(args.python, args.platform) if args.python else None
    targets = [Target(python, args.platform) for python in args.installable or []]
    summary = write_report(
        args.db,
        args.out,
        args.downloads,
        args.include_extras,
        env,
        args.graphml,
        targets,
        args.installable_top,
        as_of=as_of_date(args.as_of) if args.as_of else None,
        history_months=args.history,
        history_top=args.history_top,
        downloads_history=args.downloads_history,
    )
    if args.json:
        print_json(summary)
    else:
        print_report(summary, Path(args.out), args.top)
    return ExitCode.OK


def cmd_import(args: argparse.Namespace) -> int:
    from crawler.importers import import_bigquery, import_pypi_deps_db
    from crawler.store import Store

    if not args.path.exists():
        raise UsageError(f"no such file or folder: {args.path}")
    store = Store(args.db)
    run = import_pypi_deps_db if args.kind == "pypi-deps-db" else import_bigquery
    summary = run(args.path, store, all_versions=args.all_versions)
    if args.json:
        print_json(summary.__dict__ | {"db": display_locator(args.db)})
    else:
        print(
            f"imported {summary.projects} projects, {summary.releases} releases, "
            f"{summary.requirements} requirements ({summary.bad_requirements} unreadable, "
            f"recorded as failures) into {display_locator(args.db)}"
        )
    return ExitCode.OK


def cmd_installable(args: argparse.Namespace) -> int:
    from analysis import Target, write_installability

    targets = [Target(python, args.platform) for python in args.python]
    top = None if (args.all or args.project) else (args.top or 100)
    summary = write_installability(args.db, args.out, targets, args.project, top, args.max_rounds)
    if args.json:
        print_json(summary)
        return ExitCode.OK
    print(
        f"installability of {summary['projects']} projects ({summary['selection']}) in "
        f"{summary['seconds']} s:"
    )
    verdicts = summary["verdicts"]
    assert isinstance(verdicts, dict)
    for target, share in summary["share_installable"].items():  # type: ignore[attr-defined]
        counts = ", ".join(f"{k}={v}" for k, v in sorted(verdicts[target].items()))
        print(f"  {target}: {100 * share:.1f} % installable ({counts})")
    if summary["assumption"]:
        print(f"  assumption: {summary['assumption']}")
    print(f"written: {args.out}/installable.csv, summary.json, installable.png")
    return ExitCode.OK


def cmd_update(args: argparse.Namespace) -> int:
    from crawler.update import Changelog, update

    from .cluster import open_cluster
    from .wiring import crawler_for, run_sandbox_builds

    store = existing_store(args.db)
    index_url = args.index_url or store.last_index_url()
    if index_url is None:
        raise UsageError(f"{display_locator(args.db)} has no crawl yet; give --index-url")
    is_pypi = index_url.rstrip("/") == PYPI_SIMPLE.rstrip("/")
    changelog_url = args.changelog_url or ("https://pypi.org/pypi" if is_pypi else None)
    with (
        open_cluster(args.scheduler, args.cluster) as cluster,
        crawler_for(
            store,
            index_url,
            args.workers,
            args.retries,
            progress_wanted(args),
            args.max_rps,
            net=_net(args),
            cluster=cluster,
        ) as crawler,
    ):
        session = crawler.fetcher.session  # the same trust settings, User-Agent and retries
        changelog = Changelog(changelog_url, session) if changelog_url else None
        result = update(store, crawler, changelog)
        interrupted = result.crawl.interrupted
        builds = (
            None if interrupted else run_sandbox_builds(store, build_options(args), None, cluster)
        )
    if args.json:
        data = result.as_dict()
        if builds is not None:
            data["sandbox"] = builds.as_dict()
        print_json(data)
    else:
        print(
            f"update ({result.mode}): {len(result.new)} new projects, {len(result.removed)} removed"
        )
        print_summary(result.crawl, False, builds)
        print(
            f"  consistent to: {result.consistent_to or 'not yet (incomplete: run update again)'}"
        )
    return crawl_exit(interrupted, result.crawl.problem_projects)


def cmd_status(args: argparse.Namespace) -> int:
    store = existing_store(args.db)
    status = store.counts()
    status["index_url"] = store.last_index_url()
    status["consistent_serial"] = store.get_meta("consistent_serial")
    status["consistent_at"] = store.get_meta("consistent_at")
    status["last_runs"] = store.last_runs()
    if args.json:
        print_json(status)
        return ExitCode.OK
    print(
        f"store {display_locator(args.db)}: {status['projects']} projects, "
        f"{status['releases']} releases, "
        f"{status['files']} files, {status['requirements']} requirements"
    )
    for key in (
        "projects_by_status",
        "releases_by_state",
        "releases_by_source",
        "failures_by_reason",
    ):
        counts = status[key]
        assert isinstance(counts, dict)
        if counts:
            print(f"  {key.replace('_', ' ')}: " + ", ".join(f"{k}={v}" for k, v in counts.items()))
    consistent = (
        status["consistent_serial"] or status["consistent_at"] or "never (no complete update)"
    )
    print(f"  index: {status['index_url']}; consistent to: {consistent}")
    for run in status["last_runs"]:  # type: ignore[attr-defined]
        print(
            f"  run {run['id']}: {run['status']}, {run['started_at']} .. {run['finished_at'] or ''}"
        )
    return ExitCode.OK


def cmd_sandbox(args: argparse.Namespace) -> int:
    if args.sandbox_command == "build-image":
        from sandbox.image import build_image

        tag = build_image(
            args.tag or "pypi-depgraph-sandbox:latest",
            if_missing=args.if_missing,
            log=(lambda _: None) if args.json else print,
        )
        if args.json:
            print_json({"image": tag})
        return ExitCode.OK
    if args.sandbox_command == "cleanup":
        from sandbox.cleanup import remove_leftovers

        removed = remove_leftovers()
        if args.json:
            print_json({"removed": removed})
        else:
            print(
                f"removed {len(removed)} leftover sandbox containers"
                + (f": {', '.join(removed)}" if removed else "")
            )
        return ExitCode.OK
    if not args.sdist.is_file():
        raise UsageError(f"no such sdist: {args.sdist}")
    from .wiring import BuildOptions, open_chosen_sandbox

    options = BuildOptions(kind=args.backend, limits=limits_from(args), quiet=True)
    sandbox = open_chosen_sandbox(options)
    if sandbox is None:  # "auto" on a machine with neither backend (the message was printed)
        return ExitCode.USAGE
    result = sandbox.extract(args.sdist)
    print(result.to_json())  # JSON is this command's only output
    return ExitCode.OK if result.ok else ExitCode.PARTIAL


def _sigterm_as_interrupt(signum: int, frame: object) -> None:
    # `kill` stops a crawl as cleanly as Ctrl-C: finished projects stay committed
    raise KeyboardInterrupt


class _StderrHandler(logging.Handler):
    """Writes to whatever sys.stderr is when a record comes (tests swap it between calls)."""

    def emit(self, record: logging.LogRecord) -> None:
        print(self.format(record), file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    return _run(build_parser().parse_args(argv))


#: commands after which the process ends without freeing what it built (see `run`)
_HARD_EXIT = frozenset({"report"})


def run() -> None:
    """The `depgraph` script and `python -m depgraph`: `main`, then the exit.

    A report leaves ~1 GB of objects and ~1,000 modules behind, and freeing them one by one at
    exit takes a quarter of a second of nothing: after it, the process ends at once, as mypy's
    `hard_exit` does (output flushed; the report's threads are joined, its worker process has
    ended and its files are closed by then, so there is nothing left to clean up)."""
    args = build_parser().parse_args()
    code = _run(args)
    if args.command in _HARD_EXIT:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    raise SystemExit(code)


def _run(args: argparse.Namespace) -> int:
    # the packages say what they do through logging; on the command line it is one stderr line
    # each, unless the user asked for quiet or JSON
    quiet = getattr(args, "quiet", False) or getattr(args, "json", False)
    handler_ = _StderrHandler()
    handler_.setFormatter(logging.Formatter("depgraph: %(message)s"))
    logger = logging.getLogger("pypi-depgraph")
    logger.handlers[:] = [handler_]
    logger.setLevel(logging.WARNING if quiet else logging.INFO)
    logger.propagate = False
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _sigterm_as_interrupt)
    handler = {
        "crawl": cmd_crawl,
        "demo": cmd_demo,
        "status": cmd_status,
        "sandbox": cmd_sandbox,
        "report": cmd_report,
        "installable": cmd_installable,
        "import": cmd_import,
        "update": cmd_update,
    }[args.command]
    try:
        return int(handler(args))
    except DepgraphError as exc:  # the one place errors become exit codes
        print(f"depgraph: {exc}", file=sys.stderr)
        return int(exit_code_for(exc))
    except OSError as exc:  # an input file that cannot be read (the message names it)
        print(f"depgraph: {exc}", file=sys.stderr)
        return int(ExitCode.USAGE)


if __name__ == "__main__":
    run()
