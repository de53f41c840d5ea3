"""`opsplan plan check` is strict about what `serve` tolerates: a channel URL it cannot read now."""

from __future__ import annotations

from typer.testing import CliRunner

from opsplan.cli.main import app

PLAN = "notifications:\n  channels:\n    - name: ops-slack\n      url_env: OPS_SLACK_URL\n"


def test_an_unset_channel_variable_fails_plan_check_but_not_loading(tmp_path, monkeypatch):
    plan = tmp_path / "opsplan.yaml"
    plan.write_text(PLAN, encoding="utf-8")
    monkeypatch.delenv("OPS_SLACK_URL", raising=False)
    result = CliRunner().invoke(app, ["plan", "check", str(plan)])
    assert result.exit_code == 2
    assert f"{plan}:3: notifications.channels[0]: channel 'ops-slack': environment variable OPS_SLACK_URL" \
           in result.output
    shown = CliRunner().invoke(app, ["plan", "show", str(plan)])  # serve-like loading still works
    assert shown.exit_code == 0


def test_a_usable_channel_passes_and_a_token_never_shows(tmp_path, monkeypatch):
    plan = tmp_path / "opsplan.yaml"
    plan.write_text(PLAN, encoding="utf-8")
    monkeypatch.setenv("OPS_SLACK_URL", "json://127.0.0.1:9/hook-T0KEN-9f8e")
    assert CliRunner().invoke(app, ["plan", "check", str(plan)]).exit_code == 0
    monkeypatch.setenv("OPS_SLACK_URL", "nosuchscheme://T0KEN-9f8e")
    result = CliRunner().invoke(app, ["plan", "check", str(plan)])
    assert result.exit_code == 2 and "T0KEN-9f8e" not in result.output
