"""Build the sandbox image: an offline base (debootstrap + docker import) plus the extractor layer.

`docker build` FROM a local base needs no registry, so both steps work on a machine without one.
Users with a registry can instead `docker build sandbox/image` with the Dockerfile there.
The same root filesystem is exported to a folder for the bwrap backend.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tarfile
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import cast

import docker
from docker.errors import ImageNotFound

from .docker_backend import DEFAULT_IMAGE

__all__ = [
    "BASE_IMAGE",
    "DOCKERFILE",
    "IMAGE_DIR",
    "build_image",
    "build_layer",
    "default_rootfs",
    "export_rootfs",
]

IMAGE_DIR = Path(__file__).resolve().parent / "image"
BASE_IMAGE = "pypi-depgraph-sandbox-base:latest"
DIGEST_LABEL = "pypi-depgraph.recipe-digest"

#: the extractor layer's recipe, the same file registry users build
DOCKERFILE = IMAGE_DIR / "Dockerfile"


def default_rootfs() -> Path:
    cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
    return cache / "pypi-depgraph" / "sandbox-rootfs"


def _digest(paths: list[Path], extra: str = "") -> str:
    h = hashlib.sha256(extra.encode())
    for path in sorted(paths):
        h.update(path.name.encode() + b"\0" + path.read_bytes())
    return h.hexdigest()[:16]


def base_digest() -> str:
    return _digest(
        [
            IMAGE_DIR / "build-offline.sh",
            IMAGE_DIR / "build-backends.txt",
            IMAGE_DIR / "era-backends.txt",
        ]
    )


def layer_digest() -> str:
    inside = [
        p for p in (IMAGE_DIR / "inside").rglob("*") if p.is_file() and "__pycache__" not in p.parts
    ]
    return _digest([*inside, DOCKERFILE], base_digest())


def _label(client: docker.DockerClient, tag: str) -> str | None:
    """The recipe digest an image was built from, or None when there is no such image."""
    try:
        labels: dict[str, str] = client.images.get(tag).labels or {}
    except ImageNotFound:
        return None
    return labels.get(DIGEST_LABEL, "")


def build_image(
    tag: str = DEFAULT_IMAGE,
    if_missing: bool = False,
    rootfs: Path | None = None,
    log: Callable[[str], None] = print,
) -> str:
    """Build (or, with if_missing, only bring up to date) the base, the image and the bwrap rootfs.

    Each part carries the digest of the files it was built from, so a changed extractor or backend
    list is rebuilt even on a machine that kept an older image."""
    client = docker.from_env(timeout=600)
    rootfs = rootfs or default_rootfs()
    marker = rootfs / "opt" / "depgraph" / ".digest"
    current = layer_digest()
    fresh_rootfs = marker.exists() and marker.read_text() == current
    if if_missing and _label(client, tag) == current and fresh_rootfs:
        log(f"sandbox image {tag} is up to date")
        return tag
    if _label(client, BASE_IMAGE) != base_digest():
        log(
            f"building {BASE_IMAGE} offline (debootstrap + docker import); this takes a few minutes"
        )
        subprocess.run(
            ["bash", str(IMAGE_DIR / "build-offline.sh"), BASE_IMAGE, base_digest()], check=True
        )
    build_layer(client, tag, BASE_IMAGE, labels={DIGEST_LABEL: current})
    log(f"built {tag}")
    export_rootfs(client, tag, rootfs)
    marker.write_text(current)
    return tag


def build_layer(
    client: docker.DockerClient,
    tag: str,
    base: str = BASE_IMAGE,
    labels: dict[str, str] | None = None,
) -> str:
    """`docker build` of image/Dockerfile FROM `base` (a local image: no registry, no network)."""
    with tempfile.TemporaryDirectory() as ctx:
        shutil.copytree(
            IMAGE_DIR / "inside", Path(ctx) / "inside", ignore=shutil.ignore_patterns("__pycache__")
        )
        shutil.copy2(DOCKERFILE, Path(ctx) / "Dockerfile")
        client.images.build(
            path=ctx,
            tag=tag,
            rm=True,
            forcerm=True,
            network_mode="none",
            buildargs={"BASE": base},
            labels=labels or {},
        )
    return tag


def export_rootfs(client: docker.DockerClient, tag: str, dest: Path) -> Path:
    """Unpack the image's filesystem into `dest` (for bwrap), replacing what was there."""
    container = client.containers.create(tag, command=["true"])
    tmp = dest.with_name(dest.name + ".new")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    try:
        with tempfile.TemporaryFile() as fh:
            for chunk in container.export():
                fh.write(cast(bytes, chunk))  # the stubs say str; the SDK streams bytes
            fh.seek(0)
            with tarfile.open(fileobj=fh) as tf:
                tf.extractall(tmp, filter="tar")  # our own image: keep devices/links as they are
    finally:
        container.remove(force=True)
    (tmp / "input").mkdir(exist_ok=True)  # bwrap's root is read-only: mount points must exist
    shutil.rmtree(dest, ignore_errors=True)
    tmp.rename(dest)
    return dest
