"""Block format 2 of the metrics store: shared cycle times, Gorilla-packed floats, old blocks still read."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import zstandard
from hypothesis import given, settings
from hypothesis import strategies as st

import store_v1_fixture as v1
from opsplan.errors import StoreError
from opsplan.metrics import Sample, sample
from opsplan.store import MetricsStore, codec, gorilla

FIXTURE = Path(__file__).resolve().parents[1] / "data" / "store_v1"
T0 = v1.T0


def bits(a: object) -> list[int]:
    return np.asarray(a, dtype=np.float64).view(np.uint64).tolist()


# Any 64-bit pattern is a float: NaNs with payloads, both zeros, infinities, subnormals.
any_float = st.integers(0, 2**64 - 1).map(lambda b: float(np.uint64(b).view(np.float64)))
some_floats = st.lists(st.one_of(any_float, st.floats(), st.integers(-1000, 1000).map(float)), max_size=300)


@settings(max_examples=300, deadline=None)
@given(some_floats)
def test_floats_round_trip_bit_for_bit_in_every_encoding(values: list[float]) -> None:
    v = np.array(values, dtype=np.float64)
    g = gorilla.encode(v)
    back, end = gorilla.decode(memoryview(g), 0)
    assert end == len(g) and bits(back) == bits(v)
    for packed in (True, False):
        enc = codec.encode_floats(v, packed=packed)
        back, end = codec.decode_floats(memoryview(enc), 0)
        assert end == len(enc) and bits(back) == bits(v)


@settings(max_examples=100, deadline=None)
@given(some_floats, st.booleans())
def test_raw_chunks_round_trip_with_shared_or_own_times(values: list[float], every_cycle: bool) -> None:
    v = np.array(values, dtype=np.float64)
    shared = np.cumsum(np.full(v.size + 1, 15_000, dtype=np.int64)) + 7
    ts = shared[: v.size] if every_cycle else shared[1:]
    ts_back, v_back = codec.decode_raw(codec.encode_raw(ts, v, shared[: v.size]), shared[: v.size])
    assert ts_back.tolist() == ts.tolist() and bits(v_back) == bits(v)


def test_a_chunk_that_needs_missing_cycle_times_is_a_store_error() -> None:
    chunk = codec.encode_raw(np.array([1, 2]), np.array([1.0, 2.0]), np.array([1, 2]))
    with pytest.raises(StoreError, match="cycle times"):
        codec.decode_raw(chunk, None)
    with pytest.raises(StoreError, match="differ in number"):
        codec.decode_raw(chunk, np.array([1, 2, 3]))


@pytest.mark.parametrize("kind", ["ratio", "integers with a NaN", "few bits"])
def test_float_chunks_are_never_bigger_than_format_1s(kind: str) -> None:
    rng = np.random.default_rng(5)
    if kind == "ratio":
        v = np.cumsum(rng.normal(0, 1.5, 5000)) / 97
    elif kind == "integers with a NaN":  # a gauge with one failed read has no decimal form
        v = np.cumsum(rng.integers(-3, 4, 5000)).astype(np.float64) + 500
        v[100] = np.nan
    else:  # values that differ only in a few high mantissa bits: the bit packing's best case
        v = np.where(rng.random(5000) < 0.5, 1.0, 1.0 + 2.0**-3) * np.where(rng.random(5000) < 0.5, 1, 3)
        v[0] = np.inf
    z = zstandard.ZstdCompressor(level=3)
    new = len(z.compress(codec.encode_floats(v)))
    old = len(z.compress(codec.encode_floats(v, packed=False)))
    assert new <= old


def held_ratio(rng: np.random.Generator) -> np.ndarray:
    return np.repeat(rng.random(100) / 7, 50)  # recomputed every 50 cycles, held in between


def mostly_unavailable(rng: np.random.Generator) -> np.ndarray:
    return np.where(rng.random(5000) < 0.9, np.nan, rng.random(5000))  # a source that rarely answers


@pytest.mark.parametrize("make", [held_ratio, mostly_unavailable])
def test_gorilla_packing_shrinks_floats_that_repeat_between_changes(make, tmp_path: Path) -> None:
    v = make(np.random.default_rng(1))
    z = zstandard.ZstdCompressor(level=3)
    assert len(z.compress(codec.encode_floats(v))) < 0.9 * len(z.compress(codec.encode_floats(v, packed=False)))
    # And through the store: the samples come back bit for bit from a format 2 block.
    with MetricsStore(tmp_path / "m", clock=lambda: T0) as st_:
        for i, x in enumerate(v[:400].tolist()):
            st_.append(T0 + 15 * i, [sample("r", x)])
        st_.maintain(T0 + 86400)
        assert st_.stats()["head_samples"] == 0
        points = st_.query("r", None, T0, T0 + 15 * 400, 15)[0].points
    kept = v[:400]
    assert [np.float64(p[4]).view(np.uint64) for p in points] == kept.view(np.uint64).tolist()


def write_cycles(st_: MetricsStore, start: int, stop: int) -> None:
    for i in range(start, stop):
        st_.append(v1.cycle_time(i), [Sample(n, val, labels) for (n, labels), val in v1.series(i).items()])


def raw_points(store: MetricsStore, name: str, lo: int, hi: int) -> tuple[list[float], list[int]]:
    """Cycle and value bits of every sample of cycles lo..hi-1 (15 s buckets: one cycle each)."""
    res = store.query(name, None, T0 + 15 * lo, T0 + 15 * hi, 15)
    return [p[0] for p in res[0].points], [np.float64(p[4]).view(np.uint64) for p in res[0].points]


def expected(name: str, lo: int, hi: int) -> tuple[list[float], list[int]]:
    """What `raw_points` should give: the cycle's bucket start and the value's bits."""
    cycles = [i for i in range(lo, hi) if name in {n for n, _ in v1.series(i)}]
    values = [v for i in cycles for (n, _), v in v1.series(i).items() if n == name]
    return [T0 + 15 * i for i in cycles], [np.float64(v).view(np.uint64) for v in values]


def expected_times(name: str, lo: int, hi: int) -> list[object]:
    return [pytest.approx(v1.cycle_time(i), abs=1e-4) for i in range(lo, hi) if name in {n for n, _ in v1.series(i)}]


def sample_times(store: MetricsStore, name: str, lo: int, hi: int) -> list[float]:
    """Times of the samples of cycles lo..hi-1 to the millisecond (1 ms buckets, so keep it short)."""
    res = store.query(name, None, T0 + 15 * lo, T0 + 15 * hi, 0.001)
    return [p[0] for p in res[0].points]


def five_minute_lasts(store: MetricsStore, name: str) -> list[tuple[float, float]]:
    res = store.query(name, None, T0, T0 + 2 * 3600, 300)
    return [(p[0], p[4]) for p in res[0].points]


def test_a_store_written_in_block_format_1_opens_answers_and_merges(tmp_path: Path) -> None:
    d = tmp_path / "m"
    shutil.copytree(FIXTURE, d)
    clock = [v1.NOW]
    with MetricsStore(d, clock=lambda: clock[0]) as st_:
        assert sorted(b.version for b in st_.blocks) == [1, 1]
        # Second window: raw samples of the old format, exact to the bit.
        for name in ("ratio", "up", "flaky"):
            assert raw_points(st_, name, 480, v1.CYCLES) == expected(name, 480, v1.CYCLES)
            assert sample_times(st_, name, 500, 520) == expected_times(name, 500, 520)
        # First window: only its old rollups remain.
        rolled = five_minute_lasts(st_, "flaky")
        assert len(rolled) == 24 and rolled[-1] == (T0 + 7200 - 300, 479.0)
        assert st_.latest("flaky")[0][2] == 599.0
        # New cycles finish the second window; maintain merges the old raw block with a new one.
        write_cycles(st_, v1.CYCLES, 960)
        clock[0] = v1.cycle_time(960) + 3600
        st_.maintain()
        assert [b.version for b in st_.blocks] == [1, 2]  # old rollups kept as they are, merged raw rewritten
        merged = st_.blocks[-1]
        assert merged.has_raw and merged.times is not None and merged.times.size == 480
        for name in ("ratio", "up", "flaky"):
            assert raw_points(st_, name, 480, 960) == expected(name, 480, 960)
            assert sample_times(st_, name, 590, 610) == expected_times(name, 590, 610)
        assert five_minute_lasts(st_, "flaky") == rolled
    with MetricsStore(d, clock=lambda: clock[0]) as st_:  # and the mix reopens
        assert raw_points(st_, "ratio", 480, 960) == expected("ratio", 480, 960)


def test_series_in_every_cycle_share_the_block_times(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    late = rng.integers(0, 21, 480)  # collection runs up to 20 ms late
    stores = {}
    for fmt in (1, 2):
        with MetricsStore(tmp_path / f"f{fmt}", clock=lambda: T0, block_format=fmt) as st_:
            for c in range(480):
                batch = [sample("up", 1, job=str(j)) for j in range(20)]
                if c % 2:
                    batch.append(sample("sometimes", c))
                st_.append(T0 + 15 * c + late[c] / 1000, batch)
            st_.maintain(T0 + 86400)
            stats = st_.stats()
            stores[fmt] = stats["raw_bytes_per_sample"]
            for name, every in (("sometimes", 2), ("up", 1)):
                pts = st_.query(name, {"job": "3"} if name == "up" else None, T0 + 1500, T0 + 1800, 0.001)
                want = [T0 + 15 * c + late[c] / 1000 for c in range(100, 120) if c % every == every - 1]
                assert [p[0] for p in pts[0].points] == [pytest.approx(t, abs=1e-4) for t in want]
            assert stats["samples"] == 480 * 20 + 240
    # Constant series are nothing but their times: stored once, they cost a fraction.
    assert stores[2] < stores[1] / 4


def five_minute_bits(store: MetricsStore, name: str, start: float, end: float) -> list[list[int]]:
    """Every 5-minute point of every `name` series, as float bits (NaN compares equal to itself)."""
    points = [p for r in store.query(name, None, start, end, 300) for p in r.points]
    return [np.array(p, dtype=np.float64).view(np.uint64).tolist() for p in points]


def test_rollups_built_when_raw_expires_equal_format_1s(tmp_path: Path) -> None:
    special = [float("nan"), -0.0, float("inf"), 0.1 + 0.2]
    answers = {}
    for fmt in (1, 2):
        clock = [T0]
        with MetricsStore(
            tmp_path / f"f{fmt}", clock=lambda c=clock: c[0], raw_retention_s=86400, block_format=fmt
        ) as st_:
            rng = np.random.default_rng(11)
            for c in range(600):
                batch = [
                    sample("load", round(float(rng.normal(50, 9)), 1), h="a"),
                    sample("ratio", float(rng.random()) / 7, h="a"),
                    sample("odd", special[c % 4] if c % 50 == 3 else float(c), h="a"),
                ]
                if c > 300:
                    batch.append(sample("load", float(c), h="late"))
                st_.append(T0 + 15 * c + (c % 5) / 1000, batch)
                if c % 240 == 239:
                    clock[0] = T0 + 15 * c
                    st_.maintain()
            clock[0] = T0 + 2 * 86400  # windows merged, then raw samples older than a day dropped
            st_.maintain()
            assert not any(b.has_raw for b in st_.blocks) and st_.stats()["rollup_rows"] == 3 * 30 + 15
            answers[fmt] = {n: five_minute_bits(st_, n, T0, T0 + 9000) for n in ("load", "ratio", "odd")}
    assert answers[2] == answers[1]
    assert len(answers[2]["load"]) == 30 + 15


def test_format_1_raw_blocks_keep_their_stored_rollups_when_raw_expires(tmp_path: Path) -> None:
    d = tmp_path / "m"
    shutil.copytree(FIXTURE, d)
    clock = [v1.NOW]
    with MetricsStore(d, clock=lambda: clock[0]) as st_:
        before = five_minute_bits(st_, "ratio", T0, v1.END)
        clock[0] = v1.NOW + 30 * 86400
        st_.maintain()
        assert not any(b.has_raw for b in st_.blocks)
        assert five_minute_bits(st_, "ratio", T0, v1.END) == before
