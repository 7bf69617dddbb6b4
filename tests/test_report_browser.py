"""The report in a real browser (headless Chromium, no network): the figures are SVG in the
rendered DOM, every model marker carries a <title> tooltip with its error, and a screenshot of
the page is not blank. CI installs the browser with ``apt-get install -y chromium``."""

from __future__ import annotations

import html
import os
import shutil
import subprocess

import numpy as np
import pytest
from PIL import Image

import analysis
from analysis.testing import synthetic_population

BROWSERS = ("chromium", "chromium-browser", "google-chrome")
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-extensions",
         "--no-first-run", "--hide-scrollbars")


def _browser() -> str:
    found = next((shutil.which(b) for b in BROWSERS if shutil.which(b)), None)
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("no headless browser: apt-get install -y chromium")
        pytest.skip("no chromium on this machine (apt-get install -y chromium)")
    return found


@pytest.mark.slow
def test_report_renders_with_tooltips_in_chromium(tmp_path):
    browser = _browser()
    sweep = tmp_path / "sweep"
    synthetic_population(sweep, "anynetx_a", 12, seed=1, shift=3.0, sorted_stages=False)
    synthetic_population(sweep, "anynetx_e", 10, seed=2)
    df = analysis.load_sweep(sweep)
    settings = analysis.ReportSettings(n_boot=200, params=("depth", "w4", "flops"))
    path = analysis.write_report(df, tmp_path / "r", settings)
    url = path.resolve().as_uri()
    env = {**os.environ, "HOME": str(tmp_path)}  # chromium writes its profile there
    dom = subprocess.run([browser, *FLAGS, "--dump-dom", url], capture_output=True, text=True,
                         timeout=120, env=env).stdout
    assert dom.count("<svg") >= 5
    best = analysis.best_rows(analysis.with_fits(df), 1).iloc[0]
    title = analysis.report.model_title(best, "error")
    assert f"error {analysis.fmt.number(best.error)}%" in title
    # one tooltip per marker of that model: its EDF step and each trend panel
    assert dom.count(f"<title>{html.escape(title, quote=False)}</title>") >= 1 + 3
    assert dom.index("<h2>Verdict</h2>") < dom.index("<svg")
    shot = tmp_path / "shot.png"
    subprocess.run([browser, *FLAGS, "--window-size=1280,2400", f"--screenshot={shot}", url],
                   capture_output=True, timeout=120, env=env, check=True)
    pixels = np.asarray(Image.open(shot).convert("L"), dtype=float)
    assert pixels.shape == (2400, 1280)
    assert (pixels < 200).mean() > 0.02 and pixels.std() > 20  # text and figures drawn
