"""Secrets come from the environment or an owner-only file; a refusal never shows the secret."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from opsplan.errors import SecretError
from opsplan.plan.models import Channel, Database
from opsplan.plan.secrets import read_channel_url, read_database_password

SECRET = "s3cr3t-Pa55"


def secret_file(tmp_path: Path, mode: int, text: str = SECRET + "\n") -> Path:
    path = tmp_path / "db-password"
    path.write_text(text, encoding="utf-8")
    path.chmod(mode)
    return path


def test_password_from_the_environment():
    db = Database(password_env="TEST_DB_PASSWORD")
    assert read_database_password(db, environ={"TEST_DB_PASSWORD": SECRET}) == SECRET


def test_environment_wins_over_the_file(tmp_path):
    db = Database(password_env="TEST_DB_PASSWORD", password_file=secret_file(tmp_path, 0o600, "from-file\n"))
    assert read_database_password(db, environ={"TEST_DB_PASSWORD": SECRET}) == SECRET
    assert read_database_password(db, environ={}) == "from-file"


def test_owner_only_file_is_read_without_its_newline(tmp_path):
    db = Database(password_env=None, password_file=secret_file(tmp_path, 0o600))
    assert read_database_password(db, environ={}) == SECRET
    db = Database(password_env=None, password_file=secret_file(tmp_path, 0o400))
    assert read_database_password(db, environ={}) == SECRET


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o620])
def test_file_open_to_group_or_others_is_refused_without_showing_it(tmp_path, mode):
    path = secret_file(tmp_path, mode)
    db = Database(password_env=None, password_file=path)
    with pytest.raises(SecretError) as caught:
        read_database_password(db, environ={})
    message = str(caught.value)
    assert message == (f"database password file {path}: mode {mode:04o} lets group or others at it; "
                       f"run chmod 600 {path}")
    assert SECRET not in message


def test_a_directory_or_missing_file_is_refused(tmp_path):
    with pytest.raises(SecretError, match="not a regular file"):
        read_database_password(Database(password_env=None, password_file=tmp_path), environ={})
    with pytest.raises(SecretError, match="no such file"):
        read_database_password(Database(password_env=None, password_file=tmp_path / "nope"), environ={})


def test_empty_file_is_refused(tmp_path):
    db = Database(password_env=None, password_file=secret_file(tmp_path, 0o600, "\n"))
    with pytest.raises(SecretError, match="empty"):
        read_database_password(db, environ={})


def test_no_source_means_no_password():
    # The default names OPSPLAN_DB_PASSWORD; unset, the client connects without one (socket auth).
    assert read_database_password(Database(), environ={}) is None


def test_channel_url_follows_the_same_rules(tmp_path):
    channel = Channel(name="ops-chat", url_env="CHAT_URL")
    url = "https://chat.example/hooks/" + SECRET
    assert read_channel_url(channel, environ={"CHAT_URL": url}) == url
    path = tmp_path / "chat-url"
    path.write_text(url, encoding="utf-8")
    path.chmod(0o644)
    channel = Channel(name="ops-chat", url_file=path)
    with pytest.raises(SecretError) as caught:
        read_channel_url(channel, environ={})
    assert "channel 'ops-chat'" in str(caught.value) and SECRET not in str(caught.value)
    os.chmod(path, 0o600)
    assert read_channel_url(channel, environ={}) == url
