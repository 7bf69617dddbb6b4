"""Runtime predictors and device profiles ([DDS] Fig. 12; docs/SPEED.md "Runtime predictors"),
``dse-speed runtime measure|fit``.

`measure_population` samples RegNetX at the flop windows `WINDOWS_GF` and times each model
with `suite.measure` (the CSV ``results/runtime_models.csv``, rewritten after every model, so a
crash loses nothing). `fit_profiles` scores every predictor of every runtime column by
cross-validated R² (`analysis.runtime`: ``runtime_fits.csv`` and the Fig. 12 figure) and saves
the best predictor of each runtime as a device profile in `sampling.latency`'s format, which a
design space then uses by name
(``design_space.complexity.latency_profile=NAME-<runtime>``).
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import torch

from anynet import complexity
from anynet.model import build_model
from sampling import load_design_space
from sampling.latency import RuntimeProfile, save_profile

from .suite import SpeedSettings, measure, timing_columns

WINDOWS_GF = ((0.2, 0.4), (0.4, 0.8), (0.8, 1.6), (1.6, 3.2), (3.2, 4.0))
RUNTIMES = {"infer_b1_ms": "PyTorch eager inference, batch 1",
            "ort_b1_ms": "ONNX Runtime inference (CPU), batch 1"}


def runtime_label(column: str) -> str:
    """What a runtime column (``<runtime>_b<batch>_ms``) timed, in words (a profile's
    ``runtime``)."""
    if column in RUNTIMES:
        return RUNTIMES[column]
    kind, batch = column[:-3].rsplit("_b", 1)
    return {"infer": "PyTorch eager inference", "train": "PyTorch training step",
            "ort": "ONNX Runtime inference (CPU)"}.get(kind, kind) + f", batch {batch}"


def measure_population(settings: SpeedSettings, per_window: int, seed: int, out: Path,
                       log: Callable[[str], None] = lambda s: None) -> int:
    """Time the first `per_window` RegNetX members (architecture seed `seed`, 224 px) of each
    flop window; the table is rewritten at `out` after every model. Returns the model count."""
    rows, t0 = [], time.perf_counter()
    for lo, hi in WINDOWS_GF:
        space = load_design_space("regnetx", [
            f"design_space.complexity.flops=[{int(lo * 1e9)},{int(hi * 1e9)}]"])
        pop = space.sample_many(range(per_window), seed=seed)
        for s in pop.samples:
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(0)
                model = build_model(s.spec)
            timings = measure(model, 224, settings, f"regnetx[{lo}-{hi}GF]#{s.index}")
            rows.append({"window": f"{lo:g}-{hi:g}GF", "index": s.index, "seed": seed,
                         **{f"p_{k}": v for k, v in s.params.items()},
                         **complexity(s.spec, 224), **timing_columns(timings)})
            pd.DataFrame(rows).to_csv(out, index=False)  # kept current: a crash loses nothing
        log(f"  window {lo:g}-{hi:g} GF: {len(rows)} models, "
            f"{time.perf_counter() - t0:.0f} s")
    return len(rows)


def fit_profiles(csv: str, name: str, folds: int, seed: int, device: str, note: str,
                 out_dir: Path, profile_dir: Path,
                 log: Callable[[str], None] = lambda s: None) -> list[Path]:
    """The predictor table (``out_dir/runtime_fits.csv``), the Fig. 12 figure
    (``out_dir/figures/runtime_fig12.png``) and one profile per runtime column of `csv`,
    ``profile_dir/<name>-<runtime>.json`` (`device`: the device text it stores). Returns the
    profiles' paths."""
    import onnxruntime

    from analysis.runtime import best_fit, plot_runtime, predictor_table, r2_difference

    try:
        frame = pd.read_csv(csv)
    except FileNotFoundError:
        raise ValueError(f"csv: {csv!r} does not exist; run the measure step") from None
    targets = [c for c in frame.columns if c.endswith("_ms")]
    if not targets:
        raise ValueError(f"csv: {csv!r} has no runtime columns (*_ms)")
    if not name or "/" in name:
        raise ValueError(f"name: {name!r} is not allowed; use a plain profile name")
    table = predictor_table(frame, targets, folds=folds, seed=seed)
    (out_dir / "figures").mkdir(parents=True, exist_ok=True)
    table.to_csv(out_dir / "runtime_fits.csv", index=False, float_format="%.6g")
    with pd.option_context("display.width", 160, "display.max_columns", 20):
        log(table.to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    for t in targets:
        d = r2_difference(frame, t, folds=folds, seed=seed)
        log(f"{t}: CV R² acts {d.r2_a:.3f} vs flops {d.r2_b:.3f}: difference "
            f"{d.diff:+.3f} [{d.low:+.3f}, {d.high:+.3f}] (95% bootstrap over {d.n} models)")
    short = [t[:-3].replace("infer", "eager").replace("_b", " b") for t in targets]
    fig = plot_runtime(frame, targets, short, folds, seed, hue="window")
    fig_path = out_dir / "figures" / "runtime_fig12.png"
    fig.savefig(fig_path, dpi=150)
    log(f"wrote {out_dir / 'runtime_fits.csv'}, {fig_path}")
    windows = ", ".join(sorted(frame["window"].unique())) if "window" in frame else "?"
    paths = []
    for t in targets:
        f = best_fit(frame, t, folds=folds, seed=seed)
        profile = RuntimeProfile(
            name=f"{name}-{t[:-3]}", device=device, runtime=runtime_label(t),
            features=f.features, scale=f.scale, coef=f.coef, intercept=f.intercept,
            resolution=224, cv_r2=f.cv_r2, r2=f.r2, folds=f.folds, n_models=f.n,
            ranges=f.ranges,
            fitted_on=f"{f.n} RegNetX models sampled at flop windows {windows} "
                      f"({Path(csv).name})",
            meta={"fitted": dt.date.today().isoformat(), "torch": torch.__version__,
                  "onnxruntime": onnxruntime.__version__, "note": note})
        path = save_profile(profile, profile_dir / f"{profile.name}.json")
        log(f"wrote {path}: {profile.runtime} ~ {f.label}, CV R² {f.cv_r2:.3f}")
        paths.append(path)
    return paths
