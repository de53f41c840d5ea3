"""Values and subjects as an operator reads them: 85.2% not 0.852, 2.4s, 91°C, 27h."""

from __future__ import annotations

import math
from collections.abc import Mapping

from opsplan import format as fmt
from opsplan.i18n import t
from opsplan.plan.models import Text

# What each subject label is called (KOREAN.md rule 5: a label key is not shown alone in Korean);
# literal catalogue keys, so the catalogue test sees them. A label not here keeps its key.
_LABEL_KEY = {"gpu": "subject.gpu", "group": "subject.group", "mountpoint": "subject.mountpoint",
              "service": "subject.service", "collector": "subject.collector", "target": "subject.target",
              "incident_severity": "subject.incident_severity"}
# Values that are themselves internal ids (the backup targets), by label and value.
_VALUE_KEY = {("target", "database"): "subject.target.database", ("target", "models"): "subject.target.models",
              ("target", "config"): "subject.target.config",
              # collectors by their Korean name: '수집기 MariaDB', not '수집기 mariadb' (as web/status.py)
              ("collector", "system"): "collector.system", ("collector", "gpu"): "collector.gpu",
              ("collector", "mariadb"): "collector.mariadb", ("collector", "services"): "collector.services",
              ("collector", "allocation"): "collector.allocation", ("collector", "backup"): "collector.backup",
              ("collector", "backup_files"): "collector.backup_files", ("collector", "rpo"): "collector.rpo",
              ("collector", "drills"): "collector.drills", ("collector", "groups"): "collector.groups",
              ("collector", "containers"): "collector.containers", ("collector", "incidents"): "collector.incidents",
              ("incident_severity", "critical"): "incident.severity.critical",
              ("incident_severity", "major"): "incident.severity.major",
              ("incident_severity", "minor"): "incident.severity.minor"}


def format_value(metric: str, value: float | None) -> str:
    """A value in its metric's unit, chosen from the name's suffix as docs/metrics.md names them."""
    if value is None or not math.isfinite(value):
        return "-"
    if metric.endswith("_ratio"):
        return fmt.percent(value)
    if metric.endswith("_celsius"):
        return f"{value:.0f}°C"
    if metric.endswith("_seconds"):
        return fmt.duration(value, sep="", precision=2)
    if metric.endswith("_bytes"):
        return fmt.size(value, style="compact")
    return f"{value:g}"


def subject_text(labels: Mapping[str, str], names: tuple[str, ...], language: str = "en",
                 groups: Mapping[str, str] | None = None) -> str:
    """'mountpoint /', 'service llm-api', 'gpu 0 group ai'; '' for host-wide rules. Korean names
    each label: '마운트 지점 /', '서비스 llm-api', '백업 대상 데이터베이스', and a group by its name in
    `groups` (id -> name) with the id after it: 'GPU 0 그룹 AI 시스템 (ai)'."""
    if language == "en":
        return " ".join(f"{name} {labels[name]}" for name in names if name in labels)
    parts = []
    for name in names:
        if name not in labels:
            continue
        label = t(_LABEL_KEY[name], language) if name in _LABEL_KEY else name
        value = labels[name]
        if (name, value) in _VALUE_KEY:
            value = t(_VALUE_KEY[name, value], language)
        elif name == "group" and groups and value in groups:
            value = f"{groups[value]} ({value})"
        parts.append(f"{label} {value}")
    return " ".join(parts)


def subject_from_labels(subject: str, labels: Mapping[str, str], language: str,
                        groups: Mapping[str, str] | None = None) -> str:
    """A stored subject ('gpu 0 group ai', as subject_text wrote it) in `language`, from the alert's
    labels: the subject's label names in the order the stored text names them."""
    if language == "en" or not subject:
        return subject
    names = sorted((name for name in labels if subject.startswith(f"{name} ") or f" {name} " in subject),
                   key=lambda name: subject.find(f"{name} "))
    return subject_text(labels, tuple(names), language, groups) or subject


def label_value_text(name: str, value: str, language: str) -> str:
    """A label's value as shown: a backup target in the reader's words ('데이터베이스'), else as it is."""
    return t(_VALUE_KEY[name, value], language) if (name, value) in _VALUE_KEY and language != "en" else value


def fill(text: Text, *, subject: str | Text, value: str | Text, threshold: str | Text) -> Text:
    """The rule's text with {subject}, {value} and {threshold} put in; unknown fields are kept.
    Each value is one text for both languages or a Text with each language's own."""
    def each(part: str | Text) -> tuple[str, str]:
        return (part.ko, part.en) if isinstance(part, Text) else (part, part)

    (ko_subject, en_subject), (ko_value, en_value), (ko_threshold, en_threshold) = (
        each(subject), each(value), each(threshold))
    return Text(ko=_format(text.ko, ko_subject, ko_value, ko_threshold),
                en=_format(text.en, en_subject, en_value, en_threshold))


def _format(template: str, subject: str, value: str, threshold: str) -> str:
    try:
        return template.format(subject=subject, value=value, threshold=threshold).strip()
    except (KeyError, IndexError, ValueError):  # an operator's text with stray braces stays as written
        return template
