"""The demo index: a handful of small projects written for pypi-depgraph, covering each path.

wheels (ladder rung 2), static sdists (rung 3, PEP 643), legacy setup.py sdists (pending-sandbox,
rung 4), extras, a dependency cycle, an umbrella of pins and a dependency on a project that is not
on
the index.
"""

from __future__ import annotations

from pathlib import Path

from .distbuild import DistSpec, write_sdist, write_wheel

__all__ = ["DEMO_PROJECTS", "build_demo_index"]

# (spec, what to publish): "wheel", "static" / "legacy" / "dynamic" sdist
DEMO_PROJECTS: list[tuple[DistSpec, tuple[str, ...]]] = [
    (DistSpec("demo-core", "1.0"), ("wheel", "static")),
    (DistSpec("demo-core", "1.1", requires_python=">=3.9"), ("wheel", "static")),
    (
        DistSpec("demo-http", "2.0", ["demo-core>=1.0"], {"socks": ["demo-socks>=0.5"]}),
        ("wheel", "static"),
    ),
    (DistSpec("demo-socks", "0.5", ["demo-core"]), ("legacy",)),
    (DistSpec("demo-cli", "0.3", ["demo-http[socks]>=2.0", "demo-missing-plugin>=1"]), ("wheel",)),
    (DistSpec("demo-cycle-a", "1.0", ["demo-cycle-b"]), ("wheel",)),
    (DistSpec("demo-cycle-b", "1.0", ["demo-cycle-a"]), ("wheel",)),
    (
        DistSpec("demo-static", "1.0", ["demo-core>=1.1", 'demo-cycle-a; python_version >= "3.8"']),
        ("static",),
    ),
    (DistSpec("demo-legacy", "0.1", ["demo-http>=2"], {"test": ["demo-static"]}), ("legacy",)),
    (DistSpec("demo-dynamic", "0.2", ["demo-core"]), ("dynamic",)),
    (
        DistSpec(
            "demo-umbrella", "2024.1", ["demo-core==1.1", "demo-http==2.0", "demo-static==1.0"]
        ),
        ("wheel",),
    ),
]


def build_demo_index(out: Path) -> Path:
    """Write the demo distributions into the flat folder `out` (idempotent) and return it."""
    out.mkdir(parents=True, exist_ok=True)
    for spec, kinds in DEMO_PROJECTS:
        for kind in kinds:
            if kind == "wheel":
                write_wheel(spec, out)
            else:
                write_sdist(spec, out, style=kind)
    return out
