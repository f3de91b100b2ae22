"""`depgraph status`: what the store holds. Loads neither the HTTP stack nor pandas."""

from __future__ import annotations

import argparse
import os
import socket

from depgraph.core.db import display_locator
from depgraph.core.schema import RunStatus

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
    status["releases_read"] = store.get_meta("releases_read")
    status["whole_index"] = store.get_meta("whole_index")
    status["last_runs"] = [_with_process_checked(run) for run in store.last_runs()]
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
    serial, at = status["consistent_serial"], status["consistent_at"]
    consistent = (
        f"serial {serial}"
        if serial
        else f"the index as of {at}"
        if at
        else "not yet (no complete crawl of every project, nor update)"
    )
    print(f"  index: {status['index_url']}; consistent with {consistent}")
    if status["releases_read"]:
        print(f"  the last crawl or update read {status['releases_read']} of each project")
    if status["whole_index"]:
        print(f"  a copy of a whole index: {status['whole_index']}")
    for run_ in status["last_runs"]:  # type: ignore[attr-defined]
        print(
            f"  run {run_['id']}: {run_['status']}, "
            f"{run_['started_at']} .. {run_['finished_at'] or ''}"
        )
    return ExitCode.OK


def _with_process_checked(run: dict[str, object]) -> dict[str, object]:
    """A run still marked running whose process on this host is gone was interrupted (killed,
    or the machine went down): said so. A process on another host cannot be checked from here."""
    owner = str(run.get("owner") or "")
    host, _, pid = owner.rpartition(":")
    if run["status"] != RunStatus.RUNNING or host != socket.gethostname() or not pid.isdigit():
        return run
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return {**run, "status": "interrupted (its process is gone; run it again to resume)"}
    except PermissionError:
        pass  # someone else's process, alive
    return run
