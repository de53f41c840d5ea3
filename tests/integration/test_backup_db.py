"""Database backups with real mariabackup against throwaway MariaDB servers (tiny data sets).

Fixtures here are imported by test_backup_db_failures.py too.
"""

from __future__ import annotations

import os
import re
import stat
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import yaml_writer
from mariadb_server import MariaDBServer
from opsplan.backup.database import catalog
from opsplan.backup.database.engine import STREAM_FILE, DatabaseBackupEngine, database_root
from opsplan.backup.database.verify import verify_backup
from opsplan.errors import BackupError
from opsplan.fsutil import target_lock
from opsplan.plan.models import Plan
from opsplan.stages.all import load_plan
from opsplan.store.state import StateDB, state_url

pytestmark = pytest.mark.mariadb

PASSWORD_ENV = "OPSPLAN_TEST_BACKUP_PASSWORD"
# Distinctive, so a leak anywhere is found by a plain substring search.
PASSWORD = "Pw-s3cret-7f1c9e-backup"
BACKUP_GRANTS = "RELOAD, PROCESS, LOCK TABLES, BINLOG MONITOR, SELECT"


class Setup:
    """A throwaway server with a least-privilege backup user, a plan pointing at it, a state DB."""

    def __init__(self, server: MariaDBServer, tmp: Path, backup_dir: Path | None = None,
                 password: str = PASSWORD, **db_backup: Any) -> None:
        self.server = server
        self.tmp = tmp
        self.password = password
        # By hash: a CREATE USER with the clear password would sit in the server's own binlog, and
        # the tests that search every file for the password would find the server's, not ours.
        [(hashed,)] = server.execute("SELECT PASSWORD(%s)", (password,))
        for host in ("localhost", "127.0.0.1"):
            server.execute(f"CREATE USER IF NOT EXISTS 'backup'@'{host}' IDENTIFIED BY PASSWORD %s", (hashed,))
            server.execute(f"GRANT {BACKUP_GRANTS} ON *.* TO 'backup'@'{host}'")
        fields = server.database_plan_fields(use_socket=True)
        fields.update(user="backup", password_env=PASSWORD_ENV, datadir=str(fields["datadir"]),
                      socket=str(fields["socket"]))
        self.backup_dir = backup_dir or tmp / "backups"
        database_settings = {"compression_level": 3, **db_backup}
        self.plan_path = yaml_writer.write_plan(tmp, {
            "database": fields,
            "backup": {"directory": str(self.backup_dir), "database": database_settings},
        })
        self.plan: Plan = load_plan(self.plan_path)
        self.environ = {**os.environ, PASSWORD_ENV: password}
        self.state = StateDB.open(state_url(self.plan.data_dir, None, {}))

    def engine(self, **kwargs: Any) -> DatabaseBackupEngine:
        return DatabaseBackupEngine(self.plan, self.state, environ=self.environ, **kwargs)

    def rows(self) -> list[catalog.DbBackup]:
        with self.state.session() as session:
            return catalog.all_backups(session, include_pruned=True)

    def root(self) -> Path:
        return database_root(self.plan)

    def cli(self, *args: str, log_file: Path | None = None, **popen: Any) -> list[str]:
        extra = ["--log-file", str(log_file)] if log_file else []
        return [sys.executable, "-m", "opsplan", "--plan", str(self.plan_path), *extra, "backup", *args]

    def run_cli(self, *args: str, log_file: Path | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(self.cli(*args, log_file=log_file), env=self.environ, capture_output=True, text=True,
                              timeout=180, check=False)


@pytest.fixture
def setup_factory(mariadb_server_factory: Callable[..., MariaDBServer], tmp_path: Path) -> Callable[..., Setup]:
    made: list[Setup] = []

    def make(**kwargs: Any) -> Setup:
        s = Setup(mariadb_server_factory(), tmp_path, **kwargs)
        made.append(s)
        return s

    yield make  # type: ignore[misc]
    for s in made:
        s.state.close()


def files_holding(secret: str, roots: list[Path], since: float) -> list[Path]:
    """Regular files under `roots` whose bytes contain `secret` (under the system temp dirs: only files
    changed since `since`; under the plan's own directories: every file)."""
    temp_dirs = {Path("/tmp"), Path(tempfile.gettempdir())}
    candidates = []
    for top in [*temp_dirs, *roots]:
        for folder, _dirs, names in os.walk(top):
            for name in names:
                path = Path(folder) / name
                try:
                    st = path.stat(follow_symlinks=False)
                except OSError:
                    continue
                recent = max(st.st_mtime, st.st_ctime) >= since
                if stat.S_ISREG(st.st_mode) and (recent or top not in temp_dirs):
                    candidates.append(str(path))
    # grep reads them, not this process: closing a descriptor of state.db here would drop the
    # test's own SQLite locks (POSIX locks are per process) and leave its connection reading stale pages.
    found: list[Path] = []
    for start in range(0, len(candidates), 500):
        res = subprocess.run(["grep", "-lsF", "-f", "/dev/stdin", "--", *candidates[start:start + 500]],
                             input=secret, capture_output=True, text=True, check=False)
        found += [Path(line) for line in res.stdout.splitlines()]
    return found


def insert_rows(server: MariaDBServer, first: int, count: int) -> None:
    server.execute("CREATE DATABASE IF NOT EXISTS shop")
    server.execute("CREATE TABLE IF NOT EXISTS shop.orders (id INT PRIMARY KEY, note VARCHAR(100)) ENGINE=InnoDB")
    conn = server.root_connect()
    try:
        with conn.cursor() as cur:
            cur.executemany("INSERT INTO shop.orders VALUES (%s, %s)",
                            [(i, f"order {i}") for i in range(first, first + count)])
    finally:
        conn.close()


def capture(setup: Setup, backup_id: int) -> None:
    """What `serve` does after a backup: row counts and checksums from the prepared copy."""
    from opsplan.runbooks.restore.capture import capture_backup

    capture_backup(setup.plan, setup.state, backup_id)


def restored_ids(setup: Setup, backup_id: int) -> list[int]:
    """Deep-verify `backup_id`, keep the prepared copy, start MariaDB on it and read the rows back."""
    base = Path(tempfile.mkdtemp(prefix="opsplan-rs-", dir="/tmp"))
    result = verify_backup(setup.plan, setup.state, backup_id, deep=True, keep_prepared=base / "data")
    assert result.ok, result.reason
    restored = MariaDBServer(base_dir=base)
    try:
        restored.start()
        return [int(r[0]) for r in restored.execute("SELECT id FROM shop.orders ORDER BY id")]
    finally:
        restored.stop()
        import shutil
        shutil.rmtree(base, ignore_errors=True)


def test_full_and_two_incrementals_each_restore_exactly_the_rows_before_them(setup_factory):
    setup = setup_factory()
    insert_rows(setup.server, 1, 10)
    full = setup.engine().run("auto")
    assert (full.kind, full.status) == ("full", "ok")
    insert_rows(setup.server, 11, 5)
    inc1 = setup.engine().run("auto")
    insert_rows(setup.server, 16, 7)
    inc2 = setup.engine().run("incremental")
    insert_rows(setup.server, 23, 3)  # after the last backup: must not be in any restore

    assert (inc1.kind, inc1.parent_id, inc1.full_id) == ("incremental", full.id, full.id)
    assert (inc2.kind, inc2.parent_id, inc2.full_id) == ("incremental", inc1.id, full.id)
    assert inc1.from_lsn == full.to_lsn and inc2.from_lsn == inc1.to_lsn
    for row in (full, inc1, inc2):
        assert row.binlog_file and row.binlog_position and row.gtid
        assert row.tool_version and "10.11" in row.tool_version and row.server_version
        assert {f.role for f in row.files} == {"stream", "checkpoints", "info"}
        directory = setup.root() / row.directory
        assert oct(directory.stat().st_mode & 0o777) == "0o700"
        assert all(oct((directory / f.name).stat().st_mode & 0o777) == "0o600" for f in row.files)
        assert not list(directory.rglob("*.partial"))
    # The backup itself reads no table on the live server; the capture reads the prepared copy.
    assert inc1.tables == [] and inc1.tables_captured_at is None
    capture(setup, inc1.id)
    with setup.state.session() as session:
        captured = catalog.get_backup(session, inc1.id)
        tables = {(t.schema_name, t.table_name): t for t in captured.tables}
        assert captured.tables_captured_at is not None
    assert tables[("shop", "orders")].row_count == 15 and tables[("shop", "orders")].checksum

    assert restored_ids(setup, full.id) == list(range(1, 11))
    assert restored_ids(setup, inc1.id) == list(range(1, 16))
    assert restored_ids(setup, inc2.id) == list(range(1, 23))
    verified = {r.id: (r.verify_status, r.verify_deep) for r in setup.rows()}
    assert verified[inc2.id] == ("ok", True) and verified[full.id] == ("ok", True)


def test_chain_rule_rejects_a_parent_whose_stored_lsn_differs(setup_factory):
    setup = setup_factory()
    insert_rows(setup.server, 1, 3)
    full = setup.engine().run("full")
    checkpoints = setup.root() / full.directory / "lsn" / "xtrabackup_checkpoints"
    checkpoints.write_text(checkpoints.read_text().replace(f"to_lsn = {full.to_lsn}", "to_lsn = 12345"))
    with pytest.raises(BackupError, match="chain rule"):
        setup.engine().run("incremental")
    failed = setup.rows()[-1]
    assert (failed.kind, failed.status) == ("incremental", "failed")
    assert "chain rule" in failed.reason and not (setup.root() / failed.directory).exists()


def test_chain_link_check_refuses_a_wrong_parent():
    parent = catalog.DbBackup(id=7, status="ok", to_lsn=5000)
    catalog.check_chain_link(parent, 5000)
    with pytest.raises(BackupError, match="from_lsn 4000 does not equal parent 7's to_lsn 5000"):
        catalog.check_chain_link(parent, 4000)
    with pytest.raises(BackupError, match="is failed"):
        catalog.check_chain_link(catalog.DbBackup(id=8, status="failed", to_lsn=5000), 5000)


def test_verify_finds_a_corrupted_stored_file(setup_factory):
    setup = setup_factory()
    insert_rows(setup.server, 1, 3)
    full = setup.engine().run("full")
    assert setup.run_cli("verify", str(full.id)).returncode == 0
    stream = setup.root() / full.directory / STREAM_FILE
    data = bytearray(stream.read_bytes())
    data[len(data) // 2] ^= 0xFF
    stream.write_bytes(bytes(data))
    result = setup.run_cli("verify", str(full.id))
    assert result.returncode == 1
    assert "does not match" in result.stderr and STREAM_FILE in result.stderr
    row = next(r for r in setup.rows() if r.id == full.id)
    assert row.verify_status == "failed" and "does not match" in row.verify_reason


def test_password_never_on_a_command_line_in_logs_or_catalog(setup_factory, tmp_path):
    setup = setup_factory()
    insert_rows(setup.server, 1, 3)
    log_file = tmp_path / "opsplan.log"
    proc = subprocess.Popen(setup.cli("db", "--full", log_file=log_file), env=setup.environ,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    saw_mariabackup = False
    leaked = []
    while proc.poll() is None:
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                cmdline = (entry / "cmdline").read_bytes().decode(errors="replace")
            except OSError:
                continue
            if "mariabackup" in cmdline and "--backup" in cmdline:
                saw_mariabackup = True
                assert "--defaults-extra-file=" in cmdline.split("\0")[1]  # must be the first option
            if PASSWORD in cmdline:
                leaked.append(cmdline)
    stdout, stderr = proc.communicate()
    assert proc.returncode == 0, stderr
    assert saw_mariabackup, "mariabackup was never seen running"
    assert not leaked
    assert PASSWORD not in stdout + stderr
    assert PASSWORD not in log_file.read_text()
    state_files = list(Path(setup.plan.data_dir).glob("state.db*"))
    assert state_files and all(PASSWORD.encode() not in f.read_bytes() for f in state_files)
    for f in setup.root().rglob("*"):
        if f.is_file() and f.suffix != ".zst":
            assert PASSWORD.encode() not in f.read_bytes(), f
    json_rows = setup.run_cli("list", "--json").stdout
    assert PASSWORD not in json_rows and '"status": "ok"' in json_rows


def test_second_backup_while_one_runs_says_so_and_fails(setup_factory):
    setup = setup_factory()
    with target_lock(setup.root(), "database"):
        result = setup.run_cli("db")
    assert result.returncode == 1
    assert "already running" in result.stderr and f"pid {os.getpid()}" in result.stderr
    row = setup.rows()[-1]
    assert row.status == "failed" and "already running" in row.reason


def test_unreachable_server_is_a_failed_row_and_one_line(setup_factory, tmp_path):
    setup = setup_factory()
    setup.server.stop()
    result = setup.run_cli("db", log_file=tmp_path / "log")  # logs apart, so stderr is the error alone
    assert result.returncode == 1
    assert len(result.stderr.strip().splitlines()) == 1 and "unreachable" in result.stderr
    assert setup.rows()[-1].status == "failed"
    assert not any(setup.root().glob("*-full"))


def test_check_names_what_the_user_lacks(setup_factory):
    setup = setup_factory()
    result = setup.run_cli("check")
    # Binlog archiving is on by default and reads binlogs as a replica: the user needs that too.
    assert result.returncode == 1
    line = next(x for x in result.stdout.splitlines() if x.startswith("privileges"))
    assert line.split("lacks")[1].split("(")[0].strip() == "REPLICATION SLAVE"
    setup.server.execute("GRANT REPLICATION SLAVE ON *.* TO 'backup'@'localhost'")
    result = setup.run_cli("check")
    assert result.returncode == 0, result.stdout + result.stderr
    setup.server.execute("REVOKE RELOAD, BINLOG MONITOR ON *.* FROM 'backup'@'localhost'")
    result = setup.run_cli("check")
    assert result.returncode == 1
    line = next(x for x in result.stdout.splitlines() if x.startswith("privileges"))
    assert "RELOAD" in line and "BINLOG MONITOR" in line and "PROCESS" not in line.split("lacks")[1].split("(")[0]


def test_list_shows_the_chain_as_a_tree(setup_factory):
    setup = setup_factory()
    insert_rows(setup.server, 1, 3)
    full = setup.engine().run("full")
    inc = setup.engine().run("incremental")
    result = setup.run_cli("list")
    assert result.returncode == 0
    lines = result.stdout.splitlines()
    # The plan does not set `language:`, so it speaks the seed's Korean: kind and state in its words.
    full_line = next(i for i, x in enumerate(lines) if re.search(rf"^#{full.id}\s+전체( 백업)?\s+성공", x))
    inc_line = next(i for i, x in enumerate(lines) if re.search(rf"└ #{inc.id}\s+증분( 백업)?\s+성공", x))
    assert inc_line > full_line
    assert lines[inc_line].index("#") > lines[full_line].index("#")  # indented under its full
