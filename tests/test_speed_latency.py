"""Latency-aware design spaces: the profile file, predict_latency, and sampling RegNet/AnyNet
spaces by a latency window evaluated on the batch complexity (sampling.latency, constraints)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.runtime import fit_runtime
from anynet import complexity
from sampling import load_design_space
from sampling.latency import (
    PROFILES_ENV,
    SHIPPED_PROFILE_DIR,
    RuntimeProfile,
    available_profiles,
    load_profile,
    predict_latency,
    profile_dirs,
    profile_path,
    resolve_profile,
    save_profile,
    user_profile_dir,
)

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = "xeon-1t-infer_b1"  # the example profile shipped in sampling/profiles/

# known cost model of the synthetic device: 0.5 ms + 20 ms/GF + 2 ms/M acts
TRUE = {"intercept": 0.5, "flops": 20.0, "acts": 2.0}


def true_latency(cx) -> np.ndarray:
    return TRUE["intercept"] + TRUE["flops"] * np.asarray(cx["flops"]) / 1e9 \
        + TRUE["acts"] * np.asarray(cx["acts"]) / 1e6


@pytest.fixture(scope="module")
def profile() -> RuntimeProfile:
    """Fitted (not written down) from synthetic (flops, params, acts) → time data."""
    rng = np.random.default_rng(0)
    flops = rng.uniform(0.05e9, 2e9, 200)
    acts = 2e6 * np.sqrt(flops / 1e9) * rng.uniform(0.5, 2.0, 200)
    params = rng.uniform(1e6, 2e7, 200)
    frame = pd.DataFrame({"flops": flops, "acts": acts, "params": params})
    frame["t_ms"] = true_latency(frame)
    fit = fit_runtime(frame, "t_ms", ["flops", "acts"])
    return RuntimeProfile(name="synthetic", device="synthetic device", runtime="t",
                          features=fit.features, scale=fit.scale, coef=fit.coef,
                          intercept=fit.intercept, resolution=224, cv_r2=fit.cv_r2, r2=fit.r2,
                          folds=fit.folds, n_models=fit.n, ranges=fit.ranges,
                          fitted_on="synthetic", meta={"test": True})


def test_profile_round_trip(profile, tmp_path):
    path = save_profile(profile, tmp_path / "p.json")
    again = load_profile(path)
    assert again == profile and again.digest == profile.digest
    d = json.loads(path.read_text())
    assert d["format"] == "anynet-dse/runtime-profile" and d["version"] == 1
    assert d["coef"] == pytest.approx([20.0, 2.0]) and d["scale"] == {"flops": 1e9, "acts": 1e6}
    assert profile_path("cpu-x").name == "cpu-x.json" and profile_path("a/b.json").name == "b.json"


def test_predict_latency_scalar_and_batch(profile):
    cx = complexity(load_design_space("regnetx").sample(0))
    assert predict_latency(profile, cx) == pytest.approx(float(true_latency(cx)), rel=1e-9)
    batch = {"flops": np.array([1e9, 2e9]), "acts": np.array([1e6, 0.0])}
    np.testing.assert_allclose(predict_latency(profile, batch), [22.5, 40.5], rtol=1e-9)
    with pytest.raises(ValueError, match=r"^cx: missing \['acts'\]"):
        predict_latency(profile, {"flops": 1e9})


@pytest.mark.parametrize("change, message", [
    ({"format": "x"}, "format 'x' is not a runtime profile"),
    ({"version": 9}, "version 9 is not supported"),
    ({"extra": 1}, r"unknown key\(s\) \['extra'\]"),
    ({"features": ["flops", "macs"]}, "profile.features"),
    ({"coef": [1.0]}, "profile.coef"),
    ({"scale": {"flops": 0, "acts": 1e6}}, "profile.scale.flops: 0 is not allowed"),
    ({"intercept": float("nan")}, "profile.intercept"),
])
def test_bad_profile_one_line(profile, tmp_path, change, message):
    d = {**profile.to_dict(), **change}
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(d))
    with pytest.raises(ValueError, match=message) as e:
        load_profile(path)
    assert "\n" not in str(e.value) and str(e.value).startswith(f"profile {str(path)!r}: ")


def test_missing_key_and_file(profile, tmp_path):
    d = profile.to_dict()
    del d["intercept"]
    (tmp_path / "m.json").write_text(json.dumps(d))
    with pytest.raises(ValueError, match="intercept"):
        load_profile(tmp_path / "m.json")
    with pytest.raises(ValueError, match=r"^profile: '.*nope.json' does not exist"):
        load_profile(tmp_path / "nope.json")
    with pytest.raises(ValueError) as e:
        resolve_profile("nope", dirs=[tmp_path])
    assert str(e.value) == (
        f"design_space.complexity.latency_profile: 'nope' is not a profile name; found ['m'] in "
        f"{tmp_path} (set {PROFILES_ENV} for another user folder, or give a path to a .json "
        "profile)")


def test_user_folder_comes_from_the_env_var_or_xdg(monkeypatch, tmp_path):
    monkeypatch.setenv(PROFILES_ENV, str(tmp_path / "mine"))
    assert user_profile_dir() == tmp_path / "mine"
    assert profile_dirs() == (tmp_path / "mine", SHIPPED_PROFILE_DIR)
    monkeypatch.delenv(PROFILES_ENV)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    assert user_profile_dir() == tmp_path / "data" / "anynet-dse" / "profiles"
    monkeypatch.setenv("XDG_DATA_HOME", "relative/ignored")  # the XDG spec: absolute only
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert user_profile_dir() == tmp_path / "home" / ".local" / "share" / "anynet-dse" / "profiles"


def test_a_name_is_looked_up_in_the_user_folder_then_the_shipped_examples(profile, tmp_path,
                                                                          monkeypatch):
    user = tmp_path / "user"
    monkeypatch.setenv(PROFILES_ENV, str(user))
    shipped = resolve_profile(SHIPPED)  # the user folder does not exist yet: the example
    assert shipped.name == SHIPPED and shipped.features == ("params", "acts")
    assert profile_path(SHIPPED) == SHIPPED_PROFILE_DIR / f"{SHIPPED}.json"
    # a user profile of the same name hides the shipped one; other names are listed too
    save_profile(profile, user / f"{SHIPPED}.json")
    save_profile(profile, user / "mine.json")
    assert resolve_profile(SHIPPED) == profile and resolve_profile("mine") == profile
    assert available_profiles() == {SHIPPED: user / f"{SHIPPED}.json", "mine": user / "mine.json"}
    # an explicit path is read as given
    assert resolve_profile(str(SHIPPED_PROFILE_DIR / f"{SHIPPED}.json")).name == SHIPPED
    # a missing name: one line with the names found and both folders
    with pytest.raises(ValueError) as e:
        resolve_profile("gpu-x", field="f")
    msg = str(e.value)
    assert "\n" not in msg and msg.startswith("f: 'gpu-x' is not a profile name; found ")
    assert f"['mine', '{SHIPPED}'] in {user} and {SHIPPED_PROFILE_DIR}" in msg
    with pytest.raises(ValueError, match=r"^f: 'x/y.json' is not a profile \(x/y.json does"):
        resolve_profile("x/y.json", field="f")


def test_a_saved_profile_leaves_no_partial_file_on_a_failed_write(profile, tmp_path):
    """save_profile is atomic: a write that fails (here a 100-byte file-size limit, EFBIG, as
    a full disk gives ENOSPC) names the file in one line and leaves the old file whole."""
    path = save_profile(profile, tmp_path / "p.json")
    before = path.read_bytes()
    code = ("import resource, signal, sys; signal.signal(signal.SIGXFSZ, signal.SIG_IGN); "
            "resource.setrlimit(resource.RLIMIT_FSIZE, (100, 100)); "
            "from sampling.latency import load_profile, save_profile; "
            "p = load_profile(sys.argv[1]); "
            "p = type(p)(**{**p.__dict__, 'intercept': 1.0}); "
            "save_profile(p, sys.argv[1])")
    r = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True,
                       timeout=120, cwd=ROOT)
    assert r.returncode == 1 and f"OSError: [Errno 27] cannot write {path}: File too large" \
        in r.stderr
    assert path.read_bytes() == before and [p.name for p in tmp_path.iterdir()] == ["p.json"]


def test_the_example_profiles_are_package_data():
    """Shipped inside the package (pyproject's package-data), so a wheel finds them by name."""
    assert sorted(available_profiles([SHIPPED_PROFILE_DIR])) == [SHIPPED]
    assert SHIPPED_PROFILE_DIR == ROOT / "sampling" / "profiles"
    text = (ROOT / "pyproject.toml").read_text()
    assert 'sampling = ["profiles/*.json"]' in text
    assert not (ROOT / "results" / "profiles").exists()


def test_a_name_resolves_from_outside_the_repository(tmp_path):
    """From another working folder, with an empty user folder: the shipped example."""
    code = f"from sampling.latency import resolve_profile; print(resolve_profile({SHIPPED!r}).name)"
    env_user = tmp_path / "empty"
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                       timeout=120, cwd=tmp_path, env={**_env(), PROFILES_ENV: str(env_user)})
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == SHIPPED


def _env() -> dict:
    import os

    return {**os.environ, "PYTHONPATH": str(ROOT)}


def _window(space_name: str, profile: RuntimeProfile, path, extra=()) -> tuple[float, float]:
    """A latency window around the middle of the space's predicted latencies."""
    free = load_design_space(space_name, ["design_space.complexity.flops=[0,0]", *extra])
    cx = [complexity(s.spec, free.fixed.resolution) for s in
          free.sample_many(range(300), seed=1).samples]
    lat = np.array([predict_latency(profile, c) for c in cx])
    return float(np.quantile(lat, 0.3)), float(np.quantile(lat, 0.6))


@pytest.mark.parametrize("space_name, extra", [
    ("regnetx", ()), ("anynetx_e", ("design_space.resolution=64",))])
def test_sampling_by_latency_window(profile, tmp_path, space_name, extra):
    path = save_profile(profile, tmp_path / "synthetic.json")
    lo, hi = _window(space_name, profile, path, extra)
    overrides = ["design_space.complexity.flops=[0,0]", *extra,
                 f"design_space.complexity.latency=[{lo},{hi}]",
                 f"design_space.complexity.latency_profile={path}"]
    space = load_design_space(space_name, overrides)
    pop = space.sample_many(range(40), seed=0)
    res = space.fixed.resolution
    for s in pop.samples:
        cx = complexity(s.spec, res)
        assert lo <= true_latency(cx) <= hi  # the known cost model, not just the fitted one
        assert s.complexity == cx and space.contains(s.spec)
    [(name, rejected)] = [(k, v) for k, v in pop.stats.rejected.items() if "latency" in k]
    assert name == f"complexity.latency in [{lo:g}, {hi:g}] ms (synthetic)" and rejected > 0
    # a member of the window-free space whose predicted latency is outside is not contained
    free = load_design_space(space_name, ["design_space.complexity.flops=[0,0]", *extra])
    outside = [s.spec for s in free.sample_many(range(60), seed=2).samples
               if not lo <= predict_latency(profile, complexity(s.spec, res)) <= hi]
    assert outside and not any(space.contains(s) for s in outside)
    # the same member whatever the batch it is drawn in
    assert space.sample(7, seed=0) == pop.samples[7].spec


def test_population_pinned_to_profile_content(profile, tmp_path):
    a = save_profile(profile, tmp_path / "a.json")
    b = save_profile(profile, tmp_path / "sub" / "b.json")
    refit = RuntimeProfile(**{**{k: getattr(profile, k) for k in (
        "name", "device", "runtime", "features", "scale", "intercept", "resolution")},
        "coef": (21.0, 2.0)})
    c = save_profile(refit, tmp_path / "c.json")
    base = ["design_space.complexity.flops=[0,0]", "design_space.complexity.latency=[5,60]"]

    def words(path):
        return load_design_space("regnetx", [*base, f"design_space.complexity.latency_profile="
                                                    f"{path}"])._words

    assert words(a) == words(b) != words(c)
    # switched off ([0, 0] or null), the latency keys change no population
    plain = load_design_space("regnetx", ["design_space.complexity.flops=[0,0]"])._words
    off = load_design_space("regnetx", ["design_space.complexity.flops=[0,0]",
                                        "design_space.complexity.latency=[0,0]",
                                        f"design_space.complexity.latency_profile={a}"])._words
    assert off == plain


@pytest.mark.parametrize("overrides, message", [
    (["design_space.complexity.latency=[5,10]"],
     "^design_space.complexity.latency_profile: missing; a latency window needs a device "
     "profile"),
    (["design_space.complexity.latency=[10,5]",
      "design_space.complexity.latency_profile=x"],
     r"^design_space.complexity.latency: \[10, 5\] is not allowed"),
    (["design_space.complexity.latency=[5,10]",
      "design_space.complexity.latency_profile=no-such-profile"],
     "^design_space.complexity.latency_profile: 'no-such-profile' is not a profile"),
    (["+design_space.complexity.latncy=[5,10]"],
     r"^design_space.complexity: unknown key\(s\) \['latncy'\]; allowed: .*latency, "
     "latency_profile"),
])
def test_latency_config_errors_one_line(overrides, message):
    with pytest.raises(ValueError, match=message) as e:
        load_design_space("regnetx", overrides)
    assert "\n" not in str(e.value)


def test_record_keeps_the_predicted_runtime(profile, tmp_path):
    """A model sampled by a latency window is trained with the prediction in its record."""
    from hydra import compose, initialize_config_dir

    import conf
    from train.runner import run

    path = save_profile(profile, tmp_path / "synthetic.json")
    tiny = ["data=synthetic", "data.train_size=64", "data.test_size=32", "regime.epochs=1",
            "regime.batch_size=32", "regime.warmup_epochs=0", "train.progress=none"]
    with initialize_config_dir(config_dir=str(conf.path()), version_base="1.3"):
        free = compose("config", [*tiny, "design_space=regnetx",
                                  "design_space.complexity.flops=[0,0]"])
    from sampling import space_from_config

    space = space_from_config(free.design_space)
    lat = [predict_latency(profile, complexity(s.spec, 16))
           for s in space.sample_many(range(60), seed=0).samples]
    lo, hi = float(np.quantile(lat, 0.2)), float(np.quantile(lat, 0.8))
    with initialize_config_dir(config_dir=str(conf.path()), version_base="1.3"):
        cfg = compose("config", [*tiny, "design_space=regnetx", f"sweep.dir={tmp_path / 's'}",
                                 "design_space.complexity.flops=[0,0]",
                                 f"design_space.complexity.latency=[{lo},{hi}]",
                                 f"design_space.complexity.latency_profile={path}"])
    rec = run(cfg)
    predicted = rec["predicted"]
    assert predicted["latency"] == pytest.approx(predict_latency(profile, rec["complexity"]))
    assert lo <= predicted["latency"] <= hi and predicted["digest"] == profile.digest
    assert predicted["unit"] == "ms" and predicted["profile"] == "synthetic"
