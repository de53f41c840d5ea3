"""The rotation as iCalendar (RFC 5545), written by hand: one VEVENT per shift, with the escaping
(backslash, semicolon, comma, newline) and the 75-octet line folding the RFC requires. A calendar
app subscribed to it shows who is on call; no package is needed for a few dozen lines of text."""

from __future__ import annotations

from datetime import UTC, datetime

from opsplan.i18n import t
from opsplan.oncall.rotation import Shift

LINE_OCTETS = 75


def escape(text: str) -> str:
    return (text.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,")
            .replace("\r\n", "\\n").replace("\n", "\\n"))


def fold(line: str) -> str:
    """Split `line` into lines of at most 75 octets, never inside a UTF-8 character; each
    continuation starts with one space (RFC 5545 §3.1)."""
    out: list[str] = []
    current, size, limit = "", 0, LINE_OCTETS
    for char in line:
        width = len(char.encode("utf-8"))
        if size + width > limit:
            out.append(current)
            current, size, limit = " ", 1, LINE_OCTETS
        current += char
        size += width
    out.append(current)
    return "\r\n".join(out)


def _stamp(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y%m%dT%H%M%SZ")


def calendar(shifts: list[Shift], *, host: str, language: str, now: float) -> str:
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//opsplan//on-call//EN", "CALSCALE:GREGORIAN",
             f"X-WR-CALNAME:{escape(t('help.oncall', language))}"]
    for shift in shifts:
        if shift.primary is None:
            continue
        lines += ["BEGIN:VEVENT", f"UID:oncall-{int(shift.start)}-{escape(shift.primary)}@{escape(host)}",
                  f"DTSTAMP:{_stamp(now)}", f"DTSTART:{_stamp(shift.start)}", f"DTEND:{_stamp(shift.end)}",
                  f"SUMMARY:{escape(t('oncall.ical.summary', language, name=shift.primary))}",
                  f"DESCRIPTION:{escape(t('oncall.ical.description', language, names=shift.secondary or '-'))}",
                  "TRANSP:TRANSPARENT", "END:VEVENT"]
    lines.append("END:VCALENDAR")
    return "".join(fold(line) + "\r\n" for line in lines)
