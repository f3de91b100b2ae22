"""Analysis benchmark: every metric on (a) the real graph imported from ../shared/data/pypi-deps-db
and (b) a generated graph of today's PyPI size, beside per-node `nx.ancestors`, side by side.

Prints time and peak memory of each step (peak RSS is read from the kernel after each step, so it is
the process high-water mark so far), the per-node networkx baseline extrapolated from a timed random
sample, and the real-data sanity checks: rank correlation of our dependents with the BigQuery
dependents table in ../shared/data/pypi-reverse-deps-top/ and with downloads in
../shared/data/top-pypi-packages/.

    python benchmarks/analysis.py [--store benchmarks/.cache/pypi-deps-db.sqlite] [--skip-real]
    [--skip-synthetic]
"""

from __future__ import annotations

import argparse
import gc
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import networkx as nx  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from scipy import stats  # noqa: E402

from depgraph.analysis import load_graph, read_downloads  # noqa: E402
from depgraph.analysis.centrality import pagerank  # noqa: E402
from depgraph.analysis.health import cycles  # noqa: E402
from depgraph.analysis.pinning import classify_pinning  # noqa: E402
from depgraph.analysis.reach import direct_dependents, transitive_dependents  # noqa: E402
from depgraph.analysis.satisfiable import unmet_reading  # noqa: E402
from depgraph.analysis.synthetic import synthetic_graph  # noqa: E402
from depgraph.store.reader import (  # noqa: E402
    read_latest_versions,
    read_requirements,
    read_versions_of,
)

DATA = Path(os.environ.get("DEPGRAPH_SHARED", ROOT.parent / "shared")) / "data"


def peak_gib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / (1 << 20)


T = TypeVar("T")


def timed(label: str, fn: Callable[[], T]) -> tuple[T, float]:
    started = time.perf_counter()
    value = fn()
    secs = time.perf_counter() - started
    print(f"  {label:44} {secs:8.2f} s   peak RSS {peak_gib():5.2f} GiB")
    return value, secs


def networkx_baseline(adj, counts: np.ndarray, per_bin: int, seed: int = 0) -> tuple[float, int]:  # type: ignore[no-untyped-def]
    """Estimated seconds of `len(nx.ancestors(g, n))` for every node, on an nx.DiGraph of the same
    graph.

    The cost of one call grows with the node's ancestor set, which is heavy-tailed, so a uniform
    sample would miss the few nodes that dominate: nodes are stratified by log2 of their (known)
    transitive count, `per_bin` of each stratum are timed, and each stratum's mean is scaled by its
    size.
    """
    coo = adj.tocoo()
    g: nx.DiGraph[int] = nx.DiGraph()
    g.add_nodes_from(range(adj.shape[0]))
    g.add_edges_from(zip(coo.row.tolist(), coo.col.tolist(), strict=False))
    rng = random.Random(seed)
    strata = np.floor(np.log2(counts + 1)).astype(int)
    total, timed_nodes = 0.0, 0
    for stratum in np.unique(strata):
        members = np.flatnonzero(strata == stratum).tolist()
        sample = rng.sample(members, min(per_bin, len(members)))
        started = time.perf_counter()
        for n in sample:
            len(nx.ancestors(g, n))
        total += (time.perf_counter() - started) / len(sample) * len(members)
        timed_nodes += len(sample)
    return total, timed_nodes


def run_metrics(adj, label: str, per_bin: int) -> None:  # type: ignore[no-untyped-def]
    total = 0.0
    trans_secs = 0.0
    counts = None
    for name, fn in (
        ("direct dependents", lambda: direct_dependents(adj)),
        (
            "transitive dependents (exact, ours)",
            lambda: transitive_dependents(adj, engine="bitsets"),
        ),
        ("PageRank", lambda: pagerank(adj)),
    ):
        value, secs = timed(name, fn)
        total += secs
        if name.startswith("transitive"):
            trans_secs, counts = secs, value
    assert isinstance(counts, np.ndarray)
    nk_counts, nk_secs = timed(
        "transitive dependents (NetworKit ReachableNodes exact)",
        lambda: transitive_dependents(adj, engine="networkit"),
    )
    print(
        f"  NetworKit vs ours, same run: {nk_secs:.2f} s vs {trans_secs:.2f} s "
        f"({trans_secs / nk_secs:.1f}x); counts identical: {np.array_equal(nk_counts, counts)}"
    )
    estimate, n = networkx_baseline(adj, counts, per_bin)
    print(
        f"  per-node nx.ancestors, stratified by ancestor count ({n} nodes timed): "
        f"{estimate:,.0f} s estimated "
        f"for all {adj.shape[0]:,} nodes; ours {trans_secs:.1f} s = "
        f"{estimate / trans_secs:,.0f}x faster"
    )
    print(f"  {label}: direct + transitive + PageRank: {total:.1f} s")


#: runs `depgraph report` and prints the peak RSS (KiB) of the report process and of its
#: largest child (the specifier-check worker), which run side by side
_REPORT_WITH_PEAKS = (
    "import os, resource, sys\n"
    "from depgraph.cli import main\n"
    "code = main(sys.argv[1:])\n"
    "own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
    "child = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss\n"
    "print(own, child, file=sys.stderr)\n"
    "sys.stdout.flush()\n"
    "sys.stderr.flush()\n"
    "os._exit(code)\n"  # as the `depgraph` script ends a report (depgraph.cli.run)
)


def _rss_gib(pid: int) -> float:
    """Resident memory of one process now (0 once it has ended)."""
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / (1 << 20)
    except OSError:
        pass
    return 0.0


def _tree_rss_gib(pid: int) -> float:
    """Resident memory of a process and its children, sampled now."""
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as found:
            children = [int(c) for c in found.read().split()]
    except OSError:
        children = []
    return _rss_gib(pid) + sum(_rss_gib(c) for c in children)


def report_end_to_end(store: Path, label: str = "(a)", runs: int = 1) -> None:
    """`depgraph report` as a user runs it, in its own process: wall time, the peak memory of that
    process and of the specifier-check worker it starts (the sum of the two peaks bounds them
    together), and the peak of both together sampled every 20 ms."""
    for _ in range(runs):
        with tempfile.TemporaryDirectory() as out:
            command = [sys.executable, "-c", _REPORT_WITH_PEAKS, "report", "--db", str(store)]
            command += ["--out", out, "-q"]
            started = time.perf_counter()
            process = subprocess.Popen(
                command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
            )
            together = 0.0
            while process.poll() is None:
                together = max(together, _tree_rss_gib(process.pid))
                time.sleep(0.02)
            wall = time.perf_counter() - started
            assert process.stderr is not None
            errors = process.stderr.read()
            if process.returncode != 0:
                raise SystemExit(f"depgraph report failed: {errors}")
        own, child = (int(v) / (1 << 20) for v in errors.split()[-2:])
        print(
            f"{label} depgraph report, end to end: {wall:.1f} s wall; peak RSS {own:.2f} GiB "
            f"report + {child:.2f} GiB specifier worker = {own + child:.2f} GiB at most; "
            f"{together:.2f} GiB together, sampled "
            "(targets: 10 s on the import, 45 s generated; 1.5 GiB)"
        )


def _without_gc(run: Callable[[], T]) -> T:
    """`run()` with the cyclic garbage collector off, as the report's worker runs its check."""
    gc.disable()
    try:
        return run()
    finally:
        gc.enable()


def real(store: Path, sample: int) -> None:
    if not store.exists():
        from depgraph.crawler.importers import import_pypi_deps_db
        from depgraph.store import Store

        print(f"importing {DATA / 'pypi-deps-db'} into {store} (once; reused afterwards)")
        timed(
            "import pypi-deps-db", lambda: import_pypi_deps_db(DATA / "pypi-deps-db", Store(store))
        )
    report_end_to_end(store, runs=3)
    print("(a) real graph: pypi-deps-db, latest release of each project, runtime edges")
    g, _ = timed("load graph from the store", lambda: load_graph(store))
    adj = g.adjacency(include_extras=False)
    print(f"  {g.n:,} nodes, {adj.nnz:,} runtime edges ({len(g.edges):,} with extras)")
    run_metrics(adj, "(a)", sample)
    reqs, _ = timed("read requirements (health checks)", lambda: read_requirements(store))
    health = 0.0
    for name, fn in (
        ("cycles", lambda: cycles(g)),
        ("pinning (metapackages, freezes, pinned apps)", lambda: classify_pinning(reqs)),
        (
            "unsatisfiable pairs (read + check in one process, as the report's worker)",
            lambda: _without_gc(
                lambda: unmet_reading(
                    reqs["target"],
                    reqs["specifier"],
                    lambda names: read_latest_versions(store, names),
                    lambda names: read_versions_of(store, names),
                )
            ),
        ),
    ):
        health += timed(name, fn)[1]
    print(f"  (a): health checks {health:.1f} s (after reading the requirements)")
    table = pd.DataFrame(
        {
            "name": g.names.to_numpy(),
            "ours": direct_dependents(adj),
            "ours_transitive": transitive_dependents(adj),
        }
    )
    truth = pd.read_csv(
        DATA / "pypi-reverse-deps-top" / "top-pypi-dependents-2026-09-02-top1010.csv"
    )
    both = truth.merge(table, left_on="project", right_on="name")
    rho = stats.spearmanr(both["dependents"], both["ours"]).statistic
    tau = stats.kendalltau(both["dependents"], both["ours"]).statistic
    print(
        "  sanity: our direct dependents (2023 data) vs BigQuery dependents (2026) over the "
        f"{len(both)} of "
        f"{len(truth)} top projects present: Spearman {rho:.3f}, Kendall {tau:.3f}"
    )
    dl = read_downloads(DATA / "top-pypi-packages" / "top-pypi-packages.min.json")
    both = dl.merge(table, on="name")
    both = both[both["ours"] > 0]
    print(
        f"  sanity: our direct dependents vs March 2026 downloads over {len(both):,} projects: "
        "Spearman "
        f"{stats.spearmanr(both['downloads'], both['ours']).statistic:.3f}; transitive: "
        f"{stats.spearmanr(both['downloads'], both['ours_transitive']).statistic:.3f}"
    )


def generated_store(store: Path, nodes: int = 1_013_630, edges: int = 4_000_000) -> None:
    """A store of today's PyPI size, written through the store's own import path: one release per
    project, the generated graph's edges as its requirements (those via an extra under extra
    `x`). Made once, reused afterwards."""
    if store.exists():
        return
    from depgraph.core.requirements import Edge
    from depgraph.core.schema import RequirementKind
    from depgraph.store import ImportedRelease, Store

    g, _ = timed("generate", lambda: synthetic_graph(nodes, edges))
    names = g.names.to_numpy()
    e = g.edges.sort_values("src")
    bounds = np.searchsorted(e["src"].to_numpy(), np.arange(len(names) + 1))
    dst, via = e["dst"].to_numpy(), e["via_extra"].to_numpy()
    target = Store(store)
    started = time.perf_counter()
    batch: list[ImportedRelease] = []
    for i, name in enumerate(names):
        reqs = [
            Edge(names[d], names[d], "", None, None, RequirementKind.RUN)
            if not x
            else Edge(
                f'{names[d]}; extra == "x"',
                names[d],
                "",
                'extra == "x"',
                "x",
                RequirementKind.EXTRA,
            )
            for d, x in zip(
                dst[bounds[i] : bounds[i + 1]], via[bounds[i] : bounds[i + 1]], strict=True
            )
        ]
        batch.append(ImportedRelease(name, "1.0", "import:generated", None, reqs))
        if len(batch) == 5000:
            target.write_imported(batch, "import:generated")
            batch = []
    if batch:
        target.write_imported(batch, "import:generated")
    print(
        f"  generated store {store}: {len(names):,} projects, {len(e):,} requirements, "
        f"written in {time.perf_counter() - started:.0f} s"
    )


def synthetic(sample: int) -> None:
    print("(b) generated graph of today's PyPI size (1,013,630 projects), heavy-tailed in-degree")
    g, _ = timed("generate", lambda: synthetic_graph(1_013_630, 4_000_000))
    adj = g.adjacency(include_extras=True)
    print(
        f"  {g.n:,} nodes, {adj.nnz:,} edges; max in-degree {int(direct_dependents(adj).max()):,}"
    )
    run_metrics(adj, "(b)", sample)
    _, _secs = timed("cycles", lambda: cycles(g, include_extras=True))
    print(
        f"  (b) peak RSS of the whole run {peak_gib():.2f} GiB (includes the networkx baseline "
        "graph)"
    )


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument(
        "--store", type=Path, default=ROOT / "benchmarks" / ".cache" / "pypi-deps-db.sqlite"
    )
    ap.add_argument(
        "--sample", type=int, default=10, help="nodes timed with nx.ancestors per log2 stratum"
    )
    ap.add_argument("--skip-real", action="store_true")
    ap.add_argument(
        "--generated-store",
        type=Path,
        default=None,
        help="also write a PyPI-size generated store here (once) and time `depgraph report` on it",
    )
    ap.add_argument("--skip-synthetic", action="store_true")
    args = ap.parse_args()
    args.store.parent.mkdir(parents=True, exist_ok=True)
    if not args.skip_real:
        real(args.store, args.sample)
    if not args.skip_synthetic:
        synthetic(args.sample)
    if args.generated_store is not None:
        print("(b) `depgraph report` on a generated store of today's PyPI size (target 45 s)")
        generated_store(args.generated_store)
        report_end_to_end(args.generated_store, "(b)")


if __name__ == "__main__":
    main()
