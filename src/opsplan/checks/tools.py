"""Running an outside program for a check (apt-get -s, needrestart, debsecan, smartctl, lynis):
its output kept as evidence with its version and a SHA-256, secrets masked, a time limit, and a
missing program reported as such (the item is then not-run, never pass)."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from collections.abc import Mapping, Sequence

from opsplan.checks.model import ToolRun
from opsplan.masking import mask_text

MAX_OUTPUT = 200_000  # characters kept as evidence; the hash is of the whole output


class ToolMissing(Exception):
    def __init__(self, program: str) -> None:
        super().__init__(f"{program} is not installed")
        self.program = program


def run_tool(argv: Sequence[str], *, timeout: float = 120.0, version_argv: Sequence[str] | None = None,
             env: Mapping[str, str] | None = None) -> ToolRun:
    """Run `argv` (no shell) and keep what it said. ToolMissing when the program is not on PATH;
    a timeout is a ToolRun with exit_code None and the output so far."""
    program = shutil.which(argv[0])
    if program is None:
        raise ToolMissing(argv[0])
    try:
        done = subprocess.run([program, *argv[1:]], capture_output=True, text=True, timeout=timeout,
                              env=dict(env) if env is not None else None, errors="replace")
        output, code = done.stdout + done.stderr, done.returncode
    except subprocess.TimeoutExpired as exc:
        partial = exc.stdout or b""
        output = partial.decode("utf-8", "replace") if isinstance(partial, bytes) else partial
        code = None
    version = None
    if version_argv is not None:
        try:
            said = subprocess.run([program, *version_argv[1:]], capture_output=True, text=True, timeout=10,
                                  errors="replace")
            version = (said.stdout or said.stderr).strip().splitlines()[0][:200] if (said.stdout or said.stderr) \
                else None
        except (OSError, subprocess.TimeoutExpired):
            version = None
    digest = hashlib.sha256(output.encode("utf-8")).hexdigest()
    return ToolRun(argv=list(argv), version=version, exit_code=code, output=mask_text(output)[:MAX_OUTPUT],
                   sha256=digest)
