"""The embedded alert engine over cycles built from samples, with an injected clock and a real
SQLite state database: what an operator would hear (notices) and see (the alert list)."""

from __future__ import annotations

import pytest

from opsplan.alerts.engine import AlertEngine
from opsplan.alerts.queries import acknowledge, group_by_subject, list_alerts
from opsplan.alerts.silences import add_silence, expire_silence, parse_matcher
from opsplan.metrics import Cycle, sample
from opsplan.plan.models import Plan
from opsplan.rules.model import build_rules
from opsplan.stages.all import metric_registry
from opsplan.store.state import StateDB
from state_engines import sqlite_only

INTERVAL = 15.0


class Clock:
    def __init__(self, now: float = 1_800_000_000.0):
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def db(engine_state_url):
    state = StateDB.open(engine_state_url)
    yield state
    state.close()


class Harness:
    def __init__(self, db, plan=None, clock=None):
        self.plan = plan or Plan()
        self.db = db
        self.clock = clock or Clock()
        self.notices = []
        self.engine = self.new_engine()

    def new_engine(self):
        return AlertEngine(self.plan, build_rules(self.plan, metric_registry()), self.db,
                           notice_sink=self.notices.append, clock=self.clock, host="ai-server-01")

    def cycle(self, *samples):
        cycle = Cycle(self.clock.now, list(samples), 0.1)
        self.engine.on_cycle(cycle)
        self.clock.now += INTERVAL
        return cycle

    def hold(self, seconds, *samples):
        for _ in range(int(seconds // INTERVAL)):
            self.cycle(*samples)

    def kinds(self):
        return [(n.kind, n.alert, n.severity) for n in self.notices]


def cpu(percent):
    return sample("opsplan_cpu_usage_ratio", percent / 100)


@sqlite_only
def test_cpu_85_for_five_minutes_is_one_warning_and_nothing_more(db):
    h = Harness(db)
    h.hold(290, cpu(85))
    assert h.notices == []  # 4m50s: still pending
    h.hold(600, cpu(85))
    assert h.kinds() == [("firing", "CpuUsageHigh", "warning")]
    notice = h.notices[0]
    assert notice.description.en == "ai-server-01 CPU usage 85.0% (threshold 80.0%)"
    assert notice.description.ko == "ai-server-01 CPU 사용률 85% (임계값 80%)"  # Korean: no .0 on a whole number
    assert notice.value_text == "85.0%" and notice.host == "ai-server-01"
    [alert] = list_alerts(db, h.clock())
    assert (alert["alert"], alert["state"], alert["severity"]) == ("CpuUsageHigh", "firing", "warning")


@sqlite_only
def test_cpu_95_is_one_critical_with_its_warning_inhibited(db):
    h = Harness(db)
    h.hold(330, cpu(95))
    assert h.kinds() == [("firing", "CpuUsageHigh", "critical")]
    alerts = {a["severity"]: a for a in list_alerts(db, h.clock())}
    assert alerts["warning"]["state"] == "firing" and alerts["warning"]["inhibited"] is True
    assert alerts["critical"]["inhibited"] is False
    # The critical clears below 85.5 % (90 minus 5 % of it) while the warning still holds: now it is heard.
    h.hold(60, cpu(84))
    assert h.kinds()[1:] == [("resolved", "CpuUsageHigh", "critical"), ("firing", "CpuUsageHigh", "warning")]


def test_a_breach_shorter_than_for_sends_nothing_and_leaves_nothing(db):
    h = Harness(db)
    h.hold(240, cpu(95))
    h.hold(600, cpu(50))
    h.hold(240, cpu(95))
    h.hold(30, cpu(50))
    assert h.notices == []
    assert list_alerts(db, h.clock(), include_resolved=True) == []


@sqlite_only
def test_hovering_at_the_threshold_does_not_flap_then_resolves_once(db):
    h = Harness(db)
    h.hold(330, cpu(85))
    for value in [79.9, 80.1, 79.8, 80.0, 77.0, 76.5] * 5:  # above 76 %: 80 minus 5 % of 80
        h.cycle(cpu(value))
    assert h.kinds() == [("firing", "CpuUsageHigh", "warning")]
    h.cycle(cpu(75.9))
    assert h.kinds() == [("firing", "CpuUsageHigh", "warning"), ("resolved", "CpuUsageHigh", "warning")]
    h.hold(600, cpu(50))
    assert len(h.notices) == 2
    [resolved] = list_alerts(db, h.clock(), include_resolved=True)
    assert (resolved["state"], resolved["resolved_reason"]) == ("resolved", "value")


@sqlite_only
def test_error_rate_counts_only_with_traffic(db):
    h = Harness(db)
    errors = sample("opsplan_api_error_ratio", 0.05, service="llm-api")
    h.hold(600, errors, sample("opsplan_api_requests_per_second", 0, service="llm-api"))
    h.hold(600, errors)  # no traffic sample at all: no traffic
    assert h.notices == []
    h.hold(330, errors, sample("opsplan_api_requests_per_second", 3.5, service="llm-api"))
    assert h.kinds() == [("firing", "ApiErrorRateHigh", "critical")]
    assert h.notices[0].labels == {"alertname": "ApiErrorRateHigh", "severity": "critical", "service": "llm-api"}
    assert h.notices[0].description.en == "service llm-api error rate 5.0% (threshold 1.0%)"


def test_restart_between_firing_and_resolve_sends_nothing_twice(db):
    h = Harness(db)
    h.hold(330, cpu(95))
    assert len(h.notices) == 1
    h.engine = h.new_engine()  # a restart: a new engine over the same database
    h.hold(600, cpu(95))
    assert h.kinds() == [("firing", "CpuUsageHigh", "critical")]
    assert {a["state"] for a in list_alerts(db, h.clock())} == {"firing"}
    h.engine = h.new_engine()
    h.hold(30, cpu(40))
    assert [k for k, _, _ in h.kinds()] == ["firing", "resolved"]


def test_pending_survives_a_restart_and_keeps_its_start(db):
    h = Harness(db)
    h.hold(180, cpu(95))
    h.engine = h.new_engine()
    h.hold(150, cpu(95))  # 5.5 minutes in all
    assert h.kinds() == [("firing", "CpuUsageHigh", "critical")]


def test_critical_repeats_every_critical_repeat_until_acknowledged(db):
    h = Harness(db)
    h.hold(330, cpu(95))
    h.hold(3600, cpu(95))  # critical_repeat is 30m by default
    assert [k for k, _, _ in h.kinds()] == ["firing", "repeat", "repeat"]
    fingerprint = h.notices[0].fingerprint
    acknowledge(db, fingerprint, by="kim", comment="looking", now=h.clock())
    h.hold(3600, cpu(95))
    assert [k for k, _, _ in h.kinds()] == ["firing", "repeat", "repeat"]
    [critical] = [a for a in list_alerts(db, h.clock()) if a["severity"] == "critical"]
    assert critical["acknowledged"]["by"] == "kim" and critical["state"] == "firing"


def test_a_silence_suppresses_then_expires(db):
    h = Harness(db)
    silence = add_silence(db, [parse_matcher("alertname=CpuUsageHigh")], starts_at=h.clock(),
                          ends_at=h.clock() + 600, author="lee", comment="load test", now=h.clock())
    h.hold(540, cpu(85))
    assert h.notices == []
    [alert] = list_alerts(db, h.clock())
    assert alert["state"] == "firing" and alert["silenced_by"] == [silence.id]
    h.hold(120, cpu(85))  # silence over, still firing: now it is heard
    assert h.kinds() == [("firing", "CpuUsageHigh", "warning")]


def test_expiring_a_silence_by_hand_and_a_regex_matcher(db):
    h = Harness(db)
    s = add_silence(db, [parse_matcher("mountpoint=~/data.*")], starts_at=h.clock(), ends_at=h.clock() + 86400,
                    author="lee", comment="migration", now=h.clock())
    h.hold(330, sample("opsplan_disk_usage_ratio", 0.85, mountpoint="/data1"))
    assert h.notices == []
    expire_silence(db, s.id, h.clock())
    h.cycle(sample("opsplan_disk_usage_ratio", 0.85, mountpoint="/data1"))
    assert h.kinds() == [("firing", "DiskUsageHigh", "warning")]


def test_disk_alerts_are_per_mountpoint_and_grouped_by_subject(db):
    h = Harness(db)
    h.hold(330, sample("opsplan_disk_usage_ratio", 0.95, mountpoint="/"),
           sample("opsplan_disk_usage_ratio", 0.85, mountpoint="/data"),
           sample("opsplan_disk_usage_ratio", 0.10, mountpoint="/boot"))
    assert sorted((n.subject, n.severity) for n in h.notices) == [("mountpoint /", "critical"),
                                                                  ("mountpoint /data", "warning")]
    groups = group_by_subject(list_alerts(db, h.clock()))
    assert [g["subject"] for g in groups] == ["mountpoint /", "mountpoint /data"]
    assert [a["severity"] for a in groups[0]["alerts"]] == ["critical", "warning"]


def test_a_series_that_disappears_resolves_with_no_data(db):
    h = Harness(db)
    h.hold(330, cpu(85))
    h.hold(30, sample("opsplan_memory_usage_ratio", 0.1))  # within 3 intervals: still firing
    assert len(h.notices) == 1
    h.hold(60, sample("opsplan_memory_usage_ratio", 0.1))
    assert h.kinds()[-1] == ("resolved", "CpuUsageHigh", "warning")
    [alert] = list_alerts(db, h.clock(), include_resolved=True)
    assert alert["resolved_reason"] == "no data"


@sqlite_only
def test_a_custom_rule_from_the_plan(db):
    plan = Plan.model_validate({"monitoring": {"rules": [{
        "alert": "GpuPowerHigh", "metric": "opsplan_gpu_power_watts", "match": {"gpu": "0"}, "threshold": 120,
        "for": "1m", "severity": "critical",
        "summary": {"ko": "GPU 전력이 높습니다", "en": "GPU power is high"},
        "description": {"ko": "{subject} 전력 {value}", "en": "{subject} power {value} over {threshold}"}}]}})
    h = Harness(db, plan)
    h.hold(75, sample("opsplan_gpu_power_watts", 125, gpu="0", group="ai"),
           sample("opsplan_gpu_power_watts", 200, gpu="1", group="ai"))
    assert h.kinds() == [("firing", "GpuPowerHigh", "critical")]
    assert h.notices[0].labels["gpu"] == "0" and h.notices[0].labels["source"] == "custom"
    assert h.notices[0].description.en == "gpu 0 group ai power 125 over 120"


@sqlite_only
def test_the_cycle_carries_the_engine_metrics(db):
    h = Harness(db)
    h.hold(330, cpu(95))
    cycle = h.cycle(cpu(95))
    values = {(s.name, s.labels): s.value for s in cycle.samples}
    assert values[("opsplan_alerts_firing", (("severity", "critical"),))] == 1
    assert values[("opsplan_alerts_firing", (("severity", "warning"),))] == 1
    assert values[("opsplan_alerts_pending", ())] == 0
    assert values[("opsplan_alert_rules", ())] == len(build_rules(Plan(), metric_registry()))
    assert values[("opsplan_rule_evaluation_seconds", ())] > 0


def am_alert(status, **extra):
    alert = {"status": status, "labels": {"alertname": "NodeDown", "severity": "critical", "instance": "gpu-02"},
             "annotations": {"summary": "Node is down"}, "startsAt": "2027-01-15T03:00:00Z",
             "endsAt": "0001-01-01T00:00:00Z", "fingerprint": "a1b2c3d4e5f60718"}
    alert.update(extra)
    return {"version": "4", "status": status, "receiver": "opsplan", "alerts": [alert]}


def test_external_alertmanager_alerts_are_listed_and_noticed_once(db):
    h = Harness(db)
    assert h.engine.ingest_external(am_alert("firing")) == 1
    assert h.engine.ingest_external(am_alert("firing")) == 0  # Alertmanager's repeat: deduplicated
    h.engine = h.new_engine()
    h.engine.ingest_external(am_alert("firing"))
    [alert] = list_alerts(db, h.clock())
    assert (alert["source"], alert["alert"], alert["state"]) == ("prometheus", "NodeDown", "firing")
    h.engine.ingest_external(am_alert("resolved", endsAt="2027-01-15T03:10:00Z"))
    h.engine.ingest_external(am_alert("resolved", endsAt="2027-01-15T03:10:00Z"))
    assert [(n.kind, n.source, n.summary.en) for n in h.notices] == [("firing", "prometheus", "Node is down"),
                                                                    ("resolved", "prometheus", "Node is down")]


@pytest.mark.parametrize("payload, message", [
    ({"version": "3", "alerts": []}, "version '3' not supported"),
    ({"alerts": [{"status": "burning", "labels": {"alertname": "X"}}]}, r"alerts\[0\]\.status: expected"),
    ({"alerts": [{"status": "firing", "labels": {}}]}, "alertname is missing"),
    ({"alerts": [{"status": "firing", "labels": {"alertname": "X"}, "startsAt": "yesterday"}]}, "RFC 3339"),
])
@sqlite_only
def test_a_malformed_webhook_payload_is_one_line_and_changes_nothing(db, payload, message):
    from opsplan.alerts.errors import AlertError

    h = Harness(db)
    with pytest.raises(AlertError, match=message) as raised:
        h.engine.ingest_external(payload)
    assert "\n" not in str(raised.value)
    assert list_alerts(db, h.clock(), include_resolved=True) == [] and h.notices == []


def test_an_external_alert_with_a_long_name_and_many_labels_is_kept_on_every_engine(db):
    """SQLite keeps any length in a VARCHAR; PostgreSQL and MariaDB refuse what is longer. Alertmanager
    may post any alert name and labels: the alert is still stored, listed, noticed and delivered."""
    name = "KubePodCrashLooping" + "X" * 250
    labels = {f"label_{i:02d}": "value-" + "v" * 40 for i in range(20)}  # a subject of about 1,000 characters
    h = Harness(db)
    assert h.engine.ingest_external(am_alert("firing", labels={"alertname": name, "severity": "critical",
                                                               **labels})) == 1
    [alert] = list_alerts(db, h.clock())
    assert alert["alert"].startswith("KubePodCrashLooping") and alert["state"] == "firing"
    assert alert["labels"]["alertname"] == name  # every label kept whole
    assert [(n.kind, n.alert) for n in h.notices] == [("firing", name)]
    h.engine = h.new_engine()  # a restart reads the clipped row back: the resolved notice names it whole
    h.engine.ingest_external(am_alert("resolved", endsAt="2027-01-15T03:10:00Z",
                                      labels={"alertname": name, "severity": "critical", **labels}))
    assert [(n.kind, n.alert) for n in h.notices] == [("firing", name), ("resolved", name)]


def test_an_ack_or_a_silence_by_a_name_too_long_to_store_is_one_line(db):
    from opsplan.alerts.errors import AlertError
    from opsplan.alerts.queries import acknowledge
    from opsplan.alerts.silences import add_silence, parse_matcher

    h = Harness(db)
    h.engine.ingest_external(am_alert("firing"))
    [alert] = list_alerts(db, h.clock())
    with pytest.raises(AlertError, match="at most 200 characters"):
        acknowledge(db, alert["fingerprint"], by="k" * 201, comment="", now=h.clock())
    with pytest.raises(AlertError, match="at most 200 characters"):
        add_silence(db, [parse_matcher("alertname=NodeDown")], starts_at=h.clock(), ends_at=h.clock() + 60,
                    author="l" * 201, comment="", now=h.clock())
    acknowledge(db, alert["fingerprint"], by="k" * 200, comment="", now=h.clock())  # the longest that fits
    [alert] = list_alerts(db, h.clock())
    assert alert["acknowledged"]["by"] == "k" * 200


def test_an_external_alert_with_a_long_description_is_kept_whole_on_every_engine(db):
    """Prometheus puts no bound on an annotation: a description templated with the pods of a whole
    node passes 64 KB. MariaDB's TEXT refused the alert's row (the webhook failed, the alert was
    lost); its annotations and texts are MEDIUMTEXT there, and the alert is listed with them whole."""
    description = "\n".join(f"파드 `train-{i:05d}` 재시작 반복 (노드 gpu-02)" for i in range(2500))
    assert len(description.encode()) > 65_535
    h = Harness(db)
    assert h.engine.ingest_external(am_alert("firing", annotations={"summary": "Pods crash",
                                                                    "description": description})) == 1
    [alert] = list_alerts(db, h.clock())
    assert alert["annotations"]["description"] == description and alert["description"]["en"] == description
    assert [(n.kind, n.alert) for n in h.notices] == [("firing", "NodeDown")]
    h.engine = h.new_engine()  # a restart reads the row back and resolves it
    h.engine.ingest_external(am_alert("resolved", endsAt="2027-01-15T03:10:00Z"))
    assert [n.kind for n in h.notices] == ["firing", "resolved"]
