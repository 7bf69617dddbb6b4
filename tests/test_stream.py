"""The streamed image folder (issue 26, ``data=imagefolder_stream``): the paper's augmentation,
the same batches whatever the worker count, bounded memory against the in-memory folder, resume
after a kill, the run identity, and loader workers under the launchers. Real JPEG/PNG folders
written with Pillow in the test's tmp folder; tiny real models."""

from __future__ import annotations

import hashlib
import json
import multiprocessing as mp
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from anynet import AnyNetSpec
from anynet.record import make_identity, run_id
from train.data import DataError, load_dataset
from train.datasets import DATASETS
from train.regime import Regime
from train.stream import StreamDataset, epoch_order, eval_box, stream_config, train_box
from train.trainer import TrainOptions, batch_bounds, train

torch.set_num_threads(1)

ROOT = Path(__file__).resolve().parents[1]
SPEC = "{depths:[1,1],widths:[8,16],bottleneck_ratios:[1,1],group_widths:[8,8],strides:[2,2]," \
       "stem_width:8}"
TINY = AnyNetSpec(depths=[1, 1], widths=[8, 16], bottleneck_ratios=[1, 1], group_widths=[8, 8],
                  strides=[2, 2], stem_width=8, in_channels=3, num_classes=4)


def make_folder(root: Path, train: int = 12, val: int = 4, classes: int = 4,
                sizes: tuple[int, int] = (28, 60), seed: int = 0) -> Path:
    """`train`/`val` images per class: class-coloured noise of random sizes, JPEG and PNG."""
    rng = np.random.default_rng(seed)
    for split, n in (("train", train), ("val", val)):
        for c in range(classes):
            d = root / split / f"class{c}"
            d.mkdir(parents=True, exist_ok=True)
            for i in range(n):
                h, w = (int(v) for v in rng.integers(sizes[0], sizes[1] + 1, 2))
                a = rng.integers(0, 80, (h, w, 3)) + 40 * np.eye(3, dtype=np.int64)[c % 3]
                a[: h // 2, : w // 3] += 90  # an asymmetric patch: flips are visible
                ext = "png" if i % 5 == 4 else "jpg"
                Image.fromarray(np.clip(a, 0, 255).astype(np.uint8)).save(d / f"{i}.{ext}")
    return root


def stream_cfg(root: Path, **over) -> dict:
    cfg = {"name": "imagefolder_stream", "root": str(root), "resolution": 24, "channels": 3,
           "num_classes": 4, "crop_padding": 0, "flip": True, "scale": [0.08, 1.0],
           "ratio": [0.75, 4 / 3], "eval_crop_fraction": 0.875, "mean": None, "std": None,
           "workers": 0, "prefetch": 2}
    return {**cfg, **over}


def epoch_digest(ds: StreamDataset, seed: int = 0, epoch: int = 0, batch: int = 10,
                 start: int = 0) -> list[str]:
    bounds = batch_bounds(ds.train_size, batch)
    return [hashlib.sha256(x.numpy().tobytes() + y.numpy().tobytes()).hexdigest()[:16]
            for x, y in ds.train_batches(seed, epoch, bounds, start)]


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    return make_folder(tmp_path_factory.mktemp("folder"))


@pytest.fixture(scope="module")
def medium(tmp_path_factory) -> Path:
    """Enough images that an epoch takes a moment (a kill lands between checkpoints)."""
    return make_folder(tmp_path_factory.mktemp("medium"), train=40, val=8)


# -- augmentation ------------------------------------------------------------------------------

def test_train_box_follows_pycls_ranges():
    rng = np.random.default_rng(0)
    w, h = 400, 300
    boxes = [train_box(w, h, rng, (0.08, 1.0), (0.75, 4 / 3)) for _ in range(2000)]
    bw = np.array([b[2] - b[0] for b in boxes])
    bh = np.array([b[3] - b[1] for b in boxes])
    assert all(0 <= b[0] and 0 <= b[1] and b[2] <= w and b[3] <= h for b in boxes)
    frac = bw * bh / (w * h)
    assert frac.min() >= 0.075 and frac.max() <= 1.0 and 0.35 < np.median(frac) < 0.55
    aspect = bw / bh
    assert aspect.min() >= 0.74 and aspect.max() <= 1.34
    assert 0.4 < np.mean(aspect > 1) < 0.6  # sides swapped half of the time
    # An image no crop fits (ten misses): the centered square of the shorter side.
    assert train_box(1000, 10, np.random.default_rng(0), (0.9, 1.0), (1.0, 1.0)) == (
        495.0, 0.0, 505.0, 10.0)


def test_eval_transform_is_resize_then_center_crop(tmp_path):
    """256 -> 224 at 224 px, scaled: at 32 px the shorter side goes to 32/0.875 ~ 37 and the
    center 32 x 32 is kept."""
    rng = np.random.default_rng(1)
    a = rng.integers(0, 255, (6, 9, 3)).astype(np.uint8)
    img = Image.fromarray(a).resize((450, 300), Image.BILINEAR)
    root = tmp_path / "f"
    for split in ("train", "val"):
        for c in ("a", "b"):
            (root / split / c).mkdir(parents=True)
            img.save(root / split / c / "0.png")
    ds = load_dataset(stream_cfg(root, resolution=32, num_classes=2, mean=[0.5] * 3,
                                 std=[0.2] * 3))
    (x, y), = list(ds.test_batches())
    x, y = x[:1], y[:1]
    short = round(32 / 0.875)
    ref = img.resize((round(450 * short / 300), short), Image.BILINEAR)
    left, top = (ref.size[0] - 32) // 2, (ref.size[1] - 32) // 2
    ref = np.asarray(ref.crop((left, top, left + 32, top + 32))).transpose(2, 0, 1)
    assert x.shape == (1, 3, 32, 32) and y.tolist() == [0]
    assert np.abs(x[0].numpy().astype(int) - ref).mean() < 6  # same geometry, one resample
    assert eval_box(450, 300, 0.875) == (93.75, 18.75, 356.25, 281.25)


def test_full_crop_and_flip(tmp_path):
    """scale = ratio = [1, 1] on square images: the crop is the whole image, flipped for about
    half of the samples."""
    root = make_folder(tmp_path / "f", train=10, val=1, classes=2, sizes=(40, 40))
    ds = load_dataset(stream_cfg(root, num_classes=2, scale=[1.0, 1.0], ratio=[1.0, 1.0],
                                 mean=[0.5] * 3, std=[0.2] * 3))
    n = ds.train_size
    (x, y), = list(ds.train_batches(0, 0, [(0, n)]))
    order = epoch_order(0, 0, n)
    flips = 0
    for k, i in enumerate(order):
        path = ds.train_split.root / ds.train_split.paths[int(i)]
        with Image.open(path) as im:
            ref = np.asarray(im.convert("RGB").resize((24, 24), Image.BILINEAR))
        got = x[k].numpy().transpose(1, 2, 0)
        straight = np.abs(got.astype(int) - ref).mean()
        mirrored = np.abs(got.astype(int) - ref[:, ::-1]).mean()
        assert min(straight, mirrored) < 1.0, (k, straight, mirrored)
        flips += mirrored < straight
        assert y[k] == ds.train_split.labels[i]
    assert 4 <= flips <= 16


# -- determinism --------------------------------------------------------------------------------

def test_same_batches_whatever_the_workers(folder):
    ds = load_dataset(stream_cfg(folder))
    base = epoch_digest(ds)
    assert len(base) == 5 and len(set(base)) == 5
    for workers, prefetch in ((1, 1), (2, 3)):
        other = replace(ds, cfg=replace(ds.cfg, workers=workers, prefetch=prefetch))
        assert epoch_digest(other) == base, workers
    assert epoch_digest(ds, epoch=1) != base  # another epoch: another order and other crops
    assert epoch_digest(ds, seed=1) != base
    assert epoch_digest(ds, start=2) == base[2:]  # a resumed epoch: the same remaining batches


def test_stats_estimated_or_given(folder):
    est = load_dataset(stream_cfg(folder))
    assert est.summary()["train_size"] == 48 and est.summary()["test_size"] == 16
    assert all(0.1 < v < 0.9 for v in est.mean.tolist()) and all(v > 0.05 for v in est.std)
    given = load_dataset(stream_cfg(folder, mean=[0.485, 0.456, 0.406], std=[0.229, 0.224, 0.225]))
    assert given.mean.tolist() == pytest.approx([0.485, 0.456, 0.406])


# -- bad input: one line -------------------------------------------------------------------------

@pytest.mark.parametrize("over, message", [
    ({"scale": [0.5, 0.1]}, "data.scale: [0.5, 0.1] is not allowed; use [low, high] with "
                            "0.0 < low <= high <= 1.0"),
    ({"ratio": "wide"}, "data.ratio: 'wide' is not allowed"),
    ({"eval_crop_fraction": 0}, "data.eval_crop_fraction: 0 is not allowed; use a number in "
                                "(0, 1] (0.875: 256 -> 224 at 224 px)"),
    ({"workers": -1}, "data.workers: -1 is not allowed; use an integer >= 0"),
    ({"prefetch": 0}, "data.prefetch: 0 is not allowed; use an integer >= 1"),
    ({"mean": [0.5, 0.5]}, "data.mean: [0.5, 0.5] is not allowed; use null (estimated from "
                           "the train split) or 3 number(s) in (0, 1], one per channel"),
    ({"crop_padding": 4}, "data.crop_padding: 4 is not allowed for imagefolder_stream; use 0"),
    ({"num_classes": 5}, "data.num_classes: 5 does not match the 4 classes of "
                         "imagefolder_stream; set data.num_classes=4"),
    ({"cache_dir": "/tmp"}, "data: unknown key(s) ['cache_dir'] for imagefolder_stream"),
])
def test_bad_values_are_one_line(folder, over, message):
    with pytest.raises(DataError) as e:
        load_dataset(stream_cfg(folder, **over))
    assert str(e.value).startswith(message) and "\n" not in str(e.value)


def test_bad_folders_are_one_line(tmp_path):
    root = make_folder(tmp_path / "f", train=2, val=1, classes=2)
    shutil.rmtree(root / "val" / "class1")
    with pytest.raises(DataError, match=r"^imagefolder_stream: .*val' has classes that differ "
                                        r"from train/ \(extra \[\], missing \['class1'\]\)"):
        load_dataset(stream_cfg(root, num_classes=2))
    with pytest.raises(DataError, match=r"^data.root: '.*nowhere' is not a directory"):
        load_dataset(stream_cfg(tmp_path / "nowhere"))


@pytest.mark.parametrize("workers", [0, 2])
def test_corrupt_image_is_one_line_under_workers(tmp_path, workers):
    root = make_folder(tmp_path / "f", train=3, val=1, classes=2)
    bad = root / "train" / "class1" / "1.jpg"
    bad.write_bytes(b"this is not an image")
    ds = load_dataset(stream_cfg(root, num_classes=2, workers=workers, mean=[0.5] * 3,
                                 std=[0.2] * 3))
    with pytest.raises(DataError) as e:
        list(ds.train_batches(0, 0, batch_bounds(ds.train_size, 2)))
    assert str(e.value) == (f"imagefolder_stream: {str(bad)!r} is not a readable image "
                            "(UnidentifiedImageError); expected a root with "
                            "train/<class>/*.png|jpg and val/<class>/*.png|jpg")


def test_a_file_gone_after_listing_is_a_failure_of_the_machine(tmp_path):
    """A failed read (errno set) is an OSError, which a rerun retries (docs/TRAINING.md)."""
    root = make_folder(tmp_path / "f", train=3, val=1, classes=2)
    ds = load_dataset(stream_cfg(root, num_classes=2, workers=1, mean=[0.5] * 3, std=[0.2] * 3))
    gone = root / "train" / "class0" / "2.jpg"
    gone.unlink()
    with pytest.raises(OSError) as e:
        list(ds.train_batches(0, 0, batch_bounds(ds.train_size, 2)))
    assert e.value.errno == 2 and not isinstance(e.value, DataError)
    assert e.value.strerror == (f"imagefolder_stream: cannot read {str(gone)!r} (No such file "
                                "or directory)")


def _stream_config_in_daemon(queue) -> None:
    try:
        stream_config({"workers": 2}, 24, 3, True)
        queue.put("ok")
    except DataError as e:
        queue.put(str(e))


def test_workers_inside_a_daemonic_process_is_one_line():
    ctx = mp.get_context("fork")
    queue = ctx.Queue()
    proc = ctx.Process(target=_stream_config_in_daemon, args=(queue,), daemon=True)
    proc.start()
    message = queue.get(timeout=60)
    proc.join(timeout=60)
    assert message == ("data.workers: 2 cannot start loader processes inside this launcher's "
                       "daemonic job process; use data.workers=0 (decode in the job) or the "
                       "joblib, submitit_local or slurm launcher")


# -- identity -----------------------------------------------------------------------------------

def test_identity_covers_what_changes_results_only(folder):
    def rid(**over) -> str:
        data = stream_cfg(folder, **over)
        return run_id(make_identity(spec=TINY.to_dict(), data=data,
                                    location_keys=DATASETS["imagefolder_stream"].location_keys,
                                    regime={"name": "r"}, train_seed=0, precision="fp32",
                                    threads=1, channels_last=True, device_kind="cpu"))

    base = rid()
    assert rid(workers=8, prefetch=4) == base  # how fast, not what
    for over in ({"resolution": 32}, {"scale": [0.25, 1.0]}, {"ratio": [0.5, 2.0]},
                 {"eval_crop_fraction": 1.0}, {"flip": False}, {"mean": [0.5] * 3}):
        assert rid(**over) != base, over


# -- the paper's preset -------------------------------------------------------------------------

def test_paper_preset_is_the_papers_study_at_224_px():
    from hydra import compose, initialize_config_dir
    from omegaconf import OmegaConf

    with initialize_config_dir(config_dir=str(ROOT / "conf"), version_base="1.3"):
        cfg = compose("config", ["+experiment=paper_imagenet", "data.root=/data/imagenet"],
                      return_hydra_config=True)
    plain = OmegaConf.to_container(cfg, resolve=False)
    data = OmegaConf.to_container(cfg.data, resolve=True)
    space = OmegaConf.to_container(cfg.design_space, resolve=True)
    assert data["name"] == "imagefolder_stream" and data["resolution"] == 224
    assert data["root"] == "/data/imagenet" and data["num_classes"] == 1000
    assert (data["scale"], data["ratio"], data["eval_crop_fraction"]) == (
        [0.08, 1.0], [0.75, 4 / 3], 0.875)
    assert space["resolution"] == 224 and space["stem_stride"] == 2 and space["strides"] is None
    assert space["complexity"]["reference"]["flops"] == [360_000_000, 400_000_000]
    regime = plain["regime"]
    assert (regime["name"], regime["epochs"], regime["lr"], regime["batch_size"]) == (
        "paper", 10, 0.05, 128)
    assert plain["train"]["device"] == "cuda" and plain["sweep"]["n"] == 500
    launcher = plain["hydra"]["launcher"]
    assert launcher["_target_"].endswith("SlurmLauncher") and launcher["gpus_per_node"] == 1
    assert launcher["cpus_per_task"] > data["workers"]
    params = plain["hydra"]["sweeper"]["params"]
    assert params["design_space"].split(",") == ["anynetx_a", "anynetx_b", "anynetx_c",
                                                 "anynetx_d", "anynetx_e", "regnetx"]
    assert params["sample.index"] == "range(0,${sweep.n})"


def test_paper_preset_without_a_folder_stops_before_any_job(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "IMAGENET_DIR"}
    exe = Path(sys.executable).with_name("dse-train")
    cmd = [str(exe) if exe.exists() else "dse-train", "+experiment=paper_imagenet",
           f"sweep.dir={tmp_path}/sweep"]
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120)
    assert done.returncode == 2
    (line,) = done.stderr.strip().splitlines()
    assert line.startswith("dse-train: error: ") and "IMAGENET_DIR" in line
    assert "full_key: data.root" in line
    assert not (tmp_path / "sweep").exists()


# -- training: resume, memory, launchers ---------------------------------------------------------

class Stop(Exception):
    pass


def test_killed_run_resumes_to_the_same_error(tmp_path, folder):
    """Interrupted after epoch 1 (decoding with 1 worker), resumed with 2 workers: the same
    per-epoch losses and final error as an uninterrupted run without workers."""
    regime = Regime.from_config({"name": "t", "epochs": 3, "batch_size": 16, "lr": 0.2,
                                 "warmup_epochs": 0})
    data = load_dataset(stream_cfg(folder))

    def run(workers: int, **opts) -> object:
        ds = replace(data, cfg=replace(data.cfg, workers=workers))
        return train(TINY, ds, regime, TrainOptions(seed=3, eval_every_epoch=True, **opts))

    full = run(0)
    ckpt = tmp_path / "checkpoint.pt"

    def stop(epoch: int, stats: dict) -> None:
        if epoch == 0:
            raise Stop

    with pytest.raises(Stop):
        run(1, checkpoint=ckpt, fingerprint="f", on_epoch_end=stop)
    assert ckpt.is_file()
    resumed = run(2, checkpoint=ckpt, fingerprint="f")
    assert resumed.resumed_from == 1
    assert [e["train_loss"] for e in resumed.epochs] == [e["train_loss"] for e in full.epochs]
    assert [e["test_error"] for e in resumed.epochs] == [e["test_error"] for e in full.epochs]
    assert full.epochs[-1]["train_loss"] < full.epochs[0]["train_loss"]


def dse_train(*args: str, **popen) -> subprocess.Popen:
    exe = Path(sys.executable).with_name("dse-train")
    cmd = [str(exe) if exe.exists() else shutil.which("dse-train") or "dse-train", *args]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env=env, **popen)


def stream_args(root: Path, sweep: Path, *extra: str) -> list[str]:
    return [f"sweep.dir={sweep}", f"spec={SPEC}", "data=imagefolder_stream",
            f"data.root={root}", "data.num_classes=4", "data.resolution=24", "regime.epochs=3",
            "regime.batch_size=16", "regime.lr=0.2", "regime.warmup_epochs=0",
            "train.progress=none", *extra]


@pytest.mark.slow
def test_sigkilled_dse_train_resumes_to_the_same_record(tmp_path, medium):
    """SIGKILL a dse-train run (2 loader workers) once its first checkpoint exists; the rerun
    resumes and ends with the error of an uninterrupted run (which decoded without workers:
    the same run id, since the worker count is not part of the identity)."""
    killed = tmp_path / "killed"
    proc = dse_train(*stream_args(medium, killed, "data.workers=2"), start_new_session=True)
    deadline = time.monotonic() + 120
    while not list(killed.rglob("checkpoint.pt")):
        assert proc.poll() is None, proc.communicate()[0]
        assert time.monotonic() < deadline, "no checkpoint within 120 s"
        time.sleep(0.01)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.communicate()
    assert not list(killed.rglob("record.json"))
    again = dse_train(*stream_args(medium, killed, "data.workers=2"))
    out, _ = again.communicate(timeout=180)
    assert again.returncode == 0, out
    plain = dse_train(*stream_args(medium, tmp_path / "plain", "data.workers=0"))
    out, _ = plain.communicate(timeout=180)
    assert plain.returncode == 0, out
    (a,), (b,) = list(killed.rglob("record.json")), list((tmp_path / "plain").rglob("record.json"))
    ra, rb = json.loads(a.read_text()), json.loads(b.read_text())
    assert ra["status"] == rb["status"] == "ok"
    assert ra["resumed_from_epoch"] >= 1 and rb["resumed_from_epoch"] == 0
    assert ra["run_id"] == rb["run_id"] and ra["error"] == rb["error"]
    assert [e["train_loss"] for e in ra["epochs"]] == [e["train_loss"] for e in rb["epochs"]]


@pytest.mark.slow
def test_loader_workers_inside_joblib_workers(tmp_path, folder):
    """hydra/launcher=joblib (loky worker processes) with 2 loader workers per job."""
    sweep = tmp_path / "sweep"
    proc = dse_train("-m", *stream_args(folder, sweep, "data.workers=2", "regime.epochs=1"),
                     "train.seed=0,1", "hydra/launcher=joblib", "hydra.launcher.n_jobs=2")
    out, _ = proc.communicate(timeout=300)
    assert proc.returncode == 0, out
    recs = [json.loads(p.read_text()) for p in sweep.rglob("record.json")]
    assert sorted(r["seeds"]["train"] for r in recs) == [0, 1]
    assert all(r["status"] == "ok" and r["data"]["workers"] == 2 for r in recs), out
    assert "dse-train sweep: 2 jobs: ok 2, diverged 0, failed 0, skipped 0" in out


# The peak of this process's own memory: VmHWM, not ru_maxrss, which Linux carries over an
# exec from the forking process (a pytest process of GBs would hide the growth measured here).
PEAK = textwrap.dedent("""
    import json, resource, sys
    import torch
    from train.data import load_dataset
    from train.trainer import batch_bounds
    def hwm():
        for line in open("/proc/self/status"):
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    cfg = json.loads(sys.argv[1])
    base = hwm()
    ds = load_dataset(cfg)
    if cfg["name"] == "imagefolder_stream":
        for x, y in ds.train_batches(0, 0, batch_bounds(ds.train_size, 64)):
            pass
    peak = hwm()
    kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    print(json.dumps({"base": base, "peak": peak, "children": kids}))
""")


def peak_kb(cfg: dict) -> dict:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run([sys.executable, "-c", PEAK, json.dumps(cfg)], capture_output=True,
                          text=True, timeout=120, env=env, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.slow
def test_memory_is_bounded_by_the_batches_in_flight(tmp_path):
    """3,000 64x64 JPEGs at 64 px: the in-memory folder holds the whole set (and its float
    statistics); the streamed one (2 workers, 2 batches each in flight) a few batches, in the
    job and in each worker."""
    root = tmp_path / "big"
    rng = np.random.default_rng(0)
    tiles = [Image.fromarray(rng.integers(0, 255, (64, 64, 3), dtype=np.uint8)) for _ in range(8)]
    for split, n in (("train", 3000), ("val", 8)):
        for c in range(2):
            d = root / split / f"c{c}"
            d.mkdir(parents=True)
            for i in range(n // 2):
                tiles[i % 8].save(d / f"{i}.jpg", quality=85)
    common = {"root": str(root), "resolution": 64, "channels": 3, "num_classes": 2, "flip": True}
    memory = peak_kb({**common, "name": "imagefolder", "crop_padding": 4})
    streamed = peak_kb({**common, "name": "imagefolder_stream", "crop_padding": 0,
                        "workers": 2, "prefetch": 2, "mean": [0.5] * 3, "std": [0.25] * 3})
    in_flight = (2 * 2 + 2) * 64 * 3 * 64 * 64 / 1024  # batches queued and in use, KB
    grown = streamed["peak"] - streamed["base"]
    assert grown < 40_000 + 4 * in_flight, streamed
    assert streamed["children"] - streamed["base"] < 40_000 + 4 * in_flight, streamed
    assert memory["peak"] - memory["base"] > 5 * grown, (memory, streamed)
