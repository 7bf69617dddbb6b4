"""The 24 published RegNetX/Y models against the table of docs/PAPER.md §6."""

from __future__ import annotations

import math
import shutil
import subprocess
import sys

import pytest

from anynet import AnyNetSpec, complexity, regnet_stages, zoo

# name: (d, w0, wa, wm, g, d_i, w_i after compatibility, g_i), typed from docs/PAPER.md §6
TABLE: dict[str, tuple[int, int, float, float, int, list[int], list[int], list[int]]] = {
    "RegNetX-200MF": (13, 24, 36.44, 2.49, 8, [1, 1, 4, 7], [24, 56, 152, 368], [8, 8, 8, 8]),
    "RegNetX-400MF": (22, 24, 24.48, 2.54, 16, [1, 2, 7, 12], [32, 64, 160, 384],
                      [16, 16, 16, 16]),
    "RegNetX-600MF": (16, 48, 36.97, 2.24, 24, [1, 3, 5, 7], [48, 96, 240, 528],
                      [24, 24, 24, 24]),
    "RegNetX-800MF": (16, 56, 35.73, 2.28, 16, [1, 3, 7, 5], [64, 128, 288, 672],
                      [16, 16, 16, 16]),
    "RegNetX-1.6GF": (18, 80, 34.01, 2.25, 24, [2, 4, 10, 2], [72, 168, 408, 912],
                      [24, 24, 24, 24]),
    "RegNetX-3.2GF": (25, 88, 26.31, 2.25, 48, [2, 6, 15, 2], [96, 192, 432, 1008],
                      [48, 48, 48, 48]),
    "RegNetX-4.0GF": (23, 96, 38.65, 2.43, 40, [2, 5, 14, 2], [80, 240, 560, 1360],
                      [40, 40, 40, 40]),
    "RegNetX-6.4GF": (17, 184, 60.83, 2.07, 56, [2, 4, 10, 1], [168, 392, 784, 1624],
                      [56, 56, 56, 56]),
    "RegNetX-8.0GF": (23, 80, 49.56, 2.88, 120, [2, 5, 15, 1], [80, 240, 720, 1920],
                      [80, 120, 120, 120]),
    "RegNetX-12GF": (19, 168, 73.36, 2.37, 112, [2, 5, 11, 1], [224, 448, 896, 2240],
                     [112, 112, 112, 112]),
    "RegNetX-16GF": (22, 216, 55.59, 2.1, 128, [2, 6, 13, 1], [256, 512, 896, 2048],
                     [128, 128, 128, 128]),
    "RegNetX-32GF": (23, 320, 69.86, 2.0, 168, [2, 7, 13, 1], [336, 672, 1344, 2520],
                     [168, 168, 168, 168]),
    "RegNetY-200MF": (13, 24, 36.44, 2.49, 8, [1, 1, 4, 7], [24, 56, 152, 368], [8, 8, 8, 8]),
    "RegNetY-400MF": (16, 48, 27.89, 2.09, 8, [1, 3, 6, 6], [48, 104, 208, 440], [8, 8, 8, 8]),
    "RegNetY-600MF": (15, 48, 32.54, 2.32, 16, [1, 3, 7, 4], [48, 112, 256, 608],
                      [16, 16, 16, 16]),
    "RegNetY-800MF": (14, 56, 38.84, 2.4, 16, [1, 3, 8, 2], [64, 128, 320, 768],
                      [16, 16, 16, 16]),
    "RegNetY-1.6GF": (27, 48, 20.71, 2.65, 24, [2, 6, 17, 2], [48, 120, 336, 888],
                      [24, 24, 24, 24]),
    "RegNetY-3.2GF": (21, 80, 42.63, 2.66, 24, [2, 5, 13, 1], [72, 216, 576, 1512],
                      [24, 24, 24, 24]),
    "RegNetY-4.0GF": (22, 96, 31.41, 2.24, 64, [2, 6, 12, 2], [128, 192, 512, 1088],
                      [64, 64, 64, 64]),
    "RegNetY-6.4GF": (25, 112, 33.22, 2.27, 72, [2, 7, 14, 2], [144, 288, 576, 1296],
                      [72, 72, 72, 72]),
    "RegNetY-8.0GF": (17, 192, 76.82, 2.19, 56, [2, 4, 10, 1], [168, 448, 896, 2016],
                      [56, 56, 56, 56]),
    "RegNetY-12GF": (19, 168, 73.36, 2.37, 112, [2, 5, 11, 1], [224, 448, 896, 2240],
                     [112, 112, 112, 112]),
    "RegNetY-16GF": (18, 200, 106.23, 2.48, 112, [2, 4, 11, 1], [224, 448, 1232, 3024],
                     [112, 112, 112, 112]),
    "RegNetY-32GF": (20, 232, 115.89, 2.53, 232, [2, 5, 12, 1], [232, 696, 1392, 3712],
                     [232, 232, 232, 232]),
}


def test_names() -> None:
    names = zoo.names()
    assert len(names) == 24 == len(set(names))
    assert names == list(TABLE)  # X then Y, increasing flops
    assert all(n.startswith("RegNetX-") for n in names[:12])
    assert all(n.startswith("RegNetY-") for n in names[12:])


@pytest.mark.parametrize("name", list(TABLE))
def test_model_matches_table(name: str) -> None:
    d, w0, wa, wm, g, ds, ws, gs = TABLE[name]
    assert zoo.params(name) == {"depth": d, "w0": w0, "wa": wa, "wm": wm, "group_width": g,
                                "se_ratio": 0.25 if "RegNetY" in name else 0.0}
    spec = zoo.get(name)
    assert isinstance(spec, AnyNetSpec)
    assert list(spec.depths) == ds and sum(ds) == d
    assert list(spec.widths) == ws
    assert list(spec.group_widths) == gs
    assert spec.bottleneck_ratios == (1.0,) * 4 and spec.strides == (2,) * 4
    assert (spec.stem_width, spec.stem_stride, spec.in_channels, spec.num_classes) == (
        32, 2, 3, 1000)
    assert spec.se_ratio == (0.25 if name.startswith("RegNetY") else 0.0)


@pytest.mark.parametrize("name", list(TABLE))
def test_four_stages_no_skipped_stage(name: str) -> None:
    p = zoo.params(name)
    st = regnet_stages(p["depth"], p["w0"], p["wa"], p["wm"])
    assert st.num_stages == st.total_stages == 4 and not st.skipped_stage
    assert st.depths == tuple(TABLE[name][5])
    assert zoo.get(name).num_stages == 4


def test_get_overrides_and_unknown_name() -> None:
    spec = zoo.get("RegNetY-400MF", num_classes=10, in_channels=1, stem_stride=1)
    assert (spec.num_classes, spec.in_channels, spec.stem_stride) == (10, 1, 1)
    assert spec.widths == (48, 104, 208, 440) and spec.se_ratio == 0.25
    with pytest.raises(ValueError, match=r"model: 'RegNetZ-1GF' is not in the zoo"):
        zoo.get("RegNetZ-1GF")


def test_complexity_limits() -> None:
    """pycls heuristic (docs/PAPER.md §2.2): params < 3 + 5.5 F (M) holds for all 24;
    acts < 6.5 sqrt(F) (M) holds for all but RegNetY-6.4GF, which exceeds it marginally
    (16.41 vs 16.39)."""
    over = {}
    for name in zoo.names():
        cx = complexity(zoo.get(name))
        f, p, a = cx["flops"] / 1e9, cx["params"] / 1e6, cx["acts"] / 1e6
        assert p < 3 + 5.5 * f, name
        if a >= 6.5 * math.sqrt(f):
            over[name] = (a, 6.5 * math.sqrt(f))
    assert list(over) == ["RegNetY-6.4GF"]
    acts, limit = over["RegNetY-6.4GF"]
    assert acts == pytest.approx(16.41, abs=0.005)
    assert limit == pytest.approx(16.39, abs=0.005)
    assert 1.0 < acts / limit < 1.005


def test_flops_near_nominal() -> None:
    """Each model's flops are close to the regime in its name (e.g. 200MF, 1.6GF)."""
    for name in zoo.names():
        tag = name.split("-")[1]
        nominal = float(tag[:-2]) * (1e6 if tag.endswith("MF") else 1e9)
        assert 0.85 < complexity(zoo.get(name))["flops"] / nominal < 1.15, name


def _check_table(text: str) -> None:
    lines = text.strip().splitlines()
    assert len(lines) == 2 + 24
    for name, line in zip(zoo.names(), lines[2:], strict=True):
        assert line.startswith(name + " ")
        _, _, _, _, _, ds, ws, gs = TABLE[name]
        assert str(ds) in line and str(ws) in line and str(gs) in line
    x200 = lines[2].split()
    assert x200[-3:] == ["0.199", "2.68", "2.16"]  # GF, M params, M acts


def test_main_prints_table(capsys: pytest.CaptureFixture[str]) -> None:
    zoo.main([])
    _check_table(capsys.readouterr().out)


def test_main_other_resolution(capsys: pytest.CaptureFixture[str]) -> None:
    zoo.main(["112"])
    out = capsys.readouterr().out
    gf = float(out.strip().splitlines()[2].split()[-3])
    assert gf == pytest.approx(complexity(zoo.get("RegNetX-200MF"), 112)["flops"] / 1e9,
                               abs=5e-4)
    assert gf < 0.06


def test_dse_zoo_command() -> None:
    exe = shutil.which("dse-zoo")
    cmd = [exe] if exe else [sys.executable, "-m", "anynet.zoo"]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True, timeout=120).stdout
    _check_table(out)
