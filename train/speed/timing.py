"""Timing loops, clocks and the paired ratio ([DDS] §5.3; docs/SPEED.md "What is measured").

`time_calls` runs warm-up calls, synchronizes, then times each repetition with a clock:
`WallClock` (``time.perf_counter_ns``) on the CPU, `CudaEventClock` (CUDA events recorded around
the call, read after ``Event.synchronize``) on a GPU. A `Timing` keeps every repetition (ms per
call) and reports the median and the interquartile range. Comparisons that the docs quote as
ratios are measured interleaved in one run (`time_interleaved`, `paired_ratio`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import torch


class Clock(Protocol):
    def start(self) -> None: ...

    def stop(self) -> float:
        """Milliseconds since `start`, once the timed work has finished."""


class WallClock:
    """Host wall clock, for work that is finished when the call returns (CPU, ONNX Runtime)."""

    def __init__(self) -> None:
        self._t0 = 0

    def start(self) -> None:
        self._t0 = time.perf_counter_ns()

    def stop(self) -> float:
        return (time.perf_counter_ns() - self._t0) / 1e6


class CudaEventClock:
    """CUDA events recorded on the current stream around the call; `stop` waits for the end
    event, so asynchronous kernels are inside the interval."""

    def __init__(self, device: torch.device) -> None:
        self.device = device
        self._start: Any = None
        self._end: Any = None

    def start(self) -> None:
        with torch.cuda.device(self.device):
            self._start = torch.cuda.Event(enable_timing=True)
            self._end = torch.cuda.Event(enable_timing=True)
            self._start.record()

    def stop(self) -> float:
        with torch.cuda.device(self.device):
            self._end.record()
            self._end.synchronize()
        return float(self._start.elapsed_time(self._end))


def clock_for(device: torch.device) -> tuple[Clock, Callable[[], None]]:
    """The clock and the synchronization (run after warm-up) for `device`."""
    if device.type == "cuda":
        return CudaEventClock(device), lambda: torch.cuda.synchronize(device)
    return WallClock(), lambda: None


def check_counts(warmup: Any, reps: Any) -> None:
    """Warm-up calls >= 0 and timed repetitions >= 1; one-line ValueError otherwise."""
    if isinstance(warmup, bool) or not isinstance(warmup, int) or warmup < 0:
        raise ValueError(f"warmup: {warmup!r} is not allowed; use an integer >= 0")
    if isinstance(reps, bool) or not isinstance(reps, int) or reps < 1:
        raise ValueError(f"reps: {reps!r} is not allowed; use an integer >= 1")


def time_calls(fn: Callable[[], Any], warmup: int, reps: int, clock: Clock,
               sync: Callable[[], None] = lambda: None) -> tuple[float, ...]:
    """`warmup` untimed calls, `sync()`, then `reps` calls each timed by `clock` (ms)."""
    check_counts(warmup, reps)
    for _ in range(warmup):
        fn()
    sync()
    times = []
    for _ in range(reps):
        clock.start()
        fn()
        times.append(clock.stop())
    return tuple(times)


def time_interleaved(fns: Mapping[str, Callable[[], Any]], warmup: int, reps: int,
                     clock: Clock, sync: Callable[[], None] = lambda: None
                     ) -> dict[str, tuple[float, ...]]:
    """Time several calls round-robin (the starting call rotates each round), so a ratio of
    two is measured under the same machine load; repetition r of each call is paired."""
    check_counts(warmup, reps)
    names = list(fns)
    for _ in range(warmup):
        for name in names:
            fns[name]()
    sync()
    times: dict[str, list[float]] = {n: [] for n in names}
    for r in range(reps):
        k = r % len(names)
        for name in names[k:] + names[:k]:
            clock.start()
            fns[name]()
            times[name].append(clock.stop())
    return {n: tuple(t) for n, t in times.items()}


@dataclass(frozen=True)
class Timing:
    """Repeated timings (ms per call of `batch` images) of one way of running a model."""

    runtime: str  # infer | train | ort
    batch: int
    device: str
    threads: int | None
    times_ms: tuple[float, ...]

    @property
    def median(self) -> float:
        return float(np.median(self.times_ms))

    @property
    def quartiles(self) -> tuple[float, float]:
        q1, q3 = np.percentile(self.times_ms, [25, 75])
        return float(q1), float(q3)

    @property
    def key(self) -> str:
        return f"{self.runtime}_b{self.batch}"


def paired_ratio(slow: Sequence[float], fast: Sequence[float], confidence: float = 0.95,
                 n_resamples: int = 5000, seed: int = 0) -> tuple[float, float, float]:
    """Median of the per-repetition ratios slow_r / fast_r (interleaved, so paired) and its
    percentile-bootstrap interval (scipy.stats.bootstrap): (ratio, low, high)."""
    from scipy import stats

    a, b = np.asarray(slow, dtype=float), np.asarray(fast, dtype=float)
    if a.shape != b.shape or a.ndim != 1 or len(a) < 2:
        raise ValueError(f"timings: {len(a)} and {len(b)} repetitions; a paired ratio needs "
                         "the same number (>= 2) of interleaved repetitions")
    r = a / b
    if np.all(r == r[0]):
        return float(r[0]), float(r[0]), float(r[0])
    res = stats.bootstrap((r,), np.median, confidence_level=confidence, method="percentile",
                          n_resamples=n_resamples, rng=np.random.default_rng(seed))
    ci = res.confidence_interval
    return float(np.median(r)), float(ci.low), float(ci.high)
