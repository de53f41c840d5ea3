"""GpuCollector against the fake NVML: the same calls the real pynvml answers on a GPU host."""

from __future__ import annotations

import json
import logging
import os
import threading
from pathlib import Path
from typing import Any

import pynvml
import pytest

from opsplan.collectors.gpu import METRICS, GpuCollector, default_nvml, process_name
from opsplan.collectors.nvml_fake import FakeNvml
from opsplan.errors import CollectorError
from opsplan.metrics import Sample
from opsplan.plan.models import Plan

GIB = 1024**3


def fake_gpu(i: int, **overrides: Any) -> dict[str, Any]:
    gpu: dict[str, Any] = {
        "name": "NVIDIA RTX 4000 Ada Generation", "uuid": f"GPU-0000000{i}-aaaa-bbbb-cccc-dddddddddddd",
        "utilization": {"gpu": 10 * (i + 1), "memory": 5},
        "memory": {"total": 20 * GIB, "used": (i + 1) * GIB},
        "temperature": 50 + i, "power_usage": 70_500, "power_limit": 130_000, "fan": 30,
        "ecc": {"corrected": 2, "uncorrected": 0},
        "clocks_event_reasons": 0, "processes": [],
    }
    gpu.update(overrides)
    return gpu


def four_gpus(**overrides: Any) -> dict[str, Any]:
    return {"driver_version": "550.54.15", "gpus": [fake_gpu(i) for i in range(4)], **overrides}


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def find(samples: list[Sample], name: str, **labels: str) -> list[Sample]:
    return [s for s in samples if s.name == name and all(s.label(k) == v for k, v in labels.items())]


def one(samples: list[Sample], name: str, **labels: str) -> float:
    found = find(samples, name, **labels)
    assert len(found) == 1, f"{name}{labels}: {found}"
    return found[0].value


def test_four_gpus_are_labelled_with_the_plans_groups_in_base_units() -> None:
    nvml = FakeNvml(four_gpus())
    s = GpuCollector(Plan(), nvml=nvml).collect()
    assert {x.name for x in s} <= set(METRICS)
    assert one(s, "opsplan_gpu_count") == 4
    assert one(s, "opsplan_gpu_expected") == 4
    assert [x.label("group") for x in find(s, "opsplan_gpu_up")] == ["ai", "ai", "ai", "app"]
    assert all(x.value == 1 for x in find(s, "opsplan_gpu_up"))
    assert all(x.value == 0 for x in find(s, "opsplan_gpu_missing"))
    assert one(s, "opsplan_gpu_utilization_ratio", gpu="1", group="ai") == pytest.approx(0.2)
    assert one(s, "opsplan_gpu_memory_utilization_ratio", gpu="3", group="app") == pytest.approx(0.05)
    assert one(s, "opsplan_gpu_memory_used_bytes", gpu="3") == 4 * GIB
    assert one(s, "opsplan_gpu_memory_total_bytes", gpu="3") == 20 * GIB
    assert one(s, "opsplan_gpu_memory_usage_ratio", gpu="3") == pytest.approx(0.2)
    assert one(s, "opsplan_gpu_temperature_celsius", gpu="2") == 52
    assert one(s, "opsplan_gpu_power_watts", gpu="0") == pytest.approx(70.5)  # NVML says milliwatts
    assert one(s, "opsplan_gpu_power_limit_watts", gpu="0") == pytest.approx(130.0)
    assert one(s, "opsplan_gpu_fan_ratio", gpu="0") == pytest.approx(0.3)
    assert one(s, "opsplan_gpu_ecc_errors_total", gpu="0", type="corrected") == 2
    assert one(s, "opsplan_gpu_ecc_errors_total", gpu="0", type="uncorrected") == 0
    info = find(s, "opsplan_gpu_info", gpu="0", group="ai")[0]
    assert info.label("name") == "NVIDIA RTX 4000 Ada Generation"
    assert info.label("uuid") == "GPU-00000000-aaaa-bbbb-cccc-dddddddddddd"
    assert one(s, "opsplan_gpu_driver_info", version="550.54.15") == 1


def test_a_gpu_the_plan_expects_but_nvml_does_not_see_is_missing() -> None:
    spec = four_gpus()
    spec["gpus"] = spec["gpus"][:3]
    s = GpuCollector(Plan(), nvml=FakeNvml(spec)).collect()
    assert one(s, "opsplan_gpu_count") == 3
    assert one(s, "opsplan_gpu_expected") == 4
    assert one(s, "opsplan_gpu_missing", gpu="3", group="app") == 1
    assert one(s, "opsplan_gpu_missing", gpu="0", group="ai") == 0
    assert find(s, "opsplan_gpu_up", gpu="3") == []


def test_a_gpu_outside_the_plan_is_unassigned() -> None:
    spec = four_gpus()
    spec["gpus"].append(fake_gpu(4))
    s = GpuCollector(Plan(), nvml=FakeNvml(spec)).collect()
    assert one(s, "opsplan_gpu_up", gpu="4", group="unassigned") == 1


def test_no_driver_reports_no_gpus_warns_once_and_retries_with_backoff(caplog: pytest.LogCaptureFixture) -> None:
    nvml = FakeNvml(four_gpus(init_error="DriverNotLoaded"))
    clock = Clock()
    collector = GpuCollector(Plan(), nvml=nvml, clock=clock, retry_interval=300)
    tried_at: list[float] = []
    with caplog.at_level(logging.WARNING, logger="opsplan.collectors.gpu"):
        for _ in range(1200):  # one cycle a second for 20 minutes
            before = nvml.init_calls
            s = collector.collect()
            if nvml.init_calls > before:
                tried_at.append(clock.now - 1000)
            clock.now += 1
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "Driver Not Loaded" in warnings[0].getMessage()
    assert one(s, "opsplan_gpu_count") == 0
    assert [x.label("gpu") for x in find(s, "opsplan_gpu_missing") if x.value == 1] == ["0", "1", "2", "3"]
    # A boot race costs seconds (2, 4, 8 ...), and a box without a driver is asked every 5 minutes at most.
    assert tried_at[:5] == [0, 2, 6, 14, 30]
    assert [b - a for a, b in zip(tried_at, tried_at[1:], strict=False)][-2:] == [300, 300]
    # The driver comes up; the next try finds the GPUs, and a later loss starts from 2 s again.
    nvml.init_error = None
    clock.now += 300
    s = collector.collect()
    assert one(s, "opsplan_gpu_count") == 4
    assert all(x.value == 0 for x in find(s, "opsplan_gpu_missing"))


def test_one_shot_never_retries() -> None:
    nvml = FakeNvml(four_gpus(init_error="DriverNotLoaded"))
    clock = Clock()
    collector = GpuCollector(Plan(), nvml=nvml, clock=clock, retry_interval=None)
    for _ in range(3):
        collector.collect()
        clock.now += 1000
    assert nvml.init_calls == 1


def test_missing_library_is_reported_like_no_driver() -> None:
    s = GpuCollector(Plan(), nvml=FakeNvml({"init_error": "LibraryNotFound"})).collect()
    assert one(s, "opsplan_gpu_count") == 0
    assert one(s, "opsplan_gpu_missing", gpu="3", group="app") == 1


def test_nvml_is_initialised_once_across_cycles_and_shut_down_on_close() -> None:
    nvml = FakeNvml(four_gpus())
    collector = GpuCollector(Plan(), nvml=nvml)
    for _ in range(3):
        collector.collect()
    assert nvml.init_calls == 1
    collector.close()
    assert nvml.shutdown_calls == 1


def test_not_supported_fan_is_omitted_and_the_rest_stays(caplog: pytest.LogCaptureFixture) -> None:
    spec = four_gpus()
    spec["gpus"][0]["not_supported"] = ["fan", "ecc"]
    with caplog.at_level(logging.WARNING, logger="opsplan.collectors.gpu"):
        s = GpuCollector(Plan(), nvml=FakeNvml(spec)).collect()
    assert find(s, "opsplan_gpu_fan_ratio", gpu="0") == []
    assert find(s, "opsplan_gpu_ecc_errors_total", gpu="0") == []
    assert one(s, "opsplan_gpu_fan_ratio", gpu="1") == pytest.approx(0.3)
    assert one(s, "opsplan_gpu_temperature_celsius", gpu="0") == 50
    assert one(s, "opsplan_gpu_up", gpu="0") == 1
    assert caplog.records == []  # not supported is normal, not worth a warning


def test_one_gpu_failing_entirely_degrades_only_it(caplog: pytest.LogCaptureFixture) -> None:
    spec = four_gpus()
    spec["gpus"][1]["errors"] = {"*": "GpuIsLost"}
    collector = GpuCollector(Plan(), nvml=FakeNvml(spec))
    with caplog.at_level(logging.WARNING, logger="opsplan.collectors.gpu"):
        s = collector.collect()
        collector.collect()
    assert one(s, "opsplan_gpu_up", gpu="1", group="ai") == 0
    assert one(s, "opsplan_gpu_fault_info", gpu="1", group="ai", reason="lost") == 1
    assert sorted(x.name for x in s if x.label("gpu") == "1" and x.name != "opsplan_gpu_missing") == \
        ["opsplan_gpu_fault_info", "opsplan_gpu_up"]
    for other in ("0", "2", "3"):
        assert one(s, "opsplan_gpu_up", gpu=other) == 1
        assert one(s, "opsplan_gpu_temperature_celsius", gpu=other) > 0
    # Logged once, not for every field nor again on the next cycle: a lost GPU is not asked again.
    assert [r.getMessage() for r in caplog.records] == ["gpu 1: cannot read name: GPU is lost"]


def test_a_gpu_that_cannot_be_opened_degrades_only_it() -> None:
    spec = four_gpus()
    spec["gpus"][2]["handle_error"] = "Unknown"
    s = GpuCollector(Plan(), nvml=FakeNvml(spec)).collect()
    assert one(s, "opsplan_gpu_up", gpu="2") == 0
    assert one(s, "opsplan_gpu_count") == 4
    assert one(s, "opsplan_gpu_up", gpu="3") == 1


def test_one_failing_field_leaves_out_that_value_only() -> None:
    spec = four_gpus()
    spec["gpus"][0]["errors"] = {"power_usage": "Unknown"}
    s = GpuCollector(Plan(), nvml=FakeNvml(spec)).collect()
    assert find(s, "opsplan_gpu_power_watts", gpu="0") == []
    assert one(s, "opsplan_gpu_power_limit_watts", gpu="0") == 130
    assert one(s, "opsplan_gpu_up", gpu="0") == 1


def test_processes_are_named_from_their_pid_and_unknown_memory_is_left_out() -> None:
    me = os.getpid()
    spec = four_gpus()
    # 0 and 4294967295: what the R535 v2/v3 struct mismatch reports; 2**22 + 7: no such pid on Linux.
    spec["gpus"][0]["processes"] = [{"pid": me, "used_memory": 3 * GIB}, {"pid": 2**22 + 7, "used_memory": GIB},
                                    {"pid": 0, "used_memory": GIB}, {"pid": 4294967295, "used_memory": GIB},
                                    {"pid": 4242, "used_memory": None}]
    s = GpuCollector(Plan(), nvml=FakeNvml(spec)).collect()
    procs = find(s, "opsplan_gpu_process_memory_bytes", gpu="0", group="ai")
    by_pid = {x.label("pid"): x for x in procs}
    assert set(by_pid) == {str(me)}
    assert by_pid[str(me)].value == 3 * GIB
    assert by_pid[str(me)].label("process") == process_name(me) != f"pid {me}"
    assert process_name(2**22 + 7) == f"pid {2**22 + 7}"  # gone: falls back


def test_throttle_reasons_one_series_per_reason() -> None:
    spec = four_gpus()
    spec["gpus"][0]["clocks_event_reasons"] = ["hw_thermal", "sw_power_cap", "gpu_idle"]
    s = GpuCollector(Plan(), nvml=FakeNvml(spec)).collect()
    throttled = {x.label("reason"): x.value for x in find(s, "opsplan_gpu_throttled", gpu="0")}
    assert throttled == {"hw_thermal": 1, "sw_power_cap": 1, "hw_slowdown": 0, "sw_thermal": 0,
                         "hw_power_brake": 0}


def test_throttle_reasons_fall_back_to_the_older_nvml_call() -> None:
    spec = four_gpus(missing_functions=["nvmlDeviceGetCurrentClocksEventReasons"])
    spec["gpus"][0]["clocks_event_reasons"] = pynvml.nvmlClocksThrottleReasonSwThermalSlowdown
    s = GpuCollector(Plan(), nvml=FakeNvml(spec)).collect()
    assert one(s, "opsplan_gpu_throttled", gpu="0", reason="sw_thermal") == 1


def test_driver_lost_mid_run_reports_no_gpus_then_recovers() -> None:
    nvml = FakeNvml(four_gpus())
    collector = GpuCollector(Plan(), nvml=nvml)
    collector.collect()
    nvml.initialised = False  # the driver was unloaded under us: calls answer Uninitialized
    s = collector.collect()
    assert one(s, "opsplan_gpu_count") == 0
    assert one(s, "opsplan_gpu_missing", gpu="0") == 1
    s = collector.collect()  # re-initialised on the next cycle
    assert one(s, "opsplan_gpu_count") == 4


def test_gpus_not_required_reports_no_missing_series() -> None:
    plan = Plan.model_validate({"monitoring": {"gpu_required": False}})
    s = GpuCollector(plan, nvml=FakeNvml({"init_error": "DriverNotLoaded"})).collect()
    assert one(s, "opsplan_gpu_count") == 0
    assert find(s, "opsplan_gpu_missing") == []


def test_fake_nvml_from_the_environment(tmp_path: Path) -> None:
    path = tmp_path / "nvml.json"
    path.write_text(json.dumps(four_gpus()), encoding="utf-8")
    nvml = default_nvml({"OPSPLAN_FAKE_NVML": str(path)})
    assert isinstance(nvml, FakeNvml)
    assert one(GpuCollector(Plan(), nvml=nvml).collect(), "opsplan_gpu_count") == 4
    assert default_nvml({}) is pynvml
    path.write_text("{not json", encoding="utf-8")
    with pytest.raises(CollectorError, match="fake NVML file"):
        default_nvml({"OPSPLAN_FAKE_NVML": str(path)})


def test_fake_raises_the_real_pynvml_errors() -> None:
    nvml = FakeNvml(four_gpus())
    with pytest.raises(pynvml.NVMLError_Uninitialized):
        nvml.nvmlDeviceGetCount()
    nvml.nvmlInit()
    spec_gpu = nvml.gpus[0]
    spec_gpu["not_supported"] = ["fan"]
    with pytest.raises(pynvml.NVMLError_NotSupported):
        nvml.nvmlDeviceGetFanSpeed(nvml.nvmlDeviceGetHandleByIndex(0))


def test_fake_has_the_real_pynvml_signatures() -> None:
    """The fake must not drift from nvidia-ml-py, or the collector would pass here and fail on a GPU."""
    import inspect

    api = [n for n in vars(FakeNvml) if n.startswith("nvml")]
    assert len(api) >= 16
    for fn_name in api:
        real = getattr(pynvml, fn_name)
        real_params = list(inspect.signature(real).parameters)
        fake_params = list(inspect.signature(getattr(FakeNvml(), fn_name)).parameters)
        assert fake_params == real_params, fn_name
    for const in ("NVML_TEMPERATURE_GPU", "NVML_VOLATILE_ECC", "NVML_MEMORY_ERROR_TYPE_CORRECTED",
                  "NVML_MEMORY_ERROR_TYPE_UNCORRECTED", "NVMLError_NotSupported", "NVMLError_FunctionNotFound"):
        assert hasattr(pynvml, const), const


def test_real_pynvml_runs_on_this_machine_with_or_without_a_gpu() -> None:
    collector = GpuCollector(Plan(), nvml=pynvml)
    try:
        s = collector.collect()
    finally:
        collector.close()
    count = one(s, "opsplan_gpu_count")
    assert one(s, "opsplan_gpu_expected") == 4
    if count == 0:  # build machines: no driver, every planned GPU reported missing
        assert [x.value for x in find(s, "opsplan_gpu_missing")] == [1, 1, 1, 1]
    else:
        assert len(find(s, "opsplan_gpu_up")) == count
        assert all(0 <= x.value <= 1 for x in find(s, "opsplan_gpu_utilization_ratio"))


# --- what real NVML does that a tidy fake would not (issue 11) -------------------------------------------


def test_errors_that_are_not_nvml_errors_degrade_one_value() -> None:
    # nvidia-ml-py 13 on a driver before 535.104 (no _v3 process symbol); a function a newer package dropped.
    spec = four_gpus()
    spec["gpus"][0]["raises"] = {"processes": "NVMLLibraryMismatchError"}
    spec["gpus"][1]["raises"] = {"temperature": "AttributeError", "clocks_event_reasons": "AttributeError"}
    spec["gpus"][0]["processes"] = [{"pid": os.getpid(), "used_memory": GIB}]
    s = GpuCollector(Plan(), nvml=FakeNvml(spec)).collect()
    assert find(s, "opsplan_gpu_process_memory_bytes", gpu="0") == []
    assert one(s, "opsplan_gpu_temperature_celsius", gpu="0") == 50
    assert find(s, "opsplan_gpu_temperature_celsius", gpu="1") == []
    assert find(s, "opsplan_gpu_throttled", gpu="1") == []
    assert one(s, "opsplan_gpu_power_watts", gpu="1") == pytest.approx(70.5)
    assert [x.value for x in find(s, "opsplan_gpu_up")] == [1, 1, 1, 1]


def test_a_hung_gpu_is_reported_hung_and_the_others_keep_reporting() -> None:
    spec = four_gpus()
    spec["gpus"][2]["hang"] = ["temperature"]
    spec["gpus"][0]["delay"] = {"*": 0.002}  # slow but well within the deadline (tens of calls): fine
    nvml = FakeNvml(spec)
    collector = GpuCollector(Plan(), nvml=nvml, read_timeout=1.5)
    try:
        for _ in range(2):  # the second cycle finds it still stuck: reported hung, not read again
            s = collector.collect()
            assert one(s, "opsplan_gpu_up", gpu="2", group="ai") == 0
            assert one(s, "opsplan_gpu_fault_info", gpu="2", reason="hung") == 1
            assert find(s, "opsplan_gpu_temperature_celsius", gpu="2") == []
            for other in ("0", "1", "3"):
                assert one(s, "opsplan_gpu_up", gpu=other) == 1
                assert one(s, "opsplan_gpu_temperature_celsius", gpu=other) > 0
            assert [x.value for x in find(s, "opsplan_gpu_missing")] == [0, 0, 0, 0]
            assert nvml.inside == 1  # one stuck call, no pile of threads behind it
        nvml.release()
        for _ in range(100):  # the stuck call returns on its own thread
            if nvml.inside == 0:
                break
            threading.Event().wait(0.01)
        s = collector.collect()
        assert one(s, "opsplan_gpu_up", gpu="2") == 1
        assert find(s, "opsplan_gpu_fault_info") == []
    finally:
        nvml.release()
        collector.close()


def test_nvml_is_not_shut_down_under_a_call_still_inside_it() -> None:
    spec = four_gpus()
    spec["gpus"][1]["hang"] = ["memory"]
    nvml = FakeNvml(spec)
    collector = GpuCollector(Plan(), nvml=nvml, read_timeout=0.1)
    collector.collect()
    collector.close(wait=0.1)
    assert nvml.shutdown_calls == 0 and nvml.shutdown_while_inside == 0
    nvml.release()
    collector.close(wait=5)
    assert nvml.shutdown_calls == 1 and nvml.shutdown_while_inside == 0


def test_bytes_names_from_older_packages_are_text() -> None:
    s = GpuCollector(Plan(), nvml=FakeNvml(four_gpus(bytes_strings=True))).collect()
    info = find(s, "opsplan_gpu_info", gpu="0")[0]
    assert info.label("name") == "NVIDIA RTX 4000 Ada Generation"
    assert info.label("uuid") == "GPU-00000000-aaaa-bbbb-cccc-dddddddddddd"
    assert info.label("pci_bus_id") == "00000000:01:00.0"
    assert one(s, "opsplan_gpu_driver_info", version="550.54.15") == 1


def test_no_permission_on_one_handle_degrades_only_it() -> None:
    spec = four_gpus()
    spec["gpus"][0]["handle_error"] = "NoPermission"
    s = GpuCollector(Plan(), nvml=FakeNvml(spec)).collect()
    assert one(s, "opsplan_gpu_fault_info", gpu="0", reason="no_permission") == 1
    assert [x.value for x in find(s, "opsplan_gpu_up")] == [0, 1, 1, 1]


def test_a_gpu_vanishing_mid_list_does_not_stop_the_cycle() -> None:
    spec = four_gpus()
    spec["gpus"][1]["vanishes"] = True  # counted, then gone: GPUs 2 and 3 shift down
    nvml = FakeNvml(spec)
    collector = GpuCollector(Plan(), nvml=nvml)
    s = collector.collect()
    assert one(s, "opsplan_gpu_count") == 4
    assert one(s, "opsplan_gpu_fault_info", gpu="3", reason="unreadable") == 1
    s = collector.collect()
    assert one(s, "opsplan_gpu_count") == 3
    assert one(s, "opsplan_gpu_missing", gpu="3", group="app") == 1


def test_memory_v2_leaves_reserved_memory_out_of_used() -> None:
    spec = four_gpus()
    spec["gpus"][0]["memory"] = {"total": 20 * GIB, "used": 18 * GIB, "reserved": GIB // 2}
    s = GpuCollector(Plan(), nvml=FakeNvml(spec)).collect()
    assert one(s, "opsplan_gpu_memory_used_bytes", gpu="0") == 18 * GIB  # as nvidia-smi shows it
    assert one(s, "opsplan_gpu_memory_reserved_bytes", gpu="0") == GIB // 2
    assert one(s, "opsplan_gpu_memory_usage_ratio", gpu="0") == pytest.approx(0.9)
    # A driver before R510 has no v2: v1's used includes the reserved part, and no reserved series.
    s = GpuCollector(Plan(), nvml=FakeNvml({**spec, "missing_functions": ["nvmlDeviceGetMemoryInfo_v2"]})).collect()
    assert one(s, "opsplan_gpu_memory_used_bytes", gpu="0") == 18 * GIB + GIB // 2
    assert find(s, "opsplan_gpu_memory_reserved_bytes") == []


def pinned_plan(by: str = "uuid") -> Plan:
    cards = [fake_gpu(i) for i in range(4)]
    if by == "uuid":
        pins = {i: cards[i]["uuid"] for i in range(4)}
    else:  # PCI bus ids, as `nvidia-smi --query-gpu=pci.bus_id` prints them or in the short lspci form
        pins = {i: f"00000000:{i + 1:02X}:00.0" if i % 2 else f"{i + 1:02x}:00.0" for i in range(4)}
    return Plan.model_validate({"server": {"gpu": {"pin": pins}}})


@pytest.mark.parametrize("by", ["uuid", "pci_bus_id"])
def test_pinned_gpus_keep_their_labels_when_nvml_reorders_them(by: str) -> None:
    spec = four_gpus()
    for i, gpu in enumerate(spec["gpus"]):
        gpu["pci_bus_id"] = f"00000000:{i + 1:02X}:00.0"
    spec["gpus"].reverse()  # after a reboot NVML numbers the cards the other way round
    s = GpuCollector(pinned_plan(by), nvml=FakeNvml(spec)).collect()
    for i in range(4):
        assert one(s, "opsplan_gpu_temperature_celsius", gpu=str(i)) == 50 + i  # the same card as before
        info = find(s, "opsplan_gpu_info", gpu=str(i))[0]
        assert info.label("uuid") == fake_gpu(i)["uuid"]
        assert info.label("pci_bus_id") == f"00000000:{i + 1:02X}:00.0"
    assert one(s, "opsplan_gpu_info", gpu="3", group="app") == 1


def test_a_pinned_card_that_does_not_probe_is_the_only_one_missing() -> None:
    spec = four_gpus()
    del spec["gpus"][1]  # card 1 did not come back after a reboot: NVML's indices shift down
    s = GpuCollector(pinned_plan(), nvml=FakeNvml(spec)).collect()
    assert [x.value for x in find(s, "opsplan_gpu_missing")] == [0, 1, 0, 0]
    assert find(s, "opsplan_gpu_up", gpu="1") == []
    assert one(s, "opsplan_gpu_temperature_celsius", gpu="3", group="app") == 53  # still the app card
    # By index (no pins), the same reboot blames the healthy app card and moves labels.
    s = GpuCollector(Plan(), nvml=FakeNvml(spec)).collect()
    assert one(s, "opsplan_gpu_missing", gpu="3", group="app") == 1
    assert one(s, "opsplan_gpu_temperature_celsius", gpu="1", group="ai") == 52


def test_a_plan_pinning_only_some_gpus_is_refused() -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="must name every GPU of the allocation"):
        Plan.model_validate({"server": {"gpu": {"pin": {0: "GPU-00000000-aaaa"}}}})
    with pytest.raises(ValidationError, match="pin"):
        Plan.model_validate({"server": {"gpu": {"pin": {0: "card zero", 1: "x", 2: "y", 3: "z"}}}})


# --- health beyond load: what dcgm-exporter watches ------------------------------------------------------


def healthy(i: int, **overrides: Any) -> dict[str, Any]:
    return fake_gpu(i, pcie_replay=3, persistence_mode=1, pstate=2,
                    clocks={"graphics": 1_710, "sm": 1_710, "memory": 8_001}, ecc_mode=1,
                    retired_pages={"single_bit": 2, "double_bit": 1, "pending": 1},
                    remapped_rows={"correctable": 4, "uncorrectable": 0, "pending": 1, "failure": 0},
                    xid=[], **overrides)


def test_health_values_are_exported_in_base_units() -> None:
    s = GpuCollector(Plan(), nvml=FakeNvml({"gpus": [healthy(i) for i in range(4)]})).collect()
    assert {x.name for x in s} <= set(METRICS)
    assert one(s, "opsplan_gpu_pcie_replays_total", gpu="0") == 3
    assert one(s, "opsplan_gpu_persistence_mode", gpu="0") == 1
    assert one(s, "opsplan_gpu_performance_state", gpu="0") == 2
    assert one(s, "opsplan_gpu_clock_hertz", gpu="0", clock="sm") == 1_710_000_000
    assert one(s, "opsplan_gpu_clock_hertz", gpu="0", clock="memory") == 8_001_000_000
    assert one(s, "opsplan_gpu_ecc_enabled", gpu="0") == 1
    assert one(s, "opsplan_gpu_retired_pages", gpu="0", cause="single_bit") == 2
    assert one(s, "opsplan_gpu_retired_pages", gpu="0", cause="double_bit") == 1
    assert one(s, "opsplan_gpu_retired_pages_pending", gpu="0") == 1
    assert one(s, "opsplan_gpu_remapped_rows", gpu="0", kind="correctable") == 4
    assert one(s, "opsplan_gpu_row_remap_pending", gpu="0") == 1
    assert one(s, "opsplan_gpu_row_remap_failed", gpu="0") == 0
    assert one(s, "opsplan_gpu_xid_events_total", gpu="0") == 0


def test_ecc_off_is_told_apart_from_no_errors() -> None:
    gpus = [healthy(i) for i in range(4)]
    gpus[1].update(ecc_mode=0, not_supported=["ecc"])  # ECC off: the counters answer NotSupported
    s = GpuCollector(Plan(), nvml=FakeNvml({"gpus": gpus})).collect()
    assert one(s, "opsplan_gpu_ecc_enabled", gpu="1") == 0
    assert find(s, "opsplan_gpu_ecc_errors_total", gpu="1") == []


def test_xid_events_are_counted_per_gpu_and_recent_ones_expire() -> None:
    nvml = FakeNvml({"gpus": [healthy(i) for i in range(4)]})
    clock = Clock()
    collector = GpuCollector(Plan(), nvml=nvml, clock=clock)
    collector.collect()  # registers for events
    nvml.gpus[2]["xid"] += [13, 79]
    s = collector.collect()
    assert one(s, "opsplan_gpu_xid_events_total", gpu="2") == 2
    assert one(s, "opsplan_gpu_xid_events_recent", gpu="2") == 2
    assert one(s, "opsplan_gpu_xid_last_code", gpu="2") == 79
    assert one(s, "opsplan_gpu_xid_events_recent", gpu="1") == 0
    clock.now += 16 * 60  # quiet for longer than the window: the alert's value falls back to 0
    s = collector.collect()
    assert one(s, "opsplan_gpu_xid_events_recent", gpu="2") == 0
    assert one(s, "opsplan_gpu_xid_events_total", gpu="2") == 2
    collector.close()
    assert nvml.event_sets_freed == 4


def test_pcie_replays_growing_is_recent_and_a_steady_counter_is_not() -> None:
    nvml = FakeNvml({"gpus": [healthy(i) for i in range(4)]})
    clock = Clock()
    collector = GpuCollector(Plan(), nvml=nvml, clock=clock)
    s = collector.collect()
    assert one(s, "opsplan_gpu_pcie_replays_recent", gpu="3") == 0  # replays from before are not news
    clock.now += 60
    nvml.gpus[3]["pcie_replay"] = 40
    s = collector.collect()
    assert one(s, "opsplan_gpu_pcie_replays_recent", gpu="3") == 37
    assert one(s, "opsplan_gpu_pcie_replays_recent", gpu="0") == 0
    for _ in range(16):
        clock.now += 60
        s = collector.collect()
    assert one(s, "opsplan_gpu_pcie_replays_recent", gpu="3") == 0


def test_a_health_call_missing_from_the_package_costs_only_its_value() -> None:
    class NewerPackage(FakeNvml):
        """A package that dropped two functions: looking them up raises AttributeError."""

        def __getattribute__(self, name: str) -> Any:
            if name in ("nvmlDeviceGetClockInfo", "nvmlDeviceGetRemappedRows"):
                raise AttributeError(name)
            return super().__getattribute__(name)

    s = GpuCollector(Plan(), nvml=NewerPackage({"gpus": [healthy(i) for i in range(4)]})).collect()
    assert find(s, "opsplan_gpu_clock_hertz") == [] and find(s, "opsplan_gpu_remapped_rows") == []
    assert one(s, "opsplan_gpu_performance_state", gpu="0") == 2
    assert [x.value for x in find(s, "opsplan_gpu_up")] == [1, 1, 1, 1]


def test_processes_in_containers_are_named_from_the_hosts_proc_with_their_container(tmp_path: Path) -> None:
    from opsplan.collectors.gpu import container_of
    from opsplan.collectors.gpu_device import plausible_pid

    cid = "3f1c2a9b7d10" + "ab" * 26
    docker = tmp_path / "4242"
    docker.mkdir()
    (docker / "cgroup").write_text(f"0::/system.slice/docker-{cid}.scope\n", encoding="utf-8")
    containerd = tmp_path / "4343"
    containerd.mkdir()
    (containerd / "cgroup").write_text(f"12:memory:/kubepods/burstable/pod1/{cid}\n", encoding="utf-8")
    host = tmp_path / "77"
    host.mkdir()
    (host / "cgroup").write_text("0::/user.slice/user-1000.slice/session-2.scope\n", encoding="utf-8")
    assert container_of(4242, str(tmp_path)) == "3f1c2a9b7d10"
    assert container_of(4343, str(tmp_path)) == "3f1c2a9b7d10"
    assert container_of(77, str(tmp_path)) is None
    assert container_of(9, str(tmp_path)) is None
    assert plausible_pid(4242, str(tmp_path)) and plausible_pid(77, str(tmp_path))
    assert not plausible_pid(9, str(tmp_path))  # gone: no /proc entry
    assert not plausible_pid(0, str(tmp_path)) and not plausible_pid(4294967295, str(tmp_path))


def test_a_hung_gpu_does_not_take_the_collector_down_in_the_runner() -> None:
    from opsplan.collectors.runner import CollectionRunner

    spec = four_gpus()
    spec["gpus"][0]["hang"] = ["*"]
    nvml = FakeNvml(spec)
    runner = CollectionRunner([GpuCollector(Plan(), nvml=nvml, read_timeout=0.2)], deadline=2.0)
    try:
        for _ in range(3):  # before issue 11 the runner skipped the stuck collector: no GPU series at all
            s = runner.run_once().samples
            assert one(s, "opsplan_collector_up", collector="gpu") == 1
            assert [x.value for x in find(s, "opsplan_gpu_missing")] == [0, 0, 0, 0]
            assert [x.value for x in find(s, "opsplan_gpu_up")] == [0, 1, 1, 1]
            assert one(s, "opsplan_gpu_fault_info", gpu="0", reason="hung") == 1
    finally:
        nvml.release()
        runner.close()
