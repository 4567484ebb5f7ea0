"""The fused path as torch operators: ``hqnn::fused_forward`` and ``hqnn::fused_backward``.

As ``torch.library`` custom ops with fake (shape) functions and a registered autograd
formula, ``torch.compile`` traces a model through the layer without a graph break. In
eager mode the same work runs in an ``autograd.Function``; under ``torch.vmap`` a batching
rule loops over the mapped dimension. The work is ``FusedPath``'s (NumPy, or the compiled
loops of ``kernel``); an operator finds its path by a string key (operator arguments are
tensors and plain values), ``FusedPath.op_key``.

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
    """(B, K) layer outputs for circuit input values (B, I).

    In eager mode an old-style ``autograd.Function`` (the cheapest to call; its backward
    reuses the forward's tables), under ``torch.func`` transforms (``vmap``, ...) one with
    ``setup_context`` and a batching rule, and under ``torch.compile`` the operators."""
    if torch.compiler.is_compiling():
        return torch.ops.hqnn.fused_forward(inputs, weights, path.op_key)[0]
    try:
        return _FusedFunction.apply(inputs, weights, path)
    except RuntimeError as error:  # a functorch transform is active: only setup_context-style
        if "setup_context" not in str(error):  # functions run under it
            raise
    return _TransformableFusedFunction.apply(inputs, weights, path)[0]


def _eager_forward(path: FusedPath, inputs: Tensor, weights: Tensor, derivatives: bool
                   ) -> tuple[Tensor, tuple]:
    """Outputs and what the backward needs (final state, tables)."""
    x, w = inputs.numpy(force=True), weights.numpy(force=True)
    if path.kernel is not None:  # compiled loops: no BLAS, and no state kept
        out, _, tables = path.kernel.forward(x, w, with_state=False)
        return torch.from_numpy(out), (None, tables)
    with single_thread_blas:  # OpenBLAS held to one thread around the NumPy path
        out, state, tables = path.forward(x, w, derivatives)
    return torch.from_numpy(out), (state, tables)


def _eager_backward(path: FusedPath, x: Tensor, w: Tensor, saved: tuple, grad: Tensor,
                    need_x: bool, need_w: bool) -> tuple[Tensor | None, Tensor | None, None]:
    """Gradients for inputs and weights (None where not needed)."""
    if torch.is_grad_enabled():
        return (*_differentiable_vjp(path, x, w, grad, need_x, need_w), None)
    grad_out = grad.to(w.dtype).numpy(force=True)
    if path.kernel is not None:  # the forward's tables hold all it needs
        grad_x, grad_w = path.kernel.backward(grad_out, saved[1], need_x, need_w)
    else:
        with single_thread_blas:
            grad_x, grad_w = path.backward(x.numpy(force=True), w.numpy(force=True), saved[0],
                                           grad_out, need_x, need_w, saved[1])
    return (torch.from_numpy(grad_x) if need_x else None,
            torch.from_numpy(grad_w) if need_w else None, None)


class _FusedFunction(torch.autograd.Function):
    @staticmethod
    def forward(ctx, inputs: Tensor, weights: Tensor, path: FusedPath  # type: ignore[override]
                ) -> Tensor:
        out, ctx.saved = _eager_forward(path, inputs, weights, any(ctx.needs_input_grad[:2]))
        ctx.save_for_backward(inputs, weights)
        ctx.path = path
        return out

    @staticmethod
    def backward(ctx, grad: Tensor):  # type: ignore[override]
        x, w = ctx.saved_tensors
        return _eager_backward(ctx.path, x, w, ctx.saved, grad, *ctx.needs_input_grad[:2])


class _TransformableFusedFunction(torch.autograd.Function):
    @staticmethod
    def forward(inputs: Tensor, weights: Tensor, path: FusedPath):  # type: ignore[override]
        derivatives = torch.is_grad_enabled() and (inputs.requires_grad or weights.requires_grad)
        return _eager_forward(path, inputs, weights, derivatives)

    @staticmethod
    def setup_context(ctx, inputs: tuple, output: tuple) -> None:  # type: ignore[override]
        x, w, path = inputs
        ctx.save_for_backward(x, w)
        ctx.path, ctx.saved = path, output[1]

    @staticmethod
    def backward(ctx, grad: Tensor, _unused: object):  # type: ignore[override]
        x, w = ctx.saved_tensors
        return _eager_backward(ctx.path, x, w, ctx.saved, grad, *ctx.needs_input_grad[:2])

    @staticmethod
    def vmap(info, in_dims: tuple, inputs: Tensor, weights: Tensor,  # type: ignore[override]
             path: FusedPath):
        results = [_TransformableFusedFunction.apply(
            *[a if d is None else a.select(d, i) for a, d in zip((inputs, weights), in_dims[:2])],
            path) for i in range(info.batch_size)]
        return (torch.stack([r[0] for r in results]), None), (0, None)


def _differentiable_vjp(path: FusedPath, x: Tensor, w: Tensor, grad: Tensor, need_x: bool,
                        need_w: bool) -> tuple[Tensor | None, Tensor | None]:
    """The vector-Jacobian product as a differentiable function (``create_graph=True``),
    through the torch engine's autograd of the same circuit."""
    wanted = [t for t, need in ((x, need_x), (w, need_w)) if need]
    grads = iter(torch.autograd.grad(path.reference(x, w), wanted, grad, create_graph=True))
    return (next(grads) if need_x else None), (next(grads) if need_w else None)


@torch.library.custom_op("hqnn::fused_forward", mutates_args=(), device_types="cpu")
def fused_forward(inputs: Tensor, weights: Tensor, path: str) -> tuple[Tensor, Tensor]:
    """Outputs (B, K) and final state (B, 2**n) of the fused circuit."""
    with single_thread_blas:
        out, state, _ = _PATHS[path].forward(inputs.numpy(force=True), weights.numpy(force=True))
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
    if torch.is_grad_enabled():  # create_graph
        return (*_differentiable_vjp(_PATHS[ctx.path], x, w, grad, need_x, need_w), None)
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
