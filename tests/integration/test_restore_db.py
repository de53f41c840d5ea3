"""`opsplan restore db` with real mariabackup on throwaway servers.

The "service" is the throwaway server itself, driven by the `commands` controller kind: stop is
`mariadb-admin shutdown`, start is a small script that launches mariadbd detached with the
server's own command line. Fixtures here are imported by test_restore_db_target.py too.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import test_backup_db
from ruamel.yaml import YAML
from sqlalchemy import update

from mariadb_server import MariaDBServer, find_binary
from opsplan.backup.database.catalog import DbBackupTable
from opsplan.runbooks.engine import RunbookEngine
from opsplan.runbooks.restore.database import build
from opsplan.stages.all import load_plan

pytestmark = pytest.mark.mariadb

setup_factory = test_backup_db.setup_factory  # the fixture, shared with test_backup_db.py
insert_rows = test_backup_db.insert_rows

START_SCRIPT = """\
import json, subprocess, sys
args = json.load(open(sys.argv[1]))
subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                 start_new_session=True)
"""


class Service:
    """Stop/start argument lists for a throwaway server, and a way to read it while it runs detached."""

    def __init__(self, server: MariaDBServer, tmp: Path) -> None:
        self.server = server
        self.args_file = tmp / "mariadbd-args.json"
        self.args_file.write_text(json.dumps(server.server_args()), encoding="utf-8")
        self.script = tmp / "start_mariadbd.py"
        self.script.write_text(START_SCRIPT, encoding="utf-8")
        self.start = [sys.executable, str(self.script), str(self.args_file)]
        admin = find_binary("mariadb-admin") or "mariadb-admin"
        self.stop = [admin, *server.client_args(), "--wait-for-all-slaves", "shutdown"]

    def running(self) -> bool:
        return subprocess.run([find_binary("mariadb-admin") or "mariadb-admin", *self.server.client_args(),
                               "--connect-timeout=2", "ping"], capture_output=True, check=False).returncode == 0

    def shutdown(self) -> None:
        if self.running():
            subprocess.run(self.stop, capture_output=True, check=False, timeout=60)
        deadline = time.monotonic() + 60
        while self.server.pid_file.exists() and time.monotonic() < deadline:
            time.sleep(0.1)


def configure(setup: test_backup_db.Setup, tmp: Path, **recovery: Any) -> Service:
    """Point the plan's database_service at the throwaway server through the commands controller."""
    service = Service(setup.server, tmp)
    yaml = YAML()
    data = yaml.load(setup.plan_path.read_text(encoding="utf-8"))
    data["recovery"] = {"database_service": {"kind": "commands", "stop": service.stop, "start": service.start,
                                             "timeout": "60s", "health": {"kind": "sql", "wait": "60s"}},
                        "scratch_dir": str(tmp / "scratch"), **recovery}
    with setup.plan_path.open("w", encoding="utf-8") as fh:
        yaml.dump(data, fh)
    setup.plan = load_plan(setup.plan_path)
    return service


@pytest.fixture
def restore_setup(setup_factory, tmp_path):
    made: list[tuple[test_backup_db.Setup, Service]] = []

    def make(**recovery: Any) -> tuple[test_backup_db.Setup, Service]:
        setup = setup_factory()
        service = configure(setup, tmp_path, **recovery)
        made.append((setup, service))
        return setup, service

    yield make
    for _, service in made:  # the detached mariadbd outlives the fixture server's own process
        service.shutdown()


def checksums(server: MariaDBServer) -> dict[str, tuple[int, int]]:
    out = {}
    for (name,) in server.execute("SELECT table_name FROM information_schema.tables WHERE table_schema = 'shop'"):
        rows = server.execute(f"SELECT COUNT(*) FROM shop.`{name}`")[0][0]
        checksum = server.execute(f"CHECKSUM TABLE shop.`{name}`")[0][1]
        out[str(name)] = (int(rows), int(checksum))
    return out


def ids(server: MariaDBServer) -> list[int]:
    return [int(r[0]) for r in server.execute("SELECT id FROM shop.orders ORDER BY id")]


def three_backups(setup: test_backup_db.Setup) -> Any:
    """A full and two incrementals with writes between them; returns the last one."""
    insert_rows(setup.server, 1, 10)
    setup.server.execute("CREATE TABLE shop.notes (id INT PRIMARY KEY, body TEXT) ENGINE=InnoDB")
    setup.server.execute("INSERT INTO shop.notes VALUES (1, 'first')")
    assert setup.engine().run("full").status == "ok"
    insert_rows(setup.server, 11, 5)
    setup.server.execute("UPDATE shop.notes SET body = 'changed' WHERE id = 1")
    assert setup.engine().run("incremental").status == "ok"
    insert_rows(setup.server, 16, 7)
    last = setup.engine().run("incremental")
    assert (last.kind, last.status) == ("incremental", "ok")
    test_backup_db.capture(setup, last.id)  # as `serve` does after a backup
    return last


def run_restore(setup: test_backup_db.Setup, params: dict[str, Any], *, dry_run: bool = False) -> Any:
    runbook = build(setup.plan, setup.state, params, environ=setup.environ, clock=time.time)
    engine = RunbookEngine(setup.plan, setup.state, environ=setup.environ, actor="test@host")
    return engine.run(runbook, params, dry_run=dry_run, yes=True)


def asides(datadir: Path) -> list[Path]:
    return sorted(datadir.parent.glob(f"{datadir.name}.opsplan-before-*"))


def test_in_place_restore_holds_exactly_the_last_backups_data(restore_setup):
    setup, service = restore_setup()
    last = three_backups(setup)
    expected = checksums(setup.server)
    insert_rows(setup.server, 100, 4)  # after the last backup: the restore must not hold these
    setup.server.execute("DROP TABLE shop.notes")

    outcome = run_restore(setup, {})

    assert outcome.status == "ok", (outcome.failed_step, outcome.reason)
    assert [s["name"] for s in outcome.steps if s["phase"] == "do"] == [
        "stop_service", "restore_backup", "verify_consistency", "restart_service"]
    assert service.running()
    assert checksums(setup.server) == expected
    assert ids(setup.server) == list(range(1, 23))
    integrity = outcome.data["integrity"]
    shop = {t["name"]: t for t in integrity["tables"] if t["schema"] == "shop"}
    assert integrity["ok"] and shop["shop.orders"]["rows_actual"] == 22 and shop["shop.orders"]["captured"]
    assert outcome.data["backup_id"] == last.id
    # The previous datadir is kept (keep_previous_datadirs: 1), with the rows written after the backup.
    kept = asides(setup.server.datadir)
    assert len(kept) == 1 and (kept[0] / "shop" / "orders.ibd").exists()
    assert not list((setup.tmp / "scratch").glob("restore-*"))


def test_failure_in_verify_puts_the_previous_datadir_back_and_the_service_runs(restore_setup):
    setup, service = restore_setup()
    last = three_backups(setup)
    insert_rows(setup.server, 100, 4)  # written after the last backup: must survive the failed restore
    before = checksums(setup.server)
    inode = setup.server.datadir.stat().st_ino
    with setup.state.session() as session:  # the capture now disagrees with what the backup holds
        session.execute(update(DbBackupTable).where(DbBackupTable.backup_id == last.id,
                                                    DbBackupTable.table_name == "orders")
                        .values(checksum=12345))

    outcome = run_restore(setup, {})

    assert outcome.status == "rolled_back" and outcome.failed_step == "verify_consistency"
    assert "shop.orders" in outcome.reason and "checksum" in outcome.reason
    assert service.running()
    assert checksums(setup.server) == before
    assert ids(setup.server)[-4:] == [100, 101, 102, 103]
    assert setup.server.datadir.stat().st_ino == inode  # the very directory, renamed back
    assert asides(setup.server.datadir) == []
    undone = [s["name"] for s in outcome.steps if s["phase"] == "undo"]
    assert undone == ["verify_consistency", "restore_backup", "stop_service"]


def tree(path: Path) -> list[tuple[str, int, int]]:
    return sorted((str(p.relative_to(path)), p.stat().st_size, int(p.stat().st_mtime_ns))
                  for p in path.rglob("*") if p.is_file())


def test_dry_run_prints_the_real_commands_and_changes_nothing(restore_setup, tmp_path):
    setup, service = restore_setup()
    last = three_backups(setup)
    datadir = setup.server.datadir
    parent_before = sorted(p.name for p in datadir.parent.iterdir())
    backups_before = tree(setup.root())

    outcome = run_restore(setup, {}, dry_run=True)

    assert outcome.status == "dry_run"
    text = "\n".join(s["output"] or "" for s in outcome.steps)
    assert " ".join(service.stop) in text
    assert f"--datadir={datadir}" in text and "--move-back" in text
    assert f"{datadir}.opsplan-before-{outcome.run_id}" in text
    assert f"chain {last.full_id} (full)" in text and "--incremental-dir=" in text
    assert service.running()
    assert sorted(p.name for p in datadir.parent.iterdir()) == parent_before
    assert tree(setup.root()) == backups_before
    assert not (tmp_path / "scratch").exists() or not list((tmp_path / "scratch").iterdir())
    assert test_backup_db.PASSWORD not in text


def test_in_place_refuses_without_a_service_controller(setup_factory):
    setup = setup_factory()
    insert_rows(setup.server, 1, 3)
    assert setup.engine().run("full").status == "ok"

    outcome = run_restore(setup, {})

    assert outcome.status in ("failed", "rolled_back") and outcome.failed_step == "stop_service"
    assert "database_service" in outcome.reason and "--target-datadir" in outcome.reason
    assert ids(setup.server) == [1, 2, 3] and asides(setup.server.datadir) == []


@pytest.fixture
def cli_env(restore_setup) -> Callable[..., Any]:
    def run(setup: test_backup_db.Setup, *args: str) -> subprocess.CompletedProcess[str]:
        cmd = [sys.executable, "-m", "opsplan", "--plan", str(setup.plan_path), "restore", "db", *args]
        return subprocess.run(cmd, env=setup.environ, capture_output=True, text=True, timeout=300, check=False)
    return run


def test_cli_restores_a_chosen_backup_with_json_output(restore_setup, cli_env):
    setup, service = restore_setup()
    insert_rows(setup.server, 1, 5)
    full = setup.engine().run("full")
    insert_rows(setup.server, 6, 5)
    assert setup.engine().run("incremental").status == "ok"

    res = cli_env(setup, "--backup", str(full.id), "--yes", "--json")

    assert res.returncode == 0, res.stderr
    report = json.loads(res.stdout)
    assert report["status"] == "ok" and report["backup_id"] == full.id
    assert ids(setup.server) == [1, 2, 3, 4, 5]
    assert test_backup_db.PASSWORD not in res.stdout + res.stderr
    bad = cli_env(setup, "--backup", "9999", "--yes")
    said = bad.stdout + bad.stderr
    assert bad.returncode == 1 and "no database backup with id 9999" in said and "Traceback" not in said
    assert ids(setup.server) == [1, 2, 3, 4, 5] and os.path.isdir(setup.server.datadir)


KILL_AT_MOVE_BACK = """#!{python}
import os, signal, sys
if "--move-back" in sys.argv and not os.path.exists({marker!r}):
    open({marker!r}, "w").close()
    os.kill(os.getppid(), signal.SIGKILL)  # the opsplan process dies between the move aside and the copy back
    sys.exit(1)
os.execv({real!r}, [{real!r}, *sys.argv[1:]])
"""


def test_a_restore_killed_mid_step_resumes_to_the_last_backups_data(restore_setup, cli_env, tmp_path):
    setup, service = restore_setup()
    three_backups(setup)
    expected = checksums(setup.server)
    insert_rows(setup.server, 100, 2)
    shims = tmp_path / "shims"
    shims.mkdir()
    real = find_binary("mariabackup") or "mariabackup"
    shim = shims / "mariabackup"
    shim.write_text(KILL_AT_MOVE_BACK.format(python=sys.executable, marker=str(tmp_path / "killed"), real=real))
    shim.chmod(0o755)
    setup.environ = {**setup.environ, "PATH": f"{shims}:{os.environ['PATH']}"}

    killed = cli_env(setup, "--yes")

    assert killed.returncode == -9 and (tmp_path / "killed").exists()
    assert not service.running() and not setup.server.datadir.exists()
    kept = asides(setup.server.datadir)
    assert len(kept) == 1
    listed = subprocess.run([sys.executable, "-m", "opsplan", "--plan", str(setup.plan_path), "runbook", "list",
                             "--json"], env=setup.environ, capture_output=True, text=True, timeout=60, check=False)
    run = json.loads(listed.stdout)["runs"][0]
    assert run["status"] == "interrupted"

    resumed = subprocess.run([sys.executable, "-m", "opsplan", "--plan", str(setup.plan_path), "runbook", "resume",
                              str(run["id"]), "--yes", "--json"], env=setup.environ, capture_output=True, text=True,
                             timeout=300, check=False)

    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert json.loads(resumed.stdout)["status"] == "ok"
    assert service.running() and checksums(setup.server) == expected
    assert asides(setup.server.datadir) == kept and (kept[0] / "shop" / "orders.ibd").exists()
