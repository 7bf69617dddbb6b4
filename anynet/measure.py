"""Complexity measured on a built model, to cross-check `complexity` (docs/PAPER.md §4.6), and
counted on any module that has no spec (EfficientNet in ``dse-speed``, docs/SPEED.md).

`hooked_complexity` is the one hook counter: forward hooks on every Conv2d and Linear layer
count flops, params and acts under pycls's rules (docs/PAPER.md §4.5: multiply-adds, conv and
linear bias adds, acts = output sizes, a max pool's included; BN, activations, average pooling
and padding count nothing).

`measured_complexity` is the independent reference of `complexity`: flops from fvcore, whose
conventions differ from pycls's in three places, aligned here:

* fvcore counts BatchNorm (numel x 2 in eval mode) and pycls counts 0: a handle returning 0 is
  registered for ``aten::batch_norm`` (``set_op_handle(op, None)`` does not switch the built-in
  handle off in fvcore 0.1.5);
* fvcore counts global average pooling (``aten::adaptive_avg_pool2d``, and ``aten::mean``, which
  is how our head and SE pool) and pycls counts 0: handles returning 0 for both;
* fvcore ignores conv and linear biases; pycls adds C_out·h·w per biased conv (the SE convs run
  at 1x1, so C_out) and C_out per linear layer: the bias sizes are added to fvcore's total.

Params are ``fvcore.nn.parameter_count(model)[""]`` as is; acts (output sizes of every conv and
linear layer, per image) are the hook counter's. fvcore is imported on first use, so the hook
counter does not pay for it.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from .model import build_model
from .spec import AnyNetSpec

_ZERO_OPS = ("aten::batch_norm", "aten::adaptive_avg_pool2d", "aten::mean")


def _zero_flops(inputs: list[Any], outputs: list[Any]) -> int:
    return 0


def fvcore_flops(model: nn.Module, x: torch.Tensor) -> int:
    """pycls-convention flops (multiply-adds) of `model` on `x` via fvcore."""
    from fvcore.nn import FlopCountAnalysis

    fca = FlopCountAnalysis(model, x)
    for op in _ZERO_OPS:
        fca.set_op_handle(op, _zero_flops)
    fca.unsupported_ops_warnings(False)
    fca.uncalled_modules_warnings(False)
    biases = sum(m.bias.numel() for m in model.modules()
                 if isinstance(m, (nn.Conv2d, nn.Linear)) and m.bias is not None)
    return int(fca.total()) + biases


def hooked_complexity(model: nn.Module, resolution: int, in_channels: int = 3
                      ) -> dict[str, int]:
    """{"flops", "params", "acts"} of `model` on one square image, pycls conventions: every
    Conv2d adds k_h·k_w·(C_in/G)·C_out·h·w multiply-adds (+ C_out·h·w with a bias) and
    C_out·h·w acts; every Linear adds in·out (+ out) flops and out acts; every MaxPool2d adds
    its output size to acts (the ResNet stem's, pycls `pool2d_cx`); params are all
    parameters. Counted from the output shapes seen by forward hooks, in eval mode (the
    model's mode is restored)."""
    counts = {"flops": 0, "acts": 0}

    def conv(m: nn.Conv2d, inputs: Any, out: torch.Tensor) -> None:
        hw = out.shape[2] * out.shape[3]
        k = m.kernel_size[0] * m.kernel_size[1] * (m.in_channels // m.groups)
        counts["flops"] += k * m.out_channels * hw + (m.out_channels * hw if m.bias is not None
                                                      else 0)
        counts["acts"] += m.out_channels * hw

    def linear(m: nn.Linear, inputs: Any, out: torch.Tensor) -> None:
        rows = out.numel() // out.shape[0] // m.out_features
        counts["flops"] += rows * (m.in_features * m.out_features
                                   + (m.out_features if m.bias is not None else 0))
        counts["acts"] += rows * m.out_features

    def pool(m: nn.MaxPool2d, inputs: Any, out: torch.Tensor) -> None:
        counts["acts"] += out.numel() // out.shape[0]

    handles = [m.register_forward_hook(conv) for m in model.modules()
               if isinstance(m, nn.Conv2d)]
    handles += [m.register_forward_hook(linear) for m in model.modules()
                if isinstance(m, nn.Linear)]
    handles += [m.register_forward_hook(pool) for m in model.modules()
                if isinstance(m, nn.MaxPool2d)]
    was_training = model.training
    try:
        model.eval()
        with torch.no_grad():
            model(torch.zeros(1, in_channels, resolution, resolution,
                              device=next(model.parameters()).device))
    finally:
        for h in handles:
            h.remove()
        model.train(was_training)
    params = sum(p.numel() for p in model.parameters())
    return {"flops": counts["flops"], "params": params, "acts": counts["acts"]}


def measured_complexity(spec: AnyNetSpec, resolution: int = 224,
                        acts: bool = True) -> dict[str, int]:
    """{"flops", "params"[, "acts"]} measured on `build_model(spec)`: flops and params with
    fvcore, acts with `hooked_complexity`."""
    from fvcore.nn import parameter_count

    model = build_model(spec).eval()
    x = torch.zeros(1, spec.in_channels, resolution, resolution)
    out = {"flops": fvcore_flops(model, x), "params": int(parameter_count(model)[""])}
    if acts:
        out["acts"] = hooked_complexity(model, resolution, spec.in_channels)["acts"]
    return out
