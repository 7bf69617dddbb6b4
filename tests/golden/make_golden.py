"""Regression golden for refactors of the counting rules, the RegNet rule and the model builder.

    PYTHONPATH=$PWD python tests/golden/make_golden.py     # (re)writes refactor_golden.json

`compute()` records, with the code as it is:
  * the first 40 members of populations seed 0 and 1 of every AnyNetX/RegNet space at
    ``design_space.resolution=28`` and 224 (spec, complexity, generating parameters);
  * the complexity integers of all 24 zoo models at 224 and 28 px, and of 80 random edge-case
    specs (widths not multiples of 8, so SE widths hit half-to-even ties; b = 0.5 and 2; stride
    1 stages; stem stride 1; SE ratios 0.25 and 0.5) at 224, 37, 28 and 8 px, or their
    ValueError message;
  * `regnet_stages` and `regnet_spec` (depths, widths, group widths, b, strides, se_ratio) on a
    grid of (d, w0, wa, wm, g, b); floats are stored as JSON numbers (exact round trip);
  * per-epoch train losses and test errors (as float.hex) of three tiny CPU trainings on the
    synthetic dataset (X block; Y block; b = 2 with g > 1).
It was first written on the code before the "one home for each rule" refactor;
tests/test_refactor_golden.py recomputes it and asserts equality, except for the trainings' floats:
CPU kernels round differently on other microarchitectures, so those are compared within a
tolerance (and bit for bit only against a second run on the same machine).
"""

from __future__ import annotations

import dataclasses
import itertools
import json
from pathlib import Path
from typing import Any

import numpy as np
import torch
from omegaconf import OmegaConf

from anynet import AnyNetSpec, adjust_compatibility, complexity, regnet_spec, regnet_stages, zoo
from sampling import load_design_space
from train.data import load_dataset
from train.regime import Regime
from train.trainer import TrainOptions, train

HERE = Path(__file__).resolve().parent
GOLDEN = HERE / "refactor_golden.json"
ROOT = HERE.parents[1]
SYNTHETIC = ROOT / "conf" / "data" / "synthetic.yaml"
TEST_SIZE = int(OmegaConf.load(SYNTHETIC).test_size)  # the trainings' test set
SPACES = ("anynetx_a", "anynetx_b", "anynetx_c", "anynetx_d", "anynetx_e", "regnetx", "regnety",
          "regnetx_refined")
RESOLUTIONS = (28, 224)
SEEDS = (0, 1)
MEMBERS = 40

GRID_D = (1, 2, 5, 13, 16, 23)
GRID_W0 = (8, 24, 48, 80, 232)
GRID_WA = (0.0, 8.0, 24.48, 36.44, 76.82)
GRID_WM = (1.5, 2.0, 2.25, 2.49, 2.88)
GRID_GB = ((1, 1.0), (8, 1.0), (16, 1.0), (24, 2.0), (56, 4.0), (8, 0.5))

# (spec fields, zero_init_last_bn) of the tiny trainings; 16 px, 1 channel, 4 classes
TRAININGS: tuple[tuple[dict[str, Any], bool], ...] = (
    (dict(depths=[1, 1], widths=[8, 16], bottleneck_ratios=[1, 1], group_widths=[8, 8],
          strides=[2, 2], stem_width=8), False),
    (dict(depths=[1, 2], widths=[16, 32], bottleneck_ratios=[1, 1], group_widths=[4, 8],
          strides=[2, 2], stem_width=10, se_ratio=0.25), False),  # SE width round(2.5) = 2
    (dict(depths=[2, 1], widths=[16, 32], bottleneck_ratios=[2, 2], group_widths=[2, 4],
          strides=[1, 2], stem_width=16), True),
)


def _samples() -> dict[str, Any]:
    out = {}
    for name, res, seed in itertools.product(SPACES, RESOLUTIONS, SEEDS):
        space = load_design_space(name, [f"design_space.resolution={res}"])
        pop = space.sample_many(range(MEMBERS), seed=seed)
        out[f"{name}@{res}/seed{seed}"] = [_row(s) for s in pop.samples]
    return out


SAMPLE_COLUMNS = ("index", *(f.name for f in dataclasses.fields(AnyNetSpec)), "flops", "params",
                  "acts", "rule_params")


def _row(sample: Any) -> list[Any]:
    """One sample as a compact row in the order of SAMPLE_COLUMNS."""
    cx = sample.complexity
    return [sample.index, *sample.spec.to_dict().values(), cx["flops"], cx["params"], cx["acts"],
            sample.params]


def _zoo() -> dict[str, Any]:
    return {f"{name}@{res}": complexity(zoo.get(name), res)
            for name in zoo.names() for res in (224, 28)}


def _edge() -> list[Any]:
    rng = np.random.default_rng(0)
    out: list[Any] = []
    for _ in range(80):
        n = int(rng.integers(1, 5))
        bs = rng.choice([0.5, 1.0, 2.0], n).tolist()
        ws, gs = adjust_compatibility((2 * rng.integers(1, 40, n)).tolist(), bs,
                                      rng.choice([1, 2, 3, 4, 8], n).tolist())
        fields_ = dict(depths=rng.integers(1, 4, n).tolist(), widths=ws, bottleneck_ratios=bs,
                       group_widths=gs, strides=rng.choice([1, 2], n).tolist(),
                       stem_width=int(2 * rng.integers(3, 12)),
                       stem_stride=int(rng.choice([1, 2])),
                       se_ratio=float(rng.choice([0.0, 0.25, 0.5])),
                       in_channels=int(rng.choice([1, 3])), num_classes=int(rng.integers(2, 20)))
        try:
            spec = AnyNetSpec(**fields_)
        except ValueError as exc:
            out.append([fields_, f"ValueError: {exc}"])
            continue
        out.append([fields_, [complexity(spec, r) for r in (224, 37, 28, 8)]])
    return out


def _rule() -> dict[str, Any]:
    stages, specs = {}, {}
    for d, w0, wa, wm in itertools.product(GRID_D, GRID_W0, GRID_WA, GRID_WM):
        key = f"{d},{w0},{wa},{wm}"
        st = regnet_stages(d, w0, wa, wm)
        stages[key] = {"block_widths": list(st.block_widths),
                       "continuous_widths": list(st.continuous_widths),
                       "widths": list(st.widths), "depths": list(st.depths),
                       "total_stages": st.total_stages}
        for g, b in GRID_GB:
            try:
                sp = regnet_spec(d, w0, wa, wm, g, b)
                value: Any = [sp.depths, sp.widths, sp.group_widths, sp.bottleneck_ratios,
                              sp.strides, sp.se_ratio]
            except ValueError as exc:
                value = f"ValueError: {exc}"
            specs[f"{key},{g},{b}"] = value
    return {"regnet_stages": stages, "regnet_spec": specs}


def _trainings() -> list[dict[str, Any]]:
    torch.set_num_threads(1)
    cfg = OmegaConf.to_container(OmegaConf.load(SYNTHETIC))
    data = load_dataset(cfg)
    out = []
    for fields_, zero_init in TRAININGS:
        spec = AnyNetSpec(**fields_, in_channels=data.channels, num_classes=data.num_classes)
        regime = Regime(epochs=2, batch_size=64, lr=0.1, wd=5e-5, warmup_epochs=0.5,
                        zero_init_last_bn=zero_init)
        # every epoch evaluated, as the trainer did when this file was written
        result = train(spec, data, regime, TrainOptions(seed=0, eval_every_epoch=True))
        out.append({"spec": spec.to_dict(), "status": result.status,
                    "train_loss": [e["train_loss"].hex() for e in result.epochs],
                    "test_error": [float(e["test_error"]).hex() for e in result.epochs]})
    return out


def compute() -> dict[str, Any]:
    """Everything the golden file holds, computed with the current code."""
    return {"sample_columns": list(SAMPLE_COLUMNS), "samples": _samples(), "zoo": _zoo(),
            "edge": _edge(), "rule": _rule(), "trainings": _trainings()}


def canonical(obj: Any) -> Any:
    """`obj` as it reads back from JSON (tuples become lists), for comparisons."""
    return json.loads(json.dumps(obj))


def main() -> None:
    GOLDEN.write_text(json.dumps(compute(), sort_keys=True, separators=(",", ":")) + "\n")
    print(f"wrote {GOLDEN}")


if __name__ == "__main__":
    main()
