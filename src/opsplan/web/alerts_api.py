"""/api/v1/alerts and /api/v1/silences: list (open), acknowledge and silence (bearer token)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from opsplan.alerts.engine import AlertEngine
from opsplan.alerts.errors import AlertError, NotFound
from opsplan.alerts.queries import group_by_subject, list_alerts
from opsplan.alerts.silences import Matcher, expire_silence, load_silences, silence_duration
from opsplan.alerts.times import LATEST
from opsplan.audit import record
from opsplan.web.alert_actions import acknowledge_alert, silence_alerts
from opsplan.web.auth import SHARED
from opsplan.web.openapi_docs import REFUSED_BODY, json_body
from opsplan.web.request_body import write_body

# The body is read by a dependency, after the route's `auth` (route dependencies run first): an
# anonymous write is refused 401 before its body is parsed (web/request_body.py).
JsonBody = Annotated[Any, Depends(write_body)]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AckBody(_Body):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"by": "kim", "comment": "on it"}]})

    by: str = Field(min_length=1, max_length=200)
    comment: str = Field(default="", max_length=2000)


class MatcherBody(_Body):
    name: str = Field(min_length=1, max_length=100, json_schema_extra={"pattern": "^[a-zA-Z_][a-zA-Z0-9_]*$"})
    op: Literal["=", "=~"] = "="
    value: str = Field(max_length=500)


class SilenceBody(_Body):
    model_config = ConfigDict(extra="forbid", json_schema_extra={
        "oneOf": [{"required": ["duration"]}, {"required": ["ends_at"]}],  # checked in post_silence
        "examples": [{"matchers": [{"name": "alertname", "value": "DiskUsageHigh"},
                                   {"name": "mountpoint", "op": "=~", "value": "/data.*"}],
                      "author": "kim", "comment": "moving checkpoints to the NAS", "duration": "2h"}]})

    matchers: list[MatcherBody] = Field(min_length=1)
    author: str = Field(min_length=1, max_length=200)
    comment: str = Field(default="", max_length=2000)
    # UTC unix seconds (default: now); the bounds are alerts/times.py's, checked again by add_silence.
    starts_at: float | None = Field(default=None, ge=0, le=LATEST)
    ends_at: float | None = Field(default=None, ge=0, le=LATEST)
    duration: str | None = Field(default=None, max_length=40,  # "2h"; either this or ends_at
                                 json_schema_extra={"pattern": r"^([0-9]+(\.[0-9]+)?(ms|s|m|h|d|w))+$"})


def _link(path: str, method: str, **parameters: str) -> dict[str, Any]:
    """An OpenAPI link: a client (and schemathesis' stateful phase) learns where an id it was given goes."""
    return {"operationRef": "#/paths/" + path.replace("~", "~0").replace("/", "~1") + "/" + method,
            "parameters": parameters}


# What a listing or a creation answers leads to the writes on it (documented as OpenAPI links).
ALERTS_LISTED: dict[int | str, dict[str, Any]] = {200: {"description": "The alerts, grouped by subject", "links": {
    "Acknowledge": _link("/api/v1/alerts/{fingerprint}/ack", "post",
                         fingerprint="$response.body#/groups/0/alerts/0/fingerprint")}}}
SILENCE_CREATED: dict[int | str, dict[str, Any]] = {201: {"description": "The silence, with its id", "links": {
    "Expire": _link("/api/v1/silences/{silence_id}", "delete", silence_id="$response.body#/id")}}}


def _validated(model: type[_Body], body: Any) -> Any:
    try:
        return model.model_validate(body)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "body"
        raise HTTPException(422, f"{where}: {first['msg']}") from None


def _actor(request: Request, named: str) -> str:
    """Who acts: the user of a console session or a user token (web/auth.py's principal), whatever
    name the body gives; with the shared token, which is nobody in particular, the name given."""
    principal = getattr(request.state, "principal", None)
    user = getattr(principal, "user", None)
    return user if user and user != SHARED else named


def alerts_router(engine: AlertEngine, auth: Callable[..., None]) -> APIRouter:
    router = APIRouter(prefix="/api/v1")
    db = engine.db
    write = [Depends(auth)]

    @router.get("/alerts", responses=ALERTS_LISTED)
    def get_alerts(state: Annotated[str | None, Query()] = None, severity: Annotated[str | None, Query()] = None,
                   all: Annotated[bool, Query(description="include resolved alerts")] = False) -> dict[str, Any]:
        try:
            alerts = list_alerts(db, engine.clock(), include_resolved=all, state=state, severity=severity)
        except AlertError as exc:
            raise HTTPException(400, str(exc)) from None
        return {"count": len(alerts), "groups": group_by_subject(alerts)}

    @router.get("/silences")
    def get_silences(all: Annotated[bool, Query(description="include expired silences")] = False) -> dict[str, Any]:
        now = engine.clock()
        return {"silences": [s.as_dict(now) for s in load_silences(db, now, include_expired=all)]}

    @router.post("/alerts/{fingerprint}/ack", dependencies=write, openapi_extra=json_body(AckBody),
                 responses=REFUSED_BODY)
    def post_ack(request: Request, fingerprint: str, body: JsonBody) -> dict[str, Any]:
        ack = _validated(AckBody, body)
        try:
            return acknowledge_alert(db, fingerprint, actor=_actor(request, ack.by), comment=ack.comment, via="api",
                                     now=engine.clock())
        except NotFound as exc:
            raise HTTPException(404, str(exc)) from None
        except AlertError as exc:
            raise HTTPException(422, str(exc)) from None

    @router.post("/silences", dependencies=write, status_code=201, openapi_extra=json_body(SilenceBody),
                 responses={**REFUSED_BODY, **SILENCE_CREATED})
    def post_silence(request: Request, body: JsonBody) -> dict[str, Any]:
        data = _validated(SilenceBody, body)
        now = engine.clock()
        starts = data.starts_at if data.starts_at is not None else now
        try:
            if (data.duration is None) == (data.ends_at is None):
                raise AlertError("give either duration (e.g. \"2h\") or ends_at")
            ends = data.ends_at if data.ends_at is not None else starts + silence_duration(data.duration)
            matchers = [Matcher(m.name, m.op, m.value) for m in data.matchers]
            silence = silence_alerts(db, matchers, starts_at=starts, ends_at=ends, author=_actor(request, data.author),
                                     comment=data.comment, via="api", now=now)
        except AlertError as exc:
            raise HTTPException(422, str(exc)) from None
        return silence.as_dict(now)

    @router.delete("/silences/{silence_id}", dependencies=write)
    def delete_silence(request: Request, silence_id: str) -> dict[str, Any]:
        now = engine.clock()
        try:
            expired = expire_silence(db, silence_id, now).as_dict(now)
        except NotFound as exc:
            raise HTTPException(404, str(exc)) from None
        # No name comes with a DELETE: with the shared token, the token is the actor.
        record(db, _actor(request, "api-token"), "silence.expire", f"silence {silence_id}", {"via": "api"}, at=now)
        return expired

    return router

