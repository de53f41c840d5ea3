"""A finished check run summarised to the notification channels (seed §2: the team hears the
morning's result without opening anything): period, date, the counts, the failed items' names, and
where to read the report (the console's page under `web.public_url`, else the command that shows it).

The summary is written to the persistent notification outbox, one row per channel, keyed by the run:
the notifier of `opsplan serve` (or `opsplan notify`) delivers it, retried like any notice, and a run
summarised twice is still sent once. It waits out the quiet hours: it is news, not a page.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Mapping
from typing import Any

from sqlalchemy.orm import Session

from opsplan import format as fmt
from opsplan.checks.report.render import period_name, status_text
from opsplan.errors import OpsplanError, said
from opsplan.i18n import t
from opsplan.notify import outbox
from opsplan.notify.outbox import OutboxRow
from opsplan.notify.routing import parse_quiet_hours, takes
from opsplan.plan.models import Plan

NOTICE_KIND = "check_report"
# The apprise notice type a chat shows (its colour): by the run's overall status.
_NOTIFY_TYPE = {"fail": "failure", "warn": "warning", "pass": "success"}


class ReportChannelError(OpsplanError):
    """`checks.notify_channels` names a channel the plan does not define."""


def report_channels(plan: Plan) -> list[str]:
    """The channel names a run's summary goes to (see `checks.notify_channels`); an unknown name is
    a one-line error (the plan check says it first)."""
    channels = plan.notifications.channels
    named = plan.checks.notify_channels
    if named is None:
        return [c.name for c in channels if takes(c, "warning")]
    known = {c.name for c in channels}
    unknown = [n for n in named if n not in known]
    if unknown:
        raise said(ReportChannelError, "checks.plan.unknown_channel", channel=", ".join(unknown),
                   known=", ".join(sorted(known)) or "-")
    return list(dict.fromkeys(named))


def report_link(plan: Plan, run_id: int, lang: str) -> str:
    """The report's page on the console, or the command that prints it where the plan names no URL."""
    if plan.web.public_url:
        return t("checks.summary.link", lang, url=f"{plan.web.public_url.rstrip('/')}/reports/{run_id}?lang={lang}")
    return t("checks.summary.command", lang, id=run_id)


def message(plan: Plan, run: Mapping[str, Any], lang: str) -> tuple[str, str]:
    """(title, body) of a run's summary in `lang`."""
    tz = plan.timezone
    period = period_name(run["period"], lang)
    day = fmt.local_time(run["started_at"], tz, zone_name=False)[:10]
    title = t("checks.summary.title", lang, period=period, date=day, status=status_text(run["status"], lang))
    items = run["items"]
    counted = Counter(item["status"] for item in items)
    lines = [t("checks.summary.window", lang, start=fmt.local_time(run["window"]["start"], tz, zone_name=True),
               end=fmt.local_time(run["window"]["end"], tz, zone_name=True)),
             t("checks.summary.counts", lang, passed=counted["pass"], warned=counted["warn"], failed=counted["fail"],
               skipped=counted["not-run"])]
    failed = [item["title"]["ko" if lang == "ko" else "en"] for item in items if item["status"] == "fail"]
    if failed:
        lines.append(t("checks.summary.failed_items", lang, names=", ".join(failed)))
    waiting = sum(1 for item in items if item["status"] == "manual" and item["ticked"] is None)
    if waiting:
        lines.append(t("checks.summary.manual", lang, count=waiting))
    lines.append(report_link(plan, int(run["id"]), lang))
    return title, "\n".join(lines)


def queue_summary(session: Session, plan: Plan, run: Mapping[str, Any], *, now: float) -> list[str]:
    """Write the run's summary to the outbox for each report channel, in the plan's language;
    returns the channels it was newly queued for (none when already queued)."""
    names = report_channels(plan)
    if not names:
        return []
    title, body = message(plan, run, plan.language)
    due = now
    if plan.notifications.quiet_hours:
        quiet = parse_quiet_hours(plan.notifications.quiet_hours, plan.timezone)
        due = quiet.end_if_quiet(now) or now
    key = hashlib.sha256(f"check-run|{run['id']}|summary".encode()).hexdigest()
    rows = [OutboxRow(notice_key=key, channel=name, kind=NOTICE_KIND, fingerprint=f"check-run:{run['id']}",
                      alert=f"check {run['period']} #{run['id']}", severity="warning", title=title, body=body,
                      notify_type=_NOTIFY_TYPE.get(run["status"], "info"), created_at=now, first_due_at=due,
                      next_try_at=due) for name in names]
    return [row.channel for row in outbox.add_new(session, rows)]
