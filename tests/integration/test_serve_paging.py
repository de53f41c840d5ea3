"""Paging end to end on a real `opsplan serve`: a stand-in API that the test makes fail, a critical
incident, the on-call primary paged through a real webhook receiver and a real SMTP server
(aiosmtpd), the secondary after the step delay, then `opsplan incident ack` and nothing more.

What is asserted is what each person's phone and mailbox got. The channel URLs reach serve the way
an operator gives them: an environment variable and a 0600 file, never the command line."""

from __future__ import annotations

import email
import email.policy
import json
import re
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

import yaml_writer
from http_stubs import Service, Webhook
from serve_process import OPSPLAN, start_serve, wait_for_cycles, wait_until

pytestmark = [pytest.mark.filterwarnings("ignore::DeprecationWarning"),  # apprise imports imghdr
              pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning")]

STEP_DELAY = 3          # seconds from the primary's page to the secondary's (the plan's `after`)
REPEAT_AFTER = 20       # seconds before the next round would page the primary again, unacknowledged
RESTART_STEP_DELAY = 8  # long enough to restart serve between the two steps (it need not be)
MAIL_TOKEN = "smtp-secret-7c1d"  # the mail URL's password: must reach no command line or log


class Mailbox:
    """What the SMTP server accepted, parsed as a mail client would; it takes mail only from a
    client that logs in with the mail URL's user and password (as a real relay does)."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.logins: list[tuple[str, bool]] = []

    def authenticate(self, server, session, envelope, mechanism, auth):  # aiosmtpd's authenticator
        ok = (auth.login, auth.password) == (b"kim", MAIL_TOKEN.encode())
        self.logins.append((auth.login.decode(), ok))
        return AuthResult(success=ok)

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's name
        self.messages.append(email.message_from_bytes(envelope.content, policy=email.policy.default))
        return "250 OK"


def pages(posts: list[dict]) -> list[dict]:
    return [p for p in posts if p.get("title", "").startswith("[opsplan] Page")]


def mailed_pages(box: Mailbox) -> list[EmailMessage]:
    return [m for m in box.messages if str(m["Subject"]).startswith("[opsplan] Page")]


def run_cli(plan: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([*OPSPLAN, "--plan", str(plan), *args], capture_output=True, text=True,
                          timeout=120, check=False)


def show(plan: Path, incident_id: int) -> dict:
    done = run_cli(plan, "incident", "show", str(incident_id), "--json")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


@pytest.fixture
def mailbox() -> Iterator[tuple[Mailbox, int]]:
    box = Mailbox()
    # Loopback only, so AUTH without TLS is allowed here (a real relay would want STARTTLS).
    controller = Controller(box, hostname="127.0.0.1", port=yaml_writer.free_port(),
                            authenticator=box.authenticate, auth_require_tls=False, auth_required=True)
    controller.start()
    yield box, controller.port
    controller.stop()


@dataclass
class Stack:
    plan: Path
    service: Service
    kim_phone: Webhook
    lee_phone: Webhook
    kim_mail: Mailbox
    env: dict[str, str]


@pytest.fixture
def make_stack(tmp_path: Path, mailbox) -> Iterator[Callable[..., Stack]]:
    """A plan whose critical escalation pages the primary, then the secondary `step_delay` later."""
    box, smtp_port = mailbox
    service, kim_hook, lee_hook = Service(), Webhook(), Webhook()
    mail_url = tmp_path / "kim-mail.url"
    mail_url.write_text(f"mailto://kim:{MAIL_TOKEN}@127.0.0.1:{smtp_port}?from=opsplan@example.com"
                        "&to=kim@example.com&mode=insecure\n", encoding="utf-8")
    mail_url.chmod(0o600)

    def make(step_delay: int, repeat: int, repeat_after: int) -> Stack:
        # The rotation's first shift began at midnight today (Seoul): kim is the primary, lee the secondary.
        today = datetime.now(ZoneInfo("Asia/Seoul"))
        steps = [{"to": "primary"}, {"to": "secondary", "after": f"{step_delay}s"}]
        plan = yaml_writer.write_plan(tmp_path, {
            "language": "en",
            "monitoring": {"interval": "1s", "alerts": {"api_down": {"for": "2s"},
                                                        "mariadb_down": {"enabled": False},
                                                        "gpu_missing": {"enabled": False},
                                                        "backup_age": {"enabled": False}}},
            "services": [{"name": "llm-api", "group": "app", "url": service.url, "timeout": "1s"}],
            "database": {"port": yaml_writer.free_port(), "connect_timeout": "1s"},
            "notifications": {"channels": [{"name": "kim-mail", "kind": "email", "url_file": str(mail_url)}]},
            "oncall": {
                "people": [{"name": "kim", "channels": ["kim-mail"], "url_env": "KIM_PHONE_URL"},
                           {"name": "lee", "url_env": "LEE_PHONE_URL"}],
                "rotation": {"people": ["kim", "lee"], "start": today.date().isoformat(),
                             "handoff_day": today.strftime("%a").lower(), "handoff_time": "00:00"},
                "escalation": {"critical": {"steps": steps, "repeat": repeat, "repeat_after": f"{repeat_after}s",
                                            "hours": "any_hour"}},
            },
        })
        return Stack(plan, service, kim_hook, lee_hook, box,
                     {"KIM_PHONE_URL": kim_hook.url, "LEE_PHONE_URL": lee_hook.url})

    yield make
    for server in (service.server, kim_hook.server, lee_hook.server):
        server.shutdown()


def stop(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=15)


def test_an_outage_pages_the_primary_by_webhook_and_mail_then_the_secondary_until_acknowledged(make_stack):
    stack = make_stack(step_delay=STEP_DELAY, repeat=2, repeat_after=REPEAT_AFTER)
    plan, service, kim_phone, lee_phone, kim_mail = (stack.plan, stack.service, stack.kim_phone, stack.lee_phone,
                                                     stack.kim_mail)
    proc, url = start_serve(plan, env=stack.env)
    try:
        wait_for_cycles(url, 2)
        assert pages(kim_phone.posts) == [] and mailed_pages(kim_mail) == [] and lee_phone.posts == []

        service.healthy = False
        # The primary: on the phone and by mail, once each, about a critical incident.
        wait_until(lambda: pages(kim_phone.posts) and mailed_pages(kim_mail))
        [phone_page] = pages(kim_phone.posts)
        match = re.match(r"\[opsplan\] Page: incident (\d+) \(Critical\)", phone_page["title"])
        assert match, phone_page["title"]
        incident_id = int(match.group(1))
        assert "llm-api" in phone_page["title"] and f"opsplan incident ack {incident_id}" in phone_page["message"]
        [mail_page] = mailed_pages(kim_mail)
        assert mail_page["To"] == "kim@example.com" and str(mail_page["Subject"]) == phone_page["title"]
        assert f"opsplan incident ack {incident_id}" in mail_page.get_body(preferencelist=("plain",)).get_content()
        assert ("kim", True) in kim_mail.logins and ("kim", False) not in kim_mail.logins
        incident = show(plan, incident_id)
        assert (incident["severity"], incident["status"]) == ("critical", "triggered")

        # Nobody acknowledged: after the step delay the secondary is paged (and only the secondary).
        wait_until(lambda: pages(lee_phone.posts))
        [lee_page] = pages(lee_phone.posts)
        assert lee_page["title"] == phone_page["title"] and "For: lee" in lee_page["message"]
        assert len(pages(kim_phone.posts)) == 1 and len(mailed_pages(kim_mail)) == 1

        done = run_cli(plan, "incident", "ack", str(incident_id), "--by", "lee")
        assert done.returncode == 0, done.stderr
        timeline = wait_until(lambda: [e for e in show(plan, incident_id)["timeline"]
                                       if e["kind"] == "paging_stopped"] and show(plan, incident_id)["timeline"])
        # Unacknowledged, the next round would have paged kim again REPEAT_AFTER after lee's page:
        # let serve run past that moment, then count again.
        [second_page] = [e for e in timeline if e["kind"] == "paged" and e["data"].get("step") == 2]
        while time.time() < second_page["at"] + REPEAT_AFTER:
            time.sleep(0.5)
        cycles = re.search(r"^opsplan_cycles_total (\d+)", httpx.get(url + "metrics", timeout=5).text, re.M)
        assert cycles
        wait_for_cycles(url, int(float(cycles.group(1))) + 3)
        assert len(pages(kim_phone.posts)) == 1 and len(mailed_pages(kim_mail)) == 1
        assert len(pages(lee_phone.posts)) == 1
        kinds = [e["kind"] for e in show(plan, incident_id)["timeline"]]
        assert kinds.count("paged") == 2 and kinds.count("paging_stopped") == 1
        # The hand-off notice reached the primary once; the secondary got nothing but the page.
        assert len([p for p in kim_phone.posts if "on-call shift starts" in p["title"]]) == 1
        assert len(lee_phone.posts) == 1
    finally:
        stop(proc)
    log_text = (plan.parent / "opsplan.log").read_text(encoding="utf-8")
    assert MAIL_TOKEN not in log_text


def test_serve_restarted_mid_escalation_pages_the_secondary_once_and_nobody_twice(make_stack):
    stack = make_stack(step_delay=RESTART_STEP_DELAY, repeat=1, repeat_after=REPEAT_AFTER)
    proc, url = start_serve(stack.plan, env=stack.env)
    try:
        wait_for_cycles(url, 2)
        stack.service.healthy = False
        wait_until(lambda: pages(stack.kim_phone.posts) and mailed_pages(stack.kim_mail))
        assert pages(stack.lee_phone.posts) == []
    finally:
        stop(proc)  # between the primary's page and the secondary's step

    proc, url = start_serve(stack.plan, env=stack.env)
    try:
        wait_until(lambda: pages(stack.lee_phone.posts))
        [page] = pages(stack.kim_phone.posts)
        found = re.match(r"\[opsplan\] Page: incident (\d+)", page["title"])
        assert found, page["title"]
        incident_id = int(found.group(1))
        # The policy runs once: after the secondary's page the escalation is over; let serve run on.
        cycles = re.search(r"^opsplan_cycles_total (\d+)", httpx.get(url + "metrics", timeout=5).text, re.M)
        assert cycles
        wait_for_cycles(url, int(float(cycles.group(1))) + 5)
    finally:
        stop(proc)
    assert len(pages(stack.kim_phone.posts)) == 1 and len(mailed_pages(stack.kim_mail)) == 1
    assert len(pages(stack.lee_phone.posts)) == 1
    assert len([p for p in stack.kim_phone.posts if "on-call shift starts" in p["title"]]) == 1
    kinds = [e["kind"] for e in show(stack.plan, incident_id)["timeline"]]
    assert kinds.count("paged") == 2 and kinds.count("opened") == 1
