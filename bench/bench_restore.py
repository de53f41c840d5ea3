"""Benchmark: a verified restore through opsplan's drill against the raw commands, same data, same run.

The plan is the one `opsplan init` writes (level 3, table checksums on); the backups' tables are
captured from the prepared copy first, as `opsplan serve` does after a backup, so the drill compares
with them (`--checksum-everything`: checksum the big table too, a tuned figure).

Raw: `zstd -d | mbstream -x` for the full and the incremental, `mariabackup --prepare` of the full
and `--incremental-dir` for the incremental, `--copy-back`, start mariadbd until it answers (the raw
path stops at time to service). opsplan: `opsplan drill db` (run_drill), which also checks every
stored file's BLAKE2b hash (while unpacking it: one pass), moves the prepared scratch copy into place
(`--move-back`, as the real restore does) and, after the start, runs CHECK TABLE, row counts and
CHECKSUM TABLE on every table (on a few connections at once).
Data generation is bench_backup.py's.

    .venv/bin/python bench/bench_restore.py --gigabytes 1.0 --out /tmp/bench-restore.json
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "src"))

from bench_backup import dir_bytes, generate  # noqa: E402

from mariadb_server import MariaDBServer  # noqa: E402
from opsplan.backup.database import catalog  # noqa: E402
from opsplan.backup.database.engine import STREAM_FILE, DatabaseBackupEngine, database_root  # noqa: E402
from opsplan.plan.models import Plan  # noqa: E402
from opsplan.runbooks.drill.database import run_drill  # noqa: E402
from opsplan.runbooks.restore.capture import capture_backup  # noqa: E402
from opsplan.runbooks.restore.scratch import ScratchServer  # noqa: E402
from opsplan.store.state import StateDB  # noqa: E402


def _unpack(stream: Path, dest: Path) -> None:
    dest.mkdir(parents=True)
    zstd = subprocess.Popen(["zstd", "-d", "-q", "-c", str(stream)], stdout=subprocess.PIPE)
    assert zstd.stdout is not None
    mbstream = subprocess.Popen(["mbstream", "-x", "-C", str(dest)], stdin=zstd.stdout)
    zstd.stdout.close()
    if mbstream.wait() or zstd.wait():
        raise SystemExit(f"raw unpack of {stream} failed")


def raw_restore(root: Path, chain: list[catalog.DbBackup], work: Path) -> dict[str, float]:
    phases: dict[str, float] = {}
    t = time.monotonic()
    dirs = []
    for member in chain:
        dirs.append(work / f"{member.id}")
        _unpack(root / (member.directory or "") / STREAM_FILE, dirs[-1])
    phases["unpack"] = time.monotonic() - t
    t = time.monotonic()
    subprocess.run(["mariabackup", "--prepare", f"--target-dir={dirs[0]}"], check=True, capture_output=True)
    for inc in dirs[1:]:
        subprocess.run(["mariabackup", "--prepare", f"--target-dir={dirs[0]}", f"--incremental-dir={inc}"],
                       check=True, capture_output=True)
    phases["prepare"] = time.monotonic() - t
    t = time.monotonic()
    subprocess.run(["mariabackup", "--no-defaults", "--copy-back", f"--target-dir={dirs[0]}",
                    f"--datadir={work / 'data'}", f"--parallel={min(4, os.cpu_count() or 1)}"],
                   check=True, capture_output=True)
    phases["copy_back"] = time.monotonic() - t
    t = time.monotonic()
    server = ScratchServer(work / "data", base_dir=Path(tempfile.mkdtemp(prefix="raw-srv-", dir="/tmp")),
                           buffer_pool="256M")
    server.start()
    phases["start"] = time.monotonic() - t
    server.stop()
    shutil.rmtree(server.base_dir, ignore_errors=True)
    phases["time_to_service"] = sum(phases.values())
    return phases


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--gigabytes", type=float, default=1.0)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--checksum-everything", action="store_true",
                        help="tuned: table_checksum_max_bytes 1 TiB (the default checksums tables up to 256 MiB)")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    base = Path(tempfile.mkdtemp(prefix="opsplan-bench-restore-", dir="/tmp"))
    server = MariaDBServer(base_dir=base / "srv", extra_args=[
        "--innodb-buffer-pool-size=512M", "--innodb-log-file-size=512M", "--innodb-flush-log-at-trx-commit=0",
        "--skip-log-bin", "--plugin-load-add=ha_sequence"])
    summary: dict[str, object] = {"gigabytes_requested": args.gigabytes, "cpus": os.cpu_count(),
                                  "checksum_everything": args.checksum_everything}
    # The plan `opsplan init` writes (level 3, table checksums on, up to 256 MiB per table).
    database = {"table_checksum_max_bytes": 1 << 40} if args.checksum_everything else {}
    try:
        server.start()
        generate(server, args.gigabytes)
        summary["datadir_bytes"] = dir_bytes(server.datadir)
        plan = Plan.model_validate({
            "data_dir": str(base / "state"),
            "database": {"socket": str(server.socket), "user": "root", "password_env": None,
                         "datadir": str(server.datadir)},
            "backup": {"directory": str(base / "backups"), "database": database},
        })
        state = StateDB.open(f"sqlite:///{base / 'state.db'}")
        engine = DatabaseBackupEngine(plan, state)
        full = engine.run("full")
        server.execute("UPDATE bench.t SET v = HEX(RANDOM_BYTES(512)) WHERE id % 20 = 0")  # ~5% of rows
        inc = engine.run("incremental")
        server.stop()  # nothing else competes for the disk and the cores
        t0 = time.monotonic()
        capture_backup(plan, state, inc.id)  # what `serve` does after a backup: not part of a restore
        summary["capture_s"] = time.monotonic() - t0
        with state.session() as session:
            chain = catalog.chain_of(session, catalog.get_backup(session, inc.id))
        raws, drills = [], []
        for i in range(args.repeats):  # alternate who goes first
            if i % 2:
                drills.append(run_drill(plan, state, {}))
            work = base / f"raw-{i}"
            raws.append(raw_restore(database_root(plan), chain, work))
            shutil.rmtree(work, ignore_errors=True)
            if not i % 2:
                drills.append(run_drill(plan, state, {}))
        if any(d["status"] != "ok" for d in drills):
            raise SystemExit(f"a drill failed: {[d.get('reason') for d in drills]}")
        best_raw = min(r["time_to_service"] for r in raws)
        best = min(drills, key=lambda d: d["time_to_verified_seconds"])
        median_raw = statistics.median(r["time_to_service"] for r in raws)
        median_verified = statistics.median(d["time_to_verified_seconds"] for d in drills)
        summary.update({
            "backups": [full.id, inc.id], "stream_bytes": sum(b.bytes_read or 0 for b in chain),
            "raw": raws, "opsplan": [{"phases": d["phases"], "time_to_service": d["time_to_service_seconds"],
                                      "time_to_verified": d["time_to_verified_seconds"]} for d in drills],
            "raw_time_to_service_best_s": best_raw,
            "opsplan_time_to_service_best_s": best["time_to_service_seconds"],
            "opsplan_time_to_verified_best_s": best["time_to_verified_seconds"],
            "ratio_service": best["time_to_service_seconds"] / best_raw,
            "ratio_verified_vs_raw_service": best["time_to_verified_seconds"] / best_raw,
            "ratio_verified_vs_raw_service_median": median_verified / median_raw,
            "tables_compared_with_checksum": sum(1 for x in best["tables"] if x.get("checksum_expected") is not None),
            "tables_checked": len(best["tables"]),
        })
        state.close()
    finally:
        server.cleanup()
        shutil.rmtree(base, ignore_errors=True)
    text = json.dumps(summary, indent=2)
    print(text)
    if args.out:
        args.out.write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
