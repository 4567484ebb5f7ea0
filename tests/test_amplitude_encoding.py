"""Amplitude encoding prepares x / ||x||: checked against the vector itself and against
Qiskit's own StatePreparation, not only against the project's tree angles."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from qiskit import QuantumCircuit
from qiskit.circuit.library import StatePreparation
from qiskit.quantum_info import Statevector

from hqnn_core.circuits.encodings import AmplitudeEncoding, amplitude_tree_angles
from hqnn_core.config import CircuitConfig
from hqnn_core.learning.layer import QuantumLayer


def _vectors(n: int) -> list[np.ndarray]:
    rng = np.random.default_rng(n)
    signed = rng.normal(size=2**n)  # negative entries too
    images = rng.uniform(0, 1, size=2**n)  # pixel-like
    sparse = images.copy()
    sparse[: 2 ** (n - 1)] = 0.0  # a whole subtree of zeros
    return [signed, images, sparse]


def _encoded(x: np.ndarray) -> Statevector:
    n = int(np.log2(x.size))
    angles = amplitude_tree_angles(torch.tensor(x[None], dtype=torch.float64))[0]
    qc = QuantumCircuit(n)
    qc.append(AmplitudeEncoding(n, angles.tolist()), range(n))
    return Statevector(qc)


@pytest.mark.parametrize("n", [1, 2, 3, 4, 5])
def test_the_encoded_state_is_the_normalised_vector(n: int) -> None:
    for x in _vectors(n):
        expected = x / np.linalg.norm(x)
        state = _encoded(x)
        np.testing.assert_allclose(state.data, expected, atol=1e-12)
        reference = Statevector(StatePreparation(expected))
        np.testing.assert_allclose(state.data, reference.data, atol=1e-12)


@pytest.mark.parametrize("n", [2, 3, 4])
def test_the_engine_matches_state_preparation_then_the_ansatz(n: int) -> None:
    layer = QuantumLayer(CircuitConfig(n_qubits=n, encoding="amplitude", layers=2,
                                       ansatz="real_amplitudes", measurement="probs"),
                         dtype=torch.float64, seed=n)
    for x in _vectors(n):
        bound = layer.bound_circuit(torch.tensor(x))
        assert bound.data[0].operation.name == "amplitude_encoding"
        reference = QuantumCircuit(n)
        reference.append(StatePreparation(x / np.linalg.norm(x)), range(n))
        for inst in bound.data[1:]:
            reference.append(inst.operation, inst.qubits)
        state = layer.statevector(torch.tensor(x[None]))[0].detach().numpy()
        np.testing.assert_allclose(state, Statevector(reference).data, atol=1e-10)
        probs = layer(torch.tensor(x[None]))[0].detach().numpy()
        np.testing.assert_allclose(probs, Statevector(reference).probabilities(), atol=1e-10)
