"""Tables on an 80-column terminal (issue 10 item 13): cells wrap instead of being cut, so a
failure reason and a metric name are shown whole; values read as people read them (local times,
sizes, durations, percentages, thousands separators), never `1.796e+09`; `--json` keeps the
exact values for scripts."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from opsplan import format as fmt
from yaml_writer import free_port, write_plan

SRC = Path(__file__).resolve().parents[2] / "src"
E_NOTATION = re.compile(r"\d[eE][+-]?\d")


def opsplan(plan: Path, *args: str, columns: int = 80) -> subprocess.CompletedProcess[str]:
    """The command as a person runs it, on a terminal `columns` wide."""
    env = {**os.environ, "PYTHONPATH": str(SRC), "COLUMNS": str(columns)}
    return subprocess.run([sys.executable, "-m", "opsplan", "--plan", str(plan), *args], capture_output=True,
                          text=True, env=env, timeout=120, check=False)


def closed_database_plan(tmp_path: Path, language: str = "en") -> Path:
    # A port nothing listens on: every backup fails at once with a long reason.
    return write_plan(tmp_path, {"database": {"host": "127.0.0.1", "port": free_port()}, "services": [],
                                 "language": language, "timezone": "Asia/Seoul"})


def column_text(lines: list[str], start: int, first: int, header: str) -> str:
    """The words of one cell: from its row's line `first` down to the next row, the text from the
    column's left edge (`header`'s position in the header line) on."""
    left = lines[start].index(header)
    words = [lines[first][left:].strip()]
    for line in lines[first + 1:]:
        if line[:left].strip():  # the next row begins
            break
        words.append(line[left:].strip())
    return " ".join(w for w in words if w)


@pytest.mark.parametrize("language", ["en", "ko"])
def test_backup_list_shows_the_whole_failure_reason_at_80_columns(tmp_path, language):
    plan = closed_database_plan(tmp_path, language)
    assert opsplan(plan, "backup", "db").returncode == 1
    reason = json.loads(opsplan(plan, "backup", "list", "--json").stdout)[0]["reason"]
    assert len(reason) > 40, reason  # long enough that a cut would show

    shown = opsplan(plan, "backup", "list")
    assert shown.returncode == 0, shown.stderr
    lines = shown.stdout.splitlines()
    assert max(len(line) for line in lines) <= 80 and "…" not in shown.stdout, shown.stdout
    header = {"en": "reason", "ko": "사유"}[language]
    start = next(i for i, line in enumerate(lines) if header in line)
    row = next(i for i, line in enumerate(lines) if line.startswith("#1 "))
    assert " ".join(reason.split()) in column_text(lines, start, row, header), shown.stdout
    assert "KST" in lines[row]  # started, in the plan's timezone


def test_collect_shows_every_metric_name_whole_and_no_value_in_e_notation(tmp_path):
    plan = closed_database_plan(tmp_path)
    data = json.loads(opsplan(plan, "collect", "--once", "--json").stdout)
    names = {s["name"] for s in data["samples"]}
    assert "opsplan_cycle_timestamp_seconds" in names and "opsplan_disk_total_bytes" in names

    shown = opsplan(plan, "collect", "--once")
    assert shown.returncode == 0, shown.stderr
    table = shown.stdout
    assert "…" not in table and max(len(line) for line in table.splitlines()) <= 80, table
    first_words = {line.split()[0] for line in table.splitlines() if line.strip()}
    assert names <= first_words, sorted(names - first_words)  # every name whole, at a row's start
    assert not E_NOTATION.search(table), E_NOTATION.findall(table)

    def shown_value(name: str) -> str:
        return next(line for line in table.splitlines() if line.startswith(name + " ")).split("  ")[-1].strip()

    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d KST", shown_value("opsplan_cycle_timestamp_seconds"))
    assert re.fullmatch(r"[\d.]+ (KB|MB|GB|TB)", shown_value("opsplan_disk_total_bytes"))
    assert re.fullmatch(r"[\d.]+%", shown_value("opsplan_cpu_usage_ratio"))
    assert re.fullmatch(r"[\d.,]+ (ms|s)", shown_value("opsplan_cycle_duration_seconds"))


def test_figures_for_people_never_use_e_notation():
    assert fmt.figure(1.796e9) == "1,796,000,000"
    assert fmt.figure(2.70553e11) == "270,553,000,000"
    assert fmt.figure(0.00240317) == "0.002403"
    assert fmt.figure(1234.5678) == "1,234.6"
    assert fmt.figure(1e-9) == "0.000000001"
    assert fmt.figure(-3.0) == "-3"
    assert fmt.size_short(672_000) == "672 KB"
    assert fmt.size_short(2e12) == "2 TB"
    assert fmt.size_short(2.70553e11) == "271 GB"
    assert fmt.size_short(1.5e9) == "1.5 GB"
    assert fmt.size_short(512) == "512 B"
    assert fmt.span(0.0024) == "2.4 ms"
    assert fmt.span(12.34) == "12.3 s"
    assert fmt.span(3900) == "1h 5m"
    assert fmt.metric_value("opsplan_cycle_timestamp_seconds", 1.796e9, "Asia/Seoul") == "2026-11-30 09:53:20 KST"
    assert fmt.metric_value("opsplan_disk_usage_ratio", 0.225776, "UTC") == "22.6%"
    assert fmt.metric_value("opsplan_disk_read_bytes_total", 1.3986e9, "UTC") == "1.4 GB"
    assert fmt.metric_value("opsplan_disk_reads_total", 60509, "UTC") == "60,509"


def test_a_wrapping_table_keeps_whole_columns_and_wraps_the_rest_without_an_ellipsis():
    from rich.console import Console

    from opsplan.cli.tables import wrapping_table

    error = "connection refused by 203.0.113.7:443 after 3 attempts; the channel's URL (CHAT_URL) may be out of date"
    table = wrapping_table(["ID", "next try", "last error"], [["12", "2026-11-27 14:05:30 KST", error]], whole=(1,))
    console = Console(width=60, record=True, highlight=False)
    console.print(table)
    lines = console.export_text().splitlines()
    assert "…" not in "\n".join(lines) and max(len(line) for line in lines) <= 60
    assert "2026-11-27 14:05:30 KST" in lines[1]  # the whole column is not broken
    left = lines[0].index("last error")
    assert " ".join(line[left:].strip() for line in lines[1:]) == error
