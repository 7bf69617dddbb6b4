"""Constraints of a design space: the named refinements of [DDS] §3.2 (Table 1), complexity
windows (§3.2 fn. 3, §4), a latency window on a fitted device profile (`sampling.latency`,
docs/SPEED.md) and user predicates plugged in by dotted path.

Each named constraint is a predicate on the *built* (compatibility-adjusted) network, given both
as a batch test on (N, stages) arrays and as a test on one `AnyNetSpec`; the two agree (tested).
"""

from __future__ import annotations

import importlib
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import numpy as np

from anynet import AnyNetSpec

from .latency import RuntimeProfile, predict_latency, resolve_profile


@dataclass(frozen=True)
class StageArrays:
    """Per-stage arrays of N candidate networks, shape (N, stages)."""

    depths: np.ndarray
    widths: np.ndarray
    ratios: np.ndarray
    groups: np.ndarray

    @classmethod
    def from_specs(cls, specs: Sequence[AnyNetSpec]) -> StageArrays:
        return cls(np.array([s.depths for s in specs], dtype=np.int64),
                   np.array([s.widths for s in specs], dtype=np.int64),
                   np.array([s.bottleneck_ratios for s in specs], dtype=float),
                   np.array([s.group_widths for s in specs], dtype=np.int64))


def _shared_group(a: StageArrays) -> np.ndarray:
    """One raw group width g for all stages: stage i uses min(g, w_i / b_i) ([DDS] App. D), so
    every g_i equals min(max_i g_i, w_i / b_i)."""
    wb = np.rint(a.widths / a.ratios).astype(np.int64)
    top = a.groups.max(axis=1, keepdims=True)
    return (a.groups == np.minimum(top, wb)).all(axis=1)


@dataclass(frozen=True)
class NamedConstraint:
    """A named structural refinement: `batch` maps `StageArrays` of N networks to an (N,) bool
    array, True where the built network satisfies it."""

    name: str
    doc: str
    batch: Callable[[StageArrays], np.ndarray]

    def mask(self, a: StageArrays) -> np.ndarray:
        """`batch(a)`, checked: anything but an (N,) bool array is a one-line ValueError."""
        out = np.asarray(self.batch(a))
        n = len(a.depths)
        if out.shape != (n,) or out.dtype != np.bool_:
            raise ValueError(f"named constraint {self.name!r}: its batch test returned "
                             f"{out.dtype} of shape {out.shape}; it must return a bool array "
                             f"of shape ({n},)")
        return out

    def check(self, spec: AnyNetSpec) -> bool:
        return bool(self.mask(StageArrays.from_specs([spec]))[0])


Registry = Mapping[str, NamedConstraint]


def make_registry(constraints: Iterable[NamedConstraint], base: Registry | None = None
                  ) -> Registry:
    """A new read-only registry: `base`'s named constraints, then `constraints`. A name given
    twice (or already in `base`) or an entry that is not a `NamedConstraint` with a callable
    batch test is a one-line ValueError; `base` is never changed."""
    out = dict(base or {})
    for c in constraints:
        if not isinstance(c, NamedConstraint) or not callable(c.batch):
            raise ValueError(f"named constraint {c!r}: not allowed; use NamedConstraint(name, "
                             "doc, batch) with batch(StageArrays) -> (N,) bool array")
        if not isinstance(c.name, str) or not c.name.isidentifier():
            raise ValueError(f"named constraint {c.name!r}: not allowed; the name must be an "
                             "identifier (it is a design_space.constraints key)")
        if c.name in out:
            raise ValueError(f"named constraint {c.name!r}: already registered; choose another "
                             "name (a registered constraint is never redefined)")
        out[c.name] = c
    return MappingProxyType(out)


# The package's registry of named constraints. To add one, append one NamedConstraint here: it
# is then accepted as `design_space.constraints.<name>: true`, enforced when sampling (by
# rejection on its batch test unless a space draws it by construction), and checked by
# contains() (docs/DESIGN_SPACES.md "Adding a named constraint").
NAMED: Registry = make_registry((
    NamedConstraint("shared_bottleneck_ratio", "b_i = b for all stages (AnyNetX_B, [DDS] §3.2)",
                    lambda a: (a.ratios == a.ratios[:, :1]).all(axis=1)),
    NamedConstraint("shared_group_width",
                    "g_i = g for all stages, clipped to w_i/b_i by App. D (AnyNetX_C)",
                    _shared_group),
    NamedConstraint("increasing_widths", "w_{i+1} >= w_i (AnyNetX_D)",
                    lambda a: (np.diff(a.widths, axis=1) >= 0).all(axis=1)),
    NamedConstraint("increasing_depths", "d_{i+1} >= d_i, last stage included (AnyNetX_E)",
                    lambda a: (np.diff(a.depths, axis=1) >= 0).all(axis=1)),
))


@dataclass(frozen=True)
class CustomConstraint:
    """A user predicate `module:function` (or `module.function`) taking an AnyNetSpec."""

    name: str
    path: str
    fn: Callable[[AnyNetSpec], bool]

    def check(self, spec: AnyNetSpec) -> bool:
        """The predicate's answer; anything but a bool, or an exception, is a one-line
        ValueError naming the constraint."""
        field = f"design_space.constraints.{self.name}"
        try:
            value = self.fn(spec)
        except Exception as e:  # noqa: BLE001 - a user predicate may raise anything
            message = f"{type(e).__name__}: {e}".splitlines()[0]
            raise ValueError(f"{field}: {self.path!r} raised {message}; it must return true or "
                             "false for every AnyNetSpec") from None
        if not isinstance(value, (bool, np.bool_)):
            raise ValueError(f"{field}: {self.path!r} returned {value!r}; it must return true "
                             "or false")
        return bool(value)


def load_custom(name: str, path: Any, registry: Registry = NAMED) -> CustomConstraint:
    """Import the predicate at dotted `path`; ValueError naming the field when it cannot."""
    field = f"design_space.constraints.{name}"
    if not isinstance(path, str) or not path.strip():
        raise ValueError(f"{field}: {path!r} is not allowed; use true/false for a named "
                         f"constraint ({', '.join(registry)}) or 'module:function' for your own")
    module, sep, attr = path.partition(":")
    if not sep:
        module, _, attr = path.rpartition(".")
    if not module or not attr:
        raise ValueError(f"{field}: {path!r} is not a dotted path; use 'module:function'")
    try:
        fn = getattr(importlib.import_module(module), attr)
    except (ImportError, AttributeError) as exc:
        raise ValueError(f"{field}: cannot import {path!r} ({exc}); use 'module:function' "
                         "naming an importable predicate AnyNetSpec -> bool") from None
    if not callable(fn):
        raise ValueError(f"{field}: {path!r} is not callable; it must be a function "
                         "AnyNetSpec -> bool")
    return CustomConstraint(name, path, fn)


def parse_constraints(cfg: Mapping[str, Any] | None, registry: Registry = NAMED
                      ) -> tuple[tuple[str, ...], tuple[CustomConstraint, ...]]:
    """Split `design_space.constraints` into switched-on named constraints (names of
    `registry`) and custom ones."""
    named, custom = [], []
    for name, value in (cfg or {}).items():
        if value is None or value is False:
            continue
        if value is True:
            if name not in registry:
                raise ValueError(f"design_space.constraints.{name}: unknown constraint; named "
                                 f"constraints are {list(registry)} (or give 'module:function')")
            named.append(name)
        else:
            custom.append(load_custom(name, value, registry))
    return tuple(named), tuple(custom)


METRICS = ("flops", "params", "acts")


@dataclass(frozen=True)
class Window:
    """Inclusive [low, high] limit on one complexity metric; None = unbounded on that side."""

    metric: str
    low: float | None
    high: float | None

    def batch(self, values: np.ndarray) -> np.ndarray:
        ok = np.ones(len(values), dtype=bool)
        if self.low is not None:
            ok &= values >= self.low
        if self.high is not None:
            ok &= values <= self.high
        return ok

    def check(self, value: float) -> bool:
        return bool(self.batch(np.array([value]))[0])

    def values(self, cx: Mapping[str, Any]) -> Any:
        """The windowed quantity of networks with complexity `cx` (scalars or arrays)."""
        return cx[self.metric]

    def __str__(self) -> str:
        lo = "-inf" if self.low is None else f"{self.low:,.0f}"
        hi = "inf" if self.high is None else f"{self.high:,.0f}"
        return f"{self.metric} in [{lo}, {hi}]"


@dataclass(frozen=True)
class LatencyWindow(Window):
    """Inclusive [low, high] on the runtime a device profile predicts from (flops, params,
    acts): the fitted model is evaluated per candidate, never a timing."""

    profile: RuntimeProfile

    def values(self, cx: Mapping[str, Any]) -> Any:
        return predict_latency(self.profile, cx)

    def __str__(self) -> str:
        lo = "-inf" if self.low is None else f"{self.low:g}"
        hi = "inf" if self.high is None else f"{self.high:g}"
        return f"{self.metric} in [{lo}, {hi}] {self.profile.unit} ({self.profile.name})"


def parse_window(metric: str, value: Any, field: str) -> Window | None:
    """pycls convention (docs/PAPER.md §5): [0, 0] is off, a 0 on one side leaves it unbounded."""
    if value is None:
        return None
    ok = (isinstance(value, Sequence) and not isinstance(value, str) and len(value) == 2
          and all(isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)
                  and x >= 0 for x in value))
    if not ok or (value[1] and value[0] > value[1]):
        raise ValueError(f"{field}: {value!r} is not allowed; use [low, high] with "
                         "0 <= low <= high (0 = unbounded side, [0, 0] = off)")
    low, high = value
    if not low and not high:
        return None
    return Window(metric, float(low) if low else None, float(high) if high else None)


SCALES = ("input", "stem_output")
PAPER_STEM_STRIDE = 2  # the reference window is the paper's, at its stride-2 stem


def window_scale(resolution: int, r_ref: int, rule: str, stem_stride: int) -> float:
    """Factor from the reference window's flops/acts to the space's (docs/DESIGN_SPACES.md
    "Geometry"): ``input`` scales by the input area, (r / r_ref)²; ``stem_output`` by the stem's
    output map against the paper's (r_ref / 2)², ((r / stem_stride) / (r_ref / 2))². The two agree
    for the paper's stride-2 stem."""
    if rule == "input":
        return (resolution / r_ref) ** 2
    if rule == "stem_output":
        return ((resolution / stem_stride) / (r_ref / PAPER_STEM_STRIDE)) ** 2
    raise ValueError(f"design_space.complexity.reference.scale: {rule!r} is not allowed; use "
                     f"one of {', '.join(SCALES)}")


LATENCY_KEYS = ("latency", "latency_profile")


def latency_window(value: Any, profile: Any) -> LatencyWindow | None:
    """`complexity.latency` [low, high] (profile units, ms; same conventions as the other
    windows) on the profile `complexity.latency_profile` names; None when off."""
    w = parse_window("latency", value, "design_space.complexity.latency")
    if w is None:
        return None
    if profile is None:
        raise ValueError("design_space.complexity.latency_profile: missing; a latency window "
                         "needs a device profile (a name from your profile folder or the shipped "
                         "examples, or a .json path; docs/SPEED.md)")
    return LatencyWindow("latency", w.low, w.high, resolve_profile(profile))


def resolve_windows(cfg: Mapping[str, Any] | None, resolution: int,
                    stem_stride: int = 2) -> tuple[Window, ...]:
    """Windows at `resolution`: each given `complexity.<metric>` as is; otherwise the paper's
    reference window (`complexity.reference`, stated at `reference.resolution`) with flops and
    acts scaled by `window_scale` (params do not depend on resolution); then the latency window,
    if any (predicted from the counts at `resolution`)."""
    cfg = dict(cfg or {})
    ref = dict(cfg.pop("reference", None) or {})
    lat = latency_window(cfg.pop("latency", None), cfg.pop("latency_profile", None))
    unknown = sorted(set(cfg) - set(METRICS))
    if unknown:
        raise ValueError(f"design_space.complexity: unknown key(s) {unknown}; allowed: "
                         f"{list(METRICS)}, {', '.join(LATENCY_KEYS)} and reference")
    r_ref = ref.pop("resolution", 224)
    rule = ref.pop("scale", "input")
    unknown = sorted(set(ref) - set(METRICS))
    if unknown:
        raise ValueError(f"design_space.complexity.reference: unknown key(s) {unknown}; "
                         f"allowed: {list(METRICS)}, resolution and scale")
    scale = window_scale(resolution, r_ref, rule, stem_stride)
    windows = []
    for m in METRICS:
        if cfg.get(m) is not None:
            w = parse_window(m, cfg[m], f"design_space.complexity.{m}")
        else:
            w = parse_window(m, ref.get(m), f"design_space.complexity.reference.{m}")
            if w is not None and m != "params":
                w = Window(m, None if w.low is None else w.low * scale,
                           None if w.high is None else w.high * scale)
        if w is not None:
            windows.append(w)
    if lat is not None:
        windows.append(lat)
    return tuple(windows)
