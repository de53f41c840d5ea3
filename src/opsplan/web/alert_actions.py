"""Acknowledge an alert, silence alerts: the one write path the JSON API and the alerts page share.

Each call changes the alert state and writes the audit entry with the actor, so a page and a
script that do the same thing leave the same trail (`via` says which one it was).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from opsplan.alerts.queries import acknowledge
from opsplan.alerts.silences import Matcher, Silence, add_silence
from opsplan.audit import record
from opsplan.store.state import StateDB


def acknowledge_alert(db: StateDB, fingerprint: str, *, actor: str, comment: str, via: str,
                      now: float) -> dict[str, Any]:
    """The unresolved alert acknowledged by `actor` (NotFound, AlertError as `acknowledge`), audited."""
    done = acknowledge(db, fingerprint, by=actor, comment=comment, now=now)
    record(db, actor.strip(), "alert.ack", f"alert {fingerprint}", {"via": via, "comment": comment}, at=now)
    return done


def silence_alerts(db: StateDB, matchers: Sequence[Matcher], *, starts_at: float, ends_at: float, author: str,
                   comment: str, via: str, now: float) -> Silence:
    """A new silence by `author` (AlertError as `add_silence`), audited with its matchers and times."""
    silence = add_silence(db, matchers, starts_at=starts_at, ends_at=ends_at, author=author, comment=comment,
                          now=now)
    record(db, author, "silence.add", f"silence {silence.id}",
           {"via": via, "matchers": [{"name": m.name, "op": m.op, "value": m.value} for m in matchers],
            "starts_at": starts_at, "ends_at": ends_at, "comment": comment}, at=now)
    return silence
