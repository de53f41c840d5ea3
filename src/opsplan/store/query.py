"""Step aggregation of one series: raw samples and rollup rows into min/avg/max/last per bucket."""

from __future__ import annotations

import numpy as np

from opsplan.store.codec import Rollup

Point = tuple[float, float, float, float, float]


def aggregate(
    ts: np.ndarray,
    values: np.ndarray,
    rolls: list[Rollup],
    s_ms: int,
    e_ms: int,
    st_ms: int,
    roll_ms: int,
) -> list[Point]:
    """Points (bucket start s, min, avg, max, last) for non-empty buckets of [s_ms, e_ms).

    `ts` is sorted. Rollup rows count in the bucket that holds their start; their `last` is
    taken to be at the end of their own step, which is what decides `last` in a bucket that
    mixes rollups and raw samples.
    """
    cols: list[tuple[np.ndarray, ...]] = []
    if ts.size:
        i0, i1 = np.searchsorted(ts, [s_ms, e_ms])
        ts, values = ts[i0:i1], values[i0:i1]
    if ts.size:
        b = (ts - s_ms) // st_ms
        starts = np.concatenate(([0], np.flatnonzero(np.diff(b)) + 1))
        ends = np.concatenate((starts[1:], [ts.size]))
        cols.append(
            (
                b[starts],
                np.minimum.reduceat(values, starts),
                np.maximum.reduceat(values, starts),
                np.add.reduceat(values, starts),
                (ends - starts).astype(np.int64),
                values[ends - 1],
                ts[ends - 1],
            )
        )
    for t, mn, mx, sm, cnt, last in rolls:
        keep = (t >= s_ms) & (t < e_ms)
        if keep.any():
            t = t[keep]
            qb = (t - s_ms) // st_ms
            cols.append((qb, mn[keep], mx[keep], sm[keep], cnt[keep], last[keep], t + roll_ms - 1))
    if not cols:
        return []
    if len(cols) == 1 and not rolls:
        qb, mn, mx, sm, cnt, last, _ = cols[0]
    else:
        qb, mn, mx, sm, cnt, last, key = (np.concatenate([c[i] for c in cols]) for i in range(7))
        order = np.lexsort((key, qb))
        qb, mn, mx, sm, cnt, last = qb[order], mn[order], mx[order], sm[order], cnt[order], last[order]
        starts = np.concatenate(([0], np.flatnonzero(np.diff(qb)) + 1))
        ends = np.concatenate((starts[1:], [qb.size]))
        qb = qb[starts]
        mn = np.minimum.reduceat(mn, starts)
        mx = np.maximum.reduceat(mx, starts)
        sm = np.add.reduceat(sm, starts)
        cnt = np.add.reduceat(cnt, starts)
        last = last[ends - 1]
    t_s = (s_ms + qb * st_ms) / 1000.0
    avg = sm / cnt
    return list(zip(t_s.tolist(), mn.tolist(), avg.tolist(), mx.tolist(), last.tolist(), strict=True))
