"""The dead-man's switch: serve calls a URL (a monitor elsewhere, e.g. healthchecks.io) every few
minutes; when the calls stop, that monitor pages someone. A Worker thread of its own, so a slow or
dead monitor never holds up the collection loop. The URL is a secret: never logged."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping

import httpx

from opsplan.errors import SecretError
from opsplan.metrics import MetricSpec, Sample, sample
from opsplan.metrics.samples import counter, gauge
from opsplan.plan.models import Heartbeat
from opsplan.plan.secrets import read_secret_file

log = logging.getLogger(__name__)

METRICS: dict[str, MetricSpec] = {
    "opsplan_heartbeat_failures_total": counter("Heartbeat calls that failed (timeout, refused, non-2xx status)"),
    "opsplan_heartbeat_last_success_timestamp": gauge("When a heartbeat call last succeeded (0: never)",
                                                      unit="seconds"),
}


def heartbeat_url(beat: Heartbeat, environ: Mapping[str, str]) -> str | None:
    if beat.url_env and environ.get(beat.url_env):
        return environ[beat.url_env]
    if beat.url_file is not None:
        return read_secret_file(beat.url_file, "heartbeat URL")
    return None


class HeartbeatSender:
    def __init__(self, beat: Heartbeat, environ: Mapping[str, str], *, clock: Callable[[], float] = time.time):
        self.beat = beat
        self.environ = environ
        self.clock = clock
        self.failures = 0
        self.last_success = 0.0
        self._failing = False  # logged once when calls start failing, once when they work again
        self._stop = threading.Event()

    def beat_once(self) -> bool:
        try:
            url = heartbeat_url(self.beat, self.environ)
            if url is None:
                raise SecretError(f"environment variable {self.beat.url_env} is not set")
            response = httpx.request(self.beat.method, url, timeout=self.beat.timeout)
            ok, reason = response.is_success, f"status {response.status_code}"
        except SecretError as exc:
            ok, reason = False, str(exc)
        except httpx.HTTPError as exc:
            ok, reason = False, type(exc).__name__  # not str(exc): it may carry the URL
        if ok:
            self.last_success = self.clock()
            if self._failing:
                log.warning("heartbeat calls work again")
            self._failing = False
            return True
        self.failures += 1
        if not self._failing:
            log.error("heartbeat call failed: %s; counted in opsplan_heartbeat_failures_total, "
                      "logged again only when it recovers", reason)
        self._failing = True
        return False

    def run(self) -> None:
        while not self._stop.is_set():
            self.beat_once()
            self._stop.wait(self.beat.every)

    def request_stop(self) -> None:
        self._stop.set()

    def samples(self) -> list[Sample]:
        return [sample("opsplan_heartbeat_failures_total", self.failures),
                sample("opsplan_heartbeat_last_success_timestamp", self.last_success)]
