"""The embedded metrics store, as the web API and `opsplan serve` use it."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from opsplan.errors import StoreError
from opsplan.metrics import Sample, sample
from opsplan.store import MetricsStore

T0 = 1_700_000_100.0  # a multiple of 300 s, so rollup buckets line up with query buckets
DAY = 86400.0


class Clock:
    def __init__(self, t: float = T0):
        self.t = t

    def __call__(self) -> float:
        return self.t


def open_store(path: Path, clock: Clock | None = None, **kw: object) -> MetricsStore:
    return MetricsStore(path, clock=clock or Clock(), **kw)  # type: ignore[arg-type]


def cycles(store: MetricsStore, n: int, *, start: float = T0, series: int = 5, interval: float = 15.0) -> None:
    """n cycles of a gauge with full-precision noise, a counter and a constant per host."""
    rng = np.random.default_rng(7)
    for c in range(n):
        batch = []
        for h in range(series):
            batch.append(sample("cpu", float(rng.normal(40, 9)), host=f"h{h}"))
            batch.append(sample("bytes", c * 1024 + h, host=f"h{h}"))
            batch.append(sample("up", 1, host=f"h{h}"))
        store.append(start + c * interval, batch)


def test_query_gives_min_avg_max_last_per_step(tmp_path: Path) -> None:
    values = [3.0, 1.0, 4.0, 1.5, 5.0, 9.0, 2.0, 6.0]
    with open_store(tmp_path / "m", sync=True) as st:
        for i, v in enumerate(values):
            st.append(T0 + 15 * i, [sample("temp", v, gpu=0), sample("temp", v * 10, gpu=1)])
        res = st.query("temp", {"gpu": "0"}, T0, T0 + 120, 60)
    assert len(res) == 1
    assert res[0].name == "temp" and res[0].labels == {"gpu": "0"}
    assert res[0].points == [
        (T0, 1.0, (3 + 1 + 4 + 1.5) / 4, 4.0, 1.5),
        (T0 + 60, 2.0, (5 + 9 + 2 + 6) / 4, 9.0, 6.0),
    ]


def test_query_range_is_half_open_and_skips_empty_buckets(tmp_path: Path) -> None:
    with open_store(tmp_path / "m") as st:
        st.append(T0, [sample("x", 1)])
        st.append(T0 + 100, [sample("x", 2)])
        st.append(T0 + 200, [sample("x", 3)])
        pts = st.query("x", None, T0, T0 + 200, 50)[0].points
    assert [p[0] for p in pts] == [T0, T0 + 100]


def test_label_matchers_exact_and_regex(tmp_path: Path) -> None:
    with open_store(tmp_path / "m") as st:
        cycles(st, 3)
        assert [r.labels["host"] for r in st.query("cpu", {"host": "h2"}, T0, T0 + 60, 15)] == ["h2"]
        assert [r.labels["host"] for r in st.query("cpu", {"host~": "h[13]"}, T0, T0 + 60, 15)] == ["h1", "h3"]
        assert st.query("cpu", {"host": "nope"}, T0, T0 + 60, 15) == []
        assert st.query("nosuchmetric", None, T0, T0 + 60, 15) == []
        assert len(st.query("cpu", None, T0, T0 + 60, 15)) == 5
        assert ("up", {"host": "h0"}) in st.series()
        assert [lab["host"] for _, lab in st.series("up")] == ["h0", "h1", "h2", "h3", "h4"]
        with pytest.raises(StoreError):
            st.query("cpu", {"host~": "("}, T0, T0 + 60, 15)


def test_unsorted_labels_are_the_same_series(tmp_path: Path) -> None:
    with open_store(tmp_path / "m") as st:
        st.append(T0, [Sample("x", 1.0, (("b", "2"), ("a", "1")))])
        st.append(T0 + 15, [sample("x", 2.0, a=1, b=2)])
        assert st.series("x") == [("x", {"a": "1", "b": "2"})]
        assert [p[4] for p in st.query("x", None, T0, T0 + 30, 15)[0].points] == [1.0, 2.0]


def test_latest_is_newest_sample_of_each_series(tmp_path: Path) -> None:
    with open_store(tmp_path / "m") as st:
        st.append(T0, [sample("disk", 10, dev="a"), sample("disk", 20, dev="b")])
        st.append(T0 + 15, [sample("disk", 11, dev="a")])  # b went missing this cycle
        assert st.latest("disk") == [({"dev": "a"}, T0 + 15, 11.0), ({"dev": "b"}, T0, 20.0)]
        assert st.latest("disk", {"dev": "b"}) == [({"dev": "b"}, T0, 20.0)]
        st.maintain(T0 + 30)
        st.append(T0 + 30, [sample("disk", 12, dev="a")])
        assert st.latest("disk") == [({"dev": "a"}, T0 + 30, 12.0), ({"dev": "b"}, T0, 20.0)]


def test_maintain_keeps_query_results_exactly(tmp_path: Path) -> None:
    clock = Clock()
    with open_store(tmp_path / "m", clock) as st:
        cycles(st, 600)  # 2.5 hours: spans two 2-hour windows
        end = T0 + 600 * 15
        want = {
            (n, step): st.query(n, None, T0 - 300, end + 300, step)
            for n in ("cpu", "bytes", "up")
            for step in (15, 60, 300, 7)
        }
        clock.t = end + 1
        st.maintain()
        assert st.stats()["head_samples"] == 0 and st.stats()["blocks"] >= 2
        got = {k: st.query(k[0], None, T0 - 300, end + 300, k[1]) for k in want}
        assert got == want
        clock.t = end + 2 * DAY  # windows finished: merged into 2-hour and day blocks
        st.maintain()
        assert {k: st.query(k[0], None, T0 - 300, end + 300, k[1]) for k in want} == want
        stats = st.stats()
        assert stats["samples"] == 600 * 15
        assert stats["raw_bytes_per_sample"] < 4


def test_compaction_shrinks_the_store(tmp_path: Path) -> None:
    with open_store(tmp_path / "m") as st:
        cycles(st, 480, series=20)
        before = st.stats()["bytes_on_disk"]
        st.maintain(T0 + DAY)
        after = st.stats()
    assert after["bytes_on_disk"] < before / 3
    assert after["samples"] == 480 * 60


def test_raw_retention_leaves_rollups_that_still_answer(tmp_path: Path) -> None:
    clock = Clock()
    with open_store(tmp_path / "m", clock, raw_retention_s=DAY, rollup_retention_s=10 * DAY) as st:
        vals = [float(i % 7) for i in range(40)]  # 10 minutes at 15 s: two 5-minute buckets
        for i, v in enumerate(vals):
            st.append(T0 + 15 * i, [sample("load", v)])
        raw = st.query("load", None, T0, T0 + 600, 15)[0].points
        assert len(raw) == 40
        clock.t = T0 + 3 * DAY
        st.maintain()
        assert st.stats()["samples"] == 0 and st.stats()["rollup_rows"] == 2
        coarse = st.query("load", None, T0, T0 + 600, 300)[0].points
        assert coarse == [
            (T0 + 300 * b, min(part), sum(part) / 20, max(part), part[-1])
            for b, part in enumerate((vals[:20], vals[20:]))
        ]
        # Fine steps now see one point per rollup step, not raw samples.
        assert [p[0] for p in st.query("load", None, T0, T0 + 600, 15)[0].points] == [T0, T0 + 300]
        clock.t = T0 + 11 * DAY
        st.maintain()
        assert st.query("load", None, T0, T0 + 600, 300) == []
        assert st.stats()["blocks"] == 0


def test_query_mixes_rollups_and_raw_in_one_range(tmp_path: Path) -> None:
    clock = Clock()
    with open_store(tmp_path / "m", clock, raw_retention_s=DAY) as st:
        st.append(T0, [sample("g", 1.0)])
        st.append(T0 + 15, [sample("g", 3.0)])
        clock.t = T0 + 3 * DAY
        st.maintain()  # the first two samples are now one rollup row
        st.append(T0 + 3 * DAY, [sample("g", 8.0)])
        pts = st.query("g", None, T0, T0 + 3 * DAY + 300, DAY)[0].points
        assert pts == [(T0, 1.0, 2.0, 3.0, 3.0), (T0 + 3 * DAY, 8.0, 8.0, 8.0, 8.0)]
        whole = st.query("g", None, T0, T0 + 4 * DAY, 4 * DAY)[0].points
        assert whole == [(T0, 1.0, 4.0, 8.0, 8.0)]


def test_reopen_returns_the_same_data(tmp_path: Path) -> None:
    clock = Clock()
    st = open_store(tmp_path / "m", clock)
    cycles(st, 300)
    st.maintain(T0 + 200 * 15)  # part in blocks, part still only in the WAL
    cycles(st, 100, start=T0 + 300 * 15)
    want = st.query("cpu", None, T0, T0 + 400 * 15, 60)
    latest = st.latest("bytes")
    series = st.series()
    st.close()
    with pytest.raises(StoreError):
        st.query("cpu", None, T0, T0 + 60, 15)
    with open_store(tmp_path / "m", clock) as st2:
        assert st2.query("cpu", None, T0, T0 + 400 * 15, 60) == want
        assert st2.latest("bytes") == latest
        assert st2.series() == series


def test_torn_wal_tail_is_cut_and_earlier_cycles_survive(tmp_path: Path) -> None:
    st = open_store(tmp_path / "m")
    for i in range(3):
        st.append(T0 + 15 * i, [sample("x", i, k=j) for j in range(10)])
    st.close()
    (seg,) = (tmp_path / "m" / "wal").glob("*.log")
    size = seg.stat().st_size
    with open(seg, "r+b") as f:
        f.truncate(size - 30)  # the middle of the third cycle's record
    with open_store(tmp_path / "m") as st:
        res = st.query("x", {"k": "4"}, T0, T0 + 60, 15)
        assert [p[4] for p in res[0].points] == [0.0, 1.0]
        st.append(T0 + 45, [sample("x", 9, k=4)])
    with open_store(tmp_path / "m") as st:
        assert [p[4] for p in st.query("x", {"k": "4"}, T0, T0 + 60, 15)[0].points] == [0.0, 1.0, 9.0]


def test_corrupt_record_in_wal_is_not_replayed(tmp_path: Path) -> None:
    st = open_store(tmp_path / "m")
    for i in range(3):
        st.append(T0 + 15 * i, [sample("x", i)])
    st.close()
    (seg,) = (tmp_path / "m" / "wal").glob("*.log")
    data = bytearray(seg.read_bytes())
    data[-3] ^= 0xFF  # flip a bit in the last cycle's value
    seg.write_bytes(bytes(data))
    with open_store(tmp_path / "m") as st:
        assert [p[4] for p in st.query("x", None, T0, T0 + 60, 15)[0].points] == [0.0, 1.0]


def test_injected_clock_drives_retention(tmp_path: Path) -> None:
    clock = Clock()
    with open_store(tmp_path / "m", clock, raw_retention_s=3600) as st:
        st.append(T0, [sample("x", 1)])
        st.maintain()
        assert st.stats()["samples"] == 1
        clock.t = T0 + 3599
        st.maintain()
        assert st.stats()["samples"] == 1
        clock.t = T0 + 2 * 3600
        st.maintain()
        assert st.stats()["samples"] == 0 and st.stats()["rollup_rows"] == 1


def test_second_writer_is_refused(tmp_path: Path) -> None:
    with open_store(tmp_path / "m"), pytest.raises(StoreError, match="in use"):
        open_store(tmp_path / "m")


def test_bad_input_is_a_one_line_store_error(tmp_path: Path) -> None:
    with open_store(tmp_path / "m") as st:
        with pytest.raises(StoreError):
            st.append(float("nan"), [sample("x", 1)])
        with pytest.raises(StoreError):
            st.append(T0, [Sample("x", "high", ())])  # type: ignore[arg-type]
        with pytest.raises(StoreError):
            st.query("x", None, T0, T0 + 10, 0)
        st.append(T0, [sample("x", 1)])  # the store is still usable
        assert st.latest("x") == [({}, T0, 1.0)]


def test_values_round_trip_bit_for_bit(tmp_path: Path) -> None:
    odd = [0.1 + 0.2, -0.0, 1e300, -1e-300, float("inf"), 2.0**53 + 2, 123456.789, 0.5]
    with open_store(tmp_path / "m") as st:
        for i, v in enumerate(odd):
            st.append(T0 + i, [sample("v", v)])
        st.maintain(T0 + 10 * DAY)
        pts = st.query("v", None, T0, T0 + 10, 1)[0].points
    assert [np.float64(p[4]).view(np.int64) for p in pts] == [np.float64(v).view(np.int64) for v in odd]


def test_leftovers_of_an_interrupted_maintain_are_removed(tmp_path: Path) -> None:
    st = open_store(tmp_path / "m")
    cycles(st, 10)
    st.close()
    blocks = tmp_path / "m" / "blocks"
    (blocks / ".tmp-7").write_bytes(b"half a block")
    (blocks / "000000099.blk").write_bytes(b"never committed")
    with open_store(tmp_path / "m") as st:
        assert len(st.query("up", None, T0, T0 + 150, 15)) == 5
        st.maintain(T0 + DAY)
        assert len(st.query("up", None, T0, T0 + 150, 15)[0].points) == 10
    assert sorted(os.listdir(blocks)) == ["000000100.blk"]


def test_wal_segments_already_in_blocks_are_not_replayed_twice(tmp_path: Path) -> None:
    st = open_store(tmp_path / "m")
    cycles(st, 10)
    wal_dir = tmp_path / "m" / "wal"
    saved = {p.name: p.read_bytes() for p in wal_dir.glob("*.log")}
    st.maintain(T0 + DAY)
    st.close()
    for name, data in saved.items():  # as if killed after the manifest commit, before the cleanup
        (wal_dir / name).write_bytes(data)
    with open_store(tmp_path / "m") as st:
        assert st.stats()["samples"] == 150
        assert {p[0] for p in st.query("bytes", {"host": "h0"}, T0, T0 + 150, 150)[0].points} == {T0}
        assert st.query("bytes", {"host": "h0"}, T0, T0 + 150, 150)[0].points[0][2] == 1024 * 4.5
