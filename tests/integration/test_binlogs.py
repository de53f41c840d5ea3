"""Binlog archiving and point-in-time recovery against real throwaway MariaDB servers and real mariadb-binlog."""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import stat
import subprocess
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
import test_backup_db
from test_backup_db import PASSWORD, files_holding, insert_rows

from mariadb_server import MariaDBServer
from opsplan.backup.binlogs import archive as binlogs
from opsplan.backup.binlogs.archive import archive_binlogs, binlog_root
from opsplan.backup.binlogs.restore import replay, restore_point
from opsplan.backup.binlogs.rpo import RpoCollector
from opsplan.backup.database.mariabackup import Mariabackup
from opsplan.backup.database.retention import prune
from opsplan.backup.database.verify import prepare_chain
from opsplan.backup.hashing import hash_file
from opsplan.errors import BackupError

setup_factory = test_backup_db.setup_factory  # the fixture, shared with test_backup_db.py

pytestmark = pytest.mark.mariadb

REPLAY_PASSWORD = "Rp-s3cret-91ab-replay"


def _archiver_setup(setup_factory, **kwargs):
    setup = setup_factory(**kwargs)
    for host in ("localhost", "127.0.0.1"):  # what archiving adds to the backup grants
        setup.server.execute(f"GRANT REPLICATION SLAVE ON *.* TO 'backup'@'{host}'")
    return setup


def _rows(setup):
    with setup.state.session() as session:
        return binlogs.all_rows(session)


@pytest.fixture
def argv_log(tmp_path, monkeypatch):
    """A PATH shim in front of mariadb-binlog and mariadb that writes each argv (what `ps` shows)
    to a file, then runs the real tool."""
    shims = tmp_path / "shims"
    shims.mkdir()
    log = tmp_path / "argv.log"
    for name in ("mariadb-binlog", "mariadb"):
        real = shutil.which(name)
        assert real
        shim = shims / name
        shim.write_text(f'#!/bin/sh\nprintf "%s\\0" "$0" "$@" >> {log}\nprintf "\\n" >> {log}\nexec {real} "$@"\n')
        shim.chmod(0o755)
    monkeypatch.setenv("PATH", f"{shims}:{os.environ['PATH']}")
    return log


def test_archive_catalogs_hashed_private_files_and_a_second_pass_takes_only_new_ones(setup_factory, argv_log):
    setup = _archiver_setup(setup_factory)
    insert_rows(setup.server, 1, 5)
    first = archive_binlogs(setup.plan, setup.state, environ=setup.environ)
    assert first.log_bin and first.archived
    rows = _rows(setup)
    assert [r.name for r in rows] == first.archived and all(r.status == "ok" for r in rows)
    root = binlog_root(setup.plan)
    for row in rows:
        stored = root / (row.stored_name or "")
        assert hash_file(stored) == row.hash and stored.stat().st_size == row.size
        assert stat.S_IMODE(stored.stat().st_mode) == 0o600
        assert row.first_event_at and row.last_event_at and row.first_event_at <= row.last_event_at
        assert row.server_id == setup.server.server_id and row.end_position == row.raw_size
    assert stat.S_IMODE(root.stat().st_mode) == 0o700
    insert_rows(setup.server, 100, 2)
    second = archive_binlogs(setup.plan, setup.state, environ=setup.environ)
    assert len(second.archived) == 1 and second.archived[0] not in first.archived
    assert len(_rows(setup)) == len(rows) + 1
    # The password never reached a command line; the option file is the first option and is gone.
    calls = [c.split("\0") for c in argv_log.read_text().splitlines() if c]
    assert calls and all(PASSWORD not in part for call in calls for part in call)
    assert all(call[1].startswith("--defaults-extra-file=") for call in calls)
    assert not list((root / binlogs.WORK_DIR).rglob("*.cnf"))
    assert not any(PASSWORD.encode() in f.read_bytes() for f in Path(setup.plan.data_dir).glob("state.db*"))


def test_point_in_time_restore_holds_the_first_write_and_not_the_second(setup_factory, argv_log):
    setup = _archiver_setup(setup_factory)
    insert_rows(setup.server, 1, 3)
    backup = setup.engine().run("full")
    setup.server.execute("INSERT INTO shop.orders VALUES (1001, 'row A')")
    noted = time.time()
    time.sleep(1.1)
    setup.server.execute("INSERT INTO shop.orders VALUES (1002, 'row B')")
    archive_binlogs(setup.plan, setup.state, environ=setup.environ)

    point = restore_point(setup.state, datetime.fromtimestamp(noted, UTC))
    assert point.backup.id == backup.id and point.start_file == backup.binlog_file
    assert point.binlogs and point.start_pos == backup.binlog_position

    base = Path(tempfile.mkdtemp(prefix="opsplan-pitr-", dir="/tmp"))
    restored = MariaDBServer(base_dir=base)
    try:
        scratch = base / "scratch"
        prepared = prepare_chain(test_backup_db.database_root(setup.plan), point.chain, scratch, Mariabackup())
        prepared.rename(restored.datadir)
        shutil.rmtree(scratch)
        restored.start()
        for host in ("localhost", "127.0.0.1"):
            restored.execute(f"CREATE USER 'replayer'@'{host}' IDENTIFIED BY %s", (REPLAY_PASSWORD,))
            restored.execute(f"GRANT ALL PRIVILEGES ON *.* TO 'replayer'@'{host}'")
        assert [r[0] for r in restored.execute("SELECT id FROM shop.orders WHERE id > 1000")] == []
        replayed = replay(point, plan=setup.plan, user="replayer", password=REPLAY_PASSWORD,
                          socket=restored.socket)
        assert replayed == len(point.binlogs)
        ids = [int(r[0]) for r in restored.execute("SELECT id FROM shop.orders ORDER BY id")]
        assert ids == [1, 2, 3, 1001]  # row A, not row B
    finally:
        restored.cleanup()
        shutil.rmtree(base, ignore_errors=True)
    calls = argv_log.read_text()
    assert "--binary-mode" in calls and "--stop-datetime=" in calls
    assert REPLAY_PASSWORD not in calls and PASSWORD not in calls
    assert not list(Path(setup.plan.backup.directory, ".scratch").rglob("*"))  # decompressed copies are gone


def test_outside_what_is_archived_is_one_clear_line(setup_factory):
    setup = _archiver_setup(setup_factory)
    insert_rows(setup.server, 1, 2)
    before = datetime.now(UTC)
    time.sleep(1.1)
    setup.engine().run("full")
    archive_binlogs(setup.plan, setup.state, environ=setup.environ)
    with pytest.raises(BackupError, match="before the oldest backup") as exc:
        restore_point(setup.state, before)
    assert "\n" not in str(exc.value)
    with pytest.raises(BackupError, match="after what is archived") as exc:
        restore_point(setup.state, datetime.fromtimestamp(time.time() + 3600, UTC))
    assert "\n" not in str(exc.value)


def test_retention_removes_binlogs_older_than_the_oldest_kept_backup(setup_factory):
    setup = _archiver_setup(setup_factory)
    insert_rows(setup.server, 1, 2)
    old_full = setup.engine().run("full")
    early = archive_binlogs(setup.plan, setup.state, environ=setup.environ).archived
    insert_rows(setup.server, 10, 2)
    new_full = setup.engine().run("full")
    late = archive_binlogs(setup.plan, setup.state, environ=setup.environ).archived
    assert early and late
    # 31 days on, the 30-day window starts after both fulls: the old chain goes, and so do its binlogs.
    removals = prune(setup.plan, setup.state, clock=lambda: time.time() + 31 * 86400)
    assert [r.backup_id for r in removals] == [old_full.id]
    rows = {r.name: r for r in _rows(setup)}
    root = binlog_root(setup.plan)
    gone = [n for n in early if n < (new_full.binlog_file or "")]
    assert gone, "the binlogs before the new full's file should be prunable"
    for name in gone:
        assert rows[name].pruned_at is not None and not (root / (rows[name].stored_name or "")).exists()
    for name in late:
        assert rows[name].pruned_at is None and (root / (rows[name].stored_name or "")).exists()
    # What is left still restores to now.
    newest = max(rows[late[-1]].last_event_at or 0, new_full.finished_at or 0)
    assert restore_point(setup.state, datetime.fromtimestamp(newest, UTC)).backup.id == new_full.id


def test_rpo_metric_follows_the_newest_archived_event(setup_factory):
    setup = _archiver_setup(setup_factory)
    insert_rows(setup.server, 1, 2)
    full = setup.engine().run("full")
    collector = RpoCollector(setup.plan, setup.state, clock=lambda: (full.finished_at or 0) + 100)
    values = {s.name: s.value for s in collector.collect()}
    assert values["opsplan_backup_rpo_seconds"] == pytest.approx(100)
    assert "opsplan_binlog_archived_files" not in values  # no pass yet
    time.sleep(1.1)  # so the archive's flush is a later second than the backup's end
    archive_binlogs(setup.plan, setup.state, environ=setup.environ)
    newest = max(r.last_event_at or 0 for r in _rows(setup))
    assert newest > (full.finished_at or 0)
    collector = RpoCollector(setup.plan, setup.state, clock=lambda: newest + 42)
    values = {s.name: s.value for s in collector.collect()}
    assert values["opsplan_backup_rpo_seconds"] == pytest.approx(42)
    assert values["opsplan_binlog_archived_files"] == len(_rows(setup))
    assert values["opsplan_binlog_archive_last_success_timestamp_seconds"] > 0


def test_server_without_binlog_says_so_in_one_line_and_archives_nothing(mariadb_server_factory, tmp_path):
    server = mariadb_server_factory(extra_args=["--skip-log-bin"])
    setup = test_backup_db.Setup(server, tmp_path)
    try:
        result = setup.run_cli("archive-binlogs")
        assert result.returncode == 1
        assert result.stderr.strip().count("\n") == 0 and "log_bin" in result.stderr and "OFF" in result.stderr
        assert _rows(setup) == [] and not list(binlog_root(setup.plan).glob("*.zst"))
        values = {s.name for s in RpoCollector(setup.plan, setup.state).collect()}
        assert not any(name.startswith("opsplan_binlog_") for name in values)
    finally:
        setup.state.close()


def test_sigkill_mid_fetch_leaves_no_password_and_the_next_pass_recovers(setup_factory, tmp_path):
    started = time.time()
    password = f"Pw-binkill-{secrets.token_hex(8)}"  # this test's own, so no other run's file can match
    setup = _archiver_setup(setup_factory, password=password)
    insert_rows(setup.server, 1, 5)
    # A shim that holds still before running the real mariadb-binlog, so the kill lands mid-fetch.
    shims, marker = tmp_path / "hold", tmp_path / "fetching.pid"
    shims.mkdir()
    shim = shims / "mariadb-binlog"
    shim.write_text(f'#!/bin/sh\necho $$ > {marker}.new && mv {marker}.new {marker}\nsleep 120\n'
                    f'exec {shutil.which("mariadb-binlog")} "$@"\n')
    shim.chmod(0o755)
    held = {**setup.environ, "PATH": f"{shims}:{os.environ['PATH']}"}
    proc = subprocess.Popen(setup.cli("archive-binlogs"), env=held, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 60
    while not marker.exists() and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.01)
    assert marker.exists(), "mariadb-binlog was never started"
    fetcher = int(marker.read_text())
    argv = Path(f"/proc/{fetcher}/cmdline").read_bytes().decode().split("\0")
    option = argv[2]  # after /bin/sh and the shim: the tool's first option
    assert option.startswith("--defaults-extra-file=/dev/fd/") and password not in "\0".join(argv)
    assert os.readlink(f"/proc/{fetcher}/fd/{option.rsplit('/', 1)[1]}").startswith("/memfd:")
    os.killpg(proc.pid, signal.SIGKILL)  # the whole group, as systemd or the OOM killer would
    proc.wait()
    assert _rows(setup)[-1].status == "running"
    assert files_holding(password, [Path(setup.plan.data_dir), setup.backup_dir], started) == []

    again = subprocess.run(setup.cli("archive-binlogs"), env=setup.environ, capture_output=True, text=True,
                           timeout=180, check=False)
    assert again.returncode == 0, again.stderr
    rows = _rows(setup)
    assert rows[0].status == "failed" and "interrupted" in (rows[0].reason or "")
    assert any(r.status == "ok" and r.name == rows[0].name for r in rows[1:])
    assert list((binlog_root(setup.plan) / binlogs.WORK_DIR).iterdir()) == []
