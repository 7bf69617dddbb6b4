"""What one measurement of a model times (docs/SPEED.md "What is measured"): `SpeedSettings`
(device, threads, warm-up, repetitions, batches, ONNX Runtime on or off) and `measure`, the
suite of runtimes for one model, flattened into table columns by `timing_columns`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from torch import nn

from ..device import check_threads, resolve_device
from .eager import check_batch, infer_timing, train_timing
from .onnx_runtime import onnx_export, ort_timing
from .timing import Timing, check_counts


@dataclass(frozen=True)
class SpeedSettings:
    """What `measure` times: batch-1 and batch-`batch` inference, a training step of
    `train_batch` (0: skip) and, on the CPU, ONNX Runtime inference of batch 1."""

    device: str = "cpu"
    threads: int | None = None
    warmup: int = 2
    reps: int = 10
    batch: int = 8
    train_batch: int = 8
    onnx: bool = True

    def __post_init__(self) -> None:
        resolve_device(self.device)
        check_threads(self.threads)
        check_counts(self.warmup, self.reps)
        check_batch(self.batch)
        if self.train_batch != 0:
            check_batch(self.train_batch, low=2)


def measure(model: nn.Module, resolution: int, settings: SpeedSettings, name: str = "model",
            num_classes: int = 1000, in_channels: int = 3) -> list[Timing]:
    """Every runtime of `settings` for one model (ONNX Runtime only when device is cpu)."""
    s = settings
    kw = dict(device=s.device, threads=s.threads, warmup=s.warmup, reps=s.reps,
              in_channels=in_channels)
    out = [infer_timing(model, resolution, 1, **kw)]
    if s.batch > 1:
        out.append(infer_timing(model, resolution, s.batch, **kw))
    if s.train_batch:
        out.append(train_timing(model, resolution, s.train_batch, num_classes=num_classes,
                                **kw))
    if s.onnx and resolve_device(s.device).type == "cpu":
        graph = onnx_export(model, resolution, in_channels, name)
        out.append(ort_timing(graph, resolution, 1, s.threads, s.warmup, s.reps, in_channels))
    return out


def timing_columns(timings: Sequence[Timing]) -> dict[str, float]:
    """Median and quartiles (ms per call) of each timing, keyed `<runtime>_b<batch>_ms` etc."""
    row: dict[str, float] = {}
    for t in timings:
        q1, q3 = t.quartiles
        row.update({f"{t.key}_ms": t.median, f"{t.key}_q1": q1, f"{t.key}_q3": q3})
    return row
