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

from .bwrap_backend import python2_rootfs_of
from .docker_backend import DEFAULT_IMAGE, PY27_IMAGE

__all__ = [
    "BASE_IMAGE",
    "DOCKERFILE",
    "IMAGE_DIR",
    "PY27_BASE_IMAGE",
    "build_image",
    "build_layer",
    "default_rootfs",
    "export_rootfs",
]

IMAGE_DIR = Path(__file__).resolve().parent / "image"
BASE_IMAGE = "pypi-depgraph-sandbox-base:latest"
PY27_BASE_IMAGE = "pypi-depgraph-sandbox-py27-base:latest"
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


def py27_base_digest() -> str:
    return _digest([IMAGE_DIR / "build-offline-py27.sh"])


def layer_digest(base: str | None = None) -> str:
    inside = [
        p for p in (IMAGE_DIR / "inside").rglob("*") if p.is_file() and "__pycache__" not in p.parts
    ]
    return _digest([*inside, DOCKERFILE], base or base_digest())


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
    python2: bool = True,
) -> str:
    """Build (or, with if_missing, only bring up to date) the base, the image and the bwrap rootfs,
    and with `python2` the same for the Python 2.7 sandbox (beside the rootfs, with "-py27").

    Each part carries the digest of the files it was built from, so a changed extractor or backend
    list is rebuilt even on a machine that kept an older image."""
    client = docker.from_env(timeout=600)
    rootfs = rootfs or default_rootfs()
    flavours = [(tag, BASE_IMAGE, "build-offline.sh", base_digest(), rootfs)]
    if python2:
        flavours.append(
            (
                PY27_IMAGE if tag == DEFAULT_IMAGE else tag.replace(":", "-py27:", 1),
                PY27_BASE_IMAGE,
                "build-offline-py27.sh",
                py27_base_digest(),
                python2_rootfs_of(rootfs),
            )
        )
    for image, base, recipe, base_label, folder in flavours:
        _build_flavour(client, image, base, recipe, base_label, folder, if_missing, log)
    return tag


def _build_flavour(
    client: docker.DockerClient,
    tag: str,
    base: str,
    recipe: str,
    base_label: str,
    rootfs: Path,
    if_missing: bool,
    log: Callable[[str], None],
) -> None:
    marker = rootfs / "opt" / "depgraph" / ".digest"
    current = layer_digest(base_label)
    fresh_rootfs = marker.exists() and marker.read_text() == current
    if if_missing and _label(client, tag) == current and fresh_rootfs:
        log(f"sandbox image {tag} is up to date")
        return
    if _label(client, base) != base_label:
        log(f"building {base} offline (debootstrap + docker import); this takes a few minutes")
        subprocess.run(["bash", str(IMAGE_DIR / recipe), base, base_label], check=True)
    build_layer(client, tag, base, labels={DIGEST_LABEL: current})
    log(f"built {tag}")
    export_rootfs(client, tag, rootfs)
    marker.write_text(current)


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
