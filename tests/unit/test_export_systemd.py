"""`opsplan export` writes `opsplan serve` as a hardened systemd service: its paths, groups and
capabilities follow the plan, and systemd's own tools accept the files (and reject a broken copy)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

import yaml_writer
from opsplan.cli.main import app
from opsplan.export.host import FileInfo
from opsplan.export.systemd import Install, sysusers_file, tmpfiles_file, unit_file
from opsplan.plan.models import Plan

INSTALL = Install(program=Path("/opt/opsplan/bin/opsplan"), plan_path=Path("/etc/opsplan/opsplan.yaml"))


def _nothing_exists(path: Path) -> FileInfo | None:
    return None


def _host(files: dict[str, FileInfo]):
    return lambda path: files.get(str(path))


def _directives(text: str) -> dict[str, list[str]]:
    """Key -> every value it is given, comments and section headers left out."""
    found: dict[str, list[str]] = {}
    for line in text.splitlines():
        if line and not line.startswith(("#", "[")):
            key, _, value = line.partition("=")
            found.setdefault(key, []).append(value)
    return found


def _plan(**data: object) -> Plan:
    return Plan.model_validate(data)


def test_the_default_plan_runs_as_its_own_user_writing_only_its_own_directories():
    unit = _directives(unit_file(Plan(), INSTALL, _nothing_exists))
    assert unit["User"] == ["opsplan"] and unit["Group"] == ["opsplan"]
    assert unit["ExecStart"] == ["/opt/opsplan/bin/opsplan --plan /etc/opsplan/opsplan.yaml serve"]
    assert unit["ReadWritePaths"] == ["/var/lib/opsplan /var/backups/opsplan"]
    assert unit["StateDirectory"] == ["opsplan"] and unit["StateDirectoryMode"] == ["0700"]
    # The seed's MariaDB datadir is Debian's, group mysql: mariabackup reads it through that group only.
    assert unit["SupplementaryGroups"] == ["mysql"]
    for key, value in {"NoNewPrivileges": "yes", "ProtectSystem": "strict", "ProtectHome": "yes",
                       "PrivateTmp": "yes", "ProtectKernelTunables": "yes", "ProtectControlGroups": "yes",
                       "CapabilityBoundingSet": "", "UMask": "0027", "Restart": "on-failure",
                       "KillSignal": "SIGTERM", "TimeoutStopSec": "30s", "RestartPreventExitStatus": "2",
                       "RestrictAddressFamilies": "AF_UNIX AF_INET AF_INET6 AF_NETLINK",
                       "ProtectKernelModules": "yes", "RestrictNamespaces": "yes", "RemoveIPC": "yes",
                       "SystemCallArchitectures": "native", "WantedBy": "multi-user.target"}.items():
        assert unit[key] == [value], key
    # NVML must still open /dev/nvidia*; a secret never sits in the unit.
    assert "PrivateDevices" not in unit and "DeviceAllow" not in unit and "ProtectClock" not in unit
    assert "Environment" not in unit and "EnvironmentFile" not in unit
    # Started after the driver's persistence daemon, so NVML answers from the first cycle; never bound to it.
    assert "nvidia-persistenced.service" in unit["After"]
    assert "nvidia-persistenced.service" not in " ".join(unit.get("Requires", []) + unit.get("BindsTo", []))


def test_a_plan_without_gpus_is_not_ordered_after_the_nvidia_daemon():
    plan = _plan(server={"gpu": {"count": 0}}, allocation=[{"id": "app", "name": {"ko": "앱", "en": "app"},
                                                           "memory": "1GB", "storage": "1GB"}])
    assert "nvidia-persistenced.service" not in unit_file(plan, INSTALL, _nothing_exists)


def test_writable_paths_follow_the_plan():
    plan = _plan(data_dir="/srv/opsplan-state", backup={"directory": "/data/backups", "models": {"models": [
        {"name": "llm", "path": "/srv/models/llm",
         "test_slot": {"link": "/srv/slots/llm/current", "endpoint": "http://127.0.0.1:8001"}}]}},
        recovery={"scratch_dir": "/scratch/opsplan"})
    text = unit_file(plan, INSTALL, _nothing_exists)
    unit = _directives(text)
    assert unit["ReadWritePaths"] == ["/srv/opsplan-state /data/backups /scratch/opsplan /srv/slots/llm"]
    assert "/var/lib/opsplan" not in text and "StateDirectory" not in unit  # not under /var/lib
    assert "# /srv/slots/llm: the model drill of llm switches its test slot link" in text
    tmpfiles = tmpfiles_file(plan, INSTALL)
    assert [line for line in tmpfiles.splitlines() if not line.startswith("#")] == [
        "d /srv/opsplan-state 0700 opsplan opsplan -",
        "d /data/backups 0700 opsplan opsplan -",
        "d /scratch/opsplan 0700 opsplan opsplan -"]
    assert sysusers_file(plan, INSTALL).splitlines()[-1] == 'u opsplan - "opsplan service" /srv/opsplan-state'


def test_a_scratch_dir_inside_the_backup_directory_is_not_listed_twice():
    plan = _plan(recovery={"scratch_dir": "/var/backups/opsplan/scratch"})
    unit = _directives(unit_file(plan, INSTALL, _nothing_exists))
    assert unit["ReadWritePaths"] == ["/var/lib/opsplan /var/backups/opsplan"]


def test_supplementary_groups_are_the_ones_the_plan_reads_through():
    plan = _plan(
        database={"datadir": "/data/mariadb"},
        services=[{"name": "gateway", "access_log": {"path": "/var/log/nginx/access.log"}},
                  {"name": "open", "access_log": {"path": "/srv/app/open.log"}},
                  {"name": "later", "access_log": {"path": "/var/log/later/access.log"}},
                  {"name": "elsewhere", "access_log": {"path": "/srv/app/missing.log"}}],
        backup={"models": {"models": [{"name": "llm", "path": "/srv/models/llm"}]}})
    host = _host({
        "/data/mariadb": FileInfo("dbdata", others_read=True),  # the directory is open, its files are not
        "/var/log/nginx/access.log": FileInfo("adm", others_read=False),
        "/srv/app/open.log": FileInfo("www-data", others_read=True),
        "/srv/models/llm": FileInfo("ml", others_read=False),
    })
    text = unit_file(plan, INSTALL, host)
    # A log under /var/log not written yet will belong to adm; one elsewhere that is missing adds nothing.
    assert _directives(text)["SupplementaryGroups"] == ["dbdata adm ml"]
    assert "# dbdata: mariabackup reads the MariaDB datadir /data/mariadb" in text
    assert "# adm: reads the access log /var/log/nginx/access.log of service gateway" in text
    assert "# adm: reads the access log /var/log/later/access.log of service later" in text
    assert "systemd-journal" not in _directives(text)["SupplementaryGroups"][0]


def test_a_root_owned_datadir_still_gets_the_mysql_group_not_root():
    host = _host({"/var/lib/mysql": FileInfo("root", others_read=False)})
    assert _directives(unit_file(Plan(), INSTALL, host))["SupplementaryGroups"] == ["mysql"]


def test_a_privileged_port_gets_exactly_the_capability_to_bind_it():
    unit = _directives(unit_file(_plan(web={"port": 80}), INSTALL, _nothing_exists))
    assert unit["CapabilityBoundingSet"] == ["CAP_NET_BIND_SERVICE"]
    assert unit["AmbientCapabilities"] == ["CAP_NET_BIND_SERVICE"]
    assert unit["NoNewPrivileges"] == ["yes"]


def test_secrets_are_files_named_in_comments_never_environment_values():
    plan = _plan(database={"password_file": "/etc/opsplan/db-password"}, state_db_url_env="OPSPLAN_STATE_DB")
    text = unit_file(plan, INSTALL, _nothing_exists)
    assert "# read from database.password_file /etc/opsplan/db-password" in text
    assert "#   web.api_token_env OPSPLAN_API_TOKEN" in text  # not set for the service: the write API is off
    unit = _directives(text)
    assert "Environment" not in unit
    assert unit["EnvironmentFile"] == ["/etc/opsplan/opsplan.env"]


def test_paths_under_home_or_tmp_loosen_only_what_they_need():
    plan = _plan(backup={"models": {"models": [{"name": "llm", "path": "/home/ml/llm"}]}})
    unit = _directives(unit_file(plan, INSTALL, _nothing_exists))
    assert unit["ProtectHome"] == ["read-only"] and unit["PrivateTmp"] == ["yes"]
    unit = _directives(unit_file(_plan(data_dir="/tmp/opsplan"), INSTALL, _nothing_exists))
    assert unit["PrivateTmp"] == ["no"] and unit["ProtectHome"] == ["yes"]


def test_percent_signs_are_escaped_as_systemd_specifiers():
    plan = _plan(backup={"directory": "/srv/100%backups"})
    assert "/srv/100%%backups" in _directives(unit_file(plan, INSTALL, _nothing_exists))["ReadWritePaths"][0]
    assert "d /srv/100%%backups 0700" in tmpfiles_file(plan, INSTALL)


def _export(tmp_path: Path, overrides: dict, *args: str) -> tuple[int, str, Path]:
    plan = yaml_writer.write_plan(tmp_path, {"web": {"port": 9100}, **overrides})
    out = tmp_path / "export"
    result = CliRunner().invoke(app, ["--plan", str(plan), "export", "--out", str(out), *args])
    return result.exit_code, result.output, out


def test_export_writes_the_unit_for_the_plan_it_was_given(tmp_path: Path):
    code, output, out = _export(tmp_path, {})
    assert code == 0, output
    unit = _directives((out / "systemd" / "opsplan.service").read_text())
    program, _, rest = unit["ExecStart"][0].partition(" ")
    assert Path(program).is_file() and Path(program).name == "opsplan"  # the opsplan running the export
    assert rest == f"--plan {tmp_path / 'opsplan.yaml'} serve"
    assert unit["ReadWritePaths"] == [f"{tmp_path / 'data'} {tmp_path / 'backups'}"]


@pytest.mark.parametrize(("overrides", "args", "message"), [
    ({"data_dir": "relative/data"}, [], "data_dir: 'relative/data' is relative"),
    ({"backup": {"directory": "/srv/my backups"}}, [], "'/srv/my backups' has a blank"),
    ({}, ["--program", "/nonexistent/opsplan"], "--program: /nonexistent/opsplan is not a file"),
])
def test_what_a_unit_cannot_hold_is_a_one_line_error(tmp_path: Path, overrides: dict, args: list[str],
                                                     message: str):
    code, output, out = _export(tmp_path, overrides, *args)
    lines = output.strip().splitlines()
    assert code == 1 and len(lines) == 1 and message in lines[0], output
    assert not (out / "systemd").exists()


SYSTEMD_ANALYZE = shutil.which("systemd-analyze")


def _verify(unit: Path) -> list[str]:
    """What `systemd-analyze verify` says about this file: only the unit is loaded (no generators,
    no man pages), and only lines naming it count (a container's own units may draw complaints)."""
    assert SYSTEMD_ANALYZE
    done = subprocess.run([SYSTEMD_ANALYZE, "verify", "--man=no", "--generators=no", str(unit)],
                          capture_output=True, text=True, timeout=60, check=False,
                          env={**os.environ, "SYSTEMD_LOG_LEVEL": "notice", "SYSTEMD_LOG_COLOR": "0"})
    said = [line for line in (done.stdout + done.stderr).splitlines() if unit.name in line]
    assert done.returncode == 0 or said, done.stdout + done.stderr
    return said


@pytest.mark.skipif(SYSTEMD_ANALYZE is None, reason="systemd-analyze is not installed (Debian package systemd)")
def test_systemd_analyze_accepts_the_exported_unit_and_rejects_a_broken_copy(tmp_path: Path):
    code, output, out = _export(tmp_path, {"web": {"port": 80},
                                           "database": {"password_file": str(tmp_path / "pw")}})
    assert code == 0, output
    good = (out / "systemd" / "opsplan.service").read_text()
    assert _verify(out / "systemd" / "opsplan.service") == []
    broken = tmp_path / "broken" / "opsplan.service"
    broken.parent.mkdir()
    for wrong, expected in [
        (good.replace("NoNewPrivileges=yes", "NoNewPrivilege=yes"), "Unknown key 'NoNewPrivilege'"),
        (good.replace("UMask=0027", "UMask=0999"), "0999"),
        (good.replace("RestrictAddressFamilies=AF_UNIX", "RestrictAddressFamilies=AF_UNIKS"), "AF_UNIKS"),
        (good.replace("ExecStart=/", "ExecStart=/nonexistent/"), "is not executable"),
    ]:
        assert wrong != good
        broken.write_text(wrong)
        said = _verify(broken)
        assert any(expected in line for line in said), (expected, said)


@pytest.mark.skipif(shutil.which("systemd-sysusers") is None or shutil.which("systemd-tmpfiles") is None,
                    reason="systemd-sysusers/systemd-tmpfiles are not installed (Debian package systemd)")
@pytest.mark.skipif(os.geteuid() != 0, reason="systemd-tmpfiles --create chowns to the service user: needs root")
def test_sysusers_and_tmpfiles_create_the_user_and_its_private_directories(tmp_path: Path):
    code, output, out = _export(tmp_path, {})
    assert code == 0, output
    root = tmp_path / "root"
    (root / "etc").mkdir(parents=True)
    # --root: everything happens inside tmp_path/root, nothing on this machine.
    subprocess.run(["systemd-sysusers", f"--root={root}", str(out / "systemd" / "opsplan.sysusers.conf")],
                   check=True, capture_output=True, timeout=60)
    passwd = {line.split(":")[0]: line.split(":") for line in (root / "etc/passwd").read_text().splitlines()}
    assert passwd["opsplan"][5] == str(tmp_path / "data")  # home: the data directory
    done = subprocess.run(["systemd-tmpfiles", f"--root={root}", "--create",
                           str(out / "systemd" / "opsplan.tmpfiles.conf")],
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    for directory in (tmp_path / "data", tmp_path / "backups"):
        made = (root / directory.relative_to("/")).stat()
        assert made.st_mode & 0o777 == 0o700 and made.st_uid == int(passwd["opsplan"][2])
    # A wrong line is refused with its line number, not skipped quietly.
    bad = tmp_path / "bad.conf"
    bad.write_text("d /srv/x 0799 opsplan opsplan -\n")
    done = subprocess.run(["systemd-tmpfiles", f"--root={root}", "--create", str(bad)],
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode != 0 and "bad.conf:1" in done.stderr


def test_a_program_not_found_where_the_export_ran_is_said_in_the_unit():
    from opsplan.export.systemd import DEFAULT_PROGRAM

    guessed = Install(program=DEFAULT_PROGRAM, plan_path=INSTALL.plan_path, program_found=False)
    text = unit_file(Plan(), guessed, _nothing_exists)
    assert "# No opsplan program was found where this was exported" in text
    assert _directives(text)["ExecStart"] == [f"{DEFAULT_PROGRAM} --plan /etc/opsplan/opsplan.yaml serve"]
    assert "No opsplan program" not in unit_file(Plan(), INSTALL, _nothing_exists)
