"""Batched tensor transforms (no torchvision): resize, random crop with padding, flip, normalize.

Data stays uint8 ``N x C x H x W`` in memory (docs/ARCHITECTURE.md "Conventions");
augmentation runs on whole batches with an explicit ``torch.Generator`` so training randomness
comes only from ``train.seed``. The augmentation is the light one of the paper's regime family
([DDS] fn. 5 / [NDS]: random crop and, for natural images only, horizontal flip).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def resize_uint8(x: torch.Tensor, resolution: int) -> torch.Tensor:
    """Resize a uint8 batch ``N x C x H x W`` to ``resolution x resolution`` (bilinear, antialiased
    when shrinking); returns uint8. A no-op when the size already matches."""
    if x.shape[-2:] == (resolution, resolution):
        return x
    out = torch.empty((x.shape[0], x.shape[1], resolution, resolution), dtype=torch.uint8)
    for start in range(0, x.shape[0], 1024):  # bounded float memory for large sets
        chunk = x[start:start + 1024].float()
        chunk = F.interpolate(chunk, size=(resolution, resolution), mode="bilinear",
                              align_corners=False, antialias=True)
        out[start:start + 1024] = chunk.round_().clamp_(0, 255).to(torch.uint8)
    return out


def random_crop(x: torch.Tensor, padding: int, generator: torch.Generator) -> torch.Tensor:
    """Zero-pad each image by `padding` and crop back to its size at a random offset per image.

    Offsets are drawn on the CPU from `generator` (so CPU and GPU runs see the same crops) and the
    crop is one batched gather on `x`'s device.
    """
    if padding <= 0:
        return x
    n, _, h, w = x.shape
    offsets = torch.randint(0, 2 * padding + 1, (2, n), generator=generator).to(x.device)
    padded = F.pad(x, (padding, padding, padding, padding))
    rows = (offsets[0][:, None] + torch.arange(h, device=x.device))[:, None, :, None]
    cols = (offsets[1][:, None] + torch.arange(w, device=x.device))[:, None, None, :]
    batch = torch.arange(n, device=x.device)[:, None, None, None]
    chan = torch.arange(x.shape[1], device=x.device)[None, :, None, None]
    return padded[batch, chan, rows, cols]


def random_flip(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Flip each image horizontally with probability 1/2 (natural images only, never digits)."""
    flip = (torch.rand(x.shape[0], generator=generator) < 0.5).to(x.device)
    return torch.where(flip[:, None, None, None], x.flip(3), x)


def normalize(x: torch.Tensor, mean: torch.Tensor, std: torch.Tensor,
              dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """uint8 → float in [0, 1], then per-channel ``(x - mean) / std``; mean/std shape ``(C,)``."""
    x = x.to(dtype).div_(255.0)
    return x.sub_(mean.view(1, -1, 1, 1)).div_(std.view(1, -1, 1, 1))


def channel_stats(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-channel mean and std of a uint8 batch, in [0, 1] units (std floored at 1e-3)."""
    xf = x.double().div(255.0)
    mean = xf.mean(dim=(0, 2, 3))
    std = xf.std(dim=(0, 2, 3)).clamp_min(1e-3)
    return mean.float(), std.float()
