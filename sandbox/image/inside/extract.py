"""Runs INSIDE the sandbox (container or bwrap), as an unprivileged user with no network.

Usage: python3 extract.py SDIST_PATH WORK_DIR
Prints one line `DEPGRAPH-RESULT {json}` on stdout, whatever happens. Everything the build prints
goes to a capped log whose tail is part of the result. Only the standard library, pyproject_hooks
and the build backends baked into the image are used.

Order of attempts:
  1. PEP 517 `prepare_metadata_for_build_wheel` of the declared backend (setuptools' legacy backend
     when there is none), with `setup()` wrapped to capture its keyword arguments on the way;
  2. if that fails but setup() was reached: the captured install_requires / extras_require;
  3. if setup.py is not Python 3 (SyntaxError): a static read of literal setup() arguments.
"""

import ast
import json
import os
import re
import subprocess
import sys
import tarfile
import tempfile
import traceback
import zipfile

MAX_UNPACKED = 256 * 1024 * 1024
MAX_MEMBERS = 20000
ERA_DIR = "/opt/depgraph-era"
TAIL = 4000

result = {"ok": False, "method": None, "failure": None, "detail": None}


def finish():
    sys.stdout.write("DEPGRAPH-RESULT " + json.dumps(result) + "\n")
    sys.stdout.flush()
    os._exit(0)


def fail(reason, detail, log_tail=None):
    result.update(ok=False, failure=reason, detail=str(detail)[-TAIL:])
    if log_tail is not None:
        result["log_tail"] = log_tail
    finish()


# ---------------------------------------------------------------- safe unpacking
def _safe_name(name):
    parts = name.replace("\\", "/").split("/")
    return not (name.startswith("/") or ".." in parts or (parts and ":" in parts[0]))


def unpack(path, dest):
    total = 0
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
            if len(infos) > MAX_MEMBERS:
                fail("archive-too-large", f"{len(infos)} members")
            for info in infos:
                if not _safe_name(info.filename):
                    fail("unsafe-archive", f"member {info.filename!r} escapes the work dir")
                if (info.external_attr >> 16) & 0o170000 == 0o120000:
                    fail("unsafe-archive", f"member {info.filename!r} is a symlink")
                total += info.file_size
                if total > MAX_UNPACKED:
                    fail("archive-too-large", f"unpacks to more than {MAX_UNPACKED} bytes")
            for info in infos:
                target = os.path.join(dest, info.filename)
                if info.is_dir():
                    os.makedirs(target, exist_ok=True)
                    continue
                os.makedirs(os.path.dirname(target), exist_ok=True)
                with zf.open(info) as src, open(target, "wb") as out:
                    written = 0
                    while True:  # the declared size may lie: count what really comes out
                        chunk = src.read(1 << 20)
                        if not chunk:
                            break
                        written += len(chunk)
                        if written > MAX_UNPACKED:
                            fail("archive-too-large", "a member decompresses past the limit")
                        out.write(chunk)
        return
    try:
        tf = tarfile.open(path, "r:*")
    except (tarfile.TarError, OSError) as exc:
        fail("bad-archive", f"not a tar or zip archive: {exc}")
    with tf:
        members = []
        for count, m in enumerate(tf):
            if count > MAX_MEMBERS:
                fail("archive-too-large", f"more than {MAX_MEMBERS} members")
            if not _safe_name(m.name):
                fail("unsafe-archive", f"member {m.name!r} escapes the work dir")
            if m.issym() or m.islnk():
                link = m.linkname
                resolved = os.path.normpath(os.path.join(os.path.dirname(m.name), link)) if m.issym() else link
                if link.startswith("/") or resolved.startswith("..") or not _safe_name(resolved):
                    fail("unsafe-archive", f"link {m.name!r} -> {link!r} points outside the work dir")
            elif m.isdev() or m.isfifo():
                fail("unsafe-archive", f"member {m.name!r} is a device or fifo")
            total += max(m.size, 0)
            if total > MAX_UNPACKED:
                fail("archive-too-large", f"unpacks to more than {MAX_UNPACKED} bytes")
            members.append(m)
        for m in members:
            m.mode = (m.mode | 0o600) & 0o755  # no setuid bits, always readable by us
            m.uid = m.gid = os.getuid()
        try:
            kwargs = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}
            tf.extractall(dest, members=members, **kwargs)
        except (tarfile.TarError, OSError, EOFError) as exc:
            fail("bad-archive", f"{type(exc).__name__}: {exc}")


def project_root(dest):
    entries = [e for e in os.listdir(dest) if not e.startswith(".")]
    if len(entries) == 1 and os.path.isdir(os.path.join(dest, entries[0])):
        return os.path.join(dest, entries[0])
    return dest


# ---------------------------------------------------------------- build backend
def read_build_system(root):
    path = os.path.join(root, "pyproject.toml")
    if not os.path.exists(path):
        return None
    try:
        import tomllib
    except ImportError:  # Python < 3.11 image
        import tomli as tomllib
    try:
        with open(path, "rb") as fh:
            return tomllib.load(fh).get("build-system", {})
    except Exception as exc:
        fail("bad-pyproject", f"pyproject.toml: {type(exc).__name__}: {exc}")


CAPTURE_SITE = r'''
import json, os, sys
def _depgraph_wrap(module, attr):
    original = getattr(module, attr)
    def setup(*args, **kwargs):
        keep = {}
        for key in ("name", "version", "install_requires", "extras_require", "setup_requires",
                    "tests_require", "python_requires", "requires"):
            if key in kwargs:
                value = kwargs[key]
                if isinstance(value, (str, bytes)):
                    value = value.decode() if isinstance(value, bytes) else value
                elif isinstance(value, dict):
                    value = {str(k): (v if isinstance(v, str) else [str(i) for i in v]) for k, v in value.items()}
                elif value is not None:
                    value = [str(v) for v in value]
                keep[key] = value
        with open(os.environ["DEPGRAPH_CAPTURE"], "w") as fh:
            json.dump(keep, fh)
        return original(*args, **kwargs)
    setattr(module, attr, setup)
try:
    import setuptools
    _depgraph_wrap(setuptools, "setup")
except Exception:
    pass
try:
    import distutils.core
    _depgraph_wrap(distutils.core, "setup")
except Exception:
    pass
'''


def run_hook(root, backend, backend_path, log_path, capture_path, site_dir, extra_path=""):
    from pyproject_hooks import BuildBackendHookCaller, BackendUnavailable, HookMissing

    log = open(log_path, "ab")

    def runner(cmd, cwd=None, extra_environ=None):
        env = dict(os.environ)
        env.update(extra_environ or {})
        env["PYTHONPATH"] = os.pathsep.join(p for p in (site_dir, extra_path, env.get("PYTHONPATH", "")) if p)
        env["DEPGRAPH_CAPTURE"] = capture_path
        subprocess.run(cmd, cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                       check=True)

    caller = BuildBackendHookCaller(root, backend, backend_path=backend_path, runner=runner)
    out_dir = tempfile.mkdtemp(prefix="meta-", dir=os.path.dirname(log_path))
    try:
        name = caller.prepare_metadata_for_build_wheel(out_dir, {})
        with open(os.path.join(out_dir, name, "METADATA"), "rb") as fh:
            return fh.read().decode("utf-8", "replace"), None
    except BackendUnavailable as exc:
        return None, ("backend-missing", f"build backend {backend!r} is not in the image: {getattr(exc, 'message', None) or exc}")
    except HookMissing as exc:
        return None, ("backend-missing", f"backend lacks hook {exc}")
    except subprocess.CalledProcessError as exc:
        return None, ("build-failed", f"backend {backend} exited with {exc.returncode}")
    finally:
        log.close()


def log_tail(path):
    try:
        with open(path, "rb") as fh:
            fh.seek(0, 2)
            size = fh.tell()
            fh.seek(max(0, size - TAIL))
            return fh.read().decode("utf-8", "replace")
    except OSError:
        return ""


# ---------------------------------------------------------------- python 2 setup.py: static read
_LIST_ARG = re.compile(r"\b(install_requires|setup_requires|tests_require|extras_require|python_requires)\s*=\s*")


def _balanced(text, start):
    opener = text[start]
    closer = {"[": "]", "(": ")", "{": "}", "'": "'", '"': '"'}.get(opener)
    if closer is None:
        return None
    depth, i = 0, start
    while i < len(text):
        ch = text[i]
        if ch == opener and opener not in "'\"":
            depth += 1
        elif ch == closer:
            depth -= 1
            if depth <= 0 or opener in "'\"":
                if opener in "'\"" and i == start:
                    i += 1
                    continue
                return text[start:i + 1]
        i += 1
    return None


def static_setup_args(setup_py):
    with open(setup_py, "rb") as fh:
        text = fh.read().decode("utf-8", "replace")
    found = {}
    for match in _LIST_ARG.finditer(text):
        literal = _balanced(text, match.end())
        if literal is None:
            continue
        try:
            found[match.group(1)] = ast.literal_eval(literal)
        except (ValueError, SyntaxError):
            continue
    return found


_PY2_IDIOMS = re.compile(
    r"""^\s*print\s+[^\s(=]|^\s*exec\s+["']|except\s+[\w.]+\s*,\s*\w+\s*:|`[^`]+`|\b0[0-7]+\b|\bur["']|"""
    r"""raise\s+\w+\s*,""", re.M)


def syntax_problem(setup_py):
    """None if setup.py compiles; "python2" if it fails on Python 2 idioms; else "syntax"."""
    with open(setup_py, "rb") as fh:
        source = fh.read()
    try:
        compile(source, setup_py, "exec")
        return None
    except SyntaxError as exc:
        line = (exc.text or "")
        text = source.decode("utf-8", "replace")
        return "python2" if _PY2_IDIOMS.search(line) or _PY2_IDIOMS.search(text) else "syntax"


# ---------------------------------------------------------------- main
def main():
    sdist, work = sys.argv[1], sys.argv[2]
    os.makedirs(work, exist_ok=True)
    dest = os.path.join(work, "src")
    os.makedirs(dest)
    unpack(sdist, dest)
    root = project_root(dest)
    result["root"] = os.path.relpath(root, dest)
    setup_py = os.path.join(root, "setup.py")
    build_system = read_build_system(root)
    backend = (build_system or {}).get("build-backend")
    backend_path = (build_system or {}).get("backend-path")
    if backend is None:
        if not os.path.exists(setup_py) and build_system is None:
            fail("no-build-recipe", "neither setup.py nor pyproject.toml at the top of the sdist")
        backend = "setuptools.build_meta:__legacy__"
    result["backend"] = backend
    site_dir = os.path.join(work, "site")
    os.makedirs(site_dir)
    with open(os.path.join(site_dir, "sitecustomize.py"), "w") as fh:
        fh.write(CAPTURE_SITE)
    log_path = os.path.join(work, "build.log")
    capture_path = os.path.join(work, "setup-kwargs.json")
    metadata, error = run_hook(root, backend, backend_path, log_path, capture_path, site_dir)
    if metadata is None and os.path.isdir(ERA_DIR):
        # today's backends reject some old configurations; the era set accepts them
        with open(log_path, "ab") as fh:
            fh.write(b"\n--- retrying with the era backends in " + ERA_DIR.encode() + b" ---\n")
        metadata, era_error = run_hook(root, backend, backend_path, log_path, capture_path + ".era",
                                       site_dir, extra_path=ERA_DIR)
        if metadata is not None:
            result["detail"] = "built with the era backends (" + ERA_DIR + ")"
            result["era"] = True
    captured = None
    for path in (capture_path, capture_path + ".era"):
        if captured is None and os.path.exists(path):
            try:
                with open(path) as fh:
                    captured = json.load(fh)
            except ValueError:
                captured = None
    result["setup_kwargs"] = captured
    if metadata is not None:
        result.update(ok=True, method="pep517-metadata", metadata=metadata)
        finish()
    tail = log_tail(log_path)
    result["log_tail"] = tail
    if captured is not None and ("install_requires" in captured or "extras_require" in captured):
        result.update(ok=True, method="setup-capture", detail=error[1] if error else None)
        finish()
    problem = syntax_problem(setup_py) if os.path.exists(setup_py) else None
    if problem == "python2":
        # no Python 2 interpreter in the image: read literal setup() arguments without running anything
        static = static_setup_args(setup_py)
        result["python2"] = True
        if static:
            result.update(ok=True, method="static-setup-py", setup_kwargs=static,
                          detail="setup.py is Python 2 only; literal setup() arguments read statically")
            finish()
        fail("python2-only", "setup.py is Python 2 only and has no literal requirement arguments", tail)
    if problem == "syntax":
        fail("syntax-error", "setup.py does not compile", tail)
    reason, detail = error or ("build-failed", "no metadata produced")
    if "SyntaxError" in tail:
        reason = "syntax-error"
    elif "MemoryError" in tail:
        reason = "out-of-memory"
    elif "ModuleNotFoundError" in tail or "ImportError" in tail:
        reason = "missing-build-dependency" if reason == "build-failed" else reason
    fail(reason, detail, tail)


if __name__ == "__main__":
    try:
        main()
    except SystemExit:
        raise
    except BaseException:
        fail("extractor-crashed", traceback.format_exc())
