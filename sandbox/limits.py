"""Resource limits every sandbox backend enforces on one build."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Limits"]


@dataclass(frozen=True)
class Limits:
    memory_mb: int = 1024  # address space/RSS cap; a build needing more is recorded out-of-memory
    pids: int = 256  # processes + threads: stops fork bombs
    cpus: float = 1.0
    wall_seconds: float = 120.0  # killed after this, whatever it is doing
    tmpfs_mb: int = 512  # the work dir: unpacked sdist, build output, log
    log_bytes: int = 1 << 20  # what the host keeps of a container's stdout/stderr
