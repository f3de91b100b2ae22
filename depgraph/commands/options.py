"""Options several commands share, and what they become: the store, the index access, the
sandbox, the cluster, progress."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeAlias

from depgraph.core.db import is_postgres, writable
from depgraph.crawler import DEFAULT_DEADLINE, PYPI_DEFAULT_RPS

from ..errors import UsageError
from ..exitcodes import ExitCode
from . import checks

if TYPE_CHECKING:
    from depgraph.crawler.access import IndexAccess, SandboxAccess
    from depgraph.crawler.crawl import CrawlSummary
    from depgraph.sandbox import Limits
    from depgraph.store import Store

__all__ = [
    "DB_ENV",
    "INDEX_URL_ENV",
    "Subparsers",
    "add_cluster_options",
    "add_db",
    "add_index_options",
    "add_limit_options",
    "add_sandbox_options",
    "common_options",
    "crawl_exit",
    "existing_store",
    "index_access",
    "limits_from",
    "progress_wanted",
    "removed_unless_kept",
    "resolve_defaults",
    "sandbox_access",
]


#: what `add_subparsers` gives, as each command's `add_parser` takes it
Subparsers: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"


def common_options() -> argparse.ArgumentParser:
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


#: where a command's --db and --index-url default to, when the options are not given
DB_ENV, INDEX_URL_ENV, CONTACT_ENV = "DEPGRAPH_DB", "DEPGRAPH_INDEX_URL", "DEPGRAPH_CONTACT"


def add_db(p: argparse.ArgumentParser, *, writes: bool = False) -> None:
    created = " (created if missing)" if writes else ""
    p.add_argument(
        "--db",
        default=None,
        type=checks.store_locator,
        help=f"the store: a SQLite file{created}, or a PostgreSQL URL "
        f"postgresql://user:password@host/dbname (default: ${DB_ENV}, else the config file's "
        "`db`, else crawl.sqlite)",
    )


def add_downloads(p: argparse.ArgumentParser, purpose: str) -> None:
    p.add_argument(
        "--downloads",
        type=checks.existing_file,
        help=f"download counts {purpose}: BigQuery CSV (project,downloads[,installer]), "
        "top-pypi-packages JSON or pypistats JSON",
    )


def download_counts(path: Path | None) -> dict[str, int] | None:
    """The counts of a downloads file by canonical name (None without a file)."""
    if path is None:
        return None
    from depgraph.analysis import read_downloads

    counts: dict[str, int] = read_downloads(path).set_index("name")["downloads"].to_dict()
    return counts


def resolve_defaults(args: argparse.Namespace) -> None:
    """Options left out take their environment variable, else the config file's value
    (`depgraph.config`), else the built-in default, each checked as if given (UsageError when a
    variable or the file holds something unusable)."""
    from depgraph.config import config_path, read_config

    wanted = [
        key for key in ("db", "index_url", "contact") if key in args and getattr(args, key) is None
    ]
    if not wanted:
        return
    settings = read_config()
    where = str(config_path())
    for key, variable, check in (
        ("db", DB_ENV, checks.store_locator),
        ("index_url", INDEX_URL_ENV, checks.index_url),
        ("contact", CONTACT_ENV, checks.contact),
    ):
        if key not in wanted:
            continue
        if os.environ.get(variable):
            setattr(args, key, _checked(check, os.environ[variable], f"${variable}"))
        elif key in settings:
            setattr(args, key, _checked(check, settings[key], f"{where}: {key}"))
    if "db" in args and args.db is None:
        args.db = "crawl.sqlite"


def _checked(check: Callable[[str], object], value: str, where: str) -> Any:
    try:
        return check(value)
    except argparse.ArgumentTypeError as exc:
        raise UsageError(f"{where}: {exc}") from None


def add_index_options(p: argparse.ArgumentParser) -> None:
    """How a crawl reaches the index (becomes an `IndexAccess`)."""
    p.add_argument(
        "--workers",
        type=checks.positive,
        default=8,
        help="concurrent projects, and HTTP connections (default %(default)s)",
    )
    p.add_argument(
        "--retries",
        type=checks.non_negative,
        default=5,
        help="tries per request on 429/5xx/resets before recording a failure (default %(default)s)",
    )
    p.add_argument(
        "--max-rps",
        type=checks.rate,
        default=None,
        help="politeness: at most this many requests per second (default: no cap, except "
        f"{PYPI_DEFAULT_RPS:g}/s against pypi.org)",
    )
    p.add_argument(
        "--deadline",
        type=checks.positive_seconds,
        default=DEFAULT_DEADLINE,
        metavar="SECONDS",
        help="seconds one request may take in all, retries included: a server that trickles "
        "its answer is cut off there (default %(default)g)",
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
    p.add_argument(
        "--cert",
        metavar="PATH",
        default=None,
        help="CA bundle (PEM) to verify the index's TLS certificate against; without it: "
        "REQUESTS_CA_BUNDLE, CURL_CA_BUNDLE, SSL_CERT_FILE, else the certifi bundle",
    )
    p.add_argument(
        "--contact",
        metavar="EMAIL_OR_URL",
        default=None,
        type=checks.contact,
        help="who runs this crawl, sent in the User-Agent so the index's operators can reach you "
        "(default: the DEPGRAPH_CONTACT environment variable, else the config file's `contact`; "
        "a crawl of pypi.org without one is warned about)",
    )
    p.add_argument(
        "--user-agent",
        default=None,
        help="the whole User-Agent header instead (default: pypi-depgraph/VERSION (contact: ...))",
    )


def add_cluster_options(p: argparse.ArgumentParser) -> None:
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
        metavar="local:N[xT]",
        default=None,
        help="start a Dask LocalCluster of N worker processes (of T threads each, default 1) on "
        "this machine for the run; local:2x8 crawls about twice as fast as threads alone on two "
        "cores (each thread also takes an sdist build)",
    )


def add_limit_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--build-timeout",
        type=checks.positive_seconds,
        default=120,
        help="wall-clock seconds per sdist build (default %(default)s)",
    )
    p.add_argument(
        "--build-memory",
        type=checks.positive,
        default=1024,
        help="MiB of memory per sdist build (default %(default)s)",
    )
    p.add_argument(
        "--build-pids",
        type=checks.positive,
        default=256,
        help="processes+threads per sdist build (default %(default)s)",
    )


def add_sandbox_options(p: argparse.ArgumentParser) -> None:
    """Where and how pending sdists are built (becomes a `SandboxAccess`)."""
    p.add_argument(
        "--sandbox",
        choices=("auto", "docker", "bwrap", "none"),
        default="auto",
        help="where sdists whose dependencies are not static get built: auto = Docker when a "
        "daemon answers, else bwrap, else none (they stay pending-sandbox) (default %(default)s)",
    )
    p.add_argument(
        "--sandbox-workers",
        type=checks.positive,
        default=2,
        help="sdist builds at once (default %(default)s)",
    )
    p.add_argument(
        "--retry-failed",
        action="store_true",
        help="also rebuild releases whose sandbox build failed before",
    )
    add_limit_options(p)


def progress_wanted(args: argparse.Namespace) -> bool:
    """Progress bars only where someone watches: a terminal on stderr, and not silenced."""
    return (
        not (args.no_progress or args.quiet or getattr(args, "json", False)) and sys.stderr.isatty()
    )


def quiet_wanted(args: argparse.Namespace) -> bool:
    return bool(args.quiet or getattr(args, "json", False))


def limits_from(args: argparse.Namespace) -> Limits:
    from depgraph.sandbox import Limits

    return Limits(
        memory_mb=args.build_memory, pids=args.build_pids, wall_seconds=args.build_timeout
    )


def _user_agent(args: argparse.Namespace, index_url: str | None) -> str:
    from depgraph.crawler.access import contact_from_env, is_pypi, user_agent

    explicit: str | None = getattr(args, "user_agent", None)
    if explicit:
        return explicit
    contact = getattr(args, "contact", None) or contact_from_env()
    if contact is None and index_url is not None and is_pypi(index_url) and not args.quiet:
        print(
            "depgraph: crawling pypi.org without a contact: give --contact EMAIL_OR_URL (or set "
            "DEPGRAPH_CONTACT) so PyPI's operators can reach you",
            file=sys.stderr,
        )
    return user_agent(contact)


def index_access(args: argparse.Namespace, index_url: str) -> IndexAccess:
    from depgraph.crawler.access import IndexAccess

    return IndexAccess(
        index_url=index_url,
        user_agent=_user_agent(args, index_url),
        ca_bundle=args.cert,
        retries=args.retries,
        max_rps=args.max_rps,
        verify_hashes=args.verify_hashes,
        entry_points=args.entry_points,
        workers=args.workers,
        deadline=args.deadline,
        latest_only=getattr(args, "latest_only", False),
        since=getattr(args, "since", None),
    )


def sandbox_access(
    args: argparse.Namespace, *, user_agent: str | None = None, kind: str | None = None
) -> SandboxAccess:
    from depgraph.crawler.access import SandboxAccess

    return SandboxAccess(
        kind=kind or args.sandbox,
        limits=limits_from(args),
        python=getattr(args, "python", "auto"),
        workers=getattr(args, "sandbox_workers", 2),
        retry_failed=getattr(args, "retry_failed", False),
        user_agent=user_agent or _user_agent(args, None),
        ca_bundle=getattr(args, "cert", None),
    )


def existing_store(db: str, *, reads_only: bool = False) -> Store:
    """The store at `db`, which must exist. A command that only reads opens it read-only where
    it cannot be written (a read-only disk); elsewhere opening brings an older store up to date."""
    from depgraph.store import Store

    if not is_postgres(db) and not Path(db).is_file():
        raise UsageError(f"no store at {db}")
    return Store(db, read_only=reads_only and not writable(db))


@contextmanager
def removed_unless_kept(db: str) -> Iterator[list[bool]]:
    """A SQLite store the command creates is removed again when the command fails, or when it
    says (by setting the yielded flag to False) that there is nothing worth keeping: a failed
    command creates nothing. An interrupted one keeps what it finished, to go on from."""
    created = not is_postgres(db) and not Path(db).exists()
    keep = [True]
    try:
        yield keep
    except KeyboardInterrupt:
        raise
    except BaseException:
        keep[0] = False
        raise
    finally:
        if created and not keep[0]:
            for suffix in ("", "-wal", "-shm", "-journal"):
                Path(db + suffix).unlink(missing_ok=True)


def crawl_exit(summary: CrawlSummary) -> ExitCode:
    """The exit code of a crawl, and on stderr why each project that failed did (the first 20)."""
    if summary.interrupted:
        return ExitCode.INTERRUPTED
    if summary.not_an_index is not None:
        print(f"depgraph: {summary.not_an_index}", file=sys.stderr)
        return ExitCode.PARTIAL
    problems = summary.problem_projects
    if problems:
        for name in problems[:20]:
            reason = summary.problem_reasons.get(name, "unreadable")
            print(f"depgraph: {name}: {reason}", file=sys.stderr)
        if len(problems) > 20:
            print(
                f"depgraph: and {len(problems) - 20} more projects missing from the index or "
                "unreadable (`depgraph status` counts them by reason)",
                file=sys.stderr,
            )
        return ExitCode.PARTIAL
    return ExitCode.OK
