"""Fashion-MNIST (Xiao et al., 2017) from its four standard IDX files (docs/TRAINING.md "Data"):
70,000 28x28 gray images of 10 clothing classes, the official 60,000 / 10,000 train/test split.

The files are found in ``data.root``: by default the folder Debian's package installs
(``apt-get install dataset-fashion-mnist``), or the layout other tools download into
(``<root>/FashionMNIST/raw/``), each raw or ``.gz``. ``data.train_size`` images of the 60,000 are
drawn, class-balanced, with ``data.split_seed``; ``data.val_size`` > 0 carves a class-balanced
validation split from the remaining training images, which then replaces the test split as the
set a run is evaluated on (the official test set stays untouched for a final comparison).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from .idx import IdxError, read_images_labels

DEFAULT_ROOT = "/usr/share/datasets/fashion-mnist"
APT_PACKAGE = "dataset-fashion-mnist"
TRAIN_TOTAL, TEST_TOTAL, CLASSES = 60_000, 10_000, 10
FILES = {"train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
         "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")}
LAYOUT = ("the four Fashion-MNIST IDX files (train-images-idx3-ubyte, train-labels-idx1-ubyte, "
          "t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte; raw or .gz) in the folder or in "
          "its FashionMNIST/raw/")


class FashionMnistError(ValueError):
    """The files are missing or malformed, or a key's value cannot be served (one line)."""


def _find(folder: Path, stem: str) -> Path | None:
    for name in (stem, f"{stem}.gz"):
        if (folder / name).is_file():
            return folder / name
    return None


def locate(root: str | Path | None) -> dict[str, tuple[Path, Path]]:
    """The (images, labels) files of each split under `root` or ``root/FashionMNIST/raw``."""
    base = Path(os.path.expanduser(str(root or DEFAULT_ROOT)))
    hint = f"install Debian's {APT_PACKAGE} (apt-get install {APT_PACKAGE}) or set data.root"
    if not base.is_dir():
        raise FashionMnistError(f"data.root: {str(base)!r} is not a directory; expected {LAYOUT}; "
                                f"{hint}")
    for folder in (base, base / "FashionMNIST" / "raw"):
        found = {split: tuple(_find(folder, stem) for stem in stems)
                 for split, stems in FILES.items()}
        if all(p is not None for pair in found.values() for p in pair):
            return found  # type: ignore[return-value]
    missing = [stem for stems in FILES.values() for stem in stems if _find(base, stem) is None]
    raise FashionMnistError(f"data.root: {str(base)!r} lacks {', '.join(missing)}; expected "
                            f"{LAYOUT}; {hint}")


def balanced_subset(labels: np.ndarray, n: int, rng: np.random.Generator,
                    exclude: np.ndarray | None = None) -> np.ndarray:
    """Sorted indices of `n` images, ``n // C`` of each class (the first ``n % C`` classes one
    more), drawn without replacement by `rng`, never from `exclude`."""
    classes = int(labels.max()) + 1
    free = np.ones(len(labels), bool)
    if exclude is not None:
        free[exclude] = False
    picked = []
    for c in range(classes):
        pool = np.flatnonzero((labels == c) & free)
        k = n // classes + (1 if c < n % classes else 0)
        if k > len(pool):
            raise FashionMnistError(f"class {c} has {len(pool)} images left; {k} asked")
        picked.append(rng.permutation(pool)[:k])
    return np.sort(np.concatenate(picked))


def _size(cfg: Mapping[str, Any], key: str, default: int, low: int, high: int) -> int:
    value = cfg.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise FashionMnistError(f"data.{key}: {value!r} is not allowed; use an integer from "
                                f"{low} to {high}")
    return value


def fashion_mnist_splits(cfg: Mapping[str, Any]) -> tuple[np.ndarray, ...]:
    """``(x_train, y_train, x_eval, y_eval)``: uint8 ``N x 1 x 28 x 28`` images and int64 labels
    of the configured training subset and of the evaluation split (test, or validation)."""
    train_size = _size(cfg, "train_size", TRAIN_TOTAL, CLASSES, TRAIN_TOTAL)
    val_size = _size(cfg, "val_size", 0, 0, TRAIN_TOTAL - train_size)
    seed = cfg.get("split_seed", 0)
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise FashionMnistError(f"data.split_seed: {seed!r} is not allowed; use an integer >= 0")
    files = locate(cfg.get("root"))
    try:
        x, y = read_images_labels(*files["train"], CLASSES)
        if val_size == 0:
            x_eval, y_eval = read_images_labels(*files["test"], CLASSES)
    except IdxError as e:
        raise FashionMnistError(f"{e}; reinstall {APT_PACKAGE} or check data.root") from None
    if train_size + val_size > len(y):
        raise FashionMnistError(f"data.train_size: {train_size} (+ val_size {val_size}) exceeds "
                                f"the {len(y)} training images of {files['train'][0]}")
    rng = np.random.default_rng(seed)
    train = (np.arange(len(y)) if train_size == len(y)
             else balanced_subset(y, train_size, rng))
    if val_size:
        val = balanced_subset(y, val_size, rng, exclude=train)
        x_eval, y_eval = x[val], y[val]
    return x[train], y[train], x_eval, y_eval
