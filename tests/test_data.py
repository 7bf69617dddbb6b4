"""Datasets and batched transforms on real (small) data in the real on-disk formats."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import torch
from PIL import Image

from train.data import DataError, load_dataset
from train.transforms import normalize, random_crop, random_flip, resize_uint8

torch.set_num_threads(1)

MNIST = dict(name="mnist5k", resolution=28, channels=1, num_classes=10, crop_padding=2,
             flip=False, test_size=1000, split_seed=0)


def test_mnist5k_split_cache_and_rebuild(tmp_path):
    cfg = {**MNIST, "cache_dir": str(tmp_path)}
    d = load_dataset(cfg)
    assert d.x_train.shape == (4000, 1, 28, 28) and d.x_test.shape == (1000, 1, 28, 28)
    assert d.x_train.dtype == torch.uint8 and d.y_train.dtype == torch.int64
    assert set(d.y_test.tolist()) == set(range(10))
    assert 0.1 < float(d.mean[0]) < 0.16  # MNIST's mean intensity is ~0.13
    cache = tmp_path / "mnist5k-v1.npz"
    assert cache.is_file() and not list(tmp_path.glob("*.tmp"))
    cache.write_bytes(b"not an npz file")  # a corrupt cache is rebuilt
    d2 = load_dataset(cfg)
    assert torch.equal(d.x_train, d2.x_train) and torch.equal(d.y_test, d2.y_test)
    with np.load(cache) as z:
        assert z["x"].shape == (5000, 1, 28, 28)
    d3 = load_dataset({**cfg, "split_seed": 1})
    assert not torch.equal(d.y_test, d3.y_test)


def test_mnist5k_resize_and_channels(tmp_path):
    d = load_dataset({**MNIST, "cache_dir": str(tmp_path), "resolution": 32, "channels": 3})
    assert d.x_train.shape == (4000, 3, 32, 32) and d.channels == 3 and d.resolution == 32
    assert torch.equal(d.x_train[:, 0], d.x_train[:, 2])


def test_digits():
    d = load_dataset(dict(name="digits", resolution=16, channels=1, num_classes=10,
                          crop_padding=1, flip=False, test_size=360, split_seed=0))
    assert d.x_train.shape == (1437, 1, 16, 16) and d.x_test.shape == (360, 1, 16, 16)
    assert int(d.x_train.max()) > 200


def test_synthetic_is_configurable():
    d = load_dataset(dict(name="synthetic", resolution=12, channels=3, num_classes=5,
                          train_size=40, test_size=10, seed=1))
    assert d.x_train.shape == (40, 3, 12, 12) and d.x_test.shape == (10, 3, 12, 12)
    assert d.num_classes == 5 and int(d.y_train.max()) < 5


def test_bad_config_is_one_clear_line():
    with pytest.raises(DataError, match=r"data.name: 'nope'.*allowed"):
        load_dataset(dict(name="nope"))
    with pytest.raises(DataError, match=r"data: unknown key\(s\) \['colour'\]"):
        load_dataset({**MNIST, "colour": 1})
    with pytest.raises(DataError, match=r"data.num_classes: 7 does not match the 10"):
        load_dataset({**MNIST, "num_classes": 7})
    with pytest.raises(DataError, match=r"data.channels: 2"):
        load_dataset({**MNIST, "channels": 2})


def _write_cifar(root, n=6, corrupt=None):
    root.mkdir()
    rng = np.random.default_rng(0)
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        d = {b"data": rng.integers(0, 256, (n, 3072), dtype=np.uint8),
             b"labels": list(rng.integers(0, 10, n).tolist()), b"batch_label": name.encode()}
        d[b"labels"][0] = 9  # every batch holds class 9, so 10 classes are present
        with open(root / name, "wb") as f:
            if name == corrupt:
                f.write(b"\x80\x04garbage")
            else:
                pickle.dump(d, f)
    return root


def test_cifar10_real_format(tmp_path):
    root = _write_cifar(tmp_path / "cifar-10-batches-py")
    cfg = dict(name="cifar10", root=str(root), resolution=32, channels=3, num_classes=10,
               crop_padding=4, flip=True)
    d = load_dataset(cfg)
    assert d.x_train.shape == (30, 3, 32, 32) and d.x_test.shape == (6, 3, 32, 32)
    with open(root / "data_batch_2", "rb") as f:
        raw = pickle.load(f, encoding="bytes")
    assert torch.equal(d.x_train[6], torch.from_numpy(raw[b"data"][0].reshape(3, 32, 32)))
    (root / "test_batch").unlink()
    with pytest.raises(DataError, match=r"test_batch' is missing; expected a cifar-10-batches"):
        load_dataset(cfg)
    with pytest.raises(DataError, match=r"data.root: .*is not a directory"):
        load_dataset({**cfg, "root": str(tmp_path / "absent")})


def test_cifar10_corrupt_batch(tmp_path):
    root = _write_cifar(tmp_path / "c", corrupt="data_batch_3")
    with pytest.raises(DataError, match=r"data_batch_3' is corrupt"):
        load_dataset(dict(name="cifar10", root=str(root), resolution=32, channels=3,
                          num_classes=10))


def _write_folder(root, corrupt=False):
    rng = np.random.default_rng(0)
    for split, n in (("train", 3), ("val", 2)):
        for c, cls in enumerate(("cat", "dog")):
            d = root / split / cls
            d.mkdir(parents=True)
            for i in range(n):
                a = rng.integers(0, 256, (20 + i, 30, 3), dtype=np.uint8)
                a[..., c] = 255
                ext = "png" if i % 2 == 0 else "jpg"
                Image.fromarray(a).save(d / f"{i}.{ext}")
    if corrupt:
        (root / "val" / "dog" / "bad.png").write_bytes(b"\x89PNG\r\n garbage")


def test_imagefolder_png_and_jpeg(tmp_path):
    _write_folder(tmp_path)
    cfg = dict(name="imagefolder", root=str(tmp_path), resolution=16, channels=3,
               num_classes=2, crop_padding=2, flip=True)
    d = load_dataset(cfg)
    assert d.x_train.shape == (6, 3, 16, 16) and d.x_test.shape == (4, 3, 16, 16)
    assert d.y_train.tolist() == [0, 0, 0, 1, 1, 1]
    # class 0 images have a saturated red channel, class 1 a saturated green one
    assert int(d.x_train[0, 0].min()) > 200 and int(d.x_train[3, 1].min()) > 200
    gray = load_dataset({**cfg, "channels": 1})
    assert gray.x_train.shape == (6, 1, 16, 16)
    with pytest.raises(DataError, match=r"data.num_classes: 3 does not match the 2"):
        load_dataset({**cfg, "num_classes": 3})


def test_imagefolder_bad_paths(tmp_path):
    _write_folder(tmp_path, corrupt=True)
    cfg = dict(name="imagefolder", root=str(tmp_path), resolution=16, channels=3,
               num_classes=2)
    with pytest.raises(DataError, match=r"bad.png' is not a readable image"):
        load_dataset(cfg)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(DataError, match=r"has no class folders; expected a root with train/"):
        load_dataset({**cfg, "root": str(empty)})
    with pytest.raises(DataError, match=r"data.root: None is not set"):
        load_dataset({**cfg, "root": None})


def test_random_crop_is_a_shifted_window():
    g = torch.Generator().manual_seed(0)
    x = torch.randint(0, 256, (64, 2, 9, 9), dtype=torch.uint8)
    out = random_crop(x, 2, g)
    assert out.shape == x.shape and out.dtype == torch.uint8
    padded = torch.nn.functional.pad(x, (2, 2, 2, 2))
    for i in range(64):  # every image equals some window of its padded self
        assert any(torch.equal(out[i], padded[i, :, r:r + 9, c:c + 9])
                   for r in range(5) for c in range(5))
    assert not torch.equal(out, x)  # some crops moved
    again = random_crop(x, 2, torch.Generator().manual_seed(0))
    assert torch.equal(out, again)


def test_flip_normalize_resize():
    g = torch.Generator().manual_seed(0)
    x = torch.randint(0, 256, (200, 1, 4, 4), dtype=torch.uint8)
    f = random_flip(x, g)
    flipped = torch.tensor([torch.equal(f[i], x[i].flip(2)) for i in range(200)])
    kept = torch.tensor([torch.equal(f[i], x[i]) for i in range(200)])
    assert bool((flipped | kept).all()) and 60 < int(flipped.sum()) < 140
    n = normalize(x, torch.tensor([0.5]), torch.tensor([0.25]))
    assert torch.allclose(n, (x.float() / 255 - 0.5) / 0.25)
    const = torch.full((2, 1, 8, 8), 77, dtype=torch.uint8)
    assert torch.equal(resize_uint8(const, 5), torch.full((2, 1, 5, 5), 77, dtype=torch.uint8))
