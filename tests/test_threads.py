"""The thread policy: hqnn picks its own intra-op thread count and gives the caller's back."""

from __future__ import annotations

import pytest
import torch

from hqnn_core import CircuitConfig, QuantumLayer, RunConfig, fit
from hqnn_core.learning.model import build_model
from hqnn_core.learning.training import model_threads
from hqnn_core.simulator import threads
from hqnn_core.simulator.threads import thread_scope, threads_for

USER_THREADS = 3  # a count that neither torch's default nor hqnn's policy picks here


@pytest.fixture
def user_threads():
    saved = torch.get_num_threads()
    torch.set_num_threads(USER_THREADS)
    yield USER_THREADS
    torch.set_num_threads(saved)


def test_small_circuits_get_one_thread(user_threads) -> None:
    assert threads_for(4, 32) == 1
    assert threads_for(12, 64) == 1
    assert threads_for(8, 2048) == 1


def test_large_circuits_use_at_most_the_callers_count_and_the_idle_cores(user_threads,
                                                                         monkeypatch) -> None:
    monkeypatch.setattr(threads, "idle_cores", lambda: 2)
    assert threads_for(20, 32) == 2
    monkeypatch.setattr(threads, "idle_cores", lambda: 16)
    assert threads_for(20, 32) == USER_THREADS


def test_idle_cores_is_between_one_and_the_machine() -> None:
    import os

    assert 1 <= threads.idle_cores() <= (os.cpu_count() or 1)


def test_scope_restores_the_callers_count_also_on_error(user_threads) -> None:
    with thread_scope(1):
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == user_threads
    with pytest.raises(RuntimeError), thread_scope(1):
        raise RuntimeError("boom")
    assert torch.get_num_threads() == user_threads


def _engine_layer(seen: list[int]) -> QuantumLayer:
    """A layer on the torch engine that records the thread count in its forward and backward."""
    layer = QuantumLayer(CircuitConfig(n_qubits=4, ansatz="hardware_efficient", layers=2,
                                       measurement="z"), dtype=torch.float64, seed=1)
    layer.use_fused = False
    program = layer.program.forward

    def recording(*args, **kwargs):
        seen.append(torch.get_num_threads())
        state = program(*args, **kwargs)
        if state.requires_grad:
            state.register_hook(lambda grad: seen.append(torch.get_num_threads()))
        return state

    layer.program.forward = recording  # type: ignore[method-assign]
    return layer


@pytest.mark.parametrize("wrt", ["all", "weights", "inputs"])
def test_layer_forward_and_backward_run_on_one_thread_and_restore(user_threads, wrt) -> None:
    seen: list[int] = []
    layer = _engine_layer(seen)
    x = torch.rand(5, 4, dtype=torch.float64, requires_grad=True)
    before = torch.nn.Linear(4, 4, dtype=torch.float64)
    out = layer(before(x)).sum()
    assert torch.get_num_threads() == user_threads
    targets = {"all": [x, layer.weights], "weights": [layer.weights], "inputs": [x]}[wrt]
    grads = torch.autograd.grad(out, targets)
    assert seen == [1, 1]  # forward, and the layer's part of the backward
    assert torch.get_num_threads() == user_threads
    assert all(torch.isfinite(g).all() for g in grads)


def test_layer_results_do_not_depend_on_the_scope(user_threads) -> None:
    layer = QuantumLayer(CircuitConfig(n_qubits=3, measurement="z"), dtype=torch.float64,
                         seed=2)
    layer.use_fused = False
    x = torch.rand(4, 3, dtype=torch.float64, requires_grad=True)

    def f(inputs: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
        return torch.func.functional_call(layer, {"weights": weights}, (inputs,))

    assert torch.autograd.gradcheck(f, (x, layer.weights.detach().clone().requires_grad_()))
    assert torch.autograd.gradgradcheck(f, (x, layer.weights.detach().clone().requires_grad_()))
    assert torch.get_num_threads() == user_threads


def test_fit_trains_on_one_thread_and_gives_the_callers_count_back(user_threads,
                                                                    monkeypatch) -> None:
    cfg = RunConfig.from_dict({
        "data": {"name": "digits", "train_size": 60, "test_size": 30, "val_fraction": 0.2},
        "circuit": {"n_qubits": 3, "layers": 1}, "train": {"epochs": 1, "batch_size": 20}})
    inside: list[int] = []
    forward = QuantumLayer.forward

    def recording(self, x):
        inside.append(torch.get_num_threads())
        return forward(self, x)

    monkeypatch.setattr(QuantumLayer, "forward", recording)
    in_callbacks: list[int] = []
    result = fit(cfg, callbacks=[lambda event: in_callbacks.append(torch.get_num_threads())])
    assert result.status == "completed"
    assert inside and set(inside) == {1}
    assert set(in_callbacks) == {user_threads}
    assert torch.get_num_threads() == user_threads


def test_kernel_and_engine_circuits_get_the_same_count(user_threads, monkeypatch) -> None:
    """16 qubits x batch 32 (2**21 amplitudes): a step of ``fit`` takes the idle cores, as
    threads of the engine or as the kernel's workers over chunks of the batch, and a loop
    block keeps the caller's count for its calls to cap; 8 qubits x 32: one thread."""
    monkeypatch.setattr(threads, "idle_cores", lambda: 2)
    for n, step, loop in ((16, 2, USER_THREADS), (8, 1, 1)):
        for reupload in (False, True):
            circuit = {"n_qubits": n, "layers": 2, "reupload": reupload}
            cfg = RunConfig.from_dict({"circuit": circuit})
            model = build_model(cfg, n_classes=3, image_shape=(1, 4, 4))
            assert model_threads(model, 32) == step
            assert model.quantum_layer.threads(32) == loop


def test_a_loop_entered_while_the_machine_is_busy_gets_the_cores_back(user_threads,
                                                                      monkeypatch) -> None:
    """The README's loop, ``with thread_scope(layer.threads(batch))``, entered while another
    process holds all but one core: the kernel's calls inside take one worker while the load
    lasts and the idle cores once it is gone (the block's count does not freeze them at 1)."""
    from hqnn_core.simulator import kernel

    idle = [1]
    monkeypatch.setattr(threads, "idle_cores", lambda: idle[0])
    workers: list[int] = []

    def recording(fn, items, count):
        workers.append(count)
        return threads.in_groups(fn, items, count)

    monkeypatch.setattr(kernel, "in_groups", recording)
    layer = QuantumLayer(CircuitConfig(n_qubits=16, encoding="angle",
                                       ansatz="hardware_efficient", layers=2,
                                       entanglement="circular", measurement="z"), seed=1)
    assert layer._fused is not None and layer._fused.runs_kernel(32)
    x = torch.rand(32, 16)
    with thread_scope(layer.threads(32)):
        layer(x).sum().backward()
        busy = list(workers)
        idle[0] = 2
        workers.clear()
        layer(x).sum().backward()
    assert busy == [1, 1]  # forward and backward, one worker each
    assert workers == [2, 2]
    assert torch.get_num_threads() == user_threads


def test_a_scope_in_one_thread_leaves_another_threads_count_alone(user_threads) -> None:
    """Two studio jobs train in two threads at once: torch keeps the count per thread (once a
    thread has run torch), so one job's scope neither changes nor is undone by the other's."""
    import threading

    entered, release = threading.Event(), threading.Event()
    seen: dict[str, int] = {}

    def job() -> None:
        torch.set_num_threads(2)  # this thread's own count, as a job thread has it
        with thread_scope(1):
            seen["inside"] = torch.get_num_threads()
            entered.set()
            release.wait(10)
        seen["after"] = torch.get_num_threads()

    worker = threading.Thread(target=job)
    worker.start()
    try:
        assert entered.wait(10)
        assert torch.get_num_threads() == user_threads  # the other job's scope is not ours
        with thread_scope(1):
            assert torch.get_num_threads() == 1
        assert torch.get_num_threads() == user_threads
    finally:
        release.set()
        worker.join(10)
    assert seen == {"inside": 1, "after": 2}
    assert torch.get_num_threads() == user_threads
