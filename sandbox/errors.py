"""Errors of the sandbox package. What an sdist does inside a sandbox is never an exception (it is a
typed failure in a SandboxResult); these are about the sandbox itself."""

from __future__ import annotations

from depgraph.core.errors import DepgraphError

__all__ = ["SandboxError", "SandboxUnavailable"]


class SandboxError(DepgraphError):
    reason = "sandbox"


class SandboxUnavailable(SandboxError):
    """No sandbox of the asked kind on this machine: no daemon, no image, no bwrap or no rootfs."""

    reason = "sandbox-unavailable"
