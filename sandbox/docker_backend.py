"""Docker backend: one fresh container per sdist, no network, read-only root, hard limits.

The container sees nothing of the host but the sdist (bind-mounted read-only); its result comes back
on stdout, whose size the json-file log driver caps. It is removed whatever happens.
"""

from __future__ import annotations

import contextlib
import os
import socket
import time
import uuid
from pathlib import Path

import docker
import requests
from docker.errors import APIError, DockerException, ImageNotFound
from docker.types import LogConfig, Ulimit

from .base import EXTRACTOR_COMMAND, SANDBOX_ENV, SANDBOX_GID, SANDBOX_UID, WORK_DIR
from .errors import SandboxUnavailable
from .limits import Limits
from .result import SandboxResult, from_extractor_output
from .stages import in_stages

__all__ = ["DEFAULT_IMAGE", "LABEL", "PY27_IMAGE", "DockerSandbox", "docker_available"]

DEFAULT_IMAGE = "pypi-depgraph-sandbox:latest"
#: the same extractor on Debian 11's Python 2.7 (and its python3, which drives the build)
PY27_IMAGE = "pypi-depgraph-sandbox-py27:latest"
LABEL = "pypi-depgraph.sandbox"  # every container we create carries it, so leftovers can be found
#: "<host>:<pid>" of the process that started the container: orphans of a dead process (a cluster
#: worker killed mid-build) can be told from the builds of live ones
OWNER_LABEL = "pypi-depgraph.sandbox.owner"


def owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def docker_available() -> bool:
    try:
        client = docker.from_env(timeout=5)
        client.ping()
        client.close()
        return True
    except (DockerException, requests.RequestException):
        return False


class DockerSandbox:
    name = "docker"

    def __init__(
        self,
        image: str = DEFAULT_IMAGE,
        limits: Limits | None = None,
        client: docker.DockerClient | None = None,
        python: str = "auto",
        python2_image: str = PY27_IMAGE,
    ) -> None:
        self.image, self.python2_image, self.python = image, python2_image, python
        self.limits = limits or Limits()
        self.client = client or docker.from_env(timeout=60)
        self.python2_ready = self._present(python2_image)
        for needed, present in ((image, self._present(image)), (python2_image, self.python2_ready)):
            if not present and (needed == image or python == "2.7"):
                raise SandboxUnavailable(
                    f"sandbox image {needed!r} is missing: run `depgraph sandbox build-image`"
                )

    def _present(self, image: str) -> bool:
        try:
            self.client.images.get(image)
            return True
        except ImageNotFound:
            return False

    def _create(self, sdist: Path, python2: bool):  # type: ignore[no-untyped-def]
        lim = self.limits
        inside = f"/input/{sdist.name}"
        return self.client.containers.create(
            self.python2_image if python2 else self.image,
            entrypoint=list(EXTRACTOR_COMMAND),  # the image's own, stated so no image can swap it
            command=[inside, f"{WORK_DIR}/job", *(["--python2"] if python2 else [])],
            name=f"depgraph-sandbox-{uuid.uuid4().hex[:12]}",
            labels={LABEL: "1", OWNER_LABEL: owner()},
            network_mode="none",
            network_disabled=True,
            read_only=True,
            # uid/gid, not mode: Docker copies the image dir's mode onto a tmpfs mounted over it
            tmpfs={
                WORK_DIR: f"size={lim.tmpfs_mb}m,uid={SANDBOX_UID},gid={SANDBOX_GID},exec",
                "/tmp": "size=64m,mode=1777",
            },
            volumes={str(sdist.resolve()): {"bind": inside, "mode": "ro"}},
            user=f"{SANDBOX_UID}:{SANDBOX_GID}",
            working_dir=WORK_DIR,
            environment=SANDBOX_ENV,
            mem_limit=f"{lim.memory_mb}m",
            memswap_limit=f"{lim.memory_mb}m",  # no swap: memory bombs hit the limit, not the disk
            pids_limit=lim.pids,
            nano_cpus=int(lim.cpus * 1e9),
            cap_drop=["ALL"],
            security_opt=["no-new-privileges"],
            ulimits=[
                Ulimit(name="nofile", soft=1024, hard=1024),
                Ulimit(name="fsize", soft=lim.tmpfs_mb << 20, hard=lim.tmpfs_mb << 20),
            ],
            log_config=LogConfig(
                type="json-file", config={"max-size": str(lim.log_bytes), "max-file": "1"}
            ),
            stdin_open=False,
        )

    def extract(self, sdist: Path) -> SandboxResult:
        return in_stages(
            lambda py2: self._extract_once(sdist, py2), self.python, self.python2_ready
        )

    def _extract_once(self, sdist: Path, python2: bool) -> SandboxResult:
        started = time.monotonic()
        container = None
        try:
            container = self._create(sdist, python2)
            container.start()
            try:
                status = container.wait(timeout=self.limits.wall_seconds)
            except (requests.exceptions.ReadTimeout, requests.exceptions.ConnectionError):
                container.kill()
                return SandboxResult.timeout(
                    self.name, self.limits.wall_seconds, time.monotonic() - started
                )
            container.reload()
            oom = bool(container.attrs["State"].get("OOMKilled"))
            out = container.logs(stdout=True, stderr=False).decode("utf-8", "replace")
            result = from_extractor_output(out, self.name)
            if result.failure == "no-result":
                result.detail = (
                    f"the extractor ended without a result (exit status {status.get('StatusCode')})"
                )
            # a build that hit the limit answers nothing, even if a static read followed it
            if oom or (not result.ok and status.get("StatusCode") == 137):
                result.ok, result.method, result.requires_dist = False, None, []
                result.failure = "out-of-memory"
                result.detail = f"killed at the {self.limits.memory_mb} MiB memory limit"
            result.seconds = time.monotonic() - started
            return result
        except (APIError, DockerException, requests.RequestException) as exc:
            return SandboxResult(
                False,
                self.name,
                failure="sandbox-error",
                detail=f"{type(exc).__name__}: {exc}",
                seconds=time.monotonic() - started,
            )
        finally:
            if container is not None:
                # already gone is fine; `depgraph sandbox cleanup` finds anything else by label
                with contextlib.suppress(APIError, requests.RequestException):
                    container.remove(force=True, v=True)
