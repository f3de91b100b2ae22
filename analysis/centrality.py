"""PageRank on the sparse adjacency, the algorithm of networkx's `pagerank` (its scipy variant)."""

from __future__ import annotations

import numpy as np
from scipy import sparse

from .errors import ConvergenceError

__all__ = ["pagerank"]


def pagerank(
    adj: sparse.csr_matrix, alpha: float = 0.85, max_iter: int = 100, tol: float = 1e-6
) -> np.ndarray:
    """Same iteration, defaults and dangling-node handling as `networkx.pagerank` (uniform
    personalization): a project's score flows to the projects it requires."""
    n = adj.shape[0]
    if n == 0:
        return np.zeros(0)
    a = adj.astype(np.float64)
    out = np.asarray(a.sum(axis=1)).ravel()
    inv = np.divide(1.0, out, out=np.zeros_like(out), where=out != 0)
    a = sparse.diags(inv) @ a
    x = np.full(n, 1.0 / n)
    p = np.full(n, 1.0 / n)
    dangling = out == 0
    for _ in range(max_iter):
        last = x
        x = alpha * (x @ a + x[dangling].sum() * p) + (1 - alpha) * p
        if np.abs(x - last).sum() < n * tol:
            ranks: np.ndarray = x
            return ranks
    raise ConvergenceError(f"pagerank did not converge in {max_iter} iterations")
