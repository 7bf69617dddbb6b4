"""``dse-speed``: the zoo beside EfficientNet and the paper's speed ratio (the default command),
and ``dse-speed runtime measure|fit``: runtime predictors and device profiles (docs/SPEED.md).

Every input is checked, and every output found writable, before anything is measured. Bad
input is one line on stderr, ``dse-speed: error: ...``, and exit status 2; an output that
cannot be written (found before measuring) or a write that fails (a full disk) is exit
status 1 (docs/ARCHITECTURE.md "Commands").
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from anynet.system import check_output_file, quiet_broken_pipe

from ..device import check_threads, device_description, resolve_device
from .models import model_names
from .tables import table, write_csv

# torch and the measuring modules are imported where they are used, after the checks that need
# neither: bad input is refused without their import cost.

RUNTIME = "runtime"  # the subcommand of runtime predictors and device profiles


class _Parser(argparse.ArgumentParser):
    """argparse that raises ValueError (one line at the CLI) instead of printing usage."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise ValueError(message)


def _say(message: str) -> None:
    print(message, flush=True)


def _parser() -> argparse.ArgumentParser:
    p = _Parser(
        prog="dse-speed", description="Runtime of the RegNet zoo beside EfficientNet-B0…B5 on "
        "this machine, and the paper's RegNet-8.0GF vs EfficientNet-B5 ratio (docs/SPEED.md).",
        epilog=f"dse-speed {RUNTIME} measure|fit: runtime predictors and device profiles "
        f"([DDS] Fig. 12); see dse-speed {RUNTIME} --help.")
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


def _runtime_parser() -> argparse.ArgumentParser:
    p = _Parser(prog=f"dse-speed {RUNTIME}",
                description="Runtime predictors and device profiles ([DDS] Fig. 12; "
                "docs/SPEED.md).")
    sub = p.add_subparsers(dest="step", required=True)
    m = sub.add_parser("measure", help="time RegNetX sampled at 5 flop windows (200MF-4GF): "
                       "eager and ONNX Runtime inference of batch 1 (--batch B > 1 adds eager "
                       "batch B, --train-batch a training step) -> results/runtime_models.csv")
    m.add_argument("--per-window", type=int, default=20)
    m.add_argument("--seed", type=int, default=0)
    m.add_argument("--device", default="cpu")
    m.add_argument("--threads", type=int, default=1)
    m.add_argument("--warmup", type=int, default=1)
    m.add_argument("--reps", type=int, default=3)
    m.add_argument("--batch", type=int, default=1)
    m.add_argument("--train-batch", type=int, default=0)
    m.add_argument("--no-onnx", action="store_true")
    m.add_argument("--out", default="results/runtime_models.csv")
    f = sub.add_parser("fit", help="CV R² of every predictor per runtime -> "
                       "results/runtime_fits.csv, results/figures/runtime_fig12.png and the "
                       "best predictor of each runtime as a profile NAME-<runtime>.json")
    f.add_argument("--name", required=True, help="profile name prefix, e.g. xeon-1t")
    f.add_argument("--csv", default="results/runtime_models.csv")
    f.add_argument("--folds", type=int, default=5)
    f.add_argument("--seed", type=int, default=0)
    f.add_argument("--device-description", default="",
                   help="device text stored in the profile (default: this machine's CPU)")
    f.add_argument("--threads", type=int, default=1, help="threads the timings used")
    f.add_argument("--note", default="")
    f.add_argument("--out-dir", default="results",
                   help="where runtime_fits.csv and figures/ go (default: results/)")
    f.add_argument("--profile-dir", default="",
                   help="where the profiles go (default: the user's profile folder, "
                   "$ANYNET_DSE_PROFILES or ~/.local/share/anynet-dse/profiles; the shipped "
                   "examples: sampling/profiles)")
    return p


def _devices(spec: str) -> list[str]:
    if spec == "auto":
        import torch

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
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == [RUNTIME]:
        return run_runtime(argv[1:])
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
    from .suite import SpeedSettings

    settings = [SpeedSettings(device=d, threads=args.threads, warmup=args.warmup,
                              reps=args.reps, batch=args.batch, train_batch=args.train_batch,
                              onnx=not args.no_onnx) for d in devices]
    _check_outputs(args, bool(names))  # last: after every check of the input
    import torch

    from .comparison import ratio_rows, zoo_rows

    rows, ratios = [], []
    for s in settings:
        _say(f"{device_description(s.device, s.threads)}; torch {torch.__version__}; "
             f"warm-up {s.warmup}; table: {s.reps} reps, medians in ms per call")
        rows += zoo_rows(names, s, log=_say)
        if args.ratio_reps:
            _say(f"speed ratio, {args.ratio_reps} interleaved reps:")
            ratios += ratio_rows(s, args.ratio_reps, log=_say)
    if rows:
        print(table(rows))
        print(f"wrote {write_csv(rows, args.out)}")
    if ratios:
        print(f"wrote {write_csv(ratios, args.ratio_out)}")
    return 0


def run_runtime(argv: Sequence[str]) -> int:
    """``dse-speed runtime measure|fit`` with `argv` (docs/SPEED.md "Runtime predictors")."""
    args = _runtime_parser().parse_args(argv)
    # imported here, after the arguments: torch, and the design-space sampler (Hydra,
    # OmegaConf), which is no cost of the zoo command
    import torch

    from sampling.latency import user_profile_dir

    from .predictors import fit_profiles, measure_population
    from .suite import SpeedSettings

    if args.step == "measure":
        settings = SpeedSettings(device=args.device, threads=args.threads, warmup=args.warmup,
                                 reps=args.reps, batch=args.batch,
                                 train_batch=args.train_batch, onnx=not args.no_onnx)
        if args.per_window < 1:
            raise ValueError(f"per-window: {args.per_window} is not allowed; use an integer "
                             ">= 1")
        out = check_output_file(args.out, "--out")  # last: after every check of the input
        _say(f"{device_description(args.device, args.threads)}; torch {torch.__version__}")
        n = measure_population(settings, args.per_window, args.seed, out, log=_say)
        print(f"wrote {out} ({n} models)")
        return 0
    device = args.device_description or device_description("cpu", args.threads)
    fit_profiles(args.csv, args.name, args.folds, args.seed, device, args.note,
                 Path(args.out_dir), Path(args.profile_dir or user_profile_dir()), log=print)
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
