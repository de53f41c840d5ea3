"""Lossless column codecs for the metrics store.

Integers are stored as zigzag deltas of the order (0, 1 or 2) that keeps them narrowest, then
byte-shuffled so that zstd sees long runs of zero bytes. Floats that are short decimals (almost
everything a collector emits: percents with one decimal, byte counts, temperatures) are scaled to
integers and go through the integer codec; the rest are stored as the XOR of their bits with the
previous value, either bit-packed between their leading and trailing zeros (`gorilla`) or
byte-shuffled for zstd, whichever should come out smaller.

Raw chunks come in two versions. Version 1 (block format 1): the series' timestamps, then its
values. Version 2 (block format 2): a flag byte, then the series' own timestamps only when it
was not present in every cycle of its block; otherwise the block's shared cycle times stand for
them and the chunk holds values alone.
"""

from __future__ import annotations

import struct
import threading

import numpy as np
import zstandard

from opsplan.errors import StoreError
from opsplan.store import gorilla

_INT_HEAD = struct.Struct("<BBI")  # order, width, count
_Q = struct.Struct("<q")
_UTYPES: dict[int, str] = {1: "<u1", 2: "<u2", 4: "<u4", 8: "<u8"}
_MAX_EXACT = float(2**53)
_F_DECIMAL = 0
_F_XOR = 1
_F_GORILLA = 2
_OWN_TIMES = 0
_SHARED_TIMES = 1


def _zigzag(x: np.ndarray) -> np.ndarray:
    return ((x << 1) ^ (x >> 63)).view(np.uint64)


def _unzigzag(z: np.ndarray) -> np.ndarray:
    return (z >> np.uint64(1)).astype(np.int64) ^ -((z & np.uint64(1)).astype(np.int64))


def _width(z: np.ndarray) -> int:
    if z.size == 0:
        return 0
    m = int(z.max())
    if m == 0:
        return 0
    if m < 1 << 8:
        return 1
    if m < 1 << 16:
        return 2
    if m < 1 << 32:
        return 4
    return 8


def _shuffle(z: np.ndarray, width: int) -> bytes:
    if width == 0:
        return b""
    a = z.astype(_UTYPES[width])
    # Byte i of every value together: high bytes of small numbers become zero runs.
    return a.view(np.uint8).reshape(a.size, width).T.tobytes()


def _unshuffle(buf: memoryview, pos: int, n: int, width: int) -> tuple[np.ndarray, int]:
    if width == 0:
        return np.zeros(n, dtype=np.uint64), pos
    size = n * width
    raw = np.frombuffer(buf, dtype=np.uint8, count=size, offset=pos)
    a = np.ascontiguousarray(raw.reshape(width, n).T).view(_UTYPES[width]).ravel()
    return a.astype(np.uint64), pos + size


def encode_ints(a: np.ndarray) -> bytes:
    a = np.ascontiguousarray(a, dtype=np.int64)
    n = a.size
    best: tuple[tuple[int, int], int, np.ndarray] | None = None
    cur = a
    for order in range(3 if n >= 3 else 1):
        if order:
            cur = np.diff(cur)
        z = _zigzag(cur)
        w = _width(z)
        cost = (w, int(np.count_nonzero(z)))
        if best is None or cost < best[0]:
            best = (cost, order, z)
    assert best is not None
    _, order, z = best
    w = _width(z)
    firsts = b"".join(_Q.pack(int(x)) for x in _firsts(a, order))
    return _INT_HEAD.pack(order, w, n) + firsts + _shuffle(z, w)


def _firsts(a: np.ndarray, order: int) -> list[int]:
    out = []
    cur = a
    for _ in range(order):
        out.append(int(cur[0]))
        cur = np.diff(cur)
    return out


def decode_ints(buf: memoryview, pos: int) -> tuple[np.ndarray, int]:
    order, w, n = _INT_HEAD.unpack_from(buf, pos)
    pos += _INT_HEAD.size
    firsts = [_Q.unpack_from(buf, pos + 8 * i)[0] for i in range(order)]
    pos += 8 * order
    z, pos = _unshuffle(buf, pos, n - order, w)
    cur = _unzigzag(z)
    for first in reversed(firsts):
        # int64 cumsum wraps exactly like the np.diff that made it, so any input round-trips.
        cur = np.cumsum(np.concatenate((np.array([first], dtype=np.int64), cur)), dtype=np.int64)
    return cur, pos


def _as_decimal(v: np.ndarray) -> tuple[int, np.ndarray] | None:
    """(k, ints) with ints / 10**k == v bit for bit, for the smallest k that works."""
    bits = v.view(np.int64)
    if v.size and bool(np.isfinite(v).all()):
        for k in range(10):
            scale = 10.0**k
            m = np.round(v * scale)
            if float(np.abs(m).max()) >= _MAX_EXACT:
                break
            ints = m.astype(np.int64)
            # Compare bits of what decoding gives (ints / scale), not values: -0.0 has no integer
            # form and must fall through to the XOR encodings, or it would come back as 0.0.
            if np.array_equal((ints.astype(np.float64) / scale).view(np.int64), bits):
                return k, ints
    return None


def encode_floats(v: np.ndarray, *, packed: bool = True) -> bytes:
    """`packed=False` never uses the Gorilla packing: what block format 1 writers produced."""
    v = np.ascontiguousarray(v, dtype=np.float64)
    dec = _as_decimal(v)
    if dec is not None:
        return bytes((_F_DECIMAL, dec[0])) + encode_ints(dec[1])
    x = gorilla.xor_with_previous(v)
    w = _width(x)
    shuffled = bytes((_F_XOR, 0)) + struct.pack("<BI", w, v.size) + _shuffle(x, w)
    if not packed:
        return shuffled
    # zstd on the shuffled bytes often beats the bit packing (it sees the zero bytes the packing
    # removes and more); which one wins depends on the series, so a fast zstd pass decides.
    bitpacked = bytes((_F_GORILLA, 0)) + gorilla.encode(v)
    return bitpacked if _zstd_size(bitpacked) < _zstd_size(shuffled) else shuffled


_local = threading.local()


def _zstd_size(data: bytes) -> int:
    cctx = getattr(_local, "cctx", None)
    if cctx is None:
        cctx = _local.cctx = zstandard.ZstdCompressor(level=1)
    return len(cctx.compress(data))


def decode_floats(buf: memoryview, pos: int) -> tuple[np.ndarray, int]:
    mode, k = buf[pos], buf[pos + 1]
    pos += 2
    if mode == _F_DECIMAL:
        ints, pos = decode_ints(buf, pos)
        return ints.astype(np.float64) / (10.0**k), pos
    if mode == _F_GORILLA:
        return gorilla.decode(buf, pos)
    if mode != _F_XOR:
        raise StoreError(f"corrupt chunk: unknown float encoding {mode}")
    w, n = struct.unpack_from("<BI", buf, pos)
    pos += 5
    x, pos = _unshuffle(buf, pos, n, w)
    bits = np.bitwise_xor.accumulate(x.view(np.int64)) if n else x.view(np.int64)
    return bits.view(np.float64), pos


def encode_raw_v1(ts: np.ndarray, values: np.ndarray) -> bytes:
    return encode_ints(ts) + encode_floats(values, packed=False)


def decode_raw_v1(buf: bytes) -> tuple[np.ndarray, np.ndarray]:
    mv = memoryview(buf)
    ts, pos = decode_ints(mv, 0)
    values, _ = decode_floats(mv, pos)
    return ts, values


def encode_raw(ts: np.ndarray, values: np.ndarray, shared: np.ndarray | None) -> bytes:
    """A version 2 chunk; `shared` is the block's cycle times, used when `ts` is exactly them."""
    if shared is not None and np.array_equal(ts, shared):
        return bytes((_SHARED_TIMES,)) + encode_floats(values)
    return bytes((_OWN_TIMES,)) + encode_ints(ts) + encode_floats(values)


def decode_raw(buf: bytes, shared: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    mv = memoryview(buf)
    if not mv:
        raise StoreError("corrupt chunk: empty raw chunk")
    if mv[0] == _SHARED_TIMES:
        if shared is None:
            raise StoreError("corrupt chunk: uses cycle times its block does not have")
        ts, pos = shared, 1
    elif mv[0] == _OWN_TIMES:
        ts, pos = decode_ints(mv, 1)
    else:
        raise StoreError(f"corrupt chunk: unknown time encoding {mv[0]}")
    values, _ = decode_floats(mv, pos)
    if values.size != ts.size:
        raise StoreError("corrupt chunk: times and values differ in number")
    return ts, values


Rollup = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]
"""Bucket start (ms), min, max, sum, count, last: one row per rollup step."""


def rollup(ts: np.ndarray, values: np.ndarray, step_ms: int) -> Rollup:
    """Rows per step-aligned bucket of time-sorted samples."""
    bucket = ts // step_ms * step_ms
    starts = np.concatenate(([0], np.flatnonzero(np.diff(bucket)) + 1))
    ends = np.concatenate((starts[1:], [ts.size]))
    sums = np.add.reduceat(values, starts)
    dec = _as_decimal(values)
    if dec is not None:
        # Sums of k-decimal values are k-decimal values; float addition leaves noise in the last
        # bits that would cost 8 bytes a row. Summing the scaled integers is exact and compresses.
        k, ints = dec
        exact = np.add.reduceat(ints, starts)
        if float(np.abs(exact).max()) < _MAX_EXACT:
            sums = exact / 10.0**k
    return (
        bucket[starts],
        np.minimum.reduceat(values, starts),
        np.maximum.reduceat(values, starts),
        sums,
        (ends - starts).astype(np.int64),
        values[ends - 1],
    )


def merge_rollups(parts: list[Rollup]) -> Rollup:
    """Combine rows of the same bucket; `last` comes from the latest part, so pass them oldest first."""
    cols = [np.concatenate([p[i] for p in parts]) for i in range(6)]
    order = np.argsort(cols[0], kind="stable")
    t, mn, mx, sm, cnt, last = (c[order] for c in cols)
    starts = np.concatenate(([0], np.flatnonzero(np.diff(t)) + 1))
    ends = np.concatenate((starts[1:], [t.size]))
    return (
        t[starts],
        np.minimum.reduceat(mn, starts),
        np.maximum.reduceat(mx, starts),
        np.add.reduceat(sm, starts),
        np.add.reduceat(cnt, starts),
        last[ends - 1],
    )


def encode_rollup(r: Rollup, *, packed: bool = True) -> bytes:
    t, mn, mx, sm, cnt, last = r
    return b"".join(
        (encode_ints(t), encode_floats(mn, packed=packed), encode_floats(mx, packed=packed),
         encode_floats(sm, packed=packed), encode_ints(cnt), encode_floats(last, packed=packed))
    )


def decode_rollup(buf: bytes) -> Rollup:
    mv = memoryview(buf)
    t, pos = decode_ints(mv, 0)
    mn, pos = decode_floats(mv, pos)
    mx, pos = decode_floats(mv, pos)
    sm, pos = decode_floats(mv, pos)
    cnt, pos = decode_ints(mv, pos)
    last, _ = decode_floats(mv, pos)
    return t, mn, mx, sm, cnt, last
