"""The whole-system check (seed §2.2 monthly): the hardware against what the plan says it is
(seed §1.1/§1.2) and the disks' own health.

- GPUs: model and count through the GPU collector and its NVML seam (`default_nvml`: the real
  pynvml, or the fake named by OPSPLAN_FAKE_NVML), so this check sees what monitoring sees.
- Memory: installed memory (psutil) against `server.memory`.
- Network: link speed of the physical interfaces (/sys/class/net/*/speed) against `server.network_gbps`.
- Disks: the physical block devices' size (/sys/block) against `server.storage.size`, and their
  SMART/NVMe health through `smartctl -j -a` (or `nvme smart-log -o json` without smartctl).

A part that cannot be read (no tool, no permission, a virtual NIC that reports no speed) is
not-run with why; it never reads as a pass.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from opsplan.checks.model import FAIL, NOT_RUN, PASS, WARN, CheckContext, Figure, ItemResult, Line, ToolRun, worst
from opsplan.checks.tools import ToolMissing, run_tool
from opsplan.format import size

ITEM = "system.whole"
# The kernel and firmware keep part of the installed memory and disks report a little less
# than their label: below this share of the plan's figure is a real shortfall.
TOLERANCE = 0.9
SKIP_DISKS = ("loop", "ram", "zram", "dm-", "md", "sr", "fd", "nbd")
# smartctl's exit status bits (smartctl(8) "RETURN VALUES").
SMART_OPEN_FAILED = 0b11  # bit 0: bad command line, bit 1: the device could not be opened
SMART_FAILING = 1 << 3  # SMART status: disk failing
SMART_PREFAIL = 1 << 4  # a prefail attribute is at or below its threshold
WORN_PERCENT = 90  # an NVMe drive past this much of its rated endurance
SUMMARIES = {PASS: "checks.hardware.summary.pass", WARN: "checks.hardware.summary.warn",
             FAIL: "checks.hardware.summary.fail", NOT_RUN: "checks.hardware.summary.partial"}


@dataclass
class Probes:
    """Where the hardware is read from; tests give a fake NVML, a /sys tree or a memory figure."""

    nvml: Any = None  # None: default_nvml(ctx.environ)
    memory_total: Callable[[], int] | None = None  # None: psutil
    sys_root: Path = Path("/sys")
    dev_root: Path = Path("/dev")


@dataclass
class Part:
    status: str
    findings: list[Line] = field(default_factory=list)
    figures: list[Figure] = field(default_factory=list)
    tools: list[ToolRun] = field(default_factory=list)


def _compact(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower().replace("nvidia", "").replace("generation", ""))


def gpus(plan: Any, nvml: Any) -> Part:
    from opsplan.collectors.gpu import GpuCollector

    expected = plan.server.gpu.count
    figure = Figure(Line("checks.hardware.gpu.count"), None, "count", float(expected))
    try:
        nvml.nvmlInit()
    except Exception as exc:  # no driver, no library: what the plan lists is not there to see
        figure.value = 0.0
        if expected == 0:
            return Part(PASS, figures=[figure])
        detail = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
        return Part(FAIL, [Line("checks.hardware.gpu.no_nvml", {"expected": expected, "detail": detail})],
                    [figure])
    collector = GpuCollector(plan, nvml, retry_interval=None)
    try:
        samples = collector.collect()
    finally:
        collector.close()
        with contextlib.suppress(Exception):  # tidying up after a read; the result is already taken
            nvml.nvmlShutdown()
    info = {s.label("gpu") or "?": s.label("name") or "?" for s in samples if s.name == "opsplan_gpu_info"}
    seen = int(next((s.value for s in samples if s.name == "opsplan_gpu_count"), len(info)))
    figure.value = float(seen)
    part = Part(PASS, figures=[figure])
    missing = [f"{s.label('gpu')} ({s.label('group')})" for s in samples
               if s.name == "opsplan_gpu_missing" and s.value == 1]
    if seen < expected or missing:
        part.status = FAIL
        part.findings.append(Line("checks.hardware.gpu.missing", {
            "count": seen, "expected": expected, "gpus": ", ".join(missing) or "-"}))
    elif seen > expected:
        part.status = WARN
        part.findings.append(Line("checks.hardware.gpu.extra", {"count": seen, "expected": expected}))
    for s in samples:
        if s.name == "opsplan_gpu_up" and s.value == 0:
            part.status = FAIL
            part.findings.append(Line("checks.hardware.gpu.down", {"gpu": s.label("gpu"), "group": s.label("group")}))
    wanted = _compact(plan.server.gpu.model)
    others: dict[str, list[str]] = {}  # a model the plan does not name -> the GPUs that are one
    for index, name in sorted(info.items(), key=lambda pair: int(pair[0]) if pair[0].isdigit() else 0):
        if wanted and wanted not in _compact(name):
            others.setdefault(name, []).append(index)
    for name, indices in others.items():
        part.status = worst([part.status, WARN])
        part.findings.append(Line("checks.hardware.gpu.model", {"gpu": ", ".join(indices), "name": name,
                                                                  "model": plan.server.gpu.model}))
    return part


def memory(plan: Any, total: int) -> Part:
    planned = float(plan.server.memory)
    figure = Figure(Line("checks.hardware.memory"), float(total), "bytes", planned)
    if total < TOLERANCE * planned:
        return Part(FAIL, [Line("checks.hardware.memory.less", {"size": size(total, language="ko"),
                                                                 "expected": size(planned, language="ko")})],
                    [figure])
    return Part(PASS, figures=[figure])


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8").strip()
    except (OSError, ValueError):
        return None


def network(plan: Any, sys_root: Path) -> Part:
    """Physical interfaces (those with a `device` link) and their negotiated speed in Mb/s."""
    speeds: dict[str, int] = {}
    net = sys_root / "class" / "net"
    for entry in sorted(net.iterdir()) if net.is_dir() else []:
        if not (entry / "device").exists():
            continue  # lo, bridges, veth, tunnels: not a port
        said = _read(entry / "speed")
        if said is not None and said.lstrip("-").isdigit() and int(said) > 0:
            speeds[entry.name] = int(said)
    wanted = plan.server.network_gbps
    if not speeds:
        return Part(NOT_RUN, [Line("checks.hardware.network.unknown")])
    best = max(speeds.values()) / 1000
    figure = Figure(Line("checks.hardware.network.speed"), best, "none", float(wanted))
    if best < wanted:
        links = ", ".join(f"{name} {speed / 1000:g}Gbps" for name, speed in speeds.items())
        return Part(FAIL, [Line("checks.hardware.network.slow", {"names": links, "expected": f"{wanted:g}Gbps"})],
                    [figure])
    return Part(PASS, figures=[figure])


def physical_disks(sys_root: Path) -> dict[str, int]:
    """Block devices with a `device` link (not loop, RAM or device-mapper) and their size in bytes."""
    found: dict[str, int] = {}
    block = sys_root / "block"
    for entry in sorted(block.iterdir()) if block.is_dir() else []:
        if entry.name.startswith(SKIP_DISKS) or not (entry / "device").exists():
            continue
        sectors = _read(entry / "size")
        if sectors is not None and sectors.isdigit() and int(sectors) > 0:
            found[entry.name] = int(sectors) * 512  # /sys/block/*/size counts 512-byte sectors, whatever the disk's
    return found


def disks(plan: Any, found: dict[str, int]) -> Part:
    if not found:
        return Part(NOT_RUN, [Line("checks.hardware.disk.unknown")])
    planned = float(plan.server.storage.size)
    total = float(sum(found.values()))
    figure = Figure(Line("checks.hardware.disk.size"), total, "bytes", planned)
    if total < TOLERANCE * planned:
        return Part(FAIL, [Line("checks.hardware.disk.less", {"size": size(total, language="ko"),
                                                               "expected": size(planned, language="ko")})],
                    [figure])
    return Part(PASS, figures=[figure])


def _smartctl(device: str, run: ToolRun) -> Part:
    part = Part(PASS, tools=[run])
    code = run.exit_code if run.exit_code is not None else SMART_OPEN_FAILED
    try:
        said = json.loads(run.output)
    except ValueError:
        said = {}
    if code & SMART_OPEN_FAILED or not said:
        messages = [m.get("string", "") for m in said.get("smartctl", {}).get("messages", [])] if said else []
        detail = (messages[0] if messages else run.output.strip().splitlines()[-1:] or ["-"])[0]
        return Part(NOT_RUN, [Line("checks.hardware.smart.unreadable", {"name": device, "detail": str(detail)[:200]})],
                    tools=[run])
    health = said.get("nvme_smart_health_information_log") or {}
    if code & SMART_FAILING or said.get("smart_status", {}).get("passed") is False \
            or health.get("critical_warning", 0):
        part.status = FAIL
        part.findings.append(Line("checks.hardware.smart.failing", {"name": device}))
    elif code & SMART_PREFAIL:
        part.status = WARN
        part.findings.append(Line("checks.hardware.smart.prefail", {"name": device}))
    return _nvme_wear(device, health.get("percentage_used"), health.get("media_errors"), part)


def _nvme_wear(device: str, used: Any, media_errors: Any, part: Part) -> Part:
    if isinstance(used, int | float) and used >= WORN_PERCENT:
        part.status = worst([part.status, WARN])
        part.findings.append(Line("checks.hardware.smart.worn", {"name": device, "value": f"{used:g}%"}))
    if isinstance(media_errors, int | float) and media_errors > 0:
        part.status = worst([part.status, WARN])
        part.findings.append(Line("checks.hardware.smart.media_errors", {"name": device, "count": int(media_errors)}))
    return part


def _nvme_cli(device: str, run: ToolRun) -> Part:
    try:
        said = json.loads(run.output)
    except ValueError:
        said = None
    if run.exit_code != 0 or not isinstance(said, dict):
        detail = run.output.strip().splitlines()[-1:] or ["-"]
        return Part(NOT_RUN, [Line("checks.hardware.smart.unreadable", {"name": device, "detail": detail[0][:200]})],
                    tools=[run])
    part = Part(PASS, tools=[run])
    if said.get("critical_warning", 0):
        part.status = FAIL
        part.findings.append(Line("checks.hardware.smart.failing", {"name": device}))
    return _nvme_wear(device, said.get("percent_used", said.get("percentage_used")), said.get("media_errors"), part)


def health(devices: list[str], dev_root: Path) -> Part:
    """Each disk's SMART health: smartctl when installed, else nvme-cli for NVMe drives."""
    parts: list[Part] = []
    for device in devices:
        path = str(dev_root / device)
        try:
            parts.append(_smartctl(device, run_tool(["smartctl", "-j", "-a", path], timeout=60,
                                                    version_argv=["smartctl", "--version"])))
            continue
        except ToolMissing:
            pass
        if not device.startswith("nvme"):
            parts.append(Part(NOT_RUN, [Line("checks.hardware.smart.no_tool", {"name": device})]))
            continue
        try:
            parts.append(_nvme_cli(device, run_tool(["nvme", "smart-log", "-o", "json", path], timeout=60,
                                                    version_argv=["nvme", "version"])))
        except ToolMissing:
            parts.append(Part(NOT_RUN, [Line("checks.hardware.smart.no_tool", {"name": device})]))
    if not parts:
        return Part(NOT_RUN, [Line("checks.hardware.smart.no_disk")])
    merged = Part(worst([p.status for p in parts]))
    for p in parts:
        merged.findings += p.findings
        merged.tools += p.tools
    return merged


def evaluate(ctx: CheckContext, probes: Probes | None = None) -> ItemResult:
    probes = probes or Probes()
    if probes.nvml is None:
        from opsplan.collectors.gpu import default_nvml

        probes.nvml = default_nvml(ctx.environ)
    if probes.memory_total is None:
        import psutil

        probes.memory_total = lambda: int(psutil.virtual_memory().total)
    found = physical_disks(probes.sys_root)
    parts = [gpus(ctx.plan, probes.nvml), memory(ctx.plan, probes.memory_total()),
             network(ctx.plan, probes.sys_root), disks(ctx.plan, found), health(sorted(found), probes.dev_root)]
    status = worst([p.status for p in parts])
    severity = {FAIL: 0, WARN: 1, NOT_RUN: 2, PASS: 3}
    ordered = sorted(parts, key=lambda p: severity.get(p.status, 3))
    reason = next((p.findings[0] for p in ordered if p.status == NOT_RUN and p.findings), None)
    return ItemResult(
        ITEM, status,
        Line(SUMMARIES[status],
             {"count": sum(1 for p in parts if p.status == PASS), "total": len(parts)}),
        reason=reason if status == NOT_RUN else None,
        figures=[f for p in parts for f in p.figures],
        tools=[tool for p in parts for tool in p.tools],
        findings=[line for p in ordered for line in p.findings])
