"""Write a static PEP 503 mirror tree, as bandersnatch lays one out, from a folder of distributions.

    out/simple/index.html                   project list
    out/simple/<project>/index.html         links with #sha256=, data-requires-python, data-yanked,
                                            data-core-metadata / data-dist-info-metadata (PEP
                                            658/714)
    out/packages/<file>, <wheel>.metadata   the files, and each wheel's METADATA

Served by any static web server (here: RangeHTTPServer, which honours Range and If-Modified-Since),
this is the "local mirror" kind of index. Pages are rewritten only when their content changes, and
then with an mtime past the old one, so Last-Modified validators stay truthful at 1 s resolution.
"""

from __future__ import annotations

import hashlib
import html
import json
import os
import shutil
import time
import zipfile
from pathlib import Path

from packaging.utils import parse_sdist_filename, parse_wheel_filename

from depgraph.crawler.lazywheel import metadata_member
from tests.lib.servers import project_of

__all__ = ["write_static_mirror"]


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _write_if_changed(path: Path, text: str) -> bool:
    if path.exists() and path.read_text() == text:
        return False
    old = path.stat().st_mtime if path.exists() else 0.0
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    stamp = max(time.time(), old + 1.5)  # HTTP dates have 1 s resolution
    os.utime(path, (stamp, stamp))
    return True


def write_static_mirror(
    flat: Path,
    out: Path,
    yanked: dict[str, str] | None = None,
    requires_python: dict[str, str] | None = None,
    core_metadata: bool = True,
    upload_times: dict[str, str] | None = None,
    serials: dict[str, int] | None = None,
) -> Path:
    """Mirror the files of `flat` into `out` (idempotent; files no longer in `flat` are removed).

    yanked: filename -> reason; requires_python: filename -> specifier; core_metadata: publish
    PEP 658 `.metadata` files (False: a mirror of the pre-2023 kind, wheels only)."""
    yanked, requires_python = yanked or {}, requires_python or {}
    packages = out / "packages"
    packages.mkdir(parents=True, exist_ok=True)
    by_project: dict[str, list[Path]] = {}
    for f in sorted(flat.iterdir()):
        if f.is_file() and not f.name.endswith(".metadata"):
            by_project.setdefault(project_of(f.name), []).append(f)
    wanted = {f.name for files in by_project.values() for f in files}
    for old in packages.iterdir():
        base = old.name.removesuffix(".metadata")
        if base not in wanted:
            old.unlink()
    for project, files in by_project.items():
        links = []
        for f in files:
            target = packages / f.name
            if not target.exists() or _sha256(target) != _sha256(f):
                shutil.copy2(f, target)
            attrs = f'href="../../packages/{html.escape(f.name)}#sha256={_sha256(target)}"'
            if f.name in requires_python:
                attrs += f' data-requires-python="{html.escape(requires_python[f.name])}"'
            if f.name in yanked:
                attrs += f' data-yanked="{html.escape(yanked[f.name])}"'
            if f.name.endswith(".whl") and core_metadata and zipfile.is_zipfile(target):
                # (a broken wheel gets no metadata file, as a real index would not have one)
                with zipfile.ZipFile(target) as zf:
                    meta = zf.read(metadata_member(zf.namelist()))
                (packages / f"{f.name}.metadata").write_bytes(meta)
                digest = hashlib.sha256(meta).hexdigest()
                attrs += (
                    f' data-core-metadata="sha256={digest}"'
                    f' data-dist-info-metadata="sha256={digest}"'
                )
            links.append(f"    <a {attrs}>{html.escape(f.name)}</a><br/>")
        _write_if_changed(
            out / "simple" / project / "index.html",
            '<!DOCTYPE html>\n<html><head><meta name="pypi:repository-version" content="1.1">'
            f"<title>Links for {project}</title></head><body>\n<h1>Links for {project}</h1>\n"
            + "\n".join(links)
            + "\n</body></html>\n",
        )
    for stale in (out / "simple").iterdir():
        if stale.is_dir() and stale.name not in by_project:
            shutil.rmtree(stale)
    _write_if_changed(
        out / "simple" / "index.html",
        '<!DOCTYPE html>\n<html><head><meta name="pypi:repository-version" content="1.1">'
        "<title>Simple index</title></head><body>\n"
        + "\n".join(f'<a href="{p}/">{p}</a>' for p in sorted(by_project))
        + "\n</body></html>\n",
    )
    if upload_times is not None or serials is not None:
        write_json_pages(out, upload_times or {}, yanked, requires_python, serials)
    return out


def _version_of(filename: str) -> str:
    if filename.endswith(".whl"):
        return str(parse_wheel_filename(filename)[1])
    return str(parse_sdist_filename(filename)[1])


def write_json_pages(
    out: Path,
    upload_times: dict[str, str],
    yanked: dict[str, str],
    requires_python: dict[str, str],
    serials: dict[str, int] | None = None,
) -> None:
    """PEP 691 JSON pages beside the HTML ones (`index.json`), with PEP 700 upload times
    (filename -> ISO 8601), for servers that answer JSON (tests/faultserver.FlakyMirror); with
    `serials` (project -> serial), PyPI's `_last-serial` on the root (per project and the
    index's) and on each page."""
    packages = out / "packages"
    projects = sorted(d.name for d in (out / "simple").iterdir() if d.is_dir())
    meta: dict[str, object] = {"api-version": "1.1"}
    for project in projects:
        files = []
        for f in sorted(packages.iterdir()):
            if f.name.endswith(".metadata") or project_of(f.name) != project:
                continue
            entry: dict[str, object] = {
                "filename": f.name,
                "url": f"../../packages/{f.name}",
                "hashes": {"sha256": _sha256(f)},
                "size": f.stat().st_size,
                "upload-time": upload_times.get(f.name),
            }
            if f.name in requires_python:
                entry["requires-python"] = requires_python[f.name]
            if f.name in yanked:
                entry["yanked"] = yanked[f.name]
            metadata = packages / f"{f.name}.metadata"
            if metadata.is_file():  # PEP 658/714, as the HTML page says it
                entry["core-metadata"] = {"sha256": _sha256(metadata)}
            files.append(entry)
        versions = sorted({_version_of(str(e["filename"])) for e in files})
        own = {**meta, "_last-serial": serials[project]} if serials else meta
        page = {"meta": own, "name": project, "files": files, "versions": versions}
        _write_if_changed(out / "simple" / project / "index.json", json.dumps(page))
    listed = [{"name": p, **({"_last-serial": serials[p]} if serials else {})} for p in projects]
    root_meta = {**meta, "_last-serial": max(serials.values())} if serials else meta
    root = {"meta": root_meta, "projects": listed}
    _write_if_changed(out / "simple" / "index.json", json.dumps(root))
