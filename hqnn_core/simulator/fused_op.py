"""The fused path as torch operators: ``hqnn::fused_forward`` and ``hqnn::fused_backward``.

As ``torch.library`` custom ops with fake (shape) functions and a registered autograd
formula, ``torch.compile`` traces a model through the layer without a graph break, and
``torch.func`` transforms see an ordinary operator (a batching rule loops over the mapped
dimension). The NumPy work is ``FusedPath``'s; an operator finds its path by a string key
(operator arguments are tensors and plain values), ``FusedPath.op_key``.

First derivatives use the adjoint backward. Second derivatives (``create_graph=True``, a
gradient penalty, ``gradgradcheck``) are taken through the torch engine's autograd of the
same circuit, which computes the same function.
"""

from __future__ import annotations

from typing import Callable

import torch
from torch import Tensor

from hqnn_core.simulator.blas import single_thread_blas
from hqnn_core.simulator.fused import PATHS as _PATHS, FusedPath

def fused_outputs(path: FusedPath, inputs: Tensor, weights: Tensor) -> Tensor:
    """(B, K) layer outputs for circuit input values (B, I)."""
    out, _ = torch.ops.hqnn.fused_forward(inputs, weights, path.op_key)
    return out


@torch.library.custom_op("hqnn::fused_forward", mutates_args=(), device_types="cpu")
def fused_forward(inputs: Tensor, weights: Tensor, path: str) -> tuple[Tensor, Tensor]:
    """Outputs (B, K) and final state (B, 2**n) of the fused circuit."""
    with single_thread_blas:
        out, state = _PATHS[path].forward(inputs.numpy(force=True), weights.numpy(force=True))
    return torch.from_numpy(out), torch.from_numpy(state)


@fused_forward.register_fake
def _(inputs: Tensor, weights: Tensor, path: str) -> tuple[Tensor, Tensor]:
    fused = _PATHS[path]
    cdtype = torch.complex128 if weights.dtype == torch.float64 else torch.complex64
    return (inputs.new_empty((inputs.shape[0], fused.n_outputs), dtype=weights.dtype),
            inputs.new_empty((inputs.shape[0], 2**fused.n), dtype=cdtype))


@torch.library.custom_op("hqnn::fused_backward", mutates_args=(), device_types="cpu")
def fused_backward(inputs: Tensor, weights: Tensor, state: Tensor, grad: Tensor, path: str,
                   need_inputs: bool, need_weights: bool) -> tuple[Tensor, Tensor]:
    """Gradients (B, I) and (W,) of the fused circuit for the output gradient ``grad``."""
    with single_thread_blas:
        grad_x, grad_w = _PATHS[path].backward(
            inputs.numpy(force=True), weights.numpy(force=True), state.numpy(force=True),
            grad.to(weights.dtype).numpy(force=True), need_inputs, need_weights)
    return torch.from_numpy(grad_x), torch.from_numpy(grad_w)


@fused_backward.register_fake
def _(inputs: Tensor, weights: Tensor, state: Tensor, grad: Tensor, path: str,
      need_inputs: bool, need_weights: bool) -> tuple[Tensor, Tensor]:
    return torch.empty_like(inputs), torch.empty_like(weights)


def _setup_context(ctx, inputs: tuple, output: tuple) -> None:  # type: ignore[no-untyped-def]
    x, w, path = inputs
    ctx.save_for_backward(x, w, output[1])
    ctx.path = path


def _backward(ctx, grad: Tensor, _grad_state: Tensor):  # type: ignore[no-untyped-def]
    x, w, state = ctx.saved_tensors
    need_x, need_w = ctx.needs_input_grad[0], ctx.needs_input_grad[1]
    if torch.is_grad_enabled():  # create_graph: a differentiable gradient, through autograd
        wanted = [t for t, need in ((x, need_x), (w, need_w)) if need]
        grads = iter(torch.autograd.grad(_PATHS[ctx.path].reference(x, w), wanted, grad,
                                         create_graph=True))
        return (next(grads) if need_x else None), (next(grads) if need_w else None), None
    grad_x, grad_w = fused_backward(x, w, state, grad, ctx.path, need_x, need_w)
    return (grad_x if need_x else None), (grad_w if need_w else None), None


fused_forward.register_autograd(_backward, setup_context=_setup_context)


def _loop_rule(op: Callable[..., tuple[Tensor, Tensor]]) -> Callable:
    """A batching rule that runs ``op`` once per index of the mapped dimension."""

    def rule(info, in_dims: tuple, *args: object):  # type: ignore[no-untyped-def]
        def pick(arg: object, dim: int | None, i: int) -> object:
            return arg if dim is None else arg.select(dim, i)  # type: ignore[union-attr]

        results = [op(*[pick(a, d, i) for a, d in zip(args, in_dims)])
                   for i in range(info.batch_size)]
        return tuple(torch.stack(parts) for parts in zip(*results)), (0, 0)

    return rule


fused_forward.register_vmap(_loop_rule(fused_forward))
fused_backward.register_vmap(_loop_rule(fused_backward))
