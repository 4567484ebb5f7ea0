"""Circuits with every parameter drawn per sample, run as one batch by the engine.

A diagnostic draws many parameter settings of one circuit. Declaring every circuit
parameter (inputs and weights) as an *input* of a ``QuantumLayer.from_circuit`` layer lets
the engine run all settings as one batch and give per-sample gradients by autograd.
"""

from __future__ import annotations

import math
from typing import Sequence

import torch
from qiskit.circuit import Parameter, QuantumCircuit
from qiskit.quantum_info import SparsePauliOp

from hqnn_core.circuits.build import BuiltCircuit
from hqnn_core.circuits.encodings import amplitude_tree_angles
from hqnn_core.config import CircuitConfig


def batch_layer(circuit: QuantumCircuit, parameters: Sequence[Parameter],
                observables: Sequence[SparsePauliOp] | None = None):
    """A float64 ``QuantumLayer`` whose input columns are ``parameters`` (no weights)."""
    from hqnn_core.learning.layer import QuantumLayer

    return QuantumLayer.from_circuit(circuit, list(parameters), [],
                                     None if observables is None else list(observables),
                                     dtype=torch.float64)


def random_weights(n_samples: int, n_weights: int, generator: torch.Generator) -> torch.Tensor:
    """Weights uniform in [0, 2 pi): ``(n_samples, n_weights)`` float64."""
    return torch.rand(n_samples, n_weights, generator=generator, dtype=torch.float64) * 2 * math.pi


def random_input_values(cfg: CircuitConfig, n_samples: int,
                        generator: torch.Generator) -> torch.Tensor:
    """Circuit input values of random data, as the encoding receives it from a front.

    Angle-type encodings: features uniform in (0, pi); basis: random bits; amplitude: the
    tree angles of a random non-negative vector (images are non-negative).
    """
    shape = (n_samples, cfg.n_features)
    u = torch.rand(shape, generator=generator, dtype=torch.float64)
    if cfg.encoding == "basis":
        return (u > 0.5).to(torch.float64)
    if cfg.encoding == "amplitude":
        return amplitude_tree_angles(u)
    return u * math.pi


def zero_input_values(built: BuiltCircuit, n_samples: int) -> torch.Tensor:
    """Circuit input values of an all-zero input: ``(n_samples, n_inputs)``."""
    return torch.zeros(n_samples, len(built.inputs), dtype=torch.float64)
