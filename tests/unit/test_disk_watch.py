"""The filesystems opsplan writes to are always watched, and the data disk keeps a reserve it can give back."""

from __future__ import annotations

import shutil

from opsplan.collectors.build import build_collectors
from opsplan.collectors.system import SystemCollector, mountpoint_of
from opsplan.plan.models import Plan
from opsplan.store.health import Persistence
from opsplan.store.reserve import DiskReserve


def disk_samples(collector: SystemCollector) -> dict[str, float]:
    return {s.label("mountpoint") or "": s.value for s in collector.collect() if s.name == "opsplan_disk_usage_ratio"}


def test_watched_paths_are_reported_even_when_the_partition_list_leaves_them_out(tmp_path):
    data_dir = tmp_path / "data" / "not-made-yet"
    ratios = disk_samples(SystemCollector(mountpoints=[], watch=[data_dir, tmp_path]))
    mountpoint = mountpoint_of(tmp_path)
    assert list(ratios) == [mountpoint]  # once per filesystem, under the mountpoint that holds it
    usage = shutil.disk_usage(mountpoint)
    assert abs(ratios[mountpoint] - usage.used / (usage.used + usage.free)) < 0.01


def test_serve_watches_the_data_backup_and_allocation_paths(tmp_path):
    plan = Plan(data_dir=tmp_path / "data", backup={"directory": tmp_path / "backups"},
                allocation=[{"id": "ai", "name": {"ko": "AI", "en": "AI"}, "memory": 1, "storage": 1,
                             "paths": [tmp_path / "models"]}])
    collectors, _ = build_collectors(plan, {})
    system = next(c for c in collectors if isinstance(c, SystemCollector))
    assert mountpoint_of(tmp_path) in disk_samples(system)
    for collector in collectors:
        close = getattr(collector, "close", None)
        if close:
            close()


def test_the_reserve_is_given_back_on_a_full_disk_and_made_again_with_room(tmp_path):
    reserve = DiskReserve(tmp_path, size=256 * 1024)
    health = Persistence(reserve)
    assert reserve.ensure() and (tmp_path / ".reserve").stat().st_size == 256 * 1024
    assert (tmp_path / ".reserve").stat().st_mode & 0o777 == 0o600
    assert health.summary() is None

    reason = health.failed("state database", OSError(28, "No space left on device"))
    assert reason == "no space left on device" and not (tmp_path / ".reserve").exists()
    assert health.store_paused()
    assert "data disk: no space left on device" in (health.summary() or "")
    health.succeeded("state database")
    health.check_reserve()  # this disk has room: made again, healthy again
    assert (tmp_path / ".reserve").exists() and health.summary() is None and not health.store_paused()

