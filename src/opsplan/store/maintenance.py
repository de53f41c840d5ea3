"""Compaction, merging and retention of the metrics store's blocks.

Every step writes its new blocks first and then commits them with one manifest rename, so a
process killed anywhere in here leaves the store as it was before the step or after it.
Block building reads immutable files and a snapshot of the head, so appends and queries only
wait for the short commit, not for the compression.
"""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING

import numpy as np
import zstandard

from opsplan.store import blocks as blk
from opsplan.store import codec

if TYPE_CHECKING:
    from opsplan.store.metrics import MetricsStore

log = logging.getLogger(__name__)

HOUR_MS = 3_600_000
DAY_MS = 24 * HOUR_MS
# Window of each merge level. Level 0 blocks come from the head and never span a level-1
# window; the windows nest, so a block always fits in one window of every higher level.
WINDOWS = {1: 2 * HOUR_MS, 2: DAY_MS, 3: 32 * DAY_MS}
RAWLESS_ONLY_LEVEL = 3  # 32-day blocks would have to be rewritten when raw expires: rollups only
_LEVEL_ZSTD = {0: 3, 1: 6, 2: 12, 3: 12}


class Maintainer:
    def __init__(self, store: MetricsStore):
        self.store = store
        self.lock = threading.Lock()

    def run(self, now_ms: int) -> None:
        with self.lock:
            self.store._check_open()
            self._flush_head()
            self._expire(now_ms)
            for level in sorted(WINDOWS):
                self._merge(level, now_ms)

    # ---- steps ------------------------------------------------------------------------------

    def _flush_head(self) -> None:
        st = self.store
        upto = st._rotate_wal()
        parts = st.head_snapshot(upto)
        if not parts:
            st.commit([], [], wal_upto=upto)
            return
        ts = np.concatenate([p.ts for p in parts])
        ids = np.concatenate([p.ids for p in parts])
        values = np.concatenate([p.values for p in parts])
        window = ts // WINDOWS[1]
        order = np.lexsort((ts, ids, window))  # stable: equal times keep append order
        ts, ids, values, window = ts[order], ids[order], values[order], window[order]
        cut = np.flatnonzero((np.diff(ids) != 0) | (np.diff(window) != 0)) + 1
        starts = np.concatenate(([0], cut))
        ends = np.concatenate((cut, [ts.size]))
        win_cut = np.flatnonzero(np.diff(window) != 0) + 1
        win_starts = np.concatenate(([0], win_cut)).tolist()
        win_ends = np.concatenate((win_cut, [ts.size])).tolist()
        cctx = zstandard.ZstdCompressor(level=_LEVEL_ZSTD[0], write_checksum=True)
        new: list[blk.Block] = []
        entries: list[blk.Entry] = []
        w = 0
        shared = np.unique(ts[win_starts[0] : win_ends[0]])
        for a, b in zip(starts.tolist(), ends.tolist(), strict=True):
            entries.append(self._raw_entry(int(ids[a]), ts[a:b], values[a:b], shared, cctx))
            if b == win_ends[w]:
                new.append(self._write(0, True, entries, shared, cctx))
                entries = []
                w += 1
                if w < len(win_starts):
                    shared = np.unique(ts[win_starts[w] : win_ends[w]])
        st.commit(new, [], wal_upto=upto)

    def _expire(self, now_ms: int) -> None:
        st = self.store
        raw_cut = now_ms - st.raw_retention_ms
        roll_cut = now_ms - st.rollup_retention_ms
        add: list[blk.Block] = []
        remove: list[blk.Block] = []
        for b in list(st.blocks):
            if b.hi <= roll_cut:
                remove.append(b)
            elif b.has_raw and b.hi <= raw_cut:
                cctx = zstandard.ZstdCompressor(level=_LEVEL_ZSTD[b.level], write_checksum=True)
                add.append(self._write(b.level, False, [self._rollup_entry(b, r, cctx) for r in b.table]))
                remove.append(b)
        if add or remove:
            expired = len(remove) - len(add)
            log.info("metrics retention: %d blocks lose raw samples, %d expire", len(add), expired)
            st.commit(add, remove)

    def _merge(self, level: int, now_ms: int) -> None:
        st = self.store
        w = WINDOWS[level]
        groups: dict[tuple[int, bool], list[blk.Block]] = {}
        for b in st.blocks:
            if b.level > level or b.lo // w != (b.hi - 1) // w:
                continue
            if level == RAWLESS_ONLY_LEVEL and b.has_raw:
                continue
            groups.setdefault((b.lo // w, b.has_raw), []).append(b)
        for (win, has_raw), group in sorted(groups.items()):
            if len(group) < 2 or (win + 1) * w > now_ms:
                continue
            merged = self._merge_group(level, has_raw, group)
            st.commit([merged], group)

    # ---- building -------------------------------------------------------------------------------

    def _merge_group(self, level: int, has_raw: bool, group: list[blk.Block]) -> blk.Block:
        group = sorted(group, key=lambda b: b.id)
        cctx = zstandard.ZstdCompressor(level=_LEVEL_ZSTD[level], write_checksum=True)
        sids = np.unique(np.concatenate([b.table["sid"] for b in group]))
        entries = []
        shared = np.unique(np.concatenate([_cycle_times(b) for b in group])) if has_raw else None
        for sid in sids.tolist():
            rows = [(b, r) for b in group if (r := b.row(sid)) is not None]
            if has_raw:
                raws = [b.read_raw(r) for b, r in rows]
                ts = np.concatenate([t for t, _ in raws])
                values = np.concatenate([v for _, v in raws])
                order = np.argsort(ts, kind="stable")
                entries.append(self._raw_entry(sid, ts[order], values[order], shared, cctx))
            else:
                roll = codec.merge_rollups([b.read_rollup(r) for b, r in rows])
                newest = max(rows, key=lambda br: (int(br[1]["tmax"]), br[0].id))[1]
                entries.append(
                    blk.Entry(
                        sid,
                        sum(int(r["count"]) for _, r in rows),
                        int(roll[0].size),
                        min(int(r["tmin"]) for _, r in rows),
                        int(newest["tmax"]),
                        float(newest["last"]),
                        None,
                        cctx.compress(codec.encode_rollup(roll, packed=self._v2)),
                    )
                )
        return self._write(level, has_raw, entries, shared, cctx)

    @property
    def _v2(self) -> bool:
        return self.store.block_format != 1

    def _rollup_entry(self, b: blk.Block, r: np.void, cctx: zstandard.ZstdCompressor) -> blk.Entry:
        """What stays of one series of raw block `b` once its raw samples go: its rollups, built
        now from the raw samples (format 2), or as stored beside them (format 1)."""
        if int(r["roll_len"]):
            roll_rows, roll = int(r["rows"]), b.roll_compressed(r)
        else:
            rows = codec.rollup(*b.read_raw(r), self.store.rollup_step_ms)
            roll_rows, roll = int(rows[0].size), cctx.compress(codec.encode_rollup(rows, packed=self._v2))
        return blk.Entry(
            int(r["sid"]), int(r["count"]), roll_rows, int(r["tmin"]), int(r["tmax"]), float(r["last"]), None, roll
        )

    def _raw_entry(
        self,
        sid: int,
        ts: np.ndarray,
        values: np.ndarray,
        shared: np.ndarray | None,
        cctx: zstandard.ZstdCompressor,
    ) -> blk.Entry:
        if self._v2:
            # No rollups beside raw samples: queries read the raw ones while they last, and the
            # rollups are built once, from them, when raw retention drops them (`_rollup_entry`).
            raw, rows, roll = codec.encode_raw(ts, values, shared), 0, b""
        else:
            rollup = codec.rollup(ts, values, self.store.rollup_step_ms)
            raw, rows = codec.encode_raw_v1(ts, values), int(rollup[0].size)
            roll = cctx.compress(codec.encode_rollup(rollup, packed=False))
        return blk.Entry(
            sid, int(ts.size), rows, int(ts[0]), int(ts[-1]), float(values[-1]), cctx.compress(raw), roll
        )

    def _write(
        self,
        level: int,
        has_raw: bool,
        entries: list[blk.Entry],
        shared: np.ndarray | None = None,
        cctx: zstandard.ZstdCompressor | None = None,
    ) -> blk.Block:
        st = self.store
        bid = st.next_block
        st.next_block += 1
        times = None
        if has_raw and shared is not None and cctx is not None and self._v2:
            times = cctx.compress(codec.encode_ints(shared))
        return blk.write_block(
            st.blocks_dir, bid, level, has_raw, entries, sync=st.sync, times=times, version=st.block_format
        )


def _cycle_times(b: blk.Block) -> np.ndarray:
    """Every sample time in raw block `b`: its stored cycle times, or (format 1) its series' times."""
    times = b.times
    if times is not None:
        return times
    return np.unique(np.concatenate([b.read_raw(r)[0] for r in b.table] or [np.zeros(0, np.int64)]))
