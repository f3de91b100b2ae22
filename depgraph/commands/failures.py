"""`depgraph failures`: why releases and projects failed, from the store, without SQL."""

from __future__ import annotations

import argparse

from ..exitcodes import ExitCode
from ..output import print_json
from . import checks
from .options import Subparsers, add_db, existing_store

__all__ = ["add_parser", "run"]


def add_parser(sub: Subparsers, common: argparse.ArgumentParser) -> None:
    failures = sub.add_parser(
        "failures",
        parents=[common],
        help="the failures the store recorded, and why",
        description="The failures a crawl, a build or an import recorded against projects and "
        "releases: stage, reason, file and detail, filtered by stage, reason or project.",
    )
    add_db(failures)
    failures.add_argument("--stage", help="only this stage (page, wheel, sdist, sandbox, ...)")
    failures.add_argument("--reason", help="only this reason (http-404, metadata-identity, ...)")
    failures.add_argument("--project", type=checks.project_name, help="only this project")
    failures.add_argument(
        "--limit",
        type=checks.page_size,
        default=50,
        help="rows to show, at most 1000 (default %(default)s)",
    )
    failures.add_argument(
        "--offset", type=checks.non_negative, default=0, help="rows to skip (default 0)"
    )
    failures.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from packaging.utils import canonicalize_name

    from ..answers import Answers

    project = canonicalize_name(args.project) if args.project else None
    answer = Answers(existing_store(args.db, reads_only=True)).failures(
        stage=args.stage, reason=args.reason, project=project, limit=args.limit, offset=args.offset
    )
    if args.json:
        print_json(answer)
        return ExitCode.OK
    total, rows = answer["failures"], answer["shown"]
    assert isinstance(total, int) and isinstance(rows, list)
    print(
        f"{total} failures"
        + (f" ({len(rows)} shown; --limit/--offset for more)" if total > len(rows) else "")
    )
    for row in rows:
        what = " ".join(str(row["detail"] or "").split())[:160]
        where = f"{row['project']} {row['version'] or ''}".strip()
        parts = [f"{row['stage']}:{row['reason']}", str(row["filename"] or ""), what]
        print(f"  {where}: " + " ".join(part for part in parts if part))
    return ExitCode.OK
