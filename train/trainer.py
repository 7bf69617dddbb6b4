"""The fixed-regime training loop ([DDS] §3: every model of a population is trained the same way).

`train` trains one `AnyNetSpec` on an in-memory `Dataset` (or a streamed image folder,
`train.stream.StreamDataset`) under a `Regime`, evaluates on the full
test split in eval mode after the last epoch (after every epoch on request; evaluation changes no
state, so the final error is the same either way), checkpoints atomically after every epoch and
resumes from a matching checkpoint bit-exactly. ``precision="bf16"`` runs the forward pass under
bfloat16 autocast (CPU or CUDA); the loss is always computed in float32. All randomness comes
from ``seed``: the initialisation is drawn under a forked, seeded torch RNG, shuffling and
augmentation from one explicit CPU ``torch.Generator`` (so CPU and GPU runs see the same batches;
a streamed folder draws them from (seed, epoch, position) in its loader workers).
A non-finite loss stops the run with status ``diverged``. Exceptions (KeyboardInterrupt
included) propagate; the checkpoint of the last finished epoch stays on disk.
"""

from __future__ import annotations

import contextlib
import logging
import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from anynet import AnyNetSpec, build_model

from .checkpoint import load_checkpoint, save_checkpoint
from .data import Dataset
from .regime import Regime
from .stream import StreamDataset
from .transforms import normalize, random_crop, random_flip

log = logging.getLogger(__name__)
EVAL_BATCH = 1000


@dataclass
class TrainOptions:
    """How (not what) to train: seed, device, precision, memory format, evaluation, progress,
    checkpointing."""

    seed: int = 0
    device: str = "cpu"
    precision: str = "fp32"  # fp32 | bf16 (autocast)
    channels_last: bool = True
    eval_every_epoch: bool = False  # False: evaluate after the last epoch only
    label: str = ""  # shown on progress bars and log lines, e.g. "anynetx_a#3"
    progress: str = "none"  # bar | log | none
    checkpoint: Path | None = None
    fingerprint: str = ""  # identity of the run; a checkpoint with another one is refused
    on_epoch_end: Callable[[int, dict[str, Any]], None] | None = None


@dataclass
class TrainResult:
    status: str  # ok | diverged
    epochs: list[dict[str, Any]]
    train_images: int
    train_seconds: float
    message: str | None = None
    resumed_from: int = 0
    model: nn.Module | None = field(default=None, repr=False)

    @property
    def images_per_second(self) -> float:
        return self.train_images / self.train_seconds if self.train_seconds > 0 else 0.0


def batch_bounds(n: int, batch_size: int) -> list[tuple[int, int]]:
    """Contiguous (start, stop) slices of an epoch; a trailing batch of one image is dropped
    (BatchNorm cannot normalize it) unless it is the only batch."""
    bounds = [(s, min(s + batch_size, n)) for s in range(0, n, batch_size)]
    if len(bounds) > 1 and bounds[-1][1] - bounds[-1][0] == 1:
        bounds.pop()
    return bounds


def init_model(spec: AnyNetSpec, regime: Regime, seed: int) -> nn.Module:
    """`build_model` under a forked torch RNG seeded with `seed` (global RNG state untouched)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return build_model(spec, zero_init_last_bn=regime.zero_init_last_bn)


def evaluate(model: nn.Module, data: Dataset | StreamDataset, channels_last: bool = True,
             precision: str = "fp32") -> float:
    """Top-1 error (percent) on the full test split, in eval mode."""
    was_training = model.training
    model.eval()
    wrong = torch.zeros((), dtype=torch.long, device=data.mean.device)
    total = 0
    with torch.inference_mode(), _autocast(data.mean.device, precision):
        for x8, y in _test_batches(data):
            x = normalize(x8, data.mean, data.std)
            if channels_last:
                x = x.contiguous(memory_format=torch.channels_last)
            wrong += (model(x).argmax(1) != y).sum()
            total += y.shape[0]
    model.train(was_training)
    return 100.0 * int(wrong) / total


def _test_batches(data: Dataset | StreamDataset) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    if isinstance(data, StreamDataset):
        return data.test_batches()
    return ((data.x_test[s:s + EVAL_BATCH], data.y_test[s:s + EVAL_BATCH])
            for s in range(0, data.x_test.shape[0], EVAL_BATCH))


def _train_batches(data: Dataset | StreamDataset, bounds: list[tuple[int, int]],
                   gen: torch.Generator, seed: int, epoch: int
                   ) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """uint8 images and labels of one epoch's batches. In memory: a permutation, then each
    batch's augmentation, drawn from `gen`; streamed: order and augmentation from (seed, epoch)
    in the loader's workers (`train.stream`), `gen` untouched."""
    if isinstance(data, StreamDataset):
        yield from data.train_batches(seed, epoch, bounds)
        return
    perm = torch.randperm(data.train_size, generator=gen).to(data.x_train.device)
    for s, e in bounds:
        idx = perm[s:e]
        yield _augment(data.x_train[idx], data, gen), data.y_train[idx]


def _autocast(device: torch.device, precision: str) -> contextlib.AbstractContextManager:
    if precision == "bf16":
        return torch.autocast(device.type, dtype=torch.bfloat16)
    if precision != "fp32":
        raise ValueError(f"train.precision: {precision!r} is not allowed; use fp32 or bf16")
    return contextlib.nullcontext()


def _augment(x: torch.Tensor, data: Dataset, gen: torch.Generator) -> torch.Tensor:
    if data.crop_padding:
        x = random_crop(x, data.crop_padding, gen)
    if data.flip:
        x = random_flip(x, gen)
    return x


def train(spec: AnyNetSpec, dataset: Dataset | StreamDataset, regime: Regime,
          options: TrainOptions | None = None) -> TrainResult:
    """Train `spec` on `dataset` under `regime`; see the module docstring."""
    opt = options or TrainOptions()
    device = torch.device(opt.device)
    model = init_model(spec, regime, opt.seed).to(device)
    if opt.channels_last:
        model = model.to(memory_format=torch.channels_last)
    optimizer = regime.optimizer(model)
    gen = torch.Generator().manual_seed(opt.seed)
    history: list[dict[str, Any]] = []
    start, train_images, train_seconds = 0, 0, 0.0

    ckpt = load_checkpoint(opt.checkpoint) if opt.checkpoint else None
    if ckpt is not None:
        if ckpt.get("fingerprint") != opt.fingerprint:
            raise ValueError(f"checkpoint: {str(opt.checkpoint)!r} belongs to a different run "
                             "(spec, data, regime or seed changed); delete it to start over")
        model.load_state_dict(ckpt["model"])
        optimizer.load_state_dict(ckpt["optimizer"])
        gen.set_state(ckpt["generator"])
        history, start = list(ckpt["history"]), int(ckpt["epoch"])
        train_images, train_seconds = int(ckpt["train_images"]), float(ckpt["train_seconds"])

    data = dataset.to(device)
    bounds = batch_bounds(data.train_size, regime.batch_size)
    check_every = 1 if device.type == "cpu" else 25  # a GPU sync per step would cost speed
    cudnn = (torch.backends.cudnn.flags(enabled=True, benchmark=True, deterministic=False)
             if device.type == "cuda" else contextlib.nullcontext())
    model.train()
    with cudnn:
        for epoch in range(start, regime.epochs):
            t0 = time.perf_counter()
            loss_sum = torch.zeros((), device=device)
            correct = torch.zeros((), dtype=torch.long, device=device)
            seen = 0
            bar = _bar(opt.progress, len(bounds), epoch, regime.epochs, opt.label)
            lr0 = regime.lr_at(epoch)
            batches = _train_batches(data, bounds, gen, opt.seed, epoch)
            for i, (x8, y) in enumerate(batches):
                x = normalize(x8, data.mean, data.std)
                if opt.channels_last:
                    x = x.contiguous(memory_format=torch.channels_last)
                lr = regime.lr_at(epoch + i / len(bounds))
                for group in optimizer.param_groups:
                    group["lr"] = lr
                with _autocast(device, opt.precision):
                    out = model(x)
                loss = F.cross_entropy(out.float(), y, label_smoothing=regime.label_smoothing)
                loss_sum += loss.detach() * y.shape[0]
                if (i + 1) % check_every == 0 or i + 1 == len(bounds):
                    if not math.isfinite(float(loss_sum)):
                        if bar is not None:
                            bar.close()
                        msg = f"non-finite loss at epoch {epoch + 1}, step {i + 1}"
                        train_seconds += time.perf_counter() - t0
                        return TrainResult("diverged", history, train_images + seen,
                                           train_seconds, msg, start, model)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                correct += (out.argmax(1) == y).sum()
                seen += y.shape[0]
                if bar is not None:
                    bar.update(1)
            t_train = time.perf_counter() - t0
            last = epoch + 1 == regime.epochs
            test_error = (evaluate(model, data, opt.channels_last, opt.precision)
                          if last or opt.eval_every_epoch else None)
            stats = {"epoch": epoch + 1, "train_loss": float(loss_sum) / seen,
                     "train_error": 100.0 * (1.0 - int(correct) / seen),
                     "test_error": test_error, "lr": lr0,
                     "seconds": time.perf_counter() - t0}
            history.append(stats)
            train_images += seen
            train_seconds += t_train
            _report(bar, stats, regime.epochs, opt.label, opt.progress)
            if opt.checkpoint and epoch + 1 < regime.epochs:
                save_checkpoint(opt.checkpoint, {
                    "fingerprint": opt.fingerprint, "epoch": epoch + 1,
                    "model": model.state_dict(), "optimizer": optimizer.state_dict(),
                    "generator": gen.get_state(), "history": history,
                    "train_images": train_images, "train_seconds": train_seconds})
            if opt.on_epoch_end is not None:
                opt.on_epoch_end(epoch, stats)
    return TrainResult("ok", history, train_images, train_seconds, None, start, model)


def _bar(progress: str, total: int, epoch: int, epochs: int, label: str):
    if progress != "bar":
        return None
    from tqdm import tqdm

    prefix = f"{label} " if label else ""
    return tqdm(total=total, desc=f"{prefix}epoch {epoch + 1}/{epochs}", unit="batch",
                leave=False, dynamic_ncols=True)


def _report(bar, stats: dict[str, Any], epochs: int, label: str, progress: str) -> None:
    test = stats["test_error"]
    test_text = "" if test is None else f" test_err {test:.2f}%"
    prefix = f"{label} " if label else ""
    line = (f"{prefix}epoch {stats['epoch']}/{epochs} loss {stats['train_loss']:.4f} "
            f"train_err {stats['train_error']:.2f}%{test_text} "
            f"lr {stats['lr']:.4g} {stats['seconds']:.1f}s")
    if bar is not None:
        bar.close()
    elif progress == "log":
        log.info(line)
