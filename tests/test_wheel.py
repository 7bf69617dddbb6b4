"""Installed from a wheel, not editable, in an empty folder: every dse-* command and
load_design_space find the packaged configs (issue: installable anywhere). The wheel goes into
a fresh virtual environment that sees this interpreter's installed packages (torch and the rest)
through a path file, whether the suite runs in a venv or not (`system_site_packages` would give
the *base* interpreter's packages when the suite itself runs inside a venv)."""

from __future__ import annotations

import json
import os
import site
import subprocess
import sys
import sysconfig
import venv
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _share_installed_packages(env_dir: Path) -> None:
    """Put this interpreter's site-packages folders (a venv's, when the suite runs in one) on the
    new environment's path, after its own: plain path lines, so their ``.pth`` hooks (such as
    the editable install of this checkout) are not run and the wheel's packages are the ones
    imported."""
    py = env_dir / "bin" / "python"
    purelib = subprocess.run([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()"
                              "['purelib'])"], capture_output=True, text=True, check=True)
    folders = dict.fromkeys([*site.getsitepackages(), sysconfig.get_paths()["purelib"],
                             sysconfig.get_paths()["platlib"]])
    Path(purelib.stdout.strip(), "zz_shared_site_packages.pth").write_text(
        "".join(f"{f}\n" for f in folders if Path(f).is_dir()))


@pytest.mark.slow
def test_wheel_install_runs_every_command_from_an_empty_folder(tmp_path):
    dist = tmp_path / "dist"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                    "-q", "-w", str(dist), str(ROOT)], check=True, timeout=300)
    (wheel,) = dist.glob("anynet_dse-*.whl")
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(system_site_packages=False, with_pip=False).create(env_dir)
    _share_installed_packages(env_dir)
    py, bin_dir = env_dir / "bin" / "python", env_dir / "bin"
    subprocess.run([sys.executable, "-m", "pip", "--python", str(py), "install", "--no-deps",
                    "-q", str(wheel)], check=True, timeout=300)
    work = tmp_path / "empty"
    work.mkdir()

    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}  # the wheel, not a tree

    def run(*cmd: str) -> subprocess.CompletedProcess:
        p = subprocess.run(list(cmd), cwd=work, capture_output=True, text=True, timeout=300,
                           env=env)
        assert p.returncode == 0, p.stdout + p.stderr
        return p

    shipped = set(zipfile.ZipFile(wheel).namelist())
    assert "sampling/profiles/xeon-1t-infer_b1.json" in shipped
    assert {"train/device.py", "train/speed/cli.py", "train/speed/predictors.py"} <= shipped
    env["ANYNET_DSE_PROFILES"] = str(tmp_path / "profiles")  # an empty user folder
    found = run(str(py), "-c", "from sampling.latency import resolve_profile; "
                "p = resolve_profile('xeon-1t-infer_b1'); print(p.name); "
                "import sampling.latency as m; print(m.__file__)").stdout.split()
    assert found[0] == "xeon-1t-infer_b1" and str(env_dir) in found[1], found
    missing = subprocess.run([str(py), "-c", "from sampling.latency import resolve_profile; "
                              "resolve_profile('nope')"], cwd=work, capture_output=True,
                             text=True, timeout=300, env=env)
    assert missing.returncode != 0 and "sampling/profiles" in missing.stderr.splitlines()[-1]
    where = run(str(py), "-c", "import conf, sampling; print(conf.path()); "
                "print(sampling.load_design_space('anynetx_e').sample(0).depths)").stdout
    assert str(env_dir) in where.splitlines()[0], where  # the wheel's configs, not the checkout
    run(str(bin_dir / "dse-zoo"), "32")
    speed = run(str(bin_dir / "dse-speed"), "--models", "RegNetX-200MF", "--devices", "cpu",
                "--threads", "1", "--warmup", "0", "--reps", "1", "--batch", "1",
                "--train-batch", "0", "--no-onnx", "--ratio-reps", "0", "--out",
                str(tmp_path / "zoo.csv")).stdout  # the speed subpackage, from the wheel
    assert "RegNetX-200MF" in speed and (tmp_path / "zoo.csv").is_file()
    assert "dse-speed runtime" in run(str(bin_dir / "dse-speed"), "runtime", "--help").stdout
    run(str(bin_dir / "dse-sample"), "design_space=regnetx", "n=3", "out=pop.jsonl")
    assert len((work / "pop.jsonl").read_text().splitlines()) == 3
    tiny = ["data=synthetic", "data.train_size=64", "data.test_size=32", "regime.epochs=1",
            "regime.batch_size=32", "regime.warmup_epochs=0", "train.progress=none"]
    run(str(bin_dir / "dse-train"), "-m", "design_space=anynetx_a,regnetx", "sample.index=0,1",
        *tiny, "sweep.dir=sw")
    records = sorted((work / "sw").glob("*/*/*/record.json"))
    assert len(records) == 4 and all(json.loads(r.read_text())["status"] in ("ok", "diverged")
                                     for r in records)
    out = run(str(bin_dir / "dse-analyze"), "sweep.dir=sw", "n_boot=200").stdout
    assert out.strip().splitlines()[-1] == "report: sw/report/report.html"
    assert (work / "sw" / "report" / "report.html").is_file()
    study = run(str(bin_dir / "dse-study"), "ablation", "verdicts", "--check", "--results",
                str(ROOT / "results")).stdout  # the packaged conf/study/, committed results
    assert study.strip().endswith("ablation_verdicts.csv: up to date"), study
    assert sorted(p.name for p in work.iterdir()) == ["pop.jsonl", "sw"]
