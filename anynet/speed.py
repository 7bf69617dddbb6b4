"""Measured runtime of a network on the present device ([DDS] §5.3, Table 4, Fig. 12).

Timing: `time_calls` runs warm-up calls, synchronizes, then times each repetition with a clock:
`WallClock` (``time.perf_counter_ns``) on the CPU, `CudaEventClock` (CUDA events recorded around
the call, read after ``Event.synchronize``) on a GPU. A `Timing` keeps every repetition (ms per
call) and reports the median and the interquartile range. CPU threads are set for the
measurement only (`torch_threads`) and restored after it.

Runtimes: eager PyTorch inference (`infer_timing`, ``torch.inference_mode``), one SGD training
step on a copy of the model (`train_timing`: forward, cross-entropy, backward, update), and
inference through ONNX Runtime on the CPU (`onnx_export` with the TorchScript exporter, then
``onnxruntime.InferenceSession``; `ort_timing`). Comparisons that the docs quote as ratios are
measured interleaved in one run (`time_interleaved`, `paired_ratio`).

Models: the 24 zoo RegNets and EfficientNet-B0…B5 from the ``efficientnet-pytorch`` package,
built without weights at their published resolutions. `hooked_complexity` counts flops, params
and acts of any module with forward hooks on its Conv2d and Linear layers under pycls's rules
(docs/PAPER.md §4.5: multiply-adds, conv/linear bias adds, acts = output sizes; BN, activations,
pooling and padding count nothing), so EfficientNet is counted like the zoo.

``dse-speed`` (`main`) prints and saves the zoo beside EfficientNet and the paper's speed ratio
RegNetX/Y-8.0GF against EfficientNet-B5 (docs/SPEED.md).
"""

from __future__ import annotations

import argparse
import copy
import csv
import io
import math
import os
import platform
import sys
import time
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import torch
from torch import nn

from . import zoo
from .complexity import complexity
from .model import build_model
from .record import write_text_atomic
from .system import check_cpu_count, check_output_file, quiet_broken_pipe

# EfficientNet-B0…B5 at their published resolutions (efficientnet-pytorch `get_image_size`).
EFFICIENTNETS = {f"EfficientNet-B{k}": r for k, r in enumerate((224, 240, 260, 300, 380, 456))}

# Published ImageNet top-1 error (%) and V100 inference time for 64 images (ms), [DDS] Figs.
# 15-16 and Table 4 as docs/PAPER.md §6-7 give them (EfficientNet rows: the paper's 100-epoch
# retraining; None where docs/PAPER.md gives no number). Published, never measured here.
_ZOO_PUBLISHED = {
    "RegNetX-200MF": (31.1, 10), "RegNetX-400MF": (27.3, 15), "RegNetX-600MF": (25.9, 17),
    "RegNetX-800MF": (24.8, 21), "RegNetX-1.6GF": (23.0, 33), "RegNetX-3.2GF": (21.7, 57),
    "RegNetX-4.0GF": (21.4, 69), "RegNetX-6.4GF": (20.8, 92), "RegNetX-8.0GF": (20.7, 94),
    "RegNetX-12GF": (20.3, 137), "RegNetX-16GF": (20.0, 168), "RegNetX-32GF": (19.5, 318),
    "RegNetY-200MF": (29.6, 11), "RegNetY-400MF": (25.9, 19), "RegNetY-600MF": (24.5, 19),
    "RegNetY-800MF": (23.7, 22), "RegNetY-1.6GF": (22.0, 39), "RegNetY-3.2GF": (21.0, 67),
    "RegNetY-4.0GF": (20.6, 68), "RegNetY-6.4GF": (20.1, 104), "RegNetY-8.0GF": (20.1, 113),
    "RegNetY-12GF": (19.7, 150), "RegNetY-16GF": (19.6, 189), "RegNetY-32GF": (19.0, 319),
    "EfficientNet-B0": (24.9, None), "EfficientNet-B1": (None, None),
    "EfficientNet-B2": (23.4, None), "EfficientNet-B3": (22.5, None),
    "EfficientNet-B4": (21.2, None), "EfficientNet-B5": (21.5, 504),
}
# Published training time (hours, 8 V100s, 100 epochs; Table 4 via docs/PAPER.md §7).
_TRAIN_HOURS = {"RegNetX-8.0GF": 22.6, "RegNetY-8.0GF": 28.1, "EfficientNet-B5": 135.1}
RATIO_PAIRS = (("RegNetX-8.0GF", "EfficientNet-B5"), ("RegNetY-8.0GF", "EfficientNet-B5"))


def published(name: str) -> tuple[float | None, float | None]:
    """(top-1 error %, V100 ms for 64 images) published for `name` (None where not given)."""
    return _ZOO_PUBLISHED.get(name, (None, None))


def published_speedup(runtime: str, regnet: str, effnet: str) -> float | None:
    """The paper's EfficientNet / RegNet time ratio: training hours for `train`, V100
    inference time otherwise; None where docs/PAPER.md gives no number."""
    if runtime == "train":
        a, b = _TRAIN_HOURS.get(effnet), _TRAIN_HOURS.get(regnet)
    else:
        a, b = published(effnet)[1], published(regnet)[1]
    return a / b if a and b else None


# -- devices and clocks -------------------------------------------------------------------------
def resolve_device(name: Any) -> torch.device:
    """`cpu`, `cuda`, `cuda:N` or `auto` (CUDA when present); one-line ValueError otherwise."""
    if not isinstance(name, str):
        raise ValueError(f"device: {name!r} is not allowed; use cpu, cuda, cuda:N or auto")
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    kind, _, index = name.partition(":")
    if kind not in ("cpu", "cuda") or (index and (kind == "cpu" or not index.isdigit())):
        raise ValueError(f"device: {name!r} is not allowed; use cpu, cuda, cuda:N or auto")
    if kind == "cuda":
        if not torch.cuda.is_available():
            raise ValueError(f"device: {name!r} is not available on this machine "
                             "(torch.cuda.is_available() is False); use cpu")
        if index and int(index) >= torch.cuda.device_count():
            raise ValueError(f"device: {name!r} is not available; this machine has "
                             f"{torch.cuda.device_count()} CUDA device(s)")
    return torch.device(name)


def check_threads(threads: Any, field: str = "threads") -> int | None:
    """None (torch's current setting) or 1 to the CPUs this process may use
    (`anynet.system.available_cpus`); one-line ValueError naming `field` otherwise."""
    return None if threads is None else check_cpu_count(threads, field)


@contextmanager
def torch_threads(threads: int | None) -> Iterator[int]:
    """torch's intra-op CPU threads set to `threads` inside the block (None: unchanged)."""
    old = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(check_threads(threads))
    try:
        yield torch.get_num_threads()
    finally:
        torch.set_num_threads(old)


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


def _check_counts(warmup: Any, reps: Any) -> None:
    if isinstance(warmup, bool) or not isinstance(warmup, int) or warmup < 0:
        raise ValueError(f"warmup: {warmup!r} is not allowed; use an integer >= 0")
    if isinstance(reps, bool) or not isinstance(reps, int) or reps < 1:
        raise ValueError(f"reps: {reps!r} is not allowed; use an integer >= 1")


def time_calls(fn: Callable[[], Any], warmup: int, reps: int, clock: Clock,
               sync: Callable[[], None] = lambda: None) -> tuple[float, ...]:
    """`warmup` untimed calls, `sync()`, then `reps` calls each timed by `clock` (ms)."""
    _check_counts(warmup, reps)
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
    _check_counts(warmup, reps)
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


# -- runtimes -----------------------------------------------------------------------------------
def _input(batch: int, resolution: int, in_channels: int, device: torch.device) -> torch.Tensor:
    g = torch.Generator().manual_seed(0)
    return torch.randn(batch, in_channels, resolution, resolution, generator=g).to(device)


def _check_batch(batch: Any, low: int = 1) -> int:
    if isinstance(batch, bool) or not isinstance(batch, int) or batch < low:
        raise ValueError(f"batch: {batch!r} is not allowed; use an integer >= {low}")
    return batch


def infer_timing(model: nn.Module, resolution: int, batch: int = 1, device: str = "cpu",
                 threads: int | None = None, warmup: int = 3, reps: int = 10,
                 in_channels: int = 3) -> Timing:
    """Eager inference (eval mode, ``torch.inference_mode``) of `batch` images."""
    _check_batch(batch)
    dev = resolve_device(device)
    model = model.to(dev).eval()
    x = _input(batch, resolution, in_channels, dev)
    clock, sync = clock_for(dev)

    def call() -> None:
        with torch.inference_mode():
            model(x)

    with torch_threads(threads) as n:
        times = time_calls(call, warmup, reps, clock, sync)
    return Timing("infer", batch, str(dev), n if dev.type == "cpu" else None, times)


def train_step(model: nn.Module, x: torch.Tensor, y: torch.Tensor,
               opt: torch.optim.Optimizer) -> None:
    """One SGD step: forward, cross-entropy, backward, update."""
    opt.zero_grad(set_to_none=True)
    nn.functional.cross_entropy(model(x), y).backward()
    opt.step()


def train_timing(model: nn.Module, resolution: int, batch: int = 8, device: str = "cpu",
                 threads: int | None = None, warmup: int = 2, reps: int = 5,
                 in_channels: int = 3, num_classes: int = 1000) -> Timing:
    """One training step (`train_step`, SGD momentum 0.9) on a copy of `model`."""
    _check_batch(batch, low=2)  # BatchNorm needs more than one value per channel
    dev = resolve_device(device)
    net = copy.deepcopy(model).to(dev).train()
    opt = torch.optim.SGD(net.parameters(), lr=1e-3, momentum=0.9)
    x = _input(batch, resolution, in_channels, dev)
    y = torch.arange(batch, device=dev) % num_classes
    clock, sync = clock_for(dev)
    with torch_threads(threads) as n:
        times = time_calls(lambda: train_step(net, x, y, opt), warmup, reps, clock, sync)
    return Timing("train", batch, str(dev), n if dev.type == "cpu" else None, times)


@contextmanager
def _stdout_silenced() -> Iterator[None]:
    """File descriptor 1 to /dev/null inside the block (catches C++ prints too)."""
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 1)
            try:
                yield
            finally:
                sys.stdout.flush()
                os.dup2(saved, 1)
    finally:
        os.close(saved)


def onnx_export(model: nn.Module, resolution: int, in_channels: int = 3,
                name: str = "model") -> bytes:
    """The ONNX graph of `model` in eval mode (TorchScript exporter, ``dynamo=False``; a
    dynamic batch axis), as bytes; one-line ValueError when the model does not export."""
    x = torch.zeros(1, in_channels, resolution, resolution)
    buf = io.BytesIO()
    model = model.cpu().eval()
    try:
        # the exporter warns, and prints its graph to stdout on failure: keep both quiet
        with warnings.catch_warnings(), _stdout_silenced():
            warnings.simplefilter("ignore")
            torch.onnx.export(model, (x,), buf, dynamo=False, input_names=["input"],
                              output_names=["output"],
                              dynamic_axes={"input": {0: "batch"}, "output": {0: "batch"}})
    except Exception as exc:  # the exporters raise many types; report one line
        msg = " ".join(str(exc).split())[:300]
        raise ValueError(f"model {name!r}: ONNX export failed ({type(exc).__name__}: {msg})"
                         ) from None
    return buf.getvalue()


def ort_session(onnx_model: bytes, threads: int | None = None) -> Any:
    """An ONNX Runtime CPU session with `threads` intra-op threads (None: its default)."""
    try:
        import onnxruntime as ort
    except ImportError:
        raise ValueError("onnxruntime: not installed; pip install 'anynet-dse[speed]'"
                         ) from None
    opts = ort.SessionOptions()
    if check_threads(threads) is not None:
        opts.intra_op_num_threads = threads
        opts.inter_op_num_threads = 1
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return ort.InferenceSession(onnx_model, opts, providers=["CPUExecutionProvider"])


def ort_timing(onnx_model: bytes, resolution: int, batch: int = 1, threads: int | None = None,
               warmup: int = 3, reps: int = 10, in_channels: int = 3) -> Timing:
    """Inference of `batch` images through ONNX Runtime on the CPU."""
    _check_batch(batch)
    sess = ort_session(onnx_model, threads)
    feed = {sess.get_inputs()[0].name: _input(batch, resolution, in_channels,
                                              torch.device("cpu")).numpy()}
    times = time_calls(lambda: sess.run(None, feed), warmup, reps, WallClock())
    return Timing("ort", batch, "cpu", threads, times)


# -- models -------------------------------------------------------------------------------------
def model_names() -> list[str]:
    """The 24 zoo RegNets, then EfficientNet-B0…B5."""
    return zoo.names() + list(EFFICIENTNETS)


def efficientnet(name: str) -> nn.Module:
    """EfficientNet-B0…B5 from efficientnet-pytorch, without weights (``from_name``), plain
    swish (exportable), eval mode."""
    if name not in EFFICIENTNETS:
        raise ValueError(f"model: {name!r} is not allowed; EfficientNets are "
                         f"{', '.join(EFFICIENTNETS)}")
    try:
        from efficientnet_pytorch import EfficientNet
    except ImportError:
        raise ValueError("efficientnet-pytorch: not installed; pip install 'anynet-dse[speed]'"
                         ) from None
    net = EfficientNet.from_name(f"efficientnet-b{name[-1]}")
    net.set_swish(memory_efficient=False)
    return net.eval()


def build(name: str, seed: int = 0) -> tuple[nn.Module, int]:
    """(module, resolution) of a zoo RegNet (224 px) or an EfficientNet (its resolution),
    initialised from `seed` without touching torch's global RNG."""
    if name not in model_names():
        raise ValueError(f"model: {name!r} is not allowed; use one of {', '.join(model_names())}")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        if name in EFFICIENTNETS:
            return efficientnet(name), EFFICIENTNETS[name]
        return build_model(zoo.get(name)).eval(), 224


def hooked_complexity(model: nn.Module, resolution: int, in_channels: int = 3
                      ) -> dict[str, int]:
    """{"flops", "params", "acts"} of `model` on one square image, pycls conventions: every
    Conv2d adds k_h·k_w·(C_in/G)·C_out·h·w multiply-adds (+ C_out·h·w with a bias) and
    C_out·h·w acts; every Linear adds in·out (+ out) flops and out acts; params are all
    parameters. Counted from the output shapes seen by forward hooks."""
    counts = {"flops": 0, "acts": 0}

    def conv(m: nn.Conv2d, inputs: Any, out: torch.Tensor) -> None:
        hw = out.shape[2] * out.shape[3]
        k = m.kernel_size[0] * m.kernel_size[1] * (m.in_channels // m.groups)
        counts["flops"] += k * m.out_channels * hw + (m.out_channels * hw if m.bias is not None
                                                      else 0)
        counts["acts"] += m.out_channels * hw

    def linear(m: nn.Linear, inputs: Any, out: torch.Tensor) -> None:
        rows = out.numel() // out.shape[0] // m.out_features
        counts["flops"] += rows * (m.in_features * m.out_features
                                   + (m.out_features if m.bias is not None else 0))
        counts["acts"] += rows * m.out_features

    handles = [m.register_forward_hook(conv) for m in model.modules()
               if isinstance(m, nn.Conv2d)]
    handles += [m.register_forward_hook(linear) for m in model.modules()
                if isinstance(m, nn.Linear)]
    was_training = model.training
    try:
        model.eval()
        with torch.no_grad():
            model(torch.zeros(1, in_channels, resolution, resolution,
                              device=next(model.parameters()).device))
    finally:
        for h in handles:
            h.remove()
        model.train(was_training)
    params = sum(p.numel() for p in model.parameters())
    return {"flops": counts["flops"], "params": params, "acts": counts["acts"]}


def model_complexity(name: str, model: nn.Module, resolution: int) -> dict[str, int]:
    """Analytic counts for a zoo model (`anynet.complexity`), hooked counts otherwise."""
    if name in zoo.names():
        return complexity(zoo.get(name), resolution)
    return hooked_complexity(model, resolution)


# -- measuring a set of models --------------------------------------------------------------------
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
        _check_counts(self.warmup, self.reps)
        _check_batch(self.batch)
        if self.train_batch != 0:
            _check_batch(self.train_batch, low=2)


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


def device_description(device: str, threads: int | None) -> str:
    dev = resolve_device(device)
    if dev.type == "cuda":
        return f"cuda: {torch.cuda.get_device_name(dev)}"
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    n = threads if threads is not None else torch.get_num_threads()
    return f"cpu: {cpu}, {n} threads of {os.cpu_count()} cores"


def zoo_rows(names: Sequence[str], settings: SpeedSettings,
             log: Callable[[str], None] = lambda s: None) -> list[dict[str, Any]]:
    """One row per model: counts, published numbers and every measured runtime."""
    rows = []
    for name in names:
        model, res = build(name)
        cx = model_complexity(name, model, res)
        t0 = time.perf_counter()
        timings = measure(model, res, settings, name)
        err, ms = published(name)
        rows.append({"model": name, "device": settings.device, "threads": settings.threads,
                     "resolution": res, **cx, **timing_columns(timings),
                     "published_top1_err": err, "published_v100_ms_64img": ms})
        log(f"  {name:<16} {res:>3}px  {cx['flops'] / 1e9:6.2f} GF  "
            f"infer b1 {rows[-1]['infer_b1_ms']:8.1f} ms  ({time.perf_counter() - t0:.0f} s)")
        del model
    return rows


def ratio_rows(settings: SpeedSettings, reps: int, pairs: Sequence[tuple[str, str]] = RATIO_PAIRS,
               log: Callable[[str], None] = lambda s: None) -> list[dict[str, Any]]:
    """The paper's speed claim measured interleaved in one run: for each runtime, the slow
    model's time over the fast one's with a 95% bootstrap interval ([DDS] §5.3, Table 4)."""
    s = settings
    names = list(dict.fromkeys(n for pair in pairs for n in pair))
    built = {n: build(n) for n in names}
    dev = resolve_device(s.device)
    clock, sync = clock_for(dev)
    runs: list[tuple[str, int, dict[str, Callable[[], Any]]]] = []
    inputs = {}
    for batch in dict.fromkeys((1, s.batch)):
        fns = {}
        for n, (m, r) in built.items():
            m.to(dev).eval()
            inputs[n, batch] = _input(batch, r, 3, dev)
            fns[n] = (lambda m=m, x=inputs[n, batch]: _infer(m, x))
        runs.append(("infer", batch, fns))
    if s.train_batch:
        fns = {}
        for n, (m, r) in built.items():
            net = copy.deepcopy(m).to(dev).train()
            opt = torch.optim.SGD(net.parameters(), lr=1e-3, momentum=0.9)
            x = _input(s.train_batch, r, 3, dev)
            y = torch.arange(s.train_batch, device=dev) % 1000
            fns[n] = (lambda net=net, x=x, y=y, opt=opt: train_step(net, x, y, opt))
        runs.append(("train", s.train_batch, fns))
    if s.onnx and dev.type == "cpu":
        fns = {}
        for n, (m, r) in built.items():
            sess = ort_session(onnx_export(m, r, 3, n), s.threads)
            feed = {sess.get_inputs()[0].name: _input(1, r, 3, dev).numpy()}
            fns[n] = (lambda sess=sess, feed=feed: sess.run(None, feed))
        runs.append(("ort", 1, fns))
    rows = []
    for runtime, batch, fns in runs:
        with torch_threads(s.threads):
            times = time_interleaved(fns, s.warmup, reps, clock if runtime != "ort"
                                     else WallClock(), sync)
        for regnet, effnet in pairs:
            ratio, lo, hi = paired_ratio(times[effnet], times[regnet])
            rows.append({
                "runtime": runtime, "batch": batch, "device": s.device, "threads": s.threads,
                "regnet": regnet, "efficientnet": effnet, "reps": reps,
                "regnet_ms": float(np.median(times[regnet])),
                "efficientnet_ms": float(np.median(times[effnet])),
                "speedup": ratio, "speedup_low": lo, "speedup_high": hi,
                "published_speedup": published_speedup(runtime, regnet, effnet),
                "regnet_published_top1_err": published(regnet)[0],
                "efficientnet_published_top1_err": published(effnet)[0]})
            log(f"  {runtime} b{batch}: {effnet} / {regnet} = {ratio:.2f} "
                f"[{lo:.2f}, {hi:.2f}] (published: "
                f"{rows[-1]['published_speedup'] or float('nan'):.2f})")
    return rows


def _infer(model: nn.Module, x: torch.Tensor) -> None:
    with torch.inference_mode():
        model(x)


def write_csv(rows: Sequence[Mapping[str, Any]], path: str | os.PathLike) -> Path:
    """Rows (union of keys, first-seen order) as CSV, written atomically
    (`anynet.record.write_text_atomic`: a failed write, e.g. a full disk, leaves no partial
    file and any previous file as it was; OSError ``cannot write PATH: reason``)."""
    path = Path(path)
    keys = list(dict.fromkeys(k for r in rows for k in r))
    buf = io.StringIO(newline="")
    w = csv.DictWriter(buf, fieldnames=keys)
    w.writeheader()
    for r in rows:
        w.writerow({k: _fmt(r.get(k)) for k in keys})
    write_text_atomic(path, buf.getvalue())
    return path


def _fmt(v: Any) -> Any:
    if v is None:
        return ""
    if isinstance(v, float):
        return f"{v:.6g}" if math.isfinite(v) else ""
    return v


def table(rows: Sequence[Mapping[str, Any]]) -> str:
    """Fixed-width text table of `zoo_rows`."""
    keys = [k[:-3] for k in rows[0] if k.endswith("_ms") and k != "published_v100_ms_64img"]
    head = f"{'model':<16}{'res':>4}{'GF':>7}{'Mpar':>7}{'Macts':>7}" + "".join(
        f"{k + ' ms':>13}" for k in keys) + f"{'top1 (pub.)':>12}"
    lines = [head, "-" * len(head)]
    for r in rows:
        err = r.get("published_top1_err")
        lines.append(f"{r['model']:<16}{r['resolution']:>4}{r['flops'] / 1e9:>7.2f}"
                     f"{r['params'] / 1e6:>7.1f}{r['acts'] / 1e6:>7.1f}" + "".join(
                         f"{r[k + '_ms']:>13.1f}" for k in keys)
                     + (f"{err:>12.1f}" if err is not None else f"{'-':>12}"))
    return "\n".join(lines)


class _Parser(argparse.ArgumentParser):
    """argparse that raises ValueError (one line at the CLI) instead of printing usage."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise ValueError(message)


def _parser() -> argparse.ArgumentParser:
    p = _Parser(
        prog="dse-speed", description="Runtime of the RegNet zoo beside EfficientNet-B0…B5 on "
        "this machine, and the paper's RegNet-8.0GF vs EfficientNet-B5 ratio (docs/SPEED.md).")
    p.add_argument("--models", default="all",
                   help="comma-separated model names, 'all' (24 RegNets + 6 EfficientNets) or "
                   "'none' (only the speed ratio)")
    p.add_argument("--devices", default="auto",
                   help="comma-separated: cpu, cuda, cuda:N; 'auto' = cpu and cuda if present")
    p.add_argument("--threads", type=int, default=None,
                   help="CPU threads, 1 to the CPUs this process may use (default: torch's)")
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--reps", type=int, default=7)
    p.add_argument("--batch", type=int, default=8, help="throughput batch")
    p.add_argument("--train-batch", type=int, default=8, help="training step batch (0: skip)")
    p.add_argument("--no-onnx", action="store_true", help="skip ONNX Runtime")
    p.add_argument("--ratio-reps", type=int, default=9,
                   help="interleaved repetitions for the speed ratio (0: skip)")
    p.add_argument("--out", default="results/speed_zoo.csv")
    p.add_argument("--ratio-out", default="results/speed_ratio.csv")
    return p


def _devices(spec: str) -> list[str]:
    if spec == "auto":
        return ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    devs = [d.strip() for d in spec.split(",") if d.strip()]
    for d in devs:
        resolve_device(d)
    if not devs:
        raise ValueError(f"devices: {spec!r} is empty; use cpu, cuda, cuda:N or auto")
    return devs


def _check_outputs(args: argparse.Namespace, zoo_table: bool) -> None:
    """Every file the run will write, checked writable before anything is measured."""
    outs = ([("--out", args.out)] if zoo_table else []) + (
        [("--ratio-out", args.ratio_out)] if args.ratio_reps else [])
    if len(outs) == 2 and Path(args.out).resolve() == Path(args.ratio_out).resolve():
        raise ValueError(f"--ratio-out: {args.ratio_out} is also --out; give two files")
    for option, path in outs:
        check_output_file(path, option)


def run(argv: Sequence[str] | None = None) -> int:
    """``dse-speed`` with `argv`: every input and output checked before any measurement."""
    args = _parser().parse_args(argv)
    names = model_names() if args.models == "all" else [] if args.models == "none" else [
        n.strip() for n in args.models.split(",") if n.strip()]
    if not names and args.models != "none":
        raise ValueError(f"models: {args.models!r} names no model; use 'all', 'none' or "
                         "comma-separated names")
    for n in names:
        if n not in model_names():
            raise ValueError(f"models: {n!r} is not allowed; use 'all', 'none' or names from "
                             f"{', '.join(model_names())}")
    if args.ratio_reps < 0 or args.ratio_reps == 1:
        raise ValueError(f"ratio-reps: {args.ratio_reps} is not allowed; use 0 (skip) or >= 2")
    if not names and not args.ratio_reps:
        raise ValueError("models: 'none' with ratio-reps 0 measures nothing; give models or "
                         "ratio-reps >= 2")
    check_threads(args.threads, "--threads")
    devices = _devices(args.devices)
    settings = [SpeedSettings(device=d, threads=args.threads, warmup=args.warmup,
                              reps=args.reps, batch=args.batch, train_batch=args.train_batch,
                              onnx=not args.no_onnx) for d in devices]
    _check_outputs(args, bool(names))  # last: after every check of the input
    rows, ratios = [], []
    for s in settings:
        print(f"{device_description(s.device, s.threads)}; torch {torch.__version__}; "
              f"warm-up {s.warmup}; table: {s.reps} reps, medians in ms per call", flush=True)
        rows += zoo_rows(names, s, log=lambda m: print(m, flush=True))
        if args.ratio_reps:
            print(f"speed ratio, {args.ratio_reps} interleaved reps:", flush=True)
            ratios += ratio_rows(s, args.ratio_reps, log=lambda m: print(m, flush=True))
    if rows:
        print(table(rows))
        print(f"wrote {write_csv(rows, args.out)}")
    if ratios:
        print(f"wrote {write_csv(ratios, args.ratio_out)}")
    return 0


@quiet_broken_pipe
def main(argv: Sequence[str] | None = None) -> None:
    """``dse-speed``: one line on stderr, exit status 2 for bad input and 1 for an output that
    cannot be written (found before measuring) or a write that fails (a full disk)."""
    try:
        code = run(argv)
    except ValueError as exc:
        print(f"dse-speed: error: {exc}", file=sys.stderr)
        code = 2
    except BrokenPipeError:
        raise
    except OSError as exc:  # check_output_file, write_text_atomic: "... cannot write PATH ..."
        print(f"dse-speed: error: {exc.strerror or exc}", file=sys.stderr)
        code = 1
    sys.exit(code)


if __name__ == "__main__":
    main()
