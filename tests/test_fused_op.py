"""The fused path as torch operators: second derivatives, torch.compile, torch.func, opcheck."""

from __future__ import annotations

import pytest
import torch

from hqnn_core import CircuitConfig, QuantumLayer


def _layer(reupload: bool = False, n: int = 3) -> QuantumLayer:
    layer = QuantumLayer(CircuitConfig(n_qubits=n, ansatz="hardware_efficient", layers=2,
                                       measurement="z", reupload=reupload),
                         dtype=torch.float64, seed=4)
    assert layer._fused is not None
    return layer


def _both(layer: QuantumLayer, fused: bool):
    def f(inputs: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
        layer.use_fused = fused
        return torch.func.functional_call(layer, {"weights": weights}, (inputs,))
    return f


@pytest.mark.parametrize("reupload", [False, True])
def test_second_derivatives_pass_gradgradcheck(reupload: bool) -> None:
    """Before: the fused backward was once_differentiable and a second derivative raised."""
    layer = _layer(reupload)
    x = torch.rand(3, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(2))
    w = layer.weights.detach().clone()
    assert torch.autograd.gradgradcheck(_both(layer, True),
                                        (x.requires_grad_(), w.requires_grad_()))


def test_gradient_penalty_equals_the_autograd_engine() -> None:
    layer = _layer()
    x = torch.rand(4, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(3))
    results = []
    for fused in (True, False):
        w = layer.weights.detach().clone().requires_grad_()
        xi = x.clone().requires_grad_()
        out = _both(layer, fused)(xi, w)
        (gx,) = torch.autograd.grad(out.square().sum(), xi, create_graph=True)
        results.append(torch.autograd.grad(gx.square().sum(), w)[0])
    torch.testing.assert_close(results[0], results[1], atol=1e-10, rtol=0)


def test_first_derivatives_equal_the_autograd_engine_to_1e10() -> None:
    layer = _layer(n=5)
    x = torch.rand(6, 5, dtype=torch.float64, generator=torch.Generator().manual_seed(5))
    grads = []
    for fused in (True, False):
        w = layer.weights.detach().clone().requires_grad_()
        xi = x.clone().requires_grad_()
        out = _both(layer, fused)(xi, w)
        grads.append(torch.autograd.grad((out * torch.arange(5.0)).sum(), (xi, w)))
    for a, b in zip(*grads):
        torch.testing.assert_close(a, b, atol=1e-10, rtol=0)


def test_torch_compile_traces_the_layer_in_one_graph_and_matches_eager() -> None:
    torch._dynamo.reset()
    layer = _layer(n=4)
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(6, 4), layer,
                                torch.nn.Linear(4, 2)).double()
    compiled = torch.compile(model, fullgraph=True)  # a graph break would raise
    x = torch.rand(8, 6, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    results = []
    for run in (model, compiled):
        model.zero_grad()
        out = run(x)
        out.square().sum().backward()
        results.append((out.detach(), [p.grad.clone() for p in model.parameters()]))
    torch.testing.assert_close(results[0][0], results[1][0], atol=1e-10, rtol=0)
    for a, b in zip(results[0][1], results[1][1]):
        torch.testing.assert_close(a, b, atol=1e-10, rtol=0)


def test_vmap_equals_the_autograd_engine_sample_by_sample() -> None:
    layer = _layer()
    x = torch.rand(2, 4, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(6))
    w = layer.weights.detach().clone()
    outputs = torch.func.vmap(_both(layer, True), in_dims=(0, None))(x, w)
    engine = _both(layer, False)
    for i in range(len(x)):
        torch.testing.assert_close(outputs[i], engine(x[i], w), atol=1e-10, rtol=0)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_opcheck(dtype: torch.dtype) -> None:
    layer = QuantumLayer(CircuitConfig(n_qubits=3, measurement="z", reupload=True),
                         dtype=dtype, seed=1)
    assert layer._fused is not None
    x = torch.rand(4, 3, dtype=dtype, requires_grad=True)
    w = layer.weights.detach().clone().requires_grad_()
    torch.library.opcheck(torch.ops.hqnn.fused_forward.default, (x, w, layer._fused.op_key))


def test_a_copied_layer_has_its_own_operator_key() -> None:
    import copy

    layer = _layer()
    twin = copy.deepcopy(layer)
    x = torch.rand(2, 3, dtype=torch.float64)
    assert twin._fused.op_key != layer._fused.op_key
    torch.testing.assert_close(twin(x), layer(x))


@pytest.mark.parametrize("reupload", [False, True])
def test_the_operator_backward_undoing_blocks_equals_the_kept_states(reupload: bool) -> None:
    """The operator's backward keeps no states and undoes each block by its adjoint."""
    layer = _layer(reupload, n=5)
    x = torch.rand(3, 5, dtype=torch.float64, generator=torch.Generator().manual_seed(8))
    w = layer.weights.detach().clone()
    grad = torch.rand(3, 5, dtype=torch.float64, generator=torch.Generator().manual_seed(9))
    _, state = torch.ops.hqnn.fused_forward(x, w, layer._fused.op_key)
    undone = torch.ops.hqnn.fused_backward(x, w, state, grad, layer._fused.op_key, True, True)
    fused = layer._fused
    _, final, tables = fused.forward(x.numpy(), w.numpy(), derivatives=True)
    kept = fused.backward(x.numpy(), w.numpy(), final, grad.numpy(), True, True, tables)
    for a, b in zip(undone, kept):
        torch.testing.assert_close(a, torch.from_numpy(b), atol=1e-12, rtol=0)
