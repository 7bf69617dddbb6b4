"""The models ``dse-speed`` times: the 24 zoo RegNets (`anynet.zoo`, 224 px) and
EfficientNet-B0…B5 from the ``efficientnet-pytorch`` package, built without weights at their
published resolutions (docs/SPEED.md). Zoo models are counted analytically
(`anynet.complexity`), every other module by the one hook counter
(`anynet.measure.hooked_complexity`), under the same pycls rules (docs/PAPER.md §4.5)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from anynet import zoo
from anynet.complexity import complexity

if TYPE_CHECKING:
    from torch import nn

# torch (and the modules built on it) is imported where a model is built or counted:
# `model_names` costs no torch import (``dse-speed``'s check of --models).

# EfficientNet-B0…B5 at their published resolutions (efficientnet-pytorch `get_image_size`).
EFFICIENTNETS = {f"EfficientNet-B{k}": r for k, r in enumerate((224, 240, 260, 300, 380, 456))}


def model_names() -> list[str]:
    """The 24 zoo RegNets, then EfficientNet-B0…B5."""
    return zoo.names() + list(EFFICIENTNETS)


def efficientnet(name: str) -> nn.Module:
    """EfficientNet-B0…B5 from efficientnet-pytorch, without weights (``from_name``), plain
    swish (exportable), eval mode."""
    if name not in EFFICIENTNETS:
        raise ValueError(f"model: {name!r} is not allowed; EfficientNets are "
                         f"{', '.join(EFFICIENTNETS)}")
    try:
        from efficientnet_pytorch import EfficientNet
    except ImportError:
        raise ValueError("efficientnet-pytorch: not installed; pip install 'anynet-dse[speed]'"
                         ) from None
    net = EfficientNet.from_name(f"efficientnet-b{name[-1]}")
    net.set_swish(memory_efficient=False)
    return net.eval()


def build(name: str, seed: int = 0) -> tuple[nn.Module, int]:
    """(module, resolution) of a zoo RegNet (224 px) or an EfficientNet (its resolution),
    initialised from `seed` without touching torch's global RNG."""
    import torch

    from anynet.model import build_model

    if name not in model_names():
        raise ValueError(f"model: {name!r} is not allowed; use one of {', '.join(model_names())}")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        if name in EFFICIENTNETS:
            return efficientnet(name), EFFICIENTNETS[name]
        return build_model(zoo.get(name)).eval(), 224


def model_complexity(name: str, model: nn.Module, resolution: int) -> dict[str, int]:
    """Analytic counts for a zoo model (`anynet.complexity`), hooked counts otherwise."""
    from anynet.measure import hooked_complexity

    if name in zoo.names():
        return complexity(zoo.get(name), resolution)
    return hooked_complexity(model, resolution)
