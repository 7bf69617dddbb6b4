"""Synthetic sweeps for tests, notebooks and benchmarks: real record files (the schema and
layout of `anynet.record`), written from AnyNetSpecs and *chosen* errors (no training happens).

`random_anynet_spec` draws AnyNetX-like specs (log-uniform d_i <= 16 and w_i <= 1024, b and g
shared, optionally non-decreasing widths and depths as in AnyNetX_E, [DDS] §3.2); the caller
decides each model's error, so analyses can be checked against a known answer.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from anynet import AnyNetSpec, complexity
from anynet import record as contract

DEFAULT_REGIME = {"name": "proxy", "epochs": 3, "lr": 0.05, "wd": 5e-5, "batch_size": 128,
                  "warmup_epochs": 0}
DEFAULT_DATA = {"name": "synthetic", "resolution": 32, "channels": 3, "num_classes": 10}


def write_record(sweep_dir: str | Path, design_space: str | None, index: int | None,
                 spec: AnyNetSpec, error: float, *, status: str = "ok",
                 model: str | None = None, regime: dict[str, Any] | None = None,
                 data: dict[str, Any] | None = None, n_epochs: int = 3,
                 seed: int = 0, wall_seconds: float = 1.0,
                 population: dict[str, Any] | None = None) -> Path:
    """Write one record through the record contract (`anynet.record`: layout, identity,
    atomic write) and return its path. With `model`, the record is a zoo model's; with
    `population` (`anynet.record.make_population`), it says which population drew it."""
    data = dict(DEFAULT_DATA if data is None else data)
    regime = dict(DEFAULT_REGIME if regime is None else regime)
    cx = complexity(spec, resolution=int(data.get("resolution", 224)))
    # A plausible curve ending at `error`: the trainer's per-epoch fields, decreasing errors.
    curve = [float(error) * (1 + 0.5 * (n_epochs - 1 - e) / n_epochs) for e in range(n_epochs)]
    epochs = [{"epoch": e + 1, "train_loss": 2.0 / (e + 1), "train_error": c + 1.0,
               "test_error": c, "lr": regime.get("lr", 0.05) * (n_epochs - e) / n_epochs,
               "seconds": 0.1} for e, c in enumerate(curve)]
    ok = status == "ok"
    # No location keys: every key of `data` is identity (train.datasets holds a real dataset's).
    identity = contract.make_identity(spec=spec.to_dict(), data=data, location_keys=(),
                                      regime=regime, train_seed=seed, precision="fp32",
                                      threads=1, channels_last=True, device_kind="cpu")
    record = contract.new_record(
        identity, status=status, error=float(error) if ok else None,
        min_error=float(min(curve)) if ok else None, epochs=epochs if ok else [],
        complexity=cx, resolution=int(data.get("resolution", 224)),
        source="model" if model else "design_space",
        design_space=None if model else {"name": design_space, "config": {}},
        model=model, index=index, seeds={"sample": 0, "train": seed}, data=data,
        images_per_second=1000.0, wall_seconds=wall_seconds, device="cpu",
        failure=None if ok or status == "diverged" else "model",
        message=None if ok else f"synthetic {status}",
        versions={"python": "synthetic", "torch": "synthetic", "package": "synthetic"},
        population=population)
    folder = contract.model_dir(sweep_dir, design_space=design_space, index=index, model=model)
    path = contract.run_dir(folder, identity) / contract.RECORD_NAME
    contract.write_record(path, record)
    return path


def random_anynet_spec(rng: np.random.Generator, sorted_stages: bool = True,
                       resolution_classes: tuple[int, int] = (3, 10)) -> AnyNetSpec:
    """An AnyNetX_C-like draw (shared b, g); with `sorted_stages`, AnyNetX_E-like
    (w_{i+1} >= w_i, d_{i+1} >= d_i). d_i in 1..16 and w_i in 8..1024 log-uniform."""
    b = float(rng.choice([1, 2, 4]))
    g = int(rng.choice([1, 2, 4, 8, 16, 32]))
    step = max(8, int(b) * g)
    depths = np.round(np.exp(rng.uniform(0, np.log(16), 4))).astype(int)
    widths = np.round(np.exp(rng.uniform(np.log(8), np.log(1024), 4)) / step).astype(int)
    widths = np.maximum(widths, 1) * step
    if sorted_stages:
        depths, widths = np.sort(depths), np.sort(widths)
    in_ch, classes = resolution_classes
    return AnyNetSpec(depths=[int(d) for d in depths], widths=[int(w) for w in widths],
                      bottleneck_ratios=[b] * 4, group_widths=[g] * 4, stem_width=16,
                      in_channels=in_ch, num_classes=classes)


def write_sweep(sweep_dir: str | Path, design_space: str, specs: Sequence[AnyNetSpec],
                error: Callable[[AnyNetSpec, int], float] | Sequence[float], **kw: Any
                ) -> list[Path]:
    """Write one record per spec; `error` is a list or a function of (spec, index)."""
    paths = []
    for i, spec in enumerate(specs):
        e = error(spec, i) if callable(error) else error[i]
        paths.append(write_record(sweep_dir, design_space, i, spec, float(e), **kw))
    return paths


def synthetic_population(sweep_dir: str | Path, design_space: str, n: int, seed: int = 0,
                         shift: float = 0.0, noise: float = 1.0, sorted_stages: bool = True,
                         **kw: Any) -> list[Path]:
    """A population whose error has a known optimum at total depth 20 and w4 = 512:
    error = 30 + shift + 4|log2(depth/20)| + 3|log2(w4/512)| + noise·N(0, 1)."""
    rng = np.random.default_rng(seed)
    specs = [random_anynet_spec(rng, sorted_stages) for _ in range(n)]
    noise_draws = rng.normal(0.0, noise, n)

    def err(spec: AnyNetSpec, i: int) -> float:
        return float(30 + shift + 4 * abs(np.log2(spec.depth / 20))
                     + 3 * abs(np.log2(spec.widths[-1] / 512)) + noise_draws[i])

    return write_sweep(sweep_dir, design_space, specs, err, **kw)
