"""The audit log: who changed what, when, append-only and hash-chained so tampering shows.

The public API is `record(db, actor, action, target, details)` (every write path calls it: runbook
runs, alert acknowledgements and silences, logins and user changes), `entries(db)` to read it and
`verify(db)` to walk the chain. The table and its chain are described in docs/security.md.
"""

from __future__ import annotations

from opsplan.audit.log import Broken, Verified, entries, record, verify

__all__ = ["Broken", "Verified", "entries", "record", "verify"]
