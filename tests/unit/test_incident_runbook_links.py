"""A restore or drill run while an incident is open lands on its timeline (issue 13 item 5): who
started it when, and how it ended; once each, also across a restart of the linking serve."""

from __future__ import annotations

import io
import threading
import time
from pathlib import Path

from rich.console import Console

import runbook_toys
from opsplan.incidents.describe import entry_text
from opsplan.incidents.lifecycle import Incidents
from opsplan.incidents.runbook_links import link_runs
from opsplan.plan.models import Plan, Text
from opsplan.runbooks.engine import RunbookEngine
from opsplan.store.state import StateDB

START = 1_790_000_000.0


def links(db: StateDB) -> None:
    with db.session() as session:  # one serve cycle's look at the journal
        link_runs(session, time.time())


def runbook_entries(incidents: Incidents, incident_id: int) -> list[dict]:
    return [e for e in incidents.get(incident_id)["timeline"] if e["kind"].startswith("runbook_")]


def test_a_run_during_an_open_incident_is_linked_with_its_end_once(tmp_path: Path, engine_state_url: str):
    db = StateDB.open(engine_state_url)
    plan = Plan().model_copy(update={"data_dir": tmp_path / "data", "language": "en"})
    work = tmp_path / "work"
    work.mkdir()
    try:
        incidents = Incidents(plan, db)
        outage = incidents.open("critical", Text(ko="API 중단", en="API down"), by="kim", now=START - 600)
        false_alarm = incidents.open("minor", Text(ko="느림", en="slow"), by="kim", now=START - 900)
        incidents.cancel(false_alarm, by="kim", now=START - 800, reason="false positive")
        links(db)  # serve's first look: what ran before is history

        ticks = iter(range(1_000_000))
        engine = RunbookEngine(plan, db, clock=lambda: START + next(ticks), actor="lee@ai-server",
                               console=Console(file=io.StringIO(), force_terminal=False))
        params = {"dir": str(work), "pause_at": 2}
        thread = threading.Thread(target=engine.run, args=(runbook_toys.build(plan, db, params), params))
        thread.start()
        deadline = time.time() + 30
        while not (work / "paused.2").exists() and time.time() < deadline:
            time.sleep(0.05)
        links(db)
        started = runbook_entries(incidents, outage)
        assert [e["kind"] for e in started] == ["runbook_started"] and started[0]["actor"] == "lee@ai-server"
        assert entry_text(started[0], plan, "en") == f"runbook run #{started[0]['data']['run']} started: toy-files"
        assert runbook_entries(incidents, false_alarm) == []  # it had ended before the run began

        (work / "release").write_text("", encoding="utf-8")
        thread.join(30)
        links(db)
        links(db)  # a second look (or a restarted serve) adds nothing
        ended = runbook_entries(incidents, outage)
        assert [e["kind"] for e in ended] == ["runbook_started", "runbook_finished"]
        assert entry_text(ended[1], plan, "en").endswith("ended: toy-files, ok")
        assert entry_text(ended[1], plan, "ko").startswith("복구 절차 실행 #")
    finally:
        db.close()
