"""Exact transitive dependents for every node, at PyPI scale.

Cycles are condensed first (scipy's strongly connected components): every member of a cycle
depends on every other. On the resulting DAG each chunk of up to 64*W target components is solved
at once: a W-word bitset per node says which of the chunk's targets it reaches, propagated from the
sinks upwards one height level at a time (vectorized gathers + `np.bitwise_or.reduceat`), and only
over the ancestors of the chunk (found by a vectorized multi-source BFS). Targets are chunked in
order of in-degree so heavy hitters share chunks and light ones touch small subgraphs.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from scipy import sparse
from scipy.sparse.csgraph import connected_components

__all__ = ["condense", "direct_dependents", "transitive_dependents"]

WORDS = 16  # 1,024 targets per chunk: measured fastest (benchmarks/analysis.py; 4..256 tried)


def direct_dependents(adj: sparse.csr_matrix) -> np.ndarray:
    """Number of distinct projects requiring each node (column sums of the 0/1 adjacency)."""
    a = adj.copy()
    a.data[:] = 1
    a.sum_duplicates()
    a.data[:] = 1
    return np.asarray(a.sum(axis=0)).ravel().astype(np.int64)


def condense(adj: sparse.csr_matrix) -> tuple[np.ndarray, np.ndarray, sparse.csr_matrix]:
    """(component of each node, size of each component, DAG adjacency between components)."""
    ncomp, labels = connected_components(adj, directed=True, connection="strong")
    sizes = np.bincount(labels, minlength=ncomp)
    coo = adj.tocoo()
    src, dst = labels[coo.row], labels[coo.col]
    keep = src != dst
    dag = sparse.csr_matrix(
        (np.ones(int(keep.sum()), dtype=np.int8), (src[keep], dst[keep])), shape=(ncomp, ncomp)
    )
    dag.sum_duplicates()
    dag.data[:] = 1
    return labels, sizes, dag


def _heights(dag: sparse.csr_matrix) -> np.ndarray:
    """Longest path to a sink, computed by peeling sinks level by level (Kahn on the reverse)."""
    n = dag.shape[0]
    out_deg = np.diff(dag.indptr).astype(np.int64)
    rev = dag.T.tocsr()
    height = np.zeros(n, dtype=np.int32)
    frontier = np.flatnonzero(out_deg == 0)
    level = 0
    while len(frontier):
        height[frontier] = level
        # each predecessor loses one out-edge per edge into the frontier (bincount: ufunc.at
        # and a sort of the predecessors cost 4x as much)
        lost = np.bincount(_neighbours(rev, frontier), minlength=n)
        out_deg -= lost
        cand = np.flatnonzero(lost)
        frontier = cand[out_deg[cand] == 0]
        level += 1
    return height


def _neighbours(csr: sparse.csr_matrix, rows: np.ndarray) -> np.ndarray:
    """Concatenated column indices of `rows` (with repeats), vectorized."""
    starts, ends = csr.indptr[rows], csr.indptr[rows + 1]
    lengths = ends - starts
    total = int(lengths.sum())
    if total == 0:
        return np.empty(0, dtype=csr.indices.dtype)
    offsets = np.repeat(starts - np.cumsum(lengths) + lengths, lengths)
    picked: np.ndarray = csr.indices[offsets + np.arange(total)]
    return picked


def _ancestors(rev: sparse.csr_matrix, seeds: np.ndarray, n: int) -> np.ndarray:
    """Boolean mask of seeds and every node that reaches one of them."""
    seen = np.zeros(n, dtype=bool)
    seen[seeds] = True
    frontier = seeds
    while len(frontier):
        nxt = _neighbours(rev, frontier)
        nxt = nxt[
            ~seen[nxt]
        ]  # filter first: most neighbours are already seen, so the sort is small
        nxt = np.unique(nxt)
        seen[nxt] = True
        frontier = nxt
    return seen


def transitive_dependents(
    adj: sparse.csr_matrix, words: int = WORDS, engine: str = "auto"
) -> np.ndarray:
    """For each node, how many other nodes depend on it directly or through any chain.

    engine: "bitsets" (ours, the default: condensation + chunked bitsets) or "networkit"
    (NetworKit's exact ReachableNodes on the reversed graph; the `networkit` extra). Both give
    identical counts; ours is the faster on PyPI-shaped graphs (`benchmarks/analysis.py` measures
    both side by side; docs/benchmarks.md has the figures), so it is the default."""
    if engine not in ("auto", "networkit", "bitsets"):
        raise ValueError(f"unknown engine {engine!r}")
    if engine == "networkit":
        return _networkit_dependents(adj)
    return _bitset_dependents(adj, words)


def _networkit_dependents(adj: sparse.csr_matrix) -> np.ndarray:
    import networkit as nk

    coo = adj.tocoo()
    keep = coo.row != coo.col
    graph = nk.graph.Graph(adj.shape[0], directed=True)
    # reversed: a node reaches, in this graph, exactly the projects that depend on it
    graph.addEdges(
        (coo.col[keep].astype(np.uint64), coo.row[keep].astype(np.uint64)), checkMultiEdge=True
    )
    reach = nk.reachability.ReachableNodes(graph, exact=True)
    reach.run()
    counts = np.fromiter(
        (reach.numberOfReachableNodes(u) for u in range(adj.shape[0])),
        dtype=np.int64,
        count=adj.shape[0],
    )
    return counts - 1  # a node reaches itself


def _bitset_dependents(
    adj: sparse.csr_matrix, words: int = WORDS, threads: int | None = None
) -> np.ndarray:
    labels, sizes, dag = condense(adj)
    ncomp = len(sizes)
    rev = dag.T.tocsr()
    in_deg = np.diff(rev.indptr)
    height = _heights(dag)
    comp_count = np.zeros(ncomp, dtype=np.int64)
    targets = np.flatnonzero(in_deg > 0)
    targets = targets[np.argsort(-in_deg[targets], kind="stable")]
    per_chunk = 64 * words
    chunks = [targets[start : start + per_chunk] for start in range(0, len(targets), per_chunk)]

    def count(chunk: np.ndarray) -> np.ndarray:
        return _count_chunk(dag, rev, height, sizes, chunk, words)

    # chunks are independent, and numpy works on them without holding the GIL: one per core
    with ThreadPoolExecutor(max_workers=threads or os.cpu_count() or 1) as pool:
        for chunk, counted in zip(chunks, pool.map(count, chunks), strict=True):
            comp_count[chunk] = counted
    # members of a cycle depend on each other; add the component's other members
    counts: np.ndarray = comp_count[labels] + (sizes[labels] - 1)
    return counts


def _count_chunk(
    dag: sparse.csr_matrix,
    rev: sparse.csr_matrix,
    height: np.ndarray,
    sizes: np.ndarray,
    chunk: np.ndarray,
    words: int,
) -> np.ndarray:
    n = dag.shape[0]
    mask = _ancestors(rev, chunk, n)
    sub = np.flatnonzero(mask)  # local id -> component
    local = np.full(n, -1, dtype=np.int64)
    local[sub] = np.arange(len(sub))
    nw = (len(chunk) + 63) // 64
    bits = np.zeros((len(sub), nw), dtype=np.uint64)  # own bit (targets) | reached targets
    pos = np.arange(len(chunk))
    np.bitwise_or.at(
        bits, (local[chunk], pos // 64), np.left_shift(np.uint64(1), (pos % 64).astype(np.uint64))
    )
    own = bits.copy()
    # edges inside the ancestor subgraph, grouped by the source's height (sinks first)
    sub_dag = dag[sub][:, sub].tocoo()
    s, d = sub_dag.row, sub_dag.col
    order = np.lexsort((s, height[sub][s]))
    s, d = s[order], d[order]
    hs = height[sub][s]
    bounds = np.flatnonzero(np.diff(hs)) + 1
    for lo, hi in zip(np.r_[0, bounds], np.r_[bounds, len(s)], strict=False):
        if lo == hi:
            continue
        src, dst = s[lo:hi], d[lo:hi]
        starts = np.r_[0, np.flatnonzero(np.diff(src)) + 1]
        reduced = np.bitwise_or.reduceat(bits[dst], starts, axis=0)
        bits[src[starts]] |= reduced
    reached = bits & ~own  # a node does not count as its own dependent
    return _column_counts(reached, sizes[sub], len(chunk))


def _column_counts(bits: np.ndarray, weights: np.ndarray, width: int) -> np.ndarray:
    """sum of weights[row] over the rows whose bit j is set, for each j < width."""
    counts = np.zeros(width, dtype=np.int64)
    rows = np.flatnonzero(bits.any(axis=1))  # most rows of a light chunk reach nothing
    heavy = rows[weights[rows] > 1]
    as_bytes = bits.view(np.uint8)
    for row0 in range(0, len(rows), 16384):  # unpack in blocks to bound memory
        block = np.unpackbits(as_bytes[rows[row0 : row0 + 16384]], axis=1, bitorder="little")[
            :, :width
        ]
        counts += block.sum(axis=0, dtype=np.int64)
    if len(heavy):  # cycle components stand for several projects each
        block = np.unpackbits(as_bytes[heavy], axis=1, bitorder="little")[:, :width]
        counts += (weights[heavy] - 1) @ block.astype(np.int64)
    return counts
