"""The image has one recipe: image/Dockerfile agrees with what the backends run (sandbox/base.py),
and an image built from that Dockerfile, on the offline base, extracts a real sdist through its own
ENTRYPOINT."""

from __future__ import annotations

import json
import shlex
import uuid
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest

from depgraph.demo.distbuild import DistSpec, write_sdist
from depgraph.sandbox.base import EXTRACTOR_COMMAND, SANDBOX_ENV, SANDBOX_GID, SANDBOX_UID, WORK_DIR
from depgraph.sandbox.docker_backend import DockerSandbox
from depgraph.sandbox.image import BASE_IMAGE, DOCKERFILE, build_layer
from depgraph.sandbox.result import RESULT_MARKER


def dockerfile_instructions() -> dict[str, str]:
    """instruction -> argument text of the last one of each kind (the ones that take effect)."""
    found: dict[str, str] = {}
    for line in DOCKERFILE.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            word, _, rest = line.strip().partition(" ")
            found[word.upper()] = rest.strip()
    return found


def test_dockerfile_states_what_the_backends_run() -> None:
    got = dockerfile_instructions()
    assert got["USER"] == f"{SANDBOX_UID}:{SANDBOX_GID}"
    assert got["WORKDIR"] == WORK_DIR
    assert dict(kv.split("=", 1) for kv in shlex.split(got["ENV"])) == SANDBOX_ENV
    assert tuple(json.loads(got["ENTRYPOINT"])) == EXTRACTOR_COMMAND


@pytest.fixture(scope="module")
def dockerfile_image() -> Iterator[str]:
    client = docker.from_env(timeout=600)
    tag = f"pypi-depgraph-sandbox-test:{uuid.uuid4().hex[:8]}"
    build_layer(client, tag, BASE_IMAGE)
    yield tag
    client.images.remove(tag, force=True)


@pytest.fixture(scope="module")
def legacy_sdist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    spec = DistSpec("recipe-check", "1.0", ["demo-core>=1.0"], {"socks": ["demo-socks>=0.5"]})
    return write_sdist(spec, tmp_path_factory.mktemp("sdist"), style="legacy")


@pytest.mark.docker
def test_image_from_the_dockerfile_runs_its_own_entrypoint(
    dockerfile_image: str, legacy_sdist: Path
) -> None:
    client = docker.from_env(timeout=120)
    inside = f"/input/{legacy_sdist.name}"
    # no entrypoint, user or environment given: the image's own, as a registry user would run it
    out = client.containers.run(
        dockerfile_image,
        command=[inside, f"{WORK_DIR}/job"],
        network_mode="none",
        remove=True,
        tmpfs={WORK_DIR: f"uid={SANDBOX_UID},gid={SANDBOX_GID},exec"},
        volumes={str(legacy_sdist): {"bind": inside, "mode": "ro"}},
        stdout=True,
        stderr=False,
    )
    line = next(x for x in out.decode().splitlines() if x.startswith(RESULT_MARKER))
    result = json.loads(line[len(RESULT_MARKER) :])
    assert result["ok"] and result["method"] == "pep517-metadata", result


@pytest.mark.docker
def test_docker_backend_extracts_with_the_dockerfile_image(
    dockerfile_image: str, legacy_sdist: Path
) -> None:
    result = DockerSandbox(dockerfile_image).extract(legacy_sdist)
    assert result.ok, result.detail
    assert sorted(result.requires_dist) == ["demo-core>=1.0", 'demo-socks>=0.5; extra == "socks"']
