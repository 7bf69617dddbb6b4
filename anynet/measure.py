"""Complexity measured on a built model, to cross-check `complexity` (docs/PAPER.md §4.6).

fvcore's conventions differ from pycls's in three places, aligned here:

* fvcore counts BatchNorm (numel x 2 in eval mode) and pycls counts 0: a handle returning 0 is
  registered for ``aten::batch_norm`` (``set_op_handle(op, None)`` does not switch the built-in
  handle off in fvcore 0.1.5);
* fvcore counts global average pooling (``aten::adaptive_avg_pool2d``, and ``aten::mean``, which
  is how our head and SE pool) and pycls counts 0: handles returning 0 for both;
* fvcore ignores conv and linear biases; pycls adds C_out·h·w per biased conv (the SE convs run
  at 1x1, so C_out) and C_out per linear layer: the bias sizes are added to fvcore's total.

Params are ``fvcore.nn.parameter_count(model)[""]`` as is; acts (output sizes of every conv and
linear layer, per image) are counted with forward hooks.
"""

from __future__ import annotations

from typing import Any

import torch
from fvcore.nn import FlopCountAnalysis, parameter_count
from torch import nn

from .model import build_model
from .spec import AnyNetSpec

_ZERO_OPS = ("aten::batch_norm", "aten::adaptive_avg_pool2d", "aten::mean")


def _zero_flops(inputs: list[Any], outputs: list[Any]) -> int:
    return 0


def fvcore_flops(model: nn.Module, x: torch.Tensor) -> int:
    """pycls-convention flops (multiply-adds) of `model` on `x` via fvcore."""
    fca = FlopCountAnalysis(model, x)
    for op in _ZERO_OPS:
        fca.set_op_handle(op, _zero_flops)
    fca.unsupported_ops_warnings(False)
    fca.uncalled_modules_warnings(False)
    biases = sum(m.bias.numel() for m in model.modules()
                 if isinstance(m, (nn.Conv2d, nn.Linear)) and m.bias is not None)
    return int(fca.total()) + biases


def hooked_acts(model: nn.Module, x: torch.Tensor) -> int:
    """Sum of the output sizes of every Conv2d and Linear layer, per image."""
    total = 0

    def hook(module: nn.Module, inputs: Any, output: torch.Tensor) -> None:
        nonlocal total
        total += output.numel() // output.shape[0]

    handles = [m.register_forward_hook(hook) for m in model.modules()
               if isinstance(m, (nn.Conv2d, nn.Linear))]
    try:
        with torch.no_grad():
            model(x)
    finally:
        for h in handles:
            h.remove()
    return total


def measured_complexity(spec: AnyNetSpec, resolution: int = 224,
                        acts: bool = True) -> dict[str, int]:
    """{"flops", "params"[, "acts"]} measured on `build_model(spec)` with fvcore and hooks."""
    model = build_model(spec).eval()
    x = torch.zeros(1, spec.in_channels, resolution, resolution)
    out = {"flops": fvcore_flops(model, x), "params": int(parameter_count(model)[""])}
    if acts:
        out["acts"] = hooked_acts(model, x)
    return out
