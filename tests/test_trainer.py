"""The training loop on real small data: learning, determinism, divergence, checkpoint/resume."""

from __future__ import annotations

import math

import pytest
import torch

from anynet import AnyNetSpec
from train.data import load_dataset
from train.regime import Regime, RegimeError
from train.trainer import TrainOptions, batch_bounds, evaluate, train

torch.set_num_threads(1)

TINY = AnyNetSpec(depths=[1, 1], widths=[8, 16], bottleneck_ratios=[1, 1], group_widths=[8, 8],
                  strides=[2, 2], stem_width=8, in_channels=1, num_classes=4)
REGIME = Regime(epochs=3, batch_size=16, lr=0.2, warmup_epochs=1, zero_init_last_bn=True)


@pytest.fixture(scope="module")
def data():
    return load_dataset(dict(name="synthetic", resolution=16, channels=1, num_classes=4,
                             crop_padding=1, train_size=512, test_size=128, seed=0))


def test_learns_and_is_deterministic(data):
    a = train(TINY, data, REGIME, TrainOptions(seed=0))
    b = train(TINY, data, REGIME, TrainOptions(seed=0))
    assert a.status == "ok" and len(a.epochs) == 3
    assert a.epochs[-1]["test_error"] < 40.0  # chance is 75%
    assert a.epochs[-1]["train_loss"] < a.epochs[0]["train_loss"]
    keys = ("train_loss", "train_error", "test_error", "lr")
    assert [[e[k] for k in keys] for e in a.epochs] == [[e[k] for k in keys] for e in b.epochs]
    assert a.images_per_second > 0 and a.train_images == 3 * 512
    c = train(TINY, data, REGIME, TrainOptions(seed=1))
    assert [e["train_loss"] for e in c.epochs] != [e["train_loss"] for e in a.epochs]
    assert evaluate(a.model, data) == a.epochs[-1]["test_error"]


def test_global_rng_is_untouched(data):
    torch.manual_seed(123)
    before = torch.get_rng_state()
    train(TINY, data, Regime(epochs=1, batch_size=64), TrainOptions(seed=0))
    assert torch.equal(before, torch.get_rng_state())


def test_resume_reaches_the_same_result(data, tmp_path):
    ckpt = tmp_path / "checkpoint.pt"
    full = train(TINY, data, REGIME, TrainOptions(seed=3))

    def stop_after_first(epoch, stats):
        if epoch == 0:
            raise KeyboardInterrupt

    opts = TrainOptions(seed=3, checkpoint=ckpt, fingerprint="run-a",
                        on_epoch_end=stop_after_first)
    with pytest.raises(KeyboardInterrupt):
        train(TINY, data, REGIME, opts)
    assert ckpt.is_file() and not list(tmp_path.glob("*.tmp"))
    resumed = train(TINY, data, REGIME, TrainOptions(seed=3, checkpoint=ckpt,
                                                     fingerprint="run-a"))
    assert resumed.resumed_from == 1 and resumed.status == "ok"
    keys = ("train_loss", "train_error", "test_error", "lr")
    assert [[e[k] for k in keys] for e in resumed.epochs] == \
        [[e[k] for k in keys] for e in full.epochs]
    with pytest.raises(ValueError, match="belongs to a different run"):
        train(TINY, data, REGIME, TrainOptions(seed=3, checkpoint=ckpt, fingerprint="run-b"))


def test_corrupt_checkpoint_is_reported(data, tmp_path):
    ckpt = tmp_path / "checkpoint.pt"
    ckpt.write_bytes(b"garbage")
    with pytest.raises(ValueError, match=r"checkpoint.pt' is corrupt"):
        train(TINY, data, REGIME, TrainOptions(checkpoint=ckpt))
    assert ckpt.read_bytes() == b"garbage"


def test_divergence_stops_the_run(data):
    r = train(TINY, data, Regime(epochs=3, batch_size=32, lr=1e30), TrainOptions(seed=0))
    assert r.status == "diverged" and "non-finite loss" in r.message
    assert len(r.epochs) < 3


def test_schedule_and_regime_validation():
    r = Regime(epochs=10, batch_size=256, lr=0.1, scale_lr=True, warmup_epochs=2,
               warmup_factor=0.1)
    assert r.base_lr == pytest.approx(0.2)
    assert r.lr_at(0) == pytest.approx(0.02)
    assert r.lr_at(2) == pytest.approx(0.2 * 0.5 * (1 + math.cos(math.pi * 0.2)))
    assert r.lr_at(10) == pytest.approx(0.0, abs=1e-12)
    assert all(r.lr_at(t) >= r.lr_at(t + 0.5) for t in (3, 5, 7.5))
    paper = Regime(epochs=10, batch_size=128, lr=0.05)
    assert paper.lr_at(5) == pytest.approx(0.025)
    with pytest.raises(RegimeError, match=r"regime.batch_size: 0 is not allowed"):
        Regime(batch_size=0)
    with pytest.raises(RegimeError, match=r"regime: unknown key\(s\) \['lr_decay'\]"):
        Regime.from_config({"lr_decay": 0.1})
    with pytest.raises(RegimeError, match=r"regime.nesterov: 'yes'"):
        Regime.from_config({"nesterov": "yes"})
    assert Regime.from_config({"lr": 1, "epochs": 2}).lr == 1.0


def test_batch_bounds():
    assert batch_bounds(10, 4) == [(0, 4), (4, 8), (8, 10)]
    assert batch_bounds(9, 4) == [(0, 4), (4, 8)]  # a last batch of 1 is dropped
    assert batch_bounds(1, 4) == [(0, 1)]


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_bf16_channels_last(data):
    r = train(TINY, data, REGIME, TrainOptions(seed=0, device="cuda", channels_last=True))
    assert r.status == "ok" and r.epochs[-1]["test_error"] < 40.0
    assert next(r.model.parameters()).is_cuda
