"""Numbers the docs state about the instrument are the code's: the proxy's SGD step count is what
the trainer takes on the default data (20 batches an epoch of 2,500 digits at batch 128, the last
of 68 kept), so no page can drift from it."""

from __future__ import annotations

import re
from pathlib import Path

from omegaconf import OmegaConf

from train.trainer import batch_bounds

ROOT = Path(__file__).resolve().parents[1]


def test_the_docs_state_the_proxys_real_step_count():
    regime = OmegaConf.load(ROOT / "conf" / "regime" / "proxy.yaml")
    data = OmegaConf.load(ROOT / "conf" / "data" / "mnist5k.yaml")
    train_size = 5_000 - int(data.test_size)
    bounds = batch_bounds(train_size, int(regime.batch_size))
    steps = int(regime.epochs) * len(bounds)
    last = bounds[-1][1] - bounds[-1][0]
    assert (steps, len(bounds), last) == (100, 20, 68)
    texts = {p: p.read_text() for p in [*(ROOT / "docs").glob("*.md"), ROOT / "README.md",
                                        ROOT / "conf" / "regime" / "proxy.yaml"]}
    stated = {p.name: re.findall(r"\b(\d+) (?:SGD )?steps\b", t) for p, t in texts.items()}
    for name in ("REGIME.md", "TRAINING.md", "proxy.yaml"):
        assert str(steps) in stated[name], name
    assert not [(n, s) for n, found in stated.items() for s in found if s == "98"]
