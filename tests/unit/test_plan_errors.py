"""Every way a plan can be wrong gives exit 2 and one line: file, line, dotted key, reason."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

import pytest
from typer.testing import CliRunner

from opsplan.cli.main import app
from opsplan.errors import PlanError
from opsplan.plan.loader import all_errors, find_plan_path
from opsplan.stages.all import load_plan

TWO_GROUPS = """\
allocation:
  - id: ai
    name: {{ko: AI 시스템, en: AI system}}
    gpus: [0, 1, 2]
    memory: 128GB
    storage: 2TB
  - id: {second_id}
    name: {{ko: 애플리케이션/DB, en: Application/DB}}
    gpus: {second_gpus}
    memory: 128GB
    storage: 2TB
"""

# (plan text, the one line `plan check opsplan.yaml` must print)
CASES = {
    "unknown key": (
        "monitoring:\n  intervl: 5m\n",
        "opsplan.yaml:2: monitoring.intervl: unknown key (did you mean 'interval'?)"),
    "unknown top-level key": (
        "version: 1\nmonitor:\n  interval: 5m\n",
        "opsplan.yaml:2: monitor: unknown key (did you mean 'monitoring'?)"),
    "wrong type": (
        "server:\n  gpu:\n    count: abc\n",
        "opsplan.yaml:3: server.gpu.count: expected an integer, got 'abc'"),
    "mapping expected": (
        "monitoring:\n  alerts:\n    memory: [90, 80]\n",
        "opsplan.yaml:3: monitoring.alerts.memory: expected a mapping, got a list"),
    "percentage above 100": (
        "monitoring:\n  alerts:\n    cpu:\n      critical: 120\n      warning: 80\n",
        "opsplan.yaml:4: monitoring.alerts.cpu.critical: must be between 0 and 100, got 120"),
    "warning above critical": (
        "monitoring:\n  alerts:\n    cpu:\n      critical: 90\n      warning: 95\n",
        "opsplan.yaml:5: monitoring.alerts.cpu.warning: warning threshold 95 must be below critical 90"),
    "latency warning above critical": (
        "monitoring:\n  alerts:\n    api_response_time: {critical: 2s, warning: 3s}\n",
        "opsplan.yaml:3: monitoring.alerts.api_response_time.warning: "
        "warning threshold 3s must be below critical 2s"),
    "GPU in two groups": (
        TWO_GROUPS.format(second_id="app", second_gpus="[2, 3]"),
        "opsplan.yaml:9: allocation[1].gpus[0]: GPU 2 is already in group 'ai'"),
    "GPU beyond server.gpu.count": (
        TWO_GROUPS.format(second_id="app", second_gpus="[3, 4]"),
        "opsplan.yaml:9: allocation[1].gpus[1]: GPU 4 is beyond server.gpu.count 4 (indices 0-3)"),
    "negative GPU index": (
        TWO_GROUPS.format(second_id="app", second_gpus="[-1]"),
        "opsplan.yaml:9: allocation[1].gpus[0]: must be at least 0, got -1"),
    "duplicate group id": (
        TWO_GROUPS.format(second_id="ai", second_gpus="[3]") + "services: []\n",
        "opsplan.yaml:7: allocation[1].id: duplicate group id 'ai' (also allocation[0])"),
    "missing required key": (
        "allocation:\n  - id: ai\n    gpus: [0]\n    memory: 128GB\n    storage: 2TB\n",
        "opsplan.yaml:2: allocation[0].name: required key is missing"),
    "invalid cron": (
        "checks:\n  daily:\n    schedule: \"0 25 * * *\"\n    items: []\n",
        "opsplan.yaml:3: checks.daily.schedule: invalid cron expression '0 25 * * *' "
        "(five fields: minute hour day month weekday)"),
    "invalid duration": (
        "backup:\n  database:\n    retention: 30 days\n",
        "opsplan.yaml:3: backup.database.retention: invalid duration '30 days' (use e.g. 30s, 5m, 2h, 14d)"),
    "invalid size": (
        "server:\n  memory: lots\n",
        "opsplan.yaml:2: server.memory: invalid size 'lots' (use e.g. 128GB, 2TB, 512GiB)"),
    "bad choice": (
        "language: fr\n",
        "opsplan.yaml:1: language: expected 'ko' or 'en', got 'fr'"),
    "unknown severity": (
        "incidents:\n  severities:\n    blocker: {response: 1h, examples: []}\n",
        "opsplan.yaml:3: incidents.severities.blocker: expected 'critical', 'major' or 'minor', got 'blocker'"),
    "YAML syntax error": (
        "monitoring:\n  interval: 5m\n   store: {}\n",
        "opsplan.yaml:3: invalid YAML: mapping values are not allowed here"),
    "YAML tab": (
        "version: 1\n\tserver: {}\n",
        "opsplan.yaml:2: invalid YAML: found character '\\t' that cannot start any token"),
    "empty file": (
        "",
        "opsplan.yaml:1: the plan is empty (`opsplan init` writes the seed's plan)"),
    "only comments": (
        "# nothing yet\n",
        "opsplan.yaml:1: the plan is empty (`opsplan init` writes the seed's plan)"),
    "top-level list": (
        "- monitoring\n- backup\n",
        "opsplan.yaml:1: the plan must be a mapping of sections, got a list"),
    "unknown timezone": (
        "language: ko\ntimezone: Asia/Seol\n",
        # a Korean plan hears its problems in Korean
        "opsplan.yaml:2: timezone: 알 수 없는 시간대입니다: 'Asia/Seol'. "
        "'Asia/Seoul' 시간대를 쓰려던 것인지 확인하십시오"),
    "service names an unknown group": (
        "services:\n  - name: llm-api\n    group: ap\n    url: http://127.0.0.1:8000/health\n",
        "opsplan.yaml:3: services[0].group: unknown allocation group 'ap' (did you mean 'app'?)"),
    "duplicate service names": (
        "services:\n  - {name: api, url: 'http://127.0.0.1:1/'}\n  - {name: api, url: 'http://127.0.0.1:2/'}\n",
        "opsplan.yaml:3: services[1].name: duplicate service name 'api' (also services[0])"),
    "password in the plan": (
        "database:\n  user: opsplan\n  password: hunter2\n",
        "opsplan.yaml:3: database.password: a password must not be written in the plan; "
        "use password_env or password_file (mode 0600)"),
    "duplicate YAML key": (
        "database:\n  password_env: A_VAR\n  password_env: hunter2\n",
        "opsplan.yaml:3: invalid YAML: duplicate key 'password_env'"),
    "CA file that does not exist": (
        "services:\n  - name: api\n    url: https://127.0.0.1:8443/health\n"
        "    ca_file: /nonexistent-opsplan/internal-ca.pem\n",
        "opsplan.yaml:4: services[0].ca_file: CA file /nonexistent-opsplan/internal-ca.pem does not exist"),
    "CA file beside tls_verify false": (
        "services:\n  - name: api\n    url: https://127.0.0.1:8443/health\n    tls_verify: false\n"
        "    ca_file: /nonexistent-opsplan/internal-ca.pem\n",
        "opsplan.yaml:5: services[0].ca_file: has no effect with tls_verify: false; remove one of the two"),
    "member naming two things": (
        TWO_GROUPS.format(second_id="app", second_gpus="[3]")
        + "    members:\n      - {unit: mariadb.service, container: db}\n",
        "opsplan.yaml:13: allocation[1].members[0]: a member names exactly one of unit, cgroup or container"),
    "container in two groups": (
        TWO_GROUPS.format(second_id="app", second_gpus="[3]").replace(
            "    storage: 2TB\n  - id: app", "    storage: 2TB\n    members: [{container: vllm}]\n  - id: app")
        + "    members: [{container: vllm}]\n",
        "opsplan.yaml:13: allocation[1].members[0]: vllm is already a member of group 'ai'"),
    "channel without a URL source": (
        "notifications:\n  channels:\n    - name: ops-chat\n",
        "opsplan.yaml:3: notifications.channels[0]: a channel needs url_env or url_file"),
}


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.mark.parametrize("case", CASES, ids=list(CASES))
def test_bad_plan_is_exit_2_and_one_line(case, tmp_path, monkeypatch, runner):
    text, expected = CASES[case]
    monkeypatch.chdir(tmp_path)
    Path("opsplan.yaml").write_text(text, encoding="utf-8")
    result = runner.invoke(app, ["plan", "check", "opsplan.yaml"])
    assert result.exit_code == 2, result.output
    assert result.output.splitlines() == [expected]
    assert "Traceback" not in result.output
    assert "hunter2" not in result.output


def test_a_ca_file_must_hold_a_certificate(tmp_path, runner):
    not_pem = tmp_path / "ca.pem"
    not_pem.write_text("hello\n", encoding="utf-8")
    plan = tmp_path / "opsplan.yaml"
    plan.write_text(f"services:\n  - name: api\n    url: https://127.0.0.1:8443/\n    ca_file: {not_pem}\n",
                    encoding="utf-8")
    result = runner.invoke(app, ["plan", "check", str(plan)])
    assert result.exit_code == 2, result.output
    assert result.output.splitlines() == [
        f"{plan}:4: services[0].ca_file: CA file {not_pem} holds no PEM certificate (-----BEGIN CERTIFICATE-----)"]
    not_pem.write_text("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n", encoding="utf-8")
    assert runner.invoke(app, ["plan", "check", str(plan)]).exit_code == 0


def test_the_global_plan_option_is_used_and_a_positional_path_wins(tmp_path, runner):
    bad = tmp_path / "bad.yaml"
    bad.write_text("timezone: Mars/Olympus\n", encoding="utf-8")
    good = tmp_path / "good.yaml"
    good.write_text("version: 1\n", encoding="utf-8")
    result = runner.invoke(app, ["--plan", str(bad), "plan", "check"])
    assert result.exit_code == 2
    assert result.output.startswith(f"{bad}:1: timezone: unknown timezone 'Mars/Olympus'")
    result = runner.invoke(app, ["--plan", str(bad), "plan", "check", str(good)])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[0] == f"{good}: ok"


def test_several_problems_are_each_one_line_in_file_order(tmp_path, runner):
    plan = tmp_path / "opsplan.yaml"
    plan.write_text("language: fr\nweb:\n  port: 99999\nmonitoring:\n  intervl: 5m\n", encoding="utf-8")
    result = runner.invoke(app, ["plan", "check", str(plan)])
    assert result.exit_code == 2
    assert result.output.splitlines() == [
        f"{plan}:1: language: expected 'ko' or 'en', got 'fr'",
        f"{plan}:3: web.port: must be at most 65535, got 99999",
        f"{plan}:5: monitoring.intervl: unknown key (did you mean 'interval'?)",
    ]
    with pytest.raises(PlanError) as caught:
        load_plan(plan)
    # The exception reads as its first problem; every problem is still there for callers.
    assert str(caught.value) == result.output.splitlines()[0]
    assert [str(e) for e in all_errors(caught.value)] == result.output.splitlines()


def test_missing_file(tmp_path, runner):
    missing = tmp_path / "nope.yaml"
    result = runner.invoke(app, ["plan", "check", str(missing)])
    assert result.exit_code == 2
    assert result.output.splitlines() == [f"{missing}: no such file"]


def test_no_plan_anywhere(tmp_path):
    here, etc = tmp_path / "opsplan.yaml", tmp_path / "etc" / "opsplan.yaml"
    with pytest.raises(PlanError) as caught:
        find_plan_path(None, candidates=(here, etc))
    assert str(caught.value) == f"opsplan.yaml: not found (looked for {here}, {etc}; `opsplan init` writes one)"
    etc.parent.mkdir()
    etc.write_text("version: 1\n", encoding="utf-8")
    assert find_plan_path(None, candidates=(here, etc)) == etc
    here.write_text("version: 1\n", encoding="utf-8")
    assert find_plan_path(None, candidates=(here, etc)) == here


def test_a_directory_is_not_a_plan(tmp_path, runner):
    (tmp_path / "opsplan.yaml").mkdir()
    result = runner.invoke(app, ["plan", "check", str(tmp_path / "opsplan.yaml")])
    assert result.exit_code == 2
    assert result.output.splitlines() == [f"{tmp_path / 'opsplan.yaml'}: cannot read the plan: it is a directory"]


def test_invalid_utf8_names_its_line(tmp_path, runner):
    plan = tmp_path / "opsplan.yaml"
    plan.write_bytes(b"version: 1\nserver:\n  name: caf\xe9\n")
    result = runner.invoke(app, ["plan", "check", str(plan)])
    assert result.exit_code == 2
    assert result.output.splitlines() == [f"{plan}:3: not UTF-8 text (byte 0xe9)"]


def test_unreadable_file(runner):
    """A chmod 000 plan, read by a user the kernel refuses.

    Tests run as root, whom file modes do not stop; so when root, the check runs in a forked
    child that has dropped to uid/gid 65534 (nobody) first. Python's imports are warmed in the
    parent, since the child may not read the interpreter's own directories.
    """
    workdir = Path(tempfile.mkdtemp())
    try:
        workdir.chmod(0o755)
        plan = workdir / "opsplan.yaml"
        plan.write_text("version: 1\n", encoding="utf-8")
        warm = runner.invoke(app, ["plan", "check", str(plan)])
        assert warm.exit_code == 0, warm.output
        plan.chmod(0o000)
        code, output = _invoke_as_nobody(runner, ["plan", "check", str(plan)])
        assert code == 2, output
        assert output.splitlines() == [f"{plan}: cannot read the plan: permission denied"], output
    finally:
        shutil.rmtree(workdir)


def _invoke_as_nobody(runner: CliRunner, args: list[str]) -> tuple[int, str]:
    if os.geteuid() != 0:
        result = runner.invoke(app, args)
        return result.exit_code, result.output
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: drop root, run the command, report through the pipe, never return
        status = 1
        try:
            os.close(read_end)
            os.setgroups([])
            os.setgid(65534)
            os.setuid(65534)
            result = runner.invoke(app, args)
            os.write(write_end, json.dumps([result.exit_code, result.output]).encode())
            status = 0
        finally:
            os._exit(status)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as pipe:
        data = pipe.read()
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0 and data, "the unprivileged child failed"
    code, output = json.loads(data)
    return code, output
