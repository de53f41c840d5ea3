"""A failed check item opens an incident, or joins the open one of its period and item; an item
passing again is noted on that incident's timeline and resolves nothing: a person resolves it, as
with alerts (incidents/intake.py). Only items with an evaluator: a manual item has no verdict.

One incident per (period, item): its dedup key is `check:<period>:<item id>`, so the daily backup
check failing three mornings running is one incident with three entries, not three incidents.
Everything for one run is one transaction.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from opsplan.checks.report.render import period_name
from opsplan.i18n import t
from opsplan.incidents.lifecycle import Incidents
from opsplan.incidents.records import OPEN, SYSTEM, event
from opsplan.incidents.tables import IncidentRow
from opsplan.plan.models import Plan, Text

SOURCE = "check"
FAILED_KIND, PASSED_KIND = "check_failed", "check_passed"
DEFAULT_SEVERITY = "minor"  # plan/models.py `Checks.incident_severity` says why


@dataclass
class IncidentOutcome:
    opened: list[int] = field(default_factory=list)
    joined: list[int] = field(default_factory=list)
    noted: list[int] = field(default_factory=list)  # passed again: noted on the open incident


def dedup_key(period: str, item_id: str) -> str:
    return f"check:{period}:{item_id}"


def severity_for(plan: Plan, period: str, item_id: str) -> str | None:
    """The item's own entry in `checks.incident_severity`, else its period's, else Minor; a plan
    without that level (its `incidents.severities` may leave some out) gets its least severe one
    (an entry naming a missing level is `plan check`'s one line). None: the plan has no levels."""
    chosen = plan.checks.incident_severity
    wanted = chosen.get(item_id) or chosen.get(period) or DEFAULT_SEVERITY
    levels = plan.incidents.severities
    if wanted in levels:
        return wanted
    return next((level for level in ("minor", "major", "critical") if level in levels), None)


def _open_of(session: Session, key: str) -> IncidentRow | None:
    return session.execute(select(IncidentRow).where(IncidentRow.dedup_key == key, IncidentRow.status.in_(OPEN))
                           .order_by(IncidentRow.id.desc()).limit(1)).scalars().first()


def _title(run: Mapping[str, Any], item: Mapping[str, Any]) -> Text:
    names = {}
    for lang in ("ko", "en"):
        period = period_name(run["period"], lang)
        names[lang] = t("checks.incident.title", lang, period=period, name=item["title"][lang])
    return Text(ko=names["ko"], en=names["en"])


def record(incidents: Incidents, run: Mapping[str, Any], *, now: float) -> IncidentOutcome:
    """Open, join or note the incidents of a finished run's items (`run` as `runs.get_run` gives it)."""
    plan = incidents.plan
    done = IncidentOutcome()
    if not plan.checks.open_incidents:
        return done
    with incidents.db.session() as session:
        for item in run["items"]:
            if item["item_id"] is None or item["status"] not in ("fail", "pass"):
                continue
            key = dedup_key(run["period"], item["item_id"])
            row = _open_of(session, key)
            entry = {"run": run["id"], "period": run["period"], "item": item["item_id"], "name": item["title"]}
            if item["status"] == "pass":
                if row is not None:
                    event(session, row.id, PASSED_KIND, SYSTEM, now, **entry)
                    done.noted.append(row.id)
                continue
            if row is None:
                severity = severity_for(plan, run["period"], item["item_id"])
                if severity is None:
                    continue
                incident_id = incidents.open(severity, _title(run, item), by=SYSTEM, now=now, source=SOURCE,
                                             dedup_key=key, session=session)
                done.opened.append(incident_id)
            else:
                incident_id = row.id
                done.joined.append(incident_id)
            event(session, incident_id, FAILED_KIND, SYSTEM, now, **entry)
    return done
