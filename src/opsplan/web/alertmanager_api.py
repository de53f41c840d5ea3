"""POST /api/v1/alertmanager: Alertmanager's webhook, so alerts from an external Prometheus become
opsplan alerts and go through the one notification pipeline (opsplan's outbox).

The body is read with a size cap before it is parsed, validated against the webhook format
(version 4), and refused with one line naming the first bad field.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, Literal

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from opsplan.errors import OpsplanError
from opsplan.web.openapi_docs import json_body
from opsplan.web.request_body import BodyRefused, read_json

log = logging.getLogger("opsplan.web.alertmanager")

MAX_BODY_BYTES = 4 * 1024 * 1024  # Alertmanager sends a whole group at once; thousands of alerts fit
LabelSet = dict[str, str]


class _Lenient(BaseModel):
    # Newer Alertmanager versions add fields; those are ignored, the known ones are checked.
    model_config = ConfigDict(extra="ignore", populate_by_name=True)


class WebhookAlert(_Lenient):
    status: Literal["firing", "resolved"]
    labels: LabelSet
    annotations: LabelSet = Field(default_factory=dict)
    starts_at: datetime = Field(alias="startsAt")
    ends_at: datetime | None = Field(default=None, alias="endsAt")
    generator_url: str = Field(default="", alias="generatorURL")
    fingerprint: str = ""


class WebhookPayload(_Lenient):
    model_config = ConfigDict(extra="ignore", populate_by_name=True, json_schema_extra={"examples": [{
        "version": "4", "groupKey": "{}:{alertname=\"GpuHot\"}", "status": "firing", "receiver": "opsplan",
        "alerts": [{"status": "firing", "labels": {"alertname": "GpuHot", "severity": "warning", "gpu": "0"},
                    "annotations": {"summary": "GPU 0 is hot"}, "startsAt": "2026-11-27T05:00:00Z",
                    "endsAt": "0001-01-01T00:00:00Z"}]}]})

    version: str = Field(json_schema_extra={"pattern": "^4"})  # checked with its own message below
    group_key: str = Field(default="", alias="groupKey")
    truncated_alerts: int = Field(default=0, alias="truncatedAlerts", ge=0)
    status: Literal["firing", "resolved"]
    receiver: str = ""
    group_labels: LabelSet = Field(default_factory=dict, alias="groupLabels")
    common_labels: LabelSet = Field(default_factory=dict, alias="commonLabels")
    common_annotations: LabelSet = Field(default_factory=dict, alias="commonAnnotations")
    external_url: str = Field(default="", alias="externalURL")
    alerts: list[WebhookAlert] = Field(max_length=10_000)


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


def _first_problem(exc: ValidationError) -> str:
    error = exc.errors()[0]
    where = ".".join(str(p) for p in error["loc"]) or "body"
    return f"{where}: {error['msg']}"


def alertmanager_router(ingest: Callable[[dict[str, Any]], object],
                        auth: Callable[..., Any] | None = None) -> APIRouter:
    """The webhook route; `ingest` gets the validated payload (Alertmanager's own field names).

    `auth` is the bearer-token dependency of the write API (web/auth.py); Alertmanager sends the
    token from the `credentials_file` that `opsplan export` writes into alertmanager.yml.
    """
    dependencies: Sequence[Any] = [Depends(auth)] if auth is not None else []
    router = APIRouter(dependencies=list(dependencies))

    @router.post("/api/v1/alertmanager", status_code=200, openapi_extra=json_body(WebhookPayload))
    async def alertmanager_webhook(request: Request) -> JSONResponse:
        try:
            raw = await read_json(request, MAX_BODY_BYTES, what="an Alertmanager webhook")
        except BodyRefused as exc:
            return _error(exc.status, exc.message)
        try:
            payload = WebhookPayload.model_validate(raw)
        except ValidationError as exc:
            return _error(422, _first_problem(exc))
        if not payload.version.startswith("4"):
            return _error(422, f"version: expected Alertmanager webhook version 4, got {payload.version[:20]!r}")
        document = payload.model_dump(mode="json", by_alias=True)
        try:
            # The engine writes to the state database: run it off the event loop.
            from starlette.concurrency import run_in_threadpool

            await run_in_threadpool(ingest, document)
        except OpsplanError as exc:
            return _error(422, str(exc))
        except Exception:
            log.exception("ingesting an Alertmanager webhook failed")
            return _error(500, "could not record the alerts; see opsplan's log")
        return JSONResponse({"status": "ok", "alerts": len(payload.alerts)})

    return router
