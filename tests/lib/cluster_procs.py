"""A real Dask scheduler and worker processes on loopback, started as a user starts them
(`dask scheduler`, `dask worker`), for the cluster tests."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType

from distributed import Client

from depgraph.demo.server import free_port


class DaskProcesses:
    """`dask scheduler` and `workers` x `dask worker --no-nanny --nthreads 1`: killing a worker
    process loses the worker, as a machine that dies does."""

    def __init__(self, workers: int, log_dir: Path, port: int | None = None) -> None:
        self.port = port or free_port()
        self.address = f"tcp://127.0.0.1:{self.port}"
        self.log_dir = log_dir
        self.count = workers
        self.scheduler: subprocess.Popen[bytes] | None = None
        self.workers: list[subprocess.Popen[bytes]] = []

    def _start(self, name: str, *args: str) -> subprocess.Popen[bytes]:
        log = open(self.log_dir / f"{name}-{self.port}-{time.monotonic_ns()}.log", "wb")  # noqa: SIM115 (closed with the process)
        env = {**os.environ, "DASK_DISTRIBUTED__WORKER__DAEMON": "False"}
        return subprocess.Popen([sys.executable, "-m", *args], stdout=log, stderr=log, env=env)

    def __enter__(self) -> DaskProcesses:
        self.scheduler = self._start(
            "scheduler",
            "distributed.cli.dask_scheduler",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--no-dashboard",
        )
        for i in range(self.count):
            self.workers.append(
                self._start(
                    f"worker-{i}",
                    "distributed.cli.dask_worker",
                    self.address,
                    "--no-nanny",
                    "--nthreads",
                    "1",
                    "--name",
                    f"w{i}",
                    "--no-dashboard",
                    "--host",
                    "127.0.0.1",
                )
            )
        self.wait_for_workers(self.count)
        return self

    def wait_for_workers(self, count: int, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        with Client(self.address, timeout="30s") as client:
            while len(client.scheduler_info()["workers"]) < count:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"only {len(client.scheduler_info()['workers'])} workers")
                time.sleep(0.2)

    def kill_scheduler(self) -> None:
        """SIGKILL the scheduler: its clients lose every task in flight."""
        assert self.scheduler is not None
        self.scheduler.send_signal(signal.SIGKILL)
        self.scheduler.wait()

    def kill_worker(self, i: int) -> None:
        """SIGKILL: no goodbye to the scheduler, as when a machine dies."""
        self.workers[i].send_signal(signal.SIGKILL)
        self.workers[i].wait()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        for proc in [*self.workers, self.scheduler]:
            if proc is not None and proc.poll() is None:
                proc.terminate()
        for proc in [*self.workers, self.scheduler]:
            if proc is not None:
                try:
                    proc.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
