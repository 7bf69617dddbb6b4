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

