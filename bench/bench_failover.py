"""Failover time of `opsplan serve`: two serves of one plan on one state database, the active one
killed with SIGKILL (or frozen with SIGSTOP), until the standby says it is active on /healthz.

    .venv/bin/python bench/bench_failover.py [--kills 5] [--intervals 15] [--engines sqlite,postgresql,mariadb]
                                             [--how kill,freeze]

Two ways to lose the holder. `kill`: SIGKILL; both serves run on this host, so the standby sees
the holder's process is gone and takes over at its next look (a quarter of the lease). `freeze`:
SIGSTOP, a holder still alive but silent, as a holder on another machine that died or lost its
network looks from here: the standby waits for the lease to expire (1.5 intervals).

For each engine and interval: the plan `opsplan init` writes (only its directories, port, the
interval when asked and `state_db_url_env` changed), two serves started on it, each with its own
data directory. Then `--kills` times: the active serve is killed (SIGKILL), /healthz of the other
is read every 50 ms until its `role` is "active" (the failover time), and the killed one is
started again and waits as the standby. The anchor is the collection interval of the same run:
the result is the median failover time and its ratio to the interval (target: at most 2).
PostgreSQL and MariaDB are this machine's servers (tests/state_engines.py: a throwaway database,
dropped afterwards); one that cannot be reached is reported and skipped.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
from ruamel.yaml import YAML

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from opsplan.store.state import StateDB  # noqa: E402
from state_engines import throwaway_database  # noqa: E402
from yaml_writer import free_port  # noqa: E402

URL_ENV = "BENCH_STATE_DB_URL"


def write_plan(workdir: Path, interval_s: int) -> Path:
    """`opsplan init`'s plan, changed only where two serves on one machine must."""
    workdir.mkdir(parents=True, exist_ok=True)
    path = workdir / "opsplan.yaml"
    subprocess.run([sys.executable, "-m", "opsplan", "init", "--lang", "en", str(path)], check=True,
                   stdout=subprocess.DEVNULL)
    yaml = YAML()
    data = yaml.load(path.read_text(encoding="utf-8"))
    data["data_dir"] = str(workdir / "data")
    data["web"]["port"] = free_port()
    data["backup"]["directory"] = str(workdir / "backups")
    data["backup"]["config"]["paths"] = [str(workdir / "etc")]
    (workdir / "etc").mkdir(exist_ok=True)
    data["database"].update({"host": "127.0.0.1", "port": free_port()})  # nothing there: no backup to wait on
    data["state_db_url_env"] = URL_ENV
    if interval_s != 15:
        data["monitoring"]["interval"] = f"{interval_s}s"
    with path.open("w", encoding="utf-8") as fh:
        yaml.dump(data, fh)
    return path


class Serve:
    def __init__(self, plan: Path, url: str):
        self.plan = plan
        data = YAML().load(plan.read_text(encoding="utf-8"))
        self.healthz = f"http://127.0.0.1:{data['web']['port']}/healthz"
        self.env = {**os.environ, URL_ENV: url}
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen([sys.executable, "-m", "opsplan", "--plan", str(self.plan), "--log-file",
                                      str(self.plan.parent / "serve.log"), "serve"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=self.env)

    def role(self) -> str | None:
        try:
            return httpx.get(self.healthz, timeout=2).json().get("role")
        except (httpx.HTTPError, ValueError):
            return None

    def wait_role(self, wanted: str, timeout: float) -> float:
        started = time.monotonic()
        while time.monotonic() - started < timeout:
            if self.role() == wanted:
                return time.monotonic() - started
            time.sleep(0.05)
        raise RuntimeError(f"{self.plan.parent.name}: not {wanted} within {timeout:.0f} s")

    def freeze(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGSTOP)

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()


@contextlib.contextmanager
def state_database(kind: str, workdir: Path) -> Iterator[str]:
    with throwaway_database(kind, workdir) as url:
        StateDB.open(url).close()  # migrated once, before either serve starts
        yield url


def one_engine(kind: str, interval_s: int, kills: int, how: str) -> dict:
    with tempfile.TemporaryDirectory(prefix="bench-failover-") as tmp:
        workdir = Path(tmp)
        with state_database(kind, workdir) as url:
            serves = [Serve(write_plan(workdir / name, interval_s), url) for name in ("a", "b")]
            try:
                serves[0].start()
                serves[0].wait_role("active", 60)
                serves[1].start()
                serves[1].wait_role("standby", 60)
                times = []
                for _ in range(kills):
                    active, standby = (serves if serves[0].role() == "active" else serves[::-1])
                    if how == "freeze":
                        active.freeze()
                    else:
                        active.kill()
                    times.append(standby.wait_role("active", 10 * interval_s + 30))
                    if how == "freeze":
                        active.kill()
                    active.start()
                    active.wait_role("standby", 60)
            finally:
                for serve in serves:
                    serve.stop()
    median = statistics.median(times)
    return {"engine": kind, "how": how, "interval_s": interval_s, "failovers_s": [round(t, 2) for t in times],
            "median_s": round(median, 2), "ratio_to_interval": round(median / interval_s, 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=5)
    parser.add_argument("--intervals", default="15", help="collection intervals in seconds, comma-separated")
    parser.add_argument("--engines", default="sqlite,postgresql,mariadb")
    parser.add_argument("--how", default="kill,freeze", help="kill (SIGKILL), freeze (SIGSTOP), or both")
    args = parser.parse_args()
    print(f"| engine | holder | interval | failover, median of {args.kills} | ratio to the interval | each |")
    print("|---|---|---:|---:|---:|---|")
    runs = [(int(i), h, k) for i in args.intervals.split(",") for h in args.how.split(",")
            for k in args.engines.split(",")]
    for interval_s, how, kind in runs:
        try:
            row = one_engine(kind, interval_s, args.kills, how)
        except BaseException as exc:  # noqa: BLE001 - pytest's skip (no server here) included
            if isinstance(exc, KeyboardInterrupt):
                raise
            print(f"| {kind} | {how} | {interval_s} s | skipped: {str(exc).splitlines()[0][:120]} | | |")
            continue
        each = ", ".join(f"{t:.2f}" for t in row["failovers_s"])
        figures = f"{row['median_s']:.2f} s | {row['ratio_to_interval']:.2f}"
        print(f"| {kind} | {how} | {interval_s} s | {figures} | {each} |", flush=True)

if __name__ == "__main__":
    main()
