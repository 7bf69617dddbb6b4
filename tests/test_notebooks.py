"""The notebooks run top to bottom (nbclient) against small sweeps made here, with no
environment variable (the newest sweep under sweeps/, as right after the quickstart) and with
DSE_SWEEP_DIR overriding it, and are committed without outputs."""

from __future__ import annotations

import os
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from analysis.testing import synthetic_population

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
NAMES = ("01_edf.ipynb", "02_regnet_fit.ipynb")


@pytest.fixture(scope="module")
def root(tmp_path_factory) -> Path:
    """A working folder with sweeps/older and sweeps/newest (written last)."""
    d = tmp_path_factory.mktemp("nb_root")
    for name, n, shift in (("older", 12, 1.0), ("newest", 25, 2.0)):
        paths = synthetic_population(d / "sweeps" / name, "anynetx_c", n, seed=1, shift=shift,
                                     sorted_stages=False)
        paths += synthetic_population(d / "sweeps" / name, "anynetx_e", n, seed=2)
        stamp = 1_000_000_000 if name == "older" else 2_000_000_000
        for p in paths:
            os.utime(p, (stamp, stamp))
    return d


def _run(name: str, cwd: Path) -> str:
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    client = NotebookClient(nb, timeout=240, kernel_name="python3",
                            resources={"metadata": {"path": str(cwd)}})
    client.execute()  # a cell error raises CellExecutionError
    return "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code"
                   for o in c.outputs)


@pytest.mark.parametrize("name", NAMES)
def test_committed_without_outputs(name):
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, name


def test_edf_notebook_with_the_sweep_given(root, monkeypatch):
    monkeypatch.setenv("DSE_SWEEP_DIR", str(root / "sweeps" / "older"))
    text = _run("01_edf.ipynb", root)
    assert f"{root / 'sweeps' / 'older'}: 24 records" in text
    assert "\nstem_stride: 2\n" in text and "\nregime: " in text  # the instrument, stated
    assert "anynetx_c (n = 12) vs anynetx_e (n = 12): median" in text  # the verdict


def test_fit_notebook_defaults_to_the_newest_sweep(root, tmp_path, monkeypatch):
    monkeypatch.delenv("DSE_SWEEP_DIR", raising=False)
    monkeypatch.setenv("DSE_PROPOSE_PATH", str(tmp_path / "proposed.yaml"))
    text = _run("02_regnet_fit.ipynb", root)
    assert f"{root / 'sweeps' / 'newest'}: 50 records" in text
    assert "\nstem_stride: 2\n" in text
    assert (tmp_path / "proposed.yaml").is_file() and "defaults:" in text
