"""The catalogue of metric families: each stage adds the families it emits, under its own name.

Nothing here knows the stages; whoever composes them (serve, the CLI, the docs test) builds one
registry from the stages' declarations, so a name can never be claimed by two stages unnoticed.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from opsplan.metrics.samples import MetricSpec


class MetricRegistry(Mapping[str, MetricSpec]):
    def __init__(self) -> None:
        self._specs: dict[str, MetricSpec] = {}
        self._owner: dict[str, str] = {}

    def add(self, owner: str, families: Mapping[str, MetricSpec]) -> None:
        for name, spec in families.items():
            other = self._owner.get(name)
            if other is not None and (other != owner or self._specs[name] != spec):
                raise ValueError(f"metric {name} is declared by both {other} and {owner}")
            self._specs[name] = spec
            self._owner[name] = owner

    def owner(self, name: str) -> str | None:
        return self._owner.get(name)

    def __getitem__(self, name: str) -> MetricSpec:
        return self._specs[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._specs)

    def __len__(self) -> int:
        return len(self._specs)
