"""SystemCollector on this machine (plausible values, counters that move) and on a psutil stand-in."""

from __future__ import annotations

import logging
import os
import socket
from collections import namedtuple
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import psutil
import pytest

from opsplan.collectors.system import METRICS, SystemCollector
from opsplan.errors import CollectorError
from opsplan.metrics import Sample

REQUIRED = {
    "opsplan_cpu_usage_ratio", "opsplan_cpu_core_usage_ratio", "opsplan_cpu_count",
    "opsplan_memory_usage_ratio", "opsplan_memory_used_bytes", "opsplan_memory_total_bytes",
    "opsplan_memory_available_bytes", "opsplan_swap_usage_ratio", "opsplan_swap_used_bytes",
    "opsplan_load1", "opsplan_load5", "opsplan_load15",
    "opsplan_disk_usage_ratio", "opsplan_disk_used_bytes", "opsplan_disk_total_bytes",
    "opsplan_disk_read_bytes_total", "opsplan_disk_written_bytes_total", "opsplan_disk_reads_total",
    "opsplan_disk_writes_total", "opsplan_network_receive_bytes_total",
    "opsplan_network_transmit_bytes_total",
    "opsplan_network_receive_packets_total", "opsplan_network_transmit_packets_total",
    "opsplan_network_receive_errors_total", "opsplan_network_transmit_errors_total", "opsplan_network_up",
}


def values(samples: list[Sample], name: str, **labels: str) -> list[float]:
    return [s.value for s in samples if s.name == name and all(s.label(k) == v for k, v in labels.items())]


def one(samples: list[Sample], name: str, **labels: str) -> float:
    found = values(samples, name, **labels)
    assert len(found) == 1, f"{name}{labels}: {found}"
    return found[0]


# --- the real machine ---------------------------------------------------------------------------------


def test_real_machine_emits_the_contract_with_plausible_values() -> None:
    collector = SystemCollector()
    psutil.cpu_times()  # let a little CPU time pass between the priming read and collect
    sum(i * i for i in range(200_000))
    samples = collector.collect()
    names = {s.name for s in samples}
    assert names >= REQUIRED, REQUIRED - names
    assert names <= set(METRICS), names - set(METRICS)
    for s in samples:
        if s.name.endswith("_ratio"):
            assert 0.0 <= s.value <= 1.0, s
        if s.name.endswith(("_bytes", "_total")):
            assert s.value >= 0, s
    assert one(samples, "opsplan_cpu_count") == psutil.cpu_count()
    assert len(values(samples, "opsplan_cpu_core_usage_ratio")) == psutil.cpu_count()
    total = one(samples, "opsplan_memory_total_bytes")
    assert total == psutil.virtual_memory().total
    assert 0 < one(samples, "opsplan_memory_available_bytes") <= total
    assert one(samples, "opsplan_memory_used_bytes") + one(samples, "opsplan_memory_available_bytes") == total
    assert one(samples, "opsplan_disk_total_bytes", mountpoint="/") > 0
    assert 0 < one(samples, "opsplan_disk_usage_ratio", mountpoint="/") < 1
    assert one(samples, "opsplan_network_up", interface="lo") == 1
    assert one(samples, "opsplan_load1") >= 0


def test_real_mounts_are_real_filesystems_once_each() -> None:
    samples = SystemCollector().collect()
    mounts = [s.label("mountpoint") for s in samples if s.name == "opsplan_disk_total_bytes"]
    assert "/" in mounts
    assert len(mounts) == len(set(mounts))
    assert not any(m and m.startswith(("/proc", "/sys")) for m in mounts)


def _device_of(path: Path) -> str | None:
    """The block device name (as disk_io_counters names it) holding `path`."""
    best: Any = None
    for part in psutil.disk_partitions(all=False):
        inside = str(path).startswith(part.mountpoint.rstrip("/") + "/") or part.mountpoint == "/"
        if inside and (best is None or len(part.mountpoint) > len(best.mountpoint)):
            best = part
    if best is None:
        return None
    name = os.path.basename(os.path.realpath(best.device))
    return name if name in (psutil.disk_io_counters(perdisk=True) or {}) else None


def test_written_bytes_grow_after_an_fsynced_write(tmp_path: Path) -> None:
    device = _device_of(tmp_path)
    if device is None:
        pytest.skip("tmp_path is not on a block device psutil reports I/O for")
    collector = SystemCollector()
    before = one(collector.collect(), "opsplan_disk_written_bytes_total", device=device)
    writes_before = one(collector.collect(), "opsplan_disk_writes_total", device=device)
    payload = os.urandom(4 * 1024 * 1024)
    with open(tmp_path / "blob", "wb") as fh:
        fh.write(payload)
        fh.flush()
        os.fsync(fh.fileno())
    after_samples = collector.collect()
    assert one(after_samples, "opsplan_disk_written_bytes_total", device=device) >= before + len(payload)
    assert one(after_samples, "opsplan_disk_writes_total", device=device) > writes_before


def test_loopback_counters_grow_after_sending_traffic() -> None:
    collector = SystemCollector()
    before = collector.collect()
    rx_bytes = one(before, "opsplan_network_receive_bytes_total", interface="lo")
    tx_packets = one(before, "opsplan_network_transmit_packets_total", interface="lo")
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as rx, \
            socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as tx:
        rx.bind(("127.0.0.1", 0))
        for _ in range(50):
            tx.sendto(b"x" * 1000, rx.getsockname())
    after = collector.collect()
    assert one(after, "opsplan_network_receive_bytes_total", interface="lo") >= rx_bytes + 50 * 1000
    assert one(after, "opsplan_network_transmit_packets_total", interface="lo") >= tx_packets + 50


# --- a psutil stand-in for the edges ---------------------------------------------------------------------

CpuTimes = namedtuple("CpuTimes", "user nice system idle iowait irq softirq steal guest guest_nice")
Part = namedtuple("Part", "device mountpoint fstype opts")
Usage = namedtuple("Usage", "total used free percent")
Io = namedtuple("Io", "read_count write_count read_bytes write_bytes")
Net = namedtuple("Net", "bytes_sent bytes_recv packets_sent packets_recv errin errout dropin dropout")


def _times(busy: float, idle: float, guest: float = 0.0) -> CpuTimes:
    return CpuTimes(busy, 0, 0, idle, 0, 0, 0, 0, guest, 0)


class FakePsutil:
    def __init__(self) -> None:
        self.cores = [_times(10, 90), _times(20, 80)]
        self.partitions = [Part("/dev/sda1", "/", "ext4", "rw"),
                           Part("/dev/sda1", "/var/lib/docker/x", "ext4", "rw"),
                           Part("/dev/sdb1", "/data", "xfs", "rw"),
                           Part("/dev/sdc1", "/secret", "ext4", "rw")]
        self.denied = {"/secret"}
        self.net_error: Exception | None = None

    def cpu_times(self, percpu: bool = False) -> Any:
        if percpu:
            return list(self.cores)
        return CpuTimes(*(sum(col) for col in zip(*self.cores, strict=True)))

    def cpu_count(self, logical: bool = True) -> int:
        return len(self.cores)

    def virtual_memory(self) -> Any:
        return SimpleNamespace(total=1000, available=250, used=600, free=100, percent=75.0)

    def swap_memory(self) -> Any:
        return SimpleNamespace(total=0, used=0, free=0, percent=0.0)

    def getloadavg(self) -> tuple[float, float, float]:
        return (1.5, 1.0, 0.5)

    def disk_partitions(self, all: bool = False) -> list[Part]:
        assert all is False
        return self.partitions

    def disk_usage(self, path: str) -> Usage:
        if path in self.denied:
            raise PermissionError(13, "Permission denied", path)
        return Usage(100, 40, 50, 44.4)  # 10 reserved blocks, as ext4 keeps for root

    def disk_io_counters(self, perdisk: bool = False) -> dict[str, Io]:
        return {"sda": Io(1, 2, 512, 1024), "loop0": Io(9, 9, 9, 9)}

    def net_io_counters(self, pernic: bool = False) -> dict[str, Net]:
        if self.net_error:
            raise self.net_error
        return {"eth0": Net(10, 20, 1, 2, 0, 3, 0, 0)}

    def net_if_stats(self) -> dict[str, Any]:
        return {"eth0": SimpleNamespace(isup=False)}


def test_a_mount_raising_permission_error_is_skipped_and_logged_once(
        caplog: pytest.LogCaptureFixture) -> None:
    ps = FakePsutil()
    collector = SystemCollector(psutil_module=ps)
    with caplog.at_level(logging.WARNING, logger="opsplan.collectors.system"):
        first = collector.collect()
        collector.collect()
    mounts = sorted(s.label("mountpoint") or "" for s in first if s.name == "opsplan_disk_total_bytes")
    assert mounts == ["/", "/data"]  # /secret skipped, the docker bind mount of sda1 folded into /
    assert one(first, "opsplan_disk_usage_ratio", mountpoint="/data") == pytest.approx(40 / 90)
    assert [r.getMessage() for r in caplog.records].count(
        "system collector: skipping mount /secret: [Errno 13] Permission denied: '/secret'") == 1


def test_stand_in_values_units_and_pseudo_devices() -> None:
    ps = FakePsutil()
    collector = SystemCollector(psutil_module=ps)
    ps.cores = [_times(15, 95), _times(20, 90)]  # core 0: 5 busy of 10; core 1: 0 busy of 10
    s = collector.collect()
    assert one(s, "opsplan_cpu_core_usage_ratio", core="0") == pytest.approx(0.5)
    assert one(s, "opsplan_cpu_core_usage_ratio", core="1") == pytest.approx(0.0)
    assert one(s, "opsplan_cpu_usage_ratio") == pytest.approx(0.25)
    assert one(s, "opsplan_memory_used_bytes") == 750
    assert one(s, "opsplan_memory_usage_ratio") == pytest.approx(0.75)
    assert one(s, "opsplan_swap_usage_ratio") == 0.0  # no swap is not a division error
    assert one(s, "opsplan_load5") == 1.0
    assert values(s, "opsplan_disk_read_bytes_total", device="loop0") == []
    assert one(s, "opsplan_disk_written_bytes_total", device="sda") == 1024
    assert one(s, "opsplan_network_transmit_errors_total", interface="eth0") == 3
    assert one(s, "opsplan_network_up", interface="eth0") == 0


def test_guest_time_is_not_counted_twice() -> None:
    ps = FakePsutil()
    ps.cores = [_times(0, 0)]
    collector = SystemCollector(psutil_module=ps)
    # 10 s of guest time is already inside user time on Linux: 10 busy of 20, not 20 of 30.
    ps.cores = [_times(10, 10, guest=10)]
    assert one(collector.collect(), "opsplan_cpu_usage_ratio") == pytest.approx(0.5)


def test_explicit_mountpoints_replace_discovery() -> None:
    s = SystemCollector(psutil_module=FakePsutil(), mountpoints=["/data"]).collect()
    assert [x.label("mountpoint") for x in s if x.name == "opsplan_disk_used_bytes"] == ["/data"]


def test_a_failing_section_degrades_only_itself() -> None:
    ps = FakePsutil()
    ps.net_error = OSError("no /proc/net/dev")
    s = SystemCollector(psutil_module=ps).collect()
    assert not [x for x in s if x.name.startswith("opsplan_network_")]
    assert one(s, "opsplan_memory_total_bytes") == 1000


def test_collector_is_down_when_psutil_is_unusable() -> None:
    class Broken:
        def __getattr__(self, name: str) -> Any:
            raise RuntimeError("psutil broken")

    with pytest.raises(CollectorError, match="every source failed"):
        SystemCollector(psutil_module=Broken()).collect()
