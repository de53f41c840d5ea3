"""The metrics store opened read-only by a second process while its writer (serve) holds the lock:
it sees the blocks and the WAL, touches no file, and keeps reading while the writer compacts."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from opsplan.errors import StoreError
from opsplan.metrics import sample
from opsplan.store import MetricsStore

T0 = 1_700_000_100.0
STEP = 15.0


def listing(directory: Path) -> dict[str, tuple[int, int, int]]:
    """Every file and folder under the store: (size, mtime ns, mode)."""
    found = {}
    for path in sorted(directory.rglob("*")):
        st = path.lstat()
        found[str(path.relative_to(directory))] = (st.st_size if path.is_file() else 0, st.st_mtime_ns, st.st_mode)
    st = directory.lstat()
    found["."] = (0, st.st_mtime_ns, st.st_mode)
    return found


def fill(store: MetricsStore, start: float, n: int) -> None:
    for c in range(n):
        store.append(start + c * STEP, [sample("cpu", 10.0 + c % 7, host="a"), sample("up", 1.0, host="a")])


def total(store: MetricsStore, name: str, end: float) -> tuple[int, float]:
    """(samples counted, their sum) over everything up to `end`, from the query's buckets."""
    points = [p for r in store.query(name, None, T0 - 3600, end, 3600.0) for p in r.points]
    return len(points), sum(p[2] for p in points)


def test_a_reader_beside_the_writer_sees_blocks_and_wal_and_changes_no_file(tmp_path: Path) -> None:
    now = [T0 + 6 * 3600]
    directory = tmp_path / "metrics"
    with MetricsStore(directory, clock=lambda: now[0], sync=False) as writer:
        fill(writer, T0, 6 * 240)  # six hours: compacted into blocks
        writer.maintain()
        fill(writer, T0 + 6 * 3600, 40)  # ten minutes more, still in the WAL only
        before = listing(directory)
        with pytest.raises(StoreError, match="in use"):
            MetricsStore(directory, sync=False)  # the writer's lock is held: a second writer is refused
        reader = MetricsStore.open_read_only(directory)
        try:
            cpu = reader.query("cpu", {"host": "a"}, T0, T0 + 7 * 3600, 3600.0)
            assert len(cpu) == 1 and len(cpu[0].points) == 7  # six hours of blocks and the WAL's hour
            assert cpu[0].points[-1][0] == T0 + 6 * 3600 and cpu[0].points[-1][4] == 10.0 + 39 % 7
            assert reader.latest("up") == [({"host": "a"}, T0 + 6 * 3600 + 39 * STEP, 1.0)]
            with pytest.raises(StoreError, match="read-only"):
                reader.append(T0 + 7 * 3600, [sample("cpu", 1.0, host="a")])
            with pytest.raises(StoreError, match="read-only"):
                reader.maintain()
        finally:
            reader.close()
        assert listing(directory) == before  # nothing created, written, deleted or chmod'ed
        fill(writer, T0 + 6 * 3600 + 40 * STEP, 1)  # the writer appends on as before
    with MetricsStore(directory, sync=False) as again:
        assert again.latest("cpu")[0][1] == T0 + 6 * 3600 + 40 * STEP


def test_a_reader_keeps_its_blocks_when_the_writer_compacts_them_away(tmp_path: Path) -> None:
    now = [T0 + 3 * 86400]
    directory = tmp_path / "metrics"
    with MetricsStore(directory, clock=lambda: now[0], sync=False) as writer:
        for hour in range(48):  # a level-0 block per hour; the day's are merged the next day
            fill(writer, T0 + hour * 3600, 240)
            now[0] = T0 + hour * 3600 + 1
            writer.maintain()
        reader = MetricsStore.open_read_only(directory)
        try:
            seen = total(reader, "cpu", T0 + 2 * 86400)
            blocks = sorted(p.name for p in (directory / "blocks").iterdir())
            now[0] = T0 + 3 * 86400
            writer.maintain()  # merges the finished windows: the blocks the reader opened are deleted
            gone = set(blocks) - {p.name for p in (directory / "blocks").iterdir()}
            assert len(gone) >= 10
            assert total(reader, "cpu", T0 + 2 * 86400) == seen  # still read, through the open files
            assert seen[0] == 48
        finally:
            reader.close()
        again = MetricsStore.open_read_only(directory)  # a new reader opens the merged blocks
        try:
            assert total(again, "cpu", T0 + 2 * 86400) == seen
        finally:
            again.close()


def test_a_reader_ignores_a_record_being_written_and_a_missing_store_is_one_line(tmp_path: Path) -> None:
    directory = tmp_path / "metrics"
    with MetricsStore(directory, sync=False) as writer:
        fill(writer, T0, 10)
        segment = max((directory / "wal").glob("*.log"))
        with open(segment, "ab") as f:
            f.write(b"\x40\x00\x00\x00torn")  # what a reader may meet while the writer writes a record
        size = segment.stat().st_size
        reader = MetricsStore.open_read_only(directory)
        try:
            assert reader.latest("cpu")[0][1] == T0 + 9 * STEP
        finally:
            reader.close()
        assert segment.stat().st_size == size  # the reader left the tail to the writer
    with pytest.raises(StoreError, match="does not exist"):
        MetricsStore.open_read_only(tmp_path / "nothing")
    assert not (tmp_path / "nothing").exists()
    assert os.listdir(tmp_path) == ["metrics"]


def test_readers_opening_while_the_writer_compacts_see_every_cycle_once(tmp_path: Path) -> None:
    import threading

    directory = tmp_path / "metrics"
    now = [T0]
    cycles = 600
    with MetricsStore(directory, clock=lambda: now[0], sync=False) as writer:
        done = threading.Event()

        def write() -> None:
            try:
                for c in range(cycles):
                    writer.append(T0 + c * 60.0, [sample("cpu", float(c), host="a")])
                    if c % 10 == 9:  # flush, and every 2 simulated hours merge a finished window
                        now[0] = T0 + c * 60.0 + 1
                        writer.maintain()
            finally:
                done.set()

        thread = threading.Thread(target=write)
        thread.start()
        def read() -> int:
            reader = MetricsStore.open_read_only(directory)
            try:
                found = reader.query("cpu", None, T0, T0 + cycles * 60.0, 60.0)
            finally:
                reader.close()
            points = found[0].points if found else []
            # Each cycle once (a minute bucket each, its value its index), none doubled, none missing
            # before the newest the reader saw.
            assert [p[4] for p in points] == [float(c) for c in range(len(points))]
            return len(points)

        seen: list[int] = []
        while not done.is_set():
            seen.append(read())
        thread.join()
        seen.append(read())
    assert seen == sorted(seen) and seen[-1] == cycles
