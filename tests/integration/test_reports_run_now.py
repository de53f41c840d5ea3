"""A real `opsplan serve`: an operator presses "run now" on the Reports page (a logged-in session,
the form's CSRF token); serve's own `check-daily` job runs through its scheduler, in their name,
audited; its summary reaches a real webhook receiver with the report's link, and the failed item
opens an incident that the next run joins. A viewer sees no button."""

from __future__ import annotations

import json
import re
import signal
import subprocess
from pathlib import Path

import yaml_writer
from http_stubs import Webhook
from serve_process import OPSPLAN, add_user, logged_in, start_serve, wait_until

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def _cli(plan: Path, *args: str) -> str:
    done = subprocess.run([*OPSPLAN, "--plan", str(plan), *args], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_summary_incident_and_run_now_in_a_real_serve(tmp_path: Path):
    chat = Webhook()
    plan = yaml_writer.write_plan(tmp_path, {
        "language": "en", "monitoring": {"interval": "1s"}, "services": [],
        "database": {"port": yaml_writer.free_port(), "connect_timeout": "1s"},
        "notifications": {"channels": [{"name": "ops-chat", "url_env": "OPS_CHAT_URL"}]},
        "checks": {"daily": {"schedule": "0 9 * * *", "items": [
            {"id": "backup.status", "ko": "백업 상태", "en": "Backup status"}]},
            "weekly": {"schedule": "0 10 * * 1", "items": []},
            "monthly": {"schedule": "0 10 1 * *", "items": []},
            "quarterly": {"schedule": "0 10 1 1,4,7,10 *", "items": []}}})
    add_user(plan, "ops01", "operator")
    add_user(plan, "view01", "viewer")
    proc, url = start_serve(plan, env={"OPS_CHAT_URL": chat.url})
    origin = {"Origin": url.rstrip("/")}
    try:
        def summaries() -> list[dict]:  # the alerts of this bare server (no backup, no MariaDB) post too
            return [post for post in chat.posts if post["title"].startswith("[Daily check] ")]

        viewer = logged_in(url, "view01")
        assert "/reports/run/daily" not in viewer.get("reports?lang=en").text
        page = logged_in(url, "ops01")
        listing = page.get("reports?lang=en").text
        assert 'action="/reports/run/daily"' in listing and "Run the Daily check now" in listing
        csrf = CSRF.search(listing)
        assert csrf is not None
        assert page.post("reports/run/daily", data={"lang": "en"}, headers=origin).status_code == 403
        for run_id in (1, 2):
            pressed = page.post("reports/run/daily", data={"csrf_token": csrf.group(1), "lang": "en"},
                                headers=origin, follow_redirects=False)
            assert pressed.status_code == 303 and pressed.headers["location"] == "/reports?started=started&lang=en"
            assert "The check has started" in page.get(pressed.headers["location"]).text
            wait_until(lambda: re.search(rf'id="run-daily" class="idle">.*?done: #{run_id},',  # noqa: B023
                                         page.get("reports?lang=en").text, re.S), timeout=60)
            # Its summary reaches the chat at once (serve's notifier is woken); with no `web.public_url`
            # it names the command that shows the report.
            summary = wait_until(lambda: summaries()[run_id - 1:], timeout=60)[0]  # noqa: B023
            assert summary["title"].endswith(": fail") and "Failed: Backup status" in summary["message"]
            assert summary["message"].splitlines()[-1] == f"Read it: `opsplan report show {run_id}`"
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
    listed = json.loads(_cli(plan, "check", "list", "--json"))["runs"]
    assert [(r["id"], r["actor"], r["status"]) for r in listed] == [(2, "ops01 (console)", "fail"),
                                                                      (1, "ops01 (console)", "fail")]
    audit = json.loads(_cli(plan, "audit", "list", "--json"))
    entries = audit["entries"] if isinstance(audit, dict) else audit
    assert [(e["actor"], e["target"], e["outcome"]) for e in entries if e["action"] == "check.start"] == \
        [("ops01", "check-daily", "started")] * 2
    # One incident for (daily, backup.status): opened by the first run, joined by the second.
    incidents = json.loads(_cli(plan, "incident", "list", "--json"))
    incidents = incidents["incidents"] if isinstance(incidents, dict) else incidents
    assert [i["title"]["en"] for i in incidents] == ["Daily check failed: Backup status"]
    shown = json.loads(_cli(plan, "incident", "show", str(incidents[0]["id"]), "--json"))
    assert [e["data"]["run"] for e in shown["timeline"] if e["kind"] == "check_failed"] == [1, 2]
