"""The crawl and the sandbox builds on a Dask distributed cluster (`--scheduler`, `--cluster`).

Dask runs the work units (`crawler.tasks`): batches of projects for the metadata crawl, one task
per sdist build, each worker building in its own local sandbox. The store is written by this
process only, from the results as they come back; a worker that dies has its tasks run again
elsewhere by the scheduler, and the write of a project is idempotent, so nothing is lost or
doubled. Without either option nothing changes: the crawl runs on this process's threads.
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Iterator
from concurrent.futures import CancelledError
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

from depgraph.crawler.access import IndexAccess
from depgraph.crawler.crawl import ClusterWork
from depgraph.crawler.tasks import crawl_batch

from .errors import UsageError

if TYPE_CHECKING:
    from concurrent.futures import Executor

    from distributed import Client

__all__ = ["Cluster", "cluster_lost", "open_cluster", "parse_local"]

#: how long to wait for a scheduler that does not answer
CONNECT_TIMEOUT = "20s"


@dataclass
class Cluster:
    client: Client
    executor: Executor
    threads: int  # worker threads on the cluster when it was joined

    def crawl_work(self, access: IndexAccess, batch_size: int = 8) -> ClusterWork:
        in_flight = max(4, 2 * self.threads)
        return ClusterWork(
            self.executor,
            functools.partial(crawl_batch, access),
            batch_size,
            in_flight,
            cluster_lost,
        )


def cluster_lost(exc: BaseException) -> bool:
    """Whether a task's error means the cluster is gone rather than the task failed: a future
    cancelled under us (the client lost its scheduler) or Dask's connection to it closed. Anything
    a task raised itself arrives as its own type (an OSError from Docker is the task's), and a
    worker that died is not either: the scheduler reruns its tasks, and gives up on one
    (KilledWorker) only after it killed several workers, which is that task's failure."""
    from distributed.comm.core import CommClosedError

    return isinstance(exc, CancelledError | CommClosedError)


def parse_local(text: str) -> tuple[int, int]:
    """`local:N` -> (N, 1): N worker processes of one thread each on this machine; `local:NxT`
    -> (N, T): T threads each. The metadata crawl waits on the network and holds the GIL in
    between, so threads overlap the waits and processes use the cores: `local:2x8` on two cores.
    Each thread also takes an sdist build: N x T builds can run at once."""
    kind, _, shape = text.partition(":")
    count, _, threads = shape.partition("x")
    if (
        kind != "local"
        or not count.isdigit()
        or int(count) < 1
        or (threads and (not threads.isdigit() or int(threads) < 1))
    ):
        raise UsageError(
            f"--cluster wants local:N or local:NxT (N worker processes of T threads), not {text!r}"
        )
    return int(count), int(threads or 1)


@contextmanager
def open_cluster(scheduler: str | None, local: str | None) -> Iterator[Cluster | None]:
    """A client of the scheduler at `scheduler`, or of a LocalCluster of `local:N` processes; None
    when neither is asked for."""
    if scheduler is None and local is None:
        yield None
        return
    if scheduler is not None and local is not None:
        raise UsageError("give --scheduler or --cluster, not both")
    try:
        import dask.config
        from distributed import Client, LocalCluster
    except ModuleNotFoundError:
        raise UsageError(
            "--scheduler and --cluster need Dask distributed: pip install 'pypi-depgraph[cluster]'"
        ) from None
    local_cluster = None
    try:
        if local is not None:
            processes, threads_each = parse_local(local)
            local_cluster = LocalCluster(
                n_workers=processes,
                threads_per_worker=threads_each,
                processes=True,
                # the scheduler's HTTP server starts whatever is asked; on a port of its own, on
                # loopback: never Dask's default 8787, which another cluster (or a notebook's)
                # may hold
                dashboard_address="127.0.0.1:0",
                # no statistical profiler in the workers: it walks every thread's stack 100
                # times a second, CPU the crawl needs, and on Python 3.11 it can read a frame
                # while it is freed and log a traceback (dask/distributed#8163). Given to each
                # nanny, which starts (and restarts) its worker with it: the whole configuration
                # (a nanny puts each top-level key of it in place of Dask's own)
                config=dask.config.update(
                    copy.deepcopy(dask.config.config),
                    {"distributed": {"worker": {"profile": {"enabled": False}}}},
                ),
            )
            client = Client(local_cluster)
        else:
            try:
                client = Client(scheduler, timeout=CONNECT_TIMEOUT)
            except OSError as exc:
                raise UsageError(f"no Dask scheduler answers at {scheduler}: {exc}") from None
        with client:
            threads = sum(client.nthreads().values())
            if threads == 0:
                raise UsageError(f"the Dask scheduler at {scheduler} has no workers yet")
            # pure=False: two tasks with equal arguments are still two tasks
            yield Cluster(client, client.get_executor(pure=False), threads)
    finally:
        if local_cluster is not None:
            local_cluster.close()
