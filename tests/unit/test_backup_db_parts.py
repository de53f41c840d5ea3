"""The small parts of the database engine: tool output parsing, the option file, the shared safety helpers."""

from __future__ import annotations

import multiprocessing
import os
import stat
from pathlib import Path

import pytest

from opsplan.backup.database.mariabackup import (
    Mariabackup,
    first_error,
    missing_privileges,
    parse_binlog_pos,
    parse_checkpoints,
)
from opsplan.errors import BackupError
from opsplan.fsutil import ensure_space, private_dir, target_lock


def test_checkpoints_and_binlog_position_are_read(tmp_path):
    path = tmp_path / "xtrabackup_checkpoints"
    path.write_text("backup_type = incremental\nfrom_lsn = 44404\nto_lsn = 47157\nlast_lsn = 47200\n")
    cp = parse_checkpoints(path)
    assert (cp.backup_type, cp.from_lsn, cp.to_lsn, cp.last_lsn) == ("incremental", 44404, 47157, 47200)
    pos = parse_binlog_pos("filename 'mariadb-bin.000001', position '1910', GTID of the last change '0-1-9'")
    assert (pos.file, pos.position, pos.gtid) == ("mariadb-bin.000001", 1910, "0-1-9")
    path.write_text("garbage\n")
    with pytest.raises(BackupError, match="not a valid xtrabackup_checkpoints"):
        parse_checkpoints(path)


def test_error_line_drops_grant_lines_with_hashes():
    stderr = ("[00] 2026-11-27 06:59:37 Error: missing required privilege RELOAD on *.*\n"
              "[00] 2026-11-27 06:59:37   1.GRANT PROCESS ON *.* TO `x`@`localhost` IDENTIFIED BY PASSWORD '*4BF'\n")
    assert first_error(stderr) == "Error: missing required privilege RELOAD on *.*"


def test_missing_privileges_from_show_grants():
    assert missing_privileges(["GRANT PROCESS, SLAVE MONITOR ON *.* TO `opsplan`@`localhost`"]) == [
        "RELOAD", "LOCK TABLES", "BINLOG MONITOR"]
    assert missing_privileges(["GRANT ALL PRIVILEGES ON *.* TO `root`@`localhost`"]) == []
    archiving = ("RELOAD", "REPLICATION SLAVE")
    assert missing_privileges(["GRANT RELOAD ON *.* TO `opsplan`@`localhost`"], archiving) == ["REPLICATION SLAVE"]
    assert missing_privileges(["GRANT RELOAD, REPLICATION SLAVE ON *.* TO `o`@`h`"], archiving) == []


def test_private_dir_makes_every_created_level_0700(tmp_path):
    leaf = private_dir(tmp_path / "a" / "b" / "c")
    for level in (tmp_path / "a", tmp_path / "a" / "b", leaf):
        assert stat.S_IMODE(level.stat().st_mode) == 0o700


def test_space_check_names_both_figures(tmp_path):
    with pytest.raises(BackupError, match=r"needed, .* free"):
        ensure_space(tmp_path, 10**18)
    ensure_space(tmp_path, 1)


def _hold(directory: str, ready, release) -> None:
    with target_lock(Path(directory), "database"):
        ready.set()
        release.wait(30)


def test_second_lock_holder_is_told_the_running_pid(tmp_path):
    ctx = multiprocessing.get_context("fork")
    ready, release = ctx.Event(), ctx.Event()
    holder = ctx.Process(target=_hold, args=(str(tmp_path), ready, release))
    holder.start()
    try:
        assert ready.wait(30)
        with pytest.raises(BackupError, match=f"already running \\(pid {holder.pid}\\)"), \
                target_lock(tmp_path, "database"):
            pass
    finally:
        release.set()
        holder.join(30)
    with target_lock(tmp_path, "database"):  # free again once the holder is gone
        assert (tmp_path / ".database.lock").read_text().strip() == str(os.getpid())


def test_move_back_goes_through_the_wrapper_with_no_defaults_first(tmp_path):
    tool = Mariabackup(binary="no-such-mariabackup-here")

    args = tool.move_back_args(tmp_path / "full", tmp_path / "data", no_defaults=True)

    assert args == ["no-such-mariabackup-here", "--no-defaults", "--move-back",
                    f"--target-dir={tmp_path / 'full'}", f"--datadir={tmp_path / 'data'}"]
    assert "--no-defaults" not in tool.move_back_args(tmp_path / "full", tmp_path / "data")
    with pytest.raises(BackupError, match="cannot run no-such-mariabackup-here"):
        tool.move_back(tmp_path / "full", tmp_path / "data")
