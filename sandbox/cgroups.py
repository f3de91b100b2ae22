"""Memory, pids and CPU limits for a process tree without a container engine (bwrap backend).

A fresh cgroup (v2, or the v1 memory/pids/cpu hierarchies) is made beside our own; the child joins
it
before exec, so every descendant is counted. Where no cgroup is writable, rlimits are the fallback
(RLIMIT_AS for memory, RLIMIT_NPROC for processes, which the kernel does not enforce for root).
"""

from __future__ import annotations

import contextlib
import os
import resource
import shlex
import signal
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .limits import Limits

__all__ = ["ProcessLimiter", "own_cgroup"]

ROOT = Path("/sys/fs/cgroup")
#: which cgroups this process is in, one `id:controllers:path` line each (cgroups(7))
PROC_CGROUP = Path("/proc/self/cgroup")


def own_cgroup(membership: str, controller: str | None, root: Path = ROOT) -> Path | None:
    """Our cgroup directory for a v1 controller, or the v2 one when controller is None, from the
    text of /proc/self/cgroup; None when there is none (or v2's is not mounted at `root`)."""
    for line in membership.splitlines():
        parts = line.split(":", 2)
        if len(parts) != 3:
            continue
        _, controllers, path = parts
        if controller is None and controllers == "":
            base = root if (root / "cgroup.controllers").exists() else None
            return base / path.lstrip("/") if base else None
        if controller is not None and controller in controllers.split(","):
            return root / controller / path.lstrip("/")
    return None


def _write(path: Path, value: str) -> None:
    path.write_text(value)


class ProcessLimiter:
    """`with ProcessLimiter(limits) as lim: argv, kw = lim.launch(command); Popen(argv, **kw)`;
    then lim.oom_killed()."""

    def __init__(self, limits: Limits, root: Path = ROOT, membership: Path = PROC_CGROUP) -> None:
        self.limits = limits
        self.root, self.membership = root, membership
        self.groups: list[Path] = []
        self.mode = "rlimit"
        self.memory_group: Path | None = None

    def __enter__(self) -> ProcessLimiter:
        name = f"depgraph-{uuid.uuid4().hex[:12]}"
        lim = self.limits
        try:
            membership = self.membership.read_text()
            v2 = own_cgroup(membership, None, self.root)
            if v2 is not None and "memory" in (v2.parent / "cgroup.subtree_control").read_text():
                group = v2.parent / name
                group.mkdir()
                self.groups = [group]
                _write(group / "memory.max", str(lim.memory_mb << 20))
                _write(group / "memory.swap.max", "0")
                _write(group / "pids.max", str(lim.pids))
                _write(group / "cpu.max", f"{int(lim.cpus * 100000)} 100000")
                self.mode, self.memory_group = "cgroup2", group
                return self
            paths = {c: own_cgroup(membership, c, self.root) for c in ("memory", "pids", "cpu")}
            if all(p is not None and os.access(p, os.W_OK) for p in paths.values()):
                for controller, base in paths.items():
                    assert base is not None
                    group = base / name
                    group.mkdir()
                    self.groups.append(group)
                    if controller == "memory":
                        _write(group / "memory.limit_in_bytes", str(lim.memory_mb << 20))
                        swap = group / "memory.memsw.limit_in_bytes"
                        if swap.exists():
                            _write(swap, str(lim.memory_mb << 20))
                        self.memory_group = group
                    elif controller == "pids":
                        _write(group / "pids.max", str(lim.pids))
                    else:
                        _write(group / "cpu.cfs_period_us", "100000")
                        _write(group / "cpu.cfs_quota_us", str(int(lim.cpus * 100000)))
                self.mode = "cgroup1"
        except OSError:
            self._remove()
            self.mode, self.memory_group = "rlimit", None
        return self

    def launch(self, command: list[str]) -> tuple[list[str], dict[str, Any]]:
        """The argv and Popen keywords that run `command` under these limits.

        With cgroups, a small `sh` joins them and execs `prlimit` then the command: the caller is
        never forked (Popen uses vfork), because a fork of a large caller (a report's Arrow
        buffers) moved into a memory cgroup fails its exec with ENOMEM. Without cgroups, the
        rlimits are set between fork and exec (`preexec`)."""
        if self.mode == "rlimit":
            return command, {"preexec_fn": self.preexec}
        join = " && ".join(f"echo $$ > {shlex.quote(str(g / 'cgroup.procs'))}" for g in self.groups)
        fsize = self.limits.tmpfs_mb << 20
        argv = ["sh", "-c", f'{join} && exec "$@"', "sh"]
        argv += ["prlimit", f"--fsize={fsize}:{fsize}", "--", *command]
        return argv, {"start_new_session": True}

    @property
    def preexec(self) -> Callable[[], None]:
        """The rlimits of the no-cgroup mode, set in the child between fork and exec."""
        lim = self.limits

        def limit() -> None:
            os.setsid()
            resource.setrlimit(resource.RLIMIT_FSIZE, (lim.tmpfs_mb << 20, lim.tmpfs_mb << 20))
            # address space is a blunt proxy for memory: leave room for the interpreter's mappings
            cap = (lim.memory_mb + 256) << 20
            resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
            resource.setrlimit(resource.RLIMIT_NPROC, (lim.pids, lim.pids))
            cpu = int(lim.wall_seconds * lim.cpus) + 1
            resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu))

        return limit

    def oom_killed(self) -> bool:
        group = self.memory_group
        if group is None:
            return False
        try:
            if self.mode == "cgroup2":
                events = dict(
                    line.split() for line in (group / "memory.events").read_text().splitlines()
                )
                return int(events.get("oom_kill", 0)) > 0
            control = dict(
                line.split() for line in (group / "memory.oom_control").read_text().splitlines()
            )
            return (
                int(control.get("oom_kill", 0)) > 0
                or int((group / "memory.failcnt").read_text()) > 0
            )
        except (OSError, ValueError):
            return False

    def kill_all(self) -> None:
        """SIGKILL whatever is left in the group (daemons that escaped the session included)."""
        for _ in range(50):
            pids = set()
            for group in self.groups:
                try:
                    pids |= {int(p) for p in (group / "cgroup.procs").read_text().split()}
                except OSError:
                    continue
            if not pids:
                return
            for pid in pids:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            time.sleep(0.02)

    def _remove(self) -> None:
        for group in reversed(self.groups):
            for _ in range(50):
                try:
                    group.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    time.sleep(0.02)
        self.groups = []

    def __exit__(self, *exc: object) -> None:
        self.kill_all()
        self._remove()
