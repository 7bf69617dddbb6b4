"""The notebooks run top to bottom (nbclient) against a small sweep made here, and are
committed without outputs."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from analysis.testing import synthetic_population

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
NAMES = ("01_edf.ipynb", "02_regnet_fit.ipynb")


@pytest.fixture(scope="module")
def sweep(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("nb_sweep")
    synthetic_population(d, "anynetx_c", 25, seed=1, shift=2.0, sorted_stages=False)
    synthetic_population(d, "anynetx_e", 25, seed=2)
    return d


@pytest.mark.parametrize("name", NAMES)
def test_committed_without_outputs(name):
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, name


@pytest.mark.parametrize("name", NAMES)
def test_notebook_runs(name, sweep, tmp_path, monkeypatch):
    monkeypatch.setenv("DSE_SWEEP_DIR", str(sweep))
    monkeypatch.setenv("DSE_PROPOSE_PATH", str(tmp_path / "proposed.yaml"))
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    client = NotebookClient(nb, timeout=240, kernel_name="python3",
                            resources={"metadata": {"path": str(NOTEBOOKS)}})
    client.execute()  # a cell error raises CellExecutionError
    text = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code"
                   for o in c.outputs)
    assert f"{sweep}: 50 records" in text
    if name == "02_regnet_fit.ipynb":
        assert (tmp_path / "proposed.yaml").is_file() and "defaults:" in text
