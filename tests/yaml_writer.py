"""Helpers for tests that need a plan file, a free port or a fake GPU inventory on disk."""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def write_plan(directory: Path, overrides: dict[str, Any]) -> Path:
    """A plan with the seed's defaults, private data and backup directories and the given top-level
    overrides (a test never writes to the machine's /var/lib/opsplan or /var/backups)."""
    data: dict[str, Any] = {"data_dir": str(directory / "data"), "web": {"port": 0},
                            "backup": {"directory": str(directory / "backups"),
                                       "config": {"paths": [str(directory / "etc")]}}}
    data.update(overrides)
    path = directory / "opsplan.yaml"
    with path.open("w", encoding="utf-8") as fh:
        YAML().dump(data, fh)
    return path


def four_gpus(directory: Path) -> Path:
    """The seed's 4 × RTX 4000 Ada as a fake NVML inventory (the build machines have no GPU)."""
    gpus = [{"name": "NVIDIA RTX 4000 Ada Generation", "uuid": f"GPU-{i:08d}",
             "utilization": {"gpu": 10 * (i + 1), "memory": 5},
             "memory": {"used": (i + 1) * 2**30, "total": 20 * 2**30}, "temperature": 40 + i,
             "power_usage": 70_000, "power_limit": 130_000, "fan": 30} for i in range(4)]
    path = directory / "nvml.json"
    path.write_text(json.dumps({"gpus": gpus}), encoding="utf-8")
    return path
