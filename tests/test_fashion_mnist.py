"""Fashion-MNIST from IDX files: the format (train/idx.py), the file layouts, the class-balanced
subset and validation split (train/fashion_mnist.py), on small files written in the real format,
and on the real files where Debian's dataset-fashion-mnist is installed."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest

from train.fashion_mnist import (
    DEFAULT_ROOT,
    FashionMnistError,
    balanced_subset,
    fashion_mnist_splits,
    locate,
)
from train.idx import IdxError, read_idx, write_idx


def _write_set(folder: Path, n_train: int, n_test: int, suffix: str = ".gz",
               seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    x = rng.integers(0, 256, (n_train + n_test, 28, 28), dtype=np.uint8)
    y = (np.arange(n_train + n_test) % 10).astype(np.uint8)
    write_idx(folder / f"train-images-idx3-ubyte{suffix}", x[:n_train])
    write_idx(folder / f"train-labels-idx1-ubyte{suffix}", y[:n_train])
    write_idx(folder / f"t10k-images-idx3-ubyte{suffix}", x[n_train:])
    write_idx(folder / f"t10k-labels-idx1-ubyte{suffix}", y[n_train:])
    return x, y


def test_idx_round_trip_raw_and_gzip(tmp_path):
    a = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    for name in ("a.idx", "a.idx.gz"):
        write_idx(tmp_path / name, a)
        np.testing.assert_array_equal(read_idx(tmp_path / name, 3), a)
    raw = (tmp_path / "a.idx").read_bytes()
    assert raw[:4] == bytes((0, 0, 8, 3)) and raw[4:16] == bytes((0, 0, 0, 2, 0, 0, 0, 3,
                                                                  0, 0, 0, 4))
    assert gzip.decompress((tmp_path / "a.idx.gz").read_bytes()) == raw


@pytest.mark.parametrize(("content", "ndim", "says"), [
    (b"\x00\x00\x08", 1, "truncated (3 bytes)"),
    (b"\x00\x00\x0d\x01\x00\x00\x00\x02ab", 1, "wrong magic number 0x00000d01"),
    (b"\x00\x00\x08\x03\x00\x00\x00\x02", 1, "wrong magic number 0x00000803"),
    (b"\x00\x00\x08\x01\x00\x00\x00\x05abc", 1, "3 bytes of data; its header [5] says 5"),
])
def test_malformed_idx_is_one_line_naming_the_path(tmp_path, content, ndim, says):
    path = tmp_path / "labels-idx1-ubyte"
    path.write_bytes(content)
    with pytest.raises(IdxError) as e:
        read_idx(path, ndim)
    assert str(e.value).startswith(str(path)) and says in str(e.value)
    assert "\n" not in str(e.value)


def test_corrupt_gzip_is_one_line(tmp_path):
    path = tmp_path / "x-idx1-ubyte.gz"
    path.write_bytes(gzip.compress(bytes((0, 0, 8, 1, 0, 0, 0, 4)) + b"abcd")[:-6])
    with pytest.raises(IdxError, match=r"x-idx1-ubyte.gz: cannot read an IDX file"):
        read_idx(path, 1)


def test_splits_are_class_balanced_seeded_and_disjoint(tmp_path):
    x, y = _write_set(tmp_path, 200, 50)
    cfg = {"root": str(tmp_path), "train_size": 40, "split_seed": 3}
    xtr, ytr, xte, yte = fashion_mnist_splits(cfg)
    assert xtr.shape == (40, 1, 28, 28) and xtr.dtype == np.uint8 and ytr.dtype == np.int64
    assert np.bincount(ytr).tolist() == [4] * 10
    np.testing.assert_array_equal(xte[:, 0], x[200:])  # the official test split, in order
    again = fashion_mnist_splits(cfg)
    np.testing.assert_array_equal(again[0], xtr)
    other = fashion_mnist_splits({**cfg, "split_seed": 4})[0]
    assert not np.array_equal(other, xtr)
    # the training images are images of the training file, with their own labels
    rows = {x[i].tobytes(): int(y[i]) for i in range(200)}
    assert [rows[img[0].tobytes()] for img in xtr] == ytr.tolist()
    # a validation split: balanced, disjoint from the training subset, replaces the test split
    xtr, ytr, xval, yval = fashion_mnist_splits({**cfg, "val_size": 30})
    assert np.bincount(yval).tolist() == [3] * 10
    assert not {i.tobytes() for i in xtr[:, 0]} & {i.tobytes() for i in xval[:, 0]}
    assert len(xval) == 30


def test_balanced_subset_spreads_the_remainder_and_refuses_too_many():
    labels = np.repeat(np.arange(10), 5)
    idx = balanced_subset(labels, 23, np.random.default_rng(0))
    assert np.bincount(labels[idx], minlength=10).tolist() == [3, 3, 3] + [2] * 7
    with pytest.raises(FashionMnistError, match="class 0 has 5 images left; 6 asked"):
        balanced_subset(labels, 60, np.random.default_rng(0))


def test_the_other_tools_layout_and_raw_files(tmp_path):
    _write_set(tmp_path / "FashionMNIST" / "raw", 20, 10, suffix="")
    xtr, ytr, xte, yte = fashion_mnist_splits({"root": str(tmp_path), "train_size": 20})
    assert len(xtr) == 20 and len(xte) == 10


@pytest.mark.parametrize(("setup", "says"), [
    ("missing", "is not a directory"),
    ("empty", "lacks train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte"),
    ("labels", "label 12 is out of range; expected 0..9"),
    ("count", "9 labels for the 10 images"),
    ("magic", "wrong magic number"),
])
def test_bad_folders_and_files_name_the_path_and_the_package(tmp_path, setup, says):
    root = tmp_path / "fm"
    if setup != "missing":
        root.mkdir()
    if setup in ("labels", "count", "magic"):
        _write_set(root, 10, 10)
    if setup == "labels":
        write_idx(root / "train-labels-idx1-ubyte.gz", np.full(10, 12, np.uint8))
    if setup == "count":
        write_idx(root / "train-labels-idx1-ubyte.gz", np.zeros(9, np.uint8))
    if setup == "magic":
        (root / "t10k-images-idx3-ubyte.gz").write_bytes(gzip.compress(b"\x08\x08\x08\x08" * 8))
    with pytest.raises(FashionMnistError) as e:
        fashion_mnist_splits({"root": str(root), "train_size": 10})
    message = str(e.value)
    assert says in message and "\n" not in message
    assert "dataset-fashion-mnist" in message
    assert str(root) in message


@pytest.mark.parametrize(("cfg", "says"), [
    ({"train_size": 5}, "data.train_size: 5 is not allowed; use an integer from 10 to 60000"),
    ({"train_size": True}, "data.train_size: True is not allowed"),
    ({"train_size": 59_990, "val_size": 20}, "data.val_size: 20 is not allowed; use an "
                                             "integer from 0 to 10"),
    ({"split_seed": -1}, "data.split_seed: -1 is not allowed"),
])
def test_bad_sizes_are_one_line(cfg, says):
    with pytest.raises(FashionMnistError, match=says.replace(".", r"\.")):
        fashion_mnist_splits({"root": "/nonexistent", **cfg})


@pytest.mark.skipif(not Path(DEFAULT_ROOT).is_dir(),
                    reason="Debian's dataset-fashion-mnist is not installed (CI installs it)")
def test_the_real_files_of_the_debian_package():
    files = locate(None)
    assert all(str(p).startswith(DEFAULT_ROOT) for pair in files.values() for p in pair)
    xtr, ytr, xte, yte = fashion_mnist_splits({})
    assert xtr.shape == (60_000, 1, 28, 28) and xte.shape == (10_000, 1, 28, 28)
    assert np.bincount(ytr).tolist() == [6_000] * 10
    assert np.bincount(yte).tolist() == [1_000] * 10
    sub = fashion_mnist_splits({"train_size": 2_500})[1]
    assert np.bincount(sub).tolist() == [250] * 10


def test_load_dataset_serves_fashion_mnist_from_the_config(tmp_path):
    from omegaconf import OmegaConf

    from train.data import load_dataset

    _write_set(tmp_path, 100, 20)
    cfg = OmegaConf.to_container(OmegaConf.load(
        Path(__file__).resolve().parents[1] / "conf" / "data" / "fashion_mnist.yaml"))
    d = load_dataset({**cfg, "root": str(tmp_path), "train_size": 50, "resolution": 16})
    assert tuple(d.x_train.shape) == (50, 1, 16, 16) and tuple(d.x_test.shape) == (20, 1, 16, 16)
    assert d.summary()["train_size"] == 50 and d.num_classes == 10 and d.crop_padding == 2
    assert d.x_test.is_contiguous() and d.x_test.dtype == d.x_train.dtype


def test_dse_train_names_the_missing_package_in_one_line(tmp_path):
    import subprocess
    import sys

    exe = Path(sys.executable).parent / "dse-train"
    p = subprocess.run([str(exe), "data=fashion_mnist", f"data.root={tmp_path / 'none'}",
                        f"sweep.dir={tmp_path / 'sw'}", "train.progress=none"],
                       capture_output=True, text=True, timeout=300)
    lines = p.stderr.strip().splitlines()
    assert p.returncode == 2, p.stderr
    assert len(lines) == 1 and lines[0].startswith("dse-train: error: data.root:")
    assert "apt-get install dataset-fashion-mnist" in lines[0]
