"""The IDX file format of MNIST and Fashion-MNIST (LeCun et al.; docs/TRAINING.md "Data"): one
home for reading it, raw or gzip-compressed.

An IDX file is a 4-byte magic number (two zero bytes, a type code, the number of dimensions),
one big-endian uint32 per dimension, then the values in C order. The image and label files of
these datasets hold unsigned bytes (type code 0x08): images ``N x rows x cols``, labels ``N``.
Every malformed file raises `IdxError`, one line naming the path and what was expected.
"""

from __future__ import annotations

import gzip
import zlib
from pathlib import Path

import numpy as np

from anynet.record import write_atomic

UBYTE = 0x08


class IdxError(ValueError):
    """A missing, truncated or malformed IDX file (one line naming the path)."""


def read_idx(path: str | Path, ndim: int) -> np.ndarray:
    """The uint8 array an IDX file of `ndim` dimensions holds (``.gz`` is decompressed)."""
    path = Path(path)
    try:
        raw = path.read_bytes()
        if path.suffix == ".gz":
            raw = gzip.decompress(raw)
    except (OSError, EOFError, zlib.error, gzip.BadGzipFile) as e:
        raise IdxError(f"{path}: cannot read an IDX file ({getattr(e, 'strerror', None) or e})"
                       ) from None
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise IdxError(f"{path}: truncated ({len(raw)} bytes); expected an IDX header of "
                       f"{header} bytes")
    magic = raw[:4]
    want = bytes((0, 0, UBYTE, ndim))
    if magic != want:
        raise IdxError(f"{path}: wrong magic number 0x{magic.hex()}; expected 0x{want.hex()} "
                       f"(unsigned bytes, {ndim} dimension{'s' if ndim > 1 else ''})")
    shape = tuple(int(v) for v in np.frombuffer(raw, ">u4", count=ndim, offset=4))
    size = int(np.prod(shape, dtype=np.int64))
    if len(raw) - header != size:
        raise IdxError(f"{path}: {len(raw) - header} bytes of data; its header {list(shape)} "
                       f"says {size} (truncated or padded file)")
    return np.frombuffer(raw, np.uint8, offset=header).reshape(shape).copy()  # writable


def read_images_labels(images: str | Path, labels: str | Path,
                       num_classes: int) -> tuple[np.ndarray, np.ndarray]:
    """Images ``N x 1 x rows x cols`` and int64 labels of a pair of IDX files, checked against
    each other (same N) and against `num_classes` (every label in 0..num_classes-1)."""
    x, y = read_idx(images, 3), read_idx(labels, 1)
    if len(x) != len(y):
        raise IdxError(f"{labels}: {len(y)} labels for the {len(x)} images of {images}")
    bad = y >= num_classes
    if bad.any():
        raise IdxError(f"{labels}: label {int(y[bad][0])} is out of range; expected 0.."
                       f"{num_classes - 1}")
    return x[:, None], y.astype(np.int64)


def write_idx(path: str | Path, array: np.ndarray) -> None:
    """Write a uint8 array as an IDX file (``.gz`` compressed by suffix): for tests and tools."""
    array = np.ascontiguousarray(array, dtype=np.uint8)
    data = (bytes((0, 0, UBYTE, array.ndim)) + np.asarray(array.shape, ">u4").tobytes()
            + array.tobytes())
    path = Path(path)
    out = gzip.compress(data, mtime=0) if path.suffix == ".gz" else data
    write_atomic(path, lambda f: f.write(out))
