"""Gradient variance: per-sample engine gradients against parameter shift on Statevector."""

from __future__ import annotations

import math

import numpy as np
import pytest
from qiskit.quantum_info import SparsePauliOp, Statevector

from hqnn_core.circuits.build import build_circuit
from hqnn_core.config import CircuitConfig
from hqnn_core.diagnostics.gradients import (gradient_variance, gradient_variance_grid,
                                             weight_gradients)
from hqnn_core.errors import ConfigError


def _z0(b, row: np.ndarray) -> float:
    params = [*b.inputs, *b.weights]
    bound = b.circuit.assign_parameters(dict(zip(params, row.tolist())))
    z0 = SparsePauliOp.from_sparse_list([("Z", [0], 1.0)], num_qubits=b.circuit.num_qubits)
    return float(Statevector(bound).expectation_value(z0).real)


@pytest.mark.parametrize("cfg", [CircuitConfig(n_qubits=3, layers=2),
                                 CircuitConfig(n_qubits=3, encoding="amplitude",
                                               ansatz="efficient_su2", layers=1)],
                         ids=["angle-hea", "amplitude-su2"])
def test_engine_gradients_match_parameter_shift(cfg: CircuitConfig) -> None:
    grads, rows = weight_gradients(cfg, n_samples=3, seed=5)
    b = build_circuit(cfg)
    n_in = len(b.inputs)
    for s in range(3):
        for k in range(len(b.weights)):
            plus, minus = rows[s].numpy().copy(), rows[s].numpy().copy()
            plus[n_in + k] += math.pi / 2
            minus[n_in + k] -= math.pi / 2
            shift = (_z0(b, plus) - _z0(b, minus)) / 2
            assert grads[s, k] == pytest.approx(shift, abs=1e-9)


def test_variance_is_the_sample_variance_of_those_gradients() -> None:
    cfg = CircuitConfig(n_qubits=2, layers=1)
    result = gradient_variance(cfg, n_samples=40, seed=1)
    grads, _ = weight_gradients(cfg, n_samples=40, seed=1)
    np.testing.assert_allclose(result.per_weight, grads.var(axis=0, ddof=1))
    assert result.variance == pytest.approx(grads.var(axis=0, ddof=1).mean())


def test_gradients_vanish_with_qubits_in_deep_random_circuits() -> None:
    grid = gradient_variance_grid(CircuitConfig(layers=1), qubits=[2, 8], layers=[1, 8],
                                  n_samples=200, seed=0)
    assert grid.shape == (2, 2)
    assert grid[1, 1] < grid[0, 1] / 3  # barren plateau: 8 deep qubits << 2 qubits


def test_too_many_qubits_are_refused_in_one_sentence() -> None:
    with pytest.raises(ConfigError, match="up to 10 qubits"):
        gradient_variance(CircuitConfig(n_qubits=11))
