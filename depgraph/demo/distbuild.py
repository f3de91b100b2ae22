"""Write real wheels and sdists from a small spec, without a build backend.

Used by the demo index, the tests and the benchmarks: the archives are what setuptools / flit would
publish (dist-info with RECORD, sdist with PKG-INFO and a build recipe), built in milliseconds.
"""

from __future__ import annotations

import base64
import hashlib
import io
import tarfile
import textwrap
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from packaging.utils import canonicalize_name

__all__ = ["DistSpec", "write_sdist", "write_wheel"]


@dataclass
class DistSpec:
    name: str
    version: str
    requires: list[str] = field(default_factory=list)  # Requires-Dist lines, extras via markers
    extras: dict[str, list[str]] = field(default_factory=dict)  # extra -> requirement strings
    requires_python: str | None = None
    summary: str = "An example project of pypi-depgraph's demo index"
    filler: int = 0  # bytes of incompressible payload, to give wheels a realistic size
    scripts: dict[str, str] = field(default_factory=dict)  # console script -> "module:function"

    @property
    def dist(self) -> str:
        return canonicalize_name(self.name).replace("-", "_")

    @property
    def module(self) -> str:
        return self.dist

    def requires_dist(self) -> list[str]:
        lines = list(self.requires)
        for extra, reqs in self.extras.items():
            for req in reqs:
                joiner = " and " if ";" in req else "; "
                lines.append(f'{req}{joiner}extra == "{extra}"')
        return lines

    def core_metadata(self, metadata_version: str = "2.1", requires: bool = True) -> str:
        lines = [
            f"Metadata-Version: {metadata_version}",
            f"Name: {self.name}",
            f"Version: {self.version}",
            f"Summary: {self.summary}",
        ]
        if self.requires_python:
            lines.append(f"Requires-Python: {self.requires_python}")
        lines += [f"Provides-Extra: {e}" for e in self.extras]
        if requires:
            lines += [f"Requires-Dist: {r}" for r in self.requires_dist()]
        return "\n".join(lines) + "\n\n" + f"{self.summary}.\n"


_EPOCH = (2024, 1, 1, 0, 0, 0)


def _record_hash(data: bytes) -> str:
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def write_wheel(spec: DistSpec, out_dir: Path, tag: str = "py3-none-any") -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    info = f"{spec.dist}-{spec.version}.dist-info"
    members: dict[str, bytes] = {
        f"{spec.module}/__init__.py": f'__version__ = "{spec.version}"\n'.encode()
    }
    if spec.filler:
        # seeded pseudo-random bytes: incompressible, so the wheel really is this large
        seed = hashlib.sha256(spec.name.encode() + spec.version.encode()).digest()
        blob = b"".join(
            hashlib.sha256(seed + i.to_bytes(4, "big")).digest()
            for i in range(spec.filler // 32 + 1)
        )
        members[f"{spec.module}/_data.bin"] = blob[: spec.filler]
    members[f"{info}/METADATA"] = spec.core_metadata().encode()
    if spec.scripts:
        lines = "".join(f"{name} = {target}\n" for name, target in spec.scripts.items())
        members[f"{info}/entry_points.txt"] = f"[console_scripts]\n{lines}".encode()
    members[f"{info}/WHEEL"] = (
        f"Wheel-Version: 1.0\nGenerator: pypi-depgraph-distbuild\n"
        f"Root-Is-Purelib: {'true' if tag.endswith('any') else 'false'}\nTag: {tag}\n"
    ).encode()
    record = (
        "".join(f"{n},{_record_hash(d)},{len(d)}\n" for n, d in members.items())
        + f"{info}/RECORD,,\n"
    )
    members[f"{info}/RECORD"] = record.encode()
    path = out_dir / f"{spec.dist}-{spec.version}-{tag}.whl"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(zipfile.ZipInfo(name, _EPOCH), data, compress_type=zipfile.ZIP_DEFLATED)
    return path


def _setup_py(spec: DistSpec) -> str:
    return textwrap.dedent(f"""\
        from setuptools import setup

        setup(
            name={spec.name!r},
            version={spec.version!r},
            packages=[{spec.module!r}],
            install_requires={[r for r in spec.requires]!r},
            extras_require={spec.extras!r},
            python_requires={spec.requires_python!r},
        )
        """)


def _pyproject(spec: DistSpec) -> str:
    deps = ", ".join(f'"{r}"' for r in spec.requires)
    extras = "".join(
        f"{k} = [{', '.join(repr(r).replace(chr(39), chr(34)) for r in v)}]\n"
        for k, v in spec.extras.items()
    )
    rp = f'requires-python = "{spec.requires_python}"\n' if spec.requires_python else ""
    return (
        '[build-system]\nrequires = ["setuptools>=61"]\nbuild-backend = '
        '"setuptools.build_meta"\n\n'
        f'[project]\nname = "{spec.name}"\nversion = "{spec.version}"\n{rp}dependencies = '
        f"[{deps}]\n"
        f"[project.optional-dependencies]\n{extras}"
    )


def write_sdist(
    spec: DistSpec,
    out_dir: Path,
    style: str = "static",
    extra_files: dict[str, bytes] | None = None,
) -> Path:
    """style: static (PKG-INFO 2.2, PEP 643 authoritative), legacy (setup.py, PKG-INFO 1.1 without
    requirements), or dynamic (PKG-INFO 2.2 with `Dynamic: Requires-Dist`)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    base = f"{spec.dist}-{spec.version}"
    files: dict[str, bytes] = {
        f"{spec.module}/__init__.py": f'__version__ = "{spec.version}"\n'.encode()
    }
    if style == "static":
        files["PKG-INFO"] = spec.core_metadata("2.2").encode()
        files["pyproject.toml"] = _pyproject(spec).encode()
    elif style == "legacy":
        files["PKG-INFO"] = spec.core_metadata("1.1", requires=False).encode()
        files["setup.py"] = _setup_py(spec).encode()
    elif style == "dynamic":
        meta = spec.core_metadata("2.2", requires=False).replace(
            "\n\n", "\nDynamic: Requires-Dist\n\n", 1
        )
        files["PKG-INFO"] = meta.encode()
        files["setup.py"] = _setup_py(spec).encode()
    else:
        raise ValueError(f"unknown sdist style {style!r}")
    files.update(extra_files or {})
    path = out_dir / f"{base}.tar.gz"
    with tarfile.open(path, "w:gz") as tf:
        for name, data in files.items():
            ti = tarfile.TarInfo(f"{base}/{name}")
            ti.size, ti.mtime, ti.mode = len(data), int(time.mktime((*_EPOCH, 0, 0, -1))), 0o644
            tf.addfile(ti, io.BytesIO(data))
    return path
