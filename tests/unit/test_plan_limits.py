"""Hostile and unlucky plans (issue 9 item 4): each ends in exit 2 and one `file:line` line per
problem, never a traceback, a hang or memory without bound (docs/plan.md "Limits")."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from opsplan.cli.main import app
from opsplan.plan.source import MAX_PLAN_BYTES

OUT_OF_RANGE = "number out of range (at most 9,223,372,036,854,775,807 either side of 0)"
BIG = "9" * 400

BOMB = """\
backup:
  models:
    models:
      - name: llm
        path: /srv/models/llm
        perf:
          requests:
            - path: /v1/completions
              method: POST
              body:
                a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]
                b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]
                c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]
                d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]
                e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]
                f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e]
                g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f]
                h: &h [*g, *g, *g, *g, *g, *g, *g, *g, *g]
                i: &i [*h, *h, *h, *h, *h, *h, *h, *h, *h]
"""

# (plan text, the one line `plan check opsplan.yaml` must print)
CASES = {
    "nesting 300 deep": (
        "server:\n  name: " + "[" * 300 + "]" * 300 + "\n",
        "opsplan.yaml:2: nested more than 64 levels deep"),
    "400-digit integer": (
        f"server:\n  gpu:\n    count: {BIG}\n",
        f"opsplan.yaml:3: server.gpu.count: {OUT_OF_RANGE}"),
    "5,000-digit integer in a string field": (
        "server:\n  name: " + "9" * 5000 + "\n",
        f"opsplan.yaml:2: server.name: {OUT_OF_RANGE}"),
    "400-digit integer as a size": (
        f"server:\n  memory: {BIG}\n",
        f"opsplan.yaml:2: server.memory: {OUT_OF_RANGE}"),
    "400-digit integer as a duration": (
        f"monitoring:\n  interval: {BIG}\n",
        f"opsplan.yaml:2: monitoring.interval: {OUT_OF_RANGE}"),
    "a number just past 64 bits": (
        "monitoring:\n  rules:\n    - alert: Big\n      metric: opsplan_up\n"
        "      threshold: 9223372036854775808\n      summary: {ko: 큼, en: big}\n",
        f"opsplan.yaml:5: monitoring.rules[0].threshold: {OUT_OF_RANGE}"),
    "300-digit size": (
        "server:\n  memory: " + "9" * 300 + "GB\n",
        "opsplan.yaml:2: server.memory: size '" + "9" * 57 + "...' is too large (at most 1000PB)"),
    "interval of a billion weeks": (
        "monitoring:\n  interval: 1000000000w\n",
        "opsplan.yaml:2: monitoring.interval: duration '1000000000w' is too long (at most 1d)"),
    "interval of two days": (
        "monitoring:\n  interval: 2d\n",
        "opsplan.yaml:2: monitoring.interval: duration '2d' is too long (at most 1d)"),
    "retention past ten years": (
        "backup:\n  database:\n    retention: 4000d\n",
        "opsplan.yaml:3: backup.database.retention: duration '4000d' is too long (at most 3650d)"),
    "duration in seconds past ten years": (
        "recovery:\n  rto: 1e300\n",
        "opsplan.yaml:2: recovery.rto: duration 1e+300 is too long (at most 3650d)"),
    "infinite threshold": (
        "monitoring:\n  alerts:\n    cpu: {critical: .inf}\n",
        "opsplan.yaml:3: monitoring.alerts.cpu.critical: expected a finite number, got inf"),
    "infinity written as text": (
        "server:\n  network_gbps: 'inf'\n",
        "opsplan.yaml:2: server.network_gbps: should be a finite number, got 'inf'"),
    "unbounded count": (
        "backup:\n  models:\n    keep_versions: 1000000\n",
        "opsplan.yaml:3: backup.models.keep_versions: must be at most 1000, got 1000000"),
    "not an HTTP status": (
        "services:\n  - name: api\n    url: http://127.0.0.1:1/\n    expect_status: [200, 9999]\n",
        "opsplan.yaml:4: services[0].expect_status[1]: must be at most 599, got 9999"),
    "NUL character": (
        "version: 1\nserver:\n  name: a\x00b\n",
        "opsplan.yaml:3: invalid YAML: character U+0000 is not allowed "
        "(control characters other than tab and newline cannot appear in YAML)"),
    "bell character": (
        "version: 1\n\x07\n",
        "opsplan.yaml:2: invalid YAML: character U+0007 is not allowed "
        "(control characters other than tab and newline cannot appear in YAML)"),
    "null key": (
        "server:\n  ~: 1\n",
        "opsplan.yaml:2: server.~: keys must be strings; quote it ('~') if the text is meant"),
    "true key": (
        "server:\n  name: a\n  true: 1\n",
        "opsplan.yaml:3: server.true: keys must be strings; quote it ('true') if the text is meant"),
    "integer key in a free-form mapping": (
        "monitoring:\n  rules:\n    - alert: A\n      metric: opsplan_up\n      threshold: 1\n"
        "      summary: {ko: a, en: b}\n      match: {1: x}\n",
        "opsplan.yaml:7: monitoring.rules[0].match.1: keys must be strings; quote it ('1') if the text is meant"),
    "a list as a key": (
        "server:\n  ? [a, b]\n  : 1\n",
        "opsplan.yaml:2: server: a key must be a plain string, not a list or a mapping"),
    "billion laughs in a free-form body": (
        BOMB,
        "opsplan.yaml:15: backup.models.models[0].perf.requests[0].body.e: "
        "more than 20,000 YAML nodes (keys and values; each use of an alias counts as a copy)"),
    "an alias inside itself": (
        "server:\n  name: &x [*x]\n",
        "opsplan.yaml:2: server.name[0]: a YAML alias refers to a mapping or list that contains it"),
    "undefined alias": (
        "server:\n  name: *nothing\n",
        "opsplan.yaml:2: invalid YAML: found undefined alias 'nothing'"),
    "a default the file does not set": (
        "server:\n  gpu:\n    count: 3\n",
        "opsplan.yaml:1: allocation[1].gpus[0]: GPU 3 is beyond server.gpu.count 3 (indices 0-2) "
        "(the seed's default: the file does not set allocation)"),
}


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.mark.parametrize("case", CASES, ids=list(CASES))
def test_hostile_plan_is_exit_2_and_one_line(case, tmp_path, monkeypatch, runner):
    text, expected = CASES[case]
    monkeypatch.chdir(tmp_path)
    Path("opsplan.yaml").write_text(text, encoding="utf-8")
    result = runner.invoke(app, ["plan", "check", "opsplan.yaml"])
    assert result.exit_code == 2, result.output
    assert result.output.splitlines() == [expected]


def test_an_alias_bomb_is_refused_by_plan_show_too(tmp_path, runner):
    """`plan show --json` once grew to 4 GB on this plan."""
    plan = tmp_path / "opsplan.yaml"
    plan.write_text(BOMB, encoding="utf-8")
    result = runner.invoke(app, ["plan", "show", "--json", str(plan)])
    assert result.exit_code == 2
    assert len(result.output) < 500
    assert "more than 20,000 YAML nodes" in result.output


def test_aliases_within_the_limit_still_work(tmp_path, runner):
    plan = tmp_path / "opsplan.yaml"
    plan.write_text("services:\n  - &svc\n    name: api\n    url: http://127.0.0.1:1/health\n"
                    "    timeout: 2s\n  - <<: *svc\n    name: api-2\n", encoding="utf-8")
    result = runner.invoke(app, ["plan", "show", "--json", str(plan)])
    assert result.exit_code == 0, result.output
    assert '"name": "api-2"' in result.output and result.output.count('"timeout": "2s"') == 2


def test_a_plan_over_the_size_limit_is_refused_unread(tmp_path, runner):
    """200,000 unknown keys took 57 s; any file over the limit is refused after reading the limit."""
    plan = tmp_path / "opsplan.yaml"
    plan.write_text("monitoring:\n" + "".join(f"  k{i}: 1\n" for i in range(200_000)), encoding="utf-8")
    result = runner.invoke(app, ["plan", "check", str(plan)])
    assert result.exit_code == 2
    assert result.output.splitlines() == [f"{plan}: the plan is larger than 128 KiB, the limit for a plan file"]
    assert MAX_PLAN_BYTES == 128 * 1024


def test_a_file_within_the_size_limit_but_over_the_node_limit_stops_parsing(tmp_path, runner):
    plan = tmp_path / "opsplan.yaml"
    plan.write_text("server:\n  name: [" + ",".join(["0"] * 60_000) + "]\n", encoding="utf-8")
    assert plan.stat().st_size < MAX_PLAN_BYTES
    result = runner.invoke(app, ["plan", "check", str(plan)])
    assert result.exit_code == 2
    assert result.output.splitlines() == [
        f"{plan}:2: more than 20,000 YAML nodes (keys and values; each use of an alias counts as a copy)"]


def test_many_problems_are_capped_with_a_count(tmp_path, runner):
    plan = tmp_path / "opsplan.yaml"
    plan.write_text("monitoring:\n" + "".join(f"  k{i}: 1\n" for i in range(3000)), encoding="utf-8")
    result = runner.invoke(app, ["plan", "check", str(plan)])
    assert result.exit_code == 2
    lines = result.output.splitlines()
    assert len(lines) == 51
    assert lines[0] == f"{plan}:2: monitoring.k0: unknown key (expected one of: interval, store, alerts, " \
                       "rules, alertmanager_url, prometheus_url, gpu_required, docker)"
    assert lines[-1] == f"{plan}:52: 2950 more problems not shown (fix the first 50 and check again)"


def _check_in_a_process(path: Path, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    """The real CLI in its own process: a FIFO once blocked it forever, /dev/zero ate memory."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    return subprocess.run([sys.executable, "-m", "opsplan", "plan", "check", str(path)], cwd=tmp_path,
                          env=env, capture_output=True, text=True, timeout=120)


def test_a_fifo_is_refused_without_waiting_for_a_writer(tmp_path):
    fifo = tmp_path / "opsplan.yaml"
    os.mkfifo(fifo)
    done = _check_in_a_process(fifo, tmp_path)
    assert done.returncode == 2, done.stderr
    assert done.stderr.splitlines() == [f"{fifo}: cannot read the plan: it is a named pipe, not a regular file"]


def test_a_device_is_refused_without_reading_it(tmp_path):
    done = _check_in_a_process(Path("/dev/zero"), tmp_path)
    assert done.returncode == 2, done.stderr
    assert done.stderr.splitlines() == ["/dev/zero: cannot read the plan: it is a character device, "
                                        "not a regular file"]


def test_serve_refuses_a_hostile_plan_with_exit_2(tmp_path, runner):
    plan = tmp_path / "opsplan.yaml"
    plan.write_text("monitoring:\n  interval: 1000000000w\n", encoding="utf-8")
    result = runner.invoke(app, ["--plan", str(plan), "serve"])
    assert result.exit_code == 2
    assert result.output.splitlines() == [
        f"opsplan: {plan}:2: monitoring.interval: duration '1000000000w' is too long (at most 1d)"]
