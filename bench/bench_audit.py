"""The audit log's cost: one hash-chained `audit.record` against a plain insert of the same row.

    .venv/bin/python bench/bench_audit.py [--rounds 15] [--entries 100] [--verify 10000] [--json audit.json]

The state database is the one `opsplan init` configures: SQLite (WAL, synchronous=FULL) in the data
directory, here a temporary one. Each round appends `--entries` entries one transaction each with
`opsplan.audit.record` (lock the head row, read the last hash, hash, insert, move the head), and as
many with the anchor: the same row added in its own transaction without the chain (what the writer
did before). The two alternate by round (and which goes first), so both see the same machine noise; the figure is the
median of the per-round ratios. Then `opsplan.audit.verify` walks a chain of `--verify` entries.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from opsplan import audit  # noqa: E402
from opsplan.audit.tables import HEAD_ID, AuditEntry, AuditHead  # noqa: E402
from opsplan.hashchain import entry_hash  # noqa: E402
from opsplan.store.state import StateDB, default_url  # noqa: E402

DETAILS = {"via": "api", "comment": "restarting the llm service", "matchers": [{"name": "alertname", "value": "x"}]}


def chained(db: StateDB, n: int) -> float:
    started = time.perf_counter()
    for i in range(n):
        audit.record(db, "kim", "alert.ack", f"alert {i:016x}", DETAILS)
    return (time.perf_counter() - started) / n


def plain(db: StateDB, n: int) -> float:
    stored = json.dumps(DETAILS, sort_keys=True)
    started = time.perf_counter()
    for i in range(n):
        with db.session() as session:
            session.add(AuditEntry(at=time.time(), actor="kim", action="alert.ack", target=f"alert {i:016x}",
                                   arguments=stored))
    return (time.perf_counter() - started) / n


def build_chain(db: StateDB, n: int) -> None:
    """A chain of `n` entries in one transaction (quick to build), hashed by the writer's own rule."""
    audit.record(db, "kim", "alert.ack", "alert 0", DETAILS)  # creates the head the way serve does
    with db.session() as session:
        head = session.get(AuditHead, HEAD_ID)
        assert head is not None
        prev = head.hash
        for i in range(1, n):
            fields = {"at": 1_800_000_000.0 + i, "actor": "kim", "action": "alert.ack", "target": f"alert {i}",
                      "kind": None, "run_id": None, "arguments": json.dumps(DETAILS, sort_keys=True),
                      "outcome": None, "detail": None}
            digest = entry_hash(fields, prev)
            session.add(AuditEntry(**fields, prev_hash=prev, hash=digest))
            prev = digest
        head.hash, head.entries = prev, n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--entries", type=int, default=100)
    parser.add_argument("--verify", type=int, default=10_000)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        chain_db = StateDB.open(default_url(Path(tmp) / "chain"))
        plain_db = StateDB.open(default_url(Path(tmp) / "plain"))
        rounds = []
        for n in range(args.rounds):
            if n % 2:  # which goes first alternates too: neither always gets the quieter half
                anchor_s = plain(plain_db, args.entries)
                record_s = chained(chain_db, args.entries)
            else:
                record_s = chained(chain_db, args.entries)
                anchor_s = plain(plain_db, args.entries)
            rounds.append({"record_ms": record_s * 1000, "plain_ms": anchor_s * 1000, "ratio": record_s / anchor_s})
        chain_db.close()
        plain_db.close()
        verify_db = StateDB.open(default_url(Path(tmp) / "verify"))
        build_chain(verify_db, args.verify)
        started = time.perf_counter()
        result = audit.verify(verify_db)
        verify_s = time.perf_counter() - started
        assert result.ok and result.entries == args.verify, result
        verify_db.close()
    summary = {
        "machine": f"{platform.machine()}, Python {platform.python_version()}",
        "entries_per_round": args.entries, "rounds": rounds,
        "record_ms_median": statistics.median(r["record_ms"] for r in rounds),
        "plain_ms_median": statistics.median(r["plain_ms"] for r in rounds),
        "ratio_median": statistics.median(r["ratio"] for r in rounds),
        "verify_entries": args.verify, "verify_s": verify_s,
    }
    print(f"record: {summary['record_ms_median']:.2f} ms/entry, plain insert: {summary['plain_ms_median']:.2f} "
          f"ms/entry, ratio {summary['ratio_median']:.2f}x (median of {args.rounds} rounds)")
    print(f"verify: {args.verify:,} entries in {verify_s:.2f} s")
    if args.json:
        args.json.write_text(json.dumps(summary, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
