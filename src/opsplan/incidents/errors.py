"""The incident package's one error kind: bad input or a step out of order, said in ko and en."""

from __future__ import annotations

from opsplan.errors import OpsplanError


class IncidentError(OpsplanError):
    """An incident that does not exist, an unknown severity or stage, a step out of order."""
