"""The population label: the one name under which a sweep's analyses group the models of one
population (docs/ANALYSIS.md "Population labels").

A sampled model's label is its design space's name, followed in brackets by what its population
changes from the paper's defaults ([DDS] §3.2, §4-§5; docs/PAPER.md §1.6): the block (X, or the
block a paper-style name states: RegNetY's is Y), ReLU, the simple stem, four stages and the
400MF regime (the reference window 360M-400M flops at 224 px)::

    regnetx                  the paper's settings
    regnetx[800MF]           window=800mf: reference window 720M-800M
    regnetx[V]  regnetx[Y]   block=v; block=y (X with SE)
    regnetx[silu]            design_space.activation=silu (Swish)
    regnetx[resnet stem]     design_space.stem_type=resnet
    regnetx[5 stages]        design_space.stages=5
    regnetx[V, silu, 800MF]  several at once, in this order

A zoo model's label is its name and an explicit spec's its folder's. `load_sweep` puts the label
in the ``design_space`` column (the raw name in ``space``), so every table, figure, plan and
test that groups by design space keeps populations apart, and a sweep at the defaults keeps its
names. Two populations of one space may share a sweep only where their settings differ in
nothing but what their labels show (`unshown_differences`).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from anynet.spec import block_name

# The paper's regime: 360M-400M multiply-adds at the 224-px reference ([DDS] §3.2 fn. 3).
PAPER_WINDOW = (360e6, 400e6)
PAPER_RESOLUTION = 224
PAPER_STAGES = 4
# A paper-style space name states its block: RegNetX, AnyNetX_A ... E (X), RegNetY (Y).
_NAMED_BLOCK = re.compile(r"^(?:regnet|anynet)(vr|v|r|x|y)(?![a-z])", re.IGNORECASE)
_BLOCK_KEYS = ("design_space.block_type", "design_space.se_ratio",
               "design_space.domains.bottleneck_ratio", "design_space.domains.group_width")
# Population settings (dotted, `anynet.record.flat_settings`) each part of a label accounts for:
# a block group also sets the b and g domains its block admits (conf/block/).
SHOWN = {
    "block": _BLOCK_KEYS,
    "activation": ("design_space.activation",),
    "stem_type": ("design_space.stem_type",),
    "stages": ("design_space.stages", "design_space.strides"),
    "regime": ("design_space.complexity.reference.flops",
               "design_space.complexity.reference.resolution", "windows.flops"),
}


@dataclass(frozen=True)
class Variant:
    """What a population of a design space sets that a label shows: the paper's block name
    (`anynet.spec.block_name`; None where the record says nothing: the block the space's name
    states), activation, stem, stage count, the flops window as text (``360M-400M``; None where
    the record says nothing) and the regime it names (``800MF``; None at the paper's 400MF or
    for a window given at the resolution)."""

    block: str | None = None
    activation: str = "relu"
    stem_type: str = "simple"
    stages: int = PAPER_STAGES
    window: str | None = None
    regime: str | None = None

    def parts(self, space: str) -> dict[str, str]:
        """The label's bracketed parts, by `SHOWN` key, of a population of `space`."""
        block = None if self.block in (None, named_block(space)) else self.block
        shown = {"block": block,
                 "activation": self.activation if self.activation != "relu" else None,
                 "stem_type": f"{self.stem_type} stem" if self.stem_type != "simple" else None,
                 "stages": f"{self.stages} stages" if self.stages != PAPER_STAGES else None,
                 "regime": self.regime}
        return {k: v for k, v in shown.items() if v is not None}


def named_block(space: str) -> str:
    """The block a space's name states (``regnety``: Y; ``anynetx_e``: X); X for any other."""
    m = _NAMED_BLOCK.match(space)
    return m.group(1).upper() if m else "X"


def population_label(space: str, variant: Variant | None) -> str:
    """``space`` at the paper's settings, else ``space[part, ...]`` (module docstring)."""
    parts = variant.parts(space) if variant is not None else {}
    return f"{space}[{', '.join(parts.values())}]" if parts else space


def config_label(space: str, config: Mapping[str, Any]) -> str:
    """The population label of `space` drawn under the design-space config `config` (a job's
    composed ``design_space`` node): what a sweep's plan stops and a progress line shows."""
    return population_label(space, variant_of({"design_space": {"config": config}}))


def variant_of(record: Mapping[str, Any]) -> Variant:
    """The `Variant` of the population a record was drawn from, read from its population's
    design-space config (or, for a record written before populations, its own
    ``design_space.config``); a key the config lacks (written before the key existed, or left
    out at its default) has the paper's value, and so has every key of a record without one."""
    config = _space_config(record) or {}
    window, regime = _window(config)
    block = None
    if "block_type" in config or "se_ratio" in config:
        se_ratio = config.get("se_ratio")
        block = block_name(str(config.get("block_type", "X")),
                           se_ratio if isinstance(se_ratio, (int, float)) else 0.0)
    stages = config.get("stages")
    return Variant(block=block, activation=str(config.get("activation", "relu")),
                   stem_type=str(config.get("stem_type", "simple")),
                   stages=stages if isinstance(stages, int) else PAPER_STAGES,
                   window=window, regime=regime)


def variant_settings(record: Mapping[str, Any]) -> dict[str, Any]:
    """The design-space keys behind the label of a record's population where they are not the
    paper's (``block_type``, ``activation``, ``stem_type``, ``stages``,
    ``complexity.reference``), as a design-space config holds them: what a space proposed
    from that population keeps (`analysis.propose`). SE is the base space's (regnety)."""
    config = _space_config(record) or {}
    variant = variant_of(record)
    out: dict[str, Any] = {}
    for key, paper in (("block_type", "X"), ("activation", "relu"), ("stem_type", "simple"),
                       ("stages", PAPER_STAGES)):
        if config.get(key, paper) != paper:
            out[key] = config[key]
    if variant.regime is not None:
        ref = config["complexity"]["reference"]
        out["complexity"] = {"reference": {k: ref[k] for k in ("flops", "resolution")
                                           if k in ref}}
    return out


def _space_config(record: Mapping[str, Any]) -> Mapping[str, Any] | None:
    population = record.get("population")
    if isinstance(population, Mapping):
        config = (population.get("settings") or {}).get("design_space")
        if isinstance(config, Mapping):
            return config
    ds = record.get("design_space")
    config = ds.get("config") if isinstance(ds, Mapping) else None
    return config if isinstance(config, Mapping) else None


def _window(config: Mapping[str, Any]) -> tuple[str | None, str | None]:
    """(window text, regime name) of a design-space config: a window given at the space's
    resolution (``complexity.flops``) is shown as ``1M-3M at 32 px`` and names no regime; the
    reference window as ``720M-800M`` (``at <r> px`` off 224) and names its regime (``800MF``)
    unless it is the paper's."""
    cx = config.get("complexity")
    if not isinstance(cx, Mapping):
        return None, None
    explicit = cx.get("flops")
    if explicit is not None:
        text = _bounds(explicit) if _is_window(explicit) else str(explicit)
        return f"{text} at {config.get('resolution')} px", None
    ref = cx.get("reference") if isinstance(cx.get("reference"), Mapping) else {}
    flops, res = ref.get("flops"), ref.get("resolution", PAPER_RESOLUTION)
    if flops is None:
        return "none", None
    if not _is_window(flops):
        return str(flops), None
    at = "" if res == PAPER_RESOLUTION else f" at {res} px"
    if res == PAPER_RESOLUTION and tuple(flops) == PAPER_WINDOW:
        return _bounds(flops), None
    return _bounds(flops) + at, regime_name(flops[1]) + at


def _is_window(value: Any) -> bool:
    """[low, high] of numbers or None (an open bound)."""
    return isinstance(value, (list, tuple)) and len(value) == 2 and all(
        v is None or (isinstance(v, (int, float)) and not isinstance(v, bool)) for v in value)


def regime_name(high: float | None) -> str:
    """The paper's name of a flop regime from its upper bound: 800MF, 1.6GF, 12GF."""
    if high is None or not math.isfinite(float(high)):
        return "unbounded"
    if high < 1e9:
        return f"{high / 1e6:g}MF"
    gf = high / 1e9
    return f"{gf:.1f}GF" if gf < 10 else f"{gf:.0f}GF"


def _bounds(window: Any) -> str:
    lo, hi = (list(window) + [None, None])[:2]
    return f"{_si(lo, '0')}-{_si(hi, 'inf')}"


def _si(x: Any, missing: str) -> str:
    if x is None:
        return missing
    x = float(x)
    for scale, unit in ((1e9, "G"), (1e6, "M"), (1e3, "K")):
        if abs(x) >= scale:
            return f"{x / scale:g}{unit}"
    return f"{x:g}"


def unshown_differences(space: str, a: Variant, b: Variant,
                        flat_a: Mapping[str, str], flat_b: Mapping[str, str]) -> list[str]:
    """The population settings (dotted keys, `anynet.record.flat_settings`) in which two
    populations of `space` with variants `a` and `b` differ beyond what their labels show:
    a setting is shown when it belongs to a label part (`SHOWN`) that differs between them."""
    pa, pb = a.parts(space), b.parts(space)
    shown = [k for part, keys in SHOWN.items() if pa.get(part) != pb.get(part) for k in keys]
    out = []
    for key in sorted(set(flat_a) | set(flat_b)):
        va, vb = flat_a.get(key, "<missing>"), flat_b.get(key, "<missing>")
        if va != vb and not any(key == s or key.startswith(f"{s}.") for s in shown):
            out.append(f"{key} ({va} vs {vb})")
    return out
