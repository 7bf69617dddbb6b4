"""Throughput of dse-train's loop against a minimal hand-written PyTorch loop, in one run.

Models: a ~6 MF AnyNet at 28 px (mnist5k, the proxy setting of design-space work) and
RegNetX-200MF at 32 px (3-channel synthetic data, CIFAR-sized). For each: images/s of the minimal
loop (pre-normalized float data, no augmentation, no checks) and of `train.trainer.train` (uint8
data, batched crop augmentation, per-step lr, non-finite check), NCHW and channels_last; the
achieved GFLOP/s (3 x forward multiply-adds x 2 FLOP/MAC x images/s) against the machine's sgemm
GFLOP/s measured here; and 1 thread x 2 processes against 2 threads x 1 process.

For a member of AnyNetX_A at the small-image geometry (``geometry=small``: stride-1 stem, 28 px,
the window scaled by (r/224)^2) it also measures, as ratios in the same run: bfloat16 autocast
against float32 (``train.precision``) and a whole 3-epoch run evaluated after the last epoch only
against one evaluated after every epoch (``train.eval``).

Run: ``python benchmarks/bench_trainer.py [--images 4096] [--json out.json]``.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import time

import torch
import torch.nn.functional as F

from anynet import AnyNetSpec, complexity, zoo
from train.data import Dataset, load_dataset
from train.regime import Regime
from train.trainer import TrainOptions, init_model, train

SIX_MF = AnyNetSpec(depths=[2, 3, 4, 2], widths=[48, 96, 192, 384], bottleneck_ratios=[1] * 4,
                    group_widths=[16] * 4, in_channels=1, num_classes=10)
BATCH = 128


def small_geometry_member() -> AnyNetSpec:
    """Member 0 of AnyNetX_A as dse-train samples it with geometry=small on mnist5k."""
    from sampling import load_design_space

    space = load_design_space("anynetx_a", ["geometry=small", "design_space.resolution=28",
                                            "design_space.in_channels=1",
                                            "design_space.num_classes=10"])
    return space.sample(0, 0)


def datasets(images: int) -> dict[str, tuple[AnyNetSpec, Dataset]]:
    mnist = load_dataset(dict(name="mnist5k", resolution=28, channels=1, num_classes=10,
                              crop_padding=2, flip=False, test_size=2500, split_seed=0))
    synth = load_dataset(dict(name="synthetic", resolution=32, channels=3, num_classes=10,
                              crop_padding=4, flip=True, train_size=images, test_size=256))
    regnet = zoo.get("RegNetX-200MF", in_channels=3, num_classes=10)
    return {"anynet-6MF@28": (SIX_MF, mnist), "RegNetX-200MF@32": (regnet, synth),
            "anynetx_a#0@28-small": (small_geometry_member(), mnist)}


def minimal_loop(spec: AnyNetSpec, data: Dataset, images: int, channels_last: bool) -> float:
    """The baseline: what one would write by hand. Returns images/s."""
    model = init_model(spec, Regime(), 0)
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
    x_all = ((data.x_train[:images].float() / 255 - data.mean.view(1, -1, 1, 1))
             / data.std.view(1, -1, 1, 1))
    y_all = data.y_train[:images]
    if channels_last:
        x_all = x_all.contiguous(memory_format=torch.channels_last)
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=5e-5)
    model.train()
    perm = torch.randperm(x_all.shape[0])
    t0 = time.perf_counter()
    for s in range(0, x_all.shape[0] - BATCH + 1, BATCH):
        idx = perm[s:s + BATCH]
        loss = F.cross_entropy(model(x_all[idx]), y_all[idx])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    n = (x_all.shape[0] // BATCH) * BATCH
    return n / (time.perf_counter() - t0)


def dse_loop(spec: AnyNetSpec, data: Dataset, images: int, channels_last: bool,
             precision: str = "fp32") -> float:
    """dse-train's loop (`train.trainer.train`, one epoch); training images/s (eval excluded)."""
    sub = Dataset(data.name, data.x_train[:images], data.y_train[:images], data.x_test[:256],
                  data.y_test[:256], data.num_classes, data.mean, data.std, data.crop_padding,
                  data.flip)
    regime = Regime(epochs=1, batch_size=BATCH, lr=0.1, warmup_epochs=0.5)
    options = TrainOptions(channels_last=channels_last, precision=precision)
    return train(spec, sub, regime, options).images_per_second


def whole_run_seconds(spec: AnyNetSpec, data: Dataset, eval_every_epoch: bool,
                      epochs: int = 3) -> float:
    """Wall seconds of a whole run (training and evaluation on the full test split)."""
    regime = Regime(epochs=epochs, batch_size=BATCH, lr=0.4, warmup_epochs=1,
                    zero_init_last_bn=True)
    t0 = time.perf_counter()
    train(spec, data, regime, TrainOptions(eval_every_epoch=eval_every_epoch))
    return time.perf_counter() - t0


def sgemm_gflops(threads: int, n: int = 1024, reps: int = 10) -> float:
    torch.set_num_threads(threads)
    a, b = torch.randn(n, n), torch.randn(n, n)
    torch.mm(a, b)
    best = float("inf")
    for _ in range(reps):
        t0 = time.perf_counter()
        torch.mm(a, b)
        best = min(best, time.perf_counter() - t0)
    return 2 * n**3 / best / 1e9


def _worker(images: int, queue) -> None:
    torch.set_num_threads(1)
    spec, data = datasets(images)["anynet-6MF@28"]
    queue.put(dse_loop(spec, data, images, False))


def two_processes(images: int) -> float:
    """Aggregate images/s of two concurrent 1-thread processes (the sweep's process layout)."""
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    procs = [ctx.Process(target=_worker, args=(images, queue)) for _ in range(2)]
    for p in procs:
        p.start()
    rates = [queue.get() for _ in procs]
    for p in procs:
        p.join()
    return sum(rates)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--images", type=int, default=2048, help="training images per measurement")
    ap.add_argument("--reps", type=int, default=2, help="repetitions (best is kept)")
    ap.add_argument("--json", help="also write the results here")
    args = ap.parse_args()
    load_before = os.getloadavg()
    out: dict = {"load_before": load_before, "cores": os.cpu_count(), "torch": torch.__version__,
                 "sgemm_gflops": {t: sgemm_gflops(t) for t in (1, 2)}, "models": {}}
    torch.set_num_threads(1)
    print(f"load average before: {load_before}; sgemm GFLOP/s: 1 thread "
          f"{out['sgemm_gflops'][1]:.1f}, 2 threads {out['sgemm_gflops'][2]:.1f}")
    for name, (spec, data) in datasets(args.images).items():
        res = data.resolution
        macs = complexity(spec, res)["flops"]
        rates: dict[str, float] = {}
        minimal_loop(spec, data, BATCH * 2, False)  # warm-up (allocator, kernels)
        for _ in range(args.reps):  # interleaved so that load changes hit all variants alike
            for cl in (False, True):
                tag = "channels_last" if cl else "nchw"
                for kind, fn in (("minimal", minimal_loop), ("dse", dse_loop)):
                    r = fn(spec, data, args.images, cl)
                    rates[f"{kind}/{tag}"] = max(rates.get(f"{kind}/{tag}", 0.0), r)
        row = {"mflops": macs / 1e6, "images_per_second": rates,
               "ratio_nchw": rates["dse/nchw"] / rates["minimal/nchw"],
               "ratio_channels_last": rates["dse/channels_last"] / rates["minimal/channels_last"],
               "gflops_dse_nchw": 6 * macs * rates["dse/nchw"] / 1e9,
               "gflops_dse_channels_last": 6 * macs * rates["dse/channels_last"] / 1e9}
        out["models"][name] = row
        print(f"{name}: {macs / 1e6:.2f} MF; images/s " +
              ", ".join(f"{k} {v:.0f}" for k, v in rates.items()) +
              f"; dse/minimal {row['ratio_nchw']:.3f} (NCHW), "
              f"{row['ratio_channels_last']:.3f} (channels_last); achieved GFLOP/s "
              f"{row['gflops_dse_nchw']:.1f} NCHW, {row['gflops_dse_channels_last']:.1f} "
              f"channels_last (1-thread sgemm {out['sgemm_gflops'][1]:.1f})")
    spec, data = datasets(args.images)["anynetx_a#0@28-small"]
    bf16, fp32, final, every = [], [], [], []
    for _ in range(args.reps):  # interleaved
        fp32.append(dse_loop(spec, data, args.images, True, "fp32"))
        bf16.append(dse_loop(spec, data, args.images, True, "bf16"))
        final.append(whole_run_seconds(spec, data, False))
        every.append(whole_run_seconds(spec, data, True))
    out["small_geometry"] = {
        "spec": spec.to_dict(), "mflops": complexity(spec, 28)["flops"] / 1e6,
        "bf16_over_fp32_images_per_second": max(bf16) / max(fp32),
        "eval_final_over_every_epoch_seconds": min(final) / min(every)}
    print(f"anynetx_a#0@28-small ({out['small_geometry']['mflops']:.2f} MF): bf16/fp32 "
          f"images/s {max(bf16) / max(fp32):.2f}x; a 3-epoch run evaluated at the end only takes "
          f"{min(final) / min(every):.2f}x the time of one evaluated every epoch")
    spec, data = datasets(args.images)["anynet-6MF@28"]
    torch.set_num_threads(2)
    one_proc = max(dse_loop(spec, data, args.images, False) for _ in range(args.reps))
    torch.set_num_threads(1)
    two_proc = max(two_processes(args.images) for _ in range(args.reps))
    out["threads"] = {"2 threads x 1 process": one_proc, "1 thread x 2 processes": two_proc}
    out["load_after"] = os.getloadavg()
    print(f"anynet-6MF@28 aggregate images/s: 2 threads x 1 process {one_proc:.0f}, "
          f"1 thread x 2 processes {two_proc:.0f}")
    print(f"load average after: {out['load_after']}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(out, f, indent=1)


if __name__ == "__main__":
    main()
