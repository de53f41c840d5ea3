"""The notification stage's checks of the plan: quiet hours it can parse, channel URLs apprise takes.

Messages name the channel, the variable or the file, never the URL (it carries the token).
"""

from __future__ import annotations

from collections.abc import Iterator

from opsplan.errors import SecretError
from opsplan.notify.delivery import accepts
from opsplan.notify.routing import parse_quiet_hours
from opsplan.plan.models import Plan
from opsplan.plan.secrets import read_channel_url
from opsplan.plan.semantic import CheckContext, Loc, Problem


def notification_problems(plan: Plan, context: CheckContext) -> Iterator[Problem]:
    if plan.notifications.quiet_hours is not None:
        try:
            parse_quiet_hours(plan.notifications.quiet_hours)
        except ValueError as exc:
            yield Problem(("notifications", "quiet_hours"), str(exc))
    # Every load checks a URL it can read; an unset variable only fails `plan check` (strict),
    # so `serve` still starts and logs that channel as unavailable.
    environ = context.environ
    for i, channel in enumerate(plan.notifications.channels):
        loc: Loc = ("notifications", "channels", i)
        if channel.url_env is None and channel.url_file is None:
            continue
        try:
            url = read_channel_url(channel, environ)
        except SecretError as exc:
            if context.strict:
                yield Problem(loc, f"channel '{channel.name}': {exc}")
            continue
        if url is None:
            if context.strict:
                yield Problem.said(loc, "notify.problem.env_unset", channel=channel.name, variable=channel.url_env)
            continue
        if not accepts(url):
            where = f"${channel.url_env}" if channel.url_env and environ.get(channel.url_env) else str(channel.url_file)
            yield Problem.said(loc, "notify.problem.url_refused", channel=channel.name, where=where)
