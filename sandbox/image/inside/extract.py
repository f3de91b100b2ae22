"""Runs INSIDE the sandbox (container or bwrap), as an unprivileged user with no network.

Usage: python3 extract.py SDIST_PATH WORK_DIR [--python2]
Prints one line `DEPGRAPH-RESULT {json}` on stdout, whatever happens. Everything the build prints
goes to a capped log whose tail is part of the result. Only the standard library, pyproject_hooks
and the build backends baked into the image are used.

Failures are raised as ExtractFailure and turned into the result once, in `__main__`; the helpers
(unpacking with its checks, the static setup.py reader) are plain functions the host tests import.

Order of attempts:
  1. PEP 517 `prepare_metadata_for_build_wheel` of the declared backend (setuptools' legacy backend
     when there is none), with `setup()` wrapped to capture its keyword arguments on the way;
  2. if that fails but setup() was reached: the captured install_requires / extras_require;
  3. when every build failed: a static read of literal setup() arguments and setup.cfg, and
     "no requirements" where setup.py names none; the result says when the failure looks like
     Python 2 code (`python2_evidence`), and the host then runs the Python 2.7 image;
  with --python2 (that image): `setup.py egg_info` under Python 2.7 with setup() captured, then
  the egg-info's requires.txt, then the same static read.
"""

from __future__ import annotations

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
from collections.abc import Mapping, Sequence
from typing import Any

MAX_UNPACKED = 256 * 1024 * 1024
MAX_MEMBERS = 20000
ERA_DIR = "/opt/depgraph-era"
TAIL = 4000
RESULT_MARKER = "DEPGRAPH-RESULT "
#: the interpreter of the Python 2.7 image (its python3 only drives the build)
PYTHON2 = "python2.7"

Result = dict[str, Any]


class ExtractFailure(Exception):
    """A typed failure: `reason` is one of sandbox.result.FAILURE_REASONS."""

    def __init__(self, reason: str, detail: object, log_tail: str | None = None) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason, self.detail, self.log_tail = reason, str(detail)[-TAIL:], log_tail


def failure_result(exc: ExtractFailure, partial: Result | None = None) -> Result:
    result: Result = dict(partial or {})
    result.update(ok=False, method=None, failure=exc.reason, detail=exc.detail)
    if exc.log_tail is not None:
        result["log_tail"] = exc.log_tail
    return result


# ---------------------------------------------------------------- safe unpacking
def _safe_name(name: str) -> bool:
    parts = name.replace("\\", "/").split("/")
    return not (name.startswith("/") or ".." in parts or (parts and ":" in parts[0]))


def unpack(path: str, dest: str) -> None:
    """Unpack an sdist into dest, refusing anything that could escape it or fill the disk."""
    total = 0
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
            if len(infos) > MAX_MEMBERS:
                raise ExtractFailure("archive-too-large", f"{len(infos)} members")
            for info in infos:
                if not _safe_name(info.filename):
                    raise ExtractFailure(
                        "unsafe-archive", f"member {info.filename!r} escapes the work dir"
                    )
                if (info.external_attr >> 16) & 0o170000 == 0o120000:
                    raise ExtractFailure("unsafe-archive", f"member {info.filename!r} is a symlink")
                total += info.file_size
                if total > MAX_UNPACKED:
                    raise ExtractFailure(
                        "archive-too-large", f"unpacks to more than {MAX_UNPACKED} bytes"
                    )
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
                            raise ExtractFailure(
                                "archive-too-large", "a member decompresses past the limit"
                            )
                        out.write(chunk)
        return
    try:
        tf = tarfile.open(path, "r:*")  # noqa: SIM115 (closed by the `with` below)
    except (tarfile.TarError, OSError) as exc:
        raise ExtractFailure("bad-archive", f"not a tar or zip archive: {exc}") from exc
    with tf:
        members = []
        for count, m in enumerate(tf):
            if count > MAX_MEMBERS:
                raise ExtractFailure("archive-too-large", f"more than {MAX_MEMBERS} members")
            if not _safe_name(m.name):
                raise ExtractFailure("unsafe-archive", f"member {m.name!r} escapes the work dir")
            if m.issym() or m.islnk():
                link = m.linkname
                resolved = (
                    os.path.normpath(os.path.join(os.path.dirname(m.name), link))
                    if m.issym()
                    else link
                )
                if link.startswith("/") or resolved.startswith("..") or not _safe_name(resolved):
                    raise ExtractFailure(
                        "unsafe-archive", f"link {m.name!r} -> {link!r} points outside the work dir"
                    )
            elif m.isdev() or m.isfifo():
                raise ExtractFailure("unsafe-archive", f"member {m.name!r} is a device or fifo")
            total += max(m.size, 0)
            if total > MAX_UNPACKED:
                raise ExtractFailure(
                    "archive-too-large", f"unpacks to more than {MAX_UNPACKED} bytes"
                )
            members.append(m)
        for m in members:
            m.mode = (m.mode | 0o600) & 0o755  # no setuid bits, always readable by us
            m.uid = m.gid = os.getuid()
        try:
            if hasattr(tarfile, "data_filter"):  # PEP 706, in 3.11.4+ and Debian's backport
                tf.extractall(dest, members=members, filter="data")
            else:
                tf.extractall(dest, members=members)
        except (tarfile.TarError, OSError, EOFError) as exc:
            raise ExtractFailure("bad-archive", f"{type(exc).__name__}: {exc}") from exc


def project_root(dest: str) -> str:
    entries = [e for e in os.listdir(dest) if not e.startswith(".")]
    if len(entries) == 1 and os.path.isdir(os.path.join(dest, entries[0])):
        return os.path.join(dest, entries[0])
    return dest


# ---------------------------------------------------------------- build backend
def read_build_system(root: str) -> dict[str, Any] | None:
    path = os.path.join(root, "pyproject.toml")
    if not os.path.exists(path):
        return None
    import tomllib

    try:
        with open(path, "rb") as fh:
            table = tomllib.load(fh).get("build-system", {})
    except (tomllib.TOMLDecodeError, UnicodeDecodeError, OSError) as exc:
        raise ExtractFailure(
            "bad-pyproject", f"pyproject.toml: {type(exc).__name__}: {exc}"
        ) from exc
    if not isinstance(table, dict):
        raise ExtractFailure("bad-pyproject", "pyproject.toml: [build-system] is not a table")
    return table


CAPTURE_SITE = r"""
import json, os, sys
_DEPGRAPH_KEYS = ("name", "version", "install_requires", "extras_require", "setup_requires",
                  "tests_require", "python_requires", "requires")
try:  # this file runs under Python 2.7 too
    _depgraph_str = unicode
except NameError:
    _depgraph_str = str
def _depgraph_text(value):
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else _depgraph_str(value)
def _depgraph_plain(value):
    # recorded by str(): nothing is iterated but plain containers (a generator handed to setup()
    # must reach setuptools unconsumed), nothing a setup.py passes can make this raise
    if isinstance(value, (str, bytes, _depgraph_str)):
        return _depgraph_text(value)
    if isinstance(value, (list, tuple)):
        return [_depgraph_text(v) for v in value]
    if isinstance(value, (set, frozenset)):
        return sorted(_depgraph_text(v) for v in value)
    if isinstance(value, dict):
        return {_depgraph_text(k): _depgraph_plain(v) for k, v in value.items()}
    return None if value is None else _depgraph_text(value)
def _depgraph_wrap(module, attr):
    original = getattr(module, attr)
    def setup(*args, **kwargs):
        # the capture is invisible to the build: whatever happens here, setup() runs as written
        try:
            keep = {key: _depgraph_plain(kwargs[key]) for key in _DEPGRAPH_KEYS if key in kwargs}
            with open(os.environ["DEPGRAPH_CAPTURE"], "w") as fh:
                json.dump(keep, fh)
        except Exception as exc:
            try:
                with open(os.environ["DEPGRAPH_CAPTURE"], "w") as fh:
                    json.dump({"capture_error": repr(exc)[:500]}, fh)
            except Exception:
                pass
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
"""


def run_hook(
    root: str,
    backend: str,
    backend_path: list[str] | None,
    log_path: str,
    capture_path: str,
    site_dir: str,
    extra_path: str = "",
) -> tuple[str | None, tuple[str, str] | None]:
    """(METADATA text, None) from the backend's prepare_metadata hook, or (None, (reason,
    detail))."""
    from pyproject_hooks import BackendUnavailable, BuildBackendHookCaller, HookMissing

    log = open(log_path, "ab")  # noqa: SIM115 (closed in the finally below)

    def runner(
        cmd: Sequence[str], cwd: str | None = None, extra_environ: Mapping[str, str] | None = None
    ) -> None:
        env = dict(os.environ)
        env.update(extra_environ or {})
        env["PYTHONPATH"] = os.pathsep.join(
            p for p in (site_dir, extra_path, env.get("PYTHONPATH", "")) if p
        )
        env["DEPGRAPH_CAPTURE"] = capture_path
        subprocess.run(
            cmd,
            cwd=cwd,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            check=True,
        )

    caller = BuildBackendHookCaller(root, backend, backend_path=backend_path, runner=runner)
    out_dir = tempfile.mkdtemp(prefix="meta-", dir=os.path.dirname(log_path))
    try:
        name = caller.prepare_metadata_for_build_wheel(out_dir, {})
        with open(os.path.join(out_dir, name, "METADATA"), "rb") as fh:
            return fh.read().decode("utf-8", "replace"), None
    except BackendUnavailable as exc:
        return None, (
            "backend-missing",
            f"build backend {backend!r} is not in the image: "
            f"{getattr(exc, 'message', None) or exc}",
        )
    except HookMissing as exc:
        return None, ("backend-missing", f"backend lacks hook {exc}")
    except subprocess.CalledProcessError as exc:
        return None, ("build-failed", f"backend {backend} exited with {exc.returncode}")
    finally:
        log.close()


def log_tail(path: str) -> str:
    try:
        with open(path, "rb") as fh:
            fh.seek(0, 2)
            size = fh.tell()
            fh.seek(max(0, size - TAIL))
            return fh.read().decode("utf-8", "replace")
    except OSError:
        return ""


# ---------------------------------------------------------------- python 2 setup.py: static read
_LIST_ARG = re.compile(
    r"\b(install_requires|setup_requires|tests_require|extras_require|python_requires)\s*=\s*"
)


def _balanced(text: str, start: int) -> str | None:
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
                return text[start : i + 1]
        i += 1
    return None


def static_setup_args(setup_py: str) -> dict[str, Any]:
    """Literal install_requires/... arguments of a setup.py read as text, never run."""
    with open(setup_py, "rb") as fh:
        text = fh.read().decode("utf-8", "replace")
    found: dict[str, Any] = {}
    for match in _LIST_ARG.finditer(text):
        literal = _balanced(text, match.end())
        if literal is None:
            continue
        after = text[match.end() + len(literal) :].lstrip()
        if after[:1] not in (",", ")", ""):
            continue  # the literal is only part of an expression (`[...] + more`)
        try:
            found[match.group(1)] = ast.literal_eval(literal)
        except (ValueError, SyntaxError):
            continue
    return found


_PY2_IDIOMS = re.compile(
    r"""^\s*print\s+[^\s(=]|^\s*exec\s+["']|except\s+[\w.]+\s*,\s*\w+\s*:|`[^`]+`|\b0[0-7]+\b|\bur["']|"""
    r"""raise\s+\w+\s*,""",
    re.M,
)


def syntax_problem(setup_py: str) -> str | None:
    """None if setup.py compiles; "python2" if it fails on Python 2 idioms; else "syntax"."""
    with open(setup_py, "rb") as fh:
        source = fh.read()
    try:
        compile(source, setup_py, "exec")
        return None
    except SyntaxError as exc:
        line = exc.text or ""
        text = source.decode("utf-8", "replace")
        return "python2" if _PY2_IDIOMS.search(line) or _PY2_IDIOMS.search(text) else "syntax"


# ---------------------------------------------------------------- main
def _read_capture(capture_path: str) -> dict[str, Any] | None:
    for path in (capture_path, capture_path + ".era"):
        if os.path.exists(path):
            try:
                with open(path) as fh:
                    captured = json.load(fh)
            except ValueError:
                continue
            if isinstance(captured, dict):
                return captured
    return None


def _failure_reason(error: tuple[str, str] | None, tail: str) -> tuple[str, str]:
    reason, detail = error or ("build-failed", "no metadata produced")
    if "SyntaxError" in tail:
        reason = "syntax-error"
    elif "MemoryError" in tail:
        reason = "out-of-memory"
    elif ("ModuleNotFoundError" in tail or "ImportError" in tail) and reason == "build-failed":
        reason = "missing-build-dependency"
    return reason, detail


def extract(sdist: str, work: str, result: Result, python2: bool = False) -> Result:
    """Everything the sdist declares, as the result dict; raises ExtractFailure. `result` is filled
    in as the work goes, so a failure still reports what was learnt before it. With `python2`
    (the Python 2.7 image), setup.py is run under Python 2.7 instead of the PEP 517 path."""
    os.makedirs(work, exist_ok=True)
    dest = os.path.join(work, "src")
    os.makedirs(dest)
    unpack(sdist, dest)
    root = project_root(dest)
    result["root"] = os.path.relpath(root, dest)
    setup_py = os.path.join(root, "setup.py")
    if python2:
        if not os.path.exists(setup_py):
            raise ExtractFailure("no-build-recipe", "no setup.py to run under Python 2.7")
        site_dir = os.path.join(work, "site")
        os.makedirs(site_dir)
        with open(os.path.join(site_dir, "sitecustomize.py"), "w") as fh:
            fh.write(CAPTURE_SITE)
        return python2_build(root, setup_py, work, result)
    result["interpreter"] = f"python{sys.version_info[0]}.{sys.version_info[1]}"
    build_system = read_build_system(root)
    backend = (build_system or {}).get("build-backend")
    backend_path = (build_system or {}).get("backend-path")
    if backend is None:
        if not os.path.exists(setup_py) and build_system is None:
            raise ExtractFailure(
                "no-build-recipe", "neither setup.py nor pyproject.toml at the top of the sdist"
            )
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
        metadata, _ = run_hook(
            root,
            backend,
            backend_path,
            log_path,
            capture_path + ".era",
            site_dir,
            extra_path=ERA_DIR,
        )
        if metadata is not None:
            result["detail"] = "built with the era backends (" + ERA_DIR + ")"
            result["era"] = True
    captured = _read_capture(capture_path)
    result["setup_kwargs"] = captured
    if metadata is not None:
        result.update(ok=True, method="pep517-metadata", metadata=metadata)
        return result
    tail = log_tail(log_path)
    result["log_tail"] = tail
    if captured is not None and ("install_requires" in captured or "extras_require" in captured):
        result.update(ok=True, method="setup-capture", detail=error[1] if error else None)
        return result
    problem = syntax_problem(setup_py) if os.path.exists(setup_py) else None
    evidence = python2_evidence(problem, tail)
    if evidence:
        result["python2_evidence"] = evidence
    if problem == "syntax":
        raise ExtractFailure("syntax-error", "setup.py does not compile", tail)
    if "MemoryError" in tail:  # a limit, not an answer: the static read would hide it
        raise ExtractFailure(*_failure_reason(error, tail), tail)
    # every build path failed: what setup.py and setup.cfg say without running them
    if os.path.exists(setup_py) and static_answer(root, setup_py, result, "Python 3"):
        return result
    if problem == "python2":
        raise ExtractFailure("python2-only", evidence + "; no literal requirement arguments", tail)
    if evidence:
        raise ExtractFailure("python2-runtime-error", evidence, tail)
    raise ExtractFailure(*_failure_reason(error, tail), tail)


# ---------------------------------------------------------------- python 2
#: what, in a Python 3 build's log, says the code was written for Python 2
_PY2_RUNTIME = re.compile(
    r"NameError: name '(?:execfile|file|unicode|basestring|raw_input|reduce|xrange|long|unichr|"
    r"reload|cmp|apply|buffer|intern|coerce)' is not defined"
    r"|(?:ModuleNotFoundError|ImportError): No module named '?(?:ConfigParser|urllib2|urlparse|"
    r"StringIO|cStringIO|cPickle|commands|HTMLParser|httplib|Queue|__builtin__|sets|md5|sha|"
    r"compiler|new|exceptions|SocketServer|Tkinter|cookielib|xmlrpclib|htmlentitydefs|"
    r"dummy_thread|urllib\.urlencode|string\.maketrans)\b'?"
    r"|AttributeError: .*has no attribute '(?:iteritems|itervalues|iterkeys|has_key|maketrans|"
    r"urlencode|urlopen|quote|letters|lowercase|uppercase|im_func|func_name)'"
    r"|TypeError: '(?:map|filter|zip|dict_keys|dict_values|dict_items|range)' object is not "
    r"(?:subscriptable|callable)"
    r"|AttributeError: 'str' object has no attribute 'decode'"
    r"|TypeError: unsupported operand type\(s\) for >>: 'builtin_function_or_method'"
    r"|TypeError: can only concatenate list \(not \"(?:dict_keys|dict_values|dict_items|map|"
    r"filter|range|zip)\"\) to list"
    r"|(?i:[^\n]*(?:requires?|needs?|only (?:works|runs) (?:on|with|under)) python ?2[^\n]*)"
    r"|ImportError: cannot import name '(?:walk|izip|imap|ifilter|izip_longest|maketrans|letters|"
    r"lowercase|uppercase|urlencode|urlopen|quote|unquote|urlretrieve|StringType|UnicodeType|"
    r"ListType|DictType|ClassType)'"
    r"|SyntaxError: multiple exception types must be parenthesized"
    r"|SyntaxError: Missing parentheses in call to '(?:print|exec)'"
    r"|SyntaxError: leading zeros in decimal integer literals"
    r"|TabError: inconsistent use of tabs and spaces"
)


def python2_evidence(problem: str | None, tail: str) -> str:
    """Why this sdist looks written for Python 2 ("" when nothing says so)."""
    if problem == "python2":
        return "setup.py is Python 2 syntax"
    matches = list(_PY2_RUNTIME.finditer(tail))
    if matches:
        found: str = matches[-1].group(0)
        return found.strip()
    # weaker: setup.py itself stopped on a type or attribute error, the usual face of code
    # written for Python 2 (str/bytes, dict views, file objects); 2.7 is asked, not trusted blindly
    errors = [m.group(1) for m in re.finditer(r"^((?:TypeError|AttributeError): .*)$", tail, re.M)]
    if errors and re.search(r'File "(?:\./)?setup\.py", line \d+', tail):
        return "setup.py stopped under Python 3: " + errors[-1].strip()[:300]
    return ""


def python2_build(root: str, setup_py: str, work: str, result: Result) -> Result:
    """Run `setup.py egg_info` under Python 2.7 with setup() captured (the Python 2.7 image)."""
    result["interpreter"] = PYTHON2
    log_path = os.path.join(work, "build.log")
    capture_path = os.path.join(work, "setup-kwargs.json")
    site_dir = os.path.join(work, "site")
    egg_base = os.path.join(work, "egg")
    os.makedirs(egg_base)
    env = dict(os.environ, DEPGRAPH_CAPTURE=capture_path, PYTHONPATH=site_dir)
    with open(log_path, "ab") as log:
        status = subprocess.run(
            [PYTHON2, "setup.py", "egg_info", "--egg-base", egg_base],
            cwd=root,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        ).returncode
    tail = log_tail(log_path)
    result["log_tail"] = tail
    captured = _read_capture(capture_path)
    result["setup_kwargs"] = captured
    if captured is not None and "capture_error" not in captured:
        # setup() was reached: what it was handed is the answer, even if egg_info stopped later
        result.update(ok=True, method="setup-capture")
        if status != 0:
            result["detail"] = f"egg_info exited with {status} after setup() was called"
        return result
    requires = egg_info_requires(egg_base)
    if status == 0 and requires is not None:
        result.update(ok=True, method="egg-info", setup_kwargs=requires)
        return result
    check = "import sys; compile(open(sys.argv[1]).read(), sys.argv[1], 'exec')"
    if subprocess.run([PYTHON2, "-c", check, setup_py], capture_output=True).returncode != 0:
        raise ExtractFailure(
            "syntax-error", "setup.py does not compile under Python 2.7 either", tail
        )
    failed = ("build-failed", f"setup.py egg_info exited with {status}")
    if "MemoryError" not in tail and static_answer(root, setup_py, result, "Python 2.7"):
        return result
    raise ExtractFailure(*_failure_reason(failed, tail), tail)


def egg_info_requires(egg_base: str) -> dict[str, Any] | None:
    """install_requires / extras_require from the requires.txt an egg_info run wrote."""
    infos = [e for e in os.listdir(egg_base) if e.endswith(".egg-info")]
    if len(infos) != 1:
        return None
    path = os.path.join(egg_base, infos[0], "requires.txt")
    if not os.path.exists(path):
        return {}
    install: list[str] = []
    extras: dict[str, list[str]] = {}
    current = install
    with open(path, encoding="utf-8", errors="replace") as fh:
        for raw in fh:
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            if line.startswith("[") and line.endswith("]"):
                current = extras.setdefault(line[1:-1], [])
            else:
                current.append(line)
    return {"install_requires": install, "extras_require": extras}


# ---------------------------------------------------------------- last resort: read, not run
_ANY_REQUIREMENT_WORD = re.compile(
    r"\b(?:install_requires|extras_require|setup_requires|tests_require|requires|"
    r"requirements?)\b|\*\*"
)


def static_answer(root: str, setup_py: str, result: Result, tried: str) -> bool:
    """Fill `result` from literal setup() arguments or setup.cfg; True if that answers.

    A setup.py that names no requirement anywhere (and unpacks no dict into a call) declares
    none: that is an answer too, of low confidence."""
    static = static_setup_args(setup_py)
    static.update({k: v for k, v in static_setup_cfg(root).items() if k not in static})
    if any(k in static for k in ("install_requires", "extras_require")):
        result.update(
            ok=True,
            method="static-setup-py",
            setup_kwargs=static,
            detail=f"setup.py failed under {tried}; literal setup() arguments read statically",
        )
        return True
    with open(setup_py, "rb") as fh:
        text = fh.read().decode("utf-8", "replace")
    if "setup(" in text.replace(" (", "(") and not _ANY_REQUIREMENT_WORD.search(text):
        result.update(
            ok=True,
            method="static-setup-py",
            setup_kwargs=static,
            detail=f"setup.py failed under {tried} and names no requirement: none declared",
        )
        return True
    return False


def static_setup_cfg(root: str) -> dict[str, Any]:
    """[options] install_requires and [options.extras_require] of setup.cfg, as setuptools reads
    them (dangling lists), without running anything."""
    import configparser

    path = os.path.join(root, "setup.cfg")
    if not os.path.exists(path):
        return {}
    parser = configparser.RawConfigParser()
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            parser.read_file(fh)
    except configparser.Error:
        return {}
    found: dict[str, Any] = {}
    if parser.has_option("options", "install_requires"):
        found["install_requires"] = _cfg_list(parser.get("options", "install_requires"))
    if parser.has_section("options.extras_require"):
        found["extras_require"] = {
            k: _cfg_list(v) for k, v in parser.items("options.extras_require")
        }
    return found


def _cfg_list(value: str) -> list[str]:
    return [line.strip() for line in value.splitlines() if line.strip()]


def main(argv: list[str]) -> Result:
    """The one result of a run, whatever happens inside."""
    result: Result = {"ok": False, "method": None, "failure": None, "detail": None}
    try:
        return extract(argv[1], argv[2], result, python2=argv[3:4] == ["--python2"])
    except ExtractFailure as exc:
        return failure_result(exc, result)
    except Exception:  # noqa: BLE001 (reported, typed) a bug of ours or a hostile archive we did not foresee
        return failure_result(ExtractFailure("extractor-crashed", traceback.format_exc()), result)


if __name__ == "__main__":
    outcome = main(sys.argv)
    sys.stdout.write(RESULT_MARKER + json.dumps(outcome) + "\n")
    sys.stdout.flush()
    # no interpreter shutdown: a build may have left threads or atexit hooks that would hang it
    os._exit(0)
