"""Every ``dse-*`` command ends quietly when the reader of its stdout goes away
(``dse-zoo | head -1``): exit status 141 and nothing on stderr, through the one shared
`anynet.system.quiet_broken_pipe`; and the process helpers of `anynet.system`."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from anynet import system

ROOT = Path(__file__).resolve().parents[1]

# (entry point module, arguments that print to stdout cheaply)
COMMANDS = {
    "dse-zoo": ("anynet.zoo", []),
    "dse-sample": ("sampling.cli", ["design_space=regnetx", "n=3", "out={tmp}/pop.jsonl"]),
    "dse-train": ("train.cli", ["--help"]),
    "dse-analyze": ("analysis.cli", ["--help"]),
    "dse-fidelity": ("analysis.fidelity_cli", ["--help"]),
    "dse-study": ("analysis.study_cli", ["--help"]),
    # prints the device line (flushed) before measuring: the closed pipe stops it there
    "dse-speed": ("train.speed.cli", ["--models", "RegNetX-200MF", "--devices", "cpu",
                                      "--threads", "1", "--warmup", "0", "--reps", "1",
                                      "--batch", "1", "--train-batch", "0", "--no-onnx",
                                      "--ratio-reps", "0", "--out", "{tmp}/zoo.csv"]),
}


def _command(name: str, tmp: Path) -> list[str]:
    module, args = COMMANDS[name]
    return [sys.executable, "-c", f"from {module} import main; main()",
            *[a.format(tmp=tmp) for a in args]]


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT)}


@pytest.mark.parametrize("name", list(COMMANDS))
def test_a_closed_stdout_pipe_ends_the_command_quietly(name, tmp_path):
    """The reader has gone before the command writes (deterministic: every write fails)."""
    read, write = os.pipe()
    os.close(read)
    try:
        proc = subprocess.Popen(_command(name, tmp_path), stdout=write, stderr=subprocess.PIPE,
                                text=True, cwd=tmp_path, env=_env())
    finally:
        os.close(write)
    _, err = proc.communicate(timeout=300)
    assert "Traceback" not in err and "BrokenPipeError" not in err
    assert err == "" and proc.returncode == system.BROKEN_PIPE_STATUS
    if name == "dse-speed":  # stopped at its first line: nothing measured, nothing written
        assert not (tmp_path / "zoo.csv").exists()


def test_head_one(tmp_path):
    """``dse-zoo | head -1``: read one line, close the pipe, wait."""
    proc = subprocess.Popen(_command("dse-zoo", tmp_path), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, cwd=tmp_path, env=_env())
    assert proc.stdout.readline().startswith("name")
    proc.stdout.close()
    err = proc.stderr.read()
    proc.wait(timeout=120)
    proc.stderr.close()
    assert "Traceback" not in err and err == ""
    assert proc.returncode in (0, system.BROKEN_PIPE_STATUS)


def test_available_cpus_is_the_affinity_mask_and_shared():
    import train.settings

    assert system.available_cpus() == len(os.sched_getaffinity(0))
    assert train.settings.available_cpus is system.available_cpus


def test_check_cpu_count():
    n = system.available_cpus()
    assert system.check_cpu_count(1, "x") == 1 and system.check_cpu_count(n, "x") == n
    for bad in (0, n + 1, 10_000, True, 1.0, "2"):
        with pytest.raises(ValueError) as e:
            system.check_cpu_count(bad, "--threads")
        assert str(e.value).startswith(f"--threads: {bad!r} is not allowed; use an integer "
                                       f"from 1 to {n} ")


def test_check_output_file(tmp_path):
    out = system.check_output_file(tmp_path / "a" / "b.csv", "--out")
    assert out == tmp_path / "a" / "b.csv"
    assert list(tmp_path.iterdir()) == []  # the probe leaves nothing behind, no folder made
    (tmp_path / "a").mkdir()
    assert system.check_output_file(out, "--out") == out and list(out.parent.iterdir()) == []
    with pytest.raises(ValueError, match=r"^--out: cannot write .* \(a folder\); give a file"):
        system.check_output_file(tmp_path, "--out")
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(OSError) as e:
        system.check_output_file(blocker / "x.csv", "--out")
    assert e.value.strerror == (f"--out: cannot write {blocker / 'x.csv'} (Not a directory); "
                                "give a writable folder")
