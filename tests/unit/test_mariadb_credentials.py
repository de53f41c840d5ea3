"""The login for MariaDB's tools as an in-memory option file: read by a real child, never on disk."""

from __future__ import annotations

import errno
import os
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

from opsplan.backup.database.mariabackup import sweep_legacy_option_dirs
from opsplan.mariadb.credentials import client_options, memory_file
from opsplan.plan.models import Database

# Everything an option file could misread: a comment sign, quotes, a backslash, blanks at the end.
AWKWARD = "a#b\"c\\d' e\tz\\n  "


def _print_defaults(option: str, fds: tuple[int, ...]) -> list[str]:
    tool = shutil.which("my_print_defaults") or shutil.which("mariadb-print-defaults")
    if tool is None:
        pytest.skip("my_print_defaults (MariaDB's own option parser) is not installed")
    res = subprocess.run([tool, option, "client", "mariabackup"], pass_fds=fds, capture_output=True, text=True,
                         check=True)
    return res.stdout.splitlines()


def test_a_child_reads_the_login_through_dev_fd_and_no_file_exists():
    db = Database(user="backup", socket=Path("/run/mysqld/mysqld.sock"), password_env=None)
    with client_options(db, "s3cret-value") as memory:
        assert memory.defaults_option == f"--defaults-extra-file=/dev/fd/{memory.fd}"
        assert os.readlink(f"/proc/self/fd/{memory.fd}").startswith("/memfd:")  # no path on any disk
        assert stat.S_IMODE(os.fstat(memory.fd).st_mode) == 0o400  # MariaDB ignores a world-writable file
        # Read twice by one child (mariabackup reads its option files more than once): a pipe could not.
        twice = subprocess.run(["sh", "-c", f"cat {memory.path}; cat {memory.path}"], pass_fds=memory.pass_fds,
                               capture_output=True, text=True, check=True).stdout
        assert twice.count('password="s3cret-value"') == 4 and "[mariabackup]" in twice
        # Sealed: nothing can change what the child reads.
        with pytest.raises(OSError) as sealed:
            os.write(memory.fd, b"x")
        assert sealed.value.errno == errno.EPERM
        # Close-on-exec: a child not handed the descriptor cannot read it.
        other = subprocess.run(["cat", memory.path], capture_output=True, text=True, check=False)
        assert other.returncode != 0 and "s3cret" not in other.stdout
        fd = memory.fd
    with pytest.raises(OSError):
        os.fstat(fd)  # closed with the block


def test_mariadbs_own_parser_reads_an_awkward_password_back_exactly():
    db = Database(user="back up", host="db.example", port=3307, password_env=None)
    with client_options(db, AWKWARD) as memory:
        options = _print_defaults(memory.defaults_option, memory.pass_fds)
    assert options.count(f"--password={AWKWARD}") == 2  # [client] and [mariabackup]
    assert "--user=back up" in options and "--host=db.example" in options and "--port=3307" in options


def test_a_memory_file_holds_any_text_for_a_child():
    with memory_file("CREATE USER x;\n", "init") as memory:
        read = subprocess.run(["cat", memory.path], pass_fds=memory.pass_fds, capture_output=True, text=True,
                              check=True)
    assert read.stdout == "CREATE USER x;\n"


def test_option_dirs_a_killed_earlier_version_left_are_swept(tmp_path):
    left = tmp_path / "opsplan-mb-k2j4"
    left.mkdir(mode=0o700)
    (left / "my.cnf").write_text("[client]\npassword=old\n")
    other = tmp_path / "opsplan-mdb-keep"
    other.mkdir()
    assert sweep_legacy_option_dirs(tmp_path) == [left]
    assert not left.exists() and other.exists()
