"""The periodic checks' seam: plan items bound to evaluators, results that never read as a pass
when nothing was checked, results that survive storage, and evidence with secrets masked."""

from __future__ import annotations

import json

import pytest

from opsplan.checks import registry
from opsplan.checks.model import FAIL, NOT_RUN, PASS, Chart, CheckContext, Figure, ItemResult, Line, Series, worst
from opsplan.checks.tools import ToolMissing, run_tool
from opsplan.errors import OpsplanError
from opsplan.masking import mask_text
from opsplan.plan.models import Plan
from opsplan.stages.all import parse_plan


def context() -> CheckContext:
    return CheckContext(plan=Plan(), period="daily", start=0.0, end=86400.0, now=86400.0)


def test_the_default_plan_gives_every_seed_item_an_id():
    plan = Plan()
    ids = [item.id for period in ("daily", "weekly", "monthly", "quarterly")
           for item in getattr(plan.checks, period).items]
    assert len(ids) == 18 and None not in ids and len(set(ids)) == 18
    assert set(ids) == set(registry.SEED_ITEMS)


def test_an_unknown_item_id_is_one_line_from_plan_check():
    text = ("checks:\n  daily:\n    schedule: '0 9 * * *'\n    items:\n"
            "      - {id: disk.space, ko: 디스크 공간, en: Disk space}\n"
            "      - {id: disk.spaec, ko: 오타, en: typo}\n"
            "      - {ko: 서버실 온도 확인, en: Server room temperature}\n")
    with pytest.raises(OpsplanError) as raised:
        parse_plan(text, "opsplan.yaml")
    said = str(raised.value)
    assert "checks.daily.items[1].id" in said and "disk.spaec" in said and "disk.space" in said
    assert "items[2]" not in said  # an item without an id is a manual checklist item, not an error


def test_an_item_nobody_evaluates_or_whose_evaluator_breaks_is_not_run_with_why(monkeypatch):
    assert registry.evaluate("no.such.item", context()).status == NOT_RUN

    def broken(_ctx: CheckContext) -> ItemResult:
        raise OSError("permission denied: /var/log/mysql/error.log")

    monkeypatch.setitem(registry.EVALUATORS, "test.broken", broken)
    result = registry.evaluate("test.broken", context())
    assert result.status == NOT_RUN and result.reason is not None
    assert "permission denied" in result.reason.values["error"]
    with pytest.raises(ValueError):
        ItemResult("x", NOT_RUN, Line("checks.not_run"))  # a not-run result must say why


def test_a_result_survives_json_and_a_run_is_as_bad_as_its_worst_item():
    result = ItemResult(
        "disk.space", FAIL, Line("checks.not_run"),
        figures=[Figure(Line("checks.not_run"), 0.93, "ratio", threshold=0.9, previous=0.81)],
        charts=[Chart(Line("checks.not_run"), "ratio", [Series("/data", [(1.0, 0.5), (2.0, 0.6)])],
                      [(Line("checks.not_run"), 0.9)],
                      band=(Series("low", [(1.0, 0.4)]), Series("high", [(1.0, 0.7)])))],
        findings=[Line("checks.reason.evaluator_error", {"error": "x"})])
    again = ItemResult.from_dict(json.loads(json.dumps(result.to_dict())))
    assert again == result
    assert worst([PASS, NOT_RUN]) == NOT_RUN and worst([NOT_RUN, FAIL, PASS]) == FAIL and worst([]) == PASS


def test_a_tool_run_keeps_its_output_hashed_and_masked_and_a_missing_tool_says_so(tmp_path):
    run = run_tool(["sh", "-c", "echo 'db url mysql://ops:hunter2@db/x password=s3cret'; exit 3"])
    assert run.exit_code == 3 and "hunter2" not in run.output and "s3cret" not in run.output
    assert "mysql://ops:***@db/x" in run.output and len(run.sha256) == 64
    with pytest.raises(ToolMissing):
        run_tool(["surely-not-an-installed-program-opsplan"])


@pytest.mark.parametrize(("text", "shown"), [
    ("Authorization: Bearer abc.def-123", "Authorization: Bearer ***"),
    ("api_key=KKK&x=1", "api_key=***&x=1"),
    ("tokens_per_second=5", "tokens_per_second=5"),  # a figure, not a secret
])
def test_free_text_is_masked(text, shown):
    assert mask_text(text) == shown


def test_a_result_stores_as_asdict_would_and_comes_back_equal():
    from dataclasses import asdict

    from opsplan.checks.model import ToolRun

    series = Series("/data", [(0.0, 0.5), (300.0, 0.6)])
    result = ItemResult(
        "capacity.planning", FAIL, Line("checks.disk.summary", {"mount": "/data", "value": {"value": 0.6,
                                                                                          "unit": "ratio"}}),
        reason=Line("checks.reason.no_data"),
        figures=[Figure(Line("checks.fig.disk", {"mount": "/data"}), 0.6, "ratio", 0.8, 0.5)],
        charts=[Chart(Line("checks.chart.disk"), "ratio", [series], [(Line("checks.threshold.warning"), 0.8)],
                      (Series("low", [(0.0, 0.4)]), Series("high", [(0.0, 0.7)])))],
        tools=[ToolRun(["apt-get", "-s"], "2.6.1", 0, "ok", "ab" * 32)],
        findings=[Line("checks.usage.disk", {"mount": "/data", "value": {"value": 0.6, "unit": "ratio"}})])
    stored = result.to_dict()
    assert stored == asdict(result)  # the fast path writes what dataclasses.asdict did
    assert json.dumps(stored) == json.dumps(asdict(result))
    assert ItemResult.from_dict(json.loads(json.dumps(stored))) == result
