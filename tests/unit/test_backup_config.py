"""Configuration in Git: a real git repository, real files, a real SQLite catalog."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from clocks import SteppingClock
from opsplan.backup.config.git_repo import ConfigRepo
from opsplan.backup.models.catalog import FileBackupRun
from opsplan.errors import BackupError
from opsplan.store.state import StateDB

KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nAAAAsecretkeymaterial\n-----END OPENSSH PRIVATE KEY-----\n"


@pytest.fixture()
def repo(tmp_path: Path):
    db = StateDB.open(f"sqlite:///{tmp_path / 'state.db'}")
    yield ConfigRepo(tmp_path / "backups", db, clock=SteppingClock())
    db.close()


@pytest.fixture()
def etc(tmp_path: Path) -> Path:
    mysql = tmp_path / "etc" / "mysql"
    (mysql / "conf.d").mkdir(parents=True)
    (mysql / "my.cnf").write_text("[mysqld]\nmax_connections = 200\n")
    (mysql / "conf.d" / "server.cnf").write_text("[mysqld]\ninnodb_buffer_pool_size = 8G\n")
    os.chmod(mysql / "conf.d" / "server.cnf", 0o640)
    return mysql


def commits(repo: ConfigRepo) -> list[str]:
    out = subprocess.run(["git", "-C", str(repo.root), "log", "--format=%H"], capture_output=True, text=True,
                         env={"GIT_CONFIG_GLOBAL": os.devnull, "PATH": os.environ["PATH"]}, check=False)
    return out.stdout.split()


def test_a_change_is_committed_once_and_an_unchanged_run_commits_nothing(repo, etc: Path) -> None:
    first = repo.backup([etc])
    assert first.status == "ok" and len(commits(repo)) == 1
    assert repo.backup([etc]).status == "unchanged" and len(commits(repo)) == 1
    (etc / "my.cnf").write_text("[mysqld]\nmax_connections = 300\n")
    second = repo.backup([etc])
    assert second.status == "ok" and second.changed == [f"M {str(etc / 'my.cnf').lstrip('/')}"]
    assert repo.backup([etc]).status == "unchanged"
    assert len(commits(repo)) == 2
    history = repo.log()
    assert history[0].subject == "opsplan config backup: 1 changed"
    assert history[0].files == [f"M {str(etc / 'my.cnf').lstrip('/')}"]
    assert "-max_connections = 200" in repo.diff() and "+max_connections = 300" in repo.diff()
    assert "+max_connections = 300" in repo.diff(history[1].commit)
    with repo.db.session() as session:  # one row per change, one for the last unchanged check
        assert [r.status for r in session.query(FileBackupRun).order_by(FileBackupRun.id)] == ["ok", "ok", "unchanged"]


def test_a_deleted_file_is_a_new_commit_and_history_keeps_it(repo, etc: Path) -> None:
    repo.backup([etc])
    (etc / "conf.d" / "server.cnf").unlink()
    result = repo.backup([etc])
    assert result.changed == [f"D {str(etc / 'conf.d' / 'server.cnf').lstrip('/')}", "M .opsplan-metadata"]
    old = repo.log()[1].commit
    shown = subprocess.run(["git", "-C", str(repo.root), "show", f"{old}:files{etc}/conf.d/server.cnf"],
                           capture_output=True, text=True, env={"GIT_CONFIG_GLOBAL": os.devnull,
                                                                "PATH": os.environ["PATH"]}, check=False)
    assert "innodb_buffer_pool_size = 8G" in shown.stdout


def test_secrets_are_excluded_listed_and_never_in_the_repository(repo, etc: Path, tmp_path: Path) -> None:
    (etc / "server.pem").write_text("cert")
    (etc / "tls.key").write_text("k")
    (etc / "db_password").write_text("hunter2")
    (etc / "deploy_identity").write_text(KEY)
    (etc / "debian.cnf").write_text("[client]\nuser = debian-sys-maint\npassword = hunter3\n")
    (etc / "custom.token").write_text("t0ken")
    (etc / "plan-secret-file").write_text("s")
    result = repo.backup([etc], exclude=["*.token"], secret_files=[etc / "plan-secret-file"])
    excluded = {Path(e.path).name: e.reason for e in result.excluded}
    assert set(excluded) == {"server.pem", "tls.key", "db_password", "deploy_identity", "debian.cnf",
                             "custom.token", "plan-secret-file"}
    assert excluded["deploy_identity"] == "holds a private key"
    assert excluded["debian.cnf"] == "holds a password setting"
    stored = b"".join(p.read_bytes() for p in repo.root.rglob("*") if p.is_file() and ".git" not in p.parts)
    for secret in (b"hunter2", b"hunter3", b"secretkeymaterial", b"t0ken"):
        assert secret not in stored
        grep = subprocess.run(["git", "-C", str(repo.root), "grep", "-q", secret.decode(), "HEAD"],
                              env={"GIT_CONFIG_GLOBAL": os.devnull, "PATH": os.environ["PATH"]}, check=False)
        assert grep.returncode == 1  # not found in any committed file
    with repo.db.session() as session:
        row = session.query(FileBackupRun).one()
        assert "debian.cnf" in (row.excluded or "") and "hunter3" not in (row.excluded or "")


def test_mode_and_owner_are_recorded(repo, etc: Path) -> None:
    repo.backup([etc])
    metadata = (repo.root / ".opsplan-metadata").read_text()
    assert f"f 0640 root:root 0:0 {etc}/conf.d/server.cnf" in metadata
    os.chmod(etc / "my.cnf", 0o600)
    result = repo.backup([etc])
    assert result.status == "ok" and result.changed == ["M .opsplan-metadata"]


def test_missing_path_is_reported_and_bad_revision_refused(repo, etc: Path, tmp_path: Path) -> None:
    result = repo.backup([etc, tmp_path / "etc" / "opsplan"])
    assert result.missing == [str(tmp_path / "etc" / "opsplan")]
    with pytest.raises(BackupError, match="no configuration commit deadbeef"):
        repo.diff("deadbeef")
    with pytest.raises(BackupError, match="is not a revision"):
        repo.diff("--output=/tmp/x")


def test_cheap_check_sees_a_change_without_reading_content(repo, etc: Path) -> None:
    repo.backup([etc])
    assert not repo.changed_since_last_backup([etc])
    (etc / "conf.d" / "new.cnf").write_text("x")
    assert repo.changed_since_last_backup([etc])


def test_a_directory_of_many_certificates_is_backed_up_with_every_excluded_path_listed(tmp_path: Path,
                                                                                        engine_state_url: str) -> None:
    # An internal CA keeps one certificate per host it issued: 1,500 `.pem` files are excluded,
    # and their paths (about 78 KB under /etc/ssl/issued) passed MariaDB's 64 KB TEXT: the backup's
    # catalog row was refused.
    issued = tmp_path / "etc" / "ssl" / "issued"
    issued.mkdir(parents=True)
    names = [f"gpu-node-{i:04d}.cluster.example.kr.pem" for i in range(1500)]
    for name in names:
        (issued / name).write_text("-----BEGIN CERTIFICATE-----\n")
    (issued / "openssl.cnf").write_text("[ca]\ndefault_ca = issuing\n")
    db = StateDB.open(engine_state_url)
    try:
        result = ConfigRepo(tmp_path / "backups", db, clock=SteppingClock()).backup([issued])
        assert result.status == "ok" and len(result.excluded) == 1500
        with db.session() as session:
            [row] = session.query(FileBackupRun).all()
            listed = (row.excluded or "").splitlines()
        assert row.status == "ok" and len("\n".join(listed).encode()) > 65_535
        assert sorted(Path(p).name for p in listed) == sorted(names)
    finally:
        db.close()
