"""A real `opsplan serve` hands out a check report and a postmortem as files (issue 14 item 6): a
viewer's session downloads them (an attachment with a plain file name, PDF with Hangul in its text
where WeasyPrint and a Korean font are installed), a browser without a session is sent to log in."""

from __future__ import annotations

import json
import signal
import subprocess
from pathlib import Path

import httpx

import yaml_writer
from opsplan import pdf
from pdf_text import read_pdf
from serve_process import OPSPLAN, add_user, logged_in, start_serve


def _cli(plan: Path, *args: str) -> str:
    done = subprocess.run([*OPSPLAN, "--plan", str(plan), *args], capture_output=True, text=True, timeout=120)
    assert done.returncode in (0, 1), done.stderr  # a check run with a failed item exits 1
    return done.stdout


def test_a_viewer_downloads_a_report_and_a_postmortem_from_a_real_serve(tmp_path: Path):
    plan = yaml_writer.write_plan(tmp_path, {
        "language": "ko", "monitoring": {"interval": "1s"}, "services": [],
        "database": {"port": yaml_writer.free_port(), "connect_timeout": "1s"},
        "checks": {"daily": {"schedule": "0 9 * * *", "items": [
            {"id": "backup.status", "ko": "백업 상태", "en": "Backup status"},
            {"ko": "서버실 온도 확인", "en": "Server room temperature"}]}}})
    run_id = json.loads(_cli(plan, "check", "run", "daily", "--json"))["id"]
    incident = json.loads(_cli(plan, "incident", "open", "--severity", "major", "--title", "결제 지연", "--json"))["id"]
    _cli(plan, "incident", "resolve", str(incident))
    add_user(plan, "view01", "viewer")
    proc, url = start_serve(plan)
    try:
        stranger = httpx.Client(base_url=url, timeout=10)
        sent = stranger.get(f"reports/{run_id}/download/pdf", follow_redirects=False)
        assert sent.status_code == 303 and sent.headers["location"].startswith("/login?next=")
        viewer = logged_in(url, "view01")
        report = viewer.get(f"reports/{run_id}/download/md")
        assert report.status_code == 200 and report.text.startswith("# 일일 점검 보고서")
        assert report.headers["content-disposition"] == f'attachment; filename="opsplan-report-{run_id}-daily-ko.md"'
        postmortem = viewer.get(f"incidents/{incident}/postmortem/download/md?pm=en")
        assert postmortem.status_code == 200 and postmortem.text.startswith(f"# Incident {incident} postmortem")
        printed = viewer.get(f"incidents/{incident}/postmortem/download/pdf")
        if pdf.unavailable() is None:
            assert printed.status_code == 200 and printed.headers["content-type"] == "application/pdf"
            assert f"장애 {incident} 사후 분석 보고서 (초안): 결제 지연" in read_pdf(printed.content).text
            printed = viewer.get(f"reports/{run_id}/download/pdf")
            assert "서버실 온도 확인" in read_pdf(printed.content).text
        else:  # no PDF here: one line saying what to install, not a file of boxes
            assert printed.status_code == 503 and len(printed.text.strip().splitlines()) == 1
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
