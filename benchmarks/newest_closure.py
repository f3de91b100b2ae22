"""How many projects `installable` decides without the resolver, and whether the resolver agrees.

    python benchmarks/newest_closure.py --db pypi.sqlite [--top 1000] [--python 3.9 ... 3.13]

Reads each project's selected release and its requirements once, then, for each Python, finds
the projects whose whole tree is met by newest releases (`analysis.newest_closure`): how many,
and how long. With `--top N`, the resolver (resolvelib, one provider a Python) is asked about the
top N projects the shortcut decided, and must give `installable` with the same pins: the peer,
timed beside it.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path

from packaging.utils import canonicalize_name

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from depgraph.analysis.installability import check_installable, select_projects
from depgraph.analysis.newest_closure import NewestReleases, clean_closures
from depgraph.analysis.release_index import ReleaseIndex
from depgraph.analysis.resolver import StoreProvider
from depgraph.analysis.targets import Target
from depgraph.store.reader import StoreSource


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", required=True)
    parser.add_argument("--top", type=int, default=0, help="check these against the resolver")
    parser.add_argument("--python", nargs="+", default=["3.9", "3.10", "3.11", "3.12", "3.13"])
    args = parser.parse_args()
    source = StoreSource.of(args.db)
    top = select_projects(source, None, args.top) if args.top else []
    started = time.perf_counter()
    newest = NewestReleases(source)
    print(
        f"read {len(newest.selected):,} selected releases in {time.perf_counter() - started:.1f} s"
    )
    everyone = sorted(newest.selected)
    index = ReleaseIndex(source) if top else None
    for python in args.python:
        target = Target(python)
        started = time.perf_counter()
        closures = clean_closures(newest, everyone, target)
        took = time.perf_counter() - started
        print(
            f"py{python}: {len(closures):,} of {len(everyone):,} projects "
            f"({len(closures) / len(everyone):.1%}) decided without the resolver in {took:.1f} s"
        )
        if index is None:
            continue
        decided = [canonicalize_name(p) for p in top if canonicalize_name(p) in closures]
        provider = StoreProvider(index, target)
        started = time.perf_counter()
        same = 0
        for project in decided:
            verdict = check_installable(index, project, target, provider=provider)
            same += verdict.verdict == "installable" and verdict.pinned == closures[project]
        print(
            f"  of the top {len(top):,}: {len(decided):,} decided so; the resolver pins the same "
            f"for {same:,} of them, in {time.perf_counter() - started:.1f} s"
        )
    print(f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2:.2f} GiB")


if __name__ == "__main__":
    main()
