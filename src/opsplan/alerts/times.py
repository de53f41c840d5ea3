"""The times alerts and silences accept from outside (the API, Alertmanager, the CLI).

Finite unix seconds from 1970 to the year 5138 (1e11, the query API's bound too). NaN cannot be
stored (SQLite turns it into NULL), infinity reads back as no end, and a time past the year 9999
overflows when a notification or the status page shows it in local time.
"""

from __future__ import annotations

import math

from opsplan.alerts.errors import AlertError

LATEST = 1e11


def checked_time(value: float, where: str) -> float:
    if not (math.isfinite(value) and 0 <= value <= LATEST):
        raise AlertError(f"{where}: expected a time between 1970 and the year 5138 (unix seconds 0 to 1e11), "
                         f"got {value!r:.40}")
    return value
