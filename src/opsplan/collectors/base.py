"""The protocol every collector follows; what it returns is the shared vocabulary in opsplan.metrics."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from opsplan.metrics import Sample


@runtime_checkable
class Collector(Protocol):
    """A source of samples. `collect` raises CollectorError (or anything) on failure;
    the runner turns that into opsplan_collector_up{collector=name} 0 and goes on."""

    name: str

    def collect(self) -> list[Sample]: ...
