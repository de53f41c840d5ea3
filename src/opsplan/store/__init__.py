"""Storage: the embedded metrics store (WAL + compressed blocks + rollups)."""

from opsplan.store.metrics import MetricsStore, SeriesResult

__all__ = ["MetricsStore", "SeriesResult"]
