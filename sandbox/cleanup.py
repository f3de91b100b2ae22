"""Find and remove sandbox containers left behind (e.g. by a host crash mid-build)."""

from __future__ import annotations

import os
import socket

import docker

from .docker_backend import LABEL, OWNER_LABEL

__all__ = ["remove_leftovers", "remove_orphans"]


def remove_leftovers() -> list[str]:
    """Names of the labelled sandbox containers that were removed."""
    client = docker.from_env(timeout=30)
    found = client.containers.list(all=True, filters={"label": LABEL})
    for container in found:
        container.remove(force=True)
    return [c.name or c.id or "?" for c in found]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process: alive
    return True


def remove_orphans() -> list[str]:
    """Remove the sandbox containers of this host whose starting process is dead (a worker killed
    mid-build leaves its container running until its build ends, then stopped); the builds of live
    processes, and of other hosts sharing the daemon, are left alone. Names removed."""
    client = docker.from_env(timeout=30)
    host = socket.gethostname()
    removed = []
    for container in client.containers.list(all=True, filters={"label": OWNER_LABEL}):
        started_by = container.labels.get(OWNER_LABEL, "")
        owner_host, _, pid = started_by.rpartition(":")
        if owner_host == host and pid.isdigit() and not _alive(int(pid)):
            container.remove(force=True)
            removed.append(container.name or container.id or "?")
    return removed
