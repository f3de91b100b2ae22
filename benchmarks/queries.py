"""Query benchmark: how fast `dependents`, `why` and `show` answer, from the shell and from the
service, on a large store (the 2023 import:
`depgraph import pypi-deps-db DIR --db X --latest-only`).

Measured in one run, side by side:
- the commands as a user runs them (a new process each: interpreter start-up included), and the
  floor beside them: the same direct-dependents question as one SQL statement in Python's sqlite3;
- the answers in-process, without and with the graph index (what the service holds);
- `depgraph serve` on loopback: project pages asked by 20 concurrent clients, p50/p95/max.

    python benchmarks/queries.py --db deps2023.db [--projects 200] [--clients 20] [--requests 1000]
"""

from __future__ import annotations

import argparse
import random
import sqlite3
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from depgraph.answers import Answers
from depgraph.store import Store
from tests.lib.service import served


def percentiles(seconds: list[float]) -> str:
    ms = sorted(s * 1000 for s in seconds)
    p95 = ms[min(len(ms) - 1, int(0.95 * len(ms)))]
    return (
        f"p50 {statistics.median(ms):.1f} ms, p95 {p95:.1f} ms, max {ms[-1]:.1f} ms (n={len(ms)})"
    )


def timed(call: object, *args: object, **kwargs: object) -> float:
    started = time.perf_counter()
    call(*args, **kwargs)  # type: ignore[operator]
    return time.perf_counter() - started


def command(db: str, *args: str) -> float:
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "depgraph", *args, "--db", db],
        check=False,  # (`why` exits 1 where there is no chain)
        stdout=subprocess.DEVNULL,
    )
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", required=True)
    parser.add_argument("--projects", type=int, default=200, help="projects asked about")
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--requests", type=int, default=1000, help="pages asked of the service")
    args = parser.parse_args()
    store = Store(args.db, read_only=True)
    answers = Answers(store)
    started = time.perf_counter()
    graph = Answers(store).graph_index()
    build = time.perf_counter() - started
    rng = random.Random(1)
    counts = graph.direct_counts[False]
    ranked = sorted(range(len(counts)), key=lambda i: -counts[i])
    top = [graph.names[i] for i in ranked[: args.projects // 2]]
    listed = [graph.names[i] for i in ranked if counts[i] > 0]
    names = top + rng.sample(listed, args.projects - len(top))
    biggest = top[0]
    print(f"store {args.db}: {len(graph.names)} nodes; graph index built in {build:.1f} s")
    print(f"projects asked: the {len(top)} most depended upon and {len(names) - len(top)} others")

    raw = sqlite3.connect(f"file:{Path(args.db).resolve()}?mode=ro", uri=True)
    floor_sql = (
        "SELECT count(DISTINCT r.project) FROM requirements q JOIN releases r ON r.id ="
        " q.release_id WHERE q.name = ? AND r.is_latest = 1 AND r.deps_state = 'known'"
        " AND r.project != ? AND q.kind = 'run'"
    )
    floor = [timed(lambda n: raw.execute(floor_sql, (n, n)).fetchone(), n) for n in names]
    store_direct = [timed(answers.dependents, n) for n in names]
    shows = [timed(answers.project, n) for n in names]
    # sources that do reach the biggest (a chain to find), and the same number that may not
    reaching = rng.sample(graph.transitive(biggest, extras=False), 50)
    whys = [timed(answers.why, n, biggest) for n in reaching]
    whys_any = [timed(answers.why, n, biggest) for n in names[-50:]]
    indexed = Answers(store)
    indexed._graph = graph  # the index built above, as the service holds it
    graph_direct = [timed(indexed.dependents, n) for n in names]
    graph_transitive = [timed(indexed.dependents, n, transitive=True) for n in names]
    print("in-process answers:")
    print(f"  one SQL statement (count only, the floor): {percentiles(floor)}")
    print(f"  dependents from the store:                 {percentiles(store_direct)}")
    print(f"  show from the store:                       {percentiles(shows)}")
    print(f"  why X {biggest}, X one of its transitive dependents: {percentiles(whys)}")
    print(f"  why X {biggest}, X any listed project:              {percentiles(whys_any)}")
    print(f"  dependents from the graph index:           {percentiles(graph_direct)}")
    print(f"  dependents --transitive, graph index:      {percentiles(graph_transitive)}")
    print("commands (a new process each):")
    for label, cli in (
        (f"dependents {biggest}", ("dependents", biggest)),
        (f"show {biggest}", ("show", biggest)),
        (f"why {reaching[0]} {biggest}", ("why", reaching[0], biggest)),
        ("python -c pass (start-up alone)", ()),
    ):
        if cli:
            runs = [command(args.db, *cli) for _ in range(5)]
        else:
            runs = [
                timed(subprocess.run, [sys.executable, "-c", "pass"], check=True) for _ in range(5)
            ]
        print(f"  {label}: {percentiles(runs)}")

    with served("--db", args.db, timeout=600) as url:
        mix = [rng.choice(names) for _ in range(args.requests)]
        requests.get(f"{url}/project/{biggest}", timeout=60).raise_for_status()

        def page(name: str) -> float:
            started = time.perf_counter()
            requests.get(f"{url}/project/{name}", timeout=60).raise_for_status()
            return time.perf_counter() - started

        # each project once, then a mix with repeats (popular pages are asked again)
        for label, asked in (("each project once", names), ("a random mix", mix)):
            with ThreadPoolExecutor(args.clients) as clients:
                started = time.perf_counter()
                pages = list(clients.map(page, asked))
                wall = time.perf_counter() - started
            print(
                f"service, {args.clients} concurrent clients, project pages, {label}: "
                f"{percentiles(pages)}; {len(pages) / wall:.0f} pages/s"
            )


if __name__ == "__main__":
    main()
