"""The quarterly check items (seed §2.2) on real inputs: sshd_config files, a passwd file, real
files with real modes, a socket this test opens, a certificate made by openssl, a state DB with
drill rows. Every "could not check" is not-run with its reason, never a pass."""

from __future__ import annotations

import re
import shutil
import socket
import subprocess
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from opsplan.checks import audit, audit_db, audit_host, audit_lynis, audit_ssh, registry, releases
from opsplan.checks.evaluators import quarterly
from opsplan.checks.model import FAIL, NOT_RUN, PASS, WARN, CheckContext, Figure, ItemResult, Line
from opsplan.i18n import t
from opsplan.plan.models import AllowedPort, Plan
from opsplan.runbooks.drill import results as drills
from opsplan.store.state import StateDB

ROOT = Path(__file__).resolve().parents[2]
SEOUL = ZoneInfo("Asia/Seoul")


def at(text: str) -> float:
    return datetime.strptime(text, "%Y-%m-%d %H:%M").replace(tzinfo=SEOUL).timestamp()


def said(line: object, lang: str = "en") -> str:
    return t(line.key, lang, **line.values)  # type: ignore[attr-defined]


def context(plan: Plan | None = None, **kwargs: object) -> CheckContext:
    values: dict[str, object] = {"plan": plan or Plan(), "period": "quarterly", "start": at("2026-10-01 00:00"),
                                 "end": at("2027-01-01 00:00"), "now": at("2026-12-15 10:00")}
    values.update(kwargs)
    return CheckContext(**values)  # type: ignore[arg-type]


# --- SSH -------------------------------------------------------------------------------------------

def test_sshd_config_first_value_wins_includes_are_read_and_match_blocks_do_not_count(tmp_path):
    (tmp_path / "sshd_config.d").mkdir()
    (tmp_path / "sshd_config.d" / "10-root.conf").write_text("PermitRootLogin yes\n")
    config = tmp_path / "sshd_config"
    config.write_text("# Include first, as Debian does\nInclude sshd_config.d/*.conf\nPermitRootLogin no\n"
                      "Match User backup\n  PasswordAuthentication no\n")
    found = {f.check_id: f for f in audit_ssh.check(config, use_sshd=False)}
    assert found["OPS-SSH-001"].status == FAIL and "PermitRootLogin yes" in found["OPS-SSH-001"].evidence[0]
    # the Match block's "no" is for one user only: the global default (yes) stands
    assert found["OPS-SSH-002"].status == WARN and said(found["OPS-SSH-002"].line).startswith("OPS-SSH-002 warning")


def test_a_hardened_sshd_config_passes_and_a_missing_one_is_not_run(tmp_path):
    config = tmp_path / "sshd_config"
    config.write_text("PermitRootLogin=no\nPasswordAuthentication no\n")
    assert [f.status for f in audit_ssh.check(config, use_sshd=False)] == [PASS, PASS]
    missing = audit_ssh.check(tmp_path / "absent", use_sshd=False)
    assert [f.status for f in missing] == [NOT_RUN, NOT_RUN]
    assert "no SSH server" in said(missing[0].line)


# --- accounts, modes --------------------------------------------------------------------------------

def test_an_extra_uid_0_account_in_passwd_fails_by_name(tmp_path):
    passwd = tmp_path / "passwd"
    passwd.write_text("root:x:0:0:root:/root:/bin/bash\ndaemon:x:1:1::/usr/sbin:/usr/sbin/nologin\n"
                      "toor:x:0:0:backdoor:/root:/bin/bash\n")
    [finding] = audit_host.check_uid0(passwd)
    assert finding.status == FAIL and finding.line.values["names"] == "toor"
    assert "toor" in said(finding.line, "ko")
    passwd.write_text("root:x:0:0:root:/root:/bin/bash\n")
    assert audit_host.check_uid0(passwd)[0].status == PASS


def test_a_secret_file_with_mode_0644_fails_naming_the_file(tmp_path):
    secret = tmp_path / "db-password"
    secret.write_text("s3cret\n")
    secret.chmod(0o644)
    data = tmp_path / "data"
    data.mkdir(mode=0o750)
    data.chmod(0o750)
    plan = Plan(database={"password_file": secret}, data_dir=data, backup={"directory": tmp_path / "backups"})
    [finding] = audit_host.check_modes(audit_host.guarded_paths(plan))
    assert finding.status == FAIL and f"{secret} (0644)" in finding.line.values["paths"]
    assert str(data) not in finding.line.values["paths"]  # 0750: no group/other write
    assert "s3cret" not in repr(finding)
    secret.chmod(0o600)
    assert audit_host.check_modes(audit_host.guarded_paths(plan))[0].status == PASS
    data.chmod(0o777)
    [finding] = audit_host.check_modes(audit_host.guarded_paths(plan))
    assert finding.status == FAIL and str(data) in finding.line.values["paths"]


# --- ports --------------------------------------------------------------------------------------------

def test_a_port_this_test_opens_is_reported_unless_the_plan_allows_it():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as listening:
        listening.bind(("127.0.0.1", 0))
        listening.listen()
        port = listening.getsockname()[1]
        found = audit_host.listeners()
        assert any(each.port == port and each.address == "127.0.0.1" for each in found)
        local = next(f for f in audit_host.check_ports(Plan(), found) if f.line.key == "checks.audit.net.local")
        assert local.status == WARN and f"127.0.0.1:{port}/tcp" in local.line.values["ports"]
        assert f"127.0.0.1:{port}/tcp" in said(local.line, "ko")
        allowed = Plan(checks={"allowed_ports": [{"port": port, "scope": "loopback"},
                                                 *[p.model_dump() for p in Plan().checks.allowed_ports]]})
        for finding in audit_host.check_ports(allowed, found):
            assert f":{port}/" not in finding.line.values.get("ports", "")
            assert f"127.0.0.1:{port}/tcp" in " ".join(finding.evidence)


def test_a_port_open_beyond_loopback_fails_and_the_web_port_is_always_allowed():
    plan = Plan(checks={"allowed_ports": [AllowedPort(port=3306, scope="loopback")]}, web={"port": 8080})
    found = [audit_host.Listener("tcp", "0.0.0.0", 3306, "mariadbd"), audit_host.Listener("tcp", "127.0.0.1", 8080)]
    [finding] = audit_host.check_ports(plan, found)
    assert finding.status == FAIL and finding.line.values["ports"] == "0.0.0.0:3306/tcp (mariadbd)"
    [finding] = audit_host.check_ports(plan, [audit_host.Listener("tcp", "::1", 3306)])
    assert finding.status == PASS


# --- TLS ----------------------------------------------------------------------------------------------

@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl not installed")
def test_the_web_certificate_expiry_is_read_from_its_pem(tmp_path):
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out",
                    str(cert), "-days", "10", "-subj", "/CN=opsplan-test"], check=True, capture_output=True)
    plan = Plan(web={"tls_cert_file": cert, "tls_key_file": key})
    not_after = audit_host.pem_not_after(cert)
    [soon] = audit_host.check_certificates(plan, not_after - 9.5 * 86400)
    assert soon.status == WARN and soon.line.values["days"] == 9
    [expired] = audit_host.check_certificates(plan, not_after + 3 * 86400)
    assert expired.status == FAIL and "expired 3 days ago" in said(expired.line)
    [nothing] = audit_host.check_certificates(Plan(), not_after)
    assert nothing.status == NOT_RUN


# --- firewall, unattended-upgrades ---------------------------------------------------------------------

def test_a_firewall_tool_that_is_not_installed_is_not_run_and_one_without_rules_fails():
    missing = audit_host.check_firewall([(["surely-not-a-firewall-tool"], lambda _out: True)])
    assert missing[0].status == NOT_RUN
    empty = audit_host.check_firewall([(["sh", "-c", "echo '# no rules'"], lambda out: "-A " in out)])
    assert empty[0].status == FAIL and empty[0].tools and empty[0].tools[0].exit_code == 0
    denied = audit_host.check_firewall([(["sh", "-c", "echo 'Operation not permitted' >&2; exit 1"],
                                         lambda _out: True)])
    assert denied[0].status == NOT_RUN and "permission" in said(denied[0].line)


def test_unattended_upgrades_installed_and_switched_on(tmp_path):
    conf, program = tmp_path / "apt.conf.d", tmp_path / "unattended-upgrade"
    conf.mkdir()
    assert audit_host.check_unattended(conf, program)[0].status == WARN  # not installed
    program.write_text("#!/bin/sh\n")
    (conf / "20auto-upgrades").write_text('APT::Periodic::Update-Package-Lists "1";\n'
                                          'APT::Periodic::Unattended-Upgrade "1";\n')
    assert audit_host.check_unattended(conf, program)[0].status == PASS
    (conf / "99-off").write_text('APT::Periodic::Unattended-Upgrade "0";\n')  # read last, wins
    assert audit_host.check_unattended(conf, program)[0].status == WARN
    assert audit_host.check_unattended(tmp_path / "no-apt", program)[0].status == NOT_RUN


# --- Lynis ------------------------------------------------------------------------------------------

def test_missing_lynis_is_not_run_with_its_reason_and_the_audit_never_passes(tmp_path, monkeypatch):
    findings, index = audit_lynis.check(tmp_path, None, program="surely-not-lynis-opsplan")
    assert index is None and findings[0].status == NOT_RUN
    assert "Lynis is not installed" in said(findings[0].line)
    # the whole item on this machine with no tool on PATH: whatever else it finds, never a pass
    empty = tmp_path / "bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    last_quarter = ItemResult("security.audit", FAIL, Line("checks.audit.uid0.ok", {}), figures=[
        Figure(Line("checks.audit.figure.score"), 0.8, "ratio"),
        Figure(Line("checks.audit.figure.hardening_index"), 66.0, "none")])
    result = registry.evaluate("security.audit", context(data_dir=tmp_path / "state", previous=lambda _i: last_quarter))
    assert result.status != PASS
    figures = {f.name.key: f for f in result.figures}
    assert figures["checks.audit.figure.score"].previous == 0.8
    assert figures["checks.audit.figure.hardening_index"].value is None  # not run: no index, not a zero
    assert figures["checks.audit.figure.hardening_index"].previous == 66.0
    lines = [said(f) for f in result.findings]
    assert any(line.startswith("OPS-LYNIS-001 not run: Lynis is not installed") for line in lines)
    report = next(Path(f.values["path"]) for f in result.findings if f.key == "checks.audit.report_file")
    assert report.stat().st_mode & 0o777 == 0o600 and "OPS-LYNIS-001" in report.read_text()


def test_a_lynis_report_gives_the_hardening_index_trended_against_last_quarter(tmp_path):
    fake = tmp_path / "lynis"
    # a stand-in with lynis's command line: writes the report file it is given, as lynis does
    fake.write_text("#!/bin/sh\nwhile [ $# -gt 0 ]; do [ \"$1\" = --report-file ] && out=$2; shift; done\n"
                    "printf 'hardening_index=61\\nwarning[]=SSH-7408|x|\\nsuggestion[]=A|b|\\n' > \"$out\"\n")
    fake.chmod(0o755)
    findings, index = audit_lynis.check(tmp_path / "work", 68.0, program=str(fake))
    assert index == 61 and findings[0].status == WARN  # dropped since last quarter
    assert "hardening index 61 (last quarter 68), 1 warnings" in said(findings[0].line)


def test_the_score_counts_only_checks_that_ran_and_a_check_is_as_bad_as_its_worst_finding():
    found = [audit.AuditFinding("OPS-TLS-001", PASS, _line()), audit.AuditFinding("OPS-TLS-001", FAIL, _line()),
             audit.AuditFinding("OPS-ACCT-001", PASS, _line()), audit.skipped("OPS-LYNIS-001", _line())]
    assert audit.by_check(found) == {"OPS-TLS-001": FAIL, "OPS-ACCT-001": PASS, "OPS-LYNIS-001": NOT_RUN}
    assert audit.score(found) == 0.5 and audit.score([audit.skipped("OPS-LYNIS-001", _line())]) is None


def _line() -> Line:
    return Line("checks.audit.uid0.ok", {})  # any line: the statuses are what count


# --- MariaDB grants against the documentation --------------------------------------------------------

def test_the_documented_least_privileges_are_the_readmes():
    for doc in (ROOT / "README.md", ROOT / "docs" / "install.md"):
        text = (doc).read_text(encoding="utf-8")
        match = re.search(r"GRANT ([A-Z ,]+?)\s+ON \*\.\* TO 'opsplan'", text)
        assert match, f"{doc.name} has no GRANT line for opsplan"
        assert {p.strip() for p in match.group(1).split(",")} == audit_db.DOCUMENTED_PRIVILEGES, doc.name


def test_grants_beyond_the_documented_ones_are_named_without_the_password_hash():
    grants = ["GRANT RELOAD, PROCESS, LOCK TABLES, BINLOG MONITOR, REPLICATION SLAVE, SELECT, SLAVE MONITOR ON *.* "
              "TO `opsplan`@`localhost` IDENTIFIED BY PASSWORD '*1D2941217B4E85F68CE9928B077B136E6BEFA05A'"]
    assert audit_db.check_grants(grants, "opsplan").status == PASS
    more = [*grants, "GRANT INSERT, DELETE ON `app`.* TO `opsplan`@`localhost`",
            "GRANT SUPER ON *.* TO `opsplan`@`localhost` WITH GRANT OPTION"]
    finding = audit_db.check_grants(more, "opsplan")
    assert finding.status == FAIL
    assert finding.line.values["privileges"] == "DELETE ON app.*, GRANT OPTION, INSERT ON app.*, SUPER"
    assert "1D2941217B" not in repr(finding)
    assert audit_db.check_grants(["GRANT ALL PRIVILEGES ON *.* TO `opsplan`@`%`"], "opsplan").status == FAIL


# --- updates.major -----------------------------------------------------------------------------------

def test_bookworm_is_judged_against_the_dated_table_and_says_as_of(tmp_path):
    os_release = tmp_path / "os-release"
    os_release.write_text('PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nID=debian\nVERSION_ID="12"\n')
    status, line, _days = releases.judge("Debian 12", releases.OS_RELEASES[("debian", "12")],
                                         releases.today(at("2026-01-10 10:00")))
    assert status == WARN and line.key == "checks.updates.ending"  # within 180 days of 2026-06-10
    status, line, _days = releases.judge("Debian 12", releases.OS_RELEASES[("debian", "12")],
                                         releases.today(at("2026-12-15 10:00")))
    assert status == WARN and "LTS until 2028-06-30" in said(line) and f"as of {releases.AS_OF}" in said(line)
    status, _line, _days = releases.judge("Debian 12", releases.OS_RELEASES[("debian", "12")],
                                          releases.today(at("2028-07-01 10:00")))
    assert status == FAIL
    plan = Plan(database={"host": "127.0.0.1", "port": _closed_port(), "connect_timeout": 1})
    result = quarterly.updates_major(context(plan), os_release=os_release)
    texts = [said(f) for f in result.findings]
    assert result.status == WARN
    assert any(text.startswith("Debian GNU/Linux 12 (bookworm): regular support ended on 2026-06-10") for text in texts)
    assert any(text.startswith("MariaDB version not checked") for text in texts)  # down: that part is not-run
    assert any(text.startswith("Python ") for text in texts) and any(text.startswith("Kernel ") for text in texts)
    os_release.write_text("ID=plan9\nVERSION_ID=4\n")
    unknown = quarterly.updates_major(context(plan), os_release=os_release)
    assert any("not in the support table" in said(f) for f in unknown.findings)


def test_driver_branches_mariadb_and_python_are_dated_as_of_the_last_review():
    today = releases.today(at("2026-11-30 10:00"))
    assert releases.AS_OF == "2026-11-30"
    assert releases.driver_branch("580.95.05") == "580" and releases.driver_branch("535.274.02") == "535"
    # R535's long-term branch ended in June 2026: no more security fixes; R580 runs to June 2028.
    status, line, _days = releases.judge("NVIDIA 535.274.02 (R535)", releases.DRIVER_BRANCHES["535"], today)
    assert status == FAIL and "ended on 2026-06-30" in said(line) and "as of 2026-11-30" in said(line)
    assert releases.judge("NVIDIA 580.95.05 (R580)", releases.DRIVER_BRANCHES["580"], today)[0] == PASS
    assert releases.judge("NVIDIA 595.45.04 (R595)", releases.DRIVER_BRANCHES["595"], today)[0] == WARN  # March 2027
    assert releases.judge("MariaDB 10.6.22", releases.MARIADB_SERIES["10.6"], today)[0] == FAIL  # ended 2026-07-06
    assert releases.judge("MariaDB 12.3.3", releases.MARIADB_SERIES["12.3"], today)[0] == PASS
    assert releases.judge("Python 3.10.19", releases.PYTHON_SERIES["3.10"], today)[0] == FAIL  # ended 2026-10
    assert releases.judge("Python 3.15.0", releases.PYTHON_SERIES["3.15"], today)[0] == PASS


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# --- backup.recovery_test ----------------------------------------------------------------------------

@pytest.fixture
def state_db(tmp_path):
    return StateDB.open(f"sqlite:///{tmp_path / 'state.db'}")


def _drill(db: StateDB, started: str, **fields: object) -> int:
    drill = drills.start(db, drills.DATABASE, started_at=at(started), rto_target=4 * 3600.0, rpo_target=24 * 3600.0)
    drills.update(db, drill, **{"finished_at": at(started) + 600, **fields})
    return drill


def test_no_drill_this_quarter_fails_and_says_when_the_next_one_is(state_db):
    _drill(state_db, "2026-07-01 10:00", status=drills.OK, rto_seconds=600.0, rpo_seconds=3600.0)  # last quarter
    result = registry.evaluate("backup.recovery_test", context(state_db=state_db))
    assert result.status == FAIL and said(result.summary) == "no drill ran this quarter"
    assert said(result.findings[0], "ko") == "다음 백업 복구 테스트 예정 시각: 2027-01-01 10:00:00 KST"


def test_a_drill_this_quarter_within_the_targets_passes_and_one_past_them_warns(state_db):
    _drill(state_db, "2026-10-01 10:00", status=drills.OK, rto_seconds=900.0, rpo_seconds=7200.0)
    result = registry.evaluate("backup.recovery_test", context(state_db=state_db))
    assert result.status == PASS and said(result.summary) == \
        "drill 1 passed (2026-10-01 10:10:00 KST) within its RTO and RPO targets"
    assert {f.name.key: f.value for f in result.figures} == {"checks.drill.figure.rto": 900.0,
                                                            "checks.drill.figure.rpo": 7200.0}
    _drill(state_db, "2026-11-02 10:00", status=drills.OK, rto_seconds=5 * 3600.0, rpo_seconds=7200.0)
    slow = registry.evaluate("backup.recovery_test", context(state_db=state_db))
    assert slow.status == WARN and said(slow.summary).endswith("missed its target (2026-11-02 10:10:00 KST): RTO")
    _drill(state_db, "2026-12-01 10:00", status=drills.FAILED, failed_step="restore", reason="mariabackup exited 1")
    failed = registry.evaluate("backup.recovery_test", context(state_db=state_db))
    assert failed.status == FAIL and "mariabackup exited 1" in said(failed.summary)
    previous = ItemResult.from_dict(failed.to_dict())
    again = registry.evaluate("backup.recovery_test", context(state_db=state_db, previous=lambda _i: previous))
    assert again.status == FAIL


def test_without_a_state_db_the_drill_item_is_not_run():
    result = registry.evaluate("backup.recovery_test", context())
    assert result.status == NOT_RUN and result.reason is not None
