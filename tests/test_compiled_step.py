"""``compile_step``: the whole compiled training step against the plain torch loop.

The reference copies run the quantum layer through the torch engine's autograd
(``use_fused = False``), so the compiled step's kernel gradient, its Linear / activation /
cross-entropy backward and its optimizer update are all checked against torch's own.
Angles whose gradient is zero analytically (an RZ just before a Z readout) carry ~1e-17 of
rounding, which Adam divides by sqrt(v) + eps: the tests use eps 1e-6, which keeps that
amplification of rounding under 1e-10.
"""

from __future__ import annotations

import copy

import pytest
import torch
import torch.nn.functional as F

from hqnn_core import CircuitConfig, QuantumLayer, thread_scope
from hqnn_core.errors import ConfigError, ShapeError
from hqnn_core.learning.compiled_step import compile_step

STEPS = 6


def _model(n: int, measurement: str, hidden: str | None, dtype: torch.dtype,
           input_scale: bool = False, features: int = 12,
           ansatz: str = "hardware_efficient", layers: int = 2) -> torch.nn.Sequential:
    torch.manual_seed(n + len(measurement))
    layer = QuantumLayer(CircuitConfig(n_qubits=n, layers=layers, measurement=measurement,
                                       entanglement="circular", input_scale=input_scale,
                                       ansatz=ansatz),
                         dtype=dtype, seed=3)
    front: list[torch.nn.Module] = [torch.nn.Linear(features, n)]
    if hidden:
        front = [torch.nn.Linear(features, 6), {"relu": torch.nn.ReLU(),
                                                "tanh": torch.nn.Tanh()}[hidden],
                 torch.nn.Linear(6, n)]
    return torch.nn.Sequential(*front, layer, torch.nn.Linear(layer.n_outputs, 5)).to(dtype)


def _reference(model: torch.nn.Sequential) -> torch.nn.Sequential:
    ref = copy.deepcopy(model)
    for module in ref:
        if isinstance(module, QuantumLayer):
            module.use_fused = False  # the torch engine's autograd
    return ref


def _torch_step(model: torch.nn.Module, opt: torch.optim.Optimizer, x: torch.Tensor,
                y: torch.Tensor) -> float:
    opt.zero_grad()
    loss = F.cross_entropy(model(x), y)
    loss.backward()
    opt.step()
    return loss.item()


def _data(batch: int, dtype: torch.dtype, features: int = 12, seed: int = 0
          ) -> list[tuple[torch.Tensor, torch.Tensor]]:
    g = torch.Generator().manual_seed(seed)
    return [(torch.rand(batch, features, generator=g, dtype=dtype) * 2 - 1,
             torch.randint(0, 5, (batch,), generator=g)) for _ in range(STEPS)]


def _assert_same(model: torch.nn.Module, ref: torch.nn.Module, tol: float) -> None:
    for (name, p), q in zip(model.named_parameters(), ref.parameters()):
        assert torch.allclose(p, q, rtol=0, atol=tol), (name, (p - q).abs().max())
        assert torch.allclose(p.grad, q.grad, rtol=0, atol=tol), (name, "grad")


def _optimizers(kind: str, model: torch.nn.Module, ref: torch.nn.Module
                ) -> tuple[torch.optim.Optimizer, torch.optim.Optimizer]:
    def make(m: torch.nn.Module) -> torch.optim.Optimizer:
        if kind == "adam":
            return torch.optim.Adam(m.parameters(), lr=0.05, betas=(0.8, 0.95), eps=1e-6)
        if kind == "adam_groups":  # fit's layout: no weight decay on the circuit's angles
            angles = [p for mod in m if isinstance(mod, QuantumLayer) for p in mod.parameters()]
            rest = [p for p in m.parameters() if all(p is not a for a in angles)]
            return torch.optim.Adam([{"params": rest, "weight_decay": 0.01},
                                     {"params": angles, "lr": 0.02}], lr=0.05, eps=1e-6)
        if kind == "adamw":
            return torch.optim.AdamW(m.parameters(), lr=0.05, weight_decay=0.1, eps=1e-6)
        if kind == "sgd":
            return torch.optim.SGD(m.parameters(), lr=0.1)
        return torch.optim.SGD(m.parameters(), lr=0.1, momentum=0.9, nesterov=True,
                               weight_decay=1e-3)
    return make(model), make(ref)


def _train_beside_torch(model: torch.nn.Sequential, opt_kind: str, batch: int,
                        loss_tol: float, tol: float) -> None:
    """``STEPS`` compiled steps of ``model`` beside the same steps of its torch-engine copy:
    the same losses, parameters and gradients."""
    ref = _reference(model)
    opt, ref_opt = _optimizers(opt_kind, model, ref)
    step = compile_step(model, opt)
    for x, y in _data(batch, model[0].weight.dtype):
        assert step(x, y) == pytest.approx(_torch_step(ref, ref_opt, x, y), abs=loss_tol)
    _assert_same(model, ref, tol)


@pytest.mark.parametrize("n, measurement, hidden, opt_kind, batch, scale", [
    (4, "z", None, "adam", 32, False),
    (4, "probs", "relu", "sgd_momentum", 13, True),
    (4, "zz", "tanh", "adam_groups", 37, True),
    (8, "z", "relu", "adamw", 32, True),
    (8, "zz", None, "sgd", 9, False),
    (14, "z", None, "adam", 3, False),
    (17, "z", None, "adam", 2, False),  # the kernel runs up to 20 qubits
    (8, "zz", "tanh", "adam", 150, True),  # the circuit over 3 chunks of the batch
    (12, "z", None, "sgd_momentum", 40, False),  # 2 chunks, the last one partial
])
def test_float64_matches_the_torch_loop(n: int, measurement: str, hidden: str | None,
                                        opt_kind: str, batch: int, scale: bool) -> None:
    model = _model(n, measurement, hidden, torch.float64, scale)
    start = [p.detach().clone() for p in model.parameters()]
    _train_beside_torch(model, opt_kind, batch, 1e-12, 1e-10)
    assert all((p - q).abs().max() > 1e-4 for p, q in zip(model.parameters(), start))


def test_a_one_layer_circuit_matches_the_torch_loop() -> None:
    """One layer: the encoding and the layer's rotations are one step, the CNOTs go into
    the readout, and the kernel runs no layer after the encoding."""
    _train_beside_torch(_model(4, "z", "relu", torch.float64, layers=1), "adam", 16, 1e-12,
                        1e-10)


@pytest.mark.parametrize("n, measurement, hidden, opt_kind, batch, scale", [
    (8, "zz", "tanh", "adam", 150, True),  # 3 chunks over 2 workers, input weights
    (12, "z", None, "sgd_momentum", 40, False),  # 2 chunks, the last one partial
])
def test_the_circuit_on_worker_threads_matches_the_torch_loop(
        monkeypatch, n: int, measurement: str, hidden: str | None, opt_kind: str, batch: int,
        scale: bool) -> None:
    """A large circuit (here: every circuit, by a lowered threshold) with idle cores: the
    circuit's forward and backward run on the kernel's workers, between the compiled
    classical parts; the same losses, parameters and gradients as the torch loop. With
    every other core busy, or inside ``thread_scope(1)``, the same step runs in one call,
    on no workers."""
    from hqnn_core.simulator import kernel, threads

    idle, workers = [2], []

    def recording(fn, items, count):
        workers.append(count)
        return threads.in_groups(fn, items, count)

    monkeypatch.setattr(threads, "PARALLEL_AMPLITUDES", 1)
    monkeypatch.setattr(threads, "idle_cores", lambda: idle[0])
    monkeypatch.setattr(kernel, "in_groups", recording)
    with thread_scope(2):
        _train_beside_torch(_model(n, measurement, hidden, torch.float64, scale), opt_kind,
                            batch, 1e-12, 1e-10)
        assert workers == [2, 2] * STEPS  # forward and backward of every step
        idle[0], workers[:] = 1, []
        _train_beside_torch(_model(n, measurement, hidden, torch.float64, scale), opt_kind,
                            batch, 1e-12, 1e-10)
    idle[0] = 2
    with thread_scope(1):
        _train_beside_torch(_model(n, measurement, hidden, torch.float64, scale), opt_kind,
                            batch, 1e-12, 1e-10)
    assert workers == []


def test_the_workers_path_refuses_bad_labels_and_changes_nothing(monkeypatch) -> None:
    from hqnn_core.simulator import threads

    monkeypatch.setattr(threads, "PARALLEL_AMPLITUDES", 1)
    monkeypatch.setattr(threads, "idle_cores", lambda: 2)
    model = _model(4, "z", None, torch.float64)
    step = compile_step(model, torch.optim.Adam(model.parameters()))
    before = [p.detach().clone() for p in model.parameters()]
    with thread_scope(2), pytest.raises(ShapeError) as error:
        step(torch.rand(40, 12, dtype=torch.float64), torch.full((40,), 5))
    _one_sentence(error)
    assert all(torch.equal(p, q) for p, q in zip(model.parameters(), before))


def test_quantum_layer_first_and_last() -> None:
    """x straight into the layer (with its input scaling) and its probabilities as logits."""
    torch.manual_seed(0)
    layer = QuantumLayer(CircuitConfig(n_qubits=4, measurement="probs", input_scale=True),
                         dtype=torch.float64, seed=1)
    for model in (torch.nn.Sequential(layer, torch.nn.Linear(16, 5).double()),
                  torch.nn.Sequential(torch.nn.Linear(12, 4).double(), copy.deepcopy(layer))):
        ref = _reference(model)
        opt, ref_opt = _optimizers("adam", model, ref)
        step = compile_step(model, opt)
        features = 4 if isinstance(model[0], QuantumLayer) else 12
        for x, y in _data(10, torch.float64, features):
            assert step(x, y) == pytest.approx(_torch_step(ref, ref_opt, x, y), abs=1e-12)
        _assert_same(model, ref, 1e-10)


def test_float32_close_to_the_torch_loop() -> None:
    """(RY layers only: in float32 the ~1e-8 rounding of an analytically zero gradient,
    divided by Adam's sqrt(v), would be a step of its own.)"""
    model = _model(4, "z", "tanh", torch.float32, input_scale=True, ansatz="real_amplitudes")
    _train_beside_torch(model, "adam", 32, 1e-5, 2e-5)
    assert all(p.dtype == torch.float32 for p in model.parameters())


@pytest.mark.parametrize("opt_kind", ["adam", "sgd_momentum"])
def test_switching_between_torch_and_compiled_steps(opt_kind: str) -> None:
    model = _model(4, "z", "relu", torch.float64)
    ref = _reference(model)
    opt, ref_opt = _optimizers(opt_kind, model, ref)
    data = _data(16, torch.float64) * 2
    step = compile_step(model, opt)
    for k, (x, y) in enumerate(data):  # torch, torch, compiled x3, torch, compiled x2, torch...
        loss = step(x, y) if k in (2, 3, 4, 6, 7) else _torch_step(model, opt, x, y)
        assert loss == pytest.approx(_torch_step(ref, ref_opt, x, y), abs=1e-12)
    _assert_same(model, ref, 1e-10)
    if opt_kind == "adam":
        state, ref_state = opt.state_dict()["state"], ref_opt.state_dict()["state"]
        for i in ref_state:
            assert float(state[i]["step"]) == float(ref_state[i]["step"]) == len(data)
            assert torch.allclose(state[i]["exp_avg_sq"], ref_state[i]["exp_avg_sq"], atol=1e-12)


def test_an_lr_scheduler_between_steps_is_honoured() -> None:
    model = _model(4, "z", None, torch.float64)
    ref = _reference(model)
    opt, ref_opt = _optimizers("adam", model, ref)
    schedules = [torch.optim.lr_scheduler.LambdaLR(o, lambda k: 1 / (1 + 3 * k))
                 for o in (opt, ref_opt)]
    step = compile_step(model, opt)
    for x, y in _data(8, torch.float64):
        assert step(x, y) == pytest.approx(_torch_step(ref, ref_opt, x, y), abs=1e-12)
        for schedule in schedules:
            schedule.step()
    _assert_same(model, ref, 1e-10)
    constant = _model(4, "z", None, torch.float64)  # the same steps at a constant lr differ
    compiled = compile_step(constant, _optimizers("adam", constant, ref)[0])
    for x, y in _data(8, torch.float64):
        compiled(x, y)
    assert (constant[0].weight - model[0].weight).abs().max() > 1e-3


def _one_sentence(error: pytest.ExceptionInfo) -> str:
    message = str(error.value)
    assert message.endswith(".") and ". " not in message and "\n" not in message, message
    return message


def test_refusals_are_one_sentence() -> None:
    layer = QuantumLayer(CircuitConfig(n_qubits=4))
    cnn = torch.nn.Sequential(torch.nn.Conv2d(1, 4, 3), torch.nn.Flatten(), layer)
    with pytest.raises(ConfigError) as error:
        compile_step(cnn, torch.optim.Adam(cnn.parameters()))
    assert "Conv2d" in _one_sentence(error)
    reupload = QuantumLayer(CircuitConfig(n_qubits=4, reupload=True))
    model = torch.nn.Sequential(torch.nn.Linear(8, 4), reupload, torch.nn.Linear(4, 3))
    with pytest.raises(ConfigError) as error:
        compile_step(model, torch.optim.Adam(model.parameters()))
    assert "kernel" in _one_sentence(error)
    model = torch.nn.Sequential(torch.nn.Linear(8, 4), layer, torch.nn.Linear(4, 3))
    for opt, word in ((torch.optim.Adam(model.parameters(), amsgrad=True), "amsgrad"),
                      (torch.optim.SGD(model.parameters(), lr=0.1, maximize=True), "maximize"),
                      (torch.optim.RMSprop(model.parameters()), "RMSprop"),
                      (torch.optim.Adam(list(model.parameters())[:2]), "every parameter")):
        with pytest.raises(ConfigError) as error:
            compile_step(model, opt)
        assert word in _one_sentence(error)
    with pytest.raises(ConfigError) as error:
        compile_step(torch.nn.Sequential(torch.nn.Linear(8, 4), torch.nn.Linear(4, 3)),
                     torch.optim.Adam(model.parameters()))
    assert "has 0" in _one_sentence(error)
    with pytest.raises(ConfigError) as error:
        compile_step(model, torch.optim.Adam(model.parameters()), loss="mse")
    _one_sentence(error)


def test_bad_batches_change_nothing() -> None:
    model = _model(4, "z", None, torch.float64)
    opt = torch.optim.Adam(model.parameters())
    step = compile_step(model, opt)
    before = [p.detach().clone() for p in model.parameters()]
    x = torch.rand(4, 12, dtype=torch.float64)
    for bad_x, bad_y in ((x, torch.tensor([0, 1, 5, 2])), (x[:, :5], torch.zeros(4).long()),
                         (x.float(), torch.zeros(4).long()), (x, torch.zeros(4))):
        with pytest.raises(ShapeError) as error:
            step(bad_x, bad_y)
        _one_sentence(error)
    assert all(torch.equal(p, q) for p, q in zip(model.parameters(), before))


def test_resuming_from_a_state_dict_continues_the_same_training() -> None:
    """Checkpoint after compiled steps, load into a fresh model and optimizer (new state
    tensors: the step adopts them), continue compiled; the torch loop throughout agrees."""
    model = _model(4, "z", "tanh", torch.float64)
    ref = _reference(model)
    opt, ref_opt = _optimizers("adam", model, ref)
    data = _data(12, torch.float64)
    step = compile_step(model, opt)
    for x, y in data[:3]:
        step(x, y)
        _torch_step(ref, ref_opt, x, y)
    resumed = _model(4, "z", "tanh", torch.float64)
    resumed.load_state_dict(copy.deepcopy(model.state_dict()))
    resumed_opt = _optimizers("adam", resumed, ref)[0]
    resumed_opt.load_state_dict(copy.deepcopy(opt.state_dict()))
    step = compile_step(resumed, resumed_opt)
    for x, y in data[3:]:
        assert step(x, y) == pytest.approx(_torch_step(ref, ref_opt, x, y), abs=1e-12)
    _assert_same(resumed, ref, 1e-10)
    assert float(resumed_opt.state_dict()["state"][0]["step"]) == len(data)
