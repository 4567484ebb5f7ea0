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


def _scaled(layer: QuantumLayer, fused: bool):
    def f(inputs: torch.Tensor, weights: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
        layer.use_fused = fused
        return torch.func.functional_call(layer, {"weights": weights, "input_weights": scale},
                                          (inputs,))
    return f


@pytest.mark.parametrize("reupload", [False, True])
def test_an_input_scale_before_the_fused_path_equals_the_autograd_engine(
        reupload: bool) -> None:
    """A trained input scale (``input_weights``) in front of the fused path: outputs and
    first derivatives for inputs, weights and scale against the torch engine's autograd,
    kernel (no re-uploading) and NumPy path."""
    layer = _layer(reupload, n=4)
    assert layer.input_weights is not None
    assert (layer._fused.kernel is not None) == (not reupload)
    gen = torch.Generator().manual_seed(11)
    x = torch.rand(5, 4, dtype=torch.float64, generator=gen)
    scale = torch.tensor([1.7, -0.4, 0.0, 2.5], dtype=torch.float64)
    weights = torch.linspace(0, 1, 5 * 4, dtype=torch.float64).reshape(5, 4)
    results = []
    for fused in (True, False):
        args = [t.clone().requires_grad_() for t in (x, layer.weights.detach(), scale)]
        out = _scaled(layer, fused)(*args)
        results.append((out, *torch.autograd.grad((out * weights).sum(), args)))
    for a, b in zip(*results):
        torch.testing.assert_close(a, b, atol=1e-10, rtol=0)
    assert float(results[0][3].abs().min()) > 0  # every scale factor gets a gradient


def test_the_input_scale_passes_gradgradcheck_and_skips_unneeded_gradients() -> None:
    layer = _layer(n=3)
    gen = torch.Generator().manual_seed(12)
    x = torch.rand(3, 3, dtype=torch.float64, generator=gen).requires_grad_()
    w = layer.weights.detach().clone().requires_grad_()
    scale = torch.tensor([0.8, 1.3, -1.1], dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradgradcheck(_scaled(layer, True), (x, w, scale))
    frozen = scale.detach()  # only x needs a gradient
    (gx,) = torch.autograd.grad(_scaled(layer, True)(x, w.detach(), frozen).sum(), x)
    (ref,) = torch.autograd.grad(_scaled(layer, False)(x, w.detach(), frozen).sum(), x)
    torch.testing.assert_close(gx, ref, atol=1e-10, rtol=0)


def test_the_input_scale_under_torch_compile_and_vmap() -> None:
    torch._dynamo.reset()
    layer = _layer(n=3)
    with torch.no_grad():
        layer.input_weights.copy_(torch.tensor([0.5, 2.0, -1.5], dtype=torch.float64))
    x = torch.rand(2, 4, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(13))
    eager = layer(x[0])
    torch.testing.assert_close(torch.compile(layer, fullgraph=True)(x[0]), eager,
                               atol=1e-10, rtol=0)
    mapped = torch.func.vmap(layer)(x)
    layer.use_fused = False
    for i in range(len(x)):
        torch.testing.assert_close(mapped[i], layer(x[i]), atol=1e-10, rtol=0)
