"""Benchmark: opsplan's database backup against the raw `mariabackup --stream=xbstream | zstd -T0 -1` pipeline.

Same throwaway server, same data, same run. Prints a JSON summary (and writes it with --out).

    .venv/bin/python bench/bench_backup.py --gigabytes 1.0 --out /tmp/bench-backup.json

Runs take several minutes on a 2-core machine; the data set lives in a temp dir and is removed.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "src"))

from mariadb_server import MariaDBServer  # noqa: E402
from opsplan.backup.database.engine import DatabaseBackupEngine  # noqa: E402
from opsplan.plan.models import Plan  # noqa: E402
from opsplan.store.state import StateDB  # noqa: E402

ROW_BYTES = 1024


def generate(server: MariaDBServer, gigabytes: float) -> None:
    """~1 KiB rows of hex text from random bytes (compresses about 2:1, like real rows rather than zeros or noise)."""
    server.execute("CREATE DATABASE bench")
    server.execute("CREATE TABLE bench.t (id BIGINT AUTO_INCREMENT PRIMARY KEY, v VARCHAR(1100)) ENGINE=InnoDB")
    server.execute("INSERT INTO bench.t (v) SELECT HEX(RANDOM_BYTES(512)) FROM bench.seq_1_to_1000")
    target_rows = int(gigabytes * 1024**3 / ROW_BYTES)
    while (rows := int(server.execute("SELECT COUNT(*) FROM bench.t")[0][0])) < target_rows:
        batch = min(rows, target_rows - rows)
        server.execute(f"INSERT INTO bench.t (v) SELECT HEX(RANDOM_BYTES(512)) FROM bench.t LIMIT {batch}")


def dir_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def raw_pipeline(server: MariaDBServer, out_dir: Path, basedir: Path | None = None) -> dict[str, float]:
    """mariabackup | zstd -T0 -1 > file, two processes joined by a pipe (no shell)."""
    out_dir.mkdir(parents=True)
    args = ["mariabackup", "--no-defaults", *server.client_args()[1:], "--backup", "--stream=xbstream",
            f"--target-dir={out_dir / 't'}", f"--extra-lsndir={out_dir / 'lsn'}"]
    if basedir is not None:
        args.append(f"--incremental-basedir={basedir}")
    started = time.monotonic()
    with open(out_dir / "backup.xb.zst", "wb") as sink, open(out_dir / "err.log", "wb") as errlog:
        backup = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=errlog)
        assert backup.stdout is not None
        zstd = subprocess.Popen(["zstd", "-T0", "-1", "-q", "-c"], stdin=backup.stdout, stdout=sink)
        backup.stdout.close()
        rc_zstd, rc_backup = zstd.wait(), backup.wait()
    wall = time.monotonic() - started
    if rc_backup or rc_zstd:
        raise SystemExit(f"raw pipeline failed: mariabackup {rc_backup}, zstd {rc_zstd}")
    return {"wall_s": wall, "stored_bytes": (out_dir / "backup.xb.zst").stat().st_size}


def mariabackup_only(server: MariaDBServer, out_dir: Path) -> float:
    """The floor: mariabackup streaming into /dev/null, nothing compressed or written."""
    out_dir.mkdir(parents=True)
    args = ["mariabackup", "--no-defaults", *server.client_args()[1:], "--backup", "--stream=xbstream",
            f"--target-dir={out_dir / 't'}", f"--extra-lsndir={out_dir / 'lsn'}"]
    started = time.monotonic()
    subprocess.run(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return time.monotonic() - started


def opsplan_backup(engine: DatabaseBackupEngine, kind: str) -> dict[str, float]:
    started = time.monotonic()
    row = engine.run(kind)
    wall = time.monotonic() - started
    return {"wall_s": wall, "stored_bytes": row.bytes_stored or 0, "raw_bytes": row.bytes_read or 0,
            "id": row.id, "lsn_dir": str(engine.root / (row.directory or "") / "lsn")}


def hash_speeds(megabytes: int = 512) -> dict[str, float]:
    data = os.urandom(64 * 1024 * 1024)
    result = {}
    for name, make in (("sha256", hashlib.sha256), ("blake2b-256", lambda: hashlib.blake2b(digest_size=32))):
        h = make()
        started = time.perf_counter()
        for _ in range(megabytes // 64):
            h.update(data)
        result[f"{name}_MBps"] = megabytes * 1.048576 / (time.perf_counter() - started)
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--gigabytes", type=float, default=1.0)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    if shutil.which("zstd") is None:
        raise SystemExit("zstd (Debian package zstd) is needed for the raw pipeline")

    base = Path(tempfile.mkdtemp(prefix="opsplan-bench-", dir="/tmp"))
    server = MariaDBServer(base_dir=base / "srv", extra_args=[
        "--innodb-buffer-pool-size=512M", "--innodb-log-file-size=512M", "--innodb-flush-log-at-trx-commit=0",
        "--skip-log-bin", "--plugin-load-add=ha_sequence"])
    summary: dict[str, object] = {"gigabytes_requested": args.gigabytes, "cpus": os.cpu_count()}
    try:
        server.start()
        t0 = time.monotonic()
        generate(server, args.gigabytes)
        summary["generate_s"] = time.monotonic() - t0
        summary["datadir_bytes"] = dir_bytes(server.datadir)
        plan = Plan.model_validate({
            "data_dir": str(base / "state"),
            "database": {"socket": str(server.socket), "user": "root", "password_env": None,
                         "datadir": str(server.datadir)},
            "backup": {"directory": str(base / "backups"),
                       "database": {"compression_level": 1, "table_checksums": False}},
        })
        state = StateDB.open(f"sqlite:///{base / 'state.db'}")
        engine = DatabaseBackupEngine(plan, state)
        mariabackup_only(server, base / "warm-up")  # the first run after start pays a checkpoint
        summary["mariabackup_to_devnull_s"] = mariabackup_only(server, base / "floor")
        fulls_raw, fulls_ops = [], []
        for i in range(args.repeats):  # alternate who goes first, so neither always gets the warmer cache
            if i % 2:
                fulls_ops.append(opsplan_backup(engine, "full"))
            fulls_raw.append(raw_pipeline(server, base / f"raw-full-{i}"))
            if not i % 2:
                fulls_ops.append(opsplan_backup(engine, "full"))
        server.execute("UPDATE bench.t SET v = HEX(RANDOM_BYTES(512)) WHERE id % 20 = 0")  # ~5% of rows
        server.execute("FLUSH TABLES")
        basedir = Path(str(fulls_ops[-1]["lsn_dir"]))
        inc_raw = raw_pipeline(server, base / "raw-inc", basedir=basedir)
        inc_ops = opsplan_backup(engine, "incremental")
        best = {k: min(v, key=lambda r: r["wall_s"]) for k, v in (("raw", fulls_raw), ("ops", fulls_ops))}
        raw_bytes = float(best["ops"]["raw_bytes"])
        summary.update({
            "full": {
                "raw_pipeline_s": [r["wall_s"] for r in fulls_raw], "opsplan_s": [r["wall_s"] for r in fulls_ops],
                "ratio_best": best["ops"]["wall_s"] / best["raw"]["wall_s"],
                "opsplan_MBps": raw_bytes / 1e6 / best["ops"]["wall_s"],
                "raw_MBps": raw_bytes / 1e6 / best["raw"]["wall_s"],
                "stream_bytes": raw_bytes, "opsplan_stored_bytes": best["ops"]["stored_bytes"],
                "raw_stored_bytes": best["raw"]["stored_bytes"],
                "compression_ratio": raw_bytes / float(best["ops"]["stored_bytes"]),
            },
            "incremental": {
                "raw_pipeline_s": inc_raw["wall_s"], "opsplan_s": inc_ops["wall_s"],
                "ratio": inc_ops["wall_s"] / inc_raw["wall_s"],
                "stream_bytes": inc_ops["raw_bytes"], "opsplan_stored_bytes": inc_ops["stored_bytes"],
            },
            "hashing": hash_speeds(),
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
