"""The scratch server's temporary login and the test harness's start-up errors, with real mariadbd."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest
from test_backup_db import files_holding

from mariadb_server import MariaDBServer, MariaDBStartError
from opsplan.runbooks.restore.scratch import ScratchServer

pytestmark = pytest.mark.mariadb


def test_the_temporary_users_password_reaches_mariadbd_from_memory_only(mariadb_server_factory):
    source = mariadb_server_factory()
    source.stop()  # its datadir stands in for a restored copy
    base = Path(tempfile.mkdtemp(prefix="opsplan-scr-", dir="/tmp"))
    server = ScratchServer(source.datadir, base_dir=base, grants="temporary-user")
    password = server.connect_params()["password"]
    started = os.path.getmtime(base) - 1
    try:
        server.start(timeout=120)
        assert server.pid is not None
        argv = Path(f"/proc/{server.pid}/cmdline").read_bytes().decode().split("\0")
        init = next(a for a in argv if a.startswith("--init-file="))
        assert init.startswith("--init-file=/dev/fd/") and password not in "\0".join(argv)
        # The init file was read from memory: the temporary user logs in, and no file holds its password.
        assert server.connect().cursor().execute("SELECT 1") == 1
        assert files_holding(password, [base, source.base_dir], started) == []
    finally:
        server.stop()
        shutil.rmtree(base, ignore_errors=True)


def test_a_server_that_cannot_start_says_why_from_its_error_log(tmp_path):
    base = Path(tempfile.mkdtemp(prefix="opsplan-mdb-", dir="/tmp"))
    server = MariaDBServer(base, extra_args=["--no-such-option-h9"], start_timeout=60)
    try:
        with pytest.raises(MariaDBStartError) as caught:
            server.start()
    finally:
        server.cleanup()
        shutil.rmtree(base, ignore_errors=True)
    message = str(caught.value)
    assert "mariadbd exited" in message and "no-such-option-h9" in message  # the error log's own line
