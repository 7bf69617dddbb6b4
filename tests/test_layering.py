"""The packages' layering (docs/ARCHITECTURE.md "Packages and their dependencies"): anynet <-
sampling <- train; analysis on anynet (whose torch-free `anynet.record` holds the run-record
contract) only. `conf` is the configs' locator, data rather than code, open to every package."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("anynet", "sampling", "train", "analysis", "conf")
ALLOWED = {
    "anynet": {"anynet"},
    "sampling": {"sampling", "anynet", "conf"},
    "train": {"train", "anynet", "sampling", "conf"},
    "analysis": {"analysis", "anynet", "conf"},
    "conf": {"conf"},
}


def imported_packages(path: Path, package: str) -> set[str]:
    """Top-level project packages a module imports (absolute, or relative within `package`)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            found.add(package if node.level else (node.module or "").split(".")[0])
    return found & set(PACKAGES)


@pytest.mark.parametrize("package", PACKAGES)
def test_each_package_imports_only_the_layers_below(package):
    for path in sorted((ROOT / package).glob("*.py")):
        bad = imported_packages(path, package) - ALLOWED[package]
        assert not bad, f"{path.relative_to(ROOT)} imports {sorted(bad)}"


def test_the_record_contract_and_the_launcher_need_no_torch():
    code = ("import sys, anynet.record, sampling, train.callbacks, train.settings, "
            "analysis.callbacks; print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"


def test_no_private_api_of_hydra():
    for package in PACKAGES:
        for path in (ROOT / package).glob("*.py"):
            assert "hydra._internal" not in path.read_text(), path
