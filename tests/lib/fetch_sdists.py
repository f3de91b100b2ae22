"""Runs inside the sandbox image with network: fetches listed sdists from a PEP 691 index.

Usage: python3 fetch_sdists.py INDEX_URL OUT_DIR   (OUT_DIR/wanted.json lists "project==version")
Writes each archive to OUT_DIR and OUT_DIR/fetched.json: "project==version" -> {"file", "sha256"}
or {"error"}. Only the standard library; nothing fetched is opened.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import sys
import urllib.parse
import urllib.request

MAX_BYTES = 50 * 1024 * 1024
SDIST_SUFFIXES = (".tar.gz", ".tgz", ".tar.bz2", ".zip", ".tar")
ACCEPT = "application/vnd.pypi.simple.v1+json"


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def sdist_version(filename: str, project: str) -> str | None:
    """The version part of a legacy sdist filename of `project`, or None."""
    for suffix in SDIST_SUFFIXES:
        if filename.lower().endswith(suffix):
            stem = filename[: -len(suffix)]
            break
    else:
        return None
    # the project's name may hold dashes: match it as a prefix, canonically
    for cut in range(len(stem)):
        if stem[cut] == "-" and canonical(stem[:cut]) == canonical(project):
            return stem[cut + 1 :]
    return None


def fetch_one(index_url: str, project: str, version: str, out: str) -> dict[str, object]:
    page_url = urllib.parse.urljoin(index_url, canonical(project) + "/")
    req = urllib.request.Request(page_url, headers={"Accept": ACCEPT})
    with urllib.request.urlopen(req, timeout=60) as resp:
        page = json.loads(resp.read(20 * 1024 * 1024))
    files = [
        f for f in page.get("files", [])
        if sdist_version(f.get("filename", ""), project) == version
    ]  # fmt: skip
    if not files:
        return {"error": "no sdist of this version on the index"}
    chosen = sorted(files, key=lambda f: SDIST_SUFFIXES.index(
        next(s for s in SDIST_SUFFIXES if f["filename"].lower().endswith(s))))[0]  # fmt: skip
    name = os.path.basename(chosen["filename"])
    if name != chosen["filename"] or name.startswith("."):
        return {"error": f"unsafe file name {chosen['filename']!r}"}
    want = chosen.get("hashes", {}).get("sha256")
    url = urllib.parse.urljoin(page_url, chosen["url"])
    digest = hashlib.sha256()
    size = 0
    with (
        urllib.request.urlopen(url, timeout=120) as resp,
        open(os.path.join(out, name), "wb") as fh,
    ):
        while True:
            chunk = resp.read(1 << 20)
            if not chunk:
                break
            size += len(chunk)
            if size > MAX_BYTES:
                return {"error": f"larger than {MAX_BYTES} bytes"}
            digest.update(chunk)
            fh.write(chunk)
    if want and digest.hexdigest() != want:
        os.unlink(os.path.join(out, name))
        return {"error": "sha256 differs from the index's"}
    return {"file": name, "sha256": digest.hexdigest(), "size": size}


def main(index_url: str, out: str) -> None:
    with open(os.path.join(out, "wanted.json")) as fh:
        wanted = json.load(fh)
    results: dict[str, dict[str, object]] = {}
    for key in wanted:
        project, _, version = key.partition("==")
        try:
            results[key] = fetch_one(index_url, project, version, out)
        except (OSError, ValueError, KeyError) as exc:
            results[key] = {"error": f"{type(exc).__name__}: {exc}"}
        print(key, results[key], flush=True)
    with open(os.path.join(out, "fetched.json"), "w") as fh:
        json.dump(results, fh)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
