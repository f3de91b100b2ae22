"""A corpus of sdists whose setup.py only runs under Python 2, chosen from mach-nix's data.

The reference is what mach-nix recorded when it ran each setup.py under CPython 2.7 (the `27` key
of `pypi-deps-db/sdist`), and, where the sdist carries one, its own `*.egg-info/requires.txt`.
The archives are fetched from an index into a cache outside the repository, by a fetcher that runs
in the sandbox image (network on, nothing of the archive run), and never committed.

    python -m tests.lib.py2corpus select [--per-class N]   # writes tests/data/py2-corpus.txt
    python -m tests.lib.py2corpus fetch [--cache DIR] [--index-url URL]
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import os
import re
import shutil
import sys
import tarfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from depgraph.sandbox.result import requires_from_setup_kwargs

ROOT = Path(__file__).resolve().parents[2]
LIST = ROOT / "tests" / "data" / "py2-corpus.txt"
SHARED = Path(os.environ.get("DEPGRAPH_SHARED", ROOT.parent / "shared"))
DEPS_DB = SHARED / "data" / "pypi-deps-db"
FETCHER = Path(__file__).with_name("fetch_sdists.py")
#: the selection's salt: another salt draws another held-out sample
SALT = "py2-corpus-1"


def default_cache() -> Path:
    if os.environ.get("DEPGRAPH_PY2_CORPUS"):
        return Path(os.environ["DEPGRAPH_PY2_CORPUS"])
    cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
    return cache / "pypi-depgraph" / "py2-corpus"


# How setup.py failed under Python 3 in mach-nix's run (its sdist-errors text), one class each.
PY2_NAMES = {
    "execfile", "file", "unicode", "basestring", "raw_input", "reduce", "xrange", "long",
    "unichr", "reload", "cmp", "apply", "buffer", "intern", "coerce",
}  # fmt: skip
PY2_MODULES = {
    "ConfigParser", "urllib2", "urlparse", "StringIO", "cStringIO", "cPickle", "commands",
    "HTMLParser", "httplib", "Queue", "__builtin__", "sets", "md5", "sha", "compiler", "new",
    "exceptions", "SocketServer", "Tkinter", "cookielib", "xmlrpclib", "htmlentitydefs",
    "dummy_thread",
}  # fmt: skip
CLASS_QUOTA = {
    "py3-syntax": 10,
    "py2-name": 10,
    "py2-module": 10,
    "py2-method": 6,
    "type-error": 6,
    "other": 6,
}


def failure_class(message: str) -> str:
    last = message.strip().splitlines()[-1] if message.strip() else ""
    if last.startswith(("SyntaxError", "TabError", "IndentationError")):
        return "py3-syntax"
    name = re.match(r"NameError: name '(\w+)' is not defined", last)
    if name and name.group(1) in PY2_NAMES:
        return "py2-name"
    module = re.match(r"(?:ModuleNotFoundError|ImportError): No module named '?([\w.]+)'?", last)
    if module and module.group(1).split(".")[0] in PY2_MODULES:
        return "py2-module"
    if re.match(r"AttributeError: .* has no attribute '(iter\w+|has_key|decode)'", last):
        return "py2-method"
    if last.startswith("TypeError"):
        return "type-error"
    return "other"


def _resolve(table: dict[str, Any], key: str) -> Any:
    """mach-nix's aliases: a string value means "the same as that sibling key"."""
    value = table.get(key)
    for _ in range(10):
        if not (isinstance(value, str) and value in table):
            return value
        value = table[value]
    return None


def _buckets(kind: str) -> Iterator[dict[str, Any]]:
    for path in sorted((DEPS_DB / kind).glob("*.json.gz")):
        with gzip.open(path) as fh:
            yield json.load(fh)


def _bucket_of(name: str) -> str:
    return hashlib.sha256(name.encode()).hexdigest()[:2]


def _load_bucket(kind: str, name: str) -> dict[str, Any]:
    path = DEPS_DB / kind / f"{_bucket_of(name)}.json.gz"
    if not path.exists():
        return {}
    with gzip.open(path) as fh:
        data: dict[str, Any] = json.load(fh)
    return data


def py2_only_releases() -> Iterator[tuple[str, str, str]]:
    """(project, version, class) of every release with data only under `27` and a Python 3 error."""
    errors: dict[str, Any] = {}
    for bucket in _buckets("sdist-errors"):
        errors.update(bucket)
    for bucket in _buckets("sdist"):
        for project, versions in bucket.items():
            for version in versions:
                entry = _resolve(versions, version)
                if not isinstance(entry, dict) or set(entry) != {"27"}:
                    continue
                failed = _resolve(errors.get(project, {}), version)
                if not isinstance(failed, dict):
                    continue
                message = next(
                    (m for k in ("310", "39", "38", "37", "36") if (m := _resolve(failed, k))),
                    None,
                )
                if isinstance(message, str):
                    yield project, version, failure_class(message)


def select(per_class_scale: float = 1.0, salt: str = SALT) -> list[tuple[str, str, str]]:
    """A held-out sample: per class, the releases first by a salted hash, one per project."""
    ranked: dict[str, list[tuple[str, str, str, str]]] = {c: [] for c in CLASS_QUOTA}
    for project, version, cls in py2_only_releases():
        rank = hashlib.sha256(f"{salt}:{project}:{version}".encode()).hexdigest()
        ranked[cls].append((rank, project, version, cls))
    chosen: list[tuple[str, str, str]] = []
    for cls, quota in CLASS_QUOTA.items():
        seen: set[str] = set()
        for _, project, version, _cls in sorted(ranked[cls]):
            if project in seen:
                continue
            seen.add(project)
            chosen.append((project, version, cls))
            if len(seen) >= round(quota * per_class_scale):
                break
    return chosen


@dataclass(frozen=True)
class Py2Case:
    project: str
    version: str
    failure_class: str

    @property
    def key(self) -> str:
        return f"{self.project}=={self.version}"


def cases(listing: Path = LIST) -> list[Py2Case]:
    out = []
    for line in listing.read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            project, version, cls = line.split()
            out.append(Py2Case(project, version, cls))
    return out


def machnix_py27(case: Py2Case) -> list[str] | None:
    """Requires-Dist lines from what setup.py declared under 2.7 in mach-nix's run."""
    versions = _load_bucket("sdist", case.project).get(case.project, {})
    entry = _resolve(versions, case.version)
    if not isinstance(entry, dict):
        return None
    deps = _resolve(entry, "27")
    if not isinstance(deps, dict):
        return None
    lines, _extras = requires_from_setup_kwargs(deps)
    return lines


def egg_info_requires(sdist: Path) -> list[str] | None:
    """Requires-Dist lines from the sdist's own PKG-INFO sibling `*.egg-info/requires.txt`."""
    text = None
    if zipfile.is_zipfile(sdist):
        with zipfile.ZipFile(sdist) as zf:
            for name in zf.namelist():
                if name.count("/") == 2 and name.endswith(".egg-info/requires.txt"):
                    text = zf.read(name).decode("utf-8", "replace")
                    break
    else:
        with tarfile.open(sdist) as tf:
            for member in tf:
                if member.name.count("/") == 2 and member.name.endswith(".egg-info/requires.txt"):
                    fh = tf.extractfile(member)
                    text = fh.read().decode("utf-8", "replace") if fh else None
                    break
    if text is None:
        return None
    # requires.txt: bare lines, then `[extra]`, `[extra:marker]` or `[:marker]` sections;
    # re.split leaves the bare part first, then (section, body) pairs
    parts = re.split(r"^\[([^\]]*)\]\s*$", text, flags=re.M)
    install = _requirement_lines(parts[0])
    sections = {parts[k]: _requirement_lines(parts[k + 1]) for k in range(1, len(parts) - 1, 2)}
    lines, _extras = requires_from_setup_kwargs(
        {"install_requires": install, "extras_require": sections}
    )
    return lines


def _requirement_lines(body: str) -> list[str]:
    return [x.strip() for x in body.splitlines() if x.strip() and not x.strip().startswith("#")]


def fetched(cache: Path) -> dict[str, Any]:
    """The fetch manifest: "project==version" -> {"file": name, "sha256": ...} or {"error": ...}."""
    manifest = cache / "manifest.json"
    if not manifest.exists():
        return {}
    data: dict[str, Any] = json.loads(manifest.read_text())
    return data


def host_ca_bundle() -> Path | None:
    """The CA bundle the host's pip trusts (a proxy's own CA may be in it), for the fetcher."""
    for candidate in (
        os.environ.get("PIP_CERT"),
        os.environ.get("REQUESTS_CA_BUNDLE"),
        os.environ.get("SSL_CERT_FILE"),
        "/etc/ssl/certs/ca-certificates.crt",
    ):
        if candidate and Path(candidate).is_file():
            return Path(candidate)
    return None


def fetch(cache: Path, index_url: str, image: str, listing: Path = LIST) -> dict[str, Any]:
    """Fetch every listed release's sdist into `cache`, inside the sandbox image with the host's
    network: the archives are only written, never opened here."""
    import docker

    cache.mkdir(parents=True, exist_ok=True)
    staging = cache / "staging"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir()
    staging.chmod(0o777)  # the container writes as nobody
    have = fetched(cache)
    wanted = [c.key for c in cases(listing) if "file" not in have.get(c.key, {})]
    if not wanted:
        shutil.rmtree(staging)
        return have
    (staging / "wanted.json").write_text(json.dumps(wanted))
    volumes = {
        str(FETCHER.parent): {"bind": "/fetcher", "mode": "ro"},
        str(staging): {"bind": "/out", "mode": "rw"},
    }
    environment = {}
    ca = host_ca_bundle()
    if ca is not None:
        volumes[str(ca.resolve())] = {"bind": "/etc/depgraph-ca.pem", "mode": "ro"}
        environment["SSL_CERT_FILE"] = "/etc/depgraph-ca.pem"
    client = docker.from_env(timeout=600)
    container = client.containers.run(
        image,
        entrypoint=["python3", "/fetcher/fetch_sdists.py"],
        command=[index_url, "/out"],
        network_mode="host",
        read_only=True,
        user="65534:65534",
        volumes=volumes,
        environment=environment,
        tmpfs={"/tmp": "size=64m"},
        detach=True,
    )
    try:
        status = container.wait(timeout=1800)
        logs = container.logs().decode("utf-8", "replace")
    finally:
        container.remove(force=True)
    if status.get("StatusCode") != 0:
        raise SystemExit(f"the fetcher failed (exit {status.get('StatusCode')}):\n{logs[-3000:]}")
    manifest = fetched(cache)
    got: dict[str, Any] = json.loads((staging / "fetched.json").read_text())
    for key, entry in got.items():
        if "file" in entry:
            shutil.move(str(staging / entry["file"]), cache / entry["file"])
        manifest[key] = entry
    (cache / "manifest.json").write_text(json.dumps(manifest, indent=1, sort_keys=True))
    shutil.rmtree(staging)
    return manifest


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = ap.add_subparsers(dest="command", required=True)
    sel = sub.add_parser("select", help="draw the sample from pypi-deps-db into " + str(LIST))
    sel.add_argument("--scale", type=float, default=1.0, help="multiply every class's quota")
    sel.add_argument("--salt", default=SALT, help="another salt draws another sample")
    sel.add_argument("--out", type=Path, default=LIST)
    fe = sub.add_parser("fetch", help="fetch the listed sdists into the cache")
    fe.add_argument("--cache", type=Path, default=None)
    fe.add_argument("--list", type=Path, default=LIST, help="the releases to fetch")
    fe.add_argument("--index-url", default="https://pypi.org/simple/")
    fe.add_argument("--image", default="pypi-depgraph-sandbox:latest")
    args = ap.parse_args(argv)
    if args.command == "select":
        rows = select(args.scale, args.salt)
        args.out.write_text(
            f"# project version class-of-its-python-3-failure"
            f" (python -m tests.lib.py2corpus select --salt {args.salt})\n"
            + "".join(f"{p} {v} {c}\n" for p, v, c in rows)
        )
        print(f"{len(rows)} releases -> {args.out}")
        return 0
    manifest = fetch(args.cache or default_cache(), args.index_url, args.image, args.list)
    keys = {c.key for c in cases(args.list)}
    ok = sum("file" in manifest.get(k, {}) for k in keys)
    print(f"{ok} of {len(keys)} sdists in {args.cache or default_cache()}")
    for key, entry in sorted(manifest.items()):
        if key in keys and "error" in entry:
            print(f"  {key}: {entry['error']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
