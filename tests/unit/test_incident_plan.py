"""`plan.incidents` as an operator writes it: the defaults (the seed's examples as an alert
mapping, business hours), and `opsplan plan check` naming the line of each mistake."""

from __future__ import annotations

from typer.testing import CliRunner

from opsplan.cli.main import app
from opsplan.incidents.mapping import incident_severity
from opsplan.plan.models import Plan


def test_the_default_mapping_follows_the_seeds_examples():
    mappings = Plan().incidents.from_alerts
    assert incident_severity(mappings, "ApiDown", "critical", {"service": "llm-api"}) == "critical"
    assert incident_severity(mappings, "MariaDBDown", "critical", {}) == "critical"
    assert incident_severity(mappings, "ApiErrorRateHigh", "critical", {}) == "major"
    assert incident_severity(mappings, "ApiErrorRateHigh", "warning", {}) is None  # a warning only warns
    assert incident_severity(mappings, "ApiResponseTimeHigh", "warning", {}) == "minor"
    assert incident_severity(mappings, "CpuUsageHigh", "critical", {}) is None
    hours = Plan().incidents.business_hours
    assert (hours.days, hours.start, hours.end, hours.public_holidays) == (
        ["mon", "tue", "wed", "thu", "fri"], "09:00", "18:00", "KR")


PLAN = """\
data_dir: {data}
incidents:
  severities:
    critical:
      response: 0s
      around_the_clock: true
      examples: [{{ko: 서비스 완전 중단, en: Complete service outage}}]
    minor:
      response: 4h
      acknowledge: 5h
      examples: [{{ko: 일부 기능 장애, en: Some feature failure}}]
  business_hours:
    days: []
    start: "18:00"
    end: "09:00"
  from_alerts:
    - {{alerts: [ApiDown], incident: major}}
    - {{alerts: [DiskAlmostFull], incident: critical}}
    - {{alerts: [NodeDown], incident: critical, external: true}}
    - {{alerts: [ApiDown], incident: urgent}}
"""


def test_plan_check_names_each_mistake_on_its_line(tmp_path):
    path = tmp_path / "opsplan.yaml"
    path.write_text(PLAN.format(data=tmp_path / "data"), encoding="utf-8")
    result = CliRunner().invoke(app, ["plan", "check", str(path)])
    assert result.exit_code == 2
    lines = result.output.splitlines()
    # pydantic first: a severity name that is not one of the seed's three.
    assert lines == [f"{path}:20: incidents.from_alerts[3].incident: expected 'critical', 'major' or 'minor', "
                     "got 'urgent'"]
    path.write_text(PLAN.format(data=tmp_path / "data").replace("    - {alerts: [ApiDown], incident: urgent}\n", ""),
                    encoding="utf-8")
    lines = CliRunner().invoke(app, ["plan", "check", str(path)]).output.splitlines()
    assert f"{path}:13: incidents.business_hours.days: no working days are given" in lines
    assert (f"{path}:15: incidents.business_hours.end: the end of business hours 09:00 must be after the start "
            "18:00") in lines
    assert (f"{path}:17: incidents.from_alerts[0].incident: severity 'major' is not in incidents.severities "
            "(there: critical, minor)") in lines
    assert any(line.startswith(f"{path}:18: incidents.from_alerts[1].alerts: unknown alert name (DiskAlmostFull)")
               for line in lines)
    assert not any("from_alerts[2]" in line for line in lines)  # external: any name
    assert f"{path}:10: incidents.severities.minor.acknowledge: acknowledge 5h is longer than the response time 4h" \
        in lines


def test_a_time_of_day_is_24_hour_hh_mm(tmp_path):
    path = tmp_path / "opsplan.yaml"
    path.write_text(f'data_dir: {tmp_path / "data"}\nincidents:\n  business_hours:\n    start: "9:00"\n'
                    '    end: "24:00"\n', encoding="utf-8")
    result = CliRunner().invoke(app, ["plan", "check", str(path)])
    assert result.output.splitlines() == [
        f"{path}:4: incidents.business_hours.start: expected a time of day HH:MM from 00:00 to 24:00, got '9:00'"]
