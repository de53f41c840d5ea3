"""What the OpenAPI schema says about routes that read their JSON body themselves.

Those routes (acks, silences, Alertmanager's webhook) take the body as `Any` and validate it with
their model, so that a bad body is one line (`field: problem`), not FastAPI's list of errors; FastAPI
then cannot document the body. `json_body(Model)` gives the route's `openapi_extra`: the model's
JSON schema with its `$defs` inlined (a `#/$defs/...` reference would point into the OpenAPI
document, not the schema), so the API docs and schemathesis see the real shape of the body.
`REFUSED_BODY` documents their 422: one line in `detail` (a body that is not JSON at all is a 400,
web/request_body.py).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

_DEFS = "#/$defs/"


def json_body(model: type[BaseModel]) -> dict[str, Any]:
    schema = model.model_json_schema()
    defs = schema.pop("$defs", {})

    def inline(node: Any) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith(_DEFS):  # the models here are not recursive
                return inline(defs[ref.removeprefix(_DEFS)])
            return {key: inline(value) for key, value in node.items()}
        if isinstance(node, list):
            return [inline(value) for value in node]
        return node

    return {"requestBody": {"required": True, "content": {"application/json": {"schema": inline(schema)}}}}


REFUSED_BODY: dict[int | str, dict[str, Any]] = {422: {
    "description": "The body was refused: `detail` names the first bad field, in one line",
    "content": {"application/json": {"schema": {
        "type": "object", "required": ["detail"],
        "properties": {"detail": {"type": "string"}},
    }}},
}}
