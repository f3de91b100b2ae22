"""Find and remove sandbox containers left behind (e.g. by a host crash mid-build)."""

from __future__ import annotations

import os
import socket

import docker
from docker.errors import APIError, NotFound
from docker.models.containers import Container

from .docker_backend import LABEL, OWNER_LABEL

__all__ = ["remove_leftovers", "remove_orphans"]


def _remove(container: Container) -> None:
    # a container removed meanwhile (its build ended), or whose removal is already in progress
    # (409: its own build is removing it), is what we wanted: not an error
    try:
        container.remove(force=True)
    except NotFound:
        return
    except APIError as exc:
        if exc.status_code != 409:
            raise


def remove_leftovers() -> list[str]:
    """Names of the labelled sandbox containers that were removed."""
    client = docker.from_env(timeout=30)
    # sparse: one listing, no per-container inspect that fails for a container removed meanwhile
    found = client.containers.list(all=True, sparse=True, filters={"label": LABEL})
    for container in found:
        _remove(container)
    return [_name(c) for c in found]


def _name(container: Container) -> str:
    names = container.attrs.get("Names") or [container.id or "?"]
    return str(names[0]).lstrip("/")


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
    for container in client.containers.list(all=True, sparse=True, filters={"label": OWNER_LABEL}):
        started_by = (container.attrs.get("Labels") or {}).get(OWNER_LABEL, "")
        owner_host, _, pid = started_by.rpartition(":")
        if owner_host == host and pid.isdigit() and not _alive(int(pid)):
            _remove(container)
            removed.append(_name(container))
    return removed
