"""The demo: a small index of projects written for pypi-depgraph, served on loopback."""

from .distbuild import DistSpec, write_sdist, write_wheel
from .projects import DEMO_PROJECTS, build_demo_index
from .server import ChildServer, PypiServer, ServerStartError, free_port

__all__ = [
    "DEMO_PROJECTS",
    "ChildServer",
    "DistSpec",
    "PypiServer",
    "ServerStartError",
    "build_demo_index",
    "free_port",
    "write_sdist",
    "write_wheel",
]
