"""The embedded metrics store: a write-ahead log in front of compressed, immutable blocks.

Layout of the directory::

    LOCK            flock'd by the one process that writes
    series.log      framed records: series id -> name and labels, append-only
    wal/NNN.log     framed records: one collection cycle each (timestamp, series ids, values)
    blocks/NNN.blk  per-series compressed raw samples, or 5-minute rollups once raw retention
                    drops them, with a series table (format 2; format 1 blocks kept both)
    MANIFEST.json   the live blocks and the last WAL segment they contain

`append` writes one WAL record and keeps the cycle in memory (the head). `maintain` moves the
head into level-0 blocks (one per 2-hour window), merges finished windows into 2-hour, 1-day
and (rollups only) 32-day blocks, drops raw samples past raw retention and whole blocks past
rollup retention. A query reads raw samples from blocks that still have them and rollups from
blocks that do not, so every sample counts exactly once.

A second process (`opsplan check run`, `opsplan sla report` while `serve` writes) opens the store
with `MetricsStore.open_read_only`: no lock, nothing created, written or deleted. It reads the
manifest, opens the live blocks, reads the WAL segments after them as they are (a record being
written is left out) and series.log last (definitions reach the disk before the records that use
them); then reads the manifest again and starts over if a compaction committed meanwhile. Its view
is the store at that moment; the blocks' fds stay open, so a block deleted by a later merge still
reads.
"""

from __future__ import annotations

import fcntl
import json
import logging
import math
import os
import struct
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from opsplan.errors import StoreError
from opsplan.metrics import Labels, Sample
from opsplan.metrics.matchers import LabelMatchers, PatternError
from opsplan.store import blocks as blk
from opsplan.store import wal
from opsplan.store.maintenance import Maintainer
from opsplan.store.query import aggregate

log = logging.getLogger(__name__)

_REC = struct.Struct("<qI")  # cycle timestamp (ms), sample count
_CONSOLIDATE = 256  # cycles kept as separate arrays before they are joined into one
_NO_TIME = np.iinfo(np.int64).min
MAX_BUCKETS = 1_000_000
_READ_ATTEMPTS = 20  # a read-only open that meets a compaction commit starts over, this many times at most

Point = tuple[float, float, float, float, float]


@dataclass
class SeriesResult:
    """One series of a query: points are (bucket start s, min, avg, max, last), empty buckets left out."""

    name: str
    labels: dict[str, str]
    points: list[Point] = field(default_factory=list)


@dataclass
class _Part:
    seg: int
    ts: np.ndarray  # int64 ms
    ids: np.ndarray  # uint32
    values: np.ndarray  # float64


@dataclass
class _Chunks:
    # zstd chunks of raw samples in block order, with their block's format and shared cycle times
    raw: list[tuple[bytes, int, np.ndarray | None]] = field(default_factory=list)
    rolls: list[bytes] = field(default_factory=list)  # zstd chunks of rollup rows
    head: list[tuple[np.ndarray, np.ndarray]] = field(default_factory=list)  # (times ms, values) copies


@dataclass
class _Series:
    name: str
    labels: Labels
    labels_dict: dict[str, str]


def _ms(t: float, what: str) -> int:
    if not math.isfinite(t):
        raise StoreError(f"{what} must be a finite number of seconds, got {t!r}")
    return int(round(t * 1000))


class MetricsStore:
    def __init__(
        self,
        directory: Path,
        *,
        raw_retention_s: float = 14 * 86400,
        rollup_step_s: int = 300,
        rollup_retention_s: float = 400 * 86400,
        clock: Callable[[], float] = time.time,
        sync: bool = True,
        block_format: int = blk.FORMAT,
        read_only: bool = False,
    ):
        if rollup_step_s <= 0 or raw_retention_s <= 0 or rollup_retention_s <= 0:
            raise StoreError("metrics store retention and rollup step must be positive")
        if block_format not in (1, 2):
            raise StoreError(f"metrics store block format must be 1 or 2, got {block_format}")
        # Format 1 is kept writable only so tests and bench/bench_store.py can set old against new.
        self.block_format = block_format
        self.directory = Path(directory)
        self.raw_retention_ms = _ms(raw_retention_s, "raw_retention_s")
        self.rollup_step_ms = int(rollup_step_s) * 1000
        self.rollup_retention_ms = _ms(rollup_retention_s, "rollup_retention_s")
        self.clock = clock
        self.sync = sync
        self._lock = threading.RLock()
        self._closed = False
        self._ids: dict[tuple[str, Labels], int] = {}
        self._series: list[_Series] = []
        self._by_name: dict[str, list[int]] = {}
        self._last_ts = np.full(64, _NO_TIME, dtype=np.int64)
        self._last_val = np.zeros(64, dtype=np.float64)
        self._parts: list[_Part] = []
        self._fresh = 0
        self.blocks_dir = self.directory / "blocks"
        self.wal_dir = self.directory / "wal"
        self.read_only = read_only
        self._maintainer = Maintainer(self)
        if read_only:
            self._lock_fd = -1
            self._open_read_only()
            return
        try:
            # Private (0700 directories, 0600 files): series names and labels describe the host.
            self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
            self.blocks_dir.mkdir(exist_ok=True, mode=0o700)
            self.wal_dir.mkdir(exist_ok=True, mode=0o700)
            self._lock_fd = os.open(self.directory / "LOCK", os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as e:
            raise StoreError(f"cannot open metrics store {self.directory}: {e.strerror}") from e
        try:
            fcntl.flock(self._lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as e:
            os.close(self._lock_fd)
            raise StoreError(f"metrics store {self.directory} is in use by another process") from e
        try:
            self._open()
        except BaseException:
            self._release()
            raise

    @classmethod
    def open_read_only(cls, directory: Path, **settings: Any) -> MetricsStore:
        """The store as it is now, for a process beside the writer: takes no lock and writes nothing.
        Queries work; append and maintain raise StoreError."""
        return cls(directory, read_only=True, sync=False, **settings)

    # ---- opening and recovery -------------------------------------------------------------

    def _open(self) -> None:
        manifest = blk.read_manifest(self.directory / "MANIFEST.json")
        live = set(manifest.blocks)
        top = manifest.next_block
        for p in self.blocks_dir.iterdir():
            if p.name.startswith(".tmp-"):
                p.unlink()
            elif p.suffix == ".blk" and p.stem.isdigit():
                top = max(top, int(p.stem) + 1)
                if int(p.stem) not in live:
                    # Written by a maintain() that never committed, or replaced by one that did.
                    p.unlink()
        self.next_block = top
        self.wal_upto = manifest.wal_upto
        self.blocks: list[blk.Block] = []
        for bid in sorted(live):
            path = self.blocks_dir / blk.block_name(bid)
            if not path.exists():
                raise StoreError(f"metrics store manifest lists missing block {path.name}")
            self.blocks.append(blk.Block(path))
        for record in wal.recover(self.directory / "series.log"):
            sid, name, labels = json.loads(record)
            self._register(sid, name, tuple((k, v) for k, v in labels))
        for b in self.blocks:
            self._note_latest(b.table["tmax"], b.table["sid"], b.table["last"])
        segs = sorted(int(p.stem) for p in self.wal_dir.glob("*.log") if p.stem.isdigit())
        for seg in segs:
            if seg <= self.wal_upto:
                self._seg_path(seg).unlink()
                continue
            for record in wal.recover(self._seg_path(seg)):
                self._replay(seg, record)
        self.seg = max([self.wal_upto, *segs]) + 1
        self._series_log = wal.LogWriter(self.directory / "series.log", sync=self.sync)
        self._wal = wal.LogWriter(self._seg_path(self.seg), sync=self.sync)

    def _open_read_only(self) -> None:
        if not self.directory.is_dir():
            raise StoreError(f"metrics store {self.directory} does not exist")
        for _ in range(_READ_ATTEMPTS):
            manifest = blk.read_manifest(self.directory / "MANIFEST.json")
            opened: list[blk.Block] = []
            try:
                for bid in sorted(manifest.blocks):
                    opened.append(blk.Block(self.blocks_dir / blk.block_name(bid)))
                records = self._read_wal(manifest.wal_upto)
            except StoreError:
                for b in opened:
                    b.close()
                if blk.read_manifest(self.directory / "MANIFEST.json") == manifest:
                    raise  # not a commit under us: a damaged block
                continue  # a merge removed a block, or a flush a segment, after the manifest was read
            definitions = wal.read_intact(self.directory / "series.log")
            if blk.read_manifest(self.directory / "MANIFEST.json") != manifest:
                for b in opened:
                    b.close()
                continue
            break
        else:
            raise StoreError(f"metrics store {self.directory} kept changing while it was read; try again")
        self.blocks = opened
        self.wal_upto = manifest.wal_upto
        self.next_block = manifest.next_block
        for record in definitions or []:
            sid, name, labels = json.loads(record)
            self._register(sid, name, tuple((k, v) for k, v in labels))
        for b in self.blocks:
            known = b.table["sid"] < len(self._series)
            self._note_latest(b.table["tmax"][known], b.table["sid"][known], b.table["last"][known])
        for seg, record in records:
            self._replay(seg, record)
        self.seg = max([self.wal_upto, *(seg for seg, _ in records)]) + 1

    def _read_wal(self, upto: int) -> list[tuple[int, bytes]]:
        """The intact records of the segments after `upto`, oldest first, without touching them.
        Raises StoreError when a segment went away while listed (a flush committed meanwhile)."""
        segs = sorted(int(p.stem) for p in self.wal_dir.glob("*.log") if p.stem.isdigit() and int(p.stem) > upto)
        out: list[tuple[int, bytes]] = []
        for seg in segs:
            found = wal.read_intact(self._seg_path(seg))
            if found is None:
                raise StoreError(f"WAL segment {seg} of {self.directory} went away while read")
            out += [(seg, record) for record in found]
        return out

    def _seg_path(self, seg: int) -> Path:
        return self.wal_dir / f"{seg:09d}.log"

    def _replay(self, seg: int, record: bytes) -> None:
        ts, n = _REC.unpack_from(record)
        ids = np.frombuffer(record, dtype="<u4", count=n, offset=_REC.size).astype(np.uint32)
        values = np.frombuffer(record, dtype="<f8", count=n, offset=_REC.size + 4 * n).copy()
        known = ids < len(self._series)
        if not known.all():
            log.warning("WAL segment %d: dropping %d samples of undefined series", seg, int((~known).sum()))
            ids, values = ids[known], values[known]
        self._add_to_head(seg, ts, ids, values)

    def _register(self, sid: int, name: str, labels: Labels) -> None:
        if sid != len(self._series):
            raise StoreError(f"metrics store series.log is out of order at series {sid}")
        self._series.append(_Series(name, labels, dict(labels)))
        self._ids[(name, labels)] = sid
        self._by_name.setdefault(name, []).append(sid)
        if sid >= self._last_ts.size:
            grow = self._last_ts.size
            self._last_ts = np.concatenate((self._last_ts, np.full(grow, _NO_TIME, dtype=np.int64)))
            self._last_val = np.concatenate((self._last_val, np.zeros(grow)))

    # ---- writing ----------------------------------------------------------------------------

    def append(self, timestamp: float, samples: Iterable[Sample]) -> None:
        """Store one collection cycle; it survives a crash of this process once this returns."""
        ts = _ms(timestamp, "timestamp")
        self._check_writable()
        with self._lock:
            self._check_open()
            get = self._ids.get
            ids: list[int] = []
            values: list[float] = []
            new: dict[tuple[str, Labels], int] = {}
            for s in samples:
                key = (s.name, s.labels)
                sid = get(key)
                if sid is None:
                    sid = self._new_series(key, new)
                ids.append(sid)
                values.append(s.value)
            if not ids:
                return
            try:
                v = np.array(values, dtype=np.float64)
            except (TypeError, ValueError) as e:
                raise StoreError(f"sample values must be numbers: {e}") from e
            if new:
                # Definitions reach the disk before any record that uses their ids.
                self._series_log.append(
                    [json.dumps([sid, k[0], [list(p) for p in k[1]]]).encode() for k, sid in new.items()]
                )
                for key, sid in new.items():
                    self._register(sid, *key)
            id_arr = np.array(ids, dtype=np.uint32)
            self._wal.append([_REC.pack(ts, len(ids)) + id_arr.tobytes() + v.tobytes()])
            self._add_to_head(self.seg, ts, id_arr, v)

    def _new_series(self, key: tuple[str, Labels], new: dict[tuple[str, Labels], int]) -> int:
        name, labels = key
        norm = (str(name), tuple(sorted((str(k), str(v)) for k, v in labels)))
        sid = self._ids.get(norm)
        if sid is not None:
            self._ids[key] = sid  # the caller's unsorted labels: remember the alias
            return sid
        if not norm[0]:
            raise StoreError("a sample has an empty metric name")
        sid = new.get(norm)
        if sid is None:
            sid = len(self._series) + len(new)
            new[norm] = sid
        return sid

    def _add_to_head(self, seg: int, ts: int, ids: np.ndarray, values: np.ndarray) -> None:
        self._parts.append(_Part(seg, np.full(ids.size, ts, dtype=np.int64), ids, values))
        self._note_latest(self._parts[-1].ts, ids, values)
        self._fresh += 1
        if self._fresh >= _CONSOLIDATE:
            self._consolidate()

    def _consolidate(self) -> None:
        fresh = self._parts[-self._fresh :]
        del self._parts[-self._fresh :]
        self._fresh = 0
        for seg in sorted({p.seg for p in fresh}):
            ps = [p for p in fresh if p.seg == seg]
            self._parts.append(
                _Part(
                    seg,
                    np.concatenate([p.ts for p in ps]),
                    np.concatenate([p.ids for p in ps]),
                    np.concatenate([p.values for p in ps]),
                )
            )

    def _note_latest(self, ts: np.ndarray, ids: np.ndarray, values: np.ndarray) -> None:
        newer = ts >= self._last_ts[ids]
        if not newer.all():
            ts, ids, values = ts[newer], ids[newer], values[newer]
        self._last_ts[ids] = ts
        self._last_val[ids] = values

    def _rotate_wal(self) -> int:
        """Start a new WAL segment; returns the last one whose cycles are all in the head."""
        with self._lock:
            self._check_open()
            upto = self.seg
            self._wal.close()
            self.seg += 1
            self._wal = wal.LogWriter(self._seg_path(self.seg), sync=self.sync)
            if self._fresh:
                self._consolidate()
            return upto

    def head_snapshot(self, upto: int) -> list[_Part]:
        with self._lock:
            return [p for p in self._parts if p.seg <= upto]

    def commit(self, add: list[blk.Block], remove: list[blk.Block], wal_upto: int | None = None) -> None:
        """Make `add` live and `remove` dead in one manifest rename; then delete what died."""
        if self.sync and add:
            blk.fsync_dir(self.blocks_dir)
        with self._lock:
            gone = {b.id for b in remove}
            new = sorted([b for b in self.blocks if b.id not in gone] + add, key=lambda b: b.id)
            upto = self.wal_upto if wal_upto is None else wal_upto
            try:
                blk.write_manifest(
                    self.directory / "MANIFEST.json",
                    blk.Manifest(upto, self.next_block, tuple(b.id for b in new)),
                    sync=self.sync,
                )
            except StoreError:
                for b in add:
                    b.close()
                    b.path.unlink(missing_ok=True)
                raise
            self.blocks = new
            if wal_upto is not None:
                self.wal_upto = wal_upto
                self._parts = [p for p in self._parts if p.seg > wal_upto]
            for b in remove:
                b.close()
        for b in remove:
            b.path.unlink(missing_ok=True)
        if wal_upto is not None:
            for p in self.wal_dir.glob("*.log"):
                if p.stem.isdigit() and int(p.stem) <= wal_upto:
                    p.unlink(missing_ok=True)

    def maintain(self, now: float | None = None) -> None:
        """Compact the WAL into blocks, build rollups, merge finished windows, apply retention."""
        self._check_open()
        self._check_writable()
        now_ms = _ms(self.clock() if now is None else now, "now")
        self._maintainer.run(now_ms)

    # ---- reading ------------------------------------------------------------------------------

    @staticmethod
    def _matchers(matchers: Mapping[str, str] | None) -> LabelMatchers:
        try:
            return LabelMatchers.parse(matchers)
        except PatternError as e:
            raise StoreError(f"bad label regex: {e}") from e

    def _match(self, name: str, matchers: LabelMatchers) -> list[tuple[int, _Series]]:
        """The series of `name` that `matchers` select. Takes the lock only to copy the candidates:
        matching (RE2, linear but proportional to the labels) runs outside it."""
        with self._lock:
            self._check_open()
            candidates = [(sid, self._series[sid]) for sid in self._by_name.get(name, [])]
        if not matchers:
            return candidates
        return [(sid, s) for sid, s in candidates if matchers.matches(s.labels_dict)]

    def series(self, name: str | None = None) -> list[tuple[str, dict[str, str]]]:
        with self._lock:
            self._check_open()
            found = self._series if name is None else [self._series[i] for i in self._by_name.get(name, [])]
            out = [(s.name, dict(s.labels_dict)) for s in found]
            return sorted(out, key=lambda x: (x[0], sorted(x[1].items())))

    def latest(
        self, name: str, matchers: Mapping[str, str] | None = None
    ) -> list[tuple[dict[str, str], float, float]]:
        """Labels, time (s) and value of the newest sample of each matching series."""
        found = self._match(name, self._matchers(matchers))
        out = []
        with self._lock:
            self._check_open()
            for sid, s in found:
                t = int(self._last_ts[sid])
                if t != _NO_TIME:
                    out.append((dict(s.labels_dict), t / 1000.0, float(self._last_val[sid])))
        return sorted(out, key=lambda x: sorted(x[0].items()))

    def query(
        self, name: str, matchers: Mapping[str, str] | None, start: float, end: float, step: float
    ) -> list[SeriesResult]:
        """Buckets [start + k*step, start + (k+1)*step) up to `end` (exclusive), per matching series."""
        s_ms, e_ms, st_ms = _ms(start, "start"), _ms(end, "end"), _ms(step, "step")
        if st_ms <= 0:
            raise StoreError(f"query step must be positive, got {step}")
        if e_ms <= s_ms:
            return []
        if (e_ms - s_ms) // st_ms > MAX_BUCKETS:
            raise StoreError(f"query asks for more than {MAX_BUCKETS} steps; use a larger step")
        results = []
        # The lock is held per series, and only to read its compressed chunks and copy its head
        # samples; decompression and aggregation run outside it, so a query over many series or
        # a long range never keeps the collection loop's append waiting for more than that.
        for sid, s in self._match(name, self._matchers(matchers)):
            with self._lock:
                self._check_open()
                chunks = self._chunks(sid, s_ms, e_ms)
            ts, values, rolls = self._decode(chunks)
            points = aggregate(ts, values, rolls, s_ms, e_ms, st_ms, self.rollup_step_ms)
            if points:
                results.append(SeriesResult(s.name, dict(s.labels_dict), points))
        results.sort(key=lambda r: sorted(r.labels.items()))
        return results

    def _chunks(self, sid: int, s_ms: int, e_ms: int) -> _Chunks:
        """What a query needs of one series, read under the lock: compressed chunks from blocks,
        copies of its samples in the head."""
        chunks = _Chunks()
        for b in self.blocks:
            if b.hi <= s_ms or b.lo >= e_ms:
                continue
            row = b.row(sid)
            if row is None or row["tmax"] < s_ms or row["tmin"] >= e_ms:
                continue
            try:
                if b.has_raw:
                    chunks.raw.append((b.raw_compressed(row), b.version, b.times))
                else:
                    chunks.rolls.append(b.roll_compressed(row))
            except OSError as e:
                raise StoreError(f"cannot read block {b.path.name}: {e.strerror}") from e
        for p in self._parts:
            m = p.ids == sid
            if m.any():
                chunks.head.append((p.ts[m], p.values[m]))
        return chunks

    @staticmethod
    def _decode(chunks: _Chunks) -> tuple[np.ndarray, np.ndarray, list]:
        decoded = [blk.decode_raw(*raw) for raw in chunks.raw] + chunks.head
        rolls = [blk.decode_rollup(data) for data in chunks.rolls]
        ts_parts = [t for t, _ in decoded]
        v_parts = [v for _, v in decoded]
        if not ts_parts:
            return np.zeros(0, dtype=np.int64), np.zeros(0), rolls
        ts = np.concatenate(ts_parts)
        values = np.concatenate(v_parts)
        if ts.size > 1 and bool((np.diff(ts) < 0).any()):
            order = np.argsort(ts, kind="stable")
            ts, values = ts[order], values[order]
        return ts, values, rolls

    def stats(self) -> dict:
        with self._lock:
            self._check_open()
            head = sum(p.ids.size for p in self._parts)
            raw_blocks = sum(b.raw_samples for b in self.blocks)
            rolled = sum(int(b.table["count"].sum()) for b in self.blocks if not b.has_raw)
            raw_bytes = sum(b.raw_bytes for b in self.blocks if b.has_raw)
            rows = sum(int(b.table["rows"].sum()) for b in self.blocks)
            disk = sum(p.stat().st_size for p in self.directory.rglob("*") if p.is_file())
            samples = raw_blocks + head
            return {
                "series": len(self._series),
                "samples": samples,
                "head_samples": head,
                "block_samples": raw_blocks,
                "rollup_samples": rolled,
                "rollup_rows": rows,
                "blocks": len(self.blocks),
                "bytes_on_disk": disk,
                "bytes_per_sample": disk / samples if samples else 0.0,
                "raw_bytes_per_sample": raw_bytes / raw_blocks if raw_blocks else 0.0,
            }

    # ---- closing -----------------------------------------------------------------------------

    def _check_open(self) -> None:
        if self._closed:
            raise StoreError(f"metrics store {self.directory} is closed")

    def _check_writable(self) -> None:
        if self.read_only:
            raise StoreError(f"metrics store {self.directory} is open read-only")

    def close(self) -> None:
        with self._maintainer.lock, self._lock:
            if self._closed:
                return
            self._closed = True
            for b in self.blocks:
                b.close()
            if self.read_only:
                return
            self._wal.close()
            self._series_log.close()
            self._release()

    def _release(self) -> None:
        try:
            fcntl.flock(self._lock_fd, fcntl.LOCK_UN)
        finally:
            os.close(self._lock_fd)

    def __enter__(self) -> MetricsStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
