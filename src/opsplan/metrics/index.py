"""A cycle's samples by name, with label lookups built on first use and reused by every reader
(the alert rules evaluate hundreds of conditions over one cycle; the status page reads dozens)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from opsplan.metrics.samples import Sample

Matchers = tuple[tuple[str, str], ...]


class SampleIndex:
    def __init__(self, samples: Iterable[Sample]):
        self.by_name: dict[str, list[Sample]] = defaultdict(list)
        for s in samples:
            self.by_name[s.name].append(s)
        self._by_label: dict[tuple[str, str], dict[str, list[Sample]]] = {}
        self._by_subject: dict[tuple[str, Matchers, tuple[str, ...]], dict[tuple[str, ...], float]] = {}

    def select(self, metric: str, matchers: Matchers = ()) -> list[Sample]:
        """The series of `metric` whose labels equal every matcher (a missing label reads as "")."""
        series = self.by_name.get(metric)
        if not series:
            return []
        if not matchers:
            return series
        (name, wanted), rest = matchers[0], matchers[1:]
        table = self._by_label.get((metric, name))
        if table is None:
            table = defaultdict(list)
            for s in series:
                table[s.label(name) or ""].append(s)
            self._by_label[(metric, name)] = table
        found = table.get(wanted, [])
        if rest:
            found = [s for s in found if all((s.label(k) or "") == v for k, v in rest)]
        return found

    def values_by_subject(self, metric: str, matchers: Matchers,
                          subject: tuple[str, ...]) -> dict[tuple[str, ...], float]:
        """The selected series' values keyed by the values of the `subject` labels."""
        key = (metric, matchers, subject)
        table = self._by_subject.get(key)
        if table is None:
            table = {tuple(s.label(n) or "" for n in subject): s.value for s in self.select(metric, matchers)}
            self._by_subject[key] = table
        return table

    def all(self, name: str, **labels: str) -> list[Sample]:
        """Every series of `name` that carries each of `labels` with that value."""
        return [s for s in self.by_name.get(name, ()) if all(s.label(k) == v for k, v in labels.items())]

    def value(self, name: str, **labels: str) -> float | None:
        """The first matching series' value, or None when there is none."""
        found = self.all(name, **labels)
        return found[0].value if found else None
