"""A notice as plain text in the plan's language: usable as e-mail, Slack, Teams or Telegram."""

from __future__ import annotations

from dataclasses import dataclass

from opsplan import format as fmt
from opsplan.alerts.events import AlertNotice
from opsplan.i18n import t
from opsplan.plan.models import Plan
from opsplan.plan.types import format_duration


@dataclass(frozen=True)
class Message:
    title: str
    body: str
    notify_type: str  # apprise's: info, success, warning, failure


_NOTIFY_TYPE = {("firing", "critical"): "failure", ("repeat", "critical"): "failure",
                ("firing", "warning"): "warning", ("repeat", "warning"): "warning",
                ("resolved", "critical"): "success", ("resolved", "warning"): "success"}
# Catalogue keys by notice kind and by severity: literal keys, so the catalogue test sees them.
_TITLE_KEY = {"firing": "notify.title.firing", "repeat": "notify.title.repeat", "resolved": "notify.title.resolved"}
_HEADLINE_KEY = {"ko": "notify.headline.summary_first", "en": "notify.headline.name_first"}
_SEVERITY_KEY = {"critical": "notify.severity.critical", "warning": "notify.severity.warning"}


def console_url(plan: Plan) -> str:
    if plan.web.public_url:
        return plan.web.public_url
    bind = plan.web.bind
    host = f"[{bind}]" if ":" in bind else bind
    return f"http://{host}:{plan.web.port}/"


def render(notice: AlertNotice, plan: Plan) -> Message:
    lang = plan.language
    # host, console_url, value_text and threshold_text come from the engine when it fills them.
    host = (getattr(notice, "host", "") or notice.labels.get("host") or notice.labels.get("instance")
            or plan.server.name)
    unit = notice.annotations.get("unit", "")
    value_text = fmt.in_language(getattr(notice, "value_text", "") or (
        fmt.quantity(notice.value, unit) if notice.value is not None else ""), lang)
    threshold_text = fmt.in_language(getattr(notice, "threshold_text", "") or fmt.quantity(notice.threshold, unit),
                                     lang)
    console = getattr(notice, "console_url", None) or console_url(plan)
    shown_subject = (notice.subject_ko or notice.subject) if lang == "ko" else notice.subject
    subject = (", " if lang == "ko" else " ") + shown_subject if shown_subject else ""
    summary = notice.summary.get(lang)
    # The rule's summary says what is wrong: a resolved notice says it is resolved instead (KOREAN.md rule 7).
    if notice.kind == "resolved":
        headline = t("notify.headline.resolved", lang, alert=notice.alert, subject=subject)
        lines = [t("notify.resolved.body", lang, alert=notice.alert)]
    else:
        headline = t(_HEADLINE_KEY[lang], lang, summary=summary, alert=notice.alert, subject=subject)
        lines = [summary]
        description = notice.description.get(lang)
        if description and description != summary:
            lines.append(description)
    title = " ".join(t(_TITLE_KEY[notice.kind], lang, headline=headline, host=host,
                       severity=t(_SEVERITY_KEY[notice.severity], lang)).split())
    lines.append("")
    if value_text:
        key = "notify.last_value" if notice.kind == "resolved" else "notify.value"
        lines.append(t(key, lang, value=value_text))
    lines.append(t("notify.threshold", lang, threshold=threshold_text))
    # English: the rule's `for` in the plan's own notation ("5m", "0s"), as the operator wrote it.
    for_text = fmt.duration(notice.for_s, language=lang) if lang == "ko" else format_duration(notice.for_s)
    lines.append(t("notify.duration", lang, duration=for_text))
    lines.append(t("notify.host", lang, host=host))
    tz = plan.timezone
    lines.append(t("notify.started", lang, time=fmt.local_time(notice.started_at, tz, zone_name=True)))
    if notice.kind == "resolved" and notice.resolved_at is not None:
        lines.append(t("notify.resolved_at", lang, time=fmt.local_time(notice.resolved_at, tz, zone_name=True)))
    lines.append(t("notify.console", lang, url=console))
    if notice.kind != "resolved" and notice.severity == "critical":
        lines.append(t("notify.ack_hint", lang))
    return Message(title, "\n".join(lines), _NOTIFY_TYPE[notice.kind, notice.severity])


def channel_test_message(plan: Plan, channel: str, now: float) -> Message:
    lang = plan.language
    return Message(t("notify.test.title", lang, channel=channel),
                   t("notify.test.body", lang, host=plan.server.name,
                     time=fmt.local_time(now, plan.timezone, zone_name=True), url=console_url(plan)),
                   "info")
