"""The training recipe: schedule, parameter groups, early stopping, init, input scaling, old configs."""

from __future__ import annotations

import json
import math
import threading
from pathlib import Path

import numpy as np
import pytest
import torch

from hqnn_core.config import LEGACY_VALUES, CircuitConfig, RunConfig
from hqnn_core.data.registry import load_dataset
from hqnn_core.errors import ConfigError
from hqnn_core.learning.layer import INIT_RANGES, QuantumLayer
from hqnn_core.learning.model import FeatureNorm, build_model, twin_config
from hqnn_core.learning.recipe import BEST_FILE, best_epoch, lr_at, param_groups
from hqnn_core.learning.training import evaluate, fit

ROOT = Path(__file__).resolve().parents[1]
TINY = {
    "data": {"name": "digits", "train_size": 240, "test_size": 120, "val_fraction": 0.2},
    "circuit": {"n_qubits": 4, "layers": 1},
    "model": {"hidden": 0},
    "train": {"epochs": 20, "batch_size": 24, "lr": 0.2, "seed": 3, "patience": 3,
              "restore_best": True},
}


def tiny_config(**sections) -> RunConfig:
    raw = {k: dict(v) for k, v in TINY.items()}
    for name, values in sections.items():
        raw.setdefault(name, {}).update(values)
    return RunConfig.from_dict(raw)


def test_warmup_cosine_values():
    cfg = RunConfig.from_dict({"train": {"lr": 0.1, "warmup": 0.1, "schedule": "warmup_cosine"}})
    total = 100
    assert lr_at(cfg, 0, 0, total) == pytest.approx(0.01)
    assert lr_at(cfg, 4, 0, total) == pytest.approx(0.05)
    assert lr_at(cfg, 9, 0, total) == pytest.approx(0.1)
    assert lr_at(cfg, 10, 0, total) == pytest.approx(0.1)
    assert lr_at(cfg, 55, 0, total) == pytest.approx(0.05)
    assert lr_at(cfg, 99, 0, total) == pytest.approx(0.1 * 0.5 * (1 + math.cos(math.pi * 89 / 90)))
    lrs = [lr_at(cfg, s, 0, total) for s in range(10, total)]
    assert all(a >= b for a, b in zip(lrs, lrs[1:]))
    no_warmup = RunConfig.from_dict({"train": {"lr": 0.1, "warmup": 0.0}})
    assert lr_at(no_warmup, 0, 0, total) == pytest.approx(0.1)
    cosine = RunConfig.from_dict({"train": {"lr": 0.1, "schedule": "cosine", "warmup": 0.3}})
    assert lr_at(cosine, 0, 0, total) == pytest.approx(0.1)  # warmup belongs to warmup_cosine
    assert lr_at(cosine, 50, 0, total) == pytest.approx(0.05)


def test_fit_follows_the_schedule():
    cfg = tiny_config(train={"epochs": 2, "patience": None, "warmup": 0.25})
    result = fit(cfg)
    rows = result.metrics["history"]["batch"]
    assert [r["lr"] for r in rows] == pytest.approx(
        [lr_at(cfg, i, r["epoch"], len(rows)) for i, r in enumerate(rows)])
    assert rows[0]["lr"] < rows[len(rows) // 4]["lr"] > rows[-1]["lr"]


@pytest.fixture(scope="module")
def early():
    cfg = tiny_config()
    data = load_dataset(cfg.data)
    return cfg, data, fit(cfg, data=data)


def test_early_stopping_restores_the_best_epoch(early):
    cfg, data, result = early
    epochs = result.metrics["history"]["epoch"]
    best = result.metrics["best_epoch"]
    assert best == best_epoch(epochs)
    assert result.metrics["stopped_early"] is True
    assert len(epochs) == best + 1 + cfg.train.patience < cfg.train.epochs
    assert epochs[-1]["val_acc"] != epochs[best]["val_acc"] or \
        epochs[-1]["val_loss"] != epochs[best]["val_loss"]
    val_loss, val_acc, _ = evaluate(result.model, data.x_val, data.y_val)
    assert val_acc == pytest.approx(epochs[best]["val_acc"])
    assert val_loss == pytest.approx(epochs[best]["val_loss"], rel=1e-6)
    assert result.metrics["val_accuracy"] == epochs[best]["val_acc"]


def test_without_restore_the_last_epoch_is_tested(early):
    cfg, data, _ = early
    result = fit(tiny_config(train={"restore_best": False}), data=data)
    epochs = result.metrics["history"]["epoch"]
    _, val_acc, _ = evaluate(result.model, data.x_val, data.y_val)
    assert val_acc == pytest.approx(epochs[-1]["val_acc"])
    assert result.metrics["best_epoch"] == len(epochs) - 1


def test_resume_after_the_best_epoch_restores_the_same_weights(early, tmp_path):
    cfg, data, result = early
    stop = threading.Event()
    best = result.metrics["best_epoch"]

    def stop_after_best(event):
        if event.kind == "batch" and event.epoch == best + 1 and event.step % 2 == 0:
            stop.set()

    stopped = fit(cfg, data=data, run_dir=tmp_path, callbacks=[stop_after_best], stop_event=stop)
    assert stopped.status == "stopped" and (tmp_path / BEST_FILE).exists()
    resumed = fit(cfg, data=data, run_dir=tmp_path, resume=True)
    assert resumed.metrics["test_accuracy"] == result.metrics["test_accuracy"]
    assert resumed.metrics["best_epoch"] == best
    for (name, a), b in zip(resumed.model.state_dict().items(), result.model.state_dict().values()):
        assert torch.equal(a, b), name
    assert not (tmp_path / BEST_FILE).exists()


def test_no_weight_decay_on_angles():
    cfg = tiny_config(train={"weight_decay": 0.01})
    model = build_model(cfg, n_classes=10, image_shape=(1, 8, 8))
    groups = param_groups(model, cfg)
    angles = {id(p) for p in model.quantum_layer.parameters()}
    assert len(angles) == 2  # weights and input_weights
    by_decay = {g["weight_decay"]: {id(p) for p in g["params"]} for g in groups}
    assert by_decay[0.0] == angles
    assert by_decay[0.01] == {id(p) for p in model.parameters()} - angles
    legacy = tiny_config(train={"weight_decay": 0.01, "decay_angles": True})
    (group,) = param_groups(model, legacy)
    assert group["weight_decay"] == 0.01 and len(group["params"]) == len(list(model.parameters()))


def test_angles_do_not_shrink_under_decay():
    """With a zero learning signal on the circuit, decay moves classical weights only."""
    cfg = tiny_config(train={"weight_decay": 0.5, "optimizer": "sgd", "lr": 0.1})
    model = build_model(cfg, n_classes=10, image_shape=(1, 8, 8))
    opt = torch.optim.SGD(param_groups(model, cfg), lr=0.1)
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    for p in model.parameters():
        p.grad = torch.zeros_like(p)
    opt.step()
    for name, p in model.named_parameters():
        moved = not torch.equal(p.detach(), before[name])
        assert moved == (not name.startswith("core.")) or not before[name].any(), name


@pytest.mark.parametrize("init", ["uniform", "small"])
def test_init_ranges(init):
    layer = QuantumLayer(CircuitConfig(n_qubits=4, layers=3, init=init), seed=5)
    w = layer.weights.detach().abs()
    assert float(w.max()) <= INIT_RANGES[init]
    assert float(w.max()) > 0.5 * INIT_RANGES[init]  # 24 draws fill most of the range
    again = QuantumLayer(CircuitConfig(n_qubits=4, layers=3, init=init), seed=5)
    assert torch.equal(layer.weights, again.weights)
    assert INIT_RANGES["small"] < INIT_RANGES["uniform"] == pytest.approx(math.pi)


def test_unknown_init_is_refused():
    with pytest.raises(ConfigError, match="circuit.init"):
        CircuitConfig(init="zeros")


def test_input_scale_multiplies_the_encoded_angles():
    from qiskit.quantum_info import Statevector

    layer = QuantumLayer(CircuitConfig(n_qubits=3, layers=2), seed=1, dtype=torch.float64)
    plain = QuantumLayer(CircuitConfig(n_qubits=3, layers=2, input_scale=False), seed=1,
                         dtype=torch.float64)
    assert torch.equal(layer.weights, plain.weights) and plain.input_weights is None
    x = torch.tensor([[0.3, 1.1, 2.0]], dtype=torch.float64)
    with torch.no_grad():
        layer.input_weights.copy_(torch.tensor([2.0, 0.5, -1.0]))
        assert torch.allclose(layer(x), plain(x * layer.input_weights), atol=1e-12)
        np.testing.assert_allclose(Statevector(layer.bound_circuit(x)).data,
                                   layer.statevector(x)[0].numpy(), atol=1e-10)


def test_input_scale_is_trained():
    layer = QuantumLayer(CircuitConfig(n_qubits=4, layers=2), seed=2)
    x = torch.rand(8, 4) * math.pi
    layer(x).pow(2).sum().backward()
    assert layer.input_weights.grad is not None and float(layer.input_weights.grad.abs().min()) > 0
    amplitude = QuantumLayer(CircuitConfig(n_qubits=2, encoding="amplitude"))
    assert amplitude.input_weights is None  # amplitudes are normalised, a scale means nothing


def test_batch_norm_takes_a_batch_of_one():
    norm = FeatureNorm(3).train()
    out = norm(torch.tensor([[1.0, 2.0, 3.0]]))
    assert torch.allclose(out, torch.tensor([[1.0, 2.0, 3.0]]) / math.sqrt(1 + norm.eps))


def test_old_saved_configs_get_the_values_they_were_trained_with():
    raw = json.loads((ROOT / "assets/models/digits-hybrid/config.json").read_text())
    saved = RunConfig.from_saved(raw)
    for section, values in LEGACY_VALUES.items():
        for key, value in values.items():
            assert getattr(getattr(saved, section), key) == value
    assert saved.train.epochs == raw["train"]["epochs"]
    fresh = RunConfig.from_dict(raw)  # a hand-written config: today's recipe
    assert fresh.circuit.input_scale and fresh.model.input_norm == "batch"
    assert fresh.train.patience == RunConfig().train.patience
    explicit = {**raw, "train": {**raw["train"], "patience": 4}}
    assert RunConfig.from_saved(explicit).train.patience == 4
    assert RunConfig.from_saved(RunConfig().to_dict()) == RunConfig()


def test_legacy_recipe_builds_the_old_architecture():
    raw = json.loads((ROOT / "assets/models/digits-hybrid/config.json").read_text())
    old = build_model(RunConfig.from_saved(raw), n_classes=10, image_shape=(1, 8, 8))
    new = build_model(RunConfig.from_dict(raw), n_classes=10, image_shape=(1, 8, 8))
    assert "core.input_weights" not in old.state_dict()
    assert {"core.input_weights"} <= set(new.state_dict()) - set(old.state_dict())
    assert not any(isinstance(m, FeatureNorm) for m in old.modules())


def test_twin_uses_the_same_recipe():
    cfg = RunConfig()
    twin = twin_config(cfg)
    assert twin.train == cfg.train and twin.model.input_norm == cfg.model.input_norm
    model = build_model(twin, n_classes=10, image_shape=(1, 8, 8))
    assert any(isinstance(m, FeatureNorm) for m in model.modules())


def test_default_recipe_learns_digits_at_a_reduced_size():
    """The studio default (nothing tuned) on 600 digits for 12 epochs: ~92% (measured)."""
    cfg = RunConfig.from_dict({"data": {"train_size": 600}, "train": {"epochs": 12}})
    assert cfg.model == RunConfig().model and cfg.circuit == RunConfig().circuit
    result = fit(cfg)
    assert result.metrics["test_accuracy"] >= 0.88
    assert result.metrics["n_test"] > 300  # the full digits test split
