"""What a check item's evaluator returns: a status, one summary line, and the evidence.

Text is kept as catalogue lines (`Line(key, values)`), not as strings, so one result renders in
Korean and in English; numbers are kept with their unit and formatted when rendered. Every
result round-trips through JSON (`to_dict`/`from_dict`): runs are stored and compared with the
previous period's.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

PASS, WARN, FAIL, NOT_RUN, MANUAL = "pass", "warn", "fail", "not-run", "manual"
STATUSES = (PASS, WARN, FAIL, NOT_RUN, MANUAL)
# How bad each is: a run's status is its worst item's. not-run is worse than pass: never shown as one.
SEVERITY = {PASS: 0, MANUAL: 1, NOT_RUN: 2, WARN: 3, FAIL: 4}
# Units a figure or chart may carry (rendered by opsplan.format in the report's language).
UNITS = ("ratio", "bytes", "bytes_per_second", "seconds", "count", "per_second", "celsius", "days", "none")


@dataclass(frozen=True)
class Line:
    """A catalogue message (`opsplan.i18n`) and its values, rendered in the report's language."""

    key: str
    values: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def restored(cls, data: Mapping[str, Any]) -> Line:
        """A line read back from storage (its key was checked against the catalogue when written)."""
        return cls(str(data["key"]), dict(data.get("values") or {}))


@dataclass
class Figure:
    """One measured value, with what it is compared with (a threshold, the previous period)."""

    name: Line
    value: float | None
    unit: str = "none"
    threshold: float | None = None
    previous: float | None = None  # the same figure in the previous run of this item


@dataclass
class Series:
    label: str  # a name from the plan or the host (a group, a GPU, a mount): shown as is
    points: list[tuple[float, float]]  # (unix seconds, value)


@dataclass
class Chart:
    title: Line
    unit: str
    series: list[Series]
    thresholds: list[tuple[Line, float]] = field(default_factory=list)
    # A forecast's confidence band: (lower, upper) series over the same times, drawn shaded.
    band: tuple[Series, Series] | None = None


@dataclass
class ToolRun:
    """A program an evaluator ran: what it ran, its version, its exit and output (masked), a hash."""

    argv: list[str]
    version: str | None
    exit_code: int | None
    output: str
    sha256: str


@dataclass
class ItemResult:
    item_id: str
    status: str
    summary: Line
    reason: Line | None = None  # why not-run (a missing tool, no data, no permission), or why it failed
    figures: list[Figure] = field(default_factory=list)
    charts: list[Chart] = field(default_factory=list)
    tools: list[ToolRun] = field(default_factory=list)
    findings: list[Line] = field(default_factory=list)  # each notable thing, worst first

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"status must be one of {', '.join(STATUSES)}, got {self.status!r}")
        if self.status == NOT_RUN and self.reason is None:
            raise ValueError("a not-run result says why (reason)")

    def to_dict(self) -> dict[str, Any]:
        """What `dataclasses.asdict` gives, without its deep copy of every chart point (a daily run
        holds tens of thousands: the copy was most of storing a run)."""
        return {"item_id": self.item_id, "status": self.status, "summary": _line_dict(self.summary),
                "reason": None if self.reason is None else _line_dict(self.reason),
                "figures": [{"name": _line_dict(f.name), "value": f.value, "unit": f.unit, "threshold": f.threshold,
                             "previous": f.previous} for f in self.figures],
                "charts": [_chart_dict(c) for c in self.charts],
                "tools": [asdict(t) for t in self.tools],
                "findings": [_line_dict(f) for f in self.findings]}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ItemResult:
        def line(value: Any) -> Line | None:
            return None if value is None else Line.restored(value)

        def series(value: Mapping[str, Any]) -> Series:
            return Series(value["label"], [(float(t), float(v)) for t, v in value["points"]])

        def chart(value: Mapping[str, Any]) -> Chart:
            band = value.get("band")
            return Chart(Line.restored(value["title"]), value["unit"], [series(s) for s in value["series"]],
                         [(Line.restored(name), float(v)) for name, v in value.get("thresholds") or []],
                         (series(band[0]), series(band[1])) if band else None)

        return cls(
            item_id=data["item_id"], status=data["status"], summary=Line.restored(data["summary"]),
            reason=line(data.get("reason")),
            figures=[Figure(Line.restored(f["name"]), f["value"], f.get("unit", "none"), f.get("threshold"),
                            f.get("previous")) for f in data.get("figures") or []],
            charts=[chart(c) for c in data.get("charts") or []],
            tools=[ToolRun(**t) for t in data.get("tools") or []],
            findings=[Line.restored(f) for f in data.get("findings") or []],
        )


def _line_dict(line: Line) -> dict[str, Any]:
    return asdict(line)  # small: its values copied as asdict copies them


def _series_dict(series: Series) -> dict[str, Any]:
    return {"label": series.label, "points": list(series.points)}  # tuples of floats: nothing to copy


def _chart_dict(chart: Chart) -> dict[str, Any]:
    return {"title": _line_dict(chart.title), "unit": chart.unit, "series": [_series_dict(s) for s in chart.series],
            "thresholds": [(_line_dict(name), value) for name, value in chart.thresholds],
            "band": None if chart.band is None else (_series_dict(chart.band[0]), _series_dict(chart.band[1]))}


def worst(statuses: list[str]) -> str:
    """A run's status: its worst item's (PASS for no item)."""
    return max(statuses, key=SEVERITY.__getitem__, default=PASS)


def not_run(item_id: str, reason: Line) -> ItemResult:
    return ItemResult(item_id, NOT_RUN, Line("checks.not_run"), reason=reason)


@dataclass
class CheckContext:
    """What an evaluator is given. `start`..`end` is the period checked (the last 24 h for a
    daily run, the last 7 days for a weekly one ...), in unix seconds; `previous(item_id)` is
    that item's result in the run before this one (None for the first)."""

    plan: Any  # opsplan.plan.models.Plan (Any here: this module sits below the plan's loaders)
    period: str  # daily, weekly, monthly, quarterly
    start: float
    end: float
    now: float
    state_db: Any = None  # opsplan.store.state.StateDB
    store: Any = None  # opsplan.store.MetricsStore, opened read-only for the run
    environ: Mapping[str, str] = field(default_factory=dict)
    data_dir: Any = None  # pathlib.Path: where an evaluator may keep its own state (0600 files)
    previous: Callable[[str], ItemResult | None] = field(default=lambda _item: None)
