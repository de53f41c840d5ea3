"""A postmortem's facts as Markdown or HTML, in Korean or English. Timeline entries are described by
the caller's `describe` (the CLI's own event texts), so the words match `opsplan incident show`."""

from __future__ import annotations

import html
from collections.abc import Callable
from typing import Any

from opsplan import format as fmt
from opsplan.i18n import t
from opsplan.plan.models import Plan

Describe = Callable[[dict[str, Any], str], str]
# The evidence captured at opening, from the caller (the CLI words it as `incident show` does and
# draws its chart with the check reports' SVG helper): (lines, inline SVG or "") in a language.
Evidence = Callable[[str], tuple[list[str], str]]
_SEVERITY_KEY = {"critical": "incident.severity.critical", "major": "incident.severity.major",
                 "minor": "incident.severity.minor"}


def _when(ts: float | None, plan: Plan, lang: str) -> str:
    return fmt.local_time(ts, plan.timezone, zone_name=lang == "ko") if ts is not None else "-"


def _deadline(met: float | None, due: float, breached: float | None, plan: Plan, lang: str) -> str:
    state = ("incident.pm.deadline_missed" if breached is not None or (met is not None and met > due)
             else "incident.pm.deadline_met" if met is not None else "incident.pm.deadline_pending")
    return t(state, lang, time=_when(met, plan, lang), due=_when(due, plan, lang))


def sections(found: dict[str, Any], plan: Plan, lang: str, describe: Describe) -> list[tuple[str, list[str]]]:
    """(heading, lines) in order; the same for both formats."""
    inc = found["incident"]
    none = t("incident.pm.none", lang)
    severity = t(_SEVERITY_KEY[inc["severity"]], lang) if inc["severity"] in _SEVERITY_KEY else inc["severity"]
    failed = found["requests_failed"]
    summary = [t("incident.pm.summary", lang, id=inc["id"], title=inc["title"][lang], severity=severity,
                 start=_when(found["started_at"], plan, lang), end=_when(inc["resolved_at"], plan, lang))]
    impact = [t("incident.pm.duration", lang, duration=fmt.duration(found["duration"], language=lang)),
              t("incident.pm.services", lang, services=found["services"] or none),
              t("incident.pm.requests_failed", lang,
                count=f"{failed:,.0f}" if failed is not None else t("incident.pm.unknown", lang)),
              t("incident.pm.impact", lang, text=found["impact"] or none)]
    times = [t("incident.pm.detected", lang, time=_when(found["detected_at"], plan, lang)),
             t("incident.pm.acknowledged", lang,
               state=_deadline(inc["acknowledged_at"], inc["ack_due"], inc["ack_breached_at"], plan, lang),
               took=fmt.duration(found["time_to_acknowledge"], language=lang)),
             t("incident.pm.responded", lang,
               state=_deadline(inc["responded_at"], inc["respond_due"], inc["respond_breached_at"], plan, lang)),
             t("incident.pm.resolved", lang, time=_when(inc["resolved_at"], plan, lang),
               took=fmt.duration(found["time_to_resolve"], language=lang))]
    cause = [found["root_cause"] or none]
    fix = [found["fix"] or none]
    actions = []
    for a in found["actions"]:
        state = (t("incident.pm.action_done", lang, time=_when(a["done_at"], plan, lang)) if a["done_at"]
                 else t("incident.pm.action_overdue", lang) if a["number"] in found["overdue"]
                 else t("incident.pm.action_open", lang))
        actions.append(t("incident.pm.action", lang, number=a["number"], text=a["text"], owner=a["owner"],
                         due=_when(a["due"], plan, lang), state=state))
    checks = []
    for task in found["checklist"]:
        done = task["done"]
        mark = (t("incident.pm.task_done", lang, by=done["by"], time=_when(done["at"], plan, lang)) if done
                else t("incident.pm.task_open", lang))
        checks.append(f"{task['stage']}.{task['task']} {task['name'][lang]}: {mark}")
    timeline = [f"{_when(e['at'], plan, lang)} {describe(e, lang)} ({e['actor']})" for e in found["timeline"]]
    return [(t("incident.pm.h.summary", lang), summary), (t("incident.pm.h.impact", lang), impact),
            (t("incident.pm.h.times", lang), times), (t("incident.pm.h.root_cause", lang), cause),
            (t("incident.pm.h.fix", lang), fix), (t("incident.pm.h.actions", lang), actions or [none]),
            (t("incident.pm.h.checklist", lang), checks), (t("incident.pm.h.timeline", lang), timeline)]


def title(found: dict[str, Any], lang: str) -> str:
    inc = found["incident"]
    key = "incident.pm.title_final" if found.get("final_at") else "incident.pm.title_draft"
    return t(key, lang, id=inc["id"], title=inc["title"][lang])


def final_line(found: dict[str, Any], plan: Plan, lang: str) -> str | None:
    """Who made the postmortem final and when; None for a draft."""
    if not found.get("final_at"):
        return None
    return t("incident.pm.final_by", lang, by=found["final_by"], time=_when(found["final_at"], plan, lang))


def markdown(found: dict[str, Any], plan: Plan, lang: str, describe: Describe,
             evidence: Evidence | None = None) -> str:
    lines = [f"# {title(found, lang)}", ""]
    signed = final_line(found, plan, lang)
    if signed:
        lines += [signed, ""]
    for heading, body in sections(found, plan, lang, describe):
        lines += [f"## {heading}", "", *[f"- {line}" for line in body], ""]
    shown = evidence(lang)[0] if evidence is not None else []
    if shown:  # log lines keep their shape in a code block
        lines += [f"## {t('incident.pm.h.evidence', lang)}", "", "```", *shown, "```", ""]
    return "\n".join(lines)


# Hangul needs a CJK font wherever the file is opened (as the check reports: checks/report/render.py).
STYLE = ('body{font-family:"Noto Sans CJK KR","NanumGothic","Noto Sans KR",sans-serif;margin:2em;'
         "max-width:60em;color:#222;line-height:1.4}h2{border-top:1px solid #ddd;padding-top:.4em}")


def html_page(found: dict[str, Any], plan: Plan, lang: str, describe: Describe,
              evidence: Evidence | None = None) -> str:
    e = html.escape
    parts = [f'<!doctype html>\n<html lang="{lang}"><head><meta charset="utf-8"><title>{e(title(found, lang))}'
             f"</title><style>{STYLE}</style></head><body>", f"<h1>{e(title(found, lang))}</h1>"]
    signed = final_line(found, plan, lang)
    if signed:
        parts.append(f"<p>{e(signed)}</p>")
    for heading, body in sections(found, plan, lang, describe):
        items = "".join(f"<li>{e(line)}</li>" for line in body)
        parts.append(f"<h2>{e(heading)}</h2><ul>{items}</ul>")
    shown, svg = evidence(lang) if evidence is not None else ([], "")
    if shown:  # the chart is the caller's SVG (its text escaped there)
        parts.append(f"<h2>{e(t('incident.pm.h.evidence', lang))}</h2>{svg}<pre>{e(chr(10).join(shown))}</pre>")
    parts.append("</body></html>\n")
    return "\n".join(parts)
