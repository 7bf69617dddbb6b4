"""Numbers for people: how figures and tables print complexity, counts, errors and lists.

flops print as ``5.8 MF`` (multiply-adds, as in the paper's "400MF"), params and acts as
``1.2 M``; exact counts with thousands separators (``5,815,000``); other numbers with four
significant digits and never in exponent notation; lists as ``1, 2, 4`` (integral floats as
integers).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

_PREFIXES = ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "K"))
# Suffix after the SI prefix, per complexity column ([DDS] writes flops as "MF"/"GF").
UNITS = {"flops": "F", "params": "", "acts": ""}


def finite(x: Any) -> bool:
    """Whether `x` converts to a finite float."""
    try:
        return math.isfinite(float(x))
    except (TypeError, ValueError):
        return False


def si(x: float, unit: str = "", digits: int = 2) -> str:
    """``5815000 -> '5.8 M'`` (+ `unit`): `digits` significant digits, at least one decimal
    below 10 of the prefix (``0.35 M``, ``5.8 M``, ``58 M``, ``580 M``)."""
    if not finite(x):
        return "–"
    v = float(x)
    for scale, prefix in _PREFIXES:
        if abs(v) >= scale:
            return f"{_sig(v / scale, digits)} {prefix}{unit}".rstrip()
    return f"{_sig(v, digits)} {unit}".rstrip()


def _sig(v: float, digits: int) -> str:
    """`v` with `digits` significant digits, no exponent, no trailing zeros."""
    if v == 0:
        return "0"
    decimals = max(0, digits - 1 - int(math.floor(math.log10(abs(v)))))
    text = f"{v:.{decimals}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def complexity(x: float, kind: str) -> str:
    """A complexity value in the paper's units: flops ``5.8 MF``, params/acts ``1.2 M``."""
    return si(x, UNITS.get(kind, ""))


def number(x: Any, digits: int = 4) -> str:
    """A table cell: integral values with thousands separators (``5,815,000``), others with
    `digits` significant digits and no exponent (``31.24``, ``0.0012``); NaN as ``–``."""
    if isinstance(x, bool):
        return str(x)
    if not finite(x):
        return "–" if x is None or isinstance(x, float) else str(x)
    v = float(x)
    if v.is_integer() and abs(v) < 1e15:
        return f"{int(v):,}"
    if abs(v) >= 10 ** digits:
        return f"{round(v):,}"
    return _sig(v, digits)


def listing(values: Iterable[Any]) -> str:
    """``[1.0, 2.0, 4.0] -> '1, 2, 4'``."""
    return ", ".join(number(v) for v in values)


def pvalue(p: float) -> str:
    """A p-value: two significant digits, ``< 0.0001`` below that."""
    if not finite(p):
        return "–"
    return "< 0.0001" if p < 1e-4 else _sig(float(p), 2)
