"""Benchmark: opsplan's database backup at the defaults against the raw pipeline at the same zstd level.

Measured: the plan `opsplan init` writes (`compression_level: 3`, `table_checksums: true`: the
checksums are captured later from the prepared copy, so they are not part of `backup db`) against
`mariabackup --stream=xbstream | zstd -T0 -3 > file`; and, as a tuned figure, opsplan at level 1
against `zstd -T0 -1`. Same throwaway server, same data, same run, rounds rotating which side goes
first, medians. Prints a JSON summary (and writes it with --out); --profile writes a cProfile of
one default backup.

    .venv/bin/python bench/bench_backup.py --gigabytes 1.5 --rounds 3 --out /tmp/bench-backup.json

Runs take several minutes on a 2-core machine; the data set lives in a temp dir and is removed.
"""

from __future__ import annotations

import argparse
import cProfile
import hashlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "src"))

from mariadb_server import MariaDBServer  # noqa: E402
from opsplan.backup.database.engine import DatabaseBackupEngine  # noqa: E402
from opsplan.backup.hashing import BLAKE3, new_hash, stream_algorithm  # noqa: E402
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


def mariabackup_args(server: MariaDBServer, out_dir: Path, basedir: Path | None = None) -> list[str]:
    args = ["mariabackup", "--no-defaults", *server.client_args()[1:], "--backup", "--stream=xbstream",
            f"--target-dir={out_dir / 't'}", f"--extra-lsndir={out_dir / 'lsn'}"]
    if basedir is not None:
        args.append(f"--incremental-basedir={basedir}")
    return args


def raw_pipeline(server: MariaDBServer, out_dir: Path, level: int, basedir: Path | None = None) -> dict[str, float]:
    """mariabackup | zstd -T0 -<level> > file, two processes joined by a pipe (no shell)."""
    out_dir.mkdir(parents=True)
    started = time.monotonic()
    with open(out_dir / "backup.xb.zst", "wb") as sink, open(out_dir / "err.log", "wb") as errlog:
        backup = subprocess.Popen(mariabackup_args(server, out_dir, basedir), stdout=subprocess.PIPE, stderr=errlog)
        assert backup.stdout is not None
        zstd = subprocess.Popen(["zstd", "-T0", f"-{level}", "-q", "-c"], stdin=backup.stdout, stdout=sink)
        backup.stdout.close()
        rc_zstd, rc_backup = zstd.wait(), backup.wait()
    wall = time.monotonic() - started
    if rc_backup or rc_zstd:
        raise SystemExit(f"raw pipeline failed: mariabackup {rc_backup}, zstd {rc_zstd}")
    stored = (out_dir / "backup.xb.zst").stat().st_size
    shutil.rmtree(out_dir, ignore_errors=True)  # room for the next round
    return {"wall_s": wall, "stored_bytes": stored}


def mariabackup_only(server: MariaDBServer, out_dir: Path) -> float:
    """The floor: mariabackup streaming into /dev/null, nothing compressed or written."""
    out_dir.mkdir(parents=True)
    started = time.monotonic()
    subprocess.run(mariabackup_args(server, out_dir), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                   check=True)
    return time.monotonic() - started


def opsplan_backup(engine: DatabaseBackupEngine, kind: str, *, keep: bool = False,
                   profile: Path | None = None) -> dict[str, Any]:
    profiler = cProfile.Profile() if profile else None
    started = time.monotonic()
    if profiler is not None:
        profiler.enable()
    row = engine.run(kind)
    if profiler is not None:
        profiler.disable()
    wall = time.monotonic() - started
    if profiler is not None and profile is not None:
        profiler.dump_stats(str(profile))
    result = {"wall_s": wall, "stored_bytes": row.bytes_stored or 0, "raw_bytes": row.bytes_read or 0,
              "id": row.id, "lsn_dir": str(engine.root / (row.directory or "") / "lsn")}
    if not keep:  # room for the next round; the catalog row stays (the next run's space estimate)
        shutil.rmtree(engine.root / (row.directory or ""), ignore_errors=True)
    return result


def median(values: list[float]) -> float:
    return float(statistics.median(values))


def hash_speeds(megabytes: int = 512) -> dict[str, float]:
    data = os.urandom(64 * 1024 * 1024)
    result = {}
    makers: list[tuple[str, Any]] = [("sha256", hashlib.sha256),
                                     ("blake2b-256", lambda: hashlib.blake2b(digest_size=32))]
    if stream_algorithm() == BLAKE3:
        makers.append((BLAKE3, lambda: new_hash(BLAKE3)))
    for name, make in makers:
        h = make()
        started = time.perf_counter()
        for _ in range(megabytes // 64):
            h.update(data)
        result[f"{name}_MBps"] = megabytes * 1.048576 / (time.perf_counter() - started)
    return result


def plan_for(base: Path, server: MariaDBServer, name: str, **database: Any) -> Plan:
    """The plan `opsplan init` writes (level 3, checksums on), pointed at the bench server; `database`
    overrides backup.database keys for the tuned figure."""
    return Plan.model_validate({
        "data_dir": str(base / f"state-{name}"),
        "database": {"socket": str(server.socket), "user": "root", "password_env": None,
                     "datadir": str(server.datadir)},
        "backup": {"directory": str(base / f"backups-{name}"), "database": database},
    })


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--gigabytes", type=float, default=1.5, help="size of the data set (default 1.5)")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds; medians are reported")
    parser.add_argument("--profile", type=Path, help="also profile one default opsplan backup (cProfile) here")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    if shutil.which("zstd") is None:
        raise SystemExit("zstd (Debian package zstd) is needed for the raw pipeline")

    base = Path(tempfile.mkdtemp(prefix="opsplan-bench-", dir="/tmp"))
    server = MariaDBServer(base_dir=base / "srv", extra_args=[
        "--innodb-buffer-pool-size=512M", "--innodb-log-file-size=512M", "--innodb-flush-log-at-trx-commit=0",
        "--skip-log-bin", "--plugin-load-add=ha_sequence"])
    summary: dict[str, Any] = {"gigabytes_requested": args.gigabytes, "cpus": os.cpu_count(),
                               "stream_hash": stream_algorithm()}
    try:
        server.start()
        t0 = time.monotonic()
        generate(server, args.gigabytes)
        summary["generate_s"] = time.monotonic() - t0
        summary["datadir_bytes"] = dir_bytes(server.datadir)
        default_plan = plan_for(base, server, "default")
        settings = default_plan.backup.database
        assert (settings.compression_level, settings.table_checksums) == (3, True), "not the init defaults"
        tuned_plan = plan_for(base, server, "level1", compression_level=1)
        states = {name: StateDB.open(f"sqlite:///{base / f'state-{name}.db'}") for name in ("default", "level1")}
        engines = {"default": DatabaseBackupEngine(default_plan, states["default"]),
                   "level1": DatabaseBackupEngine(tuned_plan, states["level1"])}
        mariabackup_only(server, base / "warm-up")  # the first run after start pays a checkpoint
        summary["mariabackup_to_devnull_s"] = mariabackup_only(server, base / "floor")
        runs: dict[str, list[dict[str, Any]]] = {"raw3": [], "default": [], "raw1": [], "level1": []}
        order = ["raw3", "default", "raw1", "level1"]
        for i in range(args.rounds):  # rotate who goes first, so no side always gets the warmer cache
            for name in order[i % len(order):] + order[:i % len(order)]:
                if name.startswith("raw"):
                    runs[name].append(raw_pipeline(server, base / f"{name}-{i}", int(name[-1])))
                else:
                    runs[name].append(opsplan_backup(engines[name], "full"))
        if args.profile:
            opsplan_backup(engines["default"], "full", profile=args.profile)
        med = {name: median([r["wall_s"] for r in rs]) for name, rs in runs.items()}
        raw_bytes = float(runs["default"][-1]["raw_bytes"])
        summary["full"] = {
            "seconds": {name: [round(r["wall_s"], 3) for r in rs] for name, rs in runs.items()},
            "median_s": {name: round(v, 3) for name, v in med.items()},
            "ratio_default_vs_raw_zstd3": round(med["default"] / med["raw3"], 3),
            "ratio_level1_vs_raw_zstd1": round(med["level1"] / med["raw1"], 3),
            "ratio_default_vs_raw_zstd1": round(med["default"] / med["raw1"], 3),
            "stream_bytes": raw_bytes,
            "stored_bytes": {name: rs[-1]["stored_bytes"] for name, rs in runs.items()},
            "default_MBps": raw_bytes / 1e6 / med["default"],
        }
        # One incremental of each kind against the same base (the default's last full, kept).
        keep = opsplan_backup(engines["default"], "full", keep=True)
        server.execute("UPDATE bench.t SET v = HEX(RANDOM_BYTES(512)) WHERE id % 20 = 0")  # ~5% of rows
        server.execute("FLUSH TABLES")
        inc_raw = raw_pipeline(server, base / "raw-inc", 3, basedir=Path(str(keep["lsn_dir"])))
        inc_ops = opsplan_backup(engines["default"], "incremental")
        summary["incremental"] = {
            "raw_zstd3_s": round(inc_raw["wall_s"], 3), "default_s": round(inc_ops["wall_s"], 3),
            "ratio": round(inc_ops["wall_s"] / inc_raw["wall_s"], 3), "stream_bytes": inc_ops["raw_bytes"],
        }
        summary["hashing"] = hash_speeds()
        for state in states.values():
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
