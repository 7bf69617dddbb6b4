"""Per-model overhead of the sweep machinery (issue 5): ``python benchmarks/bench_sweep.py``.

Runs one real 16-model ``dse-train -m`` sweep of tiny models with the joblib launcher and
compares its wall time with the time the models spent training (the sum over records of their
per-epoch ``seconds``). Overhead is everything else a worker spends: process start, config
composition, sampling, data load, record write, Hydra's bookkeeping:

    overhead = wall * n_jobs - sum(training seconds)        (worker-seconds)
    ratio    = overhead / sum(training seconds)             target < 10 %

With ``--jobs 1`` this is exactly wall minus the sum of training times. Prints one table and the
machine load (``os.getloadavg``) before and after, since the machine may be shared (time the
machine gives to other processes counts as overhead here). The fixed part (interpreter and
worker start, the last model running alone) is amortized over the models, so the ratio falls
with longer training. By default the models train under the ``proxy`` regime as configured
(5 epochs of 2,500 digits); ``--epochs N`` overrides it. ``--json PATH`` also writes the
figures (the committed run is ``results/bench_sweep.json``, which docs/SWEEPS.md "Overhead"
cites; run it on a quiet machine):

    python benchmarks/bench_sweep.py --json results/bench_sweep.json
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def run_sweep(sweep_dir: Path, models: int, jobs: int, extra: list[str]) -> float:
    """Run the sweep; its wall time in seconds (from process start to exit)."""
    exe = Path(sys.executable).with_name("dse-train")
    cmd = [str(exe) if exe.exists() else shutil.which("dse-train") or "dse-train", "-m",
           "design_space=anynetx_a", f"sample.index=range(0,{models})", "hydra/launcher=joblib",
           f"hydra.launcher.n_jobs={jobs}", f"sweep.dir={sweep_dir}", "train.progress=none",
           *extra]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        sys.exit(f"sweep failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return wall


def training_seconds(sweep_dir: Path, jobs: int) -> tuple[list[float], list[float], float]:
    """(each record's per-epoch training seconds summed, each record's wall_seconds, idle
    tail). The idle tail is the worker-seconds spent waiting for the last job: the gap between
    each of the last `jobs` records' write time (mtime) and the very last one's."""
    train, wall, ends = [], [], []
    for path in sweep_dir.rglob("record.json"):
        rec = json.loads(path.read_text())
        train.append(sum(e["seconds"] for e in rec["epochs"]))
        wall.append(rec["wall_seconds"] or 0.0)
        ends.append(path.stat().st_mtime)
    last = sorted(ends)[-jobs:]
    return train, wall, sum(last[-1] - t for t in last)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=int, default=16)
    parser.add_argument("--jobs", type=int, default=len(os.sched_getaffinity(0)),
                        help="joblib workers (default: the cores this process may use)")
    parser.add_argument("--epochs", type=int, default=None,
                        help="override regime.epochs (default: the proxy regime's own)")
    parser.add_argument("--data", default="mnist5k", help="data group option (default: mnist5k)")
    parser.add_argument("--json", default=None, help="also write the figures to this file")
    parser.add_argument("overrides", nargs="*", help="extra dse-train overrides")
    args = parser.parse_args()
    epochs = [] if args.epochs is None else [f"regime.epochs={args.epochs}"]
    extra = [f"data={args.data}", *epochs, *args.overrides]
    load0 = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp:
        sweep_dir = Path(tmp) / "sweep"
        wall = run_sweep(sweep_dir, args.models, args.jobs, extra)
        per_train, per_wall, tail = training_seconds(sweep_dir, args.jobs)
    load1 = os.getloadavg()
    n, train, rec_wall = len(per_train), sum(per_train), sum(per_wall)
    if n != args.models:
        sys.exit(f"expected {args.models} records, found {n}")
    overhead = wall * args.jobs - train
    rows = [
        ("models", f"{n}"),
        ("joblib workers (n_jobs)", f"{args.jobs}"),
        ("sweep wall time", f"{wall:.1f} s"),
        ("sum of training time (epochs)", f"{train:.1f} s"),
        ("sum of records' wall_seconds", f"{rec_wall:.1f} s"),
        ("overhead (wall * n_jobs - training)", f"{overhead:.1f} s"),
        ("  in the job (wall_seconds - training)", f"{rec_wall - train:.1f} s"),
        ("  idle tail (waiting for the last model)", f"{tail:.1f} s"),
        ("  launch, Hydra, worker start and exit", f"{overhead - (rec_wall - train) - tail:.1f} s"),
        ("overhead per model", f"{overhead / n:.2f} s"),
        ("overhead / training", f"{overhead / train:.1%}  (target < 10%)"),
    ]
    width = max(len(k) for k, _ in rows)
    print(f"bench_sweep: dse-train -m ... {' '.join(extra)}")
    for key, value in rows:
        print(f"  {key:<{width}}  {value}")
    print(f"  load average before {load0[0]:.2f} {load0[1]:.2f} {load0[2]:.2f}, "
          f"after {load1[0]:.2f} {load1[1]:.2f} {load1[2]:.2f} on {os.cpu_count()} cpus")
    if args.json:
        out = {"command": f"dse-train -m ... {' '.join(extra)}", "models": n, "jobs": args.jobs,
               "cpus": os.cpu_count(), "load_before": load0[0], "load_after": load1[0],
               "sweep_wall_s": wall, "training_s": train, "records_wall_s": rec_wall,
               "training_per_model_s": {"min": min(per_train), "median": statistics.median(
                   per_train), "max": max(per_train)},
               "overhead_s": overhead, "in_jobs_s": rec_wall - train, "idle_tail_s": tail,
               "overhead_per_model_s": overhead / n, "ratio": overhead / train}
        Path(args.json).write_text(json.dumps(out, indent=1) + "\n")


if __name__ == "__main__":
    main()
