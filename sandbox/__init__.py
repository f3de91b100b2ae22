"""Build sdists in disposable sandboxes and report what they declare. Knows nothing of the crawler.

from depgraph.sandbox import open_sandbox
sb = open_sandbox("auto")          # docker when a daemon answers, else bwrap
result = sb.extract(Path("some-1.0.tar.gz"))
"""

from __future__ import annotations

from pathlib import Path

from .base import Sandbox
from .errors import SandboxError, SandboxUnavailable
from .limits import Limits
from .result import SandboxResult

__all__ = [
    "SANDBOX_VERSION",
    "Limits",
    "Sandbox",
    "SandboxError",
    "SandboxResult",
    "SandboxUnavailable",
    "open_sandbox",
]

#: bumped when what the in-sandbox extractor reports changes
SANDBOX_VERSION = "2"


def open_sandbox(
    kind: str = "auto",
    limits: Limits | None = None,
    image: str | None = None,
    rootfs: Path | None = None,
    python: str = "auto",
) -> Sandbox:
    """docker | bwrap | auto (docker when a daemon answers, else bwrap). Raises SandboxUnavailable
    if none. `python`: auto (Python 3, then the Python 2.7 sandbox when the build looks written
    for Python 2 and that sandbox exists), 3, or 2.7."""
    from .stages import PYTHON_CHOICES

    if python not in PYTHON_CHOICES:
        raise ValueError(f"unknown python {python!r} ({', '.join(PYTHON_CHOICES)})")
    from .bwrap_backend import BwrapSandbox, bwrap_available
    from .docker_backend import DEFAULT_IMAGE, DockerSandbox, docker_available
    from .image import default_rootfs

    if kind == "auto":
        if docker_available():
            kind = "docker"
        elif bwrap_available():
            kind = "bwrap"
        else:
            raise SandboxUnavailable(
                "no sandbox: no Docker daemon answers and bwrap is not installed"
            )
    if kind == "docker":
        return DockerSandbox(image or DEFAULT_IMAGE, limits, python=python)
    if kind == "bwrap":
        return BwrapSandbox(rootfs or default_rootfs(), limits, python=python)
    raise ValueError(f"unknown sandbox {kind!r} (docker, bwrap, auto)")
