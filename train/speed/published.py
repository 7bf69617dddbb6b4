"""The paper's published numbers that ``dse-speed`` prints beside its measurements: ImageNet
top-1 error, V100 inference time and training hours ([DDS] Figs. 15-16, Table 4, as
docs/PAPER.md §6-7 gives them). Published, never measured here."""

from __future__ import annotations

# Published ImageNet top-1 error (%) and V100 inference time for 64 images (ms), [DDS] Figs.
# 15-16 and Table 4 as docs/PAPER.md §6-7 give them (EfficientNet rows: the paper's 100-epoch
# retraining; None where docs/PAPER.md gives no number). Published, never measured here.
_ZOO_PUBLISHED = {
    "RegNetX-200MF": (31.1, 10), "RegNetX-400MF": (27.3, 15), "RegNetX-600MF": (25.9, 17),
    "RegNetX-800MF": (24.8, 21), "RegNetX-1.6GF": (23.0, 33), "RegNetX-3.2GF": (21.7, 57),
    "RegNetX-4.0GF": (21.4, 69), "RegNetX-6.4GF": (20.8, 92), "RegNetX-8.0GF": (20.7, 94),
    "RegNetX-12GF": (20.3, 137), "RegNetX-16GF": (20.0, 168), "RegNetX-32GF": (19.5, 318),
    "RegNetY-200MF": (29.6, 11), "RegNetY-400MF": (25.9, 19), "RegNetY-600MF": (24.5, 19),
    "RegNetY-800MF": (23.7, 22), "RegNetY-1.6GF": (22.0, 39), "RegNetY-3.2GF": (21.0, 67),
    "RegNetY-4.0GF": (20.6, 68), "RegNetY-6.4GF": (20.1, 104), "RegNetY-8.0GF": (20.1, 113),
    "RegNetY-12GF": (19.7, 150), "RegNetY-16GF": (19.6, 189), "RegNetY-32GF": (19.0, 319),
    "EfficientNet-B0": (24.9, None), "EfficientNet-B1": (None, None),
    "EfficientNet-B2": (23.4, None), "EfficientNet-B3": (22.5, None),
    "EfficientNet-B4": (21.2, None), "EfficientNet-B5": (21.5, 504),
}
# Published training time (hours, 8 V100s, 100 epochs; Table 4 via docs/PAPER.md §7).
_TRAIN_HOURS = {"RegNetX-8.0GF": 22.6, "RegNetY-8.0GF": 28.1, "EfficientNet-B5": 135.1}
# The paper's speed claim: (RegNet, EfficientNet) pairs compared ([DDS] §5.3, Table 4).
RATIO_PAIRS = (("RegNetX-8.0GF", "EfficientNet-B5"), ("RegNetY-8.0GF", "EfficientNet-B5"))


def published(name: str) -> tuple[float | None, float | None]:
    """(top-1 error %, V100 ms for 64 images) published for `name` (None where not given)."""
    return _ZOO_PUBLISHED.get(name, (None, None))


def published_speedup(runtime: str, regnet: str, effnet: str) -> float | None:
    """The paper's EfficientNet / RegNet time ratio: training hours for `train`, V100
    inference time otherwise; None where docs/PAPER.md gives no number."""
    if runtime == "train":
        a, b = _TRAIN_HOURS.get(effnet), _TRAIN_HOURS.get(regnet)
    else:
        a, b = published(effnet)[1], published(regnet)[1]
    return a / b if a and b else None
