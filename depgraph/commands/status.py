"""`depgraph status`: what the store holds. Loads neither the HTTP stack nor pandas."""

from __future__ import annotations

import argparse

from depgraph.core.db import display_locator

from ..exitcodes import ExitCode
from ..output import print_json
from .options import Subparsers, add_db, existing_store

__all__ = ["add_parser", "run"]


def add_parser(sub: Subparsers, common: argparse.ArgumentParser) -> None:
    status = sub.add_parser(
        "status",
        parents=[common],
        help="what the store holds",
        description="Counts of the store: projects, "
        "releases by dependency state and metadata source, failures by reason, and the serial "
        "or time the store is consistent to.",
    )
    add_db(status)
    status.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    store = existing_store(args.db, reads_only=True)
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
    for run_ in status["last_runs"]:  # type: ignore[attr-defined]
        print(
            f"  run {run_['id']}: {run_['status']}, "
            f"{run_['started_at']} .. {run_['finished_at'] or ''}"
        )
    return ExitCode.OK
