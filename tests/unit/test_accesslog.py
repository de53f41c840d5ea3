"""Access-log tailing and parsing on real files, and the log-fed service metrics."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from opsplan.collectors.accesslog import (
    AccessLogReader,
    LogTailer,
    MalformedLine,
    parse_combined,
    parse_json,
    quantile,
)
from opsplan.collectors.services import ServicesCollector
from opsplan.metrics import Sample
from opsplan.plan.models import AccessLog, Service


def combined(addr: str = "10.0.0.1", status: int = 200, rt: float | None = 0.120, path: str = "/v1/chat") -> str:
    line = (f'{addr} - - [10/Oct/2025:13:55:36 +0900] "POST {path} HTTP/1.1" {status} 512 '
            f'"-" "curl/8.5.0"')
    return line + (f" {rt:.3f}" if rt is not None else "") + "\n"


def append(path: Path, text: str) -> None:
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(text)


class Clock:
    def __init__(self, now: float = 1_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def value(samples: list[Sample], name: str, **labels: str) -> float | None:
    for s in samples:
        if s.name == name and all(s.label(k) == v for k, v in labels.items()):
            return s.value
    return None


# --- parsers ---

def test_combined_line_with_trailing_request_time() -> None:
    request = parse_combined(combined("192.168.1.7", 503, 2.5).rstrip("\n"))
    assert (request.status, request.latency, request.user) == (503, 2.5, "192.168.1.7")


def test_combined_variants_of_request_time() -> None:
    base = '10.1.1.1 - alice [10/Oct/2025:13:55:36 +0900] "GET / HTTP/1.1" 200 5 "-" "ua"'
    assert parse_combined(base).latency is None
    assert parse_combined(base + ' "203.0.113.9" 0.250 0.248').latency == 0.25
    assert parse_combined(base + ' rt=1.5 uct="0.001" urt="1.499"').latency == 1.5
    assert parse_combined(base, user_field="remote_user").user == "alice"


def test_json_lines_use_configured_fields() -> None:
    line = json.dumps({"code": "502", "took_ms": 1250, "session": {"id": "s-42"}})
    request = parse_json(line, status_field="code", latency_field="took_ms", user_field="session.id")
    assert request.status == 502
    assert request.latency == pytest.approx(1.25)
    assert request.user == "s-42"
    # nginx writes "-" for an upstream time it does not have: unknown latency, not a broken line.
    assert parse_json('{"status": 200, "request_time": "-"}').latency is None


@pytest.mark.parametrize("line", ["", "garbage", '{"request_time": 0.1}', "[1, 2]", '{"status": 999}',
                                  '{"status": "ok"}'])
def test_json_malformed(line: str) -> None:
    with pytest.raises(MalformedLine):
        parse_json(line)


def test_quantile_interpolates_between_ranks() -> None:
    values = [float(i) for i in range(1, 101)]
    assert quantile(values, 0.5) == pytest.approx(50.5)
    assert quantile(values, 0.99) == pytest.approx(99.01)
    assert quantile([], 0.5) is None


# --- the tailer ---

def test_existing_log_starts_at_end_then_reads_only_new_lines(tmp_path: Path) -> None:
    path = tmp_path / "access.log"
    path.write_text("".join(combined(status=200) for _ in range(1000)))
    tailer = LogTailer(path)
    assert tailer.read_lines() == []  # history is not this cycle's traffic
    append(path, combined(status=500) + combined(status=404))
    lines = tailer.read_lines()
    assert [parse_combined(line).status for line in lines] == [500, 404]
    assert tailer.read_lines() == []
    append(path, combined(status=201))
    assert [parse_combined(line).status for line in tailer.read_lines()] == [201]


def test_log_created_after_start_is_read_from_its_beginning(tmp_path: Path) -> None:
    path = tmp_path / "access.log"
    tailer = LogTailer(path)
    with pytest.raises(FileNotFoundError):
        tailer.read_lines()
    path.write_text(combined(status=200) + combined(status=500))
    assert len(tailer.read_lines()) == 2


def test_partial_last_line_is_completed_next_cycle(tmp_path: Path) -> None:
    path = tmp_path / "access.log"
    path.write_text("")
    tailer = LogTailer(path)
    tailer.read_lines()
    full = combined(status=503, rt=0.5)
    append(path, combined(status=200) + full[:30])
    assert [parse_combined(x).status for x in tailer.read_lines()] == [200]
    append(path, full[30:])
    lines = tailer.read_lines()
    assert len(lines) == 1
    assert parse_combined(lines[0]).status == 503


def test_rotation_by_rename_finishes_old_file_then_reads_new_from_start(tmp_path: Path) -> None:
    path = tmp_path / "access.log"
    path.write_text(combined())
    tailer = LogTailer(path)
    tailer.read_lines()
    append(path, combined(status=201))  # written just before logrotate
    os.rename(path, tmp_path / "access.log.1")
    append(tmp_path / "access.log.1", combined(status=202))  # server still writes the old file
    assert [parse_combined(x).status for x in tailer.read_lines()] == [201, 202]
    append(tmp_path / "access.log.1", combined(status=299))  # last line before the server reopens
    path.write_text(combined(status=203) + combined(status=204))  # server reopened its log
    # The old file is read to its end before the new one is read from its start.
    assert [parse_combined(x).status for x in tailer.read_lines()] == [299, 203, 204]
    append(tmp_path / "access.log.1", combined(status=298))  # after the switch: not read again
    append(path, combined(status=205))
    assert [parse_combined(x).status for x in tailer.read_lines()] == [205]


def test_copytruncate_restarts_at_zero(tmp_path: Path) -> None:
    path = tmp_path / "access.log"
    path.write_text(combined() * 5)
    tailer = LogTailer(path)
    tailer.read_lines()
    append(path, combined(status=500))
    assert len(tailer.read_lines()) == 1
    inode = path.stat().st_ino
    with open(path, "r+") as fh:  # what logrotate's copytruncate does after copying
        fh.truncate(0)
    append(path, combined(status=418))
    assert path.stat().st_ino == inode
    assert [parse_combined(x).status for x in tailer.read_lines()] == [418]


# --- the reader and the collector fed by a log ---

def test_malformed_lines_are_counted_and_skipped(tmp_path: Path) -> None:
    path = tmp_path / "access.log"
    path.write_text("")
    reader = AccessLogReader(AccessLog(path=path))
    reader.read(0.0)
    append(path, combined(status=200) + "this is not a log line\n\n" + combined(status=500))
    cycle = reader.read(15.0)
    assert [r.status for r in cycle.requests] == [200, 500]
    assert cycle.parse_errors == 1


def test_collector_metrics_from_a_combined_log(tmp_path: Path) -> None:
    path = tmp_path / "access.log"
    path.write_text(combined(status=500) * 50)  # history: must not be counted
    clock = Clock()
    collector = ServicesCollector([Service(name="web", access_log=AccessLog(path=path))], clock=clock)
    first = collector.collect()
    assert value(first, "opsplan_api_log_up", service="web") == 1
    assert value(first, "opsplan_api_responses_total", service="web", **{"class": "5xx"}) == 0
    assert value(first, "opsplan_api_requests_per_second", service="web") is None  # no cycle yet

    # 100 requests in 10 s: 90 OK from 3 clients (0.01 .. 0.90 s), 5 not found, 5 server errors.
    lines = [combined(f"10.0.0.{i % 3}", 200, (i + 1) / 100) for i in range(90)]
    lines += [combined("10.0.0.9", 404, 0.005)] * 5 + [combined("10.0.0.9", 502, 0.001)] * 5
    append(path, "".join(lines) + "broken\n")
    clock.now += 10
    s = collector.collect()
    assert value(s, "opsplan_api_requests_per_second", service="web") == pytest.approx(10.0)
    assert value(s, "opsplan_api_error_ratio", service="web") == pytest.approx(0.05)
    assert value(s, "opsplan_api_responses_total", service="web", **{"class": "4xx"}) == 5
    assert value(s, "opsplan_api_responses_total", service="web", **{"class": "5xx"}) == 5
    assert value(s, "opsplan_api_responses_total", service="web", **{"class": "2xx"}) == 90
    assert value(s, "opsplan_api_log_parse_errors_total", service="web") == 1
    assert value(s, "opsplan_api_concurrent_users", service="web") == 4
    p50 = value(s, "opsplan_api_response_seconds", service="web", quantile="0.5")
    p99 = value(s, "opsplan_api_response_seconds", service="web", quantile="0.99")
    assert p50 is not None and 0.3 < p50 < 0.5
    assert p99 is not None and 0.85 < p99 <= 0.9
    assert value(s, "opsplan_api_up", service="web") is None  # no probe URL, no endpoint

    # A quiet cycle: rate 0, error ratio 0, no quantiles (not NaN); counters keep their totals.
    clock.now += 10
    quiet = collector.collect()
    assert value(quiet, "opsplan_api_requests_per_second", service="web") == 0
    assert value(quiet, "opsplan_api_error_ratio", service="web") == 0
    assert not [x for x in quiet if x.name == "opsplan_api_response_seconds"]
    assert value(quiet, "opsplan_api_responses_total", service="web", **{"class": "2xx"}) == 90
    collector.close()


def test_concurrent_users_slide_out_of_the_five_minute_window(tmp_path: Path) -> None:
    path = tmp_path / "access.log"
    path.write_text("")
    clock = Clock()
    collector = ServicesCollector([Service(name="web", access_log=AccessLog(path=path))], clock=clock)
    collector.collect()
    append(path, combined("10.0.0.1") + combined("10.0.0.2") + combined("10.0.0.1"))
    clock.now += 60
    assert value(collector.collect(), "opsplan_api_concurrent_users", service="web") == 2
    append(path, combined("10.0.0.3"))
    clock.now += 200  # t=260: everyone seen within 5 minutes
    assert value(collector.collect(), "opsplan_api_concurrent_users", service="web") == 3
    clock.now += 100  # t=360: the first two were last seen at t=60, 5 minutes ago
    assert value(collector.collect(), "opsplan_api_concurrent_users", service="web") == 1
    clock.now += 300
    assert value(collector.collect(), "opsplan_api_concurrent_users", service="web") == 0
    collector.close()


def test_json_log_users_are_the_configured_field(tmp_path: Path) -> None:
    path = tmp_path / "api.jsonl"
    path.write_text("")
    config = AccessLog(path=path, format="json", status_field="status", latency_field="duration_ms",
                       user_field="user")
    clock = Clock()
    collector = ServicesCollector([Service(name="api", access_log=config)], clock=clock)
    collector.collect()
    rows = [{"status": 200, "duration_ms": 100 * (i + 1), "user": f"u{i % 2}", "remote_addr": "10.0.0.1"}
            for i in range(10)]
    rows.append({"status": 503, "duration_ms": 5, "user": "u9"})
    append(path, "".join(json.dumps(r) + "\n" for r in rows) + '{"status": \n')
    clock.now += 5
    s = collector.collect()
    assert value(s, "opsplan_api_concurrent_users", service="api") == 3
    assert value(s, "opsplan_api_requests_per_second", service="api") == pytest.approx(11 / 5)
    assert value(s, "opsplan_api_error_ratio", service="api") == pytest.approx(1 / 11)
    assert value(s, "opsplan_api_response_seconds", service="api", quantile="0.5") == pytest.approx(0.5)
    assert value(s, "opsplan_api_log_parse_errors_total", service="api") == 1
    collector.close()


def test_missing_log_reports_log_down_only(tmp_path: Path) -> None:
    collector = ServicesCollector(
        [Service(name="gone", access_log=AccessLog(path=tmp_path / "nope.log")),
         Service(name="here", access_log=AccessLog(path=tmp_path / "here.log"))], clock=Clock())
    (tmp_path / "here.log").write_text("")
    s = collector.collect()
    assert value(s, "opsplan_api_log_up", service="gone") == 0
    assert value(s, "opsplan_api_log_up", service="here") == 1
    collector.close()


def test_read_cap_defers_the_rest_but_rotation_finishes_the_old_file(tmp_path: Path) -> None:
    path = tmp_path / "access.log"
    path.write_text("")
    tailer = LogTailer(path, max_read=1000)  # a few lines per cycle
    tailer.read_lines()
    append(path, "".join(combined(status=200 + i % 50) for i in range(40)))
    first = tailer.read_lines()
    assert 0 < len(first) < 40
    second = tailer.read_lines()
    assert len(second) > 0
    # Rotated before the backlog was read: the rest of the old file is still counted.
    os.rename(path, tmp_path / "access.log.1")
    path.write_text(combined(status=599))
    rest = tailer.read_lines()
    assert len(first) + len(second) + len(rest) == 41
    assert parse_combined(rest[-1]).status == 599
