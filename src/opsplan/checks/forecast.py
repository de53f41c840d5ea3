"""A robust growth trend and the date it crosses a line, for capacity planning (seed §2.2 monthly).

Prometheus' `predict_linear` and Zabbix's `timeleft` fit least squares through raw points: one
night of a 500 GB scratch file, or a cleanup, tilts the line and moves the "disk full" date by
months. Here the trend is Theil–Sen (the median of all pairwise slopes; it ignores up to ~29 % of
the points being wild) fitted on one value per day (the day's maximum, from the store's
rollups), with Sen's (1968) confidence interval for the slope from the pairwise slopes' order
statistics. The crossing date is given with the band the slope's interval implies.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

DAY = 86400.0
Z95 = 1.959963984540054  # two-sided 95 % normal quantile
MIN_POINTS = 7  # fewer daily values than a week say nothing about a month's growth

NEVER, ALREADY, DATE = "never", "already", "date"


@dataclass(frozen=True)
class Fit:
    """y = intercept + slope * x (x in days since `origin`, unix seconds), with the slope's 95 %
    interval [slope_low, slope_high] and the intercept each bound's line takes."""

    origin: float
    slope: float
    intercept: float
    slope_low: float
    intercept_low: float
    slope_high: float
    intercept_high: float
    points: int

    def at(self, t: float) -> float:
        return self.intercept + self.slope * (t - self.origin) / DAY

    def band_at(self, t: float) -> tuple[float, float]:
        """The lower and upper edge of the band at time t (the two bound lines, whichever is lower)."""
        x = (t - self.origin) / DAY
        a = self.intercept_low + self.slope_low * x
        b = self.intercept_high + self.slope_high * x
        return (min(a, b), max(a, b))

    def per_day(self) -> float:
        return self.slope


@dataclass(frozen=True)
class Crossing:
    """When the trend reaches `level`: NEVER (flat or falling), ALREADY (the latest value is at or
    above it), or DATE with `when` and the band `earliest`..`latest` (latest None: the slope's
    interval includes no growth, so it may never get there)."""

    level: float
    outcome: str
    when: float | None = None
    earliest: float | None = None
    latest: float | None = None


def pairwise_slopes(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Every slope (y_j - y_i) / (x_j - x_i) for i < j with x_i != x_j, sorted. O(n^2) memory:
    400 daily points are 79,800 slopes."""
    i, j = np.triu_indices(x.size, k=1)
    dx = x[j] - x[i]
    keep = dx != 0
    slopes = (y[j][keep] - y[i][keep]) / dx[keep]
    slopes.sort()
    return slopes


def theil_sen(times: np.ndarray | list[float], values: np.ndarray | list[float]) -> Fit:
    """The Theil–Sen line through (unix seconds, value) points and Sen's 95 % slope interval."""
    t = np.asarray(times, dtype=np.float64)
    y = np.asarray(values, dtype=np.float64)
    if t.size != y.size or t.size < 2:
        raise ValueError("a trend needs at least two points")
    origin = float(t[0])
    x = (t - origin) / DAY
    slopes = pairwise_slopes(x, y)
    if slopes.size == 0:
        raise ValueError("a trend needs points at two different times")
    slope = float(np.median(slopes))
    # Sen (1968): C = z * sqrt(Var(S)), Var(S) = n(n-1)(2n+5)/18 (Kendall's S, no tie correction);
    # the interval runs from the M1-th to the (M2+1)-th ordered slope.
    n, count = x.size, slopes.size
    spread = Z95 * math.sqrt(n * (n - 1) * (2 * n + 5) / 18.0)
    lower_rank = int(math.floor((count - spread) / 2.0))
    upper_rank = int(math.ceil((count + spread) / 2.0))
    slope_low = float(slopes[max(0, min(count - 1, lower_rank - 1))])
    slope_high = float(slopes[max(0, min(count - 1, upper_rank))])

    def intercept(s: float) -> float:
        return float(np.median(y - s * x))

    return Fit(origin, slope, intercept(slope), slope_low, intercept(slope_low), slope_high,
               intercept(slope_high), int(n))


def least_squares(times: np.ndarray | list[float], values: np.ndarray | list[float]) -> tuple[float, float]:
    """(slope per day, intercept at the first point): numpy.polyfit, the predict_linear way (anchor)."""
    t = np.asarray(times, dtype=np.float64)
    slope, intercept = np.polyfit((t - t[0]) / DAY, np.asarray(values, dtype=np.float64), 1)
    return float(slope), float(intercept)


def line_reaches(intercept: float, slope: float, origin: float, level: float) -> float | None:
    """Unix time at which intercept + slope * days reaches `level`; None when it never rises to it."""
    if slope <= 0:
        return None
    return origin + (level - intercept) / slope * DAY


def crossing(fit: Fit, level: float, latest_value: float, now: float) -> Crossing:
    """When the trend reaches `level`, judged at `now` with the latest observed value."""
    if latest_value >= level:
        return Crossing(level, ALREADY)
    when = line_reaches(fit.intercept, fit.slope, fit.origin, level)
    if when is None:
        return Crossing(level, NEVER)
    when = max(when, now)  # the line may lag a value just below the level: then it is about now
    fast = line_reaches(fit.intercept_high, fit.slope_high, fit.origin, level)
    slow = line_reaches(fit.intercept_low, fit.slope_low, fit.origin, level)
    earliest = max(now, min(fast, when)) if fast is not None else when
    latest = max(slow, when) if slow is not None else None
    return Crossing(level, DATE, when, earliest, latest)


def daily_maxima(points: list[tuple[float, float, float, float, float]]) -> tuple[np.ndarray, np.ndarray]:
    """(day start, max) from a store query at a one-day step: (start, min, avg, max, last) points."""
    if not points:
        return np.zeros(0), np.zeros(0)
    array = np.asarray(points, dtype=np.float64)
    keep = np.isfinite(array[:, 3])
    return array[keep, 0], array[keep, 3]
