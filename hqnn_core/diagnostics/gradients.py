"""Gradient variance over random initialisations: the barren-plateau check.

McClean et al. (2018) showed that for random parameterized circuits the variance of a
cost gradient vanishes exponentially in the number of qubits. Here the cost is
``<Z_0>`` after the studio's circuit for a random input (drawn as the encoding receives
data) and weights uniform in [0, 2 pi); the figure is ``Var[d<Z_0>/d theta_k]`` over the
samples, averaged over the trainable angles ``k``. The engine computes every sample's
gradient in one batched backward pass.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Sequence

import numpy as np
import torch
from qiskit.quantum_info import SparsePauliOp

from hqnn_core.circuits.build import build_circuit
from hqnn_core.config import CircuitConfig
from hqnn_core.diagnostics.sampling import (batch_layer, random_input_values,
                                            random_weights)
from hqnn_core.errors import ConfigError

MAX_QUBITS = 10
MAX_SAMPLES = 500


@dataclass(frozen=True)
class GradientVariance:
    """Gradient statistics of one circuit configuration over random initialisations."""

    n_qubits: int
    layers: int
    variance: float  # mean over k of Var[d<Z_0>/d theta_k]
    per_weight: np.ndarray  # (n_weights,) Var[d<Z_0>/d theta_k]
    n_samples: int


def weight_gradients(cfg: CircuitConfig, *, n_samples: int = 100,
                     seed: int = 0) -> tuple[np.ndarray, torch.Tensor]:
    """Per-sample gradients ``(n_samples, n_weights)`` of ``<Z_0>`` and the parameter rows
    ``(n_samples, n_inputs + n_weights)`` they were taken at."""
    b = build_circuit(cfg)
    z0 = SparsePauliOp.from_sparse_list([("Z", [0], 1.0)], num_qubits=cfg.n_qubits)
    layer = batch_layer(b.circuit, [*b.inputs, *b.weights], [z0])
    gen = torch.Generator().manual_seed(seed)
    inputs = random_input_values(cfg, n_samples, gen)
    rows = torch.cat([inputs, random_weights(n_samples, len(b.weights), gen)], dim=1)
    rows_grad = rows.clone().requires_grad_(True)
    layer(rows_grad).sum().backward()
    grads = rows_grad.grad[:, inputs.shape[1]:].detach().cpu().numpy()
    return grads, rows


def gradient_variance(cfg: CircuitConfig, *, n_samples: int = 100,
                      seed: int = 0) -> GradientVariance:
    """``Var[d<Z_0>/d theta_k]`` over ``n_samples`` random initialisations of ``cfg``."""
    if cfg.n_qubits > MAX_QUBITS:
        raise ConfigError(f"Gradient variance is computed for up to {MAX_QUBITS} qubits; this "
                          f"circuit has {cfg.n_qubits}.")
    n_samples = max(2, min(int(n_samples), MAX_SAMPLES))
    grads, _ = weight_gradients(cfg, n_samples=n_samples, seed=seed)
    per_weight = grads.var(axis=0, ddof=1)
    return GradientVariance(n_qubits=cfg.n_qubits, layers=cfg.layers,
                            variance=float(per_weight.mean()), per_weight=per_weight,
                            n_samples=n_samples)


def gradient_variance_grid(cfg: CircuitConfig, qubits: Sequence[int], layers: Sequence[int], *,
                           n_samples: int = 100, seed: int = 0) -> np.ndarray:
    """``(len(qubits), len(layers))`` mean gradient variances of ``cfg`` resized to each
    qubit count and depth (encoding, ansatz, entanglement kept)."""
    out = np.empty((len(qubits), len(layers)))
    for i, n in enumerate(qubits):
        for j, depth in enumerate(layers):
            sized = dataclasses.replace(cfg, n_qubits=int(n), layers=int(depth))
            out[i, j] = gradient_variance(sized, n_samples=n_samples, seed=seed).variance
    return out
