"""The Sweep screen's core without Ray: specs from choices or JSON, what a sweep folder shows."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hqnn_core.config import RunConfig, TrainConfig
from hqnn_core.errors import ConfigError
from hqnn_core.learning.checkpoint import atomic_write_json
from hqnn_core.studio import sweep_studio as core
from hqnn_core.sweeps.compare import CompareSpec
from hqnn_core.sweeps.results import TrialRow, write_rows
from hqnn_core.sweeps.spec import SweepSpec
from hqnn_core.sweeps.tracker import SweepSnapshot

BASE = RunConfig(train=TrainConfig(epochs=3, lr=0.02))
LR = core.Dimension("train.lr", "log_range", low=0.001, high=0.1)


def test_build_spec_keeps_the_base_and_the_choices():
    spec = core.build_spec(BASE, [LR, core.Dimension("circuit.measurement", "choice", ("z", "zz"))],
                           search="bayes", trials=5, minutes=2.5, early_stopping=False, seeds=[4],
                           finalists=2)
    assert isinstance(spec, SweepSpec) and spec.base_config == BASE
    assert [p.key for p in spec.space] == ["train.lr", "circuit.measurement"]
    assert (spec.space[0].kind, spec.space[0].low, spec.space[0].high) == ("log_range", 0.001, 0.1)
    assert spec.space[1].values == ("z", "zz")
    assert (spec.search, spec.trials, spec.minutes, spec.early_stopping, spec.seeds,
            spec.finalists) == ("bayes", 5, 2.5, None, (4,), 2)
    grid = core.build_spec(BASE, [core.Dimension("train.lr", "range", low=0.01, high=0.03,
                                                 steps=3)], search="grid", trials=99)
    assert grid.n_trials() == 3 and grid.trials is None  # a grid ignores the trial count


def test_every_offered_key_is_a_config_field_with_valid_defaults():
    for key, (kind, *bounds) in core.TUNABLE.items():
        if kind == "choice":
            dim = core.Dimension(key, "choice", tuple(bounds[0])[:1])
        else:
            dim = core.Dimension(key, "log_range" if kind == "log" else "range",
                                 low=bounds[0], high=bounds[1])
        assert core.build_spec(BASE, [dim], trials=2).space[0].key == key


def test_a_spec_naming_a_baseline_is_a_comparison():
    spec = core.build_spec(BASE, [LR], trials=3, baseline="mlp")
    assert isinstance(spec, CompareSpec) and spec.arms["baseline"].variant == "mlp"
    again = core.parse_spec_text(core.spec_json(spec))
    assert isinstance(again, CompareSpec) and again.to_dict() == spec.to_dict()
    job = core.new_job(spec, Path("/tmp/nowhere"), Path("/tmp/runs"))
    assert isinstance(job, core.CompareJob) and job.command.startswith("hqnn compare /tmp/nowhere/")
    assert json.loads(job.spec.to_json())["baseline"] == "mlp"


@pytest.mark.parametrize("text, sentence", [
    ("", "Paste a sweep specification"),
    ("[1, 2", "not valid JSON (line 1, column 6)"),
    ("[1]", "must be a JSON object"),
    ('{"base": {}, "space": {"train.lr": {"log_range": [0, 1]}}, "trials": 2}', "positive bounds"),
    ('{"base": {}, "space": {}}', "needs a budget"),
    ('{"base": {}, "space": {}, "trials": 2, "baseline": "forest"}', "baseline='forest'"),
])
def test_bad_json_is_one_sentence(text, sentence):
    with pytest.raises(ConfigError) as info:
        core.parse_spec_text(text)
    assert sentence in str(info.value) and "\n" not in str(info.value)


def _rows():
    return [TrialRow("t1", {"train.lr": 0.01}, "completed", val_acc=0.8, run_id="r1", ended=5.0),
            TrialRow("t2", {"train.lr": 0.05}, "completed", val_acc=0.9, run_id="r2", ended=9.0),
            TrialRow("t3", {"train.lr": 0.1}, "early-stopped", val_acc=0.3, best_val_acc=0.85,
                     run_id="r3", ended=7.0),
            TrialRow("t4", {"train.lr": 0.2}, "running", val_acc=0.95, run_id="r4")]


def test_top_trials_and_their_histories(tmp_path):
    assert [r.trial_id for r in core.top_trials(_rows(), 2)] == ["t2", "t3"]
    history = {"batch": [{"step": 1, "loss": 1.0, "acc": 0.5}],
               "epoch": [{"epoch": 0, "loss": 1.0, "acc": 0.5, "val_acc": 0.9}]}
    for run in ("r1", "r2"):
        atomic_write_json(tmp_path / run / "metrics.json", {"history": history})
    snap = SweepSnapshot("completed", "search", _rows(), [], 4, 10.0, None, keys=["train.lr"])
    curves = core.top_histories(snap, tmp_path, 3)  # r3 has no folder: left out, no error
    assert list(curves) == ["t2 (lr=0.05)", "t1 (lr=0.01)"] and curves["t1 (lr=0.01)"] == history


def test_progress_line_and_fraction():
    snap = SweepSnapshot("running", "search", _rows(), [], 8, 75.0, 130.0)
    assert core.progress_line(snap) == ("3 of 8 trials · 1 running · best validation 90.0% · "
                                        "1 min 15 s elapsed · about 2 min 10 s left")
    assert core.progress_fraction(snap, None) == 3 / 8
    timed = SweepSnapshot("running", "search", _rows(), [], None, 30.0, None)
    assert core.progress_fraction(timed, 2.0) == 0.25 and "3 of ? trials" in core.progress_line(timed)


def test_best_config_of_a_sweep_folder(tmp_path):
    spec = core.build_spec(BASE, [LR], trials=4)
    job = core.SweepJob(spec, tmp_path)
    assert core.best_config(job) is None
    write_rows(tmp_path, _rows(), ["train.lr"])
    assert core.best_config(job) == RunConfig(train=TrainConfig(epochs=3, lr=0.05))


def test_compare_table_reads_compare_json(tmp_path):
    job = core.CompareJob(core.build_spec(BASE, [LR], trials=2, baseline="logistic"), tmp_path)
    assert core.compare_table(job) is None
    arm = {"status": "completed", "trials": 2, "best_params": {"train.lr": 0.05},
           "best_val_acc": 0.95, "test_by_seed": {"1": 0.9, "2": 0.94}, "test_mean": 0.92,
           "test_std": 0.02828, "parameters": 1234, "train_seconds": 3.21}
    atomic_write_json(tmp_path / "compare.json", {
        "arms": {"hybrid": arm, "twin": {**arm, "best_params": {}}},
        "differences": {"hybrid - twin": {"mean": 0.011, "low": -0.02, "high": 0.042, "n": 2},
                        "hybrid - baseline": {"mean": -0.005, "low": None, "high": None, "n": 1}}})
    rows, lines = core.compare_table(job)
    assert rows[0]["test (mean ± std)"] == "92.00% ± 2.83" and rows[0]["per seed"] == "1: 90.00%, 2: 94.00%"
    assert rows[0]["best configuration"] == "train.lr=0.05" and rows[1]["best configuration"] == "base"
    assert lines == ["hybrid - twin: +1.10 points, 95% interval [-2.00, +4.20] (paired over 2 seeds).",
                     "hybrid - baseline: -0.50 points (one seed, no interval)."]
