"""A records export carries a sweep to another machine: `dse-study NAME export` writes every run
record of the sweep folder as one JSON line, `dse-study NAME restore` writes them back byte for
byte into an empty folder, and the same sweep then skips every run; a bad or hostile archive
line is one line naming it, and nothing is written outside the sweep folder or over a record."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from test_sweep import TINY, dse_train, finish

from analysis import study_cli
from analysis.record_archive import read_archive, restore
from analysis.sweep_warning import SweepWarning
from analysis.testing import random_anynet_spec, write_sweep


def _study(sweep, out="x/records.jsonl"):
    return ["paper", f"exports.paper_records.sweeps=[{sweep}]", f"exports.paper_records.out={out}"]


def _cli(step, sweep, results, *names):
    name, *overrides = _study(sweep)
    return study_cli.run([name, step, *names, *overrides, "--results", str(results)])


def test_a_restored_sweep_skips_every_run_and_keeps_its_records_byte_for_byte(tmp_path):
    sweep, results = tmp_path / "runs", tmp_path / "results"
    (results / "x").mkdir(parents=True)
    args = ["-m", "design_space=anynetx_a", "sample.index=range(0,3)", *TINY,
            "hydra/launcher=joblib", "hydra.launcher.n_jobs=1", f"sweep.dir={sweep}"]
    finish(dse_train(*args))
    before = {p.relative_to(sweep): p.read_bytes() for p in sweep.rglob("record.json")}
    assert len(before) == 3
    assert _cli("export", sweep, results, "paper_records") == 0
    lines = (results / "x" / "records.jsonl").read_text().splitlines()
    assert [json.loads(line)["path"] for line in lines] == sorted(p.as_posix() for p in before)
    shutil.rmtree(sweep)  # the machine is gone; the committed archive is not
    assert _cli("restore", sweep, results) == 0
    assert {p.relative_to(sweep): p.read_bytes() for p in sweep.rglob("record.json")} == before
    assert _cli("restore", sweep, results) == 0  # nothing left to write
    out = finish(dse_train(*args))
    assert "3 jobs: ok 0, diverged 0, failed 0, skipped 3" in out, out
    assert {p.relative_to(sweep): p.read_bytes() for p in sweep.rglob("record.json")} == before


def test_an_export_keeps_the_lines_its_sweep_lacks_and_a_restore_never_overwrites(tmp_path):
    rng = np.random.default_rng(0)
    specs = [random_anynet_spec(rng) for _ in range(3)]
    sweep, results = tmp_path / "runs", tmp_path / "results"
    (results / "x").mkdir(parents=True)
    write_sweep(sweep, "regnetx", specs, [5.0, 6.0, 7.0])
    assert _cli("export", sweep, results, "paper_records") == 0
    archive = results / "x" / "records.jsonl"
    first = archive.read_text()
    shutil.rmtree(sweep / "regnetx" / "2")
    assert _cli("export", sweep, results, "paper_records") == 0
    assert archive.read_text() == first
    record = next((sweep / "regnetx" / "0").rglob("record.json"))
    record.write_text(record.read_text().replace('"error": 5.0', '"error": 5.5'))
    mine = record.read_text()
    with pytest.warns(SweepWarning, match="differs from .*left as it is"):
        files = restore(first, str(sweep), "archive")
    assert [p.relative_to(sweep).parts[:2] for p in files] == [("regnetx", "2")]
    assert record.read_text() == mine


def _line(path, record):
    return json.dumps({"path": path, "record": record}) + "\n"


@pytest.mark.parametrize(("edit", "words"), [
    (lambda p, r: "{not json\n", ["line 1", "not JSON"]),
    (lambda p, r: json.dumps({"path": p}) + "\n", ["line 1", "not a line of a records archive"]),
    (lambda p, r: _line("../../elsewhere/x/record.json", r), ["'../../elsewhere/x/record.json'",
                                                              "not allowed"]),
    (lambda p, r: _line("/etc/x/y/record.json", r), ["'/etc/x/y/record.json'", "not allowed"]),
    (lambda p, r: _line(p.replace("record.json", "evil.py"), r), ["evil.py", "not allowed"]),
    (lambda p, r: _line(p, {**r, "status": "pwned"}), ["not a run record", "ok, diverged"]),
    (lambda p, r: _line(p, {**r, "identity": {**r["identity"], "train_seed": 7}}),
     ["not the run its path names"]),
    (lambda p, r: _line(p, {**r, "identity": {**r["identity"], "regime": "x"}}),
     ["not the run its path names"]),
    (lambda p, r: _line(p.replace("regnetx/", "anynetx_a/"), r), ["not the run its path names",
                                                                   "regnetx/0/"]),
    (lambda p, r: _line(p.replace("regnetx/", "regnetx/./"), r), ["not allowed"]),
    (lambda p, r: _line(p.replace("regnetx/", "regnetx//"), r), ["not allowed"]),
    (lambda p, r: _line("/".join(p.split("/")[-2:]), r), ["not allowed"]),
    (lambda p, r: _line(p, r).replace('"error": 5.0', '"error": NaN'), ["line 1", "NaN"]),
])
def test_a_bad_or_hostile_archive_line_is_one_line_and_writes_nothing(tmp_path, capsys, edit,
                                                                       words):
    rng = np.random.default_rng(1)
    sweep, results = tmp_path / "runs", tmp_path / "results"
    (results / "x").mkdir(parents=True)
    write_sweep(sweep, "regnetx", [random_anynet_spec(rng)], [5.0])
    assert _cli("export", sweep, results, "paper_records") == 0
    archive = results / "x" / "records.jsonl"
    (path, record), = read_archive(archive.read_text(), "a").items()
    archive.write_text(edit(path, record))
    shutil.rmtree(sweep)
    with pytest.raises(SystemExit) as stop:
        study_cli.main(["paper", "restore", *_study(sweep)[1:], "--results", str(results)])
    assert stop.value.code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and str(archive) in err
    assert all(w in err for w in words), err
    assert not sweep.exists() and not (tmp_path / "elsewhere").exists()


def test_a_link_out_of_the_sweep_folder_or_no_sweep_folder_is_one_line(tmp_path, capsys):
    rng = np.random.default_rng(2)
    sweep, results = tmp_path / "runs", tmp_path / "results"
    (results / "x").mkdir(parents=True)
    write_sweep(sweep, "regnetx", [random_anynet_spec(rng)], [5.0])
    assert _cli("export", sweep, results, "paper_records") == 0
    shutil.rmtree(sweep)
    sweep.mkdir()
    (tmp_path / "elsewhere").mkdir()
    (sweep / "regnetx").symlink_to(tmp_path / "elsewhere")
    with pytest.raises(SystemExit):
        study_cli.main(["paper", "restore", *_study(sweep)[1:], "--results", str(results)])
    assert "leads outside the sweep folder" in capsys.readouterr().err
    assert list((tmp_path / "elsewhere").iterdir()) == []
    with pytest.raises(SystemExit):
        study_cli.main(["paper", "restore", "exports.paper_records.sweeps=[]",
                        "exports.paper_records.out=x/records.jsonl", "--results", str(results)])
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "exports.paper_records.sweeps" in err
