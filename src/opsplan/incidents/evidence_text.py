"""An `evidence` timeline entry (incidents/evidence.py) in words, for `opsplan incident show`, the
postmortem and the console: the chart as figures and a one-line sparkline, the other alerts,
MariaDB, the access log lines; a part with nothing says why. (The chart as SVG is drawn where the
check reports' helper may be used: checks/report/evidence_chart.py.)"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from opsplan import format as fmt
from opsplan.alerts.format import format_value
from opsplan.i18n import t

if TYPE_CHECKING:
    from opsplan.plan.models import Plan

# Literal catalogue keys, so the catalogue test sees them.
_PART_KEY = {"chart": "incident.evidence.part.chart", "alerts": "incident.evidence.part.alerts",
             "mariadb": "incident.evidence.part.mariadb", "access_log": "incident.evidence.part.access_log"}
_REASON_KEY = {"no_store": "incident.evidence.reason.no_store", "no_rule": "incident.evidence.reason.no_rule",
               "no_points": "incident.evidence.reason.no_points", "no_engine": "incident.evidence.reason.no_engine",
               "no_readings": "incident.evidence.reason.no_readings",
               "no_access_log": "incident.evidence.reason.no_access_log",
               "log_unreadable": "incident.evidence.reason.log_unreadable", "error": "incident.evidence.reason.error"}
# Reasons whose detail (an OS error, an exception) is worth a line of its own (KOREAN.md rule 6).
_WITH_DETAIL = {"log_unreadable", "error"}
SPARKS = "▁▂▃▄▅▆▇█"
SPARK_WIDTH = 40


def evidence_lines(data: dict[str, Any], plan: Plan, language: str | None = None) -> list[str]:
    lang = language or plan.language
    if lang != plan.language:
        plan = plan.model_copy(update={"language": lang})
    lines: list[str] = []
    for part in ("chart", "alerts", "mariadb", "access_log"):
        found = data.get(part)
        if not isinstance(found, dict):
            continue
        if "unavailable" in found:
            reason = str(found["unavailable"])
            lines.append(t("incident.evidence.unavailable", lang, part=t(_PART_KEY[part], lang),
                           reason=t(_REASON_KEY[reason], lang) if reason in _REASON_KEY else reason))
            if reason in _WITH_DETAIL and found.get("detail"):
                lines.append(t("incident.evidence.detail", lang, detail=found["detail"]))
            continue
        if part == "chart":
            lines += _chart(found, lang)
        elif part == "alerts":
            lines += _alerts(found, plan)
        elif part == "mariadb":
            lines.append(_mariadb(found, plan))
        else:
            lines.append(t("incident.evidence.log", lang, path=found.get("path", "-"),
                           service=found.get("service", "-"), count=len(found.get("lines", []))))
            lines += [f"    {line}" for line in found.get("lines", [])]
    return lines


def _chart(chart: dict[str, Any], lang: str) -> list[str]:
    metric = str(chart.get("metric", ""))
    values = [p[1] for s in chart.get("series", []) for p in s.get("points", [])]
    if not values:
        return []
    last = chart["series"][0]["points"][-1][1]
    line = t("incident.evidence.chart", lang, metric=metric, points=len(values),
             low=format_value(metric, min(values)), high=format_value(metric, max(values)),
             newest=format_value(metric, last), threshold=format_value(metric, chart.get("threshold")))
    return [line, f"    {sparkline([p[1] for p in chart['series'][0]['points']])}"]


def sparkline(values: list[float], width: int = SPARK_WIDTH) -> str:
    """The values as one line of block characters, at most `width` of them (bucket means)."""
    if not values:
        return ""
    if len(values) > width:
        size = len(values) / width
        values = [sum(chunk) / len(chunk) for chunk in
                  (values[int(i * size):max(int((i + 1) * size), int(i * size) + 1)] for i in range(width))]
    low, high = min(values), max(values)
    if high <= low:
        return SPARKS[0] * len(values)
    return "".join(SPARKS[min(len(SPARKS) - 1, int((v - low) / (high - low) * len(SPARKS)))] for v in values)


def _alerts(found: dict[str, Any], plan: Plan) -> list[str]:
    lang = plan.language
    firing = found.get("firing", [])
    if not firing:
        return [t("incident.evidence.alerts_none", lang)]
    lines = [t("incident.evidence.alerts", lang, count=len(firing) + int(found.get("more", 0)))]
    for alert in firing:
        subject = (alert.get("subject_ko") if lang == "ko" else alert.get("subject")) or plan.server.name
        summary = alert.get("summary", {}).get(lang) or alert.get("alert", "")
        lines.append(t("incident.evidence.alert_entry", lang, summary=summary, alert=alert.get("alert", ""),
                       severity=str(alert.get("severity", "")).capitalize(), subject=subject,
                       since=_when(alert.get("since"), plan)))
    return lines


def _mariadb(found: dict[str, Any], plan: Plan) -> str:
    lang = plan.language
    up = found.get("up")
    state = "-" if up is None else t("incident.evidence.mariadb_up" if up == 1 else "incident.evidence.mariadb_down",
                                      lang)
    return t("incident.evidence.mariadb", lang, time=_when(found.get("at"), plan), state=state,
             connected=_count(found.get("threads_connected")), running=_count(found.get("threads_running")),
             slow=_count(found.get("slow_queries_total")))


def _count(value: Any) -> str:
    return f"{int(value):,}" if isinstance(value, int | float) else "-"


def _when(ts: Any, plan: Plan) -> str:
    # as the rest of `incident show`: the zone named in Korean (KOREAN.md rule 8)
    return fmt.local_time(ts, plan.timezone, zone_name=plan.language == "ko") if isinstance(ts, int | float) else "-"

