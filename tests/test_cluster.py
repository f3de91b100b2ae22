"""The crawl and the sandbox builds on a real Dask scheduler with two worker processes, into a real
PostgreSQL server, against a loopback index whose releases need the sandbox; with faults: a worker
killed mid-run, the database restarted mid-run, the client killed and the command run again.
Every time the rows must equal those of a single-machine SQLite crawl of the same index."""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from depgraph.cli import main
from depgraph.demo import build_demo_index
from depgraph.demo.distbuild import DistSpec, write_sdist
from depgraph.demo.server import free_port
from depgraph.sandbox.cleanup import remove_orphans
from tests.lib.cluster_procs import DaskProcesses
from tests.lib.helpers import crawl_cli, dump_store, query
from tests.lib.pg import fresh_database, pg_base_url
from tests.lib.servers import IndexServer

pytestmark = pytest.mark.docker

#: sdists whose requirements only a build tells (computed in setup.py), each taking a while, so
#: that faults land mid-run
SLOW_BUILDS = 8
BUILD_SECONDS = 1.5


def slow_sdist(i: int, folder: Path) -> Path:
    spec = DistSpec(f"slow-build-{i}", "1.0", [f"demo-core>={i % 2}", "demo-http"])
    setup = textwrap.dedent(f"""\
        import time
        from setuptools import setup

        time.sleep({BUILD_SECONDS})  # a slow build
        REQUIRES = {spec.requires!r}
        setup(
            name={spec.name!r},
            version={spec.version!r},
            packages=[{spec.module!r}],
            install_requires=[r.strip() for r in REQUIRES],  # known only by running it
        )
        """)
    return write_sdist(spec, folder, "dynamic", {"setup.py": setup.encode()})


@pytest.fixture(scope="module")
def sandbox_index(tmp_path_factory: pytest.TempPathFactory) -> Iterator[IndexServer]:
    folder = build_demo_index(tmp_path_factory.mktemp("cluster-index") / "files")
    for i in range(SLOW_BUILDS):
        slow_sdist(i, folder)
    with IndexServer(folder, "pypiserver") as server:
        yield server


@pytest.fixture(scope="module")
def reference(sandbox_index: IndexServer, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The same index crawled on one machine into SQLite, sdists built in the local sandbox."""
    db = tmp_path_factory.mktemp("reference") / "reference.sqlite"
    assert crawl_cli(sandbox_index.url, db, sandbox="docker") == 0
    return db


@pytest.fixture(autouse=True)
def no_orphan_containers() -> Iterator[None]:
    """Processes these tests kill leave their builds' containers behind: removed after each test,
    as a worker starting on the machine would (and checked: nothing of theirs is left)."""
    yield
    remove_orphans()
    assert remove_orphans() == []


@pytest.fixture
def dask(tmp_path: Path) -> Iterator[DaskProcesses]:
    with DaskProcesses(2, tmp_path) as procs:
        yield procs


@pytest.fixture
def pg_store() -> Iterator[str]:
    with fresh_database() as url:
        yield url


def sandbox_results(db: str) -> int:
    rows = query(db, "SELECT count(*) FROM releases WHERE metadata_source LIKE 'sandbox%'")
    return int(str(rows[0][0]))


class Watcher(threading.Thread):
    """Runs `action` once `condition` holds (polled); `join` raises what went wrong in it."""

    def __init__(self, condition: Callable[[], bool], action: Callable[[], None]) -> None:
        super().__init__(daemon=True)
        self.condition, self.action = condition, action
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            deadline = time.monotonic() + 120
            while not self.condition():
                if time.monotonic() > deadline:
                    raise AssertionError("the run never got there")
                time.sleep(0.05)
            self.action()
        except BaseException as exc:  # noqa: BLE001 (handed to the test thread by join)
            self.error = exc

    def join(self, timeout: float | None = None) -> None:
        super().join(timeout)
        if self.error is not None:
            raise self.error


def when(condition: Callable[[], bool], action: Callable[[], None]) -> Watcher:
    """Run `action` once `condition` holds, in a thread; the test joins it."""
    watcher = Watcher(condition, action)
    watcher.start()
    return watcher


def mid_sandbox(db: str) -> Callable[[], bool]:
    """True once some but not all sdists are built: the run is in the middle of its builds."""

    def check() -> bool:
        try:
            return sandbox_results(db) >= 1
        except Exception:  # noqa: BLE001 (the store may not exist yet, or be restarting)
            return False

    return check


def assert_accounted_for(db: str, reference: Path) -> None:
    """Every release known (or failed with a typed failure), the rows those of the reference, no
    row twice."""
    by_state = "SELECT deps_state, count(*) FROM releases GROUP BY deps_state"
    states = {str(state): count for state, count in query(db, by_state)}
    assert states == {str(state): count for state, count in query(str(reference), by_state)}
    assert set(states) == {"known"}
    assert dump_store(db) == dump_store(reference)
    [(rows,)] = query(db, "SELECT count(*) FROM requirements")
    [(distinct,)] = query(
        db,
        "SELECT count(*) FROM (SELECT DISTINCT release_id, raw, kind, extra FROM requirements) d",
    )
    assert rows == distinct


def cluster_crawl(index: IndexServer, db: str, scheduler: str) -> int:
    return main(crawl_args(index, db, scheduler))


def crawl_args(index: IndexServer, db: str, scheduler: str) -> list[str]:
    """`depgraph crawl` of the whole index on the scheduler's cluster, as a user types it."""
    return [
        "crawl",
        "--index-url",
        index.url,
        "--db",
        db,
        "--all",
        "--sandbox",
        "docker",
        "--scheduler",
        scheduler,
        "-q",
    ]


def test_cluster_crawl_equals_a_single_machine_crawl_with_a_worker_killed(
    sandbox_index: IndexServer, reference: Path, dask: DaskProcesses, pg_store: str
) -> None:
    killer = when(mid_sandbox(pg_store), lambda: dask.kill_worker(0))
    assert cluster_crawl(sandbox_index, pg_store, dask.address) == 0
    killer.join()
    assert dask.workers[0].returncode == -signal.SIGKILL
    assert sandbox_results(pg_store) == SLOW_BUILDS + 3  # + the demo's three
    assert_accounted_for(pg_store, reference)
    # `update` on the same cluster (one worker left): nothing changed, nothing rewritten
    before = dump_store(pg_store)
    update = ["update", "--db", pg_store, "--scheduler", dask.address, "--sandbox", "docker"]
    assert main([*update, "-q"]) == 0
    assert dump_store(pg_store) == before


def restart_postgres() -> None:
    cluster = subprocess.run(
        ["pg_lsclusters", "--no-header"], capture_output=True, text=True, check=True
    ).stdout.split()
    subprocess.run(["pg_ctlcluster", cluster[0], cluster[1], "restart"], check=True)


def test_cluster_crawl_survives_a_database_restart(
    sandbox_index: IndexServer, reference: Path, dask: DaskProcesses, pg_store: str
) -> None:
    pg_base_url()
    if shutil.which("pg_ctlcluster") is None:
        pytest.skip("restarting the server needs Debian's pg_ctlcluster on this machine")
    restarted = threading.Event()

    def restart() -> None:
        restart_postgres()
        restarted.set()

    restarter = when(mid_sandbox(pg_store), restart)
    assert cluster_crawl(sandbox_index, pg_store, dask.address) == 0
    restarter.join()
    assert restarted.is_set()
    assert_accounted_for(pg_store, reference)


def test_a_killed_client_is_resumed_by_the_same_command(
    sandbox_index: IndexServer, reference: Path, dask: DaskProcesses, pg_store: str
) -> None:
    command = [sys.executable, "-m", "depgraph", *crawl_args(sandbox_index, pg_store, dask.address)]
    client = subprocess.Popen(command)
    when(mid_sandbox(pg_store), lambda: client.send_signal(signal.SIGKILL)).join()
    client.wait()
    assert client.returncode == -signal.SIGKILL
    assert sandbox_results(pg_store) < SLOW_BUILDS + 3  # killed with builds left
    assert main(command[3:]) == 0
    assert_accounted_for(pg_store, reference)


def test_a_killed_scheduler_stops_the_run_which_the_same_command_resumes(
    sandbox_index: IndexServer, reference: Path, tmp_path: Path, pg_store: str
) -> None:
    """Nothing in flight is recorded as failed: the run stops with one clear line (exit 2), and
    the same command against the scheduler, back on its address, finishes it."""
    port = free_port()
    command = crawl_args(sandbox_index, pg_store, f"tcp://127.0.0.1:{port}")
    with DaskProcesses(2, tmp_path, port) as first:
        killer = when(mid_sandbox(pg_store), first.kill_scheduler)
        assert main(command) == 2
        killer.join()
    assert sandbox_results(pg_store) < SLOW_BUILDS + 3
    failed = query(pg_store, "SELECT count(*) FROM failures WHERE reason = 'task-failed'")
    assert failed == [(0,)]
    with DaskProcesses(2, tmp_path, port):
        assert main(command) == 0
    assert_accounted_for(pg_store, reference)


def test_a_local_cluster_on_one_machine(
    sandbox_index: IndexServer, reference: Path, tmp_path: Path
) -> None:
    """`--cluster local:2x3`: Dask's LocalCluster of two processes of three threads each."""
    db = tmp_path / "local-cluster.sqlite"
    assert crawl_cli(sandbox_index.url, db, "--cluster", "local:2x3", sandbox="docker") == 0
    assert_accounted_for(str(db), reference)


def test_cluster_options_are_checked(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = str(tmp_path / "s.sqlite")
    base = ["crawl", "--index-url", "http://127.0.0.1:9/simple/", "--db", db, "--all", "-q"]
    assert main([*base, "--cluster", "remote:3"]) == 2
    assert "--cluster wants local:N" in capsys.readouterr().err
    assert main([*base, "--cluster", "local:2x0"]) == 2
    assert "local:NxT" in capsys.readouterr().err
    assert main([*base, "--scheduler", f"tcp://127.0.0.1:{free_port()}"]) == 2
    assert "no Dask scheduler answers at tcp://127.0.0.1:" in capsys.readouterr().err


def test_a_local_clusters_workers_run_without_dasks_profiler() -> None:
    """The workers of `--cluster local:N` start (and restart) with Dask's statistical profiler
    off: it takes CPU from the crawl's threads 100 times a second, and on Python 3.11 it can log
    a traceback while reading a frame being freed."""
    import dask.config

    from depgraph.cluster import open_cluster

    with open_cluster(None, "local:2") as cluster:
        assert cluster is not None
        client = cluster.client
        on = "distributed.worker.profile.enabled"
        assert set(client.run(lambda: dask.config.get(on)).values()) == {False}
        client.restart()
        assert set(client.run(lambda: dask.config.get(on)).values()) == {False}
    # the caller's own configuration is left as it was
    assert dask.config.get(on) is True
