"""A cgroup's memory and CPU figures, read from the cgroup filesystem.

cgroup v2 (the unified hierarchy of every current distribution) keeps them in one directory:
`memory.current`, `memory.max` and `cpu.stat` (`usage_usec`). A host in systemd's hybrid mode
mounts v2 at `<root>/unified` and keeps the memory controller on v1, so there memory comes from
`<root>/memory/<path>/memory.usage_in_bytes` (and `memory.limit_in_bytes`) and CPU from the v2
tree's `cpu.stat` (present in v2 whether or not the cpu controller is enabled) or v1
`cpuacct.usage`. `CgroupFs` finds out which layout it has once and reads either; a cgroup is
always named by its path in the v2 tree (`system.slice/mariadb.service`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

Layout = Literal["unified", "hybrid", "legacy"]

DEFAULT_ROOT = Path("/sys/fs/cgroup")
# v1 reports "no limit" as the largest page-aligned signed 64-bit number.
V1_UNLIMITED = 2**62
UNIT_SEARCH_DEPTH = 4


@dataclass(frozen=True, slots=True)
class CgroupFigures:
    memory_bytes: float | None
    memory_limit_bytes: float | None  # None: no limit set
    cpu_seconds: float | None  # since the cgroup was created (a counter)


def detect_layout(root: Path) -> Layout | None:
    if (root / "cgroup.controllers").is_file():
        return "unified"
    if (root / "unified" / "cgroup.controllers").is_file():
        return "hybrid"
    if (root / "memory").is_dir() or (root / "cpuacct").is_dir():
        return "legacy"
    return None


def slice_path(unit: str) -> str:
    """systemd nests slices by their dashes: `ai-llm.slice` lives in `ai.slice/ai-llm.slice`."""
    stem = unit.removesuffix(".slice")
    if stem in ("", "-"):
        return ""
    parts = stem.split("-")
    return "/".join("-".join(parts[:i + 1]) + ".slice" for i in range(len(parts)))


def _read_text(path: Path) -> str | None:
    try:
        return path.read_text(encoding="ascii").strip()
    except (FileNotFoundError, NotADirectoryError):
        return None


def _read_number(path: Path) -> float | None:
    text = _read_text(path)
    if text is None or text == "max":
        return None
    try:
        return float(int(text))
    except ValueError:
        return None


def _usage_usec(path: Path) -> float | None:
    text = _read_text(path)
    if text is None:
        return None
    for line in text.splitlines():
        key, _, value = line.partition(" ")
        if key == "usage_usec" and value.strip().isdigit():
            return int(value) / 1e6
    return None


class CgroupFs:
    """Reads cgroups under `root` (/sys/fs/cgroup), in whichever layout the host has."""

    def __init__(self, root: Path = DEFAULT_ROOT) -> None:
        self.root = root
        self.layout = detect_layout(root)

    @property
    def tree(self) -> Path | None:
        """The tree that names every cgroup (where systemd's units are)."""
        if self.layout == "unified":
            return self.root
        if self.layout == "hybrid":
            return self.root / "unified"
        if self.layout == "legacy":
            systemd = self.root / "systemd"
            return systemd if systemd.is_dir() else self.root / "memory"
        return None

    def _v1(self, controller: str, path: str) -> Path:
        return self.root / controller / path

    def exists(self, path: str) -> bool:
        rel = path.strip("/")
        if self.layout in ("unified", "hybrid") and self.tree is not None and (self.tree / rel).is_dir():
            return True
        return self.layout in ("hybrid", "legacy") and self._v1("memory", rel).is_dir()

    def read(self, path: str) -> CgroupFigures | None:
        """The cgroup's figures; None when there is no such cgroup (the unit is not running)."""
        if not self.exists(path):
            return None
        rel = path.strip("/")
        memory = limit = cpu = None
        if self.layout in ("unified", "hybrid"):
            v2 = (self.tree or self.root) / rel
            memory = _read_number(v2 / "memory.current")
            limit = _read_number(v2 / "memory.max")
            cpu = _usage_usec(v2 / "cpu.stat")
        if memory is None and self.layout in ("hybrid", "legacy"):
            memory = _read_number(self._v1("memory", rel) / "memory.usage_in_bytes")
            v1_limit = _read_number(self._v1("memory", rel) / "memory.limit_in_bytes")
            limit = v1_limit if v1_limit is not None and v1_limit < V1_UNLIMITED else None
        if cpu is None and self.layout in ("hybrid", "legacy"):
            for controller in ("cpuacct", "cpu,cpuacct"):
                nanoseconds = _read_number(self._v1(controller, rel) / "cpuacct.usage")
                if nanoseconds is not None:
                    cpu = nanoseconds / 1e9
                    break
        return CgroupFigures(memory, limit, cpu)

    def find_unit(self, unit: str) -> str | None:
        """The cgroup path of a systemd unit or slice, or None when it is not running."""
        if unit.endswith(".slice"):
            path = slice_path(unit)
            return path if self.exists(path) else None
        if self.exists(f"system.slice/{unit}"):
            return f"system.slice/{unit}"
        tree = self.tree
        return _search(tree, unit) if tree is not None else None


def _search(tree: Path, name: str) -> str | None:
    """A unit outside system.slice (a user's service, a custom slice): a shallow search."""
    level = [tree]
    for _ in range(UNIT_SEARCH_DEPTH):
        below: list[Path] = []
        for directory in level:
            try:
                with os.scandir(directory) as entries:
                    for entry in entries:
                        if entry.is_dir(follow_symlinks=False):
                            if entry.name == name:
                                return str(Path(entry.path).relative_to(tree))
                            below.append(Path(entry.path))
            except OSError:
                continue
        level = below
    return None
