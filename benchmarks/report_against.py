"""`depgraph report` of this tree against the same command of another commit, side by side.

A shared machine's speed drifts from minute to minute, so a time measured alone says little: both
trees run in turn, each run of one right after a run of the other, on the same store. Each tree is
a `git archive` of its commit in a temporary folder, run as `python -m depgraph report` from there
(its own code, whatever is installed), under the same Python. Prints every run (wall time, CPU
time of the report and its worker, peak RSS of the larger of the two) and the median ratio.

    python benchmarks/report_against.py --store pypi.sqlite --against REV [--runs 5]
        [--against-store old.sqlite]
"""

from __future__ import annotations

import argparse
import io
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def export(commit: str, into: Path) -> Path:
    """The tree of `commit` (this repository's) unpacked into `into`."""
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", commit], check=True, capture_output=True
    ).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(into, filter="data")
    return into


#: runs the report in a process of its own and prints what the kernel counted for it and its worker
_MEASURED = (
    "import resource, subprocess, sys\n"
    "subprocess.run([sys.executable, '-m', 'depgraph', 'report', '--db', sys.argv[1], '--out',"
    " sys.argv[2], '-q'], check=True, stdout=subprocess.DEVNULL)\n"
    "used = resource.getrusage(resource.RUSAGE_CHILDREN)\n"
    "print(used.ru_utime + used.ru_stime, used.ru_maxrss)\n"
)


def one_run(tree: Path, store: Path) -> tuple[float, float, float]:
    """(wall s, CPU s of the report and its worker, peak RSS GiB of the larger of the two)."""
    with tempfile.TemporaryDirectory() as out:
        started = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-c", _MEASURED, str(store), out],
            cwd=tree,
            check=True,
            capture_output=True,
            text=True,
        )
        wall = time.perf_counter() - started
    cpu, peak = done.stdout.split()
    return wall, float(cpu), int(peak) / (1 << 20)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--store", type=Path, required=True, help="the store both trees report on")
    ap.add_argument(
        "--against-store",
        type=Path,
        default=None,
        help="the other commit's copy of the store, where the two read different schema "
        "versions (a copy of the same data; default: --store)",
    )
    ap.add_argument("--against", required=True, help="the commit to compare with (e.g. a tag)")
    ap.add_argument("--this", default="HEAD", help="the commit measured (default HEAD)")
    ap.add_argument("--runs", type=int, default=5, help="runs of each (default 5)")
    args = ap.parse_args()
    walls: dict[str, list[float]] = {args.against: [], args.this: []}
    with tempfile.TemporaryDirectory() as scratch:
        trees = {
            commit: export(commit, Path(scratch) / label)
            for commit, label in ((args.against, "against"), (args.this, "this"))
        }
        stores = {args.against: args.against_store or args.store, args.this: args.store}
        for _ in range(args.runs):
            for commit, tree in trees.items():
                wall, cpu, peak = one_run(tree, stores[commit])
                walls[commit].append(wall)
                print(
                    f"{commit:>12}: {wall:6.2f} s wall, {cpu:6.2f} s CPU, peak RSS {peak:.2f} GiB"
                )
    then, now = statistics.median(walls[args.against]), statistics.median(walls[args.this])
    print(
        f"median {args.this} {now:.2f} s against {args.against} {then:.2f} s "
        f"({now / then:.2f}x), {args.runs} runs each, alternating"
    )


if __name__ == "__main__":
    main()
