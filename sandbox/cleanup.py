"""Find and remove sandbox containers left behind (e.g. by a host crash mid-build)."""

from __future__ import annotations

import docker

from .docker_backend import LABEL

__all__ = ["leftover_containers", "remove_leftovers"]


def leftover_containers() -> list[str]:
    client = docker.from_env(timeout=30)
    return [c.name for c in client.containers.list(all=True, filters={"label": LABEL})]


def remove_leftovers() -> int:
    client = docker.from_env(timeout=30)
    found = client.containers.list(all=True, filters={"label": LABEL})
    for container in found:
        container.remove(force=True)
    return len(found)
