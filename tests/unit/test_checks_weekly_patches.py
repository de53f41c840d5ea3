"""security.patches (seed §2.2 보안 패치 적용): this machine's real `apt-get -s dist-upgrade`,
parsed into security and other updates (checked against a count made here from the same program's
output, another way); a missing needrestart or debsecan is that part not run, said so, never a pass;
no apt-get at all is the item not run."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from opsplan.checks import patches, registry
from opsplan.checks.model import FAIL, NOT_RUN, PASS, WARN, CheckContext, ItemResult
from opsplan.plan.models import Plan

APT_GET = shutil.which("apt-get")
pytestmark = pytest.mark.skipif(APT_GET is None, reason="not a Debian machine")


def only(tmp_path: Path, *programs: str) -> dict[str, str]:
    """A PATH holding just these programs of this machine (the others are 'not installed')."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    for name in programs:
        found = shutil.which(name)
        assert found is not None, name
        (bin_dir / name).symlink_to(found)
    return {"PATH": str(bin_dir)}


def context(environ: dict[str, str]) -> CheckContext:
    return CheckContext(plan=Plan(), period="weekly", start=0.0, end=604800.0, now=604800.0, environ=environ)


def counted_here() -> tuple[int, int]:
    """(updates, security updates) of the same simulation, counted without the module's regex: a
    line starting 'Inst ', security when the text inside its first parentheses names a -security suite."""
    said = subprocess.run([str(APT_GET), "-s", "dist-upgrade"], capture_output=True, text=True, check=True,
                          env={**os.environ, "LC_ALL": "C"}).stdout
    total = security = 0
    for line in said.splitlines():
        if line.split(" ", 1)[0] != "Inst":
            continue
        total += 1
        inside = line[line.index("(") + 1:line.index(")")]
        security += any(word.endswith("-security") for word in inside.replace(",", " ").split()
                        if "/" in word or ":" in word)
    return total, security


@pytest.fixture(scope="module")
def with_apt_only(tmp_path_factory: pytest.TempPathFactory) -> ItemResult:
    """The item on a PATH with apt-get and nothing else (apt-get -s takes seconds: run it once)."""
    return registry.evaluate("security.patches", context(only(tmp_path_factory.mktemp("apt"), "apt-get")))


def test_the_real_simulation_is_parsed_into_security_and_other_updates(with_apt_only):
    result = with_apt_only
    total, security = counted_here()
    assert result.summary.key == "checks.patches.summary"
    assert result.summary.values == {"total": total, "security": security, "other": total - security}
    assert [f.value for f in result.figures] == [security, total - security]
    assert result.status == (FAIL if security else WARN if total else PASS)
    if security:
        listed = next(f for f in result.findings if f.key == "checks.patches.security")
        assert listed.values["count"] == security
    # the evidence: what ran, its version, its output's hash
    apt = result.tools[0]
    assert Path(apt.argv[0]).name == "apt-get" and apt.argv[1:] == ["-s", "dist-upgrade"]
    assert apt.exit_code == 0 and apt.version and "apt" in apt.version and len(apt.sha256) == 64


def test_a_missing_needrestart_and_debsecan_are_those_parts_not_run_with_why(with_apt_only):
    result = with_apt_only
    missing = [f.values["tool"] for f in result.findings if f.key == "checks.patches.part_missing"]
    assert missing == ["needrestart", "debsecan"]
    assert [Path(t.argv[0]).name for t in result.tools] == ["apt-get"]  # nothing claimed that did not run


def test_without_apt_get_the_item_is_not_run_never_a_pass(tmp_path):
    result = registry.evaluate("security.patches", context(only(tmp_path)))
    assert result.status == NOT_RUN and result.reason is not None
    assert result.reason.key == "checks.patches.missing" and result.reason.values == {"tool": "apt-get"}


def test_needrestart_batch_output_names_the_kernel_and_services():
    # needrestart's batch mode (-b), as its man page documents it
    said = ("NEEDRESTART-VER: 3.6\nNEEDRESTART-KCUR: 6.1.0-18-amd64\nNEEDRESTART-KEXP: 6.1.0-21-amd64\n"
            "NEEDRESTART-KSTA: 3\nNEEDRESTART-SVC: mariadb.service\nNEEDRESTART-SVC: ssh.service\n")
    found = patches.parse_needrestart(said)
    assert (found.kernel_running, found.kernel_expected, found.kernel_pending) == (
        "6.1.0-18-amd64", "6.1.0-21-amd64", True)
    assert found.services == ["mariadb.service", "ssh.service"]
    assert patches.parse_needrestart("NEEDRESTART-KSTA: 1\n").kernel_pending is False


def test_nvidia_smi_header_gives_driver_and_cuda():
    header = "| NVIDIA-SMI 550.54.15    Driver Version: 550.54.15    CUDA Version: 12.4     |"
    assert patches.parse_nvidia(header) == ("550.54.15", "12.4")
    assert patches.parse_nvidia("NVIDIA-SMI has failed") == (None, None)
