"""The host itself through psutil: CPU, memory, swap, load, disks, network (seed §3.1, §2.1).

Each section (cpu, memory, disk usage, disk I/O, network, ...) is read on its own: one that
fails is left out of this cycle and logged once; the collector is only *down* (raises) when
every section failed, i.e. psutil itself is unusable.

CPU usage is computed from the difference between two `cpu_times()` readings, the way
`psutil.cpu_percent(interval=None)` does, so collecting never sleeps. The collector keeps its
own previous reading rather than using `cpu_percent` because psutil keeps that one in module
globals that any other caller in the process would reset. The first reading is taken in
`__init__`, so the first `collect()` reports usage since the collector was built (a near-zero
window reports 0).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

import psutil

from opsplan.errors import CollectorError
from opsplan.metrics import MetricSpec, Sample, counter, gauge, sample

log = logging.getLogger(__name__)

METRICS: dict[str, MetricSpec] = {
    "opsplan_cpu_usage_ratio": gauge("CPU time spent busy (all cores) since the last cycle", unit="ratio"),
    "opsplan_cpu_core_usage_ratio": gauge("CPU time spent busy per core since the last cycle", "core",
                                          unit="ratio"),
    "opsplan_cpu_count": gauge("Logical CPUs"),
    "opsplan_memory_usage_ratio": gauge("Memory in use: (total - available) / total", unit="ratio"),
    "opsplan_memory_used_bytes": gauge("Memory in use: total - available", unit="bytes"),
    "opsplan_memory_total_bytes": gauge("Physical memory", unit="bytes"),
    "opsplan_memory_available_bytes": gauge("Memory available to new programs without swapping",
                                            unit="bytes"),
    "opsplan_swap_usage_ratio": gauge("Swap in use (0 when there is no swap)", unit="ratio"),
    "opsplan_swap_used_bytes": gauge("Swap in use", unit="bytes"),
    "opsplan_swap_total_bytes": gauge("Swap configured", unit="bytes"),
    "opsplan_load1": gauge("Load average over 1 minute"),
    "opsplan_load5": gauge("Load average over 5 minutes"),
    "opsplan_load15": gauge("Load average over 15 minutes"),
    "opsplan_disk_usage_ratio": gauge("Filesystem space used, as df computes it: used / (used + free)",
                                      "mountpoint", unit="ratio"),
    "opsplan_disk_used_bytes": gauge("Filesystem space used", "mountpoint", unit="bytes"),
    "opsplan_disk_total_bytes": gauge("Filesystem size", "mountpoint", unit="bytes"),
    "opsplan_disk_read_bytes_total": counter("Bytes read from the block device", "device", unit="bytes"),
    "opsplan_disk_written_bytes_total": counter("Bytes written to the block device", "device", unit="bytes"),
    "opsplan_disk_reads_total": counter("Read operations completed on the block device", "device"),
    "opsplan_disk_writes_total": counter("Write operations completed on the block device", "device"),
    "opsplan_network_receive_bytes_total": counter("Bytes received", "interface", unit="bytes"),
    "opsplan_network_transmit_bytes_total": counter("Bytes sent", "interface", unit="bytes"),
    "opsplan_network_receive_packets_total": counter("Packets received", "interface"),
    "opsplan_network_transmit_packets_total": counter("Packets sent", "interface"),
    "opsplan_network_receive_errors_total": counter("Receive errors", "interface"),
    "opsplan_network_transmit_errors_total": counter("Transmit errors", "interface"),
    "opsplan_network_up": gauge("1 when the interface is up", "interface"),
}

# Block devices that are not storage an operator provisions (loop mounts of snaps/images, RAM disks).
_PSEUDO_BLOCK_PREFIXES = ("loop", "ram", "zram")


def mountpoint_of(path: Path) -> str:
    """The mountpoint of the filesystem that holds `path` (or would: its nearest existing parent)."""
    probe = Path(os.path.abspath(path))
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    while not os.path.ismount(probe) and probe != probe.parent:
        probe = probe.parent
    return str(probe)


def _device(mountpoint: str) -> int | None:
    try:
        return os.stat(mountpoint).st_dev
    except OSError:
        return None


def _ratio(part: float, whole: float) -> float:
    if whole <= 0:
        return 0.0
    return min(1.0, max(0.0, part / whole))


def _busy_and_total(times: Any) -> tuple[float, float]:
    """Busy and total CPU seconds of one cpu_times() reading, as psutil.cpu_percent counts them."""
    fields = times._asdict()
    total = sum(fields.values())
    # On Linux guest time is already included in user/nice; counting it twice would inflate usage.
    total -= fields.get("guest", 0.0) + fields.get("guest_nice", 0.0)
    idle = fields.get("idle", 0.0) + fields.get("iowait", 0.0)
    return total - idle, total


def _usage_between(before: Any, after: Any) -> float:
    busy0, total0 = _busy_and_total(before)
    busy1, total1 = _busy_and_total(after)
    return _ratio(busy1 - busy0, total1 - total0)


class SystemCollector:
    """CPU, memory, swap, load, disk and network of the host.

    `psutil_module` is the seam for tests (any object with psutil's functions).
    `mountpoints`: the filesystems to report; by default every real mount
    (`disk_partitions(all=False)`, one mountpoint per device, the shortest one).
    `watch`: paths whose filesystems are always reported too (the data directory, the backup
    directory, the allocation groups' paths), even a tmpfs or a mount psutil leaves out; each is
    reported under the mountpoint that holds it, once per filesystem.
    """

    name = "system"

    def __init__(self, psutil_module: ModuleType | Any = psutil, mountpoints: Sequence[str] | None = None,
                 watch: Sequence[Path] = ()):
        self._ps = psutil_module
        self._mountpoints = list(mountpoints) if mountpoints is not None else None
        self._watch = list(dict.fromkeys(Path(p) for p in watch))
        self._failed_sections: set[str] = set()
        self._failed_mounts: set[str] = set()
        self._last_total: Any = None
        self._last_cores: list[Any] | None = None
        try:
            self._last_total = self._ps.cpu_times()
            self._last_cores = list(self._ps.cpu_times(percpu=True))
        except Exception:  # collect() reports the failure in its own cycle
            pass

    def collect(self) -> list[Sample]:
        sections: list[tuple[str, Callable[[], Iterable[Sample]]]] = [
            ("cpu", self._cpu),
            ("memory", self._memory),
            ("swap", self._swap),
            ("load", self._load),
            ("disk usage", self._disk_usage),
            ("disk io", self._disk_io),
            ("network", self._network),
        ]
        out: list[Sample] = []
        reasons: list[str] = []
        for section, read in sections:
            try:
                out.extend(read())
            except Exception as exc:  # one section degrades only itself
                reasons.append(f"{section}: {exc}")
                if section not in self._failed_sections:
                    self._failed_sections.add(section)
                    log.warning("system collector: cannot read %s: %s", section, exc)
                continue
            self._failed_sections.discard(section)
        if len(reasons) == len(sections):
            raise CollectorError("system: every source failed; " + "; ".join(reasons))
        return out

    # --- sections ---------------------------------------------------------------------------------

    def _cpu(self) -> list[Sample]:
        total = self._ps.cpu_times()
        cores = list(self._ps.cpu_times(percpu=True))
        out = [sample("opsplan_cpu_count", self._ps.cpu_count(logical=True) or len(cores))]
        if self._last_total is not None:
            out.append(sample("opsplan_cpu_usage_ratio", _usage_between(self._last_total, total)))
        if self._last_cores is not None and len(self._last_cores) == len(cores):
            for i, (before, after) in enumerate(zip(self._last_cores, cores, strict=True)):
                out.append(sample("opsplan_cpu_core_usage_ratio", _usage_between(before, after), core=i))
        self._last_total, self._last_cores = total, cores
        return out

    def _memory(self) -> list[Sample]:
        vm = self._ps.virtual_memory()
        # used = total - available so that used / total is exactly the usage ratio operators alert on
        # (psutil's own `used` leaves out buffers/cache and would not add up).
        used = max(0, vm.total - vm.available)
        return [
            sample("opsplan_memory_total_bytes", vm.total),
            sample("opsplan_memory_available_bytes", vm.available),
            sample("opsplan_memory_used_bytes", used),
            sample("opsplan_memory_usage_ratio", _ratio(used, vm.total)),
        ]

    def _swap(self) -> list[Sample]:
        sw = self._ps.swap_memory()
        return [
            sample("opsplan_swap_total_bytes", sw.total),
            sample("opsplan_swap_used_bytes", sw.used),
            sample("opsplan_swap_usage_ratio", _ratio(sw.used, sw.total)),
        ]

    def _load(self) -> list[Sample]:
        one, five, fifteen = self._ps.getloadavg()
        return [sample("opsplan_load1", one), sample("opsplan_load5", five),
                sample("opsplan_load15", fifteen)]

    def _real_mountpoints(self) -> list[str]:
        by_device: dict[str, str] = {}
        for part in self._ps.disk_partitions(all=False):
            # The same device shows up once per bind mount; the shortest path is the one people know.
            known = by_device.get(part.device)
            if known is None or len(part.mountpoint) < len(known):
                by_device[part.device] = part.mountpoint
        return sorted(by_device.values())

    def _watched_mountpoints(self, listed: list[str]) -> list[str]:
        """The mountpoints of the watched paths that are not already listed (compared by device)."""
        devices = {_device(mp) for mp in listed} - {None}
        extra: list[str] = []
        for path in self._watch:
            mp = mountpoint_of(path)
            device = _device(mp)
            if mp in listed or mp in extra or (device is not None and device in devices):
                continue
            extra.append(mp)
            devices.add(device)
        return extra

    def _disk_usage(self) -> list[Sample]:
        mounts = self._mountpoints if self._mountpoints is not None else self._real_mountpoints()
        mounts = [*mounts, *self._watched_mountpoints(mounts)]
        out: list[Sample] = []
        for mp in mounts:
            try:
                du = self._ps.disk_usage(mp)
            except Exception as exc:  # a stale NFS or unreadable mount must not hide the rest
                if mp not in self._failed_mounts:
                    self._failed_mounts.add(mp)
                    log.warning("system collector: skipping mount %s: %s", mp, exc)
                continue
            self._failed_mounts.discard(mp)
            out += [
                sample("opsplan_disk_total_bytes", du.total, mountpoint=mp),
                sample("opsplan_disk_used_bytes", du.used, mountpoint=mp),
                sample("opsplan_disk_usage_ratio", _ratio(du.used, du.used + du.free), mountpoint=mp),
            ]
        return out

    def _disk_io(self) -> list[Sample]:
        counters = self._ps.disk_io_counters(perdisk=True) or {}
        out: list[Sample] = []
        for device, io in sorted(counters.items()):
            if device.startswith(_PSEUDO_BLOCK_PREFIXES):
                continue
            out += [
                sample("opsplan_disk_read_bytes_total", io.read_bytes, device=device),
                sample("opsplan_disk_written_bytes_total", io.write_bytes, device=device),
                sample("opsplan_disk_reads_total", io.read_count, device=device),
                sample("opsplan_disk_writes_total", io.write_count, device=device),
            ]
        return out

    def _network(self) -> list[Sample]:
        counters = self._ps.net_io_counters(pernic=True) or {}
        stats = self._ps.net_if_stats() or {}
        out: list[Sample] = []
        for nic, io in sorted(counters.items()):
            out += [
                sample("opsplan_network_receive_bytes_total", io.bytes_recv, interface=nic),
                sample("opsplan_network_transmit_bytes_total", io.bytes_sent, interface=nic),
                sample("opsplan_network_receive_packets_total", io.packets_recv, interface=nic),
                sample("opsplan_network_transmit_packets_total", io.packets_sent, interface=nic),
                sample("opsplan_network_receive_errors_total", io.errin, interface=nic),
                sample("opsplan_network_transmit_errors_total", io.errout, interface=nic),
            ]
        for nic, st in sorted(stats.items()):
            out.append(sample("opsplan_network_up", 1 if st.isup else 0, interface=nic))
        return out
