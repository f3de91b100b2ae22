"""`depgraph` command line. `main(argv)` takes its arguments so tests call it directly."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from tqdm import tqdm

from . import __version__
from .crawl import Crawler, CrawlSummary
from .fetch import Fetcher
from .http import make_session
from .index import PYPI_SIMPLE, IndexClient
from .store import ProjectRecord, Store

__all__ = ["main"]


def _add_crawl_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--db", default="crawl.sqlite", help="SQLite store to write (created if missing; default %(default)s)")
    p.add_argument("--workers", type=int, default=8, help="concurrent projects, and HTTP connections (default %(default)s)")
    p.add_argument("--retries", type=int, default=5, help="tries per request on 429/5xx/resets before recording a failure (default %(default)s)")
    p.add_argument("--no-resume", action="store_true", help="start a new run even if an unfinished one with the same options exists")
    p.add_argument("--json", action="store_true", help="print the closing summary as JSON")
    p.add_argument("--no-progress", action="store_true", help="no progress bar (it goes to stderr)")


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

    status = sub.add_parser("status", help="what the store holds", description="Counts of the store: projects, "
                            "releases by dependency state and metadata source, failures by reason.")
    status.add_argument("--db", default="crawl.sqlite", help="SQLite store (default %(default)s)")
    return parser


def run_crawl(store: Store, index_url: str, projects: list[str] | None, workers: int = 8,
              retries: int = 5, resume: bool = True, progress: bool = True) -> CrawlSummary:
    session = make_session(pool_size=workers, retries=retries)
    fetcher = Fetcher(session)
    client = IndexClient(fetcher, index_url)
    bar = tqdm(unit="project", desc="crawl", disable=not progress, file=sys.stderr,
               total=len(projects) if projects else None)

    def tick(record: ProjectRecord) -> None:
        bar.update(1)
        bar.set_postfix(releases=sum(1 for _ in record.releases), refresh=False)

    try:
        return Crawler(store, client, fetcher, workers, on_project=tick).crawl(projects, resume=resume)
    finally:
        bar.close()
        session.close()


def print_summary(summary: CrawlSummary, as_json: bool) -> None:
    data = summary.as_dict()
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


def cmd_crawl(args: argparse.Namespace) -> int:
    store = Store(args.db)
    summary = run_crawl(store, args.index_url, None if args.all else args.project, args.workers,
                        args.retries, not args.no_resume, not args.no_progress)
    print_summary(summary, args.json)
    return 130 if summary.interrupted else 0


def cmd_demo(args: argparse.Namespace) -> int:
    from .demo import build_demo_index
    from .localindex import IndexServer

    out = Path(args.out)
    folder = build_demo_index(out / "index")
    db = out / "demo.sqlite"
    with IndexServer(folder, "pypiserver", log=out / "index-server.log") as server:
        if not args.json:
            print(f"serving {len(list(folder.iterdir()))} demo files at {server.url}")
        summary = run_crawl(Store(db), server.url, None, workers=4, progress=not args.no_progress, resume=False)
    print_summary(summary, args.json)
    if not args.json:
        print(f"store: {db}")
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    if not Path(args.db).exists():
        print(f"depgraph: no store at {args.db}", file=sys.stderr)
        return 2
    print(json.dumps(Store(args.db).counts(), indent=2))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    handler = {"crawl": cmd_crawl, "demo": cmd_demo, "status": cmd_status}[args.command]
    return handler(args)


if __name__ == "__main__":
    raise SystemExit(main())
