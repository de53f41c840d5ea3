"""Runs schemathesis' engine (what `schemathesis run` does: examples, coverage, fuzzing and stateful
phases, with checks) over a loaded schema and sums up what came back. Shared by
tests/integration/test_api_fuzz.py (in-process, sized for CI) and bench/fuzz_api.py (the long run
against a real `opsplan serve`)."""

from __future__ import annotations

import copy
import traceback
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import schemathesis
from schemathesis.engine import events, from_schema

# Always: no 5xx. The response-schema check holds too (what the schema documents is what comes
# back); status-code conformance is not asked for: 400/401/403/404 are not all documented.
CHECKS = ["not_a_server_error", "response_schema_conformance"]
APP_CODE = ("/opsplan/", "/starlette/", "/fastapi/", "/uvicorn/")
UNSAFE = ("POST", "PUT", "PATCH", "DELETE")


@dataclass
class FuzzReport:
    # (request, status) -> responses. A request is named by its operation ("POST /api/v1/silences"),
    # or, when the coverage phase sent a method the path does not have, by that method and the path.
    statuses: Counter[tuple[str, int]] = field(default_factory=Counter)
    documented: set[str] = field(default_factory=set)  # the operations of the schema that were sent
    failures: list[str] = field(default_factory=list)  # phase, operation, check, what; a curl to reproduce
    errors: list[str] = field(default_factory=list)  # a request the app raised on (through ASGI, in-process)
    # The fuzzer's own trouble while generating cases (e.g. CPython 3.11.7's "AST constructor recursion
    # depth mismatch" in Hypothesis' lambda printer): reported, not the app's fault.
    fuzzer_errors: list[str] = field(default_factory=list)

    @property
    def requests(self) -> int:
        return sum(self.statuses.values())

    @property
    def server_errors(self) -> int:
        return sum(n for (_, status), n in self.statuses.items() if status >= 500)

    @property
    def operations(self) -> set[str]:
        return set(self.documented)

    @property
    def unsafe_operations(self) -> set[str]:
        return {op for op in self.documented if op.split(" ", 1)[0] in UNSAFE}

    @property
    def undocumented_methods(self) -> set[str]:
        """Requests with a method their path does not have (the coverage phase tries them)."""
        return {op for op, _ in self.statuses} - self.documented

    def answered(self, operation: str) -> Counter[int]:
        """How often `operation` got each status, in every phase (the stateful one included)."""
        return Counter({status: n for (op, status), n in self.statuses.items() if op == operation})

    def merge(self, other: FuzzReport) -> None:
        self.statuses.update(other.statuses)
        self.documented |= other.documented
        self.failures += other.failures
        self.errors += other.errors
        self.fuzzer_errors += other.fuzzer_errors


def configure(schema: Any, *, max_examples: int, seed: int = 9, headers: dict[str, str] | None = None,
              base_url: str | None = None, checks: list[str] = CHECKS) -> None:
    schema.config.update(continue_on_failure=True, headers=headers, base_url=base_url)
    schema.config.seed = seed
    schema.config.generation.update(modes=[schemathesis.GenerationMode.POSITIVE,
                                           schemathesis.GenerationMode.NEGATIVE],
                                    max_examples=max_examples, deterministic=True, database="none")
    schema.config.checks.update(included_check_names=checks)


def without_header(raw: dict[str, Any], name: str) -> dict[str, Any]:
    """The schema with header parameter `name` taken out of every operation, so the fuzzer never sends
    it: a browser's session run sends no `Authorization` (with one, a request is checked as a token,
    not as the session)."""
    for operations in raw["paths"].values():
        for operation in operations.values():
            operation["parameters"] = [p for p in operation.get("parameters", [])
                                       if not (p.get("in") == "header" and p.get("name", "").lower() == name)]
    return raw


def from_document(document: dict[str, Any], *, app: Any = None, drop_header: str | None = None) -> Any:
    """A schema to fuzz from the OpenAPI document (served to logged-in users only, web/api_docs.py:
    the caller reads it with a session or a token, or takes `app.openapi()`); `app`: fuzz in-process
    through that ASGI app, else over HTTP (configure `base_url`)."""
    raw = copy.deepcopy(document)
    schema = schemathesis.openapi.from_dict(without_header(raw, drop_header) if drop_header else raw)
    if app is not None:
        schema.app = app
    return schema


def _raised_by_the_app(error: object) -> bool:
    if not isinstance(error, BaseException):
        return True  # nothing to tell: count it
    frames = traceback.extract_tb(error.__traceback__)
    return any(part in frame.filename for frame in frames for part in APP_CODE)


def run(schema: Any) -> FuzzReport:
    report = FuzzReport()
    for event in from_schema(schema).execute():
        if isinstance(event, events.ScenarioFinished):
            recorder = event.recorder
            for case_id, interaction in recorder.interactions.items():
                if interaction.response is not None:
                    # The stateful phase's recorder is labelled "Stateful tests": count each call under
                    # its own operation, so a write's answers are seen whichever phase sent it.
                    node = recorder.cases.get(case_id)
                    label = node.value.operation.label if node is not None else recorder.label
                    documented, _, path = label.partition(" ")
                    method = (interaction.request.method or documented).upper()
                    if method == documented:
                        report.documented.add(label)
                    report.statuses[(f"{method} {path}", interaction.response.status_code)] += 1
            for checks in recorder.checks.values():
                for check in checks:
                    if check.failure_info is not None:
                        info = check.failure_info
                        what = " / ".join(str(info.failure).strip().splitlines()[:3])
                        report.failures.append(f"{event.phase.value} {recorder.label} {check.name}: {what}\n"
                                               f"    {info.code_sample[:400]}")
        elif isinstance(event, events.NonFatalError | events.FatalError):
            error = getattr(event, "value", None) or getattr(event, "exception", None)
            where = getattr(event, "label", "")
            trace = "".join(traceback.format_exception(error)) if isinstance(error, BaseException) else ""
            line = f"{type(event).__name__} {where}: {error!r}\n{trace[-3000:]}"
            (report.errors if _raised_by_the_app(error) else report.fuzzer_errors).append(line)
    return report
