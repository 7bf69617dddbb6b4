"""Eager PyTorch runtimes of one model ([DDS] §5.3; docs/SPEED.md "What is measured"):
inference (eval mode, ``torch.inference_mode``) and one SGD training step on a copy of the
model (forward, cross-entropy, backward, update), each timed by `timing.time_calls` on the
device's clock with torch's CPU threads set for the measurement only."""

from __future__ import annotations

import copy
from typing import Any

import torch
from torch import nn

from ..device import resolve_device, torch_threads
from .timing import Timing, clock_for, time_calls


def random_input(batch: int, resolution: int, in_channels: int,
                 device: torch.device) -> torch.Tensor:
    """A seeded (seed 0) random batch of square images on `device`; torch's global RNG is
    not touched."""
    g = torch.Generator().manual_seed(0)
    return torch.randn(batch, in_channels, resolution, resolution, generator=g).to(device)


def check_batch(batch: Any, low: int = 1) -> int:
    """`batch` as an integer >= `low`; one-line ValueError otherwise."""
    if isinstance(batch, bool) or not isinstance(batch, int) or batch < low:
        raise ValueError(f"batch: {batch!r} is not allowed; use an integer >= {low}")
    return batch


def infer_call(model: nn.Module, x: torch.Tensor) -> None:
    """One inference call, as timed: ``torch.inference_mode``."""
    with torch.inference_mode():
        model(x)


def infer_timing(model: nn.Module, resolution: int, batch: int = 1, device: str = "cpu",
                 threads: int | None = None, warmup: int = 3, reps: int = 10,
                 in_channels: int = 3) -> Timing:
    """Eager inference (eval mode, ``torch.inference_mode``) of `batch` images."""
    check_batch(batch)
    dev = resolve_device(device)
    model = model.to(dev).eval()
    x = random_input(batch, resolution, in_channels, dev)
    clock, sync = clock_for(dev)
    with torch_threads(threads) as n:
        times = time_calls(lambda: infer_call(model, x), warmup, reps, clock, sync)
    return Timing("infer", batch, str(dev), n if dev.type == "cpu" else None, times)


def train_step(model: nn.Module, x: torch.Tensor, y: torch.Tensor,
               opt: torch.optim.Optimizer) -> None:
    """One SGD step: forward, cross-entropy, backward, update."""
    opt.zero_grad(set_to_none=True)
    nn.functional.cross_entropy(model(x), y).backward()
    opt.step()


def training_copy(model: nn.Module, batch: int, resolution: int, in_channels: int,
                  num_classes: int, device: torch.device
                  ) -> tuple[nn.Module, torch.Tensor, torch.Tensor, torch.optim.Optimizer]:
    """What `train_step` needs: a copy of `model` in train mode on `device`, SGD (lr 1e-3,
    momentum 0.9), a seeded batch and its labels; `model` itself is left untouched."""
    net = copy.deepcopy(model).to(device).train()
    opt = torch.optim.SGD(net.parameters(), lr=1e-3, momentum=0.9)
    x = random_input(batch, resolution, in_channels, device)
    y = torch.arange(batch, device=device) % num_classes
    return net, x, y, opt


def train_timing(model: nn.Module, resolution: int, batch: int = 8, device: str = "cpu",
                 threads: int | None = None, warmup: int = 2, reps: int = 5,
                 in_channels: int = 3, num_classes: int = 1000) -> Timing:
    """One training step (`train_step`, SGD momentum 0.9) on a copy of `model`."""
    check_batch(batch, low=2)  # BatchNorm needs more than one value per channel
    dev = resolve_device(device)
    net, x, y, opt = training_copy(model, batch, resolution, in_channels, num_classes, dev)
    clock, sync = clock_for(dev)
    with torch_threads(threads) as n:
        times = time_calls(lambda: train_step(net, x, y, opt), warmup, reps, clock, sync)
    return Timing("train", batch, str(dev), n if dev.type == "cpu" else None, times)
