"""Streamed image folders (``data=imagefolder_stream``): ImageNet-size sets read lazily at any
resolution, decoded and augmented in DataLoader worker processes (docs/TRAINING.md "Streamed image
folders").

`load_stream` lists ``root/train/<class>/*`` and ``root/val/<class>/*`` once (paths kept as one
byte buffer, so forked workers share it without copying) and returns a `StreamDataset`; nothing
is decoded ahead of the batches in flight, so memory is bounded by ``workers x prefetch``
batches whatever the folder's size.

Training images get pycls's augmentation (docs/PAPER.md §6.1, §8.7): an Inception-style
random-sized crop (area fraction uniform in ``data.scale``, aspect ratio uniform in
``data.ratio``, width and height swapped with probability 1/2, ten tries, else a center crop)
resized to ``resolution``, then a horizontal flip with probability 1/2. Test images are resized
so the shorter side is ``resolution / data.eval_crop_fraction`` (256 at 224 px) and
center-cropped to ``resolution``. Crop and resize are one antialiased bilinear resample of the
source box; JPEGs are decoded at the smallest DCT scale (1/2, 1/4, 1/8) that keeps the box at
or above ``resolution`` (Pillow's ``draft``): per worker 1.3-1.5x a plain Pillow loop
(``benchmarks/bench_loader.py``).

Determinism: the order of epoch e is a permutation seeded with (train.seed, e); the crop and
flip of the image at position p of that order come from a generator seeded with
(train.seed, e, p), never from worker-local state. So the same seed gives the same batches
whatever ``data.workers``, and the batches of an epoch can start at any batch (a resumed run
sees the same remaining batches: the sampler's whole state is (seed, epoch, batch); a
checkpoint is written at an epoch's end, so its epoch and its run's seed restore it).
"""

from __future__ import annotations

import math
import multiprocessing as mp
import os
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader
from torch.utils.data import Dataset as TorchDataset

from .data import FOLDER_LAYOUT, IMAGE_SUFFIXES, Common, DataError, root_dir

NAME = "imagefolder_stream"
STATS_IMAGES = 512  # train images (evenly spaced) that estimate mean/std when not given
EVAL_BATCH = 250  # test images per batch (bounded memory: 250 x 3 x 224 x 224 bytes = 38 MB)
CROP_TRIES = 10  # pycls's max_iter
_ORDER, _SAMPLE = 0x0D4E, 0x5A3E  # seed-sequence tags: epoch order vs per-sample draws


# -- paths ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class PathTable:
    """Relative image paths as one uint8 buffer plus offsets: a million paths cost tens of MB
    and no Python objects, so DataLoader workers forked from the job share them untouched."""

    buffer: np.ndarray
    offsets: np.ndarray

    @classmethod
    def build(cls, paths: Sequence[str]) -> PathTable:
        encoded = [p.encode() for p in paths]
        offsets = np.zeros(len(encoded) + 1, dtype=np.int64)
        np.cumsum([len(b) for b in encoded], out=offsets[1:])
        return cls(np.frombuffer(b"".join(encoded), dtype=np.uint8), offsets)

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def __getitem__(self, i: int) -> str:
        return self.buffer[self.offsets[i]:self.offsets[i + 1]].tobytes().decode()


@dataclass(frozen=True)
class Split:
    """One split of the folder: image paths (relative to ``root/<split>``) and int64 labels."""

    root: Path
    paths: PathTable
    labels: np.ndarray

    def __len__(self) -> int:
        return len(self.labels)


def list_split(root: Path, split: str, classes: Sequence[str]) -> Split:
    """Every image of ``root/<split>/<class>/`` in class order, files sorted by name."""
    paths: list[str] = []
    labels: list[np.ndarray] = []
    for label, cls in enumerate(classes):
        d = root / split / cls
        try:
            names = sorted(e.name for e in os.scandir(d)
                           if e.is_file() and os.path.splitext(e.name)[1].lower()
                           in IMAGE_SUFFIXES)
        except OSError:
            names = []
        paths += [f"{cls}/{n}" for n in names]
        labels.append(np.full(len(names), label, dtype=np.int64))
    if not paths:
        raise DataError(f"{NAME}: {str(root / split)!r} has no images; expected {FOLDER_LAYOUT}")
    return Split(root / split, PathTable.build(paths), np.concatenate(labels))


def class_names(root: Path) -> list[str]:
    """The class folders of ``root/train``; ``root/val`` must have the same ones."""
    found = {}
    for split in ("train", "val"):
        d = root / split
        names = sorted(p.name for p in d.iterdir() if p.is_dir()) if d.is_dir() else []
        if not names:
            raise DataError(f"{NAME}: {str(d)!r} has no class folders; expected {FOLDER_LAYOUT}")
        found[split] = names
    if found["train"] != found["val"]:
        extra = sorted(set(found["val"]) - set(found["train"]))
        missing = sorted(set(found["train"]) - set(found["val"]))
        raise DataError(f"{NAME}: {str(root / 'val')!r} has classes that differ from train/ "
                        f"(extra {extra[:5]}, missing {missing[:5]}); expected {FOLDER_LAYOUT} "
                        "with the same classes in both")
    return found["train"]


# -- geometry of the crops --------------------------------------------------------------------

Box = tuple[float, float, float, float]


def train_box(w: int, h: int, rng: np.random.Generator, scale: tuple[float, float],
              ratio: tuple[float, float]) -> Box:
    """pycls's Inception-style crop box (left, top, right, bottom) in a ``w x h`` image: area
    fraction ~ U(scale), aspect ~ U(ratio), sides swapped with probability 1/2, integer sides
    and offsets; after `CROP_TRIES` misses, the centered square of the shorter side (what
    pycls's fallback, scale then center crop, keeps)."""
    area = w * h
    for _ in range(CROP_TRIES):
        target = rng.uniform(scale[0], scale[1]) * area
        aspect = rng.uniform(ratio[0], ratio[1])
        cw = int(round(math.sqrt(target * aspect)))
        ch = int(round(math.sqrt(target / aspect)))
        if rng.uniform() < 0.5:
            cw, ch = ch, cw
        if 0 < cw <= w and 0 < ch <= h:
            top = 0 if ch == h else int(rng.integers(0, h - ch))
            left = 0 if cw == w else int(rng.integers(0, w - cw))
            return (left, top, left + cw, top + ch)
    side = min(w, h)
    left, top = (w - side) / 2, (h - side) / 2
    return (left, top, left + side, top + side)


def eval_box(w: int, h: int, crop_fraction: float) -> Box:
    """The source box that resize-shorter-side-to ``res / crop_fraction`` then center-crop
    ``res`` keeps: a centered square of side ``crop_fraction x min(w, h)``."""
    side = crop_fraction * min(w, h)
    left, top = (w - side) / 2, (h - side) / 2
    return (left, top, left + side, top + side)


# -- decoding ---------------------------------------------------------------------------------

def decode_box(path: str, box_of: Any, res: int, channels: int) -> np.ndarray:
    """Decode `path` with Pillow, take ``box_of(w, h)`` of it resized to ``res x res`` (one
    antialiased bilinear resample); returns uint8 ``H x W (x 3)``. A JPEG is decoded at the
    smallest DCT scale that keeps the box at least ``res`` pixels on each side."""
    from PIL import Image

    mode = "L" if channels == 1 else "RGB"
    with Image.open(path) as im:
        w, h = im.size
        box = box_of(w, h)
        bw, bh = box[2] - box[0], box[3] - box[1]
        if im.format == "JPEG" and min(bw, bh) > 2 * res:
            im.draft(mode, (math.ceil(w * res / bw), math.ceil(h * res / bh)))
            sx, sy = im.size[0] / w, im.size[1] / h
            box = (box[0] * sx, box[1] * sy, box[2] * sx, box[3] * sy)
        if im.mode != mode:
            im = im.convert(mode)
        return np.asarray(im.resize((res, res), Image.BILINEAR, box=box), dtype=np.uint8)


class FolderSource(TorchDataset):
    """Map-style source of one split: ``source[key]`` decodes one image. A training key is
    ``(epoch, position, index)``: the crop and flip come from (seed, epoch, position); a test key
    is an index. Returns ``(uint8 C x H x W tensor, label, error, errno)``: `error` is "" or the
    one-line reason the file could not be used, `errno` that of a failed read (0 for a file that
    was read but is no image). The job process raises them (`check_batch`), the same line under
    every launcher and worker count."""

    def __init__(self, split: Split, cfg: StreamConfig, train: bool, seed: int = 0):
        self.split, self.cfg, self.train, self.seed = split, cfg, train, seed

    def __len__(self) -> int:
        return len(self.split)

    def __getitem__(self, key: Any) -> tuple[torch.Tensor, int, str, int]:
        cfg = self.cfg
        if self.train:
            epoch, position, index = key
            rng = np.random.default_rng([_SAMPLE, self.seed, epoch, position])
        else:
            index, rng = key, None
        path = str(self.split.root / self.split.paths[index])

        def box_of(w: int, h: int) -> Box:
            if rng is None:
                return eval_box(w, h, cfg.eval_crop_fraction)
            return train_box(w, h, rng, cfg.scale, cfg.ratio)

        error, errno = "", 0
        try:
            a = decode_box(path, box_of, cfg.resolution, cfg.channels)
            if rng is not None and cfg.flip and rng.uniform() < 0.5:
                a = a[:, ::-1]
        except Exception as e:  # noqa: BLE001 - any decoder error is an unreadable image
            a = np.zeros((cfg.resolution, cfg.resolution, cfg.channels), dtype=np.uint8)
            errno = getattr(e, "errno", None) or 0
            error = (f"{NAME}: cannot read {path!r} ({e.strerror or e})" if errno else
                     f"{NAME}: {path!r} is not a readable image ({type(e).__name__}); "
                     f"expected {FOLDER_LAYOUT}")
        a = a[:, :, None] if a.ndim == 2 else a
        return torch.from_numpy(np.ascontiguousarray(a.transpose(2, 0, 1))), \
            int(self.split.labels[index]), error, errno


def check_batch(errors: Sequence[str], errnos: torch.Tensor) -> None:
    """Raise the first failure of a batch: `OSError` for a failed read (a failure of the
    machine: a rerun retries it), `DataError` for a file that is no image."""
    for error, errno in zip(errors, errnos.tolist(), strict=True):
        if errno:
            raise OSError(errno, error)
        if error:
            raise DataError(error)


# -- order ------------------------------------------------------------------------------------

def epoch_order(seed: int, epoch: int, n: int) -> np.ndarray:
    """The permutation of ``range(n)`` epoch `epoch` visits: a pure function of (seed, epoch)."""
    return np.random.default_rng([_ORDER, seed, epoch]).permutation(n)


class EpochBatches:
    """Batch sampler of one training epoch: batch i holds the keys ``(epoch, p, order[p])`` for
    the positions p of ``bounds[i]``, from batch `start` on."""

    def __init__(self, seed: int, epoch: int, n: int, bounds: Sequence[tuple[int, int]],
                 start: int = 0):
        self.order = epoch_order(seed, epoch, n)
        self.epoch, self.bounds = epoch, list(bounds)[start:]

    def __len__(self) -> int:
        return len(self.bounds)

    def __iter__(self) -> Iterator[list[tuple[int, int, int]]]:
        for s, e in self.bounds:
            yield [(self.epoch, p, int(self.order[p])) for p in range(s, e)]


# -- the dataset ------------------------------------------------------------------------------

@dataclass(frozen=True)
class StreamConfig:
    """The checked ``data.*`` values of a streamed folder."""

    resolution: int
    channels: int
    scale: tuple[float, float] = (0.08, 1.0)
    ratio: tuple[float, float] = (3 / 4, 4 / 3)
    eval_crop_fraction: float = 0.875
    flip: bool = True
    workers: int = 0
    prefetch: int = 2


@dataclass(frozen=True)
class StreamDataset:
    """A streamed image folder: what the trainer needs of a dataset (name, classes,
    normalization, resolution, summary) plus the batches of an epoch and of the test split."""

    name: str
    train_split: Split
    test_split: Split
    num_classes: int
    mean: torch.Tensor
    std: torch.Tensor
    cfg: StreamConfig
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))
    crop_padding: int = 0

    @property
    def channels(self) -> int:
        return self.cfg.channels

    @property
    def resolution(self) -> int:
        return self.cfg.resolution

    @property
    def train_size(self) -> int:
        return len(self.train_split)

    def to(self, device: torch.device | str) -> StreamDataset:
        """The same dataset delivering batches on `device` (pinned, non-blocking on CUDA)."""
        device = torch.device(device)
        return replace(self, mean=self.mean.to(device), std=self.std.to(device), device=device)

    def summary(self) -> dict[str, Any]:
        return {"name": self.name, "train_size": len(self.train_split),
                "test_size": len(self.test_split), "resolution": self.resolution,
                "channels": self.channels, "num_classes": self.num_classes,
                "mean": [round(float(v), 6) for v in self.mean],
                "std": [round(float(v), 6) for v in self.std]}

    def train_batches(self, seed: int, epoch: int, bounds: Sequence[tuple[int, int]],
                      start: int = 0) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """uint8 images and int64 labels of epoch `epoch`'s batches (`bounds` slice its
        order), from batch `start` on, on this dataset's device."""
        source = FolderSource(self.train_split, self.cfg, train=True, seed=seed)
        sampler = EpochBatches(seed, epoch, len(self.train_split), bounds, start)
        return self._iterate(source, sampler)

    def test_batches(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """The test split in order, `EVAL_BATCH` images a batch."""
        n = len(self.test_split)
        batches = [list(range(s, min(s + EVAL_BATCH, n))) for s in range(0, n, EVAL_BATCH)]
        return self._iterate(FolderSource(self.test_split, self.cfg, train=False), batches)

    def _iterate(self, source: FolderSource, batches: Any
                 ) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        cuda = self.device.type == "cuda"
        for x, y, errors, errnos in make_loader(source, batches, self.cfg, pin=cuda):
            check_batch(errors, errnos)
            yield x.to(self.device, non_blocking=cuda), y.to(self.device, non_blocking=cuda)


def make_loader(source: FolderSource, batches: Any, cfg: StreamConfig,
                pin: bool = False) -> DataLoader:
    """A DataLoader over `batches` (lists of keys) with ``cfg.workers`` forked workers (spawned
    where fork does not exist), each holding at most ``cfg.prefetch`` batches in flight; in
    order, so the worker count never changes what comes out."""
    if cfg.workers == 0:
        return DataLoader(source, batch_sampler=batches, num_workers=0, pin_memory=pin)
    method = "fork" if "fork" in mp.get_all_start_methods() else "spawn"
    return DataLoader(source, batch_sampler=batches, num_workers=cfg.workers,
                      prefetch_factor=cfg.prefetch, pin_memory=pin,
                      multiprocessing_context=mp.get_context(method))


# -- config -----------------------------------------------------------------------------------

def _range(cfg: Mapping[str, Any], key: str, default: tuple[float, float], low: float,
           high: float) -> tuple[float, float]:
    value = cfg.get(key, list(default))
    ok = (isinstance(value, (list, tuple)) and len(value) == 2
          and all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
                  for v in value))
    if not ok or not (low < value[0] <= value[1] <= high):
        raise DataError(f"data.{key}: {value!r} is not allowed; use [low, high] with "
                        f"{low} < low <= high <= {high}")
    return (float(value[0]), float(value[1]))


def _count(cfg: Mapping[str, Any], key: str, default: int, low: int) -> int:
    value = cfg.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise DataError(f"data.{key}: {value!r} is not allowed; use an integer >= {low}")
    return value


def _stats(cfg: Mapping[str, Any], key: str, channels: int) -> torch.Tensor | None:
    value = cfg.get(key)
    if value is None:
        return None
    ok = (isinstance(value, (list, tuple)) and len(value) == channels
          and all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
                  and 0 < v <= 1 for v in value))
    if not ok:
        raise DataError(f"data.{key}: {value!r} is not allowed; use null (estimated from the "
                        f"train split) or {channels} number(s) in (0, 1], one per channel")
    return torch.tensor([float(v) for v in value])


def stream_config(cfg: Mapping[str, Any], resolution: int, channels: int,
                  flip: bool) -> StreamConfig:
    """Check the streamed folder's own keys (the common ones are checked by `load_dataset`)."""
    if cfg.get("crop_padding", 0) != 0:
        raise DataError(f"data.crop_padding: {cfg.get('crop_padding')!r} is not allowed for "
                        f"{NAME}; use 0 (the random-sized crop replaces the padded crop)")
    fraction = cfg.get("eval_crop_fraction", 0.875)
    if (isinstance(fraction, bool) or not isinstance(fraction, (int, float))
            or not 0 < fraction <= 1):
        raise DataError(f"data.eval_crop_fraction: {fraction!r} is not allowed; use a number "
                        "in (0, 1] (0.875: 256 -> 224 at 224 px)")
    workers = _count(cfg, "workers", 0, 0)
    if workers and mp.current_process().daemon:
        raise DataError(f"data.workers: {workers} cannot start loader processes inside this "
                        "launcher's daemonic job process; use data.workers=0 (decode in the job) "
                        "or the joblib, submitit_local or slurm launcher")
    return StreamConfig(resolution=resolution, channels=channels,
                        scale=_range(cfg, "scale", (0.08, 1.0), 0.0, 1.0),
                        ratio=_range(cfg, "ratio", (3 / 4, 4 / 3), 0.0, math.inf),
                        eval_crop_fraction=float(fraction), flip=flip, workers=workers,
                        prefetch=_count(cfg, "prefetch", 2, 1))


def load_stream(cfg: Mapping[str, Any], root: Path, resolution: int, channels: int,
                num_classes: int, flip: bool) -> StreamDataset:
    """List the folder (no image is decoded, except `STATS_IMAGES` train images when
    ``data.mean``/``data.std`` are null) and return its `StreamDataset`."""
    sc = stream_config(cfg, resolution, channels, flip)
    classes = class_names(root)
    if len(classes) != num_classes:
        raise DataError(f"data.num_classes: {num_classes} does not match the {len(classes)} "
                        f"classes of {NAME}; set data.num_classes={len(classes)}")
    train_split, test_split = (list_split(root, s, classes) for s in ("train", "val"))
    mean, std = _stats(cfg, "mean", channels), _stats(cfg, "std", channels)
    if mean is None or std is None:
        est_mean, est_std = estimate_stats(train_split, sc)
        mean = est_mean if mean is None else mean
        std = est_std if std is None else std
    return StreamDataset(NAME, train_split, test_split, num_classes, mean, std, sc)


def stream_dataset(cfg: Mapping[str, Any], common: Common) -> StreamDataset:
    """The registry's loader of ``imagefolder_stream`` (`train.datasets`): `load_stream` of
    ``data.root`` with the checked common keys."""
    return load_stream(cfg, root_dir(cfg, FOLDER_LAYOUT), common.resolution, common.channels,
                       common.num_classes, common.flip)


def estimate_stats(split: Split, cfg: StreamConfig) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-channel mean and std (in [0, 1] units, std floored at 1e-3) of up to
    `STATS_IMAGES` evenly spaced train images, center-cropped as for testing."""
    n = len(split)
    picks = np.unique(np.linspace(0, n - 1, min(n, STATS_IMAGES)).round().astype(np.int64))
    batches = [picks[s:s + EVAL_BATCH].tolist() for s in range(0, len(picks), EVAL_BATCH)]
    total = torch.zeros(cfg.channels, dtype=torch.float64)
    total_sq = torch.zeros(cfg.channels, dtype=torch.float64)
    count = 0
    for x, _, errors, errnos in make_loader(FolderSource(split, cfg, train=False), batches, cfg):
        check_batch(errors, errnos)
        xf = x.double().div_(255.0)
        total += xf.sum(dim=(0, 2, 3))
        total_sq += xf.square().sum(dim=(0, 2, 3))
        count += x.shape[0] * x.shape[2] * x.shape[3]
    mean = total / count
    std = (total_sq / count - mean.square()).clamp_min(0).sqrt().clamp_min(1e-3)
    return mean.float(), std.float()
