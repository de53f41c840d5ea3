"""The console's Plan page (GET /plan) through FastAPI's TestClient, built as serve's console stage
builds it: the effective plan as `opsplan plan show` prints it, what `opsplan plan check` says of it
on this host now, the summary, and where each secret comes from, never a secret's value."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from fastapi import FastAPI
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from opsplan.cli.main import app as cli
from opsplan.plan.models import Plan
from opsplan.plan.show import effective_yaml, mask_url
from opsplan.stages.all import metric_registry, plan_checks
from opsplan.store.state import StateDB
from opsplan.web.console.frame import Console, NavItem
from opsplan.web.console.plan_page import plan_page_router
from opsplan.web.headers import SecurityHeaders
from opsplan.web.identity.routes import build_identity_web, identity_router
from opsplan.web.identity.users import Users
from unit.test_korean_text import assert_korean
from unit.test_security_headers import InlineFinder

PASSWORD = "correct horse battery"
FAST = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
ORIGIN = {"Origin": "http://testserver"}
DB_PASSWORD = "Db-pa55-from-the-env-9f3k"
API_TOKEN = "shared-t0ken-in-a-file-q8w2"
CHAT_URL = "json://127.0.0.1:9/hooks/T0KEN-in-the-env-x7"


def client_for(tmp_path: Path, plan: Plan, environ: dict[str, str]) -> TestClient:
    db = StateDB.open(f"sqlite:///{tmp_path / 'state.db'}")
    clock = lambda: 1_800_000_000.0  # noqa: E731 - a fixed clock is all the page needs
    Users(db, tmp_path, clock, FAST).add("view01", "viewer", PASSWORD, actor="root")
    web = build_identity_web(plan, db, clock, hasher=FAST)
    console = Console(plan, web)
    console.add_page(NavItem("/plan", 60))
    app = FastAPI()
    app.add_middleware(SecurityHeaders)
    app.include_router(identity_router(web))
    app.include_router(plan_page_router(console, plan_checks(), environ, metric_registry()))
    client = TestClient(app)
    answer = client.post("/login", data={"name": "view01", "password": PASSWORD}, headers=ORIGIN,
                         follow_redirects=False)
    assert answer.status_code == 303
    return client


@pytest.fixture
def secret_plan(tmp_path: Path) -> Iterator[tuple[Plan, dict[str, str], Path]]:
    """A plan whose database password is in the environment and whose shared API token is in a
    0600 file, with a chat channel whose URL (holding its token) is in the environment."""
    token_file = tmp_path / "api-token"
    token_file.write_text(API_TOKEN + "\n", encoding="utf-8")
    token_file.chmod(0o600)
    plan = Plan.model_validate({
        "data_dir": str(tmp_path), "language": "en",
        "database": {"password_env": "TEST_DB_PASSWORD"},
        "web": {"api_token_env": None, "api_token_file": str(token_file)},
        "notifications": {"channels": [{"name": "ops-chat", "url_env": "TEST_CHAT_URL"}]},
        "services": [{"name": "llm-api", "group": "app", "url": "http://probe:Pr0be-pass@127.0.0.1:8000/health"}],
    })
    yield plan, {"TEST_DB_PASSWORD": DB_PASSWORD, "TEST_CHAT_URL": CHAT_URL}, token_file


def test_no_secret_value_is_on_the_page_only_the_names_of_their_sources(tmp_path, secret_plan):
    plan, environ, token_file = secret_plan
    page = client_for(tmp_path, plan, environ).get("/plan")
    assert page.status_code == 200 and page.headers["cache-control"] == "no-store"
    text = html.unescape(page.text)
    for secret in (DB_PASSWORD, API_TOKEN, CHAT_URL, "T0KEN-in-the-env", "Pr0be-pass"):
        assert secret not in text
    secrets = text[text.index('id="plan-secrets"'):]
    assert "TEST_DB_PASSWORD" in secrets and str(token_file) in secrets and "TEST_CHAT_URL" in secrets
    assert "set in the environment" in secrets and "file present" in secrets
    # The probe URL's password is masked, in the summary and in the YAML alike.
    assert text.count("http://probe:***@127.0.0.1:8000/health") == 2


def test_the_plan_is_shown_as_plan_show_prints_it(tmp_path, secret_plan):
    plan, environ, _ = secret_plan
    runner_plan = tmp_path / "opsplan.yaml"
    runner_plan.write_text(effective_yaml(plan), encoding="utf-8")
    printed = CliRunner().invoke(cli, ["plan", "show", str(runner_plan)])
    assert printed.exit_code == 0, printed.output
    page = html.unescape(client_for(tmp_path, plan, environ).get("/plan").text)
    shown = re.search(r'<pre id="plan-yaml">(.*?)</pre>', page, re.S)
    assert shown is not None
    # Read back and printed again, the plan reads the same (the mask is stable).
    assert shown.group(1).strip() == printed.output.strip()
    assert "password_env: TEST_DB_PASSWORD" in shown.group(1)


def test_the_validation_result_names_each_problem_and_where(tmp_path, secret_plan):
    plan, environ, _ = secret_plan
    page = client_for(tmp_path, plan, environ).get("/plan").text
    assert 'id="plan-check"' in page and "The plan is valid." in page
    # The chat channel's variable unset on this host: `plan check` (strict) fails on it, so does the page.
    (tmp_path / "b").mkdir()
    page = html.unescape(client_for(tmp_path / "b", plan, {"TEST_DB_PASSWORD": DB_PASSWORD}).get("/plan").text)
    assert "The plan is valid." not in page and "Problems found: 1." in page
    problem = re.search(r'<li class="problem"><code>([^<]+)</code>: ([^<]+)</li>', page)
    assert problem is not None and problem.group(1) == "notifications.channels[0]"
    assert "ops-chat" in problem.group(2) and "TEST_CHAT_URL" in problem.group(2)


def test_the_summary_shows_groups_budgets_services_backups_and_thresholds(tmp_path, secret_plan):
    plan, environ, _ = secret_plan
    page = html.unescape(client_for(tmp_path, plan, environ).get("/plan").text)
    groups = page[page.index('id="plan-groups"'):page.index('id="plan-services"')]
    assert "AI system" in groups and "0, 1, 2" in groups and "128.0 GB" in groups and "2.0 TB" in groups
    backups = page[page.index('id="plan-backups"'):page.index('id="plan-thresholds"')]
    assert "0 2 * * *" in backups and "0 2 * * 0" in backups and "30d" in backups
    thresholds = page[page.index('id="plan-thresholds"'):page.index('id="plan-secrets"')]
    cpu = re.search(r"CPU usage</th><td>([^<]+)</td><td>([^<]+)</td>", thresholds)
    assert cpu is not None and cpu.groups() == ("80%", "90%")


def test_anonymous_is_sent_to_log_in_and_the_korean_page_reads_as_korean(tmp_path, secret_plan):
    plan, environ, _ = secret_plan
    client = client_for(tmp_path, plan.model_copy(update={"language": "ko"}), environ)
    answer = client.get("/plan")
    finder = InlineFinder()
    finder.feed(answer.text)
    assert finder.blocked == []
    assert '<html lang="ko">' in answer.text
    body = re.sub(r'<pre id="plan-yaml">.*?</pre>', " ", answer.text, flags=re.S)
    body = re.sub(r"<code>.*?</code>", " ", body, flags=re.S)
    text = html.unescape(re.sub(r"<[^>]+>", " ", body))
    for name in (plan.server.name, plan.server.kind, plan.server.cpu, plan.server.storage.type,
                 plan.server.gpu.model, "ops-chat", "view01"):
        text = text.replace(name, " ")
    assert_korean("plan page", text)
    anonymous = TestClient(client.app)
    gone = anonymous.get("/plan", follow_redirects=False)
    assert gone.status_code == 303 and gone.headers["location"] == "/login?next=%2Fplan"


@pytest.mark.parametrize(("url", "shown"), [
    ("https://bot:s3cret@chat.example/hook?token=abc&room=ops", "https://bot:***@chat.example/hook?token=***&room=ops"),
    ("http://127.0.0.1:8000/health", "http://127.0.0.1:8000/health"),
    ("https://only-a-token@chat.example/", "https://***@chat.example/"),
])
def test_a_url_keeps_its_host_and_loses_its_secrets(url, shown):
    assert mask_url(url) == shown
