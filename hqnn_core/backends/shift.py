"""Parameter-shift gradients as a ``torch.autograd.Function``.

Every parameterized gate of a layer's ``gate_angle_circuit`` is ``exp(-i φ P / 2)`` with a
Pauli generator ``P`` (``program.SHIFT_RULE_GATES``), so the two-term rule is exact:
``d f / d φ_g = (f(φ + π/2 e_g) - f(φ - π/2 e_g)) / 2``.

When a gradient is needed, the forward pass sends the unshifted angles and ``2S`` shifted
copies of every sample, ``B * (2S + 1)`` parameter sets, to the backend in one call (one
broadcast circuit), keeps the Jacobian ``(B, G, K)`` and the backward pass is a single
contraction. ``S`` counts the angles that need a gradient: all ``G`` by default; a layer
passes only those that depend on its trained weights or on inputs that require a gradient
(an encoding gate of images needs no shift). Without a gradient only the ``B`` unshifted
sets are run.
"""

from __future__ import annotations

import math
from typing import Callable

import numpy as np
import torch
from torch import nn

from hqnn_core.errors import ShapeError

Evaluate = Callable[[np.ndarray], np.ndarray]  # (M, G) float64 angles -> (M, K) outputs

SHIFT = math.pi / 2


def shifted_angles(angles: np.ndarray, columns: np.ndarray | None = None) -> np.ndarray:
    """``(B, G)`` angles -> ``(B, 2S + 1, G)``: unshifted, then +π/2 on each shifted column,
    then -π/2 (``columns``: the S column indices to shift, default all G)."""
    batch, n_gates = angles.shape
    shifts = np.eye(n_gates)[np.arange(n_gates) if columns is None else columns] * SHIFT
    n_shifted = shifts.shape[0]
    stacked = np.empty((batch, 2 * n_shifted + 1, n_gates))
    stacked[:, 0] = angles
    stacked[:, 1 : n_shifted + 1] = angles[:, None, :] + shifts[None]
    stacked[:, n_shifted + 1 :] = angles[:, None, :] - shifts[None]
    return stacked


def values_and_jacobian(evaluate: Evaluate, angles: np.ndarray,
                        columns: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Outputs ``(B, K)`` and parameter-shift Jacobian ``(B, G, K)`` from one backend call;
    columns not in ``columns`` (default: all) get a zero Jacobian and cost nothing."""
    batch, n_gates = angles.shape
    stacked = shifted_angles(angles, columns)  # (B, 2S+1, G)
    n_shifted = (stacked.shape[1] - 1) // 2
    results = evaluate(stacked.reshape(-1, n_gates))  # (B*(2S+1), K)
    results = results.reshape(batch, 2 * n_shifted + 1, -1)
    plus = results[:, 1 : n_shifted + 1]  # (B, S, K)
    minus = results[:, n_shifted + 1 :]  # (B, S, K)
    if columns is None:
        return results[:, 0], (plus - minus) / 2.0
    jacobian = np.zeros((batch, n_gates, results.shape[2]))
    jacobian[:, columns] = (plus - minus) / 2.0
    return results[:, 0], jacobian


class ParameterShift(torch.autograd.Function):
    """Angles ``(B, G)`` -> outputs ``(B, K)`` through ``evaluate``; backward by parameter shift."""

    @staticmethod
    def forward(ctx, angles: torch.Tensor,  # type: ignore[override]
                evaluate: Evaluate, columns: np.ndarray | None = None) -> torch.Tensor:
        values = angles.detach().cpu().to(torch.float64).numpy()
        if angles.requires_grad and (columns is None or len(columns)):
            out, jacobian = values_and_jacobian(evaluate, values, columns)
            ctx.save_for_backward(
                torch.as_tensor(jacobian, dtype=angles.dtype, device=angles.device))
        else:
            out = evaluate(values)
            ctx.save_for_backward(None)
        return torch.as_tensor(np.asarray(out), dtype=angles.dtype, device=angles.device)

    @staticmethod
    def backward(ctx, grad_out: torch.Tensor):  # type: ignore[override]
        (jacobian,) = ctx.saved_tensors
        if jacobian is None:
            return None, None, None
        grad = torch.einsum("bk,bgk->bg", grad_out.to(jacobian.dtype), jacobian)  # (B, G)
        return grad, None, None


class ShiftRunner(nn.Module):
    """Callable module mapping gate angles ``(B, G)`` to outputs ``(B, K)`` on a backend."""

    def __init__(self, evaluate: Evaluate, *, n_angles: int, n_outputs: int, name: str) -> None:
        super().__init__()
        self.executor = evaluate
        self.n_angles = n_angles
        self.n_outputs = n_outputs
        self.name = name

    def forward(self, angles: torch.Tensor,
                needs_gradient: np.ndarray | None = None) -> torch.Tensor:
        """Run the circuit for every row of ``angles``; differentiable by parameter shift.

        ``needs_gradient`` (``(G,)`` bool) names the angles worth shifting; the others get
        a zero gradient. Default: every angle.
        """
        if angles.dim() != 2 or angles.shape[1] != self.n_angles:
            raise ShapeError(
                f"The {self.name} runner expects gate angles of shape (batch, {self.n_angles}), "
                f"got {tuple(angles.shape)}."
            )
        if angles.shape[0] == 0:
            return angles.new_zeros((0, self.n_outputs))
        columns = None if needs_gradient is None else np.flatnonzero(needs_gradient)
        return ParameterShift.apply(angles, self.executor, columns)

    def extra_repr(self) -> str:
        return f"{self.name}, angles={self.n_angles}, outputs={self.n_outputs}"
