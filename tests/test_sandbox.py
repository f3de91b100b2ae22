"""Real builds in real sandboxes: a Docker daemon's containers and bubblewrap, on the same cases."""

from __future__ import annotations

import contextlib
import json
import socket
import sqlite3
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from depgraph.sandbox import Limits, Sandbox, open_sandbox
from depgraph.sandbox.result import requires_from_setup_kwargs
from tests.conftest import CORPUS, corpus_cases, corpus_entries, need_shared
from tests.lib.helpers import requirement_set
from tests.lib.hostile import archive_attacks, attacks, failure_sdists, setup_py_sdist

BACKENDS = [
    pytest.param("docker", marks=pytest.mark.docker),
    pytest.param("bwrap", marks=pytest.mark.bwrap),
]
HOSTILE_LIMITS = Limits(wall_seconds=10, memory_mb=512, pids=128)
#: an attack given longer than HOSTILE_LIMITS' 10 s
WALL_SECONDS = {"gigantic-stdout": 120.0}


@pytest.fixture(scope="module", params=BACKENDS)
def sandbox(request: pytest.FixtureRequest) -> Sandbox:
    return open_sandbox(request.param)


@pytest.fixture(scope="module", params=BACKENDS)
def strict_sandbox(request: pytest.FixtureRequest) -> Sandbox:
    """Python 3 only: what a machine without the Python 2.7 sandbox answers."""
    return open_sandbox(request.param, HOSTILE_LIMITS, python="3")


@pytest.fixture(
    scope="module",
    params=[
        pytest.param((b.values[0], py), marks=b.marks, id=f"{b.values[0]}-py{py}")
        for b in BACKENDS
        for py in ("3", "2.7")
    ],
)
def hostile_sandbox(request: pytest.FixtureRequest) -> Sandbox:
    """Each backend on each interpreter: an attack is contained under Python 2.7 as under 3."""
    backend, python = request.param
    return open_sandbox(backend, HOSTILE_LIMITS, python=python)


def leftover_containers() -> list[str]:
    out = subprocess.run(
        ["docker", "ps", "-aq", "--filter", "label=pypi-depgraph.sandbox"],
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout.split()


@pytest.mark.parametrize("entry", corpus_cases())
def test_corpus_sdist_yields_the_wheels_requirements(
    sandbox: Sandbox, entry: dict[str, Any] | None
) -> None:
    need_shared(CORPUS / "expected.json")
    assert entry is not None
    result = sandbox.extract(CORPUS / "sdists" / entry["sdist"])
    assert result.ok, (result.failure, result.detail, result.log_tail[-1500:])
    assert requirement_set(result.requires_dist) == requirement_set(entry["requires_dist"])
    assert result.version == entry["version"] or result.method != "pep517-metadata"


# --- the hostile suite -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def host_bait(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[socket.socket, Path, str]]:
    """A listener on the host's loopback, a canary file, and a marker for daemon processes."""
    folder = tmp_path_factory.mktemp("bait")
    canary = folder / "canary.txt"
    canary.write_text("secret-canary\n")
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    listener.settimeout(0.2)
    yield listener, canary, f"depgraph-daemon-{uuid.uuid4().hex}"
    listener.close()


@pytest.fixture(scope="module")
def hostile_sdists(
    host_bait: tuple[socket.socket, Path, str], tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Path]:
    listener, canary, marker = host_bait
    folder = tmp_path_factory.mktemp("hostile")
    out = {
        name: setup_py_sdist(folder, name, src)
        for name, src in attacks(listener.getsockname()[1], canary, marker).items()
    }
    out.update(archive_attacks(folder))
    return out


# attack -> (ok, failure reason, requirements reported, text expected in the log tail)
EXPECTED = {
    "network": (False, "build-failed", [], "network blocked"),
    "read-canary": (False, "build-failed", [], "canary unreadable"),
    "write-outside": (False, "build-failed", [], "every write outside the work dir was refused"),
    "fork-bomb": (False, "timeout", [], ""),
    "memory-bomb": (False, "out-of-memory", [], ""),
    "endless-loop": (False, "timeout", [], ""),
    "gigantic-stdout": (True, None, ["after-flood"], ""),  # flood contained, result still read
    "daemon": (
        True,
        None,
        ["daemon-started"],
        "",
    ),  # the daemon dies with the sandbox (checked below)
    "kill-parent": (
        True,
        None,
        ["survived-kill"],
        "",
    ),  # the extractor is PID 1: unkillable from inside
    "dotdot": (False, "unsafe-archive", [], ""),
    "absolute": (False, "unsafe-archive", [], ""),
    "symlink": (False, "unsafe-archive", [], ""),
    "bomb": (False, "archive-too-large", [], ""),
}


@pytest.mark.parametrize("attack", sorted(EXPECTED))
def test_hostile_sdist_is_contained(
    hostile_sandbox: Sandbox,
    hostile_sdists: dict[str, Path],
    host_bait: tuple[socket.socket, Path, str],
    attack: str,
) -> None:
    listener, canary, marker = host_bait
    # 600 MiB of output takes its time to pass the pipe and be dropped (tens of seconds on
    # shared cores): what the flood is checked for is containment, not the wall-clock limit
    hostile_sandbox.limits = replace(HOSTILE_LIMITS, wall_seconds=WALL_SECONDS.get(attack, 10))
    try:
        result = hostile_sandbox.extract(hostile_sdists[attack])
    finally:
        hostile_sandbox.limits = HOSTILE_LIMITS
    ok, reason, requires, log_text = EXPECTED[attack]
    assert (result.ok, result.failure, result.requires_dist) == (ok, reason, requires), (
        result.detail
    )
    assert log_text in result.log_tail
    assert canary.read_text() == "secret-canary\n"
    with pytest.raises(TimeoutError):
        listener.accept()
    assert subprocess.run(["pgrep", "-f", marker], capture_output=True).stdout == b""
    assert leftover_containers() == []
    assert not Path("/tmp/depgraph-evil.txt").exists()


# case -> (ok, method or failure reason, requirements)
TYPED = {
    "python2-literal": (
        True,
        "static-setup-py",
        ["six>=1.4", "simplejson", 'ujson; extra == "speed"'],
    ),
    "python2-computed": (False, "python2-only", []),
    "syntax-error": (False, "syntax-error", []),
    "backend-missing": (False, "backend-missing", []),
    "no-recipe": (False, "no-build-recipe", []),
}


@pytest.fixture(scope="module")
def broken_sdists(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return failure_sdists(tmp_path_factory.mktemp("broken"))


@pytest.mark.parametrize("case", sorted(TYPED))
def test_typed_failures(strict_sandbox: Sandbox, broken_sdists: dict[str, Path], case: str) -> None:
    result = strict_sandbox.extract(broken_sdists[case])
    ok, kind, requires = TYPED[case]
    assert (result.ok, result.method if ok else result.failure, result.requires_dist) == (
        ok,
        kind,
        requires,
    ), result.detail
    if ok:
        assert result.confidence == "low"


def test_setup_kwargs_convert_like_egg_info() -> None:
    lines, extras = requires_from_setup_kwargs(
        {
            "install_requires": "six>=1.5\n# comment\nattrs",
            "extras_require": {
                "security": ["pyOpenSSL>=0.14"],
                ":python_version < '3'": ["enum34"],
                "socks:sys_platform == 'win32'": ["win-inet-pton"],
                "test": ["x; os_name == 'nt'"],
            },
        }
    )
    assert lines == [
        "six>=1.5",
        "attrs",
        'pyOpenSSL>=0.14; extra == "security"',
        "enum34; (python_version < '3')",
        "win-inet-pton; (sys_platform == 'win32') and extra == \"socks\"",
        "x; (os_name == 'nt') and extra == \"test\"",
    ]
    assert extras == ["security", "socks", "test"]
    assert requirement_set(lines)  # every line parses


# --- through the crawler ------------------------------------------------------------------------


@pytest.mark.docker
def test_crawl_with_sandbox_fills_pending_and_records_hostile_failures(
    hostile_sdists: dict[str, Path], tmp_path: Path, index_folder: Path
) -> None:
    import shutil

    from depgraph.cli import main
    from tests.lib.servers import IndexServer

    folder = tmp_path / "files"
    folder.mkdir()
    for name in (
        "demo_socks-0.5.tar.gz",
        "demo_legacy-0.1.tar.gz",
        "demo_core-1.0-py3-none-any.whl",
    ):
        shutil.copy2(index_folder / name, folder)
    for attack in ("endless-loop", "symlink", "network"):
        src = hostile_sdists[attack]
        shutil.copy2(src, folder / src.name.replace("hostile_", "hostile-").replace("_", ""))
    db = tmp_path / "c.sqlite"
    with IndexServer(folder, "pypiserver") as server:
        rc = main(
            [
                "crawl",
                "--index-url",
                server.url,
                "--db",
                str(db),
                "--all",
                "--sandbox",
                "docker",
                "--build-timeout",
                "8",
                "--no-progress",
                "--json",
            ]
        )
    assert rc == 0
    with sqlite3.connect(db) as conn:
        states = dict(
            ((p, v), (s, src))
            for p, v, s, src in conn.execute(
                "SELECT project, version, deps_state, metadata_source FROM releases"
            )
        )
        reasons = sorted(
            r[0] for r in conn.execute("SELECT reason FROM failures WHERE stage = 'sandbox'")
        )
        socks = [
            r[0]
            for r in conn.execute(
                "SELECT q.raw FROM requirements q JOIN releases r ON r.id = q.release_id WHERE "
                "r.project = 'demo-socks'"
            )
        ]
    assert states[("demo-socks", "0.5")] == ("known", "sandbox-docker:pep517-metadata")
    assert states[("demo-legacy", "0.1")] == ("known", "sandbox-docker:pep517-metadata")
    assert socks == ["demo-core"]
    assert sorted(reasons) == ["build-failed", "timeout", "unsafe-archive"]
    assert leftover_containers() == []


def test_cli_extract_prints_json(capsys: pytest.CaptureFixture[str]) -> None:
    from depgraph.cli import main

    rc = main(
        [
            "sandbox",
            "extract",
            str(need_shared(CORPUS / "sdists" / "pluggy-0.12.0.tar.gz")),
            "--backend",
            "bwrap",
        ]
    )
    out = json.loads(capsys.readouterr().out)
    assert rc == 0 and out["ok"] and out["backend"] == "bwrap"
    assert requirement_set(out["requires_dist"]) == requirement_set(
        next(e for e in corpus_entries() if e["sdist"] == "pluggy-0.12.0.tar.gz")["requires_dist"]
    )


@pytest.mark.docker
def test_retry_failed_rebuilds_after_limits_are_raised(tmp_path: Path, index_folder: Path) -> None:
    """A legitimate but slow build times out under a tight limit; --retry-failed with a wider one
    fixes it."""
    import shutil

    from depgraph.cli import main
    from tests.lib.servers import IndexServer

    folder = tmp_path / "files"
    folder.mkdir()
    shutil.copy2(index_folder / "demo_core-1.0-py3-none-any.whl", folder)
    slow = (
        "import time\nfrom setuptools import setup\ntime.sleep(4)\n"
        "setup(name='slow-build', version='1.0', install_requires=['demo-core>=1.0'])\n"
    )
    setup_py_sdist(folder, "slow", slow).rename(folder / "slow_build-1.0.tar.gz")
    db = tmp_path / "c.sqlite"
    with IndexServer(folder, "pypiserver") as server:
        base = [
            "crawl",
            "--index-url",
            server.url,
            "--db",
            str(db),
            "--all",
            "--sandbox",
            "docker",
            "--no-progress",
        ]
        assert main([*base, "--build-timeout", "2"]) == 0
        with sqlite3.connect(db) as conn:
            assert conn.execute(
                "SELECT deps_state FROM releases WHERE project = 'slow-build'"
            ).fetchone() == ("failed",)
            assert conn.execute(
                "SELECT reason FROM failures WHERE project = 'slow-build'"
            ).fetchall() == [("timeout",)]
        assert main([*base, "--build-timeout", "2"]) == 0  # without --retry-failed: left alone
        with sqlite3.connect(db) as conn:
            assert conn.execute(
                "SELECT deps_state FROM releases WHERE project = 'slow-build'"
            ).fetchone() == ("failed",)
        assert main([*base, "--build-timeout", "60", "--retry-failed"]) == 0
    with sqlite3.connect(db) as conn:
        assert conn.execute(
            "SELECT deps_state, metadata_source FROM releases WHERE project = 'slow-build'"
        ).fetchone() == ("known", "sandbox-docker:pep517-metadata")
        assert conn.execute(
            "SELECT q.raw FROM requirements q JOIN releases r ON r.id = q.release_id"
            " WHERE r.project = 'slow-build'"
        ).fetchall() == [("demo-core>=1.0",)]
        assert conn.execute(
            "SELECT count(*) FROM failures WHERE project = 'slow-build'"
        ).fetchone() == (0,)


@pytest.mark.docker
def test_orphans_of_dead_processes_are_removed_and_live_builds_kept() -> None:
    """A container whose starting process died (a cluster worker killed mid-build) is removed by
    `remove_orphans`; one of a live process is not."""
    import docker

    from depgraph.sandbox.cleanup import remove_orphans
    from depgraph.sandbox.docker_backend import DEFAULT_IMAGE, LABEL, OWNER_LABEL, owner

    dead = subprocess.Popen(["true"])
    dead.wait()
    host = owner().rpartition(":")[0]
    client = docker.from_env()
    made = {
        who: client.containers.create(
            DEFAULT_IMAGE,
            entrypoint=["true"],
            labels={LABEL: "1", OWNER_LABEL: who},
            network_mode="none",
        )
        for who in (f"{host}:{dead.pid}", owner(), f"another-host:{dead.pid}")
    }
    try:
        removed = remove_orphans()
        assert removed == [made[f"{host}:{dead.pid}"].name]
        left = set(leftover_containers())  # short ids
        short = {who: str(c.id)[:12] for who, c in made.items()}
        assert short[f"{host}:{dead.pid}"] not in left
        assert {short[owner()], short[f"another-host:{dead.pid}"]} <= left
    finally:
        for container in made.values():
            with contextlib.suppress(docker.errors.NotFound):
                container.remove(force=True)


#: times the sweep races a removal in `test_the_sweep_racing_a_removal_never_fails`
RACES = 20


@pytest.mark.docker
def test_the_sweep_racing_a_removal_never_fails() -> None:
    """A worker opening its sandbox sweeps orphans while a container is being removed by someone
    else (its own build ending, another worker's sweep): Docker answers 409 "removal already in
    progress", which is what the sweep wanted, never a failure that could cost a healthy build.
    Raced RACES times, the two removals released together."""
    import threading

    import docker

    from depgraph.sandbox.cleanup import remove_orphans
    from depgraph.sandbox.docker_backend import DEFAULT_IMAGE, LABEL, OWNER_LABEL, owner

    dead = subprocess.Popen(["true"])
    dead.wait()
    host = owner().rpartition(":")[0]
    client = docker.from_env()
    errors: list[BaseException] = []
    for _ in range(RACES):
        container = client.containers.run(
            DEFAULT_IMAGE,
            entrypoint=["sleep", "30"],
            labels={LABEL: "1", OWNER_LABEL: f"{host}:{dead.pid}"},
            network_mode="none",
            detach=True,
        )
        start = threading.Barrier(2)

        def remove(container: object = container, start: threading.Barrier = start) -> None:
            start.wait()
            with contextlib.suppress(docker.errors.NotFound, docker.errors.APIError):
                container.remove(force=True)  # type: ignore[attr-defined]

        def sweep(start: threading.Barrier = start) -> None:
            start.wait()
            try:
                remove_orphans()
            except BaseException as exc:  # noqa: BLE001 (collected: the test fails on it)
                errors.append(exc)

        threads = [threading.Thread(target=remove), threading.Thread(target=sweep)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
    assert errors == []
    assert leftover_containers() == []


ODD_SETUP = """\
import numbers
from setuptools import setup


class DelayedVersion(numbers.Number):
    # a version object whose str() is the version, as some legacy setup.py files pass
    def __str__(self):
        return "1.0"


setup(
    name="hostile",
    version=DelayedVersion(),
    install_requires=("attrs>=20",),
    extras_require={"x": ("six",)},
    tests_require=(r for r in ["pytest"]),
    setup_requires=None,
    packages=[],
)
"""


@pytest.mark.docker
def test_the_setup_capture_is_invisible_to_the_build(tmp_path: Path) -> None:
    """Whatever a setup.py hands to setup() (an object as its version, a generator, tuples, None),
    recording it changes nothing: the sdist builds in the sandbox as setuptools builds it (a
    capture that iterated every argument made `version=DelayedVersion()` a failed build)."""
    sdist = setup_py_sdist(tmp_path, "odd-args", ODD_SETUP)
    result = open_sandbox("docker").extract(sdist)
    assert result.ok, (result.failure, result.detail, result.log_tail[-2000:])
    assert (result.method, result.name, result.version) == ("pep517-metadata", "hostile", "1.0")
    assert set(result.requires_dist) == {"attrs>=20", 'six; extra == "x"'}


@pytest.mark.docker
def test_a_build_that_names_another_release_gives_no_dependencies(tmp_path: Path) -> None:
    """An sdist of `hostile` 1.0 whose build says it is requests 99.0: metadata-identity, as pip
    refuses it, never the dependencies of `hostile` 1.0."""
    from depgraph.crawler.access import SandboxAccess
    from depgraph.store import Store
    from depgraph.wiring import run_sandbox_builds
    from tests.lib.hostile import _file, _tar
    from tests.lib.hostile_index import HostileIndex, sdist_case

    lie = (
        "from setuptools import setup\n"
        "setup(name='requests', version='99.0', install_requires=['evil'])\n"
    )
    base = "hostile_identity_lie-1.0"
    # PKG-INFO says what the release is (1.1: its requirements are not static, a build decides)
    pkg_info = b"Metadata-Version: 1.1\nName: hostile-identity-lie\nVersion: 1.0\n"
    sdist = _tar(
        tmp_path / f"{base}.tar.gz",
        [_file(f"{base}/PKG-INFO", pkg_info), _file(f"{base}/setup.py", lie.encode())],
    )
    case = sdist_case([], states={"failed"}, failures={"sandbox:metadata-identity"})

    def build(index: HostileIndex, name: str) -> None:
        from tests.lib.hostile_index import fixed, json_page, sha

        data = sdist.read_bytes()
        url = index.file(data, sdist.name)
        entry = {"filename": sdist.name, "url": url, "sha256": sha(data)}
        index.page(name, fixed(json_page(name, [entry]), "application/vnd.pypi.simple.v1+json"))

    case.build = build
    db = tmp_path / "s.sqlite"
    with HostileIndex(tmp_path, {"hostile-identity-lie": case}) as index:
        from depgraph.crawler.access import IndexAccess
        from depgraph.wiring import run_crawl

        store = Store(db)
        run_crawl(store, IndexAccess(index_url=index.url), ["hostile-identity-lie"], progress=False)
        summary = run_sandbox_builds(
            store, SandboxAccess(kind="docker"), progress=False, quiet=True
        )
    assert summary is not None and summary.by_outcome == {"failed:metadata-identity": 1}
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT deps_state FROM releases").fetchall() == [("failed",)]
        assert conn.execute("SELECT count(*) FROM requirements").fetchone() == (0,)
        reasons = conn.execute("SELECT stage, reason, detail FROM failures").fetchall()
    assert [(stage, reason) for stage, reason, _ in reasons] == [("sandbox", "metadata-identity")]
    assert "'requests'" in reasons[0][2]
