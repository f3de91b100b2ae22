"""Find and remove sandbox containers left behind (e.g. by a host crash mid-build)."""

from __future__ import annotations

import docker

from .docker_backend import LABEL

__all__ = ["remove_leftovers"]


def remove_leftovers() -> list[str]:
    """Names of the labelled sandbox containers that were removed."""
    client = docker.from_env(timeout=30)
    found = client.containers.list(all=True, filters={"label": LABEL})
    for container in found:
        container.remove(force=True)
    return [c.name or c.id or "?" for c in found]
