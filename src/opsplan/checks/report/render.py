"""A stored check run as a report: HTML (one file: inline CSS and SVG, no script, nothing fetched),
Markdown and JSON, in Korean or English, times in the plan's timezone."""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Mapping
from html import escape
from typing import Any

from opsplan import format as fmt
from opsplan.checks.model import ItemResult
from opsplan.checks.report.svg import chart_svg
from opsplan.checks.report.values import number, text
from opsplan.i18n import t

FORMATS = ("html", "md", "json")
STATUS_KEYS = {"pass": "checks.status.pass", "warn": "checks.status.warn", "fail": "checks.status.fail",
               "not-run": "checks.status.not_run", "manual": "checks.status.manual",
               "running": "checks.status.running", "interrupted": "checks.status.interrupted"}
PERIOD_KEYS = {"daily": "checks.period.daily", "weekly": "checks.period.weekly",
               "monthly": "checks.period.monthly", "quarterly": "checks.period.quarterly"}
# Hangul needs a CJK font: setup installs fonts-noto-cjk; NanumGothic is the common alternative.
FONTS = '"Noto Sans CJK KR", "NanumGothic", "Noto Sans KR", sans-serif'
STYLE = ("body{font-family:" + FONTS + ";margin:2em;color:#222;max-width:60em}"
         "table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;padding:.25em .6em;"
         "text-align:left;vertical-align:top}th{background:#f4f4f4}"
         ".pass{color:#1b5e20}.warn{color:#e65100}.fail{color:#b00020}.not-run{color:#555}.manual{color:#0d47a1}"
         "section{border-top:1px solid #ddd;margin-top:1.5em}pre{background:#f7f7f7;padding:.5em;"
         "white-space:pre-wrap;font-size:.85em}svg{display:block;margin:.5em 0}")


def status_text(status: str, lang: str) -> str:
    return t(STATUS_KEYS[status], lang) if status in STATUS_KEYS else status


def period_name(period: str, lang: str) -> str:
    """'일일 점검' / 'Daily check' (an unknown period as it is stored)."""
    return t(PERIOD_KEYS[period], lang) if period in PERIOD_KEYS else period


def period_text(period: str, lang: str) -> str:
    """'일일 점검 (daily)' / 'Daily check': in Korean with the stored id after it, to search with."""
    if period not in PERIOD_KEYS:
        return period
    return f"{t(PERIOD_KEYS[period], lang)} ({period})" if lang == "ko" else t(PERIOD_KEYS[period], lang)


def _title(run: Mapping[str, Any], lang: str) -> str:
    period = t(PERIOD_KEYS[run["period"]], lang) if run["period"] in PERIOD_KEYS else run["period"]
    return t("checks.report.title", lang, period=period, id=run["id"])


def _when(ts: float | None, tz: str) -> str:
    return fmt.local_time(ts, tz, zone_name=True)


def _result(item: Mapping[str, Any]) -> ItemResult | None:
    return ItemResult.from_dict(item["result"]) if item.get("result") else None


def _item_summary(item: Mapping[str, Any], lang: str, tz: str) -> str:
    result = _result(item)
    if result is not None:
        # A not-run item's summary only says "not run": the reason is what a reader needs.
        return text(result.reason if result.status == "not-run" and result.reason else result.summary, lang)
    ticked = item.get("ticked")
    if ticked:
        return t("checks.report.ticked", lang, by=ticked["by"], at=_when(ticked["at"], tz),
                 note=ticked.get("note") or "-")
    return t("checks.report.awaiting_tick", lang)


def _signed(run: Mapping[str, Any], lang: str, tz: str) -> str:
    signed = run.get("signed")
    if not signed:
        return t("checks.report.not_signed", lang)
    return t("checks.report.signed", lang, by=signed["by"], at=_when(signed["at"], tz), note=signed.get("note") or "-")


def _meta(run: Mapping[str, Any], lang: str, tz: str) -> list[tuple[str, str]]:
    return [
        (t("checks.report.window", lang), f"{_when(run['window']['start'], tz)} ~ {_when(run['window']['end'], tz)}"),
        (t("checks.report.started", lang), _when(run["started_at"], tz)),
        (t("checks.report.finished", lang), _when(run["finished_at"], tz)),
        (t("checks.report.overall", lang), status_text(run["status"], lang)),
        (t("checks.report.sign_off", lang), _signed(run, lang, tz)),
    ]


def _figure_rows(result: ItemResult, lang: str) -> list[tuple[str, str, str, str]]:
    return [(text(f.name, lang), number(f.value, f.unit, lang),
             number(f.threshold, f.unit, lang) if f.threshold is not None else fmt.MISSING,
             number(f.previous, f.unit, lang) if f.previous is not None else fmt.MISSING) for f in result.figures]


# --- HTML ----------------------------------------------------------------------------------------

def _html_table(head: list[str], rows: list[list[str]], classes: list[str] | None = None) -> str:
    out = ["<table><tr>", *(f"<th>{escape(h)}</th>" for h in head), "</tr>"]
    for index, row in enumerate(rows):
        out.append("<tr>")
        for column, cell in enumerate(row):
            cls = f' class="{escape(classes[index])}"' if classes and column == 1 else ""
            out.append(f"<td{cls}>{escape(cell)}</td>")
        out.append("</tr>")
    out.append("</table>")
    return "".join(out)


def _item_title(item: Mapping[str, Any], lang: str) -> str:
    return str(item["title"]["ko" if lang == "ko" else "en"])


def to_html(run: Mapping[str, Any], lang: str, tz: str) -> str:
    title = _title(run, lang)
    body = [f"<h1>{escape(title)}</h1>",
            _html_table([t("checks.report.field", lang), t("checks.report.value", lang)],
                        [[k, v] for k, v in _meta(run, lang, tz)])]
    items = run["items"]
    body.append(f"<h2>{escape(t('checks.report.items', lang))}</h2>")
    body.append(_html_table([t("checks.report.item", lang), t("checks.report.status", lang),
                             t("checks.report.summary", lang)],
                            [[_item_title(i, lang), status_text(i["status"], lang), _item_summary(i, lang, tz)]
                             for i in items], [i["status"] for i in items]))
    for item in items:
        result = _result(item)
        body.append(f"<section><h2>{escape(_item_title(item, lang))}</h2>"
                    f'<p class="{escape(item["status"])}"><strong>{escape(status_text(item["status"], lang))}'
                    f"</strong>: {escape(_item_summary(item, lang, tz))}</p>")
        if result is None:
            body.append("</section>")
            continue
        if result.reason is not None and result.status != "not-run":  # a not-run's summary is its reason
            body.append(f"<p>{escape(t('checks.report.reason', lang))}: {escape(text(result.reason, lang))}</p>")
        if result.findings:
            body.append("<ul>" + "".join(f"<li>{escape(text(f, lang))}</li>" for f in result.findings) + "</ul>")
        if result.figures:
            body.append(_html_table([t("checks.report.figure", lang), t("checks.report.value", lang),
                                     t("checks.report.threshold", lang), t("checks.report.previous", lang)],
                                    [list(r) for r in _figure_rows(result, lang)]))
        body.extend(chart_svg(chart, lang, tz) for chart in result.charts)
        for tool in result.tools:
            body.append(f"<h3>{escape(t('checks.report.tool', lang))}: <code>{escape(' '.join(tool.argv))}</code></h3>"
                        f"<p>{escape(t('checks.report.tool_facts', lang, version=tool.version or '-', code=tool.exit_code if tool.exit_code is not None else '-', sha=tool.sha256))}</p>"  # noqa: E501
                        f"<pre>{escape(tool.output)}</pre>")
        body.append("</section>")
    return (f'<!DOCTYPE html><html lang="{lang}"><head><meta charset="utf-8">'
            f"<title>{escape(title)}</title><style>{STYLE}</style></head><body>{''.join(body)}</body></html>\n")


# --- Markdown ------------------------------------------------------------------------------------

def _md_cell(value: str) -> str:
    return value.replace("|", "\\|").replace("\n", " ")


def _md_table(head: list[str], rows: list[list[str]]) -> list[str]:
    return ["| " + " | ".join(_md_cell(h) for h in head) + " |", "|" + "---|" * len(head),
            *("| " + " | ".join(_md_cell(c) for c in row) + " |" for row in rows), ""]


def to_markdown(run: Mapping[str, Any], lang: str, tz: str) -> str:
    lines = [f"# {_title(run, lang)}", ""]
    lines += _md_table([t("checks.report.field", lang), t("checks.report.value", lang)],
                       [[k, v] for k, v in _meta(run, lang, tz)])
    lines += [f"## {t('checks.report.items', lang)}", ""]
    lines += _md_table([t("checks.report.item", lang), t("checks.report.status", lang),
                        t("checks.report.summary", lang)],
                       [[_item_title(i, lang), status_text(i["status"], lang), _item_summary(i, lang, tz)]
                        for i in run["items"]])
    for item in run["items"]:
        result = _result(item)
        if result is None:
            continue
        lines += [f"## {_item_title(item, lang)}", "",
                  f"**{status_text(item['status'], lang)}**: {text(result.summary, lang)}", ""]
        if result.reason is not None and result.status != "not-run":
            lines += [f"{t('checks.report.reason', lang)}: {text(result.reason, lang)}", ""]
        lines += [f"- {text(f, lang)}" for f in result.findings]
        if result.findings:
            lines.append("")
        if result.figures:
            lines += _md_table([t("checks.report.figure", lang), t("checks.report.value", lang),
                                t("checks.report.threshold", lang), t("checks.report.previous", lang)],
                               [list(r) for r in _figure_rows(result, lang)])
        for tool in result.tools:
            lines += [f"{t('checks.report.tool', lang)}: `{' '.join(tool.argv)}` "
                      f"(SHA-256 `{tool.sha256}`)", "", "```", tool.output, "```", ""]
    return "\n".join(lines) + "\n"


# --- JSON ----------------------------------------------------------------------------------------

def _points_apart(result: Mapping[str, Any] | None, kept: list[Any], token: str) -> Mapping[str, Any] | None:
    """The result with each chart series' points moved to `kept`, a string `token` + index in their place."""
    if not result or not result.get("charts"):
        return result

    def apart(series: Mapping[str, Any]) -> dict[str, Any]:
        kept.append(series["points"])
        return {**series, "points": f"{token}{len(kept) - 1}"}

    charts = [{**c, "series": [apart(s) for s in c["series"]],
               "band": [apart(s) for s in c["band"]] if c.get("band") else c.get("band")} for c in result["charts"]]
    return {**result, "charts": charts}


def to_json(run: Mapping[str, Any], lang: str, tz: str) -> str:
    """The stored run with its times in the plan's timezone and each line also as text. Indented,
    except each chart series' points: one line of [time, value] pairs (the bulk of a daily run, five
    times larger and slower to write with a line per number)."""
    items = []
    kept: list[Any] = []
    token = f"points-{secrets.token_hex(8)}-"  # no text of the run can contain it
    for item in run["items"]:
        result = _result(item)
        items.append({**item, "result": _points_apart(item.get("result"), kept, token),
                      "status_text": status_text(item["status"], lang),
                      "summary_text": _item_summary(item, lang, tz),
                      "findings_text": [text(f, lang) for f in result.findings] if result else []})
    document = {**run, "language": lang, "timezone": tz, "title": _title(run, lang),
                "window": {"start": fmt.iso_local(run["window"]["start"], tz),
                           "end": fmt.iso_local(run["window"]["end"], tz)},
                "started_at": fmt.iso_local(run["started_at"], tz),
                "finished_at": fmt.iso_local(run["finished_at"], tz),
                "items": items}
    return re.sub(f'"{token}(\\d+)"', lambda m: json.dumps(kept[int(m.group(1))], separators=(",", ":")),
                  fmt.to_json(document))


def render(run: Mapping[str, Any], fmt_name: str, lang: str, tz: str) -> str:
    if fmt_name == "html":
        return to_html(run, lang, tz)
    if fmt_name == "md":
        return to_markdown(run, lang, tz)
    if fmt_name == "json":
        return to_json(run, lang, tz)
    raise ValueError(f"unknown report format {fmt_name!r} (known: {', '.join(FORMATS)})")
