"""`opsplan backup check` says when the service user cannot read the MariaDB datadir: Debian's
schema directories are 0700, and mariabackup run by a member of their group fails on them
(docs/install.md has the fix)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import yaml_writer

SETPRIV = shutil.which("setpriv")


def _backup_check(plan: Path) -> dict[str, dict]:
    """`opsplan backup check --json` as an unprivileged process: root gives up every capability,
    so it reads only what the file modes let it, as the service user would."""
    command = [sys.executable, "-c", "from opsplan.cli.main import app; app()",
               "--plan", str(plan), "backup", "check", "--json"]
    if os.geteuid() == 0:
        assert SETPRIV
        command = [SETPRIV, "--inh-caps=-all", "--bounding-set=-all", "--", *command]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, env=env, check=False)
    assert done.returncode == 1, done.stdout + done.stderr  # the database is unreachable in any case
    return {r["check"]: r for r in json.loads(done.stdout)}


@pytest.mark.skipif(os.geteuid() == 0 and SETPRIV is None, reason="as root this needs setpriv (util-linux)")
def test_backup_check_names_a_datadir_entry_its_user_cannot_read(tmp_path: Path):
    datadir = tmp_path / "mysql-data"
    schema = datadir / "mysql"
    schema.mkdir(parents=True)
    (datadir / "ibdata1").write_bytes(b"x")
    (schema / "user.frm").write_bytes(b"x")
    plan = yaml_writer.write_plan(tmp_path, {"database": {"datadir": str(datadir), "port": 1,
                                                          "password_env": None}})
    result = _backup_check(plan)["datadir"]
    assert result["ok"], result
    schema.chmod(0o700 & ~0o500)  # what a foreign 0700 directory is to a group member: no entry
    try:
        result = _backup_check(plan)["datadir"]
    finally:
        schema.chmod(0o700)
    assert not result["ok"]
    assert result["detail"].startswith(f"this user cannot read {schema}: mariabackup would fail")
    assert "UMASK_DIR=0750" in result["detail"]
