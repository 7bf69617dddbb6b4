"""The typed settings (conf/schema.py) and their one checker (conf/check.py): each key's type,
default and what it allows have one home, the YAML files repeat none of them, a composed config
reads as before, and every bad value is one line naming the key, the value and what is allowed
(docs/ARCHITECTURE.md "Configuration keys")."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
import yaml
from hydra import compose, initialize_config_dir
from hydra.errors import HydraException
from omegaconf import OmegaConf

import conf
from conf.check import Allowed, ConfigError, check_value, checked, describe, error_line
from conf.schema import (
    ROOTS,
    AnalyzeConfig,
    DesignSpaceKeys,
    FidelityConfig,
    TrainConfig,
    TrainKeys,
)

FILES = {"config": TrainConfig, "analyze": AnalyzeConfig, "fidelity": FidelityConfig}


def _compose(config_dir: str, name: str, overrides: list[str]) -> Any:
    with initialize_config_dir(config_dir=config_dir, version_base="1.3"):
        return compose(name, overrides)


@pytest.mark.parametrize("name", sorted(FILES))
def test_the_yaml_files_repeat_no_typed_default(name):
    """The defaults list names the schema; no key of it is set in the file itself."""
    text = yaml.safe_load((conf.path() / f"{name}.yaml").read_text())
    schema_names = [n for n, root in ROOTS.items() if root is FILES[name]]
    assert schema_names and schema_names[0] in text["defaults"]
    keys = {f.name for f in dataclasses.fields(FILES[name])}
    assert not keys & set(text), sorted(keys & set(text))


@pytest.mark.parametrize("name", sorted(FILES))
def test_a_composed_config_holds_the_schema_defaults_in_its_order(name):
    plain = conf.compose_plain(name, [])
    schema = FILES[name]
    assert checked({k: v for k, v in plain.items() if k in _names(schema)}, schema) == {
        k: plain[k] for k in _names(schema)}
    keys = [k for k in plain if k in _names(schema)]
    assert keys == _names(schema)  # the order of the files before the schemas
    if name == "config":
        assert list(plain) == ["design_space", "data", "regime", *_names(schema)]
        assert plain["train"] == dataclasses.asdict(TrainKeys())


def _names(schema: type) -> list[str]:
    return [f.name for f in dataclasses.fields(schema)]


def test_the_design_space_keys_are_those_of_the_spaces():
    """Every key of a composed design space is a field of `DesignSpaceKeys`, and every
    required field is in each space."""
    required = {f.name for f in dataclasses.fields(DesignSpaceKeys)
                if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING}
    for path in sorted((conf.path() / "design_space").glob("*.yaml")):
        cfg = conf.compose_plain("space", [f"design_space={path.stem}"])["design_space"]
        assert set(cfg) <= set(_names(DesignSpaceKeys)), path.stem
        assert required <= set(cfg), path.stem
        checked(cfg, DesignSpaceKeys, "design_space.")


@pytest.mark.parametrize(("key", "value", "hint", "allowed", "line"), [
    ("train.threads", 0, int, Allowed(low=1, high=8), "use an integer from 1 to 8"),
    ("sample.index", -1, int, Allowed(low=0), "use an integer >= 0"),
    ("train.seed", True, int, Allowed(low=0), "use an integer >= 0"),
    ("bins", 2.5, int, Allowed(low=1), "use an integer >= 1"),
    ("alpha", float("nan"), float, Allowed(low=0, high=1, open=True), "use a number in (0, 1)"),
    ("alpha", 1.0, float, Allowed(low=0, high=1, open=True), "use a number in (0, 1)"),
    ("targets.trained", 2, int | float, Allowed(low=0, high=1), "use a number in [0, 1]"),
    ("fit", "maybe", bool, Allowed(), "use true or false"),
    ("train.eval", "never", str, Allowed(choices=("final", "epoch")), "use one of final, epoch"),
    ("train.device", "cuda:x", str, TrainKeys.__dataclass_fields__["device"].metadata["allowed"],
     "use cpu, cuda or auto"),
    ("num_classes", 1, int | None, Allowed(low=2), "use an integer >= 2"),
    ("order", "a", list[str] | None, Allowed(words="a list of design spaces"),
     "use a list of design spaces"),
])
def test_a_bad_value_is_one_line_naming_key_value_and_what_is_allowed(key, value, hint,
                                                                       allowed, line):
    with pytest.raises(ConfigError) as exc:
        check_value(key, value, hint, allowed)
    assert str(exc.value) == f"{key}: {value!r} is not allowed; {line}"


def test_good_values_pass_and_a_float_setting_is_a_float():
    device = TrainKeys.__dataclass_fields__["device"].metadata["allowed"]
    assert check_value("train.device", "cuda:1", str, device) == "cuda:1"
    assert check_value("alpha", 0, float, Allowed(low=-1)) == 0.0
    assert isinstance(check_value("alpha", 0, float), float)
    assert check_value("ci", 95, int | float, Allowed(low=0, high=100, open=True)) == 95
    assert check_value("num_classes", None, int | None, Allowed(low=2)) is None
    assert check_value("spec", {"depths": [1]}, Any) == {"depths": [1]}


def test_checked_fills_defaults_refuses_unknown_keys_and_takes_rules():
    got = checked({"train": {"threads": 2}, "data": {"x": 1}}, TrainConfig, others=("data",))
    assert got["train"] == {**dataclasses.asdict(TrainKeys()), "threads": 2}
    assert got["data"] == {"x": 1} and got["sweep"]["dir"] == "sweeps/default"
    with pytest.raises(ConfigError, match=r"^config: unknown key\(s\) \['bogus'\]; allowed: "
                                          r"\['sample', 'model', 'spec', 'train', 'sweep'\]$"):
        checked({"bogus": 1}, TrainConfig)
    with pytest.raises(ConfigError, match=r"^train: unknown key\(s\) \['colour'\]"):
        checked({"train": {"colour": 1}}, TrainConfig)
    with pytest.raises(ConfigError, match=r"^train.threads: 3 is not allowed; use an integer "
                                          r"from 1 to 2$"):
        checked({"train": {"threads": 3}}, TrainConfig,
                rules={"train.threads": Allowed(low=1, high=2)})
    with pytest.raises(ConfigError, match=r"^sweep: 5 is not allowed; use a mapping of sweep.\* "
                                          r"keys \(dir, "):
        checked({"sweep": 5}, TrainConfig)


@pytest.mark.parametrize(("name", "override", "line"), [
    ("config", "train.threads=abc", "train.threads: 'abc' is not allowed; use an integer >= 1"),
    ("config", "sample.index=1.5", "sample.index: 1.5 is not allowed; use an integer >= 0"),
    ("config", "sweep.overwrite=maybe", "sweep.overwrite: 'maybe' is not allowed; use true or "
                                        "false"),
    ("config", "train=5", "train: 5 is not allowed; use a mapping of train.* keys (seed, "),
    ("analyze", "bins=many", "bins: 'many' is not allowed; use an integer >= 1"),
    ("analyze", "order=anynetx_a", "order: 'anynetx_a' is not allowed; use a list of design "
                                   "spaces"),
    ("fidelity", "ci=abc", "ci: 'abc' is not allowed; use a percentage in (0, 100)"),
    ("fidelity", "targets=5", "targets: 5 is not allowed; use a mapping of targets.* keys"),
    ("fidelity", "targets.min_models=2.5", "targets.min_models: 2.5 is not allowed; use an "
                                           "integer >= 0"),
])
def test_a_wrong_type_refused_while_composing_is_the_same_one_line(name, override, line):
    with pytest.raises(ValueError) as exc:
        conf.compose_plain(name, [override])
    assert str(exc.value).startswith(line) and "\n" not in str(exc.value)


def test_an_override_of_a_missing_key_keeps_hydras_line():
    with pytest.raises(ValueError, match=r"^Could not override 'nonsense'"):
        conf.compose_plain("analyze", ["nonsense=1"])


def test_a_key_a_config_file_adds_to_a_typed_section_is_one_line(tmp_path):
    """A user's experiment that sets a key the schema does not have."""
    (tmp_path / "mine.yaml").write_text("defaults:\n  - train_schema\n  - _self_\n"
                                        "train:\n  colour: red\n")
    with pytest.raises(HydraException) as exc:
        _compose(str(tmp_path), "mine", [])
    assert error_line(exc.value) == ("train: unknown key(s) ['colour']; allowed: "
                                     f"{_names(TrainKeys)}")
    assert error_line(ValueError("other")) is None


def test_the_schemas_are_hydras_structured_configs(tmp_path):
    """Typed while composing: an integer given as a quoted string is converted by OmegaConf,
    a bool stays refused."""
    (tmp_path / "mine.yaml").write_text("defaults:\n  - train_schema\n  - _self_\n")
    cfg = _compose(str(tmp_path), "mine", ["train.seed='3'"])
    assert cfg.train.seed == 3 and OmegaConf.get_type(cfg.train) is TrainKeys


def test_help_lists_every_key_with_its_default_and_doc():
    text = describe(FidelityConfig)
    assert "  targets.min_models 24" in text and "  proxy" in text
    assert "  sweep.dir      sweeps/default         the sweep's folder" in describe(AnalyzeConfig)
    lines = describe(AnalyzeConfig).splitlines()
    assert len(lines) == len(_names(AnalyzeConfig))  # sweep holds only dir


def test_a_config_file_that_is_not_yaml_is_one_line(tmp_path):
    (tmp_path / "broken.yaml").write_text("plan: se\nverdicts: [unclosed\n")
    with pytest.raises(ValueError) as exc:
        conf.compose_plain("broken", [], folder=tmp_path)
    line = str(exc.value)
    assert "\n" not in line
    assert line.startswith(f"{tmp_path / 'broken.yaml'}: not valid YAML at line 3, column 1: ")
    assert line.endswith("; fix the file")
