"""`depgraph why A B`: a shortest chain of requirements from A to B, each edge with its specifier
and marker, over each project's latest release."""

from __future__ import annotations

import argparse

from ..exitcodes import ExitCode
from ..output import print_json
from . import checks
from .options import Subparsers, add_db, existing_store

__all__ = ["add_parser", "run"]


def add_parser(sub: Subparsers, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "why",
        parents=[common],
        help="why A depends on B: a shortest chain of requirements",
        description="A shortest chain of requirements from A to B over each project's latest "
        "release, with the specifier and marker of each edge; exit 1 when there is none.",
    )
    p.add_argument("source", type=checks.project_name, help="the project that depends")
    p.add_argument("target", type=checks.project_name, help="the project depended on")
    add_db(p)
    p.add_argument("--extras", action="store_true", help="follow requirements through extras too")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from packaging.utils import canonicalize_name

    from ..answers import Answers

    source: str = canonicalize_name(args.source)
    target: str = canonicalize_name(args.target)
    path = Answers(existing_store(args.db, reads_only=True)).why(source, target, args.extras)
    if args.json:
        print_json({"source": source, "target": target, "path": path})
    elif path is not None:
        print(f"{source} depends on {target} through {len(path)} requirement(s):")
        for step in path:
            marker = f"; {step['marker']}" if step["marker"] else ""
            extra = f" [through extra {step['extra']}]" if step["extra"] else ""
            print(f"  {step['from']} -> {step['name']}{step['specifier']}{marker}{extra}")
    else:
        print(
            f"{source} does not depend on {target}"
            + (" (even through extras)" if args.extras else "")
        )
    return ExitCode.OK if path is not None else ExitCode.PARTIAL
