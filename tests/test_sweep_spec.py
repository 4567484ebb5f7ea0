"""Sweep specifications: parsing, JSON round trip, grids, and one-sentence errors (no Ray)."""

from __future__ import annotations

import json

import pytest

from hqnn_core.errors import ConfigError
from hqnn_core.sweeps.results import (TrialRow, best_row, best_so_far, chosen, finalist_rows,
                                      finalist_scores)
from hqnn_core.sweeps.spec import SweepSpec
from hqnn_core.sweeps.stats import mean_std, paired_difference, t_interval

BASE = {"data": {"name": "digits", "train_size": 200}, "circuit": {"n_qubits": 3},
        "train": {"epochs": 3}}


def spec(**kw):
    return SweepSpec.from_dict({"base": BASE, "space": {"train.lr": {"log_range": [0.001, 0.1]}},
                                "trials": 4, **kw})


def test_round_trip_and_defaults(tmp_path):
    s = SweepSpec.from_dict({"base": BASE, "trials": 5, "space": {
        "train.lr": {"log_range": [0.001, 0.1]}, "circuit.layers": {"range": [1, 3]},
        "model.front": ["linear", "cnn"], "data.classes": {"choice": [[0, 1], [3, 5]]}}})
    assert s.search == "random" and s.seeds == (1, 2, 3) and s.early_stopping is not None
    path = tmp_path / "s.json"
    path.write_text(s.to_json())
    assert SweepSpec.from_json(path) == s
    layers = next(p for p in s.space if p.key == "circuit.layers")
    assert layers.integer and layers.grid() == [1, 2, 3]
    cfg = s.config_for({"circuit.layers": 2, "model.front": "cnn", "data.classes": (3, 5)})
    assert cfg.circuit.layers == 2 and cfg.model.front == "cnn" and cfg.data.classes == (3, 5)
    assert cfg.train.epochs == 3 and s.max_epochs == 3


def test_grid_points_and_steps():
    s = SweepSpec.from_dict({"base": BASE, "search": "grid", "space": {
        "train.lr": {"log_range": [0.001, 0.1], "steps": 3}, "circuit.encoding": ["angle", "iqp"]}})
    assert s.grid_size() == 6 and s.n_trials() == 6
    lrs = sorted({p["train.lr"] for p in s.grid_points()})
    assert lrs == pytest.approx([0.001, 0.01, 0.1])
    epochs = SweepSpec.from_dict({"base": BASE, "search": "grid",
                                  "space": {"train.epochs": [2, 5]}})
    assert epochs.max_epochs == 5


@pytest.mark.parametrize("change, words", [
    ({"space": {"train.lrr": [0.1]}}, "not a field of 'train'"),
    ({"space": {"optim.lr": [0.1]}}, "must be 'section.field'"),
    ({"space": {"circuit.encoding": ["angle", "nope"]}}, "'nope' is not supported"),
    ({"space": {"circuit.n_qubits": {"range": [2, 40]}}}, "does not work with the base"),
    ({"space": {"train.lr": {"range": [0.1, 0.01]}}}, "low < high"),
    ({"space": {"train.lr": {"log_range": [0, 0.1]}}}, "positive bounds"),
    ({"space": {"circuit.layers": {"range": [1, 2.5]}}}, "whole-number bounds"),
    ({"space": {"circuit.encoding": {"range": [1, 2]}}}, "not numeric"),
    ({"space": {"train.lr": {"between": [1, 2]}}}, "exactly one of"),
    ({"space": {"train.lr": []}}, "non-empty list"),
    ({"search": "annealing"}, "search='annealing' is not supported"),
    ({"trials": None}, "needs a budget"),
    ({"trials": 0}, "at least 1"),
    ({"minutes": -1}, "positive number"),
    ({"seeds": [1, 1]}, "distinct"),
    ({"colour": "red"}, "Unknown key(s) in the sweep: colour"),
    ({"early_stopping": {"patience": 2}}, "Unknown key(s) in early_stopping"),
    ({"search": "grid", "space": {"train.lr": {"range": [0.01, 0.1]}}}, "needs \"steps\""),
    ({"search": "grid", "trials": 3, "space": {"train.lr": [0.1, 0.01]}}, "every one of its 2"),
    ({"base": {**BASE, "data": {"name": "digits", "val_fraction": 0}}}, "validation split"),
    ({"base": {"data": {"name": "nope"}}}, "data.name='nope'"),
    ({"space": {"baseline.C": [1.0]}}, "need variant"),
    ({"variant": "logistic", "space": {"baseline.depth": [1]}}, "not a setting of the logistic"),
])
def test_bad_specs_raise_one_sentence(change, words):
    data = {"base": BASE, "space": {"train.lr": {"log_range": [0.001, 0.1]}}, "trials": 4}
    data.update(change)
    data = {k: v for k, v in data.items() if v is not None}
    with pytest.raises(ConfigError) as err:
        SweepSpec.from_dict(data)
    message = str(err.value)
    assert words in message and "\n" not in message and "Traceback" not in message


def test_bad_json_file(tmp_path):
    path = tmp_path / "bad.json"
    path.write_text("{not json")
    with pytest.raises(ConfigError, match="not valid JSON"):
        SweepSpec.from_json(path)


def test_baseline_variant_params():
    s = SweepSpec.from_dict({"base": BASE, "variant": "mlp", "trials": 2,
                             "space": {"baseline.alpha": {"log_range": [1e-5, 1e-2]}}})
    assert s.is_baseline and s.max_epochs == 1
    assert s.baseline_params({"baseline.alpha": 0.001}) == {"hidden": 128, "alpha": 0.001,
                                                             "lr": 1e-3, "max_iter": 200}


def test_best_row_selects_on_validation_only():
    rows = [TrialRow("a", {}, "completed", val_acc=0.8, train_seconds=5, test_acc=0.99, ended=1),
            TrialRow("b", {}, "completed", val_acc=0.9, train_seconds=9, test_acc=0.1, ended=2),
            TrialRow("c", {}, "completed", val_acc=0.9, train_seconds=3, ended=3),
            TrialRow("d", {}, "early-stopped", val_acc=0.95, ended=4),
            TrialRow("e", {}, "failed")]
    assert best_row(rows).trial_id == "c"  # highest val, then faster; test accuracy ignored
    tied = [TrialRow("x", {}, "completed", val_acc=1.0, val_loss=0.05, train_seconds=9),
            TrialRow("y", {}, "completed", val_acc=1.0, val_loss=0.20, train_seconds=1)]
    assert best_row(tied).trial_id == "x"  # a tie at 100% goes to the lower loss
    assert best_so_far(rows) == [(1, 0.8), (2, 0.9), (3, 0.9), (4, 0.95)]


def test_finalists_are_chosen_on_their_seeds_mean_validation_never_on_test():
    a, b, c = {"train.lr": 0.1}, {"train.lr": 0.01}, {"train.lr": 0.001}
    trials = [TrialRow("1", a, "completed", val_acc=0.99, val_loss=0.1),  # the lucky one
              TrialRow("2", b, "completed", val_acc=0.97, val_loss=0.2),
              TrialRow("3", b, "completed", val_acc=0.95, val_loss=0.1),  # same params again
              TrialRow("4", c, "completed", val_acc=0.90),
              TrialRow("5", {"train.lr": 1.0}, "early-stopped", val_acc=1.0)]
    assert [r.trial_id for r in finalist_rows(trials, 2)] == ["1", "2"]  # distinct params
    assert [r.trial_id for r in finalist_rows(trials, 5)] == ["1", "2", "4"]
    final = [TrialRow(f"f{i}", p, "completed", seed=s, val_acc=v, test_acc=t)
             for i, (p, s, v, t) in enumerate([(a, 1, 0.96, 0.99), (a, 2, 0.93, 0.99),
                                               (b, 1, 0.96, 0.50), (b, 2, 0.97, 0.50)])]
    best, rows = chosen(trials, final)
    assert best.trial_id == "2" and {r.seed for r in rows} == {1, 2}  # b: mean 0.965 > 0.945
    assert all(r.params == b for r in rows)  # though a's test accuracy is higher
    scores = finalist_scores(final)
    assert [s["params"] for s in scores] == [b, a]
    assert scores[0]["val_mean"] == pytest.approx(0.965) and scores[0]["seeds"] == [1, 2]
    one = [r for r in final if r.params == a]
    assert chosen(trials, one) == (best_row(trials), one)  # one finalist: the best trial
    assert chosen(trials, []) == (best_row(trials), [])
    cut = [TrialRow("s1", a, "stopped", val_acc=0.97), TrialRow("s2", b, "stopped", val_acc=0.6),
           TrialRow("e", c, "early-stopped", val_acc=0.99), TrialRow("d", {"x": 1}, "completed",
                                                               val_acc=0.5)]
    # the time budget cut every good trial short: they can still be finalists, ASHA's never
    assert [r.trial_id for r in finalist_rows(cut, 3)] == ["d", "s1", "s2"]
    assert [r.trial_id for r in finalist_rows(cut, 1)] == ["d"]
    retrained = [TrialRow("g", a, "completed", seed=1, val_acc=0.98)]
    assert chosen(cut, retrained)[0].trial_id == "s1"


def test_finalists_must_be_a_positive_whole_number():
    assert spec().finalists == 1 and spec(finalists=3).to_dict()["finalists"] == 3
    assert SweepSpec.from_dict(spec(finalists=3).to_dict()) == spec(finalists=3)
    with pytest.raises(ConfigError, match="finalists must be a whole number of at least 1"):
        spec(finalists=0)


def test_paired_interval_against_a_hand_computation():
    hybrid, twin = [0.962, 0.955, 0.970], [0.960, 0.958, 0.961]
    d = [0.002, -0.003, 0.009]
    mean = sum(d) / 3
    sd = (sum((x - mean) ** 2 for x in d) / 2) ** 0.5
    t975 = 4.302652729911275  # Student t, 2 degrees of freedom, 97.5% quantile (tables)
    ci = paired_difference(hybrid, twin)
    assert ci.mean == pytest.approx(mean) and ci.n == 3
    assert ci.low == pytest.approx(mean - t975 * sd / 3 ** 0.5, abs=1e-9)
    assert ci.high == pytest.approx(mean + t975 * sd / 3 ** 0.5, abs=1e-9)
    assert mean_std([1.0, 2.0, 3.0]) == (2.0, 1.0)
    assert t_interval([0.5]).low is None
    with pytest.raises(ValueError):
        paired_difference([1.0], [1.0, 2.0])


def test_spec_json_is_plain(tmp_path):
    s = spec()
    data = json.loads(s.to_json())
    assert data["space"] == {"train.lr": {"log_range": [0.001, 0.1]}}
    assert data["early_stopping"] == {"grace_epochs": None, "reduction_factor": 3}
    assert SweepSpec.from_dict(data).to_dict()["early_stopping"] == data["early_stopping"]


def test_asha_grace_defaults_to_a_quarter_of_the_epochs_unless_set():
    auto = SweepSpec.from_dict({"base": {}, "space": {"train.lr": [0.01]}, "search": "grid"})
    assert auto.early_stopping.grace_for(30) == 8
    assert auto.early_stopping.grace_for(20) == 5
    assert auto.early_stopping.grace_for(2) == 1
    fixed = SweepSpec.from_dict({"base": {}, "space": {"train.lr": [0.01]}, "search": "grid",
                                 "early_stopping": {"grace_epochs": 2}})
    assert fixed.early_stopping.grace_for(30) == 2
    with pytest.raises(ConfigError):
        SweepSpec.from_dict({"base": {}, "space": {"train.lr": [0.01]}, "search": "grid",
                             "early_stopping": {"grace_epochs": 0}})


def test_trials_open_when_the_time_budget_ends_are_stopped_not_an_interruption(tmp_path):
    from hqnn_core.sweeps.run import _interrupted
    from hqnn_core.sweeps.tracker import SweepTracker

    over = SweepTracker(tmp_path / "a", "s", ["train.lr"], 8, budget_s=0.0)
    over.update("t1", "search", status="completed", val_acc=0.9)
    over.update("t2", "search", status="running")
    assert _interrupted(over, "search", 8) is False
    assert {r.trial_id: r.status for r in over.rows()} == {"t1": "completed", "t2": "stopped"}
    ctrl_c = SweepTracker(tmp_path / "b", "s", ["train.lr"], 8, budget_s=3600.0)
    ctrl_c.update("t1", "search", status="running")
    assert _interrupted(ctrl_c, "search", 8) is True
    short = SweepTracker(tmp_path / "c", "s", ["train.lr"], 8)
    short.update("t1", "search", status="completed")
    assert _interrupted(short, "search", 8) is True  # stopped between trials
