"""A check run's report: one data model (the stored run) rendered as self-contained HTML (inline
SVG charts, no script, no outside file), Markdown and JSON, in Korean or English."""

from opsplan.checks.report.render import FORMATS, render

__all__ = ["FORMATS", "render"]
