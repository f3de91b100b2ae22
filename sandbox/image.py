"""Build the sandbox image: an offline base (debootstrap + docker import) plus the extractor layer.

`docker build` FROM a local base needs no registry, so both steps work on a machine without one.
Users with a registry can instead `docker build sandbox/image` with the Dockerfile there.
The same root filesystem is exported to a folder for the bwrap backend.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path

import docker
from docker.errors import ImageNotFound

from .docker_backend import DEFAULT_IMAGE

__all__ = ["BASE_IMAGE", "IMAGE_DIR", "build_image", "default_rootfs", "export_rootfs"]

IMAGE_DIR = Path(__file__).resolve().parent / "image"
BASE_IMAGE = "pypi-depgraph-sandbox-base:latest"

LAYER_DOCKERFILE = f"""\
FROM {BASE_IMAGE}
COPY inside /opt/depgraph
USER 65534:65534
WORKDIR /work
ENV HOME=/tmp PYTHONDONTWRITEBYTECODE=1 PIP_NO_INDEX=1
"""


def default_rootfs() -> Path:
    cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
    return cache / "pypi-depgraph" / "sandbox-rootfs"


def _has(client: docker.DockerClient, tag: str) -> bool:
    try:
        client.images.get(tag)
        return True
    except ImageNotFound:
        return False


def build_image(tag: str = DEFAULT_IMAGE, if_missing: bool = False, rootfs: Path | None = None,
                log: callable = print) -> str:  # type: ignore[valid-type]
    client = docker.from_env(timeout=600)
    if if_missing and _has(client, tag) and (rootfs or default_rootfs()).joinpath("opt/depgraph/extract.py").exists():
        log(f"sandbox image {tag} is present")
        return tag
    if not _has(client, BASE_IMAGE):
        log(f"building {BASE_IMAGE} offline (debootstrap + docker import); this takes a few minutes")
        subprocess.run(["bash", str(IMAGE_DIR / "build-offline.sh"), BASE_IMAGE], check=True)
    with tempfile.TemporaryDirectory() as ctx:
        shutil.copytree(IMAGE_DIR / "inside", Path(ctx) / "inside")
        (Path(ctx) / "Dockerfile").write_text(LAYER_DOCKERFILE)
        client.images.build(path=ctx, tag=tag, rm=True, forcerm=True, network_mode="none")
    log(f"built {tag}")
    export_rootfs(client, tag, rootfs or default_rootfs())
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
                fh.write(chunk)
            fh.seek(0)
            with tarfile.open(fileobj=fh) as tf:
                tf.extractall(tmp, filter="tar")  # our own image: keep devices/links as they are
    finally:
        container.remove(force=True)
    (tmp / "input").mkdir(exist_ok=True)  # bwrap's root is read-only: mount points must exist
    shutil.rmtree(dest, ignore_errors=True)
    tmp.rename(dest)
    return dest
