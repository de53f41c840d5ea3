"""Errors of the alert domain: each is one line an operator can act on."""

from __future__ import annotations

from opsplan.errors import OpsplanError


class AlertError(OpsplanError):
    """A bad silence, an unknown alert or silence id, a malformed webhook payload."""


class NotFound(AlertError):
    """No alert or silence with that id (the API answers 404)."""
