"""Open alerts as the overview shows them: firing and pending, each with since, value and threshold.

A pending alert is one whose condition holds but not yet for the rule's `for`: the operator wants
to see it coming, so it is listed (marked 대기/pending) rather than hidden behind "no alert".
An alert inhibited by a Critical on the same subject stays hidden, as in notifications.
Acknowledgements and silences are read as stored now (not as the engine saw them on its last cycle),
so the overview and the alerts page agree the moment an operator presses a button.
"""

from __future__ import annotations

import logging
from typing import Any

from opsplan import format as fmt
from opsplan.alerts.instance import read_acks
from opsplan.alerts.silences import load_silences, silenced_by
from opsplan.i18n import t

log = logging.getLogger(__name__)

# Korean names the rule's summary with its name in parentheses (KOREAN.md rule 5), as notifications do.
_HEADLINE_KEY = {"ko": "notify.headline.summary_first", "en": "notify.headline.name_first"}
_STATE_KEY = {"firing": "alerts.state.firing", "pending": "alerts.state.pending"}
_SEVERITY_KEY = {"critical": "alerts.severity.critical", "warning": "alerts.severity.warning"}
_MISSING = {"", "-", "–"}


def open_alerts(engine: Any, language: str, tz: str) -> list[dict[str, Any]]:
    """Firing first, then pending; Critical before Warning; the oldest first within each."""
    if engine is None:
        return []
    shown = [a for a in engine.active() if a.state in _STATE_KEY and not a.inhibited]
    shown.sort(key=lambda a: (a.state != "firing", a.severity != "critical", _since(a), a.alert, a.subject))
    rows = [_row(engine, a, language, tz) for a in shown]
    _stored_handling(rows, engine)
    return rows


def _stored_handling(rows: list[dict[str, Any]], engine: Any) -> None:
    """Acknowledgements and silences as stored now: the engine reads them on its next cycle, but the
    operator who just pressed the button (here, on the alerts page, the API or the CLI) must see it
    on every page at once."""
    if not rows:
        return
    now = engine.clock()
    try:
        acks = read_acks(engine.db)
        silences = load_silences(engine.db, now)
    except Exception as exc:  # noqa: BLE001 - an unreadable database: the engine's last view stands
        log.debug("open alerts: acknowledgements not read: %s", exc)
        return
    labels = {a.fingerprint: a.labels for a in engine.active()}
    for row in rows:
        by = acks.get(row["fingerprint"], (None, None, None))[0]
        row["acknowledged"], row["ack_by"] = by is not None, by
        row["silenced"] = bool(silenced_by(silences, labels.get(row["fingerprint"], {}), now)) or row["silenced"]


def _since(alert: Any) -> float:
    # A firing alert started when it fired; a pending one when its condition first held.
    return float(alert.started_at if alert.state == "firing" and alert.started_at else alert.active_since)


def _is_state_rule(engine: Any, rule_id: str) -> bool:
    """A rule on a state (up == 0, last status == 0): its 0/1 'value' and 'threshold' mean nothing to a reader."""
    rule = getattr(engine, "rules_by_id", {}).get(rule_id)
    return rule is not None and not rule.unit and rule.clear_threshold is None


def _shown(engine: Any, a: Any, number: float | None, stored: str, language: str) -> str:
    """The stored text (written once, in English units) as the page's language writes it; a duration
    is written again in the language's own units ('1일 2시간', not '1d2h': KOREAN.md rule 8)."""
    rule = getattr(engine, "rules_by_id", {}).get(a.rule_id)
    if rule is not None and number is not None and rule.condition.metric.endswith("_seconds"):
        return fmt.duration(number, language=language)
    return fmt.in_language(stored, language)


def _row(engine: Any, a: Any, language: str, tz: str) -> dict[str, Any]:
    summary = a.text("summary").get(language)
    value = str(a.texts.get("value") or "")
    threshold = str(a.texts.get("threshold") or "")
    state_alert = a.threshold is None or threshold in _MISSING or _is_state_rule(engine, a.rule_id)
    return {
        "alert": a.alert, "state": a.state, "severity": a.severity, "fingerprint": a.fingerprint,
        "state_text": t(_STATE_KEY[a.state], language),
        "severity_text": t(_SEVERITY_KEY["critical" if a.severity == "critical" else "warning"], language),
        "subject": engine.subject_in(a, language) or engine.host,  # host-wide: the host it is about
        "name": t(_HEADLINE_KEY[language], language, summary=summary or a.alert, alert=a.alert, subject=""),
        "summary": summary, "description": a.text("description").get(language),
        "since": _since(a),
        "since_shown": fmt.local_time(_since(a), tz, zone_name=True),
        "value_shown": None if value in _MISSING or state_alert else _shown(engine, a, a.value, value, language),
        "threshold_shown": None if state_alert else _shown(engine, a, a.threshold, threshold, language),
        "state_alert": state_alert,
        "acknowledged": a.ack_by is not None, "ack_by": a.ack_by, "silenced": bool(a.silenced),
    }


def collectors_down_since(engine: Any) -> dict[str, float]:
    """Since when each collector has been down, as the CollectorDown rule saw it first (pending or
    firing): the alert engine already keeps that moment, so the page reads no history for it."""
    if engine is None:
        return {}
    return {a.labels["collector"]: float(a.active_since) for a in engine.active()
            if a.alert == "CollectorDown" and a.state in _STATE_KEY and "collector" in a.labels}
