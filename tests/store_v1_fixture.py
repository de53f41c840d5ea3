"""The samples of tests/data/store_v1, a metrics store written by the block format 1 code.

The fixture directory was written once by `python tests/store_v1_fixture.py DIR` at commit
5832759 (before block format 2) and is kept as bytes, so the test reads blocks the old code wrote,
not blocks the new code writes in the old style.
"""

from __future__ import annotations

import sys
from pathlib import Path

T0 = 1_700_006_400.0  # midnight UTC: the 2-hour windows start at the first cycle
CYCLES = 600  # 2.5 hours at 15 s: one full 2-hour window and half of the next
END = T0 + CYCLES * 15
NOW = T0 + 5 * 3600  # when the fixture was maintained: the first window's raw samples expired
RAW_RETENTION_S = 3 * 3600


def cycle_time(i: int) -> float:
    return T0 + 15 * i + (i % 7) / 1000  # a few ms late, like time.time() in serve


def ratio(i: int) -> float:
    specials = {7: float("nan"), 11: float("inf"), 13: float("-inf"), 17: -0.0, 480: float("nan")}
    return specials.get(i, i / 97)


def series(i: int) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """The samples of cycle i: a full-precision ratio, a constant, a series missing every third cycle."""
    out = {("ratio", (("gpu", "0"),)): ratio(i), ("up", (("job", "api"),)): 1.0}
    if i % 3:
        out[("flaky", ())] = float(i)
    return out


def write(directory: Path) -> None:
    from opsplan.metrics import Sample
    from opsplan.store import MetricsStore

    with MetricsStore(directory, clock=lambda: NOW, raw_retention_s=RAW_RETENTION_S) as st:
        for i in range(CYCLES):
            st.append(cycle_time(i), [Sample(n, v, labels) for (n, labels), v in series(i).items()])
        st.maintain()


if __name__ == "__main__":
    write(Path(sys.argv[1]))
