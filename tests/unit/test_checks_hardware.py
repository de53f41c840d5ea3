"""The whole-system check (monthly, seed §2.2): the hardware against the plan's §1.1/§1.2, read
through the GPU collector's NVML seam (a fake NVML file, as OPSPLAN_FAKE_NVML demos use), a /sys
tree laid out as the kernel lays it out, and smartctl when it is on PATH."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from opsplan.checks import hardware, registry
from opsplan.checks.model import FAIL, NOT_RUN, PASS, CheckContext, ItemResult
from opsplan.i18n import t
from opsplan.plan.models import Plan

GIB = 1024**3


def gpu(i: int, name: str = "NVIDIA RTX 4000 Ada Generation") -> dict[str, Any]:
    return {"name": name, "uuid": f"GPU-0000000{i}-aaaa-bbbb-cccc-dddddddddddd",
            "utilization": {"gpu": 10, "memory": 5}, "memory": {"total": 20 * GIB, "used": GIB},
            "temperature": 50, "power_usage": 70_000, "power_limit": 130_000, "processes": []}


def nvml_file(tmp_path: Path, count: int, **overrides: Any) -> Path:
    path = tmp_path / "nvml.json"
    path.write_text(json.dumps({"driver_version": "550.54.15", "gpus": [gpu(i, **overrides) for i in range(count)]}))
    return path


def sys_tree(tmp_path: Path, *, nic_speed: int = 10000, disk_bytes: int = 4 * 10**12) -> Path:
    """/sys with one physical NIC, one virtual one, one NVMe disk and a loop device."""
    root = tmp_path / "sys"
    for name, speed, physical in (("eth0", nic_speed, True), ("lo", None, False)):
        entry = root / "class" / "net" / name
        entry.mkdir(parents=True)
        if physical:
            (entry / "device").mkdir()
        if speed is not None:
            (entry / "speed").write_text(f"{speed}\n")
    for name, size, physical in (("nvme0n1", disk_bytes, True), ("loop0", 10**9, False)):
        entry = root / "block" / name
        entry.mkdir(parents=True)
        if physical:
            (entry / "device").mkdir()
        (entry / "size").write_text(f"{size // 512}\n")
    return root


@pytest.fixture
def no_tools(tmp_path, monkeypatch):
    """A PATH without smartctl or nvme."""
    empty = tmp_path / "bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    return empty


def context(environ: dict[str, str] | None = None) -> CheckContext:
    return CheckContext(plan=Plan(), period="monthly", start=0.0, end=30 * 86400.0, now=30 * 86400.0,
                        environ=environ or {})


def text(result: ItemResult, language: str = "en") -> list[str]:
    return [t(line.key, language, **line.values) for line in result.findings]


def test_three_of_four_gpus_fails_naming_the_missing_one(tmp_path, no_tools):
    result = registry.evaluate("system.whole", context({"OPSPLAN_FAKE_NVML": str(nvml_file(tmp_path, 3))}))
    assert result.status == FAIL
    said = text(result)
    assert said[0] == "Only 3 of 4 GPUs are seen; missing: GPU 3 (app)", said
    assert "GPU 4개 중 3개만 보입니다" in text(result, "ko")[0]
    count = next(f for f in result.figures if f.name.key == "checks.hardware.gpu.count")
    assert (count.value, count.threshold) == (3.0, 4.0)


def test_hardware_as_planned_but_no_smartctl_is_not_run_with_why_never_pass(tmp_path, no_tools):
    probes = hardware.Probes(nvml=_fake(tmp_path, 4), memory_total=lambda: 251 * GIB, sys_root=sys_tree(tmp_path))
    result = hardware.evaluate(context(), probes)
    assert result.status == NOT_RUN and result.reason is not None
    assert t(result.reason.key, "en", **result.reason.values) == \
        "Disk nvme0n1: health not checked, neither smartctl nor nvme (nvme-cli) is installed."
    assert {f.name.key: f.value for f in result.figures} == {
        "checks.hardware.gpu.count": 4.0, "checks.hardware.memory": 251 * GIB,
        "checks.hardware.network.speed": 10.0, "checks.hardware.disk.size": 4e12}
    assert t(result.summary.key, "en", **result.summary.values) == \
        "Only 4 of 5 hardware parts could be checked; the rest could not be read."


def test_a_slow_link_less_memory_and_another_gpu_model_are_named(tmp_path, no_tools):
    probes = hardware.Probes(nvml=_fake(tmp_path, 4, name="NVIDIA A10"), memory_total=lambda: 64 * GIB,
                             sys_root=sys_tree(tmp_path, nic_speed=1000))
    result = hardware.evaluate(context(), probes)
    assert result.status == FAIL
    said = text(result)
    assert "68.7 GB of memory installed, less than the plan's 256 GB." in said
    assert "No network link reaches the plan's 10Gbps: eth0 1Gbps" in said
    assert "GPU 0, 1, 2, 3: the model is 'NVIDIA A10', the plan says 'NVIDIA RTX 4000 Ada'." in said


def test_smartctl_saying_a_disk_is_failing_fails_with_its_output_kept(tmp_path, monkeypatch):
    tools = tmp_path / "bin"
    tools.mkdir()
    report = {"smartctl": {"version": [7, 3], "exit_status": 8}, "device": {"name": "/dev/nvme0n1"},
              "smart_status": {"passed": False},
              "nvme_smart_health_information_log": {"critical_warning": 4, "percentage_used": 97, "media_errors": 2}}
    # A stand-in for smartctl: real disks are not on a build machine; its JSON is smartctl 7.3's shape.
    script = tools / "smartctl"
    script.write_text("#!/bin/sh\nif [ \"$1\" = --version ]; then echo 'smartctl 7.3 2022-02-28 r5338'; exit 0; fi\n"
                      f"cat <<'EOF'\n{json.dumps(report)}\nEOF\nexit 8\n")
    script.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tools}{os.pathsep}/usr/bin:/bin")
    probes = hardware.Probes(nvml=_fake(tmp_path, 4), memory_total=lambda: 256 * 10**9, sys_root=sys_tree(tmp_path))
    result = hardware.evaluate(context(), probes)
    assert result.status == FAIL
    said = text(result)
    assert said[:3] == ["Disk nvme0n1: SMART says the drive is failing; plan its replacement.",
                        "Disk nvme0n1 has used 97% of its rated endurance.", "Disk nvme0n1 has logged 2 media errors."]
    run = result.tools[0]
    assert run.argv[:3] == ["smartctl", "-j", "-a"] and run.exit_code == 8
    assert run.version == "smartctl 7.3 2022-02-28 r5338" and len(run.sha256) == 64


def test_with_everything_as_planned_and_a_healthy_disk_it_passes(tmp_path, monkeypatch):
    tools = tmp_path / "bin"
    tools.mkdir()
    script = tools / "smartctl"
    script.write_text("#!/bin/sh\necho '{\"smart_status\": {\"passed\": true}}'\n")
    script.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tools}{os.pathsep}/usr/bin:/bin")
    probes = hardware.Probes(nvml=_fake(tmp_path, 4), memory_total=lambda: 256 * 10**9, sys_root=sys_tree(tmp_path))
    result = hardware.evaluate(context(), probes)
    assert result.status == PASS, text(result)
    assert result.findings == []


def _fake(tmp_path: Path, count: int, **overrides: Any) -> Any:
    from opsplan.collectors.nvml_fake import FakeNvml

    return FakeNvml.from_file(str(nvml_file(tmp_path, count, **overrides)))


def test_without_smartctl_an_nvme_drive_is_read_with_nvme_cli(tmp_path, monkeypatch):
    tools = tmp_path / "bin"
    tools.mkdir()
    # A stand-in for nvme-cli's `nvme smart-log -o json` (its 2.x field names).
    script = tools / "nvme"
    script.write_text("#!/bin/sh\nif [ \"$1\" = version ]; then echo 'nvme version 2.4'; exit 0; fi\n"
                      "echo '{\"critical_warning\": 0, \"percent_used\": 93, \"media_errors\": 0}'\n")
    script.chmod(0o755)
    monkeypatch.setenv("PATH", str(tools))
    probes = hardware.Probes(nvml=_fake(tmp_path, 4), memory_total=lambda: 256 * 10**9, sys_root=sys_tree(tmp_path))
    result = hardware.evaluate(context(), probes)
    assert result.status == "warn"
    assert text(result) == ["Disk nvme0n1 has used 93% of its rated endurance."]
    assert text(result, "ko") == ["디스크 `nvme0n1`의 수명이 93% 소모되었습니다."]
    assert result.tools[0].argv == ["nvme", "smart-log", "-o", "json", str(Path("/dev") / "nvme0n1")]
    assert result.tools[0].version == "nvme version 2.4"
