"""A metrics store writer killed with SIGKILL loses at most the cycle in flight.

A child process appends cycles (and calls maintain() every few cycles, with a clock that runs
fast enough that blocks get merged and raw samples expire) and prints each cycle it completed.
The test kills it at random moments, some of them right after maintain() began, restarts it
several times, and then checks the store against everything the children reported.
"""

from __future__ import annotations

import random
import subprocess
import sys
import threading
import time
from pathlib import Path

from opsplan.store import MetricsStore

T0 = 1_700_000_100
INTERVAL = 60  # simulated seconds per cycle: 2-hour windows fill every 120 cycles
SERIES = 200
MAINTAIN_EVERY = 25

WRITER = f"""
import sys
from pathlib import Path
from opsplan.metrics import sample
from opsplan.store import MetricsStore

now = [0.0]
st = MetricsStore(Path(sys.argv[1]), clock=lambda: now[0], raw_retention_s=3 * 3600, sync=SYNC)
latest = st.latest("c", {{"s": "0"}})
c = int(round((latest[0][1] - {T0}) / {INTERVAL})) + 1 if latest else 0
print("start", c, flush=True)
while True:
    now[0] = {T0} + c * {INTERVAL}
    st.append(now[0], [sample("c", c * 1000 + s, s=s) for s in range({SERIES})])
    print("done", c, flush=True)
    c += 1
    if c % {MAINTAIN_EVERY} == 0:
        print("maintain", flush=True)
        st.maintain()
        print("maintained", flush=True)
"""


class Child:
    def __init__(self, script: Path, store: Path):
        self.proc = subprocess.Popen(
            [sys.executable, str(script), str(store)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        self.lines: list[str] = []
        self.cond = threading.Condition()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            with self.cond:
                self.lines.append(line.strip())
                self.cond.notify_all()

    def wait_for(self, pred, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        with self.cond:
            while not pred(self.lines):
                left = deadline - time.monotonic()
                assert left > 0, f"writer stalled; stderr: {self.proc.stderr.read() if self.proc.stderr else ''}"
                assert self.proc.poll() is None, f"writer died: {self.proc.stderr.read()}"  # type: ignore[union-attr]
                self.cond.wait(min(left, 0.5))

    def kill(self) -> list[int]:
        self.proc.kill()
        self.proc.wait()
        self.reader.join(5)
        assert self.proc.stderr is not None
        err = self.proc.stderr.read()
        self.proc.stderr.close()
        assert "Traceback" not in err, err
        return [int(x.split()[1]) for x in self.lines if x.startswith("done ")]


def _run_and_kill(script: Path, store: Path, rng: random.Random, *, in_maintain: bool) -> list[int]:
    child = Child(script, store)
    if in_maintain:
        # The k-th maintain of this run, then a moment into it: sometimes while blocks are written,
        # sometimes between the manifest commit and the cleanup, sometimes after.
        k = rng.randint(1, 3)
        child.wait_for(lambda lines: sum(x == "maintain" for x in lines) >= k)
        time.sleep(rng.uniform(0, 0.03))
    else:
        child.wait_for(lambda lines: any(x.startswith("done ") for x in lines))
        time.sleep(rng.uniform(0.2, 1.5))
    return child.kill()


def _check(store_dir: Path, reported: set[int]) -> None:
    # A child that was killed with a cycle written but not yet reported resumes after it, so the
    # store must hold exactly the cycles 0..top, top being the last reported one or the next.
    last = max(reported)
    with MetricsStore(store_dir, raw_retention_s=3 * 3600, clock=lambda: T0) as st:
        newest = {int(labels["s"]): round((t - T0) / INTERVAL) for labels, t, _ in st.latest("c")}
        assert len(newest) == SERIES
        stored = set(newest.values())
        assert len(stored) == 1, f"series end at different cycles {sorted(stored)}: a cycle was torn"
        top = stored.pop()
        assert top in (last, last + 1), f"stored up to cycle {top}, children reported {last}"
        stats = st.stats()
        assert stats["samples"] + stats["rollup_samples"] == SERIES * (top + 1), "lost or doubled samples"
        # 5-minute buckets: raw samples where retained, rollups where not; both must agree with
        # exactly the cycles 0..top, each stored once with the value the child wrote.
        step = 300
        per = step // INTERVAL
        results = st.query("c", None, T0, T0 + (top + 1) * INTERVAL, step)
        assert len(results) == SERIES
        for r in results:
            s = int(r.labels["s"])
            want = []
            for b in range(top // per + 1):
                vals = [c * 1000 + s for c in range(b * per, min(b * per + per, top + 1))]
                want.append((T0 + b * step, vals[0], sum(vals) / len(vals), vals[-1], vals[-1]))
            assert r.points == want, f"series {s} differs from what was written"


def test_sigkill_loses_at_most_the_cycle_in_flight(tmp_path: Path) -> None:
    rng = random.Random(20240611)
    store = tmp_path / "metrics"
    reported: set[int] = set()
    for sync in (False, True):
        script = tmp_path / f"writer_{sync}.py"
        script.write_text(WRITER.replace("SYNC", str(sync)))
        for round_ in range(4):
            done = _run_and_kill(script, store, rng, in_maintain=round_ % 2 == 1)
            if done:
                # A restarted child resumes after the newest stored cycle; nothing it reported is lost.
                assert not reported or min(done) > max(reported)
            reported.update(done)
            _check(store, reported)
    assert len(reported) > 4 * MAINTAIN_EVERY  # the children got far enough to maintain() often
