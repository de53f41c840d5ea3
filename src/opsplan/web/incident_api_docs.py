"""What the OpenAPI schema says about the incident API (web/incidents_api.py): its one-line refusals,
the links from an incident's id to the steps on it, and the postmortem's two formats."""

from __future__ import annotations

from typing import Any

from opsplan.web.openapi_docs import REFUSED_BODY

_ONE_LINE: dict[str, Any] = {"content": {"application/json": {"schema": {
    "type": "object", "required": ["detail"], "properties": {"detail": {"type": "string"}}}}}}
# A read's 422 stays FastAPI's own (a list): its own refusals are 400 and 404.
REFUSED_READ: dict[int | str, dict[str, Any]] = {
    400: {"description": "A filter the plan does not know (a severity): one line in `detail`", **_ONE_LINE},
    404: {"description": "No such incident: one line in `detail`", **_ONE_LINE},
}
BAD_MONTH: dict[int | str, dict[str, Any]] = {
    400: {"description": "`month` is not YYYY-MM (1970-01 to 2999-12): one line in `detail`", **_ONE_LINE}}
REFUSED_STEP: dict[int | str, dict[str, Any]] = {
    **REFUSED_BODY,
    404: {"description": "No such incident (or follow-up action): one line in `detail`", **_ONE_LINE},
    409: {"description": "The incident's state refuses the step: one line in `detail`", **_ONE_LINE},
}
_TEXT_ANSWER = {"schema": {"type": "string"}}
POSTMORTEM: dict[int | str, dict[str, Any]] = {200: {
    "description": "The final postmortem, else a draft from the timeline (`format`: md or html)",
    "content": {"text/markdown": _TEXT_ANSWER, "text/html": _TEXT_ANSWER}}}


def _link(path: str, method: str, **parameters: str) -> dict[str, Any]:
    return {"operationRef": "#/paths/" + path.replace("~", "~0").replace("/", "~1") + "/" + method,
            "parameters": parameters}


def _incident_links(id_from: str) -> dict[str, Any]:
    """Where an incident's id leads (clients and schemathesis' stateful phase follow these)."""
    base = "/api/v1/incidents/{incident_id}"
    return {"Show": _link(base, "get", incident_id=id_from),
            "Acknowledge": _link(base + "/ack", "post", incident_id=id_from),
            "Note": _link(base + "/note", "post", incident_id=id_from),
            "Resolve": _link(base + "/resolve", "post", incident_id=id_from)}


OPENED: dict[int | str, dict[str, Any]] = {201: {"description": "The incident, with its id and deadlines",
                                                 "links": _incident_links("$response.body#/id")}}
LISTED: dict[int | str, dict[str, Any]] = {200: {"description": "The incidents, newest first",
                                                 "links": _incident_links("$response.body#/incidents/0/id")}}
