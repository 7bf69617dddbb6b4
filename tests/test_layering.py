"""The packages' layering (docs/ARCHITECTURE.md "Packages and their dependencies"): anynet <-
sampling <- train; analysis on anynet (whose torch-free `anynet.record` holds the run-record
contract) only. `conf` is the configs, their locator and their types (`conf.schema`,
`conf.check`: Hydra and OmegaConf only), open to every package.
Every module is held to its package's row, subpackages included (`train/speed/` is on train's
floor); a subpackage with a row of its own in `SUBPACKAGES` is held to that row instead."""

from __future__ import annotations

import ast
import re
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
# train/speed (dse-speed) also fits runtime predictors with analysis.runtime before it writes
# them as sampling.latency profiles (docs/SPEED.md "Runtime predictors"): the one module group
# that needs both analysis and sampling. Nothing imports train.speed.
SUBPACKAGES = {"train/speed": ALLOWED["train"] | {"analysis"}}


def imported_packages(path: Path, package: str) -> set[str]:
    """Top-level project packages a module imports (absolute, or relative within `package`)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            found.add(package if node.level else (node.module or "").split(".")[0])
    return found & set(PACKAGES)


def imported_modules(path: Path) -> set[str]:
    """Dotted names a module imports, relative imports resolved against its own package."""
    here = path.relative_to(ROOT).with_suffix("").parts
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = (list(here[:-node.level]) if node.level else []) + (
                node.module.split(".") if node.module else [])
            found |= {".".join(base)} | {".".join([*base, a.name]) for a in node.names}
    return found


def modules(package: str) -> list[Path]:
    """Every module of `package`, its subpackages' included."""
    return sorted((ROOT / package).rglob("*.py"))


def allowed(path: Path, package: str) -> set[str]:
    """The row `path` is held to: its innermost subpackage's in `SUBPACKAGES`, else its
    package's."""
    folder = path.parent.relative_to(ROOT)
    for parent in (folder, *folder.parents):
        if parent.as_posix() in SUBPACKAGES:
            return SUBPACKAGES[parent.as_posix()]
    return ALLOWED[package]


@pytest.mark.parametrize("package", PACKAGES)
def test_each_package_imports_only_the_layers_below(package):
    for path in modules(package):
        bad = imported_packages(path, package) - allowed(path, package)
        assert not bad, f"{path.relative_to(ROOT)} imports {sorted(bad)}"


def test_subpackages_are_held_to_a_layer():
    """The walk reaches subpackages: train/speed is checked, and its row widens train's by
    analysis only."""
    speed = [p for p in modules("train") if p.parent.name == "speed"]
    assert speed and all(allowed(p, "train") == ALLOWED["train"] | {"analysis"} for p in speed)
    assert all(s.split("/")[0] in ALLOWED for s in SUBPACKAGES)
    importers = [p for package in PACKAGES for p in modules(package)
                 if p.parent.name != "speed" and any(
                     m == "train.speed" or m.startswith("train.speed.")
                     for m in imported_modules(p))]
    assert not importers, importers  # the speed application is a leaf: nothing builds on it


def test_one_device_resolver_and_one_hook_counter():
    """Training and speed resolve devices with `train.device.resolve_device`; the measured
    complexity cross-check and speed count with `anynet.measure.hooked_complexity`."""
    homes = {r"def resolve_device\b": ["train/device.py"],
             r"\.register_forward_hook\(": ["anynet/measure.py"]}
    for pattern, expected in homes.items():
        found = [p.relative_to(ROOT).as_posix() for package in PACKAGES
                 for p in modules(package) if re.search(pattern, p.read_text())]
        assert found == expected, (pattern, found)


def test_the_record_contract_and_the_launcher_need_no_torch():
    code = ("import sys, anynet.record, anynet.labels, sampling, train.callbacks, train.settings, "
            "analysis.callbacks; print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"


def test_no_private_api_of_hydra():
    for package in PACKAGES:
        for path in modules(package):
            assert "hydra._internal" not in path.read_text(), path
