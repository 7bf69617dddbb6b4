"""`AnyNetSpec`: the one vocabulary every package shares ([DDS] §3.1, Fig. 3).

A spec fixes an AnyNet completely: stem, four (or any number of) stages of identical blocks,
and the head. Field meanings follow the paper: ``bottleneck_ratios`` is the paper's *b*
(bottleneck width = width / b; pycls's ``bot_mul`` is 1/b) and ``group_widths`` is *g*
(channels per group of the 3x3 conv). ``se_ratio`` 0 gives the X block, 0.25 the Y block.
``block_type`` (V, VR, R, X), ``activation`` (relu, silu) and ``stem_type`` (simple, resnet)
choose the paper's alternatives (docs/PAPER.md §1.6); at their defaults (X, relu, simple) they
are left out of `to_dict`, so every spec, record and run identity written before they existed
is unchanged.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import MISSING, asdict, dataclass, field, fields
from typing import Any

from .blocks import (
    ACTIVATIONS,
    BLOCK_TYPES,
    BOTTLENECK_BLOCKS,
    STEM_TYPES,
    exact_bottleneck_width,
    se_width,
)

_STAGE_FIELDS = ("depths", "widths", "bottleneck_ratios", "group_widths", "strides")
# Choice fields and what they allow; `to_dict` omits each at its default (`_OMIT_DEFAULT`).
_CHOICES = {"block_type": BLOCK_TYPES, "activation": ACTIVATIONS, "stem_type": STEM_TYPES}
_CHOICE_NOTES = {"block_type": " (Y is X with se_ratio > 0)", "activation": " (silu is Swish)",
                 "stem_type": " (resnet: 7x7 conv and a 3x3 max pool)"}
_OMIT_DEFAULT = {"omit_default": True}


def _is_int(x: Any) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


@dataclass(frozen=True)
class AnyNetSpec:
    """A complete AnyNet architecture. Lists are accepted and stored as tuples; `strides`
    defaults to 2 for every stage."""

    depths: tuple[int, ...]
    widths: tuple[int, ...]
    bottleneck_ratios: tuple[float, ...]
    group_widths: tuple[int, ...]
    strides: tuple[int, ...] | None = None  # None: (2,) * number of stages
    stem_width: int = 32
    stem_stride: int = 2
    se_ratio: float = 0.0
    in_channels: int = 3
    num_classes: int = 1000
    block_type: str = field(default="X", metadata=_OMIT_DEFAULT)
    activation: str = field(default="relu", metadata=_OMIT_DEFAULT)
    stem_type: str = field(default="simple", metadata=_OMIT_DEFAULT)

    def __post_init__(self) -> None:
        for name in _STAGE_FIELDS:  # depths first: default strides follow its length
            value = getattr(self, name)
            if name == "strides" and value is None:
                value = (2,) * len(self.depths)
            if isinstance(value, (str, bytes)) or not hasattr(value, "__iter__"):
                raise ValueError(f"{name}: {value!r} is not a list; give one value per stage")
            convert = _as_ratio if name == "bottleneck_ratios" else _as_int
            object.__setattr__(self, name, tuple(convert(v) for v in value))
        for name in ("stem_width", "stem_stride", "in_channels", "num_classes"):
            object.__setattr__(self, name, _as_int(getattr(self, name)))
        object.__setattr__(self, "se_ratio", _as_ratio(self.se_ratio))
        self._validate()

    # -- validation ---------------------------------------------------------------------------
    def _validate(self) -> None:
        n = len(self.depths)
        if n < 1:
            raise ValueError("depths: () is empty; a network needs at least one stage")
        for name in _STAGE_FIELDS:
            if len(getattr(self, name)) != n:
                raise ValueError(
                    f"{name}: {list(getattr(self, name))} has {len(getattr(self, name))} stages "
                    f"but depths has {n}; every per-stage list must have the same length"
                )
        _check_ints("depths", self.depths, low=1)
        _check_ints("widths", self.widths, low=1)
        _check_ints("group_widths", self.group_widths, low=1)
        for i, s in enumerate(self.strides):
            if not _is_int(s) or s not in (1, 2):
                raise ValueError(f"strides[{i}]: {s!r} is not allowed; strides must be 1 or 2")
        for i, b in enumerate(self.bottleneck_ratios):
            if not (isinstance(b, float) and math.isfinite(b) and b > 0):
                raise ValueError(
                    f"bottleneck_ratios[{i}]: {b!r} is not allowed; b must be a positive number"
                )
        for name, low in (("stem_width", 1), ("in_channels", 1), ("num_classes", 1)):
            _check_ints(name, (getattr(self, name),), low=low, scalar=True)
        if not _is_int(self.stem_stride) or self.stem_stride not in (1, 2):
            raise ValueError(f"stem_stride: {self.stem_stride!r} is not allowed; use 1 or 2")
        se = self.se_ratio
        if not (isinstance(se, float) and 0.0 <= se <= 1.0):
            raise ValueError(f"se_ratio: {se!r} is not allowed; use a number in [0, 1] "
                             "(0 = X block, 0.25 = Y block)")
        for name, allowed in _CHOICES.items():
            if getattr(self, name) not in allowed:
                raise ValueError(f"{name}: {getattr(self, name)!r} is not allowed; use one of "
                                 f"{', '.join(allowed)}" + _CHOICE_NOTES[name])
        if self.block_type not in BOTTLENECK_BLOCKS:
            self._validate_basic_block()
        w_in = self.stem_width
        for i, (w, b, g) in enumerate(
            zip(self.widths, self.bottleneck_ratios, self.group_widths, strict=True)
        ):
            wb = exact_bottleneck_width(w, b, i)
            if self.block_type == "R" and g != wb:
                raise ValueError(
                    f"group_widths[{i}]: {g} is not allowed with block_type 'R' (the residual "
                    f"bottleneck with one group); use the bottleneck width {wb} (width {w} / "
                    f"b {b:g}), or block_type X for group convs"
                )
            if wb % g != 0:
                raise ValueError(
                    f"group_widths[{i}]: {g} does not divide the bottleneck width {wb} "
                    f"(width {w} / b {b:g}); use a group width that divides {wb}"
                )
            # Blocks after the first of a stage take the stage width w as their input width.
            w_min = min(w_in, w) if self.depths[i] > 1 else w_in
            if self.se_ratio > 0 and se_width(w_min, self.se_ratio) < 1:
                raise ValueError(
                    f"se_ratio: {self.se_ratio:g} gives an SE width of 0 for stage {i + 1} "
                    f"(block input width {w_min}); use se_ratio > {0.5 / w_min:.3g} or 0"
                )
            w_in = w

    def _validate_basic_block(self) -> None:
        """V and VR: two full 3x3 convs at the stage width, so b = 1, g = w (one group) and no
        SE, which keeps one spec per network."""
        kind = f"with block_type {self.block_type!r} (two full 3x3 convs, no bottleneck)"
        for i, (w, b, g) in enumerate(
            zip(self.widths, self.bottleneck_ratios, self.group_widths, strict=True)
        ):
            if b != 1.0:
                raise ValueError(f"bottleneck_ratios[{i}]: {b:g} is not allowed {kind}; use 1")
            if g != w:
                raise ValueError(f"group_widths[{i}]: {g} is not allowed {kind}; use the stage "
                                 f"width {w} (one group)")
        if self.se_ratio > 0:
            raise ValueError(f"se_ratio: {self.se_ratio:g} is not allowed {kind}; use 0, or "
                             "block_type R or X for SE")

    # -- views --------------------------------------------------------------------------------
    @property
    def num_stages(self) -> int:
        return len(self.depths)

    @property
    def depth(self) -> int:
        """Total number of blocks d = sum(d_i)."""
        return sum(self.depths)

    def block_widths(self) -> list[int]:
        """Per-block output widths w_j, j < d ([DDS] Fig. 8): stage i's width repeated d_i times."""
        return [w for w, d in zip(self.widths, self.depths, strict=True) for _ in range(d)]

    @property
    def block(self) -> str:
        """The paper's name of the block (`block_name`)."""
        return block_name(self.block_type, self.se_ratio)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able dict (lists, not tuples); inverse of `from_dict`. `block_type`,
        `activation` and `stem_type` appear only when they differ from their defaults, so a
        spec that uses none of them has the same dict (and run identity) as before they
        existed."""
        omit = {f.name for f in fields(self)
                if f.metadata.get("omit_default") and getattr(self, f.name) == f.default}
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()
                if k not in omit}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> AnyNetSpec:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise ValueError(f"spec: unknown field(s) {unknown}; allowed: {sorted(known)}")
        required = [f.name for f in fields(cls) if f.default is MISSING]
        missing = [name for name in required if name not in d]
        if missing:
            raise ValueError(f"spec: missing field(s) {missing}; required: {required}")
        return cls(**dict(d))


def block_name(block_type: str, se_ratio: float) -> str:
    """The paper's name of a block: V, VR, R or X, and Y for X with SE (R with SE: "R+SE")."""
    if se_ratio > 0:
        return "Y" if block_type == "X" else f"{block_type}+SE"
    return block_type


def _as_int(v: Any) -> Any:
    """Integers of any kind (numpy ones included) and integral floats (as YAML/JSON may give)
    become ints; anything else is left for validation."""
    if isinstance(v, bool):
        return v
    if isinstance(v, numbers.Integral):
        return int(v)
    if isinstance(v, numbers.Real) and float(v).is_integer():
        return int(v)
    return v


def _as_ratio(v: Any) -> Any:
    """Real numbers (numpy ones included) become floats; anything else is left for validation."""
    if isinstance(v, bool):
        return v
    if isinstance(v, numbers.Real):
        return float(v)
    return v


def _check_ints(name: str, values: tuple, low: int, scalar: bool = False) -> None:
    for i, v in enumerate(values):
        label = name if scalar else f"{name}[{i}]"
        if not _is_int(v) or v < low:
            raise ValueError(f"{label}: {v!r} is not allowed; use an integer >= {low}")
