"""Database backups that go wrong: killed mid-stream, a full disk. Each ends 'failed' with no partial files."""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import psutil
import pytest
import test_backup_db
from test_backup_db import files_holding

from opsplan.backup.database.catalog import INTERRUPTED

setup_factory = test_backup_db.setup_factory  # the fixture, shared with test_backup_db.py

pytestmark = pytest.mark.mariadb


def _random_rows(server, megabytes: int) -> None:
    """Incompressible rows, so the stored stream is as large as the data."""
    server.execute("CREATE DATABASE IF NOT EXISTS bulk")
    server.execute("CREATE TABLE IF NOT EXISTS bulk.b (id INT PRIMARY KEY, v LONGBLOB) ENGINE=InnoDB")
    for i in range(megabytes):
        server.execute("INSERT INTO bulk.b VALUES (%s, %s)", (i, os.urandom(1024 * 1024)))


@pytest.fixture
def tmpfs(tmp_path: Path):
    def mount(size: str) -> Path:
        if os.geteuid() != 0:
            pytest.skip("mounting a small tmpfs needs root")
        point = tmp_path / f"tmpfs-{size}"
        point.mkdir()
        res = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0700", "tmpfs", str(point)],
                             capture_output=True, text=True, check=False)
        if res.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here: {res.stderr.strip()}")
        mounted.append(point)
        return point

    mounted: list[Path] = []
    yield mount
    for point in mounted:
        subprocess.run(["umount", "-l", str(point)], check=False)


def child_credentials(pid: int, tool: str) -> tuple[str, str]:
    """(its command line, what its --defaults-extra-file descriptor is) for the running `tool` under `pid`."""
    for child in psutil.Process(pid).children(recursive=True):
        try:
            argv = child.cmdline()
        except psutil.Error:
            continue
        if argv and Path(argv[0]).name == tool:
            option = argv[1]
            assert option.startswith("--defaults-extra-file=/dev/fd/"), argv  # must be the first option
            return "\0".join(argv), os.readlink(f"/proc/{child.pid}/fd/{option.rsplit('/', 1)[1]}")
    raise AssertionError(f"{tool} is not running under {pid}")


def test_sigkill_mid_backup_leaves_no_password_is_marked_failed_and_cleaned_at_next_start(setup_factory):
    started = time.time()
    password = f"Pw-kill-{secrets.token_hex(8)}"  # this test's own, so no other run's file can match
    # Level 19 makes the stream slow enough to catch it half-written on a tiny data set.
    setup = setup_factory(compression_level=19, compression_threads=1, password=password)
    _random_rows(setup.server, 4)
    proc = subprocess.Popen(setup.cli("db", "--full"), env=setup.environ, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    partial = None
    while partial is None and time.monotonic() < deadline and proc.poll() is None:
        partial = next(iter(setup.root().glob("*/backup.xbstream.zst.partial")), None)
        time.sleep(0.005)
    assert partial is not None, "the backup finished before it could be killed"
    # mariabackup reads its login from an anonymous in-memory file, not a path on disk.
    cmdline, credentials = child_credentials(proc.pid, "mariabackup")
    assert password not in cmdline and credentials.startswith("/memfd:")
    children = psutil.Process(proc.pid).children(recursive=True)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    psutil.wait_procs(children, timeout=60)  # mariabackup dies on the broken pipe
    assert partial.parent.exists()  # the kill left the partial directory and a 'running' row
    assert setup.rows()[-1].status == "running"
    # ...and no file anywhere holds the password: not in /tmp, the data dir or the backup dir.
    assert files_holding(password, [Path(setup.plan.data_dir), setup.backup_dir], started) == []

    # What a killed run of an earlier version left (its option file in the temp dir) goes too.
    legacy = Path(tempfile.mkdtemp(prefix="opsplan-mb-", dir=tempfile.gettempdir()))
    (legacy / "my.cnf").write_text(f"[client]\npassword={password}\n")
    assert files_holding(password, [], started) == [legacy / "my.cnf"]  # the search does find one
    listing = setup.run_cli("list")  # any backup command finds and closes the run
    assert listing.returncode == 0
    assert not legacy.exists()
    killed = setup.rows()[-1]
    assert (killed.status, killed.reason) == ("failed", INTERRUPTED)
    assert not partial.parent.exists()
    again = setup.run_cli("db", "--full")
    assert again.returncode == 0, again.stderr
    assert setup.rows()[-1].status == "ok"


def test_full_disk_fails_the_backup_and_leaves_nothing(setup_factory, tmpfs, tmp_path):
    disk = tmpfs("3m")
    empty_datadir = tmp_path / "remote-datadir"  # unreadable/remote datadir: no estimate, so the write must fail
    empty_datadir.mkdir()
    setup = setup_factory(backup_dir=disk)
    setup.plan.database.datadir = empty_datadir
    _random_rows(setup.server, 6)
    with pytest.raises(Exception, match="disk full"):
        setup.engine().run("full")
    row = setup.rows()[-1]
    assert row.status == "failed" and row.reason.startswith("disk full")
    assert [p.name for p in (disk / "database").iterdir() if not p.name.startswith(".")] == []


def test_space_check_refuses_before_starting(setup_factory, tmpfs):
    disk = tmpfs("1m")
    setup = setup_factory(backup_dir=disk)
    result = setup.run_cli("db")
    assert result.returncode == 1
    assert "not enough space" in result.stderr and "needed" in result.stderr and "free" in result.stderr
    row = setup.rows()[-1]
    assert row.status == "failed" and "not enough space" in row.reason
