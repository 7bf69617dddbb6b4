"""The 24 published RegNetX/RegNetY models ([DDS] Figs. 15-16; pycls `configs/dds_baselines`).

Each entry is the rule's parameters (d, w0, wa, wm, g) and the block type; the per-stage spec is
derived by `regnet_spec`, never stored, so the zoo tests the rule. Run ``dse-zoo`` (or
``python -m anynet.zoo``) to print the table.
"""

from __future__ import annotations

import argparse
import sys

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


def names() -> list[str]:
    """The 24 model names, X then Y, in increasing flops."""
    return list(_PARAMS)


def params(name: str) -> dict[str, float]:
    """The published rule parameters of `name`: depth, w0, wa, wm, group_width, se_ratio."""
    if name not in _PARAMS:
        raise ValueError(f"model: {name!r} is not in the zoo; allowed: {', '.join(_PARAMS)}")
    keys = ("depth", "w0", "wa", "wm", "group_width", "se_ratio")
    return dict(zip(keys, _PARAMS[name], strict=True))


def get(name: str, **spec_fields) -> AnyNetSpec:
    """The AnyNetSpec of a published model (ImageNet head by default; override e.g.
    ``num_classes=10, in_channels=1``)."""
    return regnet_spec(**params(name), **spec_fields)


def table(resolution: int = 224) -> str:
    """The zoo as a fixed-width text table: depths, widths, groups, GF, M params, M acts."""
    head = f"{'name':<15}{'depths':<18}{'widths':<24}{'groups':<22}{'GF':>7}{'Mparams':>9}" \
           f"{'Macts':>8}"
    rows = [head, "-" * len(head)]
    for name in names():
        s = get(name)
        cx = complexity(s, resolution)
        rows.append(
            f"{name:<15}{str(list(s.depths)):<18}{str(list(s.widths)):<24}"
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
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    if args.resolution < 1:
        parser.error(f"resolution: {args.resolution} is not allowed; use an integer >= 1")
    print(table(args.resolution))


if __name__ == "__main__":
    main()
