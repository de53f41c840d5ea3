"""Check runs end to end through the CLI: `opsplan check run daily --for DATE --json` over a real
metrics store in the plan's data directory, stored and signed off (`check sign`), audited, and
exported as a report in Korean and English (HTML with inline SVG charts, Markdown, JSON)."""

from __future__ import annotations

import json
import re
from datetime import date
from html.parser import HTMLParser
from pathlib import Path

import pytest
from test_korean_text import english_words
from typer.testing import CliRunner

from opsplan import audit
from opsplan.checks import runs
from opsplan.metrics import sample
from opsplan.stages.all import load_plan
from opsplan.store import MetricsStore
from opsplan.store.state import StateDB
from state_engines import STATE_URL_ENV
from yaml_writer import write_plan

DAY = date(2026, 11, 30)


def invoke(path: Path, *args: str):
    from opsplan.cli.main import app

    return CliRunner().invoke(app, ["--plan", str(path), *args])


def planned(tmp_path: Path, language: str = "en", **overrides: object) -> Path:
    path = write_plan(tmp_path, {"language": language, **overrides})
    plan = load_plan(path)
    start, end = runs.window("daily", plan.checks.daily.schedule, plan.timezone, now=0, for_date=DAY)
    with MetricsStore(Path(plan.data_dir) / "metrics", sync=False, clock=lambda: end) as store:
        for index in range(int((end - start) // 300)):
            store.append(start + index * 300, [
                sample("opsplan_cpu_usage_ratio", 0.3), sample("opsplan_memory_usage_ratio", 0.5),
                sample("opsplan_disk_usage_ratio", 0.95, mountpoint="/data"),
                sample("opsplan_disk_usage_ratio", 0.4, mountpoint="/"),
                sample("opsplan_mariadb_up", 1), sample("opsplan_mariadb_threads_connected", 12)])
    return path


def test_the_window_of_each_period_in_the_plans_timezone():
    seoul = "Asia/Seoul"
    start, end = runs.window("daily", "0 9 * * *", seoul, now=0, for_date=DAY)
    assert (end - start, end) == (86400, 1_795_996_800)  # 2026-11-30 09:00 KST, the schedule's time
    weekly = runs.window("weekly", "0 10 * * 1", seoul, now=0, for_date=DAY)  # a Monday
    assert weekly == (1_796_000_400 - 7 * 86400, 1_796_000_400)
    # A day the weekly schedule does not fire: the window ends at that day's end.
    assert runs.window("weekly", "0 10 * * 1", seoul, now=0, for_date=date(2026, 12, 1))[1] == 1_796_137_200
    month = runs.window("monthly", "0 10 1 * *", seoul, now=0, for_date=DAY)
    assert month == (1_790_780_400, 1_793_458_800)  # 2026-10-01 .. 2026-11-01 00:00 KST
    quarter = runs.window("quarterly", "0 10 1 1,4,7,10 *", seoul, now=0, for_date=DAY)
    assert quarter == (1_782_831_600, 1_790_780_400)  # 2026-07-01 .. 2026-10-01 00:00 KST


def test_a_daily_run_through_the_cli_is_stored_signed_and_audited(tmp_path, engine_state_url):
    path = planned(tmp_path, state_db_url_env=STATE_URL_ENV, checks={"daily": {"schedule": "0 9 * * *", "items": [
        {"id": "system.usage", "ko": "CPU/메모리/디스크 사용률", "en": "CPU/memory/disk usage"},
        {"id": "mariadb.status", "ko": "MariaDB 상태", "en": "MariaDB status"},
        {"id": "gpu.status", "ko": "GPU 상태 및 사용률", "en": "GPU status and usage"},
        {"ko": "서버실 온도 확인", "en": "Server room temperature"}]}})
    done = invoke(path, "check", "run", "daily", "--for", "2026-11-30", "--json")
    assert done.exit_code == 1, done.output  # a failed item fails the command
    run = json.loads(done.output)
    assert run["status"] == "fail" and run["period"] == "daily"
    assert run["window"] == {"start": "2026-11-29T09:00:00+09:00", "end": "2026-11-30T09:00:00+09:00"}
    statuses = {i["title"]["en"]: i["status"] for i in run["items"]}
    assert statuses == {"CPU/memory/disk usage": "fail", "MariaDB status": "pass", "GPU status and usage": "not-run",
                        "Server room temperature": "manual"}
    usage = run["items"][0]["result"]
    assert usage["findings"][0]["values"]["mount"] == "/data"
    # Listed, then signed off once, with the note, by the operating-system user; both audited.
    assert "Daily check | " in invoke(path, "check", "list").output
    listed = json.loads(invoke(path, "check", "list", "--json").output)
    assert [r["id"] for r in listed["runs"]] == [run["id"]]
    signed = invoke(path, "check", "sign", str(run["id"]), "--note", "disk cleanup booked", "--json")
    assert signed.exit_code == 0, signed.output
    assert json.loads(signed.output)["signed"]["note"] == "disk cleanup booked"
    again = invoke(path, "check", "sign", str(run["id"]))
    assert again.exit_code == 1 and "already signed" in again.output and len(again.output.strip().splitlines()) == 1
    missing = invoke(path, "check", "sign", "999")
    assert missing.exit_code == 1 and "no check run 999" in missing.output
    db = StateDB.open(engine_state_url)  # where the plan's state_db_url_env points
    try:
        actions = [(e["action"], e["outcome"]) for e in audit.entries(db, run_id=run["id"])]
        assert sorted(actions) == [("check.run", "fail"), ("check.run", "started"), ("check.sign", "signed")]
    finally:
        db.close()
    ticked = invoke(path, "check", "tick", str(run["id"]), "3", "--note", "22°C")
    assert ticked.exit_code == 0, ticked.output
    shown = invoke(path, "check", "show", str(run["id"])).output
    assert "22°C" in shown and "disk cleanup booked" in shown


def test_bad_input_is_one_line(tmp_path):
    path = planned(tmp_path)
    for args, said in ((("check", "run", "hourly"), "No check period 'hourly'"),
                       (("check", "run", "daily", "--for", "30/11/2026"), "--for '30/11/2026' is not a date"),
                       (("report", "export", "1", "--format", "docx"), "No report format 'docx'"),
                       (("report", "show", "1", "--lang", "fr"), "No language 'fr'")):
        result = invoke(path, *args)
        assert result.exit_code == 2, (args, result.output)
        assert said in result.output and len(result.output.strip().splitlines()) == 1


def test_a_store_held_by_its_writer_is_read_beside_it(tmp_path):
    path = planned(tmp_path)
    directory = Path(load_plan(path).data_dir) / "metrics"
    with MetricsStore(directory, sync=False) as writer:  # what serve holds while it runs
        held = invoke(path, "check", "run", "daily", "--for", "2026-11-30", "--json")
        writer.append(1_796_000_000.0, [sample("opsplan_cpu_usage_ratio", 0.7)])  # the writer goes on
    assert held.exit_code == 1, held.output  # graded from the stored figures: /data at 95 %
    usage = next(i for i in json.loads(held.output)["items"] if i["item_id"] == "system.usage")
    assert usage["status"] == "fail" and usage["result"]["findings"][0]["values"]["mount"] == "/data"


class _Text(HTMLParser):
    """The text a reader sees: everything outside <style> and a tool's raw <pre> output."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        if tag in ("style", "pre"):
            self._skip += 1

    def handle_endtag(self, tag):
        if tag in ("style", "pre"):
            self._skip -= 1

    def handle_data(self, data):
        if not self._skip:
            self.parts.append(data)


@pytest.mark.parametrize("lang", ["ko", "en"])
def test_the_report_renders_in_both_languages_with_charts(tmp_path, lang):
    path = planned(tmp_path)
    run = json.loads(invoke(path, "check", "run", "daily", "--for", "2026-11-30", "--json").output)
    note = "<script>alert(1)</script> password=hunter2"
    assert invoke(path, "check", "sign", str(run["id"]), "--note", note).exit_code == 0
    out = tmp_path / f"report.{lang}.html"
    exported = invoke(path, "report", "export", str(run["id"]), "--format", "html", "--lang", lang, "--out", str(out))
    assert exported.exit_code == 0, exported.output
    html = out.read_text(encoding="utf-8")
    assert out.stat().st_mode & 0o077 == 0
    assert html.count("<svg") >= 3 and "<script" not in html and "http://" not in html.replace(
        'xmlns="http://www.w3.org/2000/svg"', "")
    assert "Noto Sans CJK KR" in html and "NanumGothic" in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "hunter2" not in html  # escaped, masked
    parser = _Text()
    parser.feed(html)
    seen = "\n".join(parser.parts)
    if lang == "ko":
        assert "일일 점검 보고서" in seen and "마운트 지점 /data의 디스크 사용률이 95%로" in seen
        assert "2026-11-30 09:00:00 KST" in seen
        leftovers = english_words(seen)
        assert not leftovers, leftovers
    else:
        assert "Daily check report" in seen and "disk usage of /data is 95.0%" in seen
    markdown = invoke(path, "report", "show", str(run["id"]), "--lang", lang).output
    assert markdown.startswith("# ") and "/data" in markdown
    document = json.loads(invoke(path, "report", "export", str(run["id"]), "--format", "json", "--lang", lang).output)
    assert document["language"] == lang and document["items"][0]["status"] == "fail"
    assert re.search(r"\+09:00$", document["started_at"])


def test_old_runs_are_pruned_past_the_plans_retention(tmp_path, engine_state_url):
    path = planned(tmp_path, checks={"retention": "30d"})
    plan = load_plan(path)
    db = StateDB.open(engine_state_url)
    try:
        first = runs.run_checks(plan, db, "daily", actor="test", now=1_796_000_000.0)
        second = runs.run_checks(plan, db, "daily", actor="test", now=1_796_000_000.0 + 31 * 86400)
        assert [r["id"] for r in runs.list_runs(db)] == [second.run_id]
        assert first.run_id != second.run_id
    finally:
        db.close()


def test_a_host_with_many_disks_keeps_its_whole_daily_result(tmp_path, engine_state_url):
    # Eight data disks' day of usage charts is about 80 KB of JSON: past the 64 KB of MariaDB's TEXT,
    # which refused the item's row and left the run unfinished.
    path = write_plan(tmp_path, {"language": "en", "checks": {"daily": {"schedule": "0 9 * * *", "items": [
        {"id": "system.usage", "ko": "CPU/메모리/디스크 사용률", "en": "CPU/memory/disk usage"}]}}})
    plan = load_plan(path)
    start, end = runs.window("daily", "0 9 * * *", plan.timezone, now=0, for_date=DAY)
    mounts = [f"/data{n}" for n in range(8)]
    with MetricsStore(Path(plan.data_dir) / "metrics", sync=False, clock=lambda: end) as store:
        for index in range(int((end - start) // 300)):
            store.append(start + index * 300, [
                sample("opsplan_cpu_usage_ratio", 0.3), sample("opsplan_memory_usage_ratio", 0.5),
                *[sample("opsplan_disk_usage_ratio", 0.4 + index / 10_000, mountpoint=m) for m in mounts]])
        db = StateDB.open(engine_state_url)
        try:
            outcome = runs.run_checks(plan, db, "daily", store=store, actor="test", now=end, for_date=DAY)
            shown = runs.get_run(db, outcome.run_id)
        finally:
            db.close()
    assert shown["status"] == "pass" and shown["finished_at"] is not None
    [item] = shown["items"]
    charted = {s["label"] for chart in item["result"]["charts"] for s in chart["series"]}
    assert set(mounts) <= charted
    assert len(json.dumps(item["result"], ensure_ascii=False)) > 64 * 1024
