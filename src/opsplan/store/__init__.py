"""Storage: the embedded metrics store (WAL + compressed blocks + rollups).

The metrics store (and numpy with it) loads on first use of `opsplan.store.MetricsStore`, not
with the package: a command that only opens the state database (`opsplan.store.state`) skips it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from opsplan.store.metrics import MetricsStore, SeriesResult

__all__ = ["MetricsStore", "SeriesResult"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from opsplan.store import metrics

        return getattr(metrics, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
