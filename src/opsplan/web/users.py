"""The seam between the console's safety rules and its users (web/identity/, issue 12 item 1).

`serve` refuses an address other than loopback unless TLS is configured and at least one user can
log in: `has_users` answers the second half. The identity part owns the users table and makes this
answer from it; until that part exists there is no user, so the answer is False and a non-loopback
bind is refused even with TLS.
"""

from __future__ import annotations

from opsplan.store.state import StateDB


def has_users(db: StateDB) -> bool:
    """Whether at least one enabled console user exists in the state database `db`.

    web/identity/ replaces this body with a query of its users table (keep the signature: serve
    calls it before it binds, with the plan's state database)."""
    del db  # no users table yet
    return False
