"""`opsplan serve` with its state DB on PostgreSQL and MariaDB, moved there by the one
environment variable the plan names (`state_db_url_env`): an alert fires, is delivered once to a
real webhook, survives a restart without a second delivery; a console user made with the CLI logs
in; and the rows are in that database, not in a SQLite file."""

from __future__ import annotations

import signal
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

import yaml_writer
from http_stubs import Service, Webhook
from opsplan.alerts.tables import AlertRow
from opsplan.notify.outbox import OutboxRow
from opsplan.store.state import StateDB
from serve_process import add_user, logged_in, start_serve, wait_for_cycles, wait_until
from state_engines import STATE_URL_ENV

pytestmark = pytest.mark.slow


def api_down(url: str) -> list[dict]:
    groups = httpx.get(url + "api/v1/alerts", timeout=5).json()["groups"]
    return [a for group in groups for a in group["alerts"] if a["alert"] == "ApiDown" and a["state"] == "firing"]


# SQLite is test_serve_alerts.py's own run; here the two servers.
@pytest.mark.parametrize("engine_state_url", ["postgresql", "mariadb"], indirect=True)
def test_serve_on_each_engine_fires_delivers_once_and_keeps_it_across_a_restart(tmp_path: Path,
                                                                                 engine_state_url: str):
    service, hook = Service(), Webhook()
    plan = yaml_writer.write_plan(tmp_path, {
        "language": "en", "state_db_url_env": STATE_URL_ENV,
        "monitoring": {"interval": "1s", "alerts": {"api_down": {"for": "2s"}, "mariadb_down": {"enabled": False},
                                                    "gpu_missing": {"enabled": False},
                                                    "backup_age": {"enabled": False}}},
        "services": [{"name": "llm-api", "group": "app", "url": service.url, "timeout": "1s"}],
        "database": {"port": yaml_writer.free_port(), "connect_timeout": "1s"},
        "notifications": {"channels": [{"name": "ops-hook", "kind": "webhook", "url_env": "OPS_HOOK_URL",
                                        "severities": ["critical", "warning"]}]},
    })
    env = {"OPS_HOOK_URL": hook.url}  # STATE_URL_ENV is already in this process's environment
    try:
        add_user(plan, "kim", "admin")
        service.healthy = False
        proc, url = start_serve(plan, env=env)
        try:
            wait_until(lambda: api_down(url))
            wait_until(lambda: [p for p in hook.posts if "ApiDown" in p.get("title", "")])
            assert httpx.get(url + "healthz", timeout=5).status_code == 200
            console = logged_in(url, "kim")  # the user the CLI wrote to that database
            try:
                page = console.get("alerts")
                assert page.status_code == 200 and "ApiDown" in page.text
            finally:
                console.close()
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=15)
        delivered = len([p for p in hook.posts if "ApiDown" in p.get("title", "")])
        assert delivered == 1

        proc, url = start_serve(plan, env=env)  # restarted while still failing: nobody told twice
        try:
            wait_for_cycles(url, 4)
            assert api_down(url)
            assert len([p for p in hook.posts if "ApiDown" in p.get("title", "")]) == 1
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=15)
    finally:
        service.server.shutdown()
        hook.server.shutdown()

    db = StateDB.open(engine_state_url, migrate=False)
    try:
        with db.session() as session:
            assert session.scalar(select(func.count()).select_from(AlertRow).where(AlertRow.alert == "ApiDown")) == 1
            assert session.scalar(select(func.count()).select_from(OutboxRow).where(
                OutboxRow.alert == "ApiDown", OutboxRow.status == "sent")) == 1
    finally:
        db.close()
    if not engine_state_url.startswith("sqlite"):
        assert not (tmp_path / "data" / "state.db").exists()  # nothing fell back to SQLite
