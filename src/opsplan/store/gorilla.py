"""Gorilla-style packing of full-precision floats, vectorised with numpy.

Each value is XORed with the previous one (the first with 0). A zero XOR (the value repeated)
costs one control byte and no bits; otherwise only its meaningful bits, between the leading and
the trailing zeros, go into a bit stream. Gorilla interleaves the control bits and the zero counts
with the value bits, which makes decoding a loop over every sample; here they are two byte
columns (meaningful length, trailing zeros) in front of the bit stream, so every offset is a
cumulative sum and both directions run as whole-array numpy operations. The byte columns repeat
the way Gorilla's "same window" control bit exploits, and the block's zstd frame squeezes them.
Trailing zeros are only cut when they are worth their column: floats computed at full precision
(ratios) have almost none, while integers and halves mixed with a NaN have dozens.

Layout: count (u4), flags (u1: 1 = trailing-zero column present), `count` bytes of meaningful
lengths (0..64, 0 = same value as before), then, if flagged, `count` bytes of trailing-zero
counts, then the meaningful bits, most significant first, packed.
"""

from __future__ import annotations

import struct

import numpy as np

from opsplan.errors import StoreError

_HEAD = struct.Struct("<IB")
_TRIMMED = 1
_U64 = np.uint64


def _bit_length(x: np.ndarray) -> np.ndarray:
    """Bits needed for each uint64 (0 for 0), exactly: each 32-bit half is exact in a float64."""
    hi = (x >> _U64(32)).astype(np.float64)
    lo = (x & _U64(0xFFFFFFFF)).astype(np.float64)
    hi_len = np.frexp(hi)[1].astype(np.int64)
    lo_len = np.frexp(lo)[1].astype(np.int64)
    return np.where(hi_len > 0, hi_len + 32, lo_len)


def xor_with_previous(v: np.ndarray) -> np.ndarray:
    bits = np.ascontiguousarray(v, dtype=np.float64).view(_U64)
    x = bits.copy()
    x[1:] ^= bits[:-1]
    return x


def columns(x: np.ndarray) -> tuple[np.ndarray, np.ndarray, bool]:
    """Meaningful length and trailing zeros of each XOR, and whether cutting the zeros pays."""
    nonzero = x != 0
    lowest = x & (~x + _U64(1))  # the lowest set bit alone (two's complement)
    trailing = np.where(nonzero, _bit_length(lowest) - 1, 0)
    # A byte column costs about half a byte a value after zstd: worth it from ~4 zero bits on.
    if int(trailing.sum()) > 4 * int(nonzero.sum()):
        return np.where(nonzero, _bit_length(x) - trailing, 0), trailing, True
    return _bit_length(x), np.zeros_like(trailing), False


def encode(v: np.ndarray) -> bytes:
    x = xor_with_previous(v)
    n = x.size
    length, trailing, trimmed = columns(x)
    meaningful = x >> trailing.astype(_U64)
    # One row of 64 bits per value, most significant first; keep each row's last `length` bits.
    rows = np.unpackbits(meaningful.astype(">u8").view(np.uint8).reshape(n, 8), axis=1)
    keep = np.arange(64) >= (64 - length)[:, None]
    packed = np.packbits(rows[keep]).tobytes()
    trail_col = trailing.astype(np.uint8).tobytes() if trimmed else b""
    return _HEAD.pack(n, _TRIMMED if trimmed else 0) + length.astype(np.uint8).tobytes() + trail_col + packed


def decode(buf: memoryview, pos: int) -> tuple[np.ndarray, int]:
    n, flags = _HEAD.unpack_from(buf, pos)
    pos += _HEAD.size
    cols = 2 if flags & _TRIMMED else 1
    if pos + cols * n > len(buf):
        raise StoreError("corrupt chunk: float columns run past its end")
    length = np.frombuffer(buf, dtype=np.uint8, count=n, offset=pos).astype(np.int64)
    if cols == 2:
        trailing = np.frombuffer(buf, dtype=np.uint8, count=n, offset=pos + n).astype(np.int64)
    else:
        trailing = np.zeros(n, dtype=np.int64)
    pos += cols * n
    if n and (int(length.max()) > 64 or int((length + trailing).max()) > 64):
        raise StoreError("corrupt chunk: float bit lengths out of range")
    ends = np.cumsum(length)
    total = int(ends[-1]) if n else 0
    nbytes = (total + 7) // 8
    if pos + nbytes > len(buf):
        raise StoreError("corrupt chunk: float bits run past its end")
    # Nine bytes from each value's first byte hold all its bits whatever its shift within that byte.
    stream = np.zeros(nbytes + 9, dtype=np.uint8)
    stream[:nbytes] = np.frombuffer(buf, dtype=np.uint8, count=nbytes, offset=pos)
    starts = ends - length
    first = starts >> 3
    shift = (starts & 7).astype(_U64)
    window = stream[first[:, None] + np.arange(8)]
    word = np.ascontiguousarray(window).view(">u8").ravel().astype(_U64)
    spill = stream[first + 8].astype(_U64)
    word = (word << shift) | (spill >> (_U64(8) - shift))
    meaningful = word >> (64 - np.maximum(length, 1)).astype(_U64)
    x = np.where(length > 0, meaningful << trailing.astype(_U64), _U64(0))
    return np.bitwise_xor.accumulate(x).view(np.float64), pos + nbytes
