"""fit(): learning, determinism, events, stop event and exact resume."""

from __future__ import annotations

import math
import threading

import pytest
import torch

from hqnn_core.learning.checkpoint import CHECKPOINT_FILE, METRICS_FILE, read_json
from hqnn_core.config import RunConfig
from hqnn_core.data.registry import load_dataset
from hqnn_core.errors import RunError
from hqnn_core.learning.training import fit, lr_at

TINY = {
    "data": {"name": "digits", "train_size": 240, "test_size": 120, "val_fraction": 0.1},
    "circuit": {"n_qubits": 4, "layers": 1},
    "model": {"hidden": 0},
    "train": {"epochs": 3, "batch_size": 24, "lr": 0.05, "seed": 3},
}


def tiny_config(**sections) -> RunConfig:
    raw = {k: dict(v) for k, v in TINY.items()}
    for name, values in sections.items():
        raw.setdefault(name, {}).update(values)
    return RunConfig.from_dict(raw)


@pytest.fixture(scope="module")
def reference():
    cfg = tiny_config()
    events = []
    result = fit(cfg, callbacks=[events.append])
    return cfg, result, events


def _losses(metrics):
    return [row["loss"] for row in metrics["history"]["batch"]]


def test_fit_learns_above_chance(reference):
    _, result, _ = reference
    assert result.status == "completed"
    assert result.metrics["test_accuracy"] > 0.3  # chance is 0.1
    assert not result.model.training


def test_metrics_report(reference):
    _, result, _ = reference
    m = result.metrics
    confusion = torch.tensor(m["confusion_matrix"])
    assert confusion.shape == (10, 10) and int(confusion.sum()) == m["n_test"]
    assert math.isclose(m["test_accuracy"], float(confusion.trace()) / m["n_test"], rel_tol=1e-6)
    assert len(m["misclassified"]) == m["n_test"] - int(confusion.trace())
    assert set(m["per_class_accuracy"]) == set(m["class_names"])
    assert len(m["history"]["epoch"]) == 3 and m["train_seconds"] > 0


def test_events(reference):
    _, result, events = reference
    kinds = [e.kind for e in events if e.kind != "status"]
    assert kinds[0] == "start" and kinds[-1] == "end"
    start = next(e for e in events if e.kind == "start")
    assert kinds.count("batch") == start.total_steps == result.metrics["steps"]
    assert kinds.count("epoch") == 3
    epoch_events = [e for e in events if e.kind == "epoch"]
    assert all(e.val_acc is not None for e in epoch_events)


def test_same_seed_same_numbers(reference):
    cfg, result, _ = reference
    again = fit(cfg)
    assert _losses(again.metrics) == _losses(result.metrics)
    assert again.metrics["confusion_matrix"] == result.metrics["confusion_matrix"]


def test_other_seed_other_numbers(reference):
    cfg, result, _ = reference
    other = fit(tiny_config(train={"seed": 4, "epochs": 1}))
    assert _losses(other.metrics)[:5] != _losses(result.metrics)[:5]


def test_stop_then_resume_matches_uninterrupted(reference, tmp_path):
    cfg, result, _ = reference
    stop = threading.Event()

    def stop_mid_epoch(event):
        if event.kind == "batch" and event.step == 13:
            stop.set()

    stopped = fit(cfg, run_dir=tmp_path, callbacks=[stop_mid_epoch], stop_event=stop)
    assert stopped.status == "stopped" and stopped.metrics["steps"] == 13
    assert (tmp_path / CHECKPOINT_FILE).exists()
    assert read_json(tmp_path / METRICS_FILE)["status"] == "stopped"

    resumed = fit(cfg, run_dir=tmp_path, resume=True)
    assert resumed.status == "completed"
    assert _losses(resumed.metrics) == _losses(result.metrics)
    for (name, a), b in zip(resumed.model.state_dict().items(), result.model.state_dict().values()):
        assert torch.equal(a, b), name


def test_stop_at_epoch_boundary_then_resume(tmp_path):
    cfg = tiny_config(train={"epochs": 2}, data={"augment": True})
    full = fit(cfg)
    stop = threading.Event()
    stopped = fit(cfg, run_dir=tmp_path, stop_event=stop,
                  callbacks=[lambda e: stop.set() if e.kind == "epoch" else None])
    assert stopped.status == "stopped" and stopped.metrics["epochs_done"] == 1
    resumed = fit(cfg, run_dir=tmp_path, resume=True)
    assert _losses(resumed.metrics) == _losses(full.metrics)


def test_resume_with_other_config_is_refused(tmp_path):
    stop = threading.Event()
    stop.set()
    fit(tiny_config(), run_dir=tmp_path, stop_event=stop)
    with pytest.raises(RunError, match="different configuration"):
        fit(tiny_config(train={"lr": 0.01}), run_dir=tmp_path, resume=True)


def test_sgd_and_schedules_run():
    cfg = tiny_config(train={"optimizer": "sgd", "schedule": "cosine", "epochs": 1,
                             "weight_decay": 1e-4}, model={"kind": "classical"})
    data = load_dataset(cfg.data)
    result = fit(cfg, data=data)
    assert result.status == "completed"
    lrs = [row["lr"] for row in result.metrics["history"]["batch"]]
    assert lrs[0] == pytest.approx(0.05) and lrs[-1] < lrs[0]
    step = tiny_config(train={"schedule": "step", "epochs": 6})
    assert lr_at(step, 0, 0, 60) == pytest.approx(0.05)
    assert lr_at(step, 30, 2, 60) == pytest.approx(0.05 * 0.3)
