"""Installability benchmark: `depgraph installable` beside `pip install --dry-run`, in one run.

(a) A loopback index of real wheels (../shared's dev corpus, the installability test cases and the
    demo wheels) as a static mirror, crawled into SQLite. Every project x 5 Pythons through our
    resolver, timed; pip's `install --dry-run --report` on a random sample of the same (project,
    Python) pairs, timed (pip is ~1 s a verdict); the rate ratio, and agreement on the sample.
(b) The 2023 PyPI import (../shared/data/pypi-deps-db, imported once): the top N projects by
    direct dependents x 3 Pythons, timed, with the share installable per Python.
(c) With --random N: N projects drawn at random from the import x Python 3.9-3.13, the whole
    `installable` path (the newest-closure shortcut, then the resolver) in this process and then
    on a Dask LocalCluster of two processes, side by side; where the resolver's time goes by
    verdict, and what every project of the import would take at the measured rates.

(d) With --rounds-sample N: N other random projects on Python 3.12 with --max-rounds 2000 and
    then 200: time and the verdicts that change.

    python benchmarks/installable.py [--sample 40] [--top 5000] [--import-db PATH] [--random N]
        [--rounds-sample N] [--skip-loopback] [--skip-top]
"""

from __future__ import annotations

import argparse
import random
import resource
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from depgraph.analysis.installability import check_installable, select_projects, share_installable
from depgraph.analysis.installability import installability_table as table_of
from depgraph.analysis.release_index import ReleaseIndex
from depgraph.analysis.targets import Target
from depgraph.crawler.access import IndexAccess
from depgraph.demo import build_demo_index
from depgraph.store import Store
from depgraph.store.reader import StoreSource
from depgraph.wiring import run_crawl
from tests.lib.installable_cases import pip_dry_run, write_installable_index
from tests.lib.mirror import write_static_mirror
from tests.lib.servers import IndexServer

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
PYTHONS = ("3.9", "3.10", "3.11", "3.12", "3.13")


def peak_gib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / (1 << 20)


def loopback(sample: int, seed: int = 3) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        flat = Path(tmp) / "flat"
        flat.mkdir()
        for wheel in sorted((SHARED / "corpus" / "dev" / "wheels").glob("*.whl")):
            (flat / wheel.name).write_bytes(wheel.read_bytes())
        demo = build_demo_index(Path(tmp) / "demo")
        for wheel in demo.glob("*.whl"):
            (flat / wheel.name).write_bytes(wheel.read_bytes())
        write_installable_index(flat, Path(tmp) / "unused")
        mirror = write_static_mirror(flat, Path(tmp) / "mirror")
        db = Path(tmp) / "bench.sqlite"
        with IndexServer(mirror, "static") as server:
            run_crawl(Store(db), IndexAccess(index_url=server.url), None, progress=False)
            index = ReleaseIndex(db)
            projects = index.project_names()
            targets = [Target(p) for p in PYTHONS]
            started = time.perf_counter()
            table = table_of(index, projects, targets)
            ours = time.perf_counter() - started
            n = len(table)
            print(
                f"(a) loopback index of real wheels: {len(projects)} projects x {len(PYTHONS)} "
                f"Pythons = {n} verdicts in {ours:.2f} s ({n / ours:,.0f} verdicts/s)"
            )
            for target, share in sorted(share_installable(table).items()):
                print(f"    {target}: {100 * share:.0f} % installable")
            rng = random.Random(seed)
            pairs = rng.sample([(p, py) for p in projects for py in PYTHONS], sample)
            chosen = {}
            for project, python in pairs:
                verdict = check_installable(index, project, Target(python))
                chosen[(project, python)] = verdict
            started = time.perf_counter()
            # one pip at a time: its rate per verdict is what is compared
            with ThreadPoolExecutor(1) as pool:
                pip = list(
                    pool.map(
                        lambda pair: pip_dry_run(
                            server.url,
                            f"{pair[0]}=={chosen[pair].version}"
                            if chosen[pair].version
                            else pair[0],
                            pair[1],
                        ),
                        pairs,
                    )
                )
            pip_secs = time.perf_counter() - started
            agree = sum(
                (set(chosen[pair].pinned) if chosen[pair].verdict == "installable" else None) == got
                for pair, got in zip(pairs, pip, strict=True)
            )
            pip_rate, our_rate = sample / pip_secs, n / ours
            print(
                f"    pip install --dry-run --report, {sample} sampled verdicts: {pip_secs:.1f} s "
                f"({pip_rate:.2f} verdicts/s); ours {our_rate / pip_rate:,.0f}x pip's rate; "
                f"agreement on the sample: {agree}/{sample}"
            )
            index.close()


def imported(db: Path, top: int) -> None:
    if not db.exists():
        from depgraph.crawler.importers import import_pypi_deps_db

        print(f"importing {SHARED / 'data' / 'pypi-deps-db'} into {db} (once)")
        import_pypi_deps_db(SHARED / "data" / "pypi-deps-db", Store(db))
    started = time.perf_counter()
    projects = select_projects(StoreSource.of(db), None, top)
    selected = time.perf_counter() - started
    started = time.perf_counter()
    index = ReleaseIndex(db)
    loaded = time.perf_counter() - started
    targets = [Target("3.8"), Target("3.10"), Target("3.12")]
    started = time.perf_counter()
    table = table_of(index, projects, targets)
    secs = time.perf_counter() - started
    print(
        f"(b) 2023 import: index loaded in {loaded:.1f} s, top {top} chosen in {selected:.1f} s; "
        f"{len(table)} verdicts in {secs:.1f} s ({len(table) / secs:,.0f}/s); "
        f"peak RSS {peak_gib():.2f} GiB"
    )
    counts = table.groupby(["target", "verdict"]).size()
    for target, share in sorted(share_installable(table).items()):
        detail = ", ".join(f"{v}={n}" for v, n in counts[target].items())
        print(f"    {target}: {100 * share:.1f} % installable ({detail})")
    print(
        "    assumption: no file data in an import: every release assumed to have a file; "
        "Requires-Python and markers apply"
    )


def _random_projects(db: Path, n: int, seed: int) -> tuple[StoreSource, list[str], list[str]]:
    """The store, all its projects, and n of them drawn at random (sorted)."""
    source = StoreSource.of(db)
    index = ReleaseIndex(source)
    everything: list[str] = list(index.project_names())
    index.close()
    return source, everything, sorted(random.Random(seed).sample(everything, n))


def sampled(db: Path, n: int, seed: int = 1) -> None:
    from distributed import Client, LocalCluster

    from depgraph.analysis.installability import NEWEST_THROUGHOUT, check_installability

    source, everything, projects = _random_projects(db, n, seed)
    targets = [Target(p) for p in PYTHONS]
    started = time.perf_counter()
    here = check_installability(source, targets, projects=projects)
    one = time.perf_counter() - started
    with (
        LocalCluster(  # type: ignore[no-untyped-call]
            n_workers=2, threads_per_worker=1, dashboard_address="127.0.0.1:0"
        ) as lc,
        Client(lc) as client,  # type: ignore[no-untyped-call]
    ):
        started = time.perf_counter()
        there = check_installability(
            source, targets, projects=projects, executor=client.get_executor(pure=False)
        )
        two = time.perf_counter() - started
    columns = ["project", "target", "verdict", "pinned"]
    same = there.table[columns].equals(here.table[columns])
    table = here.table
    short = table["detail"].eq(NEWEST_THROUGHOUT)
    print(
        f"(c) 2023 import, {n} of {len(everything)} projects at random x {len(targets)} Pythons "
        f"({len(table)} verdicts): one process {one:.1f} s, LocalCluster of 2 processes "
        f"{two:.1f} s ({one / two:.2f}x), the same rows: {same}; peak RSS here "
        f"{peak_gib():.2f} GiB"
    )
    print(f"    {short.mean():.1%} decided by the newest-closure shortcut")
    resolved = table[~short]
    by = resolved.groupby("verdict")["seconds"].agg(["count", "sum", "median", "max"])
    total = float(resolved["seconds"].sum())
    for verdict, row in by.iterrows():
        print(
            f"    resolver, {verdict}: {int(row['count'])} verdicts, {row['sum']:.1f} s "
            f"({row['sum'] / total:.0%} of the resolver's time), median {row['median']:.4f} s, "
            f"max {row['max']:.1f} s"
        )
    scale = len(everything) / n
    print(
        f"    the resolver's part for every project of the import at this rate: "
        f"{total * scale / 3600:.1f} h in one process; {total * scale / 3600 * two / one:.1f} h "
        "on two at the speed-up measured here (the shortcut's part: benchmarks/newest_closure.py)"
    )


def rounds_tradeoff(db: Path, n: int, seed: int = 2) -> None:
    from depgraph.analysis.installability import check_installability

    source, _, projects = _random_projects(db, n, seed)
    verdicts = {}
    for rounds in (2000, 200):
        started = time.perf_counter()
        result = check_installability(
            source, [Target("3.12")], projects=projects, max_rounds=rounds
        )
        counts = result.table["verdict"].value_counts().to_dict()
        print(
            f"(d) {n} random projects, Python 3.12, --max-rounds {rounds}: "
            f"{time.perf_counter() - started:.1f} s, {counts}"
        )
        verdicts[rounds] = result.table.set_index("project")["verdict"]
    changed = verdicts[2000] != verdicts[200]
    moves = (verdicts[2000][changed] + " -> " + verdicts[200][changed]).value_counts().to_dict()
    print(f"    verdicts changed: {int(changed.sum())} {moves}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sample", type=int, default=40)
    parser.add_argument("--top", type=int, default=5000)
    parser.add_argument(
        "--import-db",
        type=Path,
        default=Path(__file__).resolve().parent / ".cache" / "pypi-deps-db.sqlite",
    )
    parser.add_argument("--random", type=int, default=0, help="(c): N projects at random")
    parser.add_argument("--rounds-sample", type=int, default=0, help="(d): N projects at random")
    parser.add_argument("--skip-loopback", action="store_true")
    parser.add_argument("--skip-top", action="store_true")
    args = parser.parse_args()
    if not args.skip_loopback:
        loopback(args.sample)
    args.import_db.parent.mkdir(parents=True, exist_ok=True)
    if not args.skip_top:
        imported(args.import_db, args.top)
    if args.random:
        sampled(args.import_db, args.random)
    if args.rounds_sample:
        rounds_tradeoff(args.import_db, args.rounds_sample)


if __name__ == "__main__":
    main()
