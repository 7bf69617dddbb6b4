"""Throughput of the streamed image-folder loader (``data=imagefolder_stream``) against a plain
Pillow loop, in one run (docs/TRAINING.md "Streamed image folders").

On a folder of ImageNet-sized JPEGs (generated: photo-like smooth scenes with texture, 300-600
px a side, quality 90; or ``--root`` an existing ``train/<class>/*`` folder) it measures, one
process each, images per second decoded and augmented for training (random-sized crop to
``--resolution``, flip):

- ``pillow_plain``: the baseline one would write by hand: ``Image.open().convert("RGB")``, full
  decode, crop, bilinear resize, flip;
- ``stream``: `train.stream.FolderSource` (what one loader worker runs: Pillow with DCT-scaled
  decoding of the crop box, one antialiased resample);
- ``simplejpeg``: the same crop with simplejpeg (libjpeg-turbo) decoding at the smallest DCT
  scale (if installed: the candidate decoder);

then the throughput of whole batches through the DataLoader (`StreamDataset.train_batches`) at
1 and 2 workers, and the same for test batches (resize + center crop) at 1 worker.

Every rate is the best of ``--reps`` interleaved rounds (other processes on the machine slow
some rounds; the best is the least disturbed). Run:
``python benchmarks/bench_loader.py [--images 600] [--resolution 224] [--reps 3]
[--json out.json]``.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
from PIL import Image

from train.stream import FolderSource, list_split, load_stream, train_box


def make_folder(root: Path, images: int, classes: int = 4, seed: int = 0) -> None:
    """``images`` photo-like JPEGs per split under ``root/{train,val}/<class>/``."""
    rng = np.random.default_rng(seed)
    for split in ("train", "val"):
        for i in range(images if split == "train" else max(classes, images // 4)):
            w, h = (int(v) for v in rng.integers(300, 600, 2))
            coarse = rng.uniform(20, 235, (h // 24 + 2, w // 24 + 2, 3)).astype(np.uint8)
            img = np.asarray(Image.fromarray(coarse).resize((w, h), Image.BICUBIC), np.int16)
            img = img + rng.integers(-12, 13, img.shape)  # texture: what makes JPEGs costly
            d = root / split / f"c{i % classes}"
            d.mkdir(parents=True, exist_ok=True)
            Image.fromarray(np.clip(img, 0, 255).astype(np.uint8)).save(d / f"{i}.jpg", quality=90)


def pillow_plain(paths: list[str], res: int) -> float:
    """Images/s of the hand-written loop (full decode, crop, resize, flip)."""
    t0 = time.perf_counter()
    for i, p in enumerate(paths):
        rng = np.random.default_rng(i)
        with Image.open(p) as im:
            im = im.convert("RGB")
            box = train_box(*im.size, rng, (0.08, 1.0), (3 / 4, 4 / 3))
            out = im.crop(tuple(round(v) for v in box)).resize((res, res), Image.BILINEAR)
            if rng.uniform() < 0.5:
                out = out.transpose(Image.FLIP_LEFT_RIGHT)
            np.asarray(out)
    return len(paths) / (time.perf_counter() - t0)


def simplejpeg_loop(paths: list[str], res: int) -> float | None:
    """Images/s with simplejpeg decoding at the smallest DCT scale that keeps the box >= res."""
    try:
        import simplejpeg
    except ImportError:
        return None
    t0 = time.perf_counter()
    for i, p in enumerate(paths):
        rng = np.random.default_rng(i)
        data = Path(p).read_bytes()
        h, w, _, _ = simplejpeg.decode_jpeg_header(data)
        box = train_box(w, h, rng, (0.08, 1.0), (3 / 4, 4 / 3))
        bw, bh = box[2] - box[0], box[3] - box[1]
        a = simplejpeg.decode_jpeg(data, colorspace="RGB", min_width=math.ceil(w * res / bw),
                                   min_height=math.ceil(h * res / bh))
        sx, sy = a.shape[1] / w, a.shape[0] / h
        box = (box[0] * sx, box[1] * sy, box[2] * sx, box[3] * sy)
        out = Image.fromarray(a).resize((res, res), Image.BILINEAR, box=box)
        if rng.uniform() < 0.5:
            out = out.transpose(Image.FLIP_LEFT_RIGHT)
        np.asarray(out)
    return len(paths) / (time.perf_counter() - t0)


def stream_loop(source: FolderSource, n: int) -> float:
    t0 = time.perf_counter()
    for i in range(n):
        source[(0, i, i)]
    return n / (time.perf_counter() - t0)


def loader_rate(ds, workers: int, batch: int, train: bool = True) -> float:
    """Images/s of whole batches through the DataLoader (worker start-up included)."""
    ds = replace(ds, cfg=replace(ds.cfg, workers=workers))
    n = len(ds.train_split) if train else len(ds.test_split)
    bounds = [(s, min(s + batch, n)) for s in range(0, n, batch)]
    t0 = time.perf_counter()
    seen = 0
    for x, _ in (ds.train_batches(0, 0, bounds) if train else ds.test_batches()):
        seen += x.shape[0]
    return seen / (time.perf_counter() - t0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--images", type=int, default=600, help="generated train images")
    ap.add_argument("--resolution", type=int, default=224)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--reps", type=int, default=3, help="interleaved rounds; best of each")
    ap.add_argument("--root", default=None, help="an existing image folder instead")
    ap.add_argument("--json", default=None)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(args.root) if args.root else Path(tmp)
        if not args.root:
            t0 = time.perf_counter()
            make_folder(root, args.images)
            print(f"generated {args.images} JPEGs in {time.perf_counter() - t0:.1f}s")
        classes = sorted(p.name for p in (root / "train").iterdir() if p.is_dir())
        cfg = {"scale": [0.08, 1.0], "ratio": [0.75, 4 / 3], "mean": [0.5] * 3,
               "std": [0.25] * 3}
        ds = load_stream(cfg, root, args.resolution, 3, len(classes), True)
        split = list_split(root, "train", classes)
        n = min(len(split), args.images)
        paths = [str(split.root / split.paths[i]) for i in range(n)]
        source = FolderSource(split, ds.cfg, train=True)
        for p in paths:  # warm the page cache: every variant reads from memory
            Path(p).read_bytes()
        res = args.resolution
        out = {"images": n, "resolution": res, "batch": args.batch, "cpus": os.cpu_count(),
               "reps": args.reps, "load_before": os.getloadavg()[0]}
        variants = {"pillow_plain": lambda: pillow_plain(paths, res),
                    "stream": lambda: stream_loop(source, n),
                    "simplejpeg": lambda: simplejpeg_loop(paths, res)}
        rates: dict[str, list] = {k: [] for k in variants}
        loader: dict[str, list] = {"1": [], "2": []}
        for _ in range(args.reps):  # interleaved: a busy spell hits every variant alike
            for k, f in variants.items():
                rates[k].append(f())
            for w in loader:
                loader[w].append(loader_rate(ds, int(w), args.batch))
        out["per_worker"] = {k: None if None in v else max(v) for k, v in rates.items()}
        out["loader_train"] = {w: max(v) for w, v in loader.items()}
        out["loader_test_1_worker"] = loader_rate(ds, 1, args.batch, train=False)
    pw = out["per_worker"]
    print(f"{n} images at {res} px, batch {args.batch}, {os.cpu_count()} CPUs, load average "
          f"{out['load_before']:.1f} before, {os.getloadavg()[0]:.1f} after (other processes "
          "share the CPUs: compare ratios, not absolute rates)")
    print(f"per worker (images/s decoded + augmented, one process, best of {args.reps}):")
    for k, v in pw.items():
        ratio = "" if v is None else f"  ({v / pw['pillow_plain']:.2f}x plain Pillow)"
        print(f"  {k:14s} {'not installed' if v is None else f'{v:8.1f}'}{ratio}")
    lt = out["loader_train"]
    print(f"DataLoader, training batches: 1 worker {lt['1']:.1f}/s, 2 workers {lt['2']:.1f}/s "
          f"(x{lt['2'] / lt['1']:.2f})")
    print(f"DataLoader, test batches (resize + center crop), 1 worker: "
          f"{out['loader_test_1_worker']:.1f}/s")
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=1) + "\n")


if __name__ == "__main__":
    main()
