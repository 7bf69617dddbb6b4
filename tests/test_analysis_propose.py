"""propose_regnet reads its grids from the composed base design space, writes with
OmegaConf.save atomically, and refuses populations too small for the bootstrap of the best."""

from __future__ import annotations

import pytest
from omegaconf import OmegaConf

import analysis
from analysis.population import MIN_BOOTSTRAP_N
from analysis.propose import base_domains, propose_regnet
from analysis.testing import synthetic_population


@pytest.fixture(scope="module")
def fitted(tmp_path_factory):
    d = tmp_path_factory.mktemp("propose")
    synthetic_population(d, "anynetx_e", 40, seed=11, noise=0.5)
    return analysis.with_fits(analysis.load_sweep(d))


def test_grids_come_from_the_composed_base():
    x, y = base_domains("regnetx"), base_domains("regnety")
    assert x == y  # regnety composes on regnetx
    regnetx = OmegaConf.load(analysis.propose.CONF_DIR / "regnetx.yaml")
    assert x == OmegaConf.to_container(regnetx.domains)
    with pytest.raises(ValueError, match="^base: 'anynetx_e' is not a RegNet space"):
        base_domains("anynetx_e")
    with pytest.raises(ValueError, match="^base: 'nope' is not a design space"):
        base_domains("nope")


def test_proposal_lies_on_the_base_grids_and_is_saved_atomically(fitted, tmp_path):
    out = tmp_path / "regnet_mine.yaml"
    p = propose_regnet(fitted, top=30, name="regnet_mine", path=out, n=1000)
    assert p.path == out and out.read_text() == p.yaml()
    assert not [f for f in tmp_path.iterdir() if f.name != out.name]  # no temp file left
    saved = OmegaConf.load(out)
    assert list(saved.defaults) == ["regnetx", "_self_"] and saved.name == "regnet_mine"
    grids = base_domains("regnetx")
    for key in ("depth", "w0", "wa", "wm"):
        d, g = saved.domains[key], grids[key]
        assert d.dist == g["dist"] and d.q == g["q"]
        assert g["low"] <= d.low <= d.high <= g["high"]
        assert round(d.low / g["q"], 6).is_integer() and round(d.high / g["q"], 6).is_integer()
    assert set(saved.domains.group_width["values"]) <= set(grids["group_width"]["values"])
    low, med, high = p.intervals["w0"]
    assert saved.domains.w0.low <= max(low, 8) and saved.domains.w0.high >= min(high, 248)


def test_too_few_models_are_refused(fitted):
    with pytest.raises(ValueError, match=f"needs at least {MIN_BOOTSTRAP_N}"):
        propose_regnet(fitted, top=MIN_BOOTSTRAP_N - 1, write=False, n=100)
    assert propose_regnet(fitted, top=MIN_BOOTSTRAP_N, write=False, n=100).n_models == 8
