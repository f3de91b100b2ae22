"""One tiny sdist per attack on the sandbox. Each setup.py reports what it managed to do through
its install_requires, so a test can tell a contained attack from a successful one."""

from __future__ import annotations

import gzip
import io
import tarfile
import textwrap
from collections.abc import Sequence
from pathlib import Path

# Python 2.7 and 3 alike (the hostile tests run on both sandboxes): under 2.7, open() and
# sockets raise IOError, not OSError
PREAMBLE = (
    "import os, sys, socket, subprocess, time, signal\nfrom setuptools import setup\n"
    "try:\n    FileNotFoundError\nexcept NameError:\n    OSError = EnvironmentError\n"
)


def _setup(body: str, requires: str = "[]") -> str:
    return (
        PREAMBLE
        + textwrap.dedent(body)
        + f"\nsetup(name='hostile', version='1.0', install_requires={requires})\n"
    )


def attacks(host_port: int, canary: Path, marker: str) -> dict[str, str]:
    """name -> setup.py source."""
    return {
        "network": _setup(
            f"""
            s = socket.socket(); s.settimeout(3)
            try:
                s.connect(("127.0.0.1", {host_port})); REACHED = ["pwned-network"]
            except OSError as exc:
                raise SystemExit("network blocked: %s" % exc)
            """,
            "REACHED",
        ),
        "read-canary": _setup(
            f"""
            try:
                SECRET = open({str(canary)!r}).read().split()
            except OSError as exc:
                raise SystemExit("canary unreadable: %s" % exc)
            """,
            "['pwned-read-' + SECRET[0]]",
        ),
        "write-outside": _setup(
            f"""
            wrote = []
            for path in ({str(canary)!r}, "/etc/pwned", "/opt/depgraph/pwned", "/usr/pwned",
                         "/input/pwned"):
                try:
                    with open(path, "w") as fh:
                        fh.write("pwned")
                    wrote.append(path)
                except OSError:
                    pass
            if not wrote:
                raise SystemExit("every write outside the work dir was refused")
            """,
            "['pwned-write'] + wrote",
        ),
        "fork-bomb": _setup("""
            while True:
                try:
                    os.fork()
                except OSError:
                    time.sleep(0.01)
            """),
        "memory-bomb": _setup("""
            hog = []
            while True:
                hog.append(bytearray(64 * 1024 * 1024))
                hog[-1][::4096] = b"x" * len(hog[-1][::4096])  # touch every page
            """),
        "endless-loop": _setup("""
            while True:
                pass
            """),
        "gigantic-stdout": _setup(
            """
            line = ("A" * 1023 + "\\n")
            chunk = line * 1024
            for target in ("/proc/%d/fd/1" % os.getppid(), "/proc/1/fd/1"):
                try:
                    with open(target, "w") as fh:
                        for _ in range(300):  # 300 MiB into the parent's / init's stdout
                            fh.write(chunk)
                except OSError:
                    pass
            for _ in range(300):
                sys.stdout.write(chunk)
            """,
            "['after-flood']",
        ),
        "daemon": _setup(
            f"""
            subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)", {marker!r}],
                             preexec_fn=os.setsid, stdin=open(os.devnull),
                             stdout=open(os.devnull, "w"), stderr=open(os.devnull, "w"),
                             close_fds=True)
            """,
            "['daemon-started']",
        ),
        "kill-parent": _setup(
            """
            for pid in (os.getppid(), 1):
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass
            time.sleep(1)
            """,
            "['survived-kill']",
        ),
    }


def _tar(path: Path, members: Sequence[tuple[tarfile.TarInfo, bytes | None]]) -> Path:
    with tarfile.open(path, "w:gz") as tf:
        for info, data in members:
            tf.addfile(info, io.BytesIO(data) if data is not None else None)
    return path


def _file(name: str, data: bytes) -> tuple[tarfile.TarInfo, bytes]:
    info = tarfile.TarInfo(name)
    info.size, info.mode = len(data), 0o644
    return info, data


def setup_py_sdist(folder: Path, attack: str, source: str) -> Path:
    base = f"hostile_{attack.replace('-', '_')}-1.0"
    pkg_info = b"Metadata-Version: 1.1\nName: hostile\nVersion: 1.0\n"
    return _tar(
        folder / f"{base}.tar.gz",
        [_file(f"{base}/PKG-INFO", pkg_info), _file(f"{base}/setup.py", source.encode())],
    )


def archive_attacks(folder: Path) -> dict[str, Path]:
    """Sdists whose *archive* is the attack: traversal, absolute paths, links, a decompression
    bomb."""
    ok_setup = PREAMBLE + "setup(name='hostile', version='1.0')\n"
    out = {}
    for name, evil in (
        ("dotdot", "hostile-1.0/../../evil.txt"),
        ("absolute", "/tmp/depgraph-evil.txt"),
    ):
        out[name] = _tar(
            folder / f"hostile_{name}-1.0.tar.gz",
            [_file("hostile-1.0/setup.py", ok_setup.encode()), _file(evil, b"evil")],
        )
    link = tarfile.TarInfo("hostile-1.0/passwd")
    link.type, link.linkname = tarfile.SYMTYPE, "/etc/passwd"
    out["symlink"] = _tar(
        folder / "hostile_symlink-1.0.tar.gz",
        [_file("hostile-1.0/setup.py", ok_setup.encode()), (link, None)],
    )
    # 300 MiB of zeros in a ~300 kB archive; the tar header declares the real size
    bomb = folder / "hostile_bomb-1.0.tar.gz"
    with gzip.open(bomb, "wb", compresslevel=1) as gz, tarfile.open(fileobj=gz, mode="w") as tf:
        info0, data0 = _file("hostile-1.0/setup.py", ok_setup.encode())
        tf.addfile(info0, io.BytesIO(data0))
        info = tarfile.TarInfo("hostile-1.0/zeros.bin")
        info.size = 300 << 20

        class Zeros(io.RawIOBase):
            left = info.size

            def readinto(self, b):  # type: ignore[no-untyped-def]
                n = min(len(b), self.left)
                b[:n] = bytes(n)
                self.left -= n
                return n

        tf.addfile(info, Zeros())
    out["bomb"] = bomb
    return out


def failure_sdists(folder: Path) -> dict[str, Path]:
    """One sdist per typed build failure (not attacks: ordinary broken or ancient packages)."""
    pkg_info = b"Metadata-Version: 1.1\nName: broken\nVersion: 1.0\n"

    def sdist(name: str, files: dict[str, str]) -> Path:
        base = f"broken_{name.replace('-', '_')}-1.0"
        members = [_file(f"{base}/PKG-INFO", pkg_info)] + [
            _file(f"{base}/{k}", v.encode()) for k, v in files.items()
        ]
        return _tar(folder / f"{base}.tar.gz", members)

    return {
        "python2-literal": sdist(
            "python2-literal",
            {
                "setup.py": (
                    'print "building"\nfrom setuptools import setup\n'
                    'setup(name="old", version="1.0", install_requires=["six>=1.4", '
                    '"simplejson"],\n'
                    '      extras_require={"speed": ["ujson"]})\n'
                )
            },
        ),
        "python2-computed": sdist(
            "python2-computed",
            {
                "setup.py": (
                    'import sys\nprint "building"\nreqs = open("requirements.txt").read().split()\n'
                    'from setuptools import setup\nsetup(name="old", version="1.0", '
                    "install_requires=reqs)\n"
                ),
                "requirements.txt": "requests>=2.0\nsix\n",
            },
        ),
        "syntax-error": sdist(
            "syntax-error",
            {"setup.py": "from setuptools import setup\nsetup(name='x',, version='1')\n"},
        ),
        "backend-missing": sdist(
            "backend-missing",
            {
                "pyproject.toml": (
                    '[build-system]\nrequires = ["no-such-backend"]\nbuild-backend = '
                    '"no_such_backend.api"\n'
                )
            },
        ),
        "no-recipe": sdist("no-recipe", {"README": "nothing to build here\n"}),
    }


def python2_sdists(folder: Path) -> dict[str, Path]:
    """One sdist per way a Python 2 setup.py fails under Python 3, each answered under 2.7."""
    pkg_info = b"Metadata-Version: 1.1\nName: old\nVersion: 1.0\n"

    def sdist(name: str, files: dict[str, str]) -> Path:
        base = f"old_{name.replace('-', '_')}-1.0"
        members = [_file(f"{base}/PKG-INFO", pkg_info)] + [
            _file(f"{base}/{k}", textwrap.dedent(v).encode()) for k, v in files.items()
        ]
        return _tar(folder / f"{base}.tar.gz", members)

    head = "from setuptools import setup\n"
    return {
        # compiles under 3, stops before setup() on a Python 2 builtin
        "execfile": sdist(
            "execfile",
            {
                "setup.py": head + "execfile('version.py')\n"
                "setup(name='old', version=VERSION, install_requires=['six'])\n",
                "version.py": "VERSION = '1.0'\n",
            },
        ),
        # a Python 2 standard module; the requirements come from a config file
        "configparser": sdist(
            "configparser",
            {
                "setup.py": head + "import ConfigParser\n"
                "cfg = ConfigParser.ConfigParser(); cfg.read('deps.cfg')\n"
                "setup(name='old', version='1.0',\n"
                "      install_requires=cfg.get('deps', 'install').split())\n",
                "deps.cfg": "[deps]\ninstall = lxml>=2.0 pytz\n",
            },
        ),
        # a dict's Python 2 method builds an extra
        "itervalues": sdist(
            "itervalues",
            {
                "setup.py": head + "extras = {'xml': ['lxml'], 'yaml': ['pyyaml']}\n"
                "extras['all'] = sum(extras.itervalues(), [])\n"
                "setup(name='old', version='1.0', extras_require=extras)\n",
            },
        ),
        # map() indexed as a list
        "map-index": sdist(
            "map-index",
            {
                "setup.py": head + "reqs = map(str.strip, open('requirements.txt'))\n"
                "setup(name='old', version='1.0', install_requires=reqs[:2])\n",
                "requirements.txt": "simplejson\nhttplib2\nunused\n",
            },
        ),
        # the package's own Python 2 module, imported for its version
        "own-module": sdist(
            "own-module",
            {
                "setup.py": head + "from oldpkg import __version__\n"
                "setup(name='old', version=__version__, packages=['oldpkg'],\n"
                "      install_requires=['docutils'])\n",
                "oldpkg/__init__.py": "__version__ = '1.0'\nif 0:\n    print 'debug'\n",
            },
        ),
        # a print statement and no requirement argument at all
        "no-requirements": sdist(
            "no-requirements",
            {"setup.py": "print 'building'\n" + head + "setup(name='old', version='1.0')\n"},
        ),
        # Python 3 code with a bug: Python 2.7 cannot compile it, the first answer stands
        "py3-bug": sdist(
            "py3-bug",
            {
                "setup.py": head + "name = f'{\"old\"}'\n"
                "setup(name=name, version='1.0', install_requires=['a'] + 1)\n",
            },
        ),
    }
