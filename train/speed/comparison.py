"""The zoo beside EfficientNet and the paper's speed claim ([DDS] §5.3, Table 4;
docs/SPEED.md): `zoo_rows` measures every runtime of each model, one row per model with its
counts and published numbers; `ratio_rows` times RegNetX/Y-8.0GF and EfficientNet-B5
interleaved in one run and gives each EfficientNet / RegNet ratio with a bootstrap interval."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ..device import resolve_device, torch_threads
from .eager import infer_call, random_input, train_step, training_copy
from .models import build, model_complexity
from .onnx_runtime import onnx_export, ort_feed, ort_session
from .published import RATIO_PAIRS, published, published_speedup
from .suite import SpeedSettings, measure, timing_columns
from .timing import WallClock, clock_for, paired_ratio, time_interleaved


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
    for batch in dict.fromkeys((1, s.batch)):
        fns = {}
        for n, (m, r) in built.items():
            m.to(dev).eval()
            x = random_input(batch, r, 3, dev)
            fns[n] = (lambda m=m, x=x: infer_call(m, x))
        runs.append(("infer", batch, fns))
    if s.train_batch:
        fns = {}
        for n, (m, r) in built.items():
            net, x, y, opt = training_copy(m, s.train_batch, r, 3, 1000, dev)
            fns[n] = (lambda net=net, x=x, y=y, opt=opt: train_step(net, x, y, opt))
        runs.append(("train", s.train_batch, fns))
    if s.onnx and dev.type == "cpu":
        fns = {}
        for n, (m, r) in built.items():
            sess = ort_session(onnx_export(m, r, 3, n), s.threads)
            feed = ort_feed(sess, 1, r, 3)
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
