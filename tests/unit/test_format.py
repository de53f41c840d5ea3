"""opsplan.format: the one place values are written for people (CLI, web page, notices, reports)."""

from __future__ import annotations

import ast
import json
import sys
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from opsplan import format as fmt

# 2026-11-27 05:00:00 UTC = 14:00:00 KST (Seoul has no DST: +09:00 all year)
TS = datetime(2026, 11, 27, 5, 0, 0, tzinfo=UTC).timestamp()
SUMMER = datetime(2026, 7, 1, 5, 0, 0, tzinfo=UTC).timestamp()


# --- time -----------------------------------------------------------------------------------------

def test_local_time_in_seoul_and_in_utc():
    assert fmt.local_time(TS, "Asia/Seoul") == "2026-11-27 14:00:00"
    assert fmt.local_time(TS, "Asia/Seoul", zone_name=True) == "2026-11-27 14:00:00 KST"
    assert fmt.local_time(TS, "Asia/Seoul", seconds=False) == "2026-11-27 14:00"
    assert fmt.local_time(TS, "UTC", zone_name=True) == "2026-11-27 05:00:00 UTC"
    assert fmt.local_time(SUMMER, "Asia/Seoul", zone_name=True) == "2026-07-01 14:00:00 KST"  # no DST


def test_local_time_takes_a_tzinfo_too():
    assert fmt.local_time(TS, ZoneInfo("Asia/Seoul")) == "2026-11-27 14:00:00"
    fixed = timezone(timedelta(hours=9))
    assert fmt.local_time(TS, fixed, zone_name=True) == "2026-11-27 14:00:00 UTC+09:00"


def test_local_time_of_nothing_is_missing():
    assert fmt.local_time(None, "Asia/Seoul") == "-"
    assert fmt.local_time(None, "Asia/Seoul", missing="–") == "–"
    assert fmt.local_time(None, "Asia/Seoul", zone_name=True, missing=None) is None


def test_local_time_of_the_epoch_and_of_fractions():
    assert fmt.local_time(0, "UTC") == "1970-01-01 00:00:00"
    assert fmt.local_time(0.0, "Asia/Seoul") == "1970-01-01 09:00:00"
    assert fmt.local_time(TS + 0.999, "Asia/Seoul") == "2026-11-27 14:00:00"  # truncated, not rounded
    assert fmt.local_time(-1, "UTC") == "1969-12-31 23:59:59"


def test_iso_local_carries_the_offset():
    assert fmt.iso_local(TS, "Asia/Seoul") == "2026-11-27T14:00:00+09:00"
    assert fmt.iso_local(TS, "UTC") == "2026-11-27T05:00:00+00:00"
    assert fmt.iso_local(TS, "Asia/Seoul", timespec="minutes") == "2026-11-27T14:00+09:00"
    assert fmt.iso_local(TS, "Asia/Seoul", sep=" ", timespec="minutes") == "2026-11-27 14:00+09:00"
    assert fmt.iso_local(None, "Asia/Seoul") is None


def test_iso_utc_ends_in_z():
    assert fmt.iso_utc(TS) == "2026-11-27T05:00:00Z"
    assert fmt.iso_utc(TS + 0.5) == "2026-11-27T05:00:00.500000Z"
    assert fmt.iso_utc(0) == "1970-01-01T00:00:00Z"


def test_file_stamp_is_local():
    assert fmt.file_stamp(TS, "Asia/Seoul") == "20261127-140000"
    assert fmt.file_stamp(TS, "UTC") == "20261127-050000"


def test_timestamp_reads_naive_datetimes_as_utc():
    assert fmt.timestamp(datetime(2026, 11, 27, 5, 0, 0)) == TS
    assert fmt.timestamp(datetime(2026, 11, 27, 14, 0, 0, tzinfo=ZoneInfo("Asia/Seoul"))) == TS
    assert fmt.timestamp(TS) == TS
    assert fmt.timestamp(0) == 0.0 and isinstance(fmt.timestamp(0), float)


# --- durations ------------------------------------------------------------------------------------

@pytest.mark.parametrize(("value", "expected"), [
    (None, "-"), (0, "0.0s"), (2.46, "2.5s"), (59.94, "59.9s"), (60, "1m"), (90, "1m 30s"), (3600, "1h"),
    (90061, "1d 1h 1m 1s"), (86400 * 400, "400d"), (-5, "-5.0s"), (-3600, "-3600.0s"), (119.6, "2m"),
])
def test_duration(value, expected):
    assert fmt.duration(value) == expected


def test_duration_compact_with_two_decimals_as_alert_values_read():
    assert fmt.duration(2.4, sep="", precision=2) == "2.40s"
    assert fmt.duration(97200, sep="", precision=2) == "1d3h"
    assert fmt.duration(None, missing="") == ""


@pytest.mark.parametrize(("value", "expected"), [
    (None, "-"), (0, "0.0s"), (75, "75.0s"), (119.9, "119.9s"), (120, "2.0m"), (7200, "120.0m"), (-1, "-1.0s"),
])
def test_took(value, expected):
    assert fmt.took(value) == expected


@pytest.mark.parametrize(("value", "expected"), [
    (None, "-"), (0, "0m"), (-30, "0m"), (29, "0m"), (600, "10m"), (3599, "60m"), (5400, "1.5h"),
    (86399, "24.0h"), (172800, "2.0d"), (86400 * 1000, "1000.0d"),
])
def test_age(value, expected):
    assert fmt.age(value) == expected


def test_seconds_and_phases():
    assert fmt.seconds(2.46) == "2.5s" and fmt.seconds(2.46, precision=0) == "2s"
    assert fmt.seconds(None) == "-" and fmt.seconds(0) == "0.0s" and fmt.seconds(-0.04) == "-0.0s"
    assert fmt.phases({"restore": 12.34, "skipped": None, "check": 4}) == "restore 12.3s, check 4.0s"
    assert fmt.phases({}) == "-" and fmt.phases({"a": None}) == "-"


# --- sizes and numbers ----------------------------------------------------------------------------

@pytest.mark.parametrize(("value", "style", "expected"), [
    (None, "decimal", "-"),
    (0, "decimal", "0 B"), (999, "decimal", "999 B"), (1000, "decimal", "1.0 KB"), (2_000_000, "decimal", "2.0 MB"),
    (1.5e9, "decimal", "1.5 GB"), (3e15, "decimal", "3000.0 TB"), (-2_000_000, "decimal", "-2.0 MB"),
    (0, "binary", "0 B"), (1023, "binary", "1023 B"), (1536, "binary", "1.5 KiB"), (2**30, "binary", "1.0 GiB"),
    (2**50, "binary", "1024.0 TiB"),
    (512, "compact", "512B"), (1500, "compact", "1.5kB"), (1.5e9, "compact", "1.5GB"), (-1500, "compact", "-1.5kB"),
])
def test_size(value, style, expected):
    assert fmt.size(value, style=style) == expected


def test_size_in_a_fixed_unit():
    assert fmt.size(12.34e9, unit="GB") == "12.3 GB"
    assert fmt.size(0, unit="GB") == "0.0 GB"
    assert fmt.size(2e12, unit="GB") == "2000.0 GB"
    assert fmt.size(2**30, style="binary", unit="GiB") == "1.0 GiB"
    assert fmt.size(None, unit="GB", missing="–") == "–"


@pytest.mark.parametrize(("ratio", "kwargs", "expected"), [
    (0.852, {}, "85.2%"), (0, {}, "0.0%"), (1, {}, "100.0%"), (-0.05, {}, "-5.0%"), (12.5, {}, "1250.0%"),
    (0.852, {"sep": " "}, "85.2 %"), (2 / 3, {"precision": 0}, "67%"), (None, {}, "-"),
])
def test_percent(ratio, kwargs, expected):
    assert fmt.percent(ratio, **kwargs) == expected


def test_number():
    assert fmt.number(12.34, "req/s") == "12.3 req/s"
    assert fmt.number(0.1234, "s", precision=3) == "0.123 s"
    assert fmt.number(250.5, "W", precision=0) == "250 W"  # round half to even, as "%.0f" did
    assert fmt.number(12.34) == "12.3" and fmt.number(None) == "-" and fmt.number(None, "W", missing="–") == "–"


def test_quantity_as_a_rule_states_it():
    assert fmt.quantity(90, "%") == "90%"
    assert fmt.quantity(0.5, "s") == "0.5 s"
    assert fmt.quantity(85.25) == "85.25"
    assert fmt.quantity(0) == "0"
    assert fmt.quantity(-3.5, "°C") == "-3.5 °C"
    assert fmt.quantity(12_345_678) == "12345678"
    assert fmt.quantity(1234.5678, "ms") == "1235 ms"


# --- JSON -----------------------------------------------------------------------------------------

def test_to_json_keeps_korean_and_writes_unknown_values_as_text():
    text = fmt.to_json({"설명": "디스크 사용률", "at": datetime(2026, 11, 27, 5, 0), "path": Path("/data"), "n": None})
    assert "디스크 사용률" in text and "\\u" not in text
    assert text.startswith('{\n  "설명"')
    assert json.loads(text) == {"설명": "디스크 사용률", "at": "2026-11-27 05:00:00", "path": "/data", "n": None}


# --- layering -------------------------------------------------------------------------------------

def test_format_is_a_bottom_layer_module():
    """Only the standard library (and opsplan.errors / opsplan.i18n): every stage may import it."""
    source = Path(fmt.__file__).read_text(encoding="utf-8")
    imported = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            imported |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module)
    allowed = {"opsplan.errors", "opsplan.i18n"}
    outside = {m for m in imported if m.split(".")[0] not in sys.stdlib_module_names and m not in allowed}
    assert outside == set()


def test_korean_durations_sizes_and_percentages_read_as_the_team_writes_them():
    # KOREAN.md rules 8 and 9: 초/분/시간/일, % right after the number, no '.0' on a whole number
    assert fmt.duration(90061, language="ko") == "1일 1시간 1분 1초"
    assert fmt.duration(300, language="ko") == "5분" and fmt.duration(14400, language="ko") == "4시간"
    assert fmt.seconds(2.46, language="ko") == "2.5초" and fmt.seconds(3.0, language="ko") == "3초"
    assert fmt.took(75, language="ko") == "75초" and fmt.took(330, language="ko") == "5.5분"
    assert fmt.age(600, language="ko") == "10분" and fmt.age(172800, language="ko") == "2일"
    assert fmt.size(672_000, language="ko") == "672 KB" and fmt.size(2e12, language="ko") == "2 TB"
    assert fmt.size(12e9, unit="GB", language="ko") == "12 GB"
    assert fmt.percent(0.325, sep=" ", language="ko") == "32.5%" and fmt.percent(0.5, language="ko") == "50%"
    # English reads as it always has
    assert fmt.duration(300) == "5m" and fmt.size(12e9, unit="GB") == "12.0 GB" and fmt.percent(0.5) == "50.0%"
    assert fmt.size(1_572_864, style="binary") == "1.5 MiB"
    assert fmt.size(1_572_864, style="binary", language="ko") == "1.6 MB"  # decimal units, as the seed writes
