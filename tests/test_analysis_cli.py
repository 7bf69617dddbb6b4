"""dse-analyze: a report and a proposed space from a sweep; every bad input is one line on
stderr, never a traceback; a write that fails (read-only or full output folder) leaves no
truncated report behind."""

from __future__ import annotations

import os
import resource
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from analysis.cli import main
from analysis.testing import synthetic_population, write_record
from anynet import zoo

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def sweep(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("cli_sweep")
    synthetic_population(d, "anynetx_a", 12, seed=1, shift=3.0, sorted_stages=False)
    synthetic_population(d, "anynetx_e", 10, seed=2)
    write_record(d, "anynetx_e", 99, zoo.get("RegNetX-200MF", num_classes=10), 0.0,
                 status="failed")
    return d


def _cli(*args: str, cwd: Path, limit_bytes: int | None = None) -> subprocess.CompletedProcess:
    def limit() -> None:  # a "full disk": writes past limit_bytes fail with EFBIG
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit_bytes, limit_bytes))

    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run([sys.executable, "-m", "analysis.cli", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300,
                          preexec_fn=limit if limit_bytes else None)


def test_dse_analyze_command(sweep, tmp_path):
    out = tmp_path / "report"
    r = _cli(f"sweep.dir={sweep}", f"out={out}", "n_boot=300", "propose=true",
             "propose_top=20", f"propose_path={tmp_path / 'proposed.yaml'}", "pairs=consecutive",
             "order=[anynetx_e,anynetx_a]", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.strip().splitlines()
    assert lines[-1] == f"report: {out / 'report.html'}"
    assert "  anynetx_e: 10 ok, 1 failed" in lines
    text = (out / "report.html").read_text()
    assert "anynetx_e (n = 10) vs anynetx_a (n = 12)" in text  # the order given
    assert "defaults:" in (tmp_path / "proposed.yaml").read_text()
    assert not (tmp_path / "outputs").exists()  # no Hydra output folders


@pytest.mark.parametrize("args, message", [
    (["sweep.dir={missing}"], "sweep.dir: '{missing}' does not exist"),
    (["sweep.dir={file}"], "sweep.dir: '{file}' is a file"),
    (["metric=accuracy"], "metric: 'accuracy' is not allowed; use one of ['error', "
                          "'min_error']"),
    (["n_boot=0"], "n_boot: 0 is not allowed; use an integer >= 1"),
    (["n_boot=many"], "n_boot: 'many' is not allowed; use an integer"),
    (["bins=0"], "bins: 0 is not allowed; use an integer >= 1"),
    (["bins=2.5"], "bins: 2.5 is not allowed; use an integer"),
    (["top=-3"], "top: -3 is not allowed; use an integer >= 1"),
    (["pairs=some"], "pairs: 'some' is not allowed; use one of ['all', 'consecutive']"),
    (["order=[anynetx_e,nope]"], "order: ['nope'] have no ok sampled models"),
    (["out={file}"], "out: '{file}' is a file; give a folder for the report"),
    (["fit=maybe"], "fit: 'maybe' is not allowed; use true or false"),
    (["nonsense=1"], "Could not override 'nonsense'"),
    (["--verbose"], "--verbose: not an option"),
])
def test_bad_input_is_one_line(sweep, tmp_path, capsys, args, message):
    file = tmp_path / "a_file"
    file.write_text("x")
    fill = {"missing": str(tmp_path / "nope"), "file": str(file)}
    args = [a.format(**fill) for a in args]
    given = {a.split("=")[0] for a in args}
    defaults = {"sweep.dir": sweep, "out": tmp_path / "r", "n_boot": 50}
    args += [f"{k}={v}" for k, v in defaults.items() if k not in given]
    with pytest.raises(SystemExit) as exc:
        main(args)
    err = capsys.readouterr().err
    assert exc.value.code == 2
    assert err.count("\n") == 1 and err.startswith("dse-analyze: error: ")
    assert message.format(**fill) in err
    assert not (tmp_path / "r" / "report.html").exists()


def test_unwritable_output_is_one_line(sweep, tmp_path):
    """A folder nobody may write into: /sys is read-only even for root; otherwise 0o555."""
    if os.geteuid() == 0:
        out = Path("/sys/kernel")
    else:
        out = tmp_path / "ro"
        out.mkdir()
        out.chmod(0o555)
    r = _cli(f"sweep.dir={sweep}", f"out={out}", "n_boot=50", cwd=tmp_path)
    assert r.returncode == 1
    assert r.stderr == f"dse-analyze: error: {out}: Permission denied\n"
    assert "Traceback" not in r.stdout + r.stderr


@pytest.mark.slow
def test_a_full_disk_leaves_the_old_report_whole(sweep, tmp_path):
    """The report is written to a temp file and renamed: when the disk fills up (here: a
    file-size limit, EFBIG), the previous report.html stays as it was and no temp file is
    left behind."""
    out = tmp_path / "r"
    first = _cli(f"sweep.dir={sweep}", f"out={out}", "n_boot=50", "fit=false", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    before = (out / "report.html").read_bytes()
    assert len(before) > 200_000
    r = _cli(f"sweep.dir={sweep}", f"out={out}", "n_boot=50", "fit=false", "seed=1",
             cwd=tmp_path, limit_bytes=150_000)
    assert r.returncode == 1
    assert r.stderr.count("\n") == 1 and "File too large" in r.stderr
    assert r.stderr.startswith(f"dse-analyze: error: cannot write {out}")
    assert (out / "report.html").read_bytes() == before
    assert not [p for p in out.rglob("*") if p.name.endswith(".tmp")]


def test_runs_of_two_seeds_are_refused_unless_the_field_is_allowed(tmp_path):
    from analysis.testing import random_anynet_spec

    rng = np.random.default_rng(5)
    specs = [random_anynet_spec(rng) for _ in range(8)]
    for seed in (0, 1):
        for i, spec in enumerate(specs):
            write_record(tmp_path / "sw", "anynetx_e", i, spec, 10.0 + i + seed, seed=seed)
    r = _cli(f"sweep.dir={tmp_path / 'sw'}", "n_boot=200", "fit=false", cwd=tmp_path)
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1
    assert "fields that differ: train_seed (0, 1)" in r.stderr
    ok = _cli(f"sweep.dir={tmp_path / 'sw'}", "n_boot=200", "fit=false",
              "allow_mixed=[train_seed]", cwd=tmp_path)
    assert ok.returncode == 0, ok.stderr
    assert "anynetx_e: 16 ok" in ok.stdout
