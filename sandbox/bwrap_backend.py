"""bubblewrap backend, for machines without a Docker daemon.

The same root filesystem as the Docker image (exported by `depgraph sandbox build-image`), mounted
read-only; every namespace unshared (so no network); a size-capped tmpfs work dir; the sdist
bind-mounted read-only; uid 65534; limits from a fresh cgroup (see cgroups.py); wall clock enforced
by killing the whole group.
"""

from __future__ import annotations

import shutil
import subprocess
import threading
import time
from collections import deque
from pathlib import Path

from .base import (
    EXTRACTOR_COMMAND,
    EXTRACTOR_IN_IMAGE,
    SANDBOX_ENV,
    SANDBOX_GID,
    SANDBOX_UID,
    WORK_DIR,
)
from .cgroups import ProcessLimiter
from .errors import SandboxUnavailable
from .limits import Limits
from .result import SandboxResult, from_extractor_output
from .stages import in_stages

__all__ = ["BwrapSandbox", "bwrap_available", "has_extractor", "python2_rootfs_of"]


def bwrap_available() -> bool:
    return shutil.which("bwrap") is not None


class _TailReader(threading.Thread):
    """Drains a pipe, keeping only the last `cap` bytes (a gigantic stdout cannot fill memory)."""

    def __init__(self, pipe, cap: int) -> None:  # type: ignore[no-untyped-def]
        super().__init__(daemon=True)
        self.pipe, self.cap = pipe, cap
        self.chunks: deque[bytes] = deque()
        self.size = 0

    def run(self) -> None:
        for chunk in iter(lambda: self.pipe.read(65536), b""):
            self.chunks.append(chunk)
            self.size += len(chunk)
            while self.size > self.cap and len(self.chunks) > 1:
                self.size -= len(self.chunks.popleft())

    def text(self) -> str:
        return b"".join(self.chunks)[-self.cap :].decode("utf-8", "replace")


def python2_rootfs_of(rootfs: Path) -> Path:
    """Where the Python 2.7 root filesystem lies beside a Python 3 one."""
    return rootfs.with_name(rootfs.name + "-py27")


def has_extractor(rootfs: Path) -> bool:
    return (rootfs / EXTRACTOR_IN_IMAGE.lstrip("/")).exists()


class BwrapSandbox:
    name = "bwrap"

    def __init__(
        self,
        rootfs: Path,
        limits: Limits | None = None,
        python: str = "auto",
        python2_rootfs: Path | None = None,
    ) -> None:
        self.rootfs = Path(rootfs)
        self.python2_rootfs = python2_rootfs or python2_rootfs_of(self.rootfs)
        self.limits, self.python = limits or Limits(), python
        self.python2_ready = has_extractor(self.python2_rootfs)
        for needed, present in (
            (self.rootfs, has_extractor(self.rootfs)),
            (self.python2_rootfs, self.python2_ready),
        ):
            if not present and (needed == self.rootfs or python == "2.7"):
                raise SandboxUnavailable(
                    f"no sandbox root filesystem at {needed}: run `depgraph sandbox build-image`"
                )

    def command(self, sdist: Path, python2: bool = False) -> list[str]:
        inside = f"/input/{sdist.name}"
        rootfs = self.python2_rootfs if python2 else self.rootfs
        return [
            "bwrap",
            "--unshare-all",
            "--unshare-user",
            "--die-with-parent",
            "--new-session",
            "--disable-userns",
            # the extractor is PID 1 of its namespace, as in Docker: builds cannot kill it, and
            # every
            # process left when it exits dies with the namespace
            "--as-pid-1",
            "--ro-bind",
            str(rootfs),
            "/",
            "--proc",
            "/proc",
            "--dev",
            "/dev",
            "--size",
            str(self.limits.tmpfs_mb << 20),
            "--tmpfs",
            WORK_DIR,
            "--size",
            str(64 << 20),
            "--tmpfs",
            "/tmp",
            "--size",
            str(1 << 20),
            "--tmpfs",
            "/input",
            "--ro-bind",
            str(sdist.resolve()),
            inside,
            "--remount-ro",
            "/input",
            "--uid",
            str(SANDBOX_UID),
            "--gid",
            str(SANDBOX_GID),
            "--cap-drop",
            "ALL",
            "--clearenv",
            "--setenv",
            "PATH",
            "/usr/local/bin:/usr/bin:/bin",
            *(arg for key, value in SANDBOX_ENV.items() for arg in ("--setenv", key, value)),
            "--chdir",
            WORK_DIR,
            *EXTRACTOR_COMMAND,
            inside,
            f"{WORK_DIR}/job",
            *(["--python2"] if python2 else []),
        ]

    def extract(self, sdist: Path) -> SandboxResult:
        return in_stages(
            lambda py2: self._extract_once(sdist, py2), self.python, self.python2_ready
        )

    def _extract_once(self, sdist: Path, python2: bool) -> SandboxResult:
        started = time.monotonic()
        with ProcessLimiter(self.limits) as limiter:
            try:
                argv, launch = limiter.launch(self.command(sdist, python2))
                proc = subprocess.Popen(
                    argv,
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.DEVNULL,
                    **launch,
                )
            except OSError as exc:
                return SandboxResult(
                    False, self.name, failure="sandbox-error", detail=f"bwrap: {exc}"
                )
            reader = _TailReader(proc.stdout, self.limits.log_bytes)
            reader.start()
            try:
                proc.wait(timeout=self.limits.wall_seconds)
            except subprocess.TimeoutExpired:
                limiter.kill_all()
                proc.wait()
                reader.join(5)
                return SandboxResult.timeout(
                    self.name, self.limits.wall_seconds, time.monotonic() - started
                )
            reader.join(5)
            result = from_extractor_output(reader.text(), self.name)
            if result.failure == "no-result":
                result.detail = (
                    f"the extractor ended without a result (exit status {proc.returncode})"
                )
            if limiter.oom_killed():  # the limit was hit: no answer, even a static one
                result.ok, result.method, result.requires_dist = False, None, []
                result.failure = "out-of-memory"
                result.detail = (
                    f"killed at the {self.limits.memory_mb} MiB memory limit ({limiter.mode})"
                )
            result.seconds = time.monotonic() - started
            return result
