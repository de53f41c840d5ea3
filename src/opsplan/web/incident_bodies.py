"""The JSON bodies of the incident API's writes (web/incidents_api.py): one model per write, unknown
fields refused, an example each for the API docs.

`by` names the actor only for a write made with the shared token (nobody in particular): with a
user token or a console session, the user is the actor whatever `by` says."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

_TEXT = 2000  # a note, a reason, a root cause: a paragraph, not a file


def _examples(*examples: dict[str, Any]) -> ConfigDict:
    return ConfigDict(extra="forbid", json_schema_extra={"examples": list(examples)})


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")

    by: str | None = Field(default=None, min_length=1, max_length=200,
                           description="who acts, with the shared token only (a user token acts as its user)")

    @field_validator("*")
    @classmethod
    def _no_nul(cls, value: Any) -> Any:
        # PostgreSQL refuses a NUL in text: a clear 422 here, not a failed write later.
        if isinstance(value, str) and "\x00" in value:
            raise ValueError("must not contain a NUL character")
        return value


class OpenBody(_Body):
    model_config = _examples({"severity": "critical", "title": "customer data exposed in a log",
                              "description": "reported by a customer at 09:12"})

    severity: str = Field(min_length=1, max_length=40, description="one of the plan's severities")
    title: str = Field(min_length=1, max_length=500)
    description: str = Field(default="", max_length=_TEXT)


class StepBody(_Body):
    """A step that needs nothing but who takes it (ack, close, the final postmortem)."""

    model_config = _examples({})


class AssignBody(_Body):
    model_config = _examples({"person": "kim"})

    person: str = Field(min_length=1, max_length=200, description="one of the plan's on-call people")


class SeverityBody(_Body):
    model_config = _examples({"severity": "major", "reason": "only the batch API is down"})

    severity: str = Field(min_length=1, max_length=40)
    reason: str = Field(default="", max_length=_TEXT)


class StageBody(_Body):
    model_config = _examples({"stage": 2})

    stage: int = Field(ge=1, le=100, description="1: initial response, 2: root-cause analysis, 3: recovery")


class TaskBody(_Body):
    model_config = _examples({"stage": 1, "task": "2", "note": "traffic moved to the standby",
                              "evidence": "https://wiki.example/runbooks/failover"})

    stage: int = Field(ge=1, le=100)
    task: str = Field(min_length=1, max_length=200, description="the task's number in the stage, or its name")
    note: str = Field(default="", max_length=_TEXT)
    evidence: str = Field(default="", max_length=_TEXT, description="a link, a runbook run, a file")


class NoteBody(_Body):
    model_config = _examples({"text": "the disk is full again; moving checkpoints"})

    text: str = Field(min_length=1, max_length=_TEXT)


class ResolveBody(_Body):
    model_config = _examples({"note": "service is back after the restart"})

    note: str = Field(default="", max_length=_TEXT)


class CancelBody(_Body):
    model_config = _examples({"reason": "false positive: the probe's network was down"})

    reason: str = Field(min_length=1, max_length=_TEXT)


class MergeBody(_Body):
    model_config = _examples({"into": 12})

    into: int = Field(ge=1, le=2**31 - 1, description="the incident this one was the same trouble as")


class FieldsBody(_Body):
    model_config = _examples({"root_cause": "the log volume filled the data disk", "fix": "log rotation fixed"})

    impact: str | None = Field(default=None, max_length=_TEXT)
    services: str | None = Field(default=None, max_length=500, description="comma-separated service names")
    root_cause: str | None = Field(default=None, max_length=_TEXT)
    fix: str | None = Field(default=None, max_length=_TEXT)


class ActionBody(_Body):
    model_config = _examples({"text": "alert on log volume growth", "owner": "lee", "due": "2026-12-31"})

    text: str = Field(min_length=1, max_length=_TEXT)
    owner: str = Field(min_length=1, max_length=200)
    due: str = Field(max_length=16, description="YYYY-MM-DD (end of that day) or YYYY-MM-DDTHH:MM, plan's timezone",
                     json_schema_extra={"pattern": r"^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2})?$"})


class ActionDoneBody(_Body):
    model_config = _examples({"note": "rule added"})

    note: str = Field(default="", max_length=_TEXT)


class SnoozeBody(_Body):
    model_config = _examples({"duration": "2h"})

    duration: str = Field(max_length=40, description="no re-page for this long (30m, 2h)",
                          json_schema_extra={"pattern": r"^([0-9]+(\.[0-9]+)?(ms|s|m|h|d|w))+$"})
