"""An install target: a CPython version on a platform, as pip would see it.

Its marker environment (for `Marker.evaluate`) and the wheel tags it accepts (`packaging.tags`,
most specific first), so that "is there a file for this target" is asked the way pip asks it.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from packaging import tags
from packaging.markers import default_environment
from packaging.version import Version

__all__ = ["PLATFORMS", "Target"]

#: platform -> (sys_platform, platform_system, os_name, platform_machine)
PLATFORMS = {
    "linux": ("linux", "Linux", "posix", "x86_64"),
    "win32": ("win32", "Windows", "nt", "AMD64"),
    "darwin": ("darwin", "Darwin", "posix", "arm64"),
}


def _platform_tags(platform: str) -> list[str]:
    if platform == "linux":  # glibc 2.39 down to 2.5 (manylinux1), then plain linux
        many = [f"manylinux_2_{minor}_x86_64" for minor in range(39, 4, -1)]
        legacy = ["manylinux2014_x86_64", "manylinux2010_x86_64", "manylinux1_x86_64"]
        return many + legacy + ["linux_x86_64"]
    if platform == "win32":
        return ["win_amd64"]
    if platform == "darwin":  # an Apple-silicon Mac on macOS 14
        return list(tags.mac_platforms((14, 0), "arm64"))
    raise ValueError(f"unknown platform {platform!r} (linux, win32, darwin)")


@dataclass(frozen=True)
class Target:
    python: str  # "3.12", or "3.12.4" for one patch release
    platform: str = "linux"

    def __post_init__(self) -> None:
        if self.platform not in PLATFORMS:
            raise ValueError(f"unknown platform {self.platform!r} (linux, win32, darwin)")
        _ = self.python_tuple  # validates "3.12"

    @property
    def label(self) -> str:
        return f"py{self.python}-{self.platform}"

    @property
    def python_tuple(self) -> tuple[int, int]:
        parts = self.python.split(".")
        if len(parts) not in (2, 3) or not all(p.isascii() and p.isdigit() for p in parts):
            raise ValueError(f"a Python version is X.Y or X.Y.Z, not {self.python!r}")
        return int(parts[0]), int(parts[1])

    @property
    def full_version(self) -> str:
        """X.Y.Z: as given, or the series' first patch release for X.Y."""
        return self.python if self.python.count(".") == 2 else f"{self.python}.0"

    @cached_property
    def python_version(self) -> Version:
        """What Requires-Python is checked against (as pip does with its interpreter's version;
        for X.Y the first patch release of the series)."""
        return Version(self.full_version)

    @cached_property
    def environment(self) -> dict[str, str]:
        env = {key: str(value) for key, value in default_environment().items()}
        sys_platform, system, os_name, machine = PLATFORMS[self.platform]
        env.update(
            python_version="{}.{}".format(*self.python_tuple),
            python_full_version=self.full_version,
            implementation_name="cpython",
            implementation_version=self.full_version,
            platform_python_implementation="CPython",
            sys_platform=sys_platform,
            platform_system=system,
            os_name=os_name,
            platform_machine=machine,
        )
        return env

    @cached_property
    def wheel_tags(self) -> frozenset[tags.Tag]:
        version = self.python_tuple
        platforms = _platform_tags(self.platform)
        interpreter = f"cp{version[0]}{version[1]}"
        supported = list(tags.cpython_tags(python_version=version, platforms=platforms))
        supported += tags.compatible_tags(
            python_version=version, interpreter=interpreter, platforms=platforms
        )
        return frozenset(supported)
