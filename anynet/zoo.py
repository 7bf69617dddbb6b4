"""The 24 published RegNetX/RegNetY models ([DDS] Figs. 15-16; pycls `configs/dds_baselines`)
and the ResNet/ResNeXt baselines they are compared with ([DDS] Table 3; docs/PAPER.md §6.6).

Each RegNet entry is the rule's parameters (d, w0, wa, wm, g) and the block type; the per-stage
spec is derived by `regnet_spec`, never stored, so the zoo tests the rule. `names()` lists those
24 only; the baselines have no rule parameters and are listed by `baselines()` (their stages are
pycls's AnyNet configs, `configs/dds_baselines/res{net,next}`). `get` builds either, by name
or by `resolve`'s loose spelling (``resnet50``, ``resnext50_32x4d``). Run
``dse-zoo`` (or ``python -m anynet.zoo``) to print the table, ``dse-zoo --baselines`` for the
baselines. `scale_widths` and `fit_to_window` shrink a baseline's widths by one common factor
into a flops window, for comparisons at a small instrument's complexity ([DDS] §5, Table 3;
docs/DESIGN_SPACES.md "Scaled ResNe(X)t baselines").
"""

from __future__ import annotations

import argparse
import math
import sys
from dataclasses import dataclass, replace

from .blocks import exact_bottleneck_width
from .complexity import complexity
from .regnet import regnet_spec
from .spec import AnyNetSpec
from .system import quiet_broken_pipe

# name: (depth, w0, wa, wm, group_width, se_ratio)
_PARAMS: dict[str, tuple[int, int, float, float, int, float]] = {
    "RegNetX-200MF": (13, 24, 36.44, 2.49, 8, 0.0),
    "RegNetX-400MF": (22, 24, 24.48, 2.54, 16, 0.0),
    "RegNetX-600MF": (16, 48, 36.97, 2.24, 24, 0.0),
    "RegNetX-800MF": (16, 56, 35.73, 2.28, 16, 0.0),
    "RegNetX-1.6GF": (18, 80, 34.01, 2.25, 24, 0.0),
    "RegNetX-3.2GF": (25, 88, 26.31, 2.25, 48, 0.0),
    "RegNetX-4.0GF": (23, 96, 38.65, 2.43, 40, 0.0),
    "RegNetX-6.4GF": (17, 184, 60.83, 2.07, 56, 0.0),
    "RegNetX-8.0GF": (23, 80, 49.56, 2.88, 120, 0.0),
    "RegNetX-12GF": (19, 168, 73.36, 2.37, 112, 0.0),
    "RegNetX-16GF": (22, 216, 55.59, 2.1, 128, 0.0),
    "RegNetX-32GF": (23, 320, 69.86, 2.0, 168, 0.0),
    "RegNetY-200MF": (13, 24, 36.44, 2.49, 8, 0.25),
    "RegNetY-400MF": (16, 48, 27.89, 2.09, 8, 0.25),
    "RegNetY-600MF": (15, 48, 32.54, 2.32, 16, 0.25),
    "RegNetY-800MF": (14, 56, 38.84, 2.4, 16, 0.25),
    "RegNetY-1.6GF": (27, 48, 20.71, 2.65, 24, 0.25),
    "RegNetY-3.2GF": (21, 80, 42.63, 2.66, 24, 0.25),
    "RegNetY-4.0GF": (22, 96, 31.41, 2.24, 64, 0.25),
    "RegNetY-6.4GF": (25, 112, 33.22, 2.27, 72, 0.25),
    "RegNetY-8.0GF": (17, 192, 76.82, 2.19, 56, 0.25),
    "RegNetY-12GF": (19, 168, 73.36, 2.37, 112, 0.25),
    "RegNetY-16GF": (18, 200, 106.23, 2.48, 112, 0.25),
    "RegNetY-32GF": (20, 232, 115.89, 2.53, 232, 0.25),
}

# The ResNe(X)t baselines in AnyNet form (pycls `configs/dds_baselines/resnet/R-*-1x64d_dds_8gpu`
# and `resnext/X-*-32x4d_dds_8gpu`): ResNet stem of width 64, first stage stride 1, residual
# bottleneck blocks with b = 1/bot_mul. ResNet: b = 4, one group (the R block); ResNeXt 32x4d:
# b = 2, 32 groups of width 4, 8, 16, 32 (the X block). name: (depths, b, block type, g)
_RESNE_X_T_WIDTHS = (256, 512, 1024, 2048)
_BASELINES: dict[str, tuple[tuple[int, ...], float, str, tuple[int, ...]]] = {
    "ResNet-50": ((3, 4, 6, 3), 4.0, "R", (64, 128, 256, 512)),
    "ResNet-101": ((3, 4, 23, 3), 4.0, "R", (64, 128, 256, 512)),
    "ResNet-152": ((3, 8, 36, 3), 4.0, "R", (64, 128, 256, 512)),
    "ResNeXt-50-32x4d": ((3, 4, 6, 3), 2.0, "X", (4, 8, 16, 32)),
    "ResNeXt-101-32x4d": ((3, 4, 23, 3), 2.0, "X", (4, 8, 16, 32)),
}


def names() -> list[str]:
    """The 24 RegNet model names, X then Y, in increasing flops."""
    return list(_PARAMS)


def baselines() -> list[str]:
    """The ResNet and ResNeXt baselines ([DDS] Table 3): ResNet-50/101/152, ResNeXt-50/101
    32x4d."""
    return list(_BASELINES)


def _unknown(name: object) -> ValueError:
    return ValueError(f"model: {name!r} is not in the zoo; allowed: "
                      f"{', '.join([*_PARAMS, *_BASELINES])} (case, '-' and '_' aside)")


def _folded(name: str) -> str:
    return "".join(c for c in name.lower() if c not in "-_ ")


def resolve(name: object) -> str:
    """The zoo's spelling of `name`: a RegNet or baseline name, or one equal to it but for
    case, '-', '_' and spaces (``resnet50`` is ResNet-50, ``resnext50_32x4d`` is
    ResNeXt-50-32x4d, ``regnetx_400mf`` is RegNetX-400MF); anything else is a ValueError."""
    if isinstance(name, str):
        if name in _PARAMS or name in _BASELINES:
            return name
        for known in (*_PARAMS, *_BASELINES):
            if _folded(known) == _folded(name):
                return known
    raise _unknown(name)


def params(name: str) -> dict[str, float]:
    """The published rule parameters of RegNet `name`: depth, w0, wa, wm, group_width,
    se_ratio."""
    name = resolve(name)
    if name in _BASELINES:
        raise ValueError(f"model: {name!r} is a baseline with explicit stages, not a RegNet; "
                         f"it has no rule parameters; RegNets: {', '.join(_PARAMS)}")
    keys = ("depth", "w0", "wa", "wm", "group_width", "se_ratio")
    return dict(zip(keys, _PARAMS[name], strict=True))


def get(name: str, **spec_fields) -> AnyNetSpec:
    """The AnyNetSpec of a published model, a RegNet or a baseline (ImageNet head by default;
    override e.g. ``num_classes=10, in_channels=1``); `name` as `resolve` reads it."""
    name = resolve(name)
    if name in _BASELINES:
        depths, b, block, groups = _BASELINES[name]
        fields = dict(depths=depths, widths=_RESNE_X_T_WIDTHS, bottleneck_ratios=(b,) * 4,
                      group_widths=groups, strides=(1, 2, 2, 2), stem_width=64,
                      stem_type="resnet", block_type=block)
        return AnyNetSpec(**{**fields, **spec_fields})
    return regnet_spec(**params(name), **spec_fields)


# -- the baselines scaled to a flops window (docs/DESIGN_SPACES.md "Scaled ResNe(X)t baselines") --
WIDTH_Q = 8  # scaled widths are multiples of 8, the q of the RegNet rule


@dataclass(frozen=True)
class ScaledBaseline:
    """A baseline with its widths shrunk by one common factor into a flops window
    (`fit_to_window`): the spec, the factors that give it (every factor in [low, high) rounds to
    the same widths), its number of groups per 3x3 conv and its exact complexity."""

    spec: AnyNetSpec
    factor_low: float
    factor_high: float
    groups: int
    flops: int
    params: int
    acts: int


def _round_width(width: float) -> int:
    """`width` to the nearest multiple of `WIDTH_Q` (half to even, as the RegNet rule rounds),
    at least `WIDTH_Q`."""
    return WIDTH_Q * max(1, round(width / WIDTH_Q))


def baseline_groups(spec: AnyNetSpec) -> int:
    """Groups of each stage's 3x3 conv (bottleneck width / group width): 1 for ResNet, 32 for
    ResNeXt 32x4d; a spec whose stages differ is a ValueError."""
    counts = {exact_bottleneck_width(w, b, i) // g for i, (w, b, g) in enumerate(
        zip(spec.widths, spec.bottleneck_ratios, spec.group_widths, strict=True))}
    if len(counts) != 1 or spec.block_type not in ("R", "X"):
        raise ValueError(f"spec: block {spec.block_type} with {sorted(counts)} groups per stage "
                         "is not a ResNe(X)t baseline; scaling needs R or X blocks with one "
                         "number of groups in every stage")
    return int(counts.pop())


def scale_widths(spec: AnyNetSpec, factor: float) -> AnyNetSpec:
    """A ResNe(X)t baseline ([DDS] Table 3) with the stem width and every stage width times
    `factor`, each rounded to a multiple of 8 (at least 8); depths, b, strides, block and stem
    are kept. Groups: one number in every stage, as in ResNe(X)t: the baseline's C (1 for
    ResNet, 32 for ResNeXt 32x4d) where every scaled bottleneck width w_i / b is a multiple of
    it with groups at least as wide as the baseline's narrowest (4 channels for 32x4d), else the
    largest number below C that allows both. Factor 1 gives the published spec back."""
    if (not isinstance(factor, (int, float)) or isinstance(factor, bool)
            or not math.isfinite(factor) or factor <= 0):
        raise ValueError(f"factor: {factor!r} is not allowed; use a positive number")
    groups = baseline_groups(spec)
    widths = tuple(_round_width(w * factor) for w in spec.widths)
    wbs = [exact_bottleneck_width(w, b, i)
           for i, (w, b) in enumerate(zip(widths, spec.bottleneck_ratios, strict=True))]
    common, narrowest = math.gcd(*wbs), min(spec.group_widths)
    kept = max(c for c in range(1, groups + 1)
               if common % c == 0 and (c == 1 or min(wbs) // c >= narrowest))
    return replace(spec, widths=widths, stem_width=_round_width(spec.stem_width * factor),
                   group_widths=tuple(wb // kept for wb in wbs))


def _breakpoints(spec: AnyNetSpec) -> list[float]:
    """The factors in (0, 1) at which some width of `spec` rounds to the next multiple of 8."""
    cuts = {(k + 0.5) * WIDTH_Q / w for w in (spec.stem_width, *spec.widths)
            for k in range(1, w // WIDTH_Q)}
    return sorted(c for c in cuts if c < 1)


def fit_to_window(spec: AnyNetSpec, flops: tuple[float, float],
                  resolution: int) -> ScaledBaseline:
    """`spec` (a ResNe(X)t baseline at the target geometry, channels and classes) scaled by
    `scale_widths` into the flops window [low, high] at `resolution` px (`complexity`, exact
    ints), full depth. Every distinct width set over factors in (0, 1] is tried; among those in
    the window: the most groups (up to the baseline's), then flops nearest the window's middle,
    then the smaller factor. A window no factor reaches is a ValueError (a depth-reduced variant
    would be needed)."""
    ok = (isinstance(flops, (tuple, list)) and len(flops) == 2
          and all(isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)
                  for x in flops) and 0 < flops[0] <= flops[1])
    if not ok:
        raise ValueError(f"flops: {flops!r} is not allowed; use [low, high] with "
                         "0 < low <= high")
    low, high = flops
    edges = [0.0, *_breakpoints(spec), 1.0]
    found, reach = [], []
    for lo, hi in zip(edges, edges[1:], strict=False):
        if hi <= lo:
            continue
        scaled = scale_widths(spec, hi if hi == 1.0 else (lo + hi) / 2)
        cx = complexity(scaled, resolution)
        reach.append(cx["flops"])
        if low <= cx["flops"] <= high:
            found.append(ScaledBaseline(scaled, lo, hi, baseline_groups(scaled), **cx))
    if not found:
        where = (f"below the narrowest full-depth network's {min(reach)} flops: a "
                 "depth-reduced variant would be needed" if high < min(reach) else
                 f"above the published widths' {max(reach)} flops: widths only shrink"
                 if low > max(reach) else "between two steps of the widths: widen the window")
        raise ValueError(f"flops: [{low:g}, {high:g}] is not reachable by scaling the widths of "
                         f"this baseline at {resolution} px; it is {where}")
    mid = (low + high) / 2
    return min(found, key=lambda s: (-s.groups, abs(s.flops - mid), s.factor_low))


def table(resolution: int = 224, models: list[str] | None = None) -> str:
    """Models of the zoo (default: the 24 RegNets) as a fixed-width text table: depths, widths,
    groups, GF, M params, M acts."""
    models = names() if models is None else models
    n = max(15, *(len(m) + 2 for m in models))
    head = f"{'name':<{n}}{'depths':<18}{'widths':<24}{'groups':<22}{'GF':>7}{'Mparams':>9}" \
           f"{'Macts':>8}"
    rows = [head, "-" * len(head)]
    for name in models:
        s = get(name)
        cx = complexity(s, resolution)
        rows.append(
            f"{name:<{n}}{str(list(s.depths)):<18}{str(list(s.widths)):<24}"
            f"{str(list(s.group_widths)):<22}{cx['flops'] / 1e9:>7.3f}"
            f"{cx['params'] / 1e6:>9.2f}{cx['acts'] / 1e6:>8.2f}"
        )
    return "\n".join(rows)


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors (usage folded into the line)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message}; usage: {self.format_usage().strip()[7:]}\n")


@quiet_broken_pipe
def main(argv: list[str] | None = None) -> None:
    """Print the zoo table (``dse-zoo [RESOLUTION]``)."""
    parser = _Parser(prog="dse-zoo", description="The 24 published RegNetX/RegNetY models "
                     "(docs/PAPER.md §6): depths, widths, group widths, GF (multiply-adds), "
                     "M params and M activations at a square input resolution.")
    parser.add_argument("resolution", nargs="?", type=int, default=224,
                        help="input resolution in px (default 224, the paper's)")
    parser.add_argument("--baselines", action="store_true",
                        help="list the ResNet/ResNeXt baselines instead (docs/PAPER.md §6.6)")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    if args.resolution < 1:
        parser.error(f"resolution: {args.resolution} is not allowed; use an integer >= 1")
    print(table(args.resolution, baselines() if args.baselines else None))


if __name__ == "__main__":
    main()
