"""Runtime predictors and device profiles ([DDS] Fig. 12; docs/SPEED.md).

    python results/runtime_study.py measure [--per-window 20] [--threads 1] [--reps 3]
        # RegNetX sampled at 5 flop windows (200MF-4GF), each timed: eager inference and
        # ONNX Runtime inference of batch 1 (--batch B > 1 adds eager batch B, --train-batch
        # a training step)  -> results/runtime_models.csv
    python results/runtime_study.py fit --name NAME [--csv results/runtime_models.csv]
        # CV R² of every predictor (flops, params, acts and their combinations) per runtime
        #   -> results/runtime_fits.csv, results/figures/runtime_fig12.png,
        #      PROFILES/NAME-<runtime>.json (the best predictor of each runtime), PROFILES the
        #      user's profile folder (--profile-dir; default $ANYNET_DSE_PROFILES, else
        #      ~/.local/share/anynet-dse/profiles: sampling.latency.user_profile_dir)

A profile is then used by a design space:
``design_space.complexity.latency=[20,40] design_space.complexity.latency_profile=NAME-ort_b1``.
Bad input gets one line on stderr and exit status 2.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import time
from pathlib import Path

import pandas as pd

HERE = Path(__file__).resolve().parent
WINDOWS_GF = ((0.2, 0.4), (0.4, 0.8), (0.8, 1.6), (1.6, 3.2), (3.2, 4.0))
RUNTIMES = {"infer_b1_ms": "PyTorch eager inference, batch 1",
            "ort_b1_ms": "ONNX Runtime inference (CPU), batch 1"}


def _runtime_label(column: str) -> str:
    if column in RUNTIMES:
        return RUNTIMES[column]
    kind, batch = column[:-3].rsplit("_b", 1)
    return {"infer": "PyTorch eager inference", "train": "PyTorch training step",
            "ort": "ONNX Runtime inference (CPU)"}.get(kind, kind) + f", batch {batch}"


def measure(args: argparse.Namespace) -> int:
    import torch

    from anynet import build_model, complexity
    from anynet.speed import SpeedSettings, device_description, measure, timing_columns
    from sampling import load_design_space

    settings = SpeedSettings(device=args.device, threads=args.threads, warmup=args.warmup,
                             reps=args.reps, batch=args.batch, train_batch=args.train_batch,
                             onnx=not args.no_onnx)
    out = Path(args.out)
    print(f"{device_description(args.device, args.threads)}; torch {torch.__version__}",
          flush=True)
    rows, t0 = [], time.perf_counter()
    for lo, hi in WINDOWS_GF:
        space = load_design_space("regnetx", [
            f"design_space.complexity.flops=[{int(lo * 1e9)},{int(hi * 1e9)}]"])
        pop = space.sample_many(range(args.per_window), seed=args.seed)
        for s in pop.samples:
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(0)
                model = build_model(s.spec)
            timings = measure(model, 224, settings, f"regnetx[{lo}-{hi}GF]#{s.index}")
            rows.append({"window": f"{lo:g}-{hi:g}GF", "index": s.index, "seed": args.seed,
                         **{f"p_{k}": v for k, v in s.params.items()},
                         **complexity(s.spec, 224), **timing_columns(timings)})
            pd.DataFrame(rows).to_csv(out, index=False)  # kept current: a crash loses nothing
        print(f"  window {lo:g}-{hi:g} GF: {len(rows)} models, "
              f"{time.perf_counter() - t0:.0f} s", flush=True)
    print(f"wrote {out} ({len(rows)} models)")
    return 0


def fit(args: argparse.Namespace) -> int:
    import onnxruntime
    import torch

    from analysis.runtime import best_fit, plot_runtime, predictor_table, r2_difference
    from sampling.latency import RuntimeProfile, save_profile, user_profile_dir

    try:
        frame = pd.read_csv(args.csv)
    except FileNotFoundError:
        raise ValueError(f"csv: {args.csv!r} does not exist; run the measure step") from None
    targets = [c for c in frame.columns if c.endswith("_ms")]
    if not targets:
        raise ValueError(f"csv: {args.csv!r} has no runtime columns (*_ms)")
    if not args.name or "/" in args.name:
        raise ValueError(f"name: {args.name!r} is not allowed; use a plain profile name")
    out_dir = Path(args.out_dir)
    profile_dir = Path(args.profile_dir) if args.profile_dir else user_profile_dir()
    table = predictor_table(frame, targets, folds=args.folds, seed=args.seed)
    (out_dir / "figures").mkdir(parents=True, exist_ok=True)
    table.to_csv(out_dir / "runtime_fits.csv", index=False, float_format="%.6g")
    with pd.option_context("display.width", 160, "display.max_columns", 20):
        print(table.to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    for t in targets:
        d = r2_difference(frame, t, folds=args.folds, seed=args.seed)
        print(f"{t}: CV R² acts {d.r2_a:.3f} vs flops {d.r2_b:.3f}: difference "
              f"{d.diff:+.3f} [{d.low:+.3f}, {d.high:+.3f}] (95% bootstrap over {d.n} models)")
    short = [t[:-3].replace("infer", "eager").replace("_b", " b") for t in targets]
    fig = plot_runtime(frame, targets, short, args.folds, args.seed, hue="window")
    fig_path = out_dir / "figures" / "runtime_fig12.png"
    fig.savefig(fig_path, dpi=150)
    print(f"wrote {out_dir / 'runtime_fits.csv'}, {fig_path}")
    windows = ", ".join(sorted(frame["window"].unique())) if "window" in frame else "?"
    for t in targets:
        f = best_fit(frame, t, folds=args.folds, seed=args.seed)
        profile = RuntimeProfile(
            name=f"{args.name}-{t[:-3]}", device=args.device_description, runtime=_runtime_label(t),
            features=f.features, scale=f.scale, coef=f.coef, intercept=f.intercept,
            resolution=224, cv_r2=f.cv_r2, r2=f.r2, folds=f.folds, n_models=f.n,
            ranges=f.ranges,
            fitted_on=f"{f.n} RegNetX models sampled at flop windows {windows} "
                      f"({Path(args.csv).name})",
            meta={"fitted": dt.date.today().isoformat(), "torch": torch.__version__,
                  "onnxruntime": onnxruntime.__version__, "note": args.note})
        path = save_profile(profile, profile_dir / f"{profile.name}.json")
        print(f"wrote {path}: {profile.runtime} ~ {f.label}, CV R² {f.cv_r2:.3f}")
    return 0


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        raise ValueError(message)


def main(argv: list[str] | None = None) -> int:
    p = _Parser(prog="runtime_study.py", description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="step", required=True)
    m = sub.add_parser("measure")
    m.add_argument("--per-window", type=int, default=20)
    m.add_argument("--seed", type=int, default=0)
    m.add_argument("--device", default="cpu")
    m.add_argument("--threads", type=int, default=1)
    m.add_argument("--warmup", type=int, default=1)
    m.add_argument("--reps", type=int, default=3)
    m.add_argument("--batch", type=int, default=1)
    m.add_argument("--train-batch", type=int, default=0)
    m.add_argument("--no-onnx", action="store_true")
    m.add_argument("--out", default=str(HERE / "runtime_models.csv"))
    f = sub.add_parser("fit")
    f.add_argument("--name", required=True, help="profile name prefix, e.g. xeon-1t")
    f.add_argument("--csv", default=str(HERE / "runtime_models.csv"))
    f.add_argument("--folds", type=int, default=5)
    f.add_argument("--seed", type=int, default=0)
    f.add_argument("--device-description", default="",
                   help="device text stored in the profile (default: this machine's CPU)")
    f.add_argument("--threads", type=int, default=1, help="threads the timings used")
    f.add_argument("--note", default="")
    f.add_argument("--out-dir", default=str(HERE),
                   help="where runtime_fits.csv and figures/ go (default: results/)")
    f.add_argument("--profile-dir", default="",
                   help="where the profiles go (default: the user's profile folder, "
                   "$ANYNET_DSE_PROFILES or ~/.local/share/anynet-dse/profiles; the shipped "
                   "examples: sampling/profiles)")
    try:
        args = p.parse_args(argv)
        if args.step == "fit" and not args.device_description:
            from anynet.speed import device_description
            args.device_description = device_description("cpu", args.threads)
        return measure(args) if args.step == "measure" else fit(args)
    except ValueError as exc:
        print(f"runtime_study.py: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # save_profile: "cannot write PATH: reason"
        print(f"runtime_study.py: {exc.strerror or exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
