"""Shared pytest setup: one torch thread, so tests behave the same on small shared machines."""

import pytest
import torch

torch.set_num_threads(1)


@pytest.fixture(scope="session")
def _profile_home(tmp_path_factory):
    return tmp_path_factory.mktemp("user-profiles")


@pytest.fixture(autouse=True)
def _user_profiles(_profile_home, monkeypatch):
    """No test (nor a command it starts) reads or writes the real user profile folder
    (`sampling.latency.user_profile_dir`): ANYNET_DSE_PROFILES points at a temp folder."""
    monkeypatch.setenv("ANYNET_DSE_PROFILES", str(_profile_home))


def load_results_script(name: str):
    """Import ``results/<name>.py`` (a script, not a package module) by its path."""
    import importlib.util
    import sys
    from pathlib import Path

    folder = Path(__file__).resolve().parents[1] / "results"
    if str(folder) not in sys.path:  # as when run as a script: its siblings import
        sys.path.append(str(folder))
    path = folder / f"{name}.py"
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod  # dataclasses look their module up
    spec.loader.exec_module(mod)
    return mod
