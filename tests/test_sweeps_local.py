"""Sweeps on a real embedded Ray: grid, random and bayes searches, ASHA, a dead worker.

All sweeps of this module share one local Ray (2 CPUs) started by hqnn's own
``ray_session``; ``run_sweep`` uses an initialised Ray as it is. Each search trains tiny
digits models for a couple of epochs.
"""

from __future__ import annotations

import os
import signal

import pytest

from hqnn_core.learning.runs import RunStore
from hqnn_core.sweeps.results import read_rows
from hqnn_core.sweeps.spec import SweepSpec
from tests.sweep_helpers import TINY, short_temp_dir, wait_until_gone

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def ray_local():
    from hqnn_core.sweeps.run import ray_session

    temp = short_temp_dir("hqr")
    with ray_session(num_cpus=2, temp_dir=temp) as mode:
        assert mode == "embedded"
        yield temp
    assert wait_until_gone(temp) == [], "Ray processes were left running"


def _run(spec_dict, tmp_path, **kw):
    from hqnn_core.sweeps.run import run_sweep

    events = []
    outcome = run_sweep(SweepSpec.from_dict(spec_dict), tmp_path / "sweep",
                        runs_root=tmp_path / "runs", callbacks=[events.append], **kw)
    return outcome, events


def test_grid_sweep_records_every_trial_as_a_tagged_run(ray_local, tmp_path):
    spec = {"name": "grid", "base": TINY, "search": "grid", "seeds": [1, 2],
            "early_stopping": False,
            "space": {"circuit.encoding": ["angle", "amplitude"], "circuit.reupload": [False, True]}}
    outcome, events = _run(spec, tmp_path)
    assert outcome.status == "completed"
    by_params = {(r.params["circuit.encoding"], r.params["circuit.reupload"]): r
                 for r in outcome.trials}
    assert len(by_params) == 4
    assert by_params[("amplitude", True)].status == "invalid"
    assert "cannot be re-uploaded" in by_params[("amplitude", True)].error
    done = [r for k, r in by_params.items() if k != ("amplitude", True)]
    assert all(r.status == "completed" and r.epochs == 2 and len(r.curve) == 2 for r in done)
    assert outcome.best.val_acc == max(r.val_acc for r in done)
    assert outcome.best.test_acc is None  # the search never sees the test split
    assert sorted(r.seed for r in outcome.final) == [1, 2]
    assert all(r.test_acc is not None and r.params == outcome.best.params for r in outcome.final)
    store = RunStore(tmp_path / "runs")
    runs = store.list(sweep=outcome.sweep_id)
    assert len(runs) == 5 and all(r.status == "completed" for r in runs)
    assert {r.tags["role"] for r in runs} == {"search", "final"}
    folder = tmp_path / "sweep"
    for name in ("sweep.json", "results.json", "results.csv", "final.json", "progress.json"):
        assert (folder / name).is_file()
    assert (folder / "ray").is_dir()
    assert len(read_rows(folder)) == 4
    assert "circuit.encoding" in (folder / "results.csv").read_text().splitlines()[0]
    kinds = [e.kind for e in events]
    assert kinds[0] == "stage" and kinds[-1] == "end" and kinds.count("trial") >= 8


def test_random_and_bayes_searches_stay_inside_the_space(ray_local, tmp_path):
    for search in ("random", "bayes"):
        spec = {"name": search, "base": TINY, "search": search, "trials": 3, "seeds": [1],
                "early_stopping": False, "search_seed": 3,
                "space": {"train.lr": {"log_range": [0.005, 0.2]},
                          "circuit.layers": {"range": [1, 2]}}}
        outcome, _ = _run(spec, tmp_path / search, retrain=False)
        assert outcome.status == "completed" and len(outcome.trials) == 3
        for r in outcome.trials:
            assert r.status == "completed"
            assert 0.005 <= r.params["train.lr"] <= 0.2 and r.params["circuit.layers"] in (1, 2)
        assert len({r.params["train.lr"] for r in outcome.trials}) == 3
        assert outcome.final == []


def test_finalists_are_retrained_on_every_seed_and_chosen_on_validation(ray_local, tmp_path):
    spec = {"name": "finalists", "base": TINY, "search": "grid", "seeds": [1, 2],
            "finalists": 2, "early_stopping": False,
            "space": {"train.lr": [0.05, 0.02, 1e-6]}}
    outcome, _ = _run(spec, tmp_path)
    assert outcome.status == "completed"
    top_two = sorted(outcome.trials, key=lambda r: -r.val_acc)[:2]
    finalists = {r.params["train.lr"] for r in top_two}
    assert 1e-6 not in finalists  # a learning rate that cannot learn is not a finalist
    assert len(outcome.finalists) == 2
    assert {s["params"]["train.lr"] for s in outcome.finalists} == finalists
    assert all(s["seeds"] == [1, 2] for s in outcome.finalists)
    winner = outcome.finalists[0]
    assert winner["val_mean"] >= outcome.finalists[1]["val_mean"]
    assert outcome.best.params == winner["params"]
    assert sorted(r.seed for r in outcome.final) == [1, 2]
    assert all(r.params == winner["params"] and r.test_acc is not None for r in outcome.final)
    assert winner["val_mean"] == pytest.approx(sum(r.val_acc for r in outcome.final) / 2)
    assert len(read_rows(tmp_path / "sweep", "final.json")) == 4  # every finalist, every seed


def test_asha_stops_a_hopeless_trial(ray_local, tmp_path):
    spec = {"name": "asha", "base": {**TINY, "model": {"kind": "classical", "front": "linear"},
                                     "data": {**TINY["data"], "train_size": 600},
                                     "train": {**TINY["train"], "epochs": 3, "batch_size": 20}},
            "search": "grid", "concurrency": 1, "seeds": [1],
            "early_stopping": {"grace_epochs": 1, "reduction_factor": 2},
            "space": {"train.lr": [0.05, 1e-7]}}
    outcome, _ = _run(spec, tmp_path)
    good, bad = sorted(outcome.trials, key=lambda r: -r.params["train.lr"])
    assert good.status == "completed" and good.epochs == 3
    assert bad.status == "early-stopped" and bad.epochs == 1
    assert bad.val_acc < good.curve[0]
    run = RunStore(tmp_path / "runs").get(bad.run_id)
    assert run.status == "stopped"  # the run folder says it did not finish


def test_a_killed_worker_fails_only_its_trial(ray_local, tmp_path):
    killed = {}

    def kill_first(event):
        row = event.row
        if (event.kind == "trial" and row is not None and row.pid and not killed
                and row.params.get("train.lr") == 0.02 and event.stage == "search"):
            killed["pid"] = row.pid
            os.kill(row.pid, signal.SIGKILL)

    from hqnn_core.sweeps.run import run_sweep

    spec = {"name": "kill", "base": {**TINY, "train": {**TINY["train"], "epochs": 4}},
            "search": "grid", "seeds": [1], "early_stopping": False,
            "space": {"train.lr": [0.05, 0.02, 0.01]}}
    outcome = run_sweep(SweepSpec.from_dict(spec), tmp_path / "sweep",
                        runs_root=tmp_path / "runs", callbacks=[kill_first])
    assert killed, "the trial to kill never reported"
    status = {r.params["train.lr"]: r for r in outcome.trials}
    assert status[0.02].status == "failed" and "died" in status[0.02].error
    assert status[0.05].status == "completed" and status[0.01].status == "completed"
    assert outcome.status == "completed" and outcome.final[0].status == "completed"
    assert RunStore(tmp_path / "runs").get(status[0.02].run_id).status == "failed"
