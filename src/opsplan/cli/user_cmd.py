"""`opsplan user add|passwd|role|disable|enable|list|totp|language|sessions|session-end` and
`opsplan user token create|list|revoke`: the console's users, made and managed here.

There is no web sign-up: the first admin can only be made with `opsplan user add NAME --role
admin`. Passwords never travel on the command line (where `ps` shows them): they are asked on
the terminal, twice and hidden, or read from standard input with --password-stdin.
"""

from __future__ import annotations

import getpass
import socket
import sys
import time
from typing import TYPE_CHECKING

import typer

from opsplan.cli.common import fail, one_line_errors, out, plan_from, print_json, state_db
from opsplan.cli.language import help_text
from opsplan.i18n import t

if TYPE_CHECKING:
    from collections.abc import Callable

    from sqlalchemy.orm import Session

    from opsplan.plan.models import Plan
    from opsplan.store.state import StateDB
    from opsplan.web.identity.users import Users


def register(app: typer.Typer) -> None:
    user_app = typer.Typer(name="user", no_args_is_help=True, help=help_text("help.user"))
    user_app.command("add", help=help_text("help.cmd.user_add"))(add_user)
    user_app.command("passwd", help=help_text("help.cmd.user_passwd"))(change_password)
    user_app.command("role", help=help_text("help.cmd.user_role"))(change_role)
    user_app.command("disable", help=help_text("help.cmd.user_disable"))(disable_user)
    user_app.command("enable", help=help_text("help.cmd.user_enable"))(enable_user)
    user_app.command("list", help=help_text("help.cmd.user_list"))(list_users)
    user_app.command("totp", help=help_text("help.cmd.user_totp"))(turn_on_totp)
    user_app.command("language", help=help_text("help.cmd.user_language"))(set_language)
    user_app.command("sessions", help=help_text("help.cmd.user_sessions"))(list_sessions)
    user_app.command("session-end", help=help_text("help.cmd.user_session_end"))(end_session)
    token_app = typer.Typer(name="token", no_args_is_help=True, help=help_text("help.user.token"))
    token_app.command("create", help=help_text("help.cmd.token_create"))(create_token)
    token_app.command("list", help=help_text("help.cmd.token_list"))(list_tokens)
    token_app.command("revoke", help=help_text("help.cmd.token_revoke"))(revoke_token)
    user_app.add_typer(token_app, name="token")
    app.add_typer(user_app, name="user")


def actor() -> str:
    """Who made a change from the command line: the operating-system user on this host."""
    try:
        name = getpass.getuser()
    except (KeyError, OSError):
        name = "unknown"
    return f"{name}@{socket.gethostname()}"


def read_password(lang: str, from_stdin: bool) -> str:
    """The new password: the first line of standard input, or asked twice, hidden, on a terminal."""
    if from_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
        if not password:
            fail(t("identity.no_password", lang))
        return password
    if not sys.stdin.isatty():
        fail(t("identity.no_password", lang))
    first = typer.prompt(t("identity.password_prompt", lang), hide_input=True)
    second = typer.prompt(t("identity.password_confirm", lang), hide_input=True)
    if first != second:
        fail(t("identity.password_mismatch", lang))
    return str(first)


def _users(plan: Plan, db: StateDB) -> Users:
    from opsplan.web.identity.users import Users  # here: argon2 loads only for these commands

    return Users(db, plan.data_dir, time.time)


ROLE_LABELS = {"viewer": "identity.role.viewer", "operator": "identity.role.operator",
               "admin": "identity.role.admin"}
SCOPE_LABELS = {"read": "identity.scope.read", "write": "identity.scope.write"}
TOKEN_STATES = {"live": "identity.cli.token_live", "revoked": "identity.cli.token_revoked",
                "expired": "identity.cli.token_expired"}


def _role(role: str, lang: str) -> str:
    return t(ROLE_LABELS[role], lang) if role in ROLE_LABELS else role


def _scope(scope: str, lang: str) -> str:
    return t(SCOPE_LABELS[scope], lang) if scope in SCOPE_LABELS else scope


NAME_ARG = typer.Argument(..., help=help_text("help.user.name"))


def add_user(ctx: typer.Context, name: str = NAME_ARG,
             role: str = typer.Option("viewer", "--role", help=help_text("help.user.role")),
             password_stdin: bool = typer.Option(False, "--password-stdin",
                                                  help=help_text("help.user.password_stdin"))) -> None:
    plan = plan_from(ctx)
    lang = plan.language
    with one_line_errors(), state_db(plan) as db:
        users = _users(plan, db)
        users.check_new(name, role)  # before asking for a password that would be thrown away
        first_admin = role == "admin" and not any(u.role == "admin" for u in users.all())
        password = read_password(lang, password_stdin)
        view = users.add(name, role, password, actor=actor())
    out.print(t("identity.cli.added", lang, name=view.name, role=_role(view.role, lang)), markup=False)
    if first_admin:
        url = plan.web.public_url or f"http://{plan.web.bind}:{plan.web.port}/"
        out.print(t("identity.cli.first_admin", lang, url=url), markup=False, highlight=False)


def change_password(ctx: typer.Context, name: str = NAME_ARG,
                    password_stdin: bool = typer.Option(False, "--password-stdin",
                                                        help=help_text("help.user.password_stdin"))) -> None:
    plan = plan_from(ctx)
    lang = plan.language
    with one_line_errors(), state_db(plan) as db:
        users = _users(plan, db)
        users.get(name)  # an unknown user is said before the password is asked
        ended = users.set_password(name, read_password(lang, password_stdin), actor=actor())
    out.print(t("identity.cli.password_set", lang, name=name, count=ended), markup=False)


def change_role(ctx: typer.Context, name: str = NAME_ARG,
                role: str = typer.Argument(..., help=help_text("help.user.role"))) -> None:
    plan = plan_from(ctx)
    lang = plan.language
    with one_line_errors(), state_db(plan) as db:
        ended = _users(plan, db).set_role(name, role, actor=actor())
    out.print(t("identity.cli.role_set", lang, name=name, role=_role(role, lang), count=ended), markup=False)


def disable_user(ctx: typer.Context, name: str = NAME_ARG) -> None:
    plan = plan_from(ctx)
    with one_line_errors(), state_db(plan) as db:
        ended = _users(plan, db).set_disabled(name, True, actor=actor())
    out.print(t("identity.cli.disabled", plan.language, name=name, count=ended), markup=False)


def enable_user(ctx: typer.Context, name: str = NAME_ARG) -> None:
    plan = plan_from(ctx)
    with one_line_errors(), state_db(plan) as db:
        _users(plan, db).set_disabled(name, False, actor=actor())
    out.print(t("identity.cli.enabled", plan.language, name=name), markup=False)


def list_users(ctx: typer.Context,
               as_json: bool = typer.Option(False, "--json", help=help_text("help.json"))) -> None:
    from opsplan import format as fmt
    from opsplan.cli.tables import wrapping_table

    plan = plan_from(ctx)
    lang = plan.language
    with one_line_errors(), state_db(plan) as db:
        views = _users(plan, db).all()
    if as_json:
        print_json([{"name": v.name, "role": v.role, "disabled": v.disabled, "totp": v.totp,
                     "created": fmt.local_time(v.created_at, plan.timezone, zone_name=True)} for v in views])
        return
    if not views:
        out.print(t("identity.cli.no_users", lang), markup=False, highlight=False)
        return
    cells = [[v.name, _role(v.role, lang), t("identity.cli.inactive" if v.disabled else "identity.cli.active", lang),
              t("identity.cli.yes" if v.totp else "identity.cli.no", lang),
              fmt.local_time(v.created_at, plan.timezone, zone_name=True)] for v in views]
    out.print(wrapping_table(t("identity.cli.user_columns", lang).split("|"), cells))


def turn_on_totp(ctx: typer.Context, name: str = NAME_ARG) -> None:
    from opsplan.web.identity.totp import provisioning_uri

    plan = plan_from(ctx)
    with one_line_errors(), state_db(plan) as db:
        secret, codes = _users(plan, db).enable_totp(name, actor=actor())
    out.print(t("identity.cli.totp_set", plan.language, name=name), markup=False)
    out.print(provisioning_uri(secret, name), markup=False, highlight=False)
    for code in codes:
        out.print(code, markup=False, highlight=False)


def set_language(ctx: typer.Context, name: str = NAME_ARG,
                 language: str = typer.Argument(..., help=help_text("help.user.language"))) -> None:
    """The console language the user's pages open in (the Account page sets the same)."""
    plan = plan_from(ctx)
    with one_line_errors(), state_db(plan) as db:
        _users(plan, db).set_language(name, language, actor=actor())
    out.print(t("identity.cli.language_set", plan.language, name=name, lang=language), markup=False)


def list_sessions(ctx: typer.Context,
                  user: str = typer.Option(None, "--user", help=help_text("help.user.filter")),
                  as_json: bool = typer.Option(False, "--json", help=help_text("help.json"))) -> None:
    from opsplan import format as fmt
    from opsplan.cli.tables import wrapping_table
    from opsplan.web.identity import sessions

    plan = plan_from(ctx)
    lang = plan.language
    policy = sessions.Policy(plan.web.session_idle, plan.web.session_absolute)
    with one_line_errors(), state_db(plan) as db:
        user_id = _users(plan, db).get(user).id if user else None
        with db.session() as session:
            rows = sessions.live(session, time.time(), policy, user_id)
    tz = plan.timezone
    items = [{**row, "created_at": fmt.local_time(float(row["created_at"]), tz, zone_name=True),  # type: ignore[arg-type]
              "last_seen_at": fmt.local_time(float(row["last_seen_at"]), tz, zone_name=True)}  # type: ignore[arg-type]
             for row in rows]
    if as_json:
        print_json(items)
        return
    if not items:
        out.print(t("identity.cli.no_sessions", lang), markup=False)
        return
    cells = [[str(i["id"]), str(i["user"]), str(i["address"] or "-"), str(i["created_at"]), str(i["last_seen_at"])]
             for i in items]
    out.print(wrapping_table(t("identity.cli.session_columns", lang).split("|"), cells, right=(0,)))


def end_session(ctx: typer.Context, session_id: int = typer.Argument(..., help=help_text("help.session.id"))) -> None:
    from opsplan.web.identity import sessions

    _end_one(ctx, session_id, lambda session, now: bool(sessions.end_by_id(session, session_id, now)),
             action="session.end", what="session")
    out.print(t("identity.cli.session_ended", plan_from(ctx).language, id=session_id), markup=False)


def _end_one(ctx: typer.Context, row_id: int, end: Callable[[Session, float], bool], *, action: str,
             what: str) -> None:
    """End one session or token by id (`end` says whether it existed); audited, or a one-line error."""
    from opsplan.web.identity import trail

    plan = plan_from(ctx)
    now = time.time()
    with one_line_errors(), state_db(plan) as db:
        with db.session() as session:
            ended = end(session, now)
        if not ended:
            fail(t("identity.no_session" if what == "session" else "identity.no_token", plan.language, id=row_id))
        trail.write(db, plan.data_dir, at=now, actor=actor(), action=action, arguments={what: row_id})


def create_token(ctx: typer.Context, name: str = NAME_ARG,
                 label: str = typer.Option("cli", "--name", help=help_text("help.token.label")),
                 scope: str = typer.Option("read", "--scope", help=help_text("help.token.scope")),
                 expires: str = typer.Option(None, "--expires", help=help_text("help.token.expires")),
                 as_json: bool = typer.Option(False, "--json", help=help_text("help.json"))) -> None:
    from opsplan.errors import PlanError
    from opsplan.plan.types import parse_duration
    from opsplan.web.identity import tokens, trail

    plan = plan_from(ctx)
    lang = plan.language
    if scope not in tokens.SCOPES:
        fail(t("identity.bad_scope", lang, scope=scope[:32]))
    lifetime = None
    if expires is not None:
        try:
            lifetime = parse_duration(expires)
        except (ValueError, PlanError):
            fail(t("identity.bad_expiry", lang, name=expires[:32]))
    now = time.time()
    with one_line_errors(), state_db(plan) as db:
        view = _users(plan, db).get(name)
        with db.session() as session:
            token_id, token = tokens.create(session, view.id, label[:100], scope, now,
                                            now + lifetime if lifetime else None)
        trail.write(db, plan.data_dir, at=now, actor=actor(), action="token.create",
                    arguments={"user": name, "token": token_id, "scope": scope, "expires": lifetime})
    if as_json:
        print_json({"id": token_id, "user": name, "scope": scope, "token": token})
        return
    out.print(t("identity.cli.token_created", lang, id=token_id, scope=_scope(scope, lang)), markup=False)
    out.print(token, markup=False, highlight=False)


def list_tokens(ctx: typer.Context,
                user: str = typer.Option(None, "--user", help=help_text("help.user.filter")),
                as_json: bool = typer.Option(False, "--json", help=help_text("help.json"))) -> None:
    from opsplan import format as fmt
    from opsplan.cli.tables import wrapping_table
    from opsplan.web.identity import tokens

    plan = plan_from(ctx)
    lang, tz, now = plan.language, plan.timezone, time.time()
    with one_line_errors(), state_db(plan) as db:
        views = {v.id: v.name for v in _users(plan, db).all()}
        user_id = next((i for i, n in views.items() if n == user), -1) if user else None
        with db.session() as session:
            rows = tokens.listed(session, user_id)

    def state(row: tokens.ApiToken) -> str:
        if row.revoked_at is not None:
            return "revoked"
        return "expired" if row.expires_at is not None and row.expires_at <= now else "live"

    items = [{"id": r.id, "user": views.get(r.user_id, "?"), "name": r.name, "scope": r.scope,
              "created": fmt.local_time(r.created_at, tz, zone_name=True),
              "expires": fmt.local_time(r.expires_at, tz, zone_name=True, missing=None), "state": state(r)}
             for r in rows]
    if as_json:
        print_json(items)
        return
    if not items:
        out.print(t("identity.cli.no_tokens", lang), markup=False)
        return
    cells = [[str(i["id"]), str(i["user"]), str(i["name"]), _scope(str(i["scope"]), lang), str(i["created"]),
              str(i["expires"] or t("identity.cli.never", lang)), t(TOKEN_STATES[str(i["state"])], lang)]
             for i in items]
    out.print(wrapping_table(t("identity.cli.token_columns", lang).split("|"), cells, right=(0,)))


def revoke_token(ctx: typer.Context, token_id: int = typer.Argument(..., help=help_text("help.token.id"))) -> None:
    from opsplan.web.identity import tokens

    _end_one(ctx, token_id, lambda session, now: tokens.revoke(session, token_id, now) is not None,
             action="token.revoke", what="token")
    out.print(t("identity.cli.token_revoked_done", plan_from(ctx).language, id=token_id), markup=False)
