"""The plan's model rollback fields: what a typo or an unsafe combination reports."""

from __future__ import annotations

from pathlib import Path

import pytest

from opsplan.errors import PlanError
from opsplan.plan.models import Plan
from opsplan.plan.semantic import check_plan
from opsplan.stages.all import load_plan
from yaml_writer import write_plan


def plan_with(model: dict) -> Plan:
    return Plan.model_validate({"backup": {"models": {"models": [{"name": "llm", "path": "/srv/ai/models/llm",
                                                                  **model}]}}})


def test_rollback_fields_have_safe_defaults() -> None:
    m = plan_with({"serving_link": "/srv/ai/models/current", "endpoint": "http://127.0.0.1:8000"})
    source = m.backup.models.models[0]
    assert (source.health_path, source.perf.tolerance, source.perf.count) == ("/health", 20.0, 20)
    assert [(r.method, r.path) for r in source.perf.requests] == [("GET", "/v1/models")]
    assert source.reload_command == [] and source.test_slot is None
    assert list(check_plan(m)) == []


def test_unsafe_combinations_are_named() -> None:
    problems = {p.loc: p.message for p in check_plan(plan_with({
        "endpoint": "http://127.0.0.1:8000",
        "test_slot": {"link": "models/test", "endpoint": "http://127.0.0.1:8001"}}))}
    base = ("backup", "models", "models", 0)
    assert problems[(*base, "serving_link")] == "model llm: an endpoint needs the serving_link it loads"
    assert problems[(*base, "test_slot")] == "model llm: test_slot models/test must be absolute"
    same = {p.loc: p.message for p in check_plan(plan_with({
        "serving_link": "/srv/current", "test_slot": {"link": "/srv/current", "endpoint": "http://127.0.0.1:8001"}}))}
    assert same[(*base, "test_slot", "link")] == "model llm: the test slot's link must not be the serving link"


def test_a_bad_perf_value_is_one_line_with_its_place(tmp_path: Path) -> None:
    path = write_plan(tmp_path, {"backup": {"directory": str(tmp_path / "b"), "models": {"models": [
        {"name": "llm", "path": "/srv/ai/models/llm", "perf": {"requests": [{"method": "PUT", "path": "/x"}]}}]}}})
    with pytest.raises(PlanError) as raised:
        load_plan(path)
    assert str(raised.value).endswith(
        ": backup.models.models[0].perf.requests[0].method: expected 'GET' or 'POST', got 'PUT'")
    assert str(raised.value).startswith(f"{path}:")
