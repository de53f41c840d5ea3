"""What the alert engine hands to notifications: one notice per thing a person should hear about."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from opsplan.plan.models import Text

NoticeKind = Literal["firing", "resolved", "repeat"]


@dataclass(frozen=True)
class AlertNotice:
    kind: NoticeKind              # firing: newly firing; repeat: still firing, unacknowledged; resolved
    fingerprint: str              # stable id of this alert instance (alert name + subject labels)
    alert: str                    # CpuUsageHigh ...
    severity: Literal["critical", "warning"]
    labels: dict[str, str]        # alertname, severity and the subject's labels
    subject: str                  # readable subject: "disk /", "service llm-api", "" for the host
    summary: Text
    description: Text             # already filled in with value and threshold
    value: float | None           # the value that made it fire (or the last one, when resolved)
    threshold: float
    for_s: float
    started_at: float             # UTC unix seconds when it began firing
    resolved_at: float | None = None
    source: Literal["opsplan", "prometheus"] = "opsplan"
    annotations: dict[str, str] = field(default_factory=dict)
    host: str = ""                        # the machine the alert is about
    console_url: str | None = None        # link to the web console (plan.web.public_url)
    value_text: str = ""                  # value and threshold as shown: "85.2%", "2.40s", "91°C"
    threshold_text: str = ""
    subject_ko: str = ""                  # the subject in Korean words: "GPU 0 그룹 ai" ("" for the host)
