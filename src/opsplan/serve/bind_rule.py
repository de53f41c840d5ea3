"""Which address `serve` may listen on: loopback always; any other only with TLS and a user.

Anyone who can reach a non-loopback address would otherwise read the console in clear text, or
find it with nobody able to log in. Checked before the socket is bound, so a refused serve never
listens, not even for a moment.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping

from opsplan.errors import OpsplanError, said
from opsplan.net import is_loopback
from opsplan.plan.models import Plan


def check_bind(plan: Plan, host: str, users_exist: Callable[[], bool]) -> None:
    """Raise a one-line OpsplanError when `host` may not be served; `users_exist` is asked last."""
    if is_loopback(host):
        return
    if plan.web.tls_cert_file is None or plan.web.tls_key_file is None:
        raise said(OpsplanError, "serve.refused_no_tls", bind=host)
    if not users_exist():
        raise said(OpsplanError, "serve.refused_no_users", bind=host)


def plan_has_users(plan: Plan, environ: Mapping[str, str] = os.environ) -> bool:
    """`web.users.has_users` on the plan's state database (opened for the question, then closed)."""
    from opsplan.store.state import StateDB, state_url
    from opsplan.web.users import has_users

    db = StateDB.open(state_url(plan.data_dir, plan.state_db_url_env, environ))
    try:
        return has_users(db)
    finally:
        db.close()
