"""The plan's metrics store opened for reading by a command beside `opsplan serve`.

`serve` is the one writer (it holds the store's lock). A command that only reads the stored
figures (`opsplan check run`, `opsplan sla report`, the postmortem's failed requests) opens it
read-only: no lock, nothing written, so it works while serve runs, and serve starting meanwhile
is never refused because a command holds the lock."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from opsplan.store.metrics import MetricsStore


def open_for_reading(plan: Any) -> MetricsStore | None:
    """The data directory's metrics store as it is now, or None when there is none yet."""
    from opsplan.store.metrics import MetricsStore

    directory = Path(plan.data_dir) / "metrics"
    if not (directory / "MANIFEST.json").exists() and not (directory / "series.log").exists():
        return None
    settings = plan.monitoring.store
    return MetricsStore.open_read_only(directory, raw_retention_s=settings.raw_retention,
                                       rollup_step_s=int(settings.rollup_step),
                                       rollup_retention_s=settings.rollup_retention)
