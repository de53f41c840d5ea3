"""Writes the export into a directory: each file atomically, and only files opsplan owns.

A manifest (`.opsplan-export.json`) records what the last export wrote and each file's hash.
A later export replaces those files, removes the ones the plan no longer asks for (a deleted
service's dashboard), leaves every other file alone, and refuses, unless forced, to overwrite a
file it did not write or one an operator has edited since.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

from opsplan.errors import OpsplanError

MANIFEST = ".opsplan-export.json"
HEADER = "# Written by `opsplan export` from the plan; edit the plan and export again instead.\n"


def to_yaml(document: Any) -> str:
    yaml = YAML()  # round-trip mode keeps key order: alert, expr, for, labels ...
    yaml.default_flow_style = False
    yaml.allow_unicode = True
    yaml.width = 4096  # long PromQL stays on one line
    buffer = io.StringIO()
    yaml.dump(document, buffer)
    return HEADER + buffer.getvalue()


def to_json(document: Any) -> str:
    return json.dumps(document, ensure_ascii=False, indent=2) + "\n"


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _read_manifest(out: Path) -> dict[str, str]:
    path = out / MANIFEST
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        files = data["files"]
        return {str(k): str(v) for k, v in files.items()}
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        raise OpsplanError(f"{path}: not a manifest opsplan wrote; remove it or choose another --out") from None


def _atomic_write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@dataclass(frozen=True)
class WriteResult:
    written: list[str]
    removed: list[str]


def write_export(out: Path, files: dict[str, str], *, force: bool = False) -> WriteResult:
    """Write `files` (relative path -> text) under `out`; see the module docstring for the rules."""
    if out.exists() and not out.is_dir():
        raise OpsplanError(f"{out}: exists and is not a directory")
    owned = _read_manifest(out) if out.exists() else {}
    if not force:
        for rel in sorted(files):
            target = out / rel
            if not target.exists():
                continue
            if rel not in owned:
                raise OpsplanError(f"{target}: was not written by opsplan export (use --force to replace it)")
            if _digest(target.read_bytes()) != owned[rel]:
                raise OpsplanError(f"{target}: changed since opsplan exported it (use --force to replace it)")
    try:
        out.mkdir(parents=True, exist_ok=True)
        written: list[str] = []
        hashes: dict[str, str] = {}
        for rel, text in sorted(files.items()):
            data = text.encode("utf-8")
            _atomic_write(out / rel, data)
            written.append(rel)
            hashes[rel] = _digest(data)
        removed = []
        for rel in sorted(set(owned) - set(files)):
            stale = out / rel
            if stale.is_file() and _digest(stale.read_bytes()) == owned[rel]:
                stale.unlink()
                removed.append(rel)
        _atomic_write(out / MANIFEST, to_json({"files": hashes}).encode("utf-8"))
    except OSError as exc:
        raise OpsplanError(f"cannot write the export under {out}: {exc.strerror or exc}") from None
    return WriteResult(written, removed)
