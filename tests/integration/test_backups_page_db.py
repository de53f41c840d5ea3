"""The backups page's buttons against a throwaway MariaDB: an operator's "back up now" runs serve's
real backup-database job (mariabackup, through the scheduler) and the new full backup shows on the
page; its "verify" button re-hashes the real stored files and the page shows it verified."""

from __future__ import annotations

import re
import time

import pytest
import test_backup_db
from argon2 import PasswordHasher
from fastapi import FastAPI
from fastapi.testclient import TestClient
from test_backup_db import insert_rows

from opsplan.audit import entries
from opsplan.backup.database.jobs import database_jobs
from opsplan.jobs import JobControl
from opsplan.serve.scheduler import Scheduler
from opsplan.web.console.backups import Verifier, backups_router
from opsplan.web.console.frame import Console, NavItem
from opsplan.web.headers import SecurityHeaders
from opsplan.web.identity.routes import build_identity_web, identity_router
from opsplan.web.identity.users import Users

pytestmark = pytest.mark.mariadb
setup_factory = test_backup_db.setup_factory

PASSWORD = "correct horse battery"
FAST = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
ORIGIN = {"Origin": "http://testserver"}
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def test_an_operators_button_takes_a_real_backup_that_the_page_then_lists_and_verifies(setup_factory, tmp_path):
    setup = setup_factory()
    insert_rows(setup.server, 1, 20)
    plan, db = setup.plan, setup.state
    # serve's own job, with the backup user's password in its environment, under a real scheduler.
    jobs = database_jobs(plan, db, environ=setup.environ)
    scheduler = Scheduler(jobs, timezone=plan.timezone)
    control = JobControl()
    control.bind(scheduler)
    Users(db, tmp_path, time.time, FAST).add("ops01", "operator", PASSWORD, actor="root")
    web = build_identity_web(plan, db, time.time, hasher=FAST)
    console = Console(plan, web)
    console.add_page(NavItem("/backups", 30))
    verifier = Verifier(plan, db)
    app = FastAPI()
    app.add_middleware(SecurityHeaders)
    app.include_router(identity_router(web))
    app.include_router(backups_router(plan, db, console, control, verifier=verifier))
    client = TestClient(app)
    assert client.post("/login", data={"name": "ops01", "password": PASSWORD}, headers=ORIGIN,
                       follow_redirects=False).status_code == 303
    empty = client.get("/backups?lang=en").text
    assert "No backup yet" in empty
    csrf = CSRF.search(empty)
    assert csrf
    answer = client.post("/backups/database/run", data={"csrf_token": csrf.group(1), "lang": "en"}, headers=ORIGIN,
                         follow_redirects=False)
    assert answer.headers["location"] == "/backups?lang=en&done=started"
    job = jobs[0]
    assert job.running is not None
    job.running.join(180)
    assert not job.running.is_alive(), "the backup did not finish in 3 minutes"
    html = client.get("/backups?lang=en").text
    found = re.search(r'<tbody class="chain" id="chain-(\d+)">', html)
    assert found, html
    backup_id = found.group(1)
    row = html[html.index(f'id="backup-{backup_id}"'):]
    row = row[:row.index("</tr>")]
    assert "full" in row and "✔ ok" in row and "not verified" in row and "/verify" in row
    assert "No backup yet" not in html and "hx-trigger" not in html
    client.post(f"/backups/database/{backup_id}/verify", data={"csrf_token": csrf.group(1)}, headers=ORIGIN)
    verifier.wait(120)
    verified = client.get("/backups?lang=ko").text
    row = verified[verified.index(f'id="backup-{backup_id}"'):]
    assert "검증 통과" in row[:row.index("</tr>")]
    assert [(e["actor"], e["action"]) for e in entries(db)[:2]] == [("ops01", "backup.verify"),
                                                                      ("ops01", "backup.start")]
    assert setup.password not in html + verified  # the backup user's password is on no page
