"""Pushes opsplan's own alerts to an external Alertmanager (v2 API), when the plan names one.

Alertmanager forgets an alert that is not re-sent before its `endsAt`, as it does for Prometheus;
so the firing alerts are kept here and re-posted every `resend_s`, each time with `endsAt` a few
resends ahead. Posting runs on its own thread: the alert engine's cycle never waits on the network.
A failed post keeps everything queued and is retried with backoff.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

import httpx

from opsplan import format as fmt
from opsplan.alerts.events import AlertNotice

log = logging.getLogger("opsplan.alerts.push")

Clock = Callable[[], float]


class AlertmanagerPush:
    """A notice sink: call it with each AlertNotice (or `push(notices)`); `start()` the sender thread."""

    def __init__(self, url: str, clock: Clock = time.time, *, language: str = "en", instance: str = "",
                 generator_url: str = "", resend_s: float = 60.0, timeout_s: float = 5.0,
                 backoff_s: tuple[float, ...] = (1.0, 2.0, 5.0, 10.0, 30.0),
                 transport: httpx.BaseTransport | None = None):
        self.endpoint = url.rstrip("/") + "/api/v2/alerts"
        self.clock = clock
        self.language = language
        self.instance = instance
        self.generator_url = generator_url
        self.resend_s = resend_s
        self.backoff_s = backoff_s
        self._client = httpx.Client(timeout=timeout_s, transport=transport)
        self._lock = threading.Lock()
        self._firing: dict[str, dict[str, Any]] = {}    # fingerprint -> alert, re-sent until resolved
        self._resolved: dict[str, dict[str, Any]] = {}  # sent once, then dropped
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._failures = 0
        self.last_error: str | None = None
        self.sent_batches = 0

    # --- the sink side -------------------------------------------------------------------------

    def __call__(self, notice: AlertNotice) -> None:
        self.push([notice])

    def push(self, notices: Iterable[AlertNotice]) -> None:
        with self._lock:
            for notice in notices:
                alert = self._alert(notice)
                if notice.kind == "resolved":
                    self._firing.pop(notice.fingerprint, None)
                    self._resolved[notice.fingerprint] = alert
                else:
                    self._resolved.pop(notice.fingerprint, None)
                    self._firing[notice.fingerprint] = alert
        self._wake.set()

    def _alert(self, notice: AlertNotice) -> dict[str, Any]:
        labels = {k: v for k, v in notice.labels.items() if k != "alert"}
        labels.update(alertname=notice.alert, severity=notice.severity)
        if self.instance:
            labels.setdefault("instance", self.instance)
        annotations = {**notice.annotations, "summary": notice.summary.get(self.language),
                       "description": notice.description.get(self.language)}
        if notice.value is not None:
            annotations["value"] = f"{notice.value:g}"
        alert: dict[str, Any] = {"labels": labels, "annotations": annotations,
                                 "startsAt": fmt.iso_utc(notice.started_at)}
        if self.generator_url:
            alert["generatorURL"] = self.generator_url
        if notice.kind == "resolved":
            alert["endsAt"] = fmt.iso_utc(notice.resolved_at or self.clock())
        return alert

    # --- the sender side -----------------------------------------------------------------------

    def send_once(self) -> bool:
        """Post every firing and newly resolved alert; True when Alertmanager took them."""
        now = self.clock()
        with self._lock:
            batch = [{**a, "endsAt": fmt.iso_utc(now + 4 * self.resend_s)} for a in self._firing.values()]
            resolved = dict(self._resolved)
            batch += list(resolved.values())
        if not batch:
            return True
        try:
            response = self._client.post(self.endpoint, json=batch)
            ok = response.status_code == 200
            reason = "" if ok else f"HTTP {response.status_code}: {response.text[:120]}"
        except httpx.HTTPError as exc:
            ok, reason = False, f"{type(exc).__name__}: {exc}"[:160]
        with self._lock:
            if ok:
                for fingerprint, alert in resolved.items():
                    if self._resolved.get(fingerprint) is alert:
                        del self._resolved[fingerprint]
                self._failures = 0
                self.last_error = None
                self.sent_batches += 1
            else:
                self._failures += 1
                if self.last_error != reason:
                    log.warning("pushing %d alerts to %s failed: %s", len(batch), self.endpoint, reason)
                self.last_error = reason
        return ok

    def run(self) -> None:
        """Post, then wait for a notice or the next resend, until `request_stop`."""
        while not self._stop.is_set():
            self._wake.clear()  # before sending: a notice pushed meanwhile wakes the next round
            ok = self.send_once()
            wait = self.resend_s if ok else self.backoff_s[min(self._failures, len(self.backoff_s)) - 1]
            self._wake.wait(wait)

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self.run, name="alertmanager-push", daemon=True)
            self._thread.start()

    def request_stop(self) -> None:
        self._stop.set()
        self._wake.set()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the sender (its own thread, if `start` made one), then post what is left once."""
        self.request_stop()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        self.send_once()  # a last try, so a resolve noticed just before shutdown is not lost
        self._client.close()
