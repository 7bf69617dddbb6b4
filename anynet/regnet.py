"""The RegNet rule: quantized linear widths ([DDS] §3.3, Eqs. 2-4) and block compatibility.

Rounding follows pycls exactly (docs/PAPER.md §2.3-2.4): the stage exponent uses numpy's
half-to-even ``np.round``; widths are then rounded to a multiple of q (an extra step that is not
in Eq. 4, but is how every published RegNet was built); the group/bottleneck compatibility step
uses half-to-even rounding too, and truncation where pycls calls ``int``.

Each step is written once, elementwise on numpy arrays (`continuous_widths`, `stage_exponents`,
`quantized_widths`, `adjust`), with batch forms over N parameter sets (`rule_widths`,
`rule_exponents`) used by `sampling.RegNetSpace`; the scalar `regnet_stages` and
`adjust_compatibility` call the same functions.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from .spec import AnyNetSpec


@dataclass(frozen=True)
class RegNetStages:
    """What the rule produces before compatibility: per-block and per-stage widths."""

    block_widths: tuple[int, ...]  # w_j after q-rounding (pycls ws_all)
    continuous_widths: tuple[float, ...]  # u_j = w0 + wa * j (Eq. 2; pycls ws_cont)
    widths: tuple[int, ...]  # unique stage widths, ascending (pycls ws)
    depths: tuple[int, ...]  # blocks per stage (pycls ds)
    total_stages: int  # max exponent + 1; a skipped exponent makes this exceed num_stages

    @property
    def num_stages(self) -> int:
        return len(self.widths)

    @property
    def skipped_stage(self) -> bool:
        """True when the rule yields fewer distinct widths than exponents 0..max k: an exponent
        no block takes, or two exponents that q-round to the same width (pycls rejects both)."""
        return self.num_stages != self.total_stages


def _check_params(depth: Any, w0: Any, wa: Any, wm: Any, q: Any) -> None:
    if not isinstance(q, int) or isinstance(q, bool) or q < 1:
        raise ValueError(f"q: {q!r} is not allowed; use an integer >= 1")
    if not isinstance(depth, (int, np.integer)) or isinstance(depth, bool) or depth < 1:
        raise ValueError(f"depth: {depth!r} is not allowed; use an integer >= 1")
    if not (isinstance(w0, (int, np.integer)) or float(w0).is_integer()) or w0 <= 0 or w0 % q:
        raise ValueError(f"w0: {w0!r} is not allowed; use a positive multiple of q={q}")
    if not math.isfinite(wa) or wa < 0:
        raise ValueError(f"wa: {wa!r} is not allowed; use a number >= 0")
    if not math.isfinite(wm) or wm <= 1:
        raise ValueError(f"wm: {wm!r} is not allowed; use a number > 1")


# -- the rule, elementwise (scalars or broadcasting arrays) ------------------------------------
def continuous_widths(w0: Any, wa: Any, j: Any) -> Any:
    """u_j = w0 + wa·j (Eq. 2)."""
    return w0 + wa * j


def stage_exponents(u: Any, w0: Any, wm: Any) -> Any:
    """k_j = round(log(u_j / w0) / log(wm)) (Eq. 3), numpy half-to-even rounding (floats)."""
    return np.round(np.log(u / w0) / np.log(wm))


def quantized_widths(w0: Any, wm: Any, k: Any, q: int) -> np.ndarray:
    """round(w0·wm^k / q)·q (Eq. 4, then pycls's rounding to a multiple of q), int64."""
    return (np.round(w0 * np.power(wm, k) / q) * q).astype(np.int64)


def adjust(widths: np.ndarray, b: Any, g: Any) -> tuple[np.ndarray, np.ndarray]:
    """Block compatibility ([DDS] App. D; pycls `adjust_block_compatibility`, docs/PAPER.md §2.4),
    elementwise over broadcasting arrays of widths, ratios b and group widths g: with
    bot_mul = 1/b and v = int(max(1, w·bot_mul)), g becomes min(g, v); v is rounded
    (half-to-even) to a multiple of m = g (lcm(g, int(bot_mul)) for an inverted bottleneck), at
    least m; the width is int(v / bot_mul). Returns int64 (widths, group widths)."""
    bm = 1.0 / np.asarray(b, dtype=float)
    v = np.maximum(1.0, widths * bm).astype(np.int64)
    g2 = np.minimum(g, v)
    m = np.where(bm > 1, np.lcm(g2, np.floor(bm).astype(np.int64)), g2)
    v = np.maximum(m, (np.round(v / m) * m).astype(np.int64))
    return (v / bm).astype(np.int64), g2


# -- batch forms: N parameter sets, one per row ----------------------------------------------
def rule_widths(w0: np.ndarray, wm: np.ndarray, stages: int, q: int) -> np.ndarray:
    """Stage widths round(w0·wm^k / q)·q for k < stages, (N, stages) int64."""
    return quantized_widths(w0[:, None], wm[:, None], np.arange(stages, dtype=float), q)


def rule_exponents(depth: np.ndarray, w0: np.ndarray, wa: np.ndarray, wm: np.ndarray
                   ) -> np.ndarray:
    """Per-block stage exponents k_j (Eqs. 2-3), (N, max depth) floats, −1 past each depth."""
    j = np.arange(int(depth.max()))
    ks = stage_exponents(continuous_widths(w0[:, None], wa[:, None], j), w0[:, None],
                         wm[:, None])
    return np.where(j[None, :] < depth[:, None], ks, -1.0)


# -- one network ------------------------------------------------------------------------------
def regnet_stages(depth: int, w0: float, wa: float, wm: float, q: int = 8) -> RegNetStages:
    """Eqs. 2-4 with pycls's rounding (`generate_regnet`, docs/PAPER.md §2.3)."""
    _check_params(depth, w0, wa, wm, q)
    u = continuous_widths(w0, wa, np.arange(depth))
    ks = stage_exponents(u, w0, wm)
    ws_all = quantized_widths(w0, wm, ks, q)
    ws, ds = np.unique(ws_all, return_counts=True)
    return RegNetStages(
        block_widths=tuple(int(w) for w in ws_all),
        continuous_widths=tuple(float(x) for x in u),
        widths=tuple(int(w) for w in ws),
        depths=tuple(int(d) for d in ds),
        total_stages=int(ks.max()) + 1,
    )


def regnet_block_widths(depth: int, w0: float, wa: float, wm: float, q: int = 8) -> list[int]:
    """Quantized per-block widths w_j (Eq. 4 then q-rounding), before compatibility."""
    return list(regnet_stages(depth, w0, wa, wm, q).block_widths)


def adjust_compatibility(
    widths: list[int], bottleneck_ratios: list[float], group_widths: list[int]
) -> tuple[list[int], list[int]]:
    """Make widths and group widths compatible ([DDS] App. D; pycls
    `adjust_block_compatibility`, docs/PAPER.md §2.4). b is the paper's ratio, bot_mul = 1/b.

    If g > w_b, g becomes w_b; otherwise w_b is rounded to a multiple of g (and of bot_mul for an
    inverted bottleneck), and the stage width is w_b * b. Returns (widths, group_widths).
    """
    n = (len(widths), len(bottleneck_ratios), len(group_widths))
    if len(set(n)) != 1:
        raise ValueError(f"widths/bottleneck_ratios/group_widths: lengths {list(n)} differ; "
                         "give one value per stage")
    ws, gs = adjust(np.asarray(widths, dtype=np.int64), np.asarray(bottleneck_ratios, float),
                    np.asarray(group_widths, dtype=np.int64))
    return ws.tolist(), gs.tolist()


def regnet_spec(
    depth: int,
    w0: float,
    wa: float,
    wm: float,
    group_width: int,
    bottleneck_ratio: float = 1.0,
    se_ratio: float = 0.0,
    q: int = 8,
    **spec_fields: Any,
) -> AnyNetSpec:
    """The AnyNetSpec of a RegNet (pycls `generate_regnet_full`): every stage stride 2, shared b
    and g, compatibility applied. Any number of stages the rule yields is kept; use
    `regnet_stages` to check for 4 stages and no skipped exponent as the paper's sweeps do."""
    st = regnet_stages(depth, w0, wa, wm, q)
    n = st.num_stages
    bs = [float(bottleneck_ratio)] * n
    ws, gs = adjust_compatibility(list(st.widths), bs, [int(group_width)] * n)
    fields = {"strides": [2] * n, **spec_fields}
    return AnyNetSpec(
        depths=list(st.depths), widths=ws, bottleneck_ratios=bs, group_widths=gs,
        se_ratio=se_ratio, **fields,
    )
