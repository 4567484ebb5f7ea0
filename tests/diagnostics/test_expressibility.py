"""Expressibility and entangling capability against known values (Sim et al. 2019)."""

from __future__ import annotations

import numpy as np
import pytest
from qiskit import QuantumCircuit
from qiskit.circuit import ParameterVector
from qiskit.quantum_info import random_statevector
from scipy import integrate

from hqnn_core.config import CircuitConfig
from hqnn_core.diagnostics.expressibility import (BINS, circuit_expressibility, expressibility,
                                                  expressibility_by_layers, haar_bin_probabilities,
                                                  haar_fidelity_pdf, kl_from_haar, meyer_wallach,
                                                  pair_fidelities)
from hqnn_core.errors import ConfigError


@pytest.mark.parametrize("n", [1, 2, 4])
def test_haar_density_integrates_to_one_and_matches_its_bins(n: int) -> None:
    total, _ = integrate.quad(lambda f: float(haar_fidelity_pdf(f, n)), 0.0, 1.0)
    assert total == pytest.approx(1.0, abs=1e-9)
    bins = haar_bin_probabilities(n)
    assert bins.sum() == pytest.approx(1.0)
    first, _ = integrate.quad(lambda f: float(haar_fidelity_pdf(f, n)), 0.0, 1.0 / BINS)
    assert bins[0] == pytest.approx(first, rel=1e-9)


def test_haar_random_states_are_close_to_haar_and_an_idle_circuit_is_far() -> None:
    n, pairs = 3, 4000
    a = np.array([random_statevector(2**n, seed=2 * i).data for i in range(pairs)])
    b = np.array([random_statevector(2**n, seed=2 * i + 1).data for i in range(pairs)])
    assert kl_from_haar(pair_fidelities(a, b), n) < 0.03
    assert kl_from_haar(np.ones(pairs), 1) == pytest.approx(np.log(BINS), rel=1e-9)


def test_single_qubit_circuits_are_ordered_as_in_sim_et_al() -> None:
    theta = ParameterVector("t", 2)
    ry_only = QuantumCircuit(1)
    ry_only.ry(theta[0], 0)
    bloch = QuantumCircuit(1)  # H, RZ, RX: Sim et al.'s circuit B covers the sphere
    bloch.h(0)
    bloch.rz(theta[0], 0)
    bloch.rx(theta[1], 0)
    idle = QuantumCircuit(1)
    idle.id(0)
    kl_ry, _ = circuit_expressibility(ry_only, [theta[0]], n_pairs=5000)
    kl_bloch, q = circuit_expressibility(bloch, list(theta), n_pairs=5000)
    kl_idle, _ = circuit_expressibility(idle, [], n_pairs=500)
    assert kl_bloch < kl_ry < kl_idle
    assert kl_bloch < 0.05 and kl_ry > 0.1  # Sim et al.: B ~ 0.02; a great circle ~ 0.2
    assert q == pytest.approx(0.0, abs=1e-12)  # one qubit never entangles


def test_meyer_wallach_of_known_states() -> None:
    n = 4
    ghz = np.zeros(2**n, dtype=complex)
    ghz[0] = ghz[-1] = 1 / np.sqrt(2)
    product = np.kron(np.array([1, 1]) / np.sqrt(2), np.kron([1, 0], np.kron([0, 1], [1, 0])))
    q = meyer_wallach(np.stack([ghz, product]))
    np.testing.assert_allclose(q, [1.0, 0.0], atol=1e-12)


def test_a_circuit_without_entanglers_has_zero_q_and_the_studio_circuit_entangles() -> None:
    theta = ParameterVector("t", 6)
    rotations = QuantumCircuit(3)
    for q in range(3):
        rotations.ry(theta[2 * q], q)
        rotations.rz(theta[2 * q + 1], q)
    _, q_product = circuit_expressibility(rotations, list(theta), n_pairs=200)
    assert q_product == pytest.approx(0.0, abs=1e-12)
    studio = expressibility(CircuitConfig(n_qubits=3, layers=2), n_pairs=500)
    assert 0.2 < studio.entangling <= 1.0 and studio.fidelities.shape == (500,)


def test_deeper_hardware_efficient_circuits_are_more_expressive() -> None:
    shallow, deep = expressibility_by_layers(CircuitConfig(n_qubits=3), [1, 4], n_pairs=2000)
    assert deep.kl < shallow.kl
    assert (shallow.layers, deep.layers) == (1, 4)


def test_too_many_qubits_are_refused_in_one_sentence() -> None:
    with pytest.raises(ConfigError, match="up to 10 qubits"):
        expressibility(CircuitConfig(n_qubits=12))
