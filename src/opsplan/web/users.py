"""The seam between the console's safety rules and its users (web/identity/, issue 12 item 1).

`serve` refuses an address other than loopback unless TLS is configured and at least one user can
log in: `has_users` answers the second half, from the identity part's users table.
"""

from __future__ import annotations

from opsplan.store.state import StateDB


def has_users(db: StateDB) -> bool:
    """Whether at least one enabled console user exists in the state database `db` (serve asks
    before it binds, with the plan's state database)."""
    from opsplan.web.identity.users import any_enabled

    return any_enabled(db)
