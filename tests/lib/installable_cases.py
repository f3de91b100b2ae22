"""A hand-built index of real wheels, one project per installability outcome, for checking our
resolver against pip's on the same loopback index."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from packaging.utils import canonicalize_name

from depgraph.demo.distbuild import DistSpec, write_wheel
from tests.lib.mirror import write_static_mirror

# (spec, wheel tag, yanked?)
CASES: list[tuple[DistSpec, str, bool]] = [
    # installable chains, with a Requires-Python cut-off on the newest dependency release
    (DistSpec("ok-app", "1.0", ["ok-lib>=1"]), "py3-none-any", False),
    (DistSpec("ok-lib", "1.0", ["ok-base"]), "py3-none-any", False),
    (DistSpec("ok-lib", "2.0", ["ok-base"], requires_python=">=3.99"), "py3-none-any", False),
    (DistSpec("ok-base", "0.5"), "py3-none-any", False),
    # a conflict: two dependencies want incompatible versions of a third
    (DistSpec("conflict-app", "1.0", ["c-left", "c-right"]), "py3-none-any", False),
    (DistSpec("c-left", "1.0", ["c-shared<2"]), "py3-none-any", False),
    (DistSpec("c-right", "1.0", ["c-shared>=2"]), "py3-none-any", False),
    (DistSpec("c-shared", "1.0"), "py3-none-any", False),
    (DistSpec("c-shared", "2.0"), "py3-none-any", False),
    # backtracking that succeeds: the newest helper conflicts, an older one fits
    (DistSpec("bt-app", "1.0", ["bt-helper", "c-shared<2"]), "py3-none-any", False),
    (DistSpec("bt-helper", "2.0", ["c-shared>=2"]), "py3-none-any", False),
    (DistSpec("bt-helper", "1.0", ["c-shared"]), "py3-none-any", False),
    # no release for this Python, and none for this platform
    (DistSpec("rp-only", "1.0", requires_python=">=3.99"), "py3-none-any", False),
    (DistSpec("plat-win", "1.0"), "cp311-cp311-win_amd64", False),
    (DistSpec("plat-linux", "1.0", ["ok-base"]), "cp311-cp311-manylinux_2_17_x86_64", False),
    # yanked releases: used only when pinned and nothing else matches (PEP 592)
    (DistSpec("yank-lib", "1.0"), "py3-none-any", True),
    (DistSpec("yank-lib", "2.0"), "py3-none-any", False),
    (DistSpec("yank-pin", "1.0", ["yank-lib==1.0"]), "py3-none-any", False),
    (DistSpec("yank-loose", "1.0", ["yank-lib"]), "py3-none-any", False),
    (DistSpec("yank-solo", "1.0"), "py3-none-any", True),
    # a dependency with no release that matches
    (DistSpec("too-new", "1.0", ["ok-base>=9"]), "py3-none-any", False),
    # a dependency that is not on the index
    (DistSpec("miss-app", "1.0", ["not-on-the-index>=1"]), "py3-none-any", False),
    # extras: one that brings a conflict, one that brings a plain dependency
    (DistSpec("extra-lib", "1.0", ["ok-base"], {"old": ["c-shared<2"]}), "py3-none-any", False),
    (DistSpec("extra-bad", "1.0", ["extra-lib[old]", "c-shared>=2"]), "py3-none-any", False),
    (DistSpec("extra-ok", "1.0", ["extra-lib[old]"]), "py3-none-any", False),
    # pre-releases: only when nothing final matches
    (DistSpec("pre-lib", "1.0"), "py3-none-any", False),
    (DistSpec("pre-lib", "2.0b1"), "py3-none-any", False),
    (DistSpec("pre-want", "1.0", ["pre-lib>=1.5"]), "py3-none-any", False),
    (DistSpec("pre-any", "1.0", ["pre-lib"]), "py3-none-any", False),
    # markers evaluated for the target
    (
        DistSpec(
            "mark-app",
            "1.0",
            [
                'win-only-missing; sys_platform == "win32"',
                'old-py-missing; python_version < "3.0"',
                "ok-base",
            ],
        ),
        "py3-none-any",
        False,
    ),
]


def write_installable_index(folder: Path, mirror: Path) -> Path:
    """The wheels into `folder`, a static PEP 503/658 mirror of them (yanked flags and
    Requires-Python on the page, as PyPI gives them) into `mirror`."""
    yanked, requires_python = {}, {}
    for spec, tag, is_yanked in CASES:
        wheel = write_wheel(spec, folder, tag=tag)
        if is_yanked:
            yanked[wheel.name] = "broken release"
        if spec.requires_python:
            requires_python[wheel.name] = spec.requires_python
    return write_static_mirror(folder, mirror, yanked=yanked, requires_python=requires_python)


def pip_dry_run(index_url: str, requirement: str, python: str) -> set[tuple[str, str]] | None:
    """The (project, version) set `pip install --dry-run --report` resolves for `requirement` on
    CPython `python` against `index_url` alone (isolated from this machine's pip configuration,
    wheels only); None when pip finds no solution."""
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--isolated",
            "--dry-run",
            "--ignore-installed",
            "--quiet",
            "--disable-pip-version-check",
            "--report",
            "-",
            "--index-url",
            index_url,
            "--python-version",
            python,
            "--only-binary=:all:",
            requirement,
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    if done.returncode != 0:
        return None
    return {
        (canonicalize_name(i["metadata"]["name"]), i["metadata"]["version"])
        for i in json.loads(done.stdout)["install"]
    }
