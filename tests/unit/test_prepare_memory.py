"""`mariabackup --prepare --use-memory`: sized from the memory available now, within bounds."""

from __future__ import annotations

from pathlib import Path

import pytest

from opsplan.backup.database.mariabackup import (
    PREPARE_MEMORY_MAX,
    PREPARE_MEMORY_MIN,
    Mariabackup,
    prepare_memory,
)

GIB = 1024**3


def meminfo(tmp_path: Path, available_kib: int | None) -> Path:
    lines = ["MemTotal:       25165824 kB", "MemFree:         1048576 kB"]
    if available_kib is not None:
        lines.append(f"MemAvailable:   {available_kib} kB")
    path = tmp_path / "meminfo"
    path.write_text("\n".join(lines) + "\n", encoding="ascii")
    return path


@pytest.mark.parametrize(("available_gib", "expected"), [
    (4, 1 * GIB),                      # a quarter of what is available
    (22, PREPARE_MEMORY_MAX),          # capped: the live server and the OS keep the rest
    (0.25, PREPARE_MEMORY_MIN),        # a floor above mariabackup's own 100 MiB default
])
def test_a_quarter_of_the_available_memory_within_bounds(tmp_path, available_gib, expected):
    assert prepare_memory(meminfo(tmp_path, int(available_gib * 1024 * 1024))) == expected


def test_unreadable_memory_figures_fall_back_to_the_floor(tmp_path):
    assert prepare_memory(meminfo(tmp_path, None)) == PREPARE_MEMORY_MIN
    assert prepare_memory(tmp_path / "missing") == PREPARE_MEMORY_MIN


def test_the_prepare_command_carries_use_memory(tmp_path):
    tool = Mariabackup(binary="true")  # any binary on PATH: only the arguments are checked
    args = tool.prepare_args(tmp_path / "full", incremental_dir=tmp_path / "inc", use_memory=512 * 1024 * 1024)
    assert args[1:] == ["--prepare", f"--target-dir={tmp_path / 'full'}", "--use-memory=536870912",
                        f"--incremental-dir={tmp_path / 'inc'}"]
