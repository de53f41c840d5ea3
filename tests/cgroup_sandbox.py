"""Real cgroups for tests: a throwaway slice under /sys/fs/cgroup holding processes the test starts.

Works on a pure cgroup v2 host and in systemd's hybrid mode (v2 at /sys/fs/cgroup/unified, the
memory controller on v1), the layouts `opsplan.collectors.cgroupfs` reads. Each cgroup is made in
every hierarchy the reader looks at, a process moves itself in (so everything it allocates is
charged there) before it allocates, and `remove()` kills the processes and removes the cgroups.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

from opsplan.collectors.cgroupfs import DEFAULT_ROOT, detect_layout

# Moves itself into the cgroups named on its command line, allocates and touches N MB, burns a
# little CPU, says "ready", then waits for its stdin to close.
CHILD = """
import os, sys, time
megabytes = int(sys.argv[1])
for procs in sys.argv[2:]:
    with open(procs, "w") as f:
        f.write(str(os.getpid()))
block = bytearray(megabytes * 1024 * 1024)
for i in range(0, len(block), 4096):
    block[i] = 1
end = time.process_time() + 0.2
while time.process_time() < end:
    pass
print("ready", flush=True)
sys.stdin.read()
"""


class CgroupSandbox:
    """A slice `opsplantest<hex>.slice` at the top of the cgroup tree; cgroups are made inside it."""

    def __init__(self, root: Path = DEFAULT_ROOT) -> None:
        self.root = root
        self.layout = detect_layout(root)
        self.slice = f"opsplantest{uuid.uuid4().hex[:10]}.slice"
        self.made: list[Path] = []
        self.children: list[subprocess.Popen[str]] = []

    def hierarchies(self) -> list[Path]:
        if self.layout == "unified":
            return [self.root]
        if self.layout == "hybrid":
            return [self.root / "unified", self.root / "memory", self.root / "cpuacct"]
        if self.layout == "legacy":
            return [self.root / "memory", self.root / "cpuacct"]
        return []

    def unavailable(self) -> str | None:
        """Why this machine cannot host the sandbox, or None."""
        if self.layout is None:
            return f"no cgroup filesystem at {self.root}"
        try:
            self.create("")
        except OSError as exc:
            return f"cannot create a cgroup under {self.root} ({exc.strerror}); these tests need root"
        accounted = [self.root / self.slice / "memory.current", self.root / "unified" / self.slice / "memory.current",
                     self.root / "memory" / self.slice / "memory.usage_in_bytes"]
        if not any(path.exists() for path in accounted):
            return f"the cgroups under {self.root} keep no memory figure (no memory controller for new cgroups)"
        return None

    def create(self, relative: str) -> str:
        """Make `<slice>/<relative>` in every hierarchy; returns its path in the v2 tree."""
        path = f"{self.slice}/{relative}".rstrip("/")
        for hierarchy in self.hierarchies():
            if not hierarchy.is_dir():
                continue
            current = hierarchy
            for part in path.split("/"):
                if current in self.made and (current / "cgroup.subtree_control").exists():
                    # cgroup v2: a child has memory and cpu files only where its parent enables
                    # them; only the sandbox's own cgroups are changed, never the host's.
                    for controller in ("+memory", "+cpu"):
                        with contextlib.suppress(OSError):
                            (current / "cgroup.subtree_control").write_text(controller)
                current = current / part
                if not current.is_dir():
                    current.mkdir()
                    self.made.append(current)
        return path

    def start(self, relative: str, megabytes: int) -> subprocess.Popen[str]:
        """A python process that runs in the cgroup and holds `megabytes` MB of memory."""
        path = self.create(relative)
        procs = [str(h / path / "cgroup.procs") for h in self.hierarchies() if (h / path).is_dir()]
        child = subprocess.Popen([sys.executable, "-c", CHILD, str(megabytes), *procs],
                                 stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self.children.append(child)
        assert child.stdout is not None
        line = child.stdout.readline()
        if line.strip() != "ready":
            raise RuntimeError(f"the test process in {path} did not start (exit {child.poll()})")
        return child

    def remove(self) -> None:
        for child in self.children:
            child.kill()
            child.wait()
            for stream in (child.stdin, child.stdout):
                if stream is not None:
                    stream.close()
        # Deepest first; a cgroup whose last process just exited may be busy for a moment.
        for directory in sorted(self.made, key=lambda p: len(p.parts), reverse=True):
            for _ in range(50):
                try:
                    os.rmdir(directory)
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    time.sleep(0.05)
