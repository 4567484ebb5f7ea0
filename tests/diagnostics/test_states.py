"""Step-by-step states against Qiskit's Statevector of the same prefix; purity against
partial_trace."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from qiskit.quantum_info import DensityMatrix, Statevector, partial_trace

from hqnn_core.config import CircuitConfig
from hqnn_core.diagnostics.states import (bloch_from_rho, purities, reduced_density_matrices,
                                          step_prefixes, step_states)
from hqnn_core.errors import ConfigError
from hqnn_core.learning.layer import QuantumLayer

CONFIGS = [
    CircuitConfig(n_qubits=3, layers=2),
    CircuitConfig(n_qubits=4, encoding="amplitude", ansatz="real_amplitudes", layers=2,
                  entanglement="linear"),
    CircuitConfig(n_qubits=3, encoding="iqp", ansatz="strongly_entangling", layers=3),
    CircuitConfig(n_qubits=4, encoding="dense_angle", ansatz="efficient_su2", layers=2,
                  reupload=True, entanglement="full"),
    CircuitConfig(n_qubits=3, encoding="basis", layers=1),
]


def _features(layer: QuantumLayer, seed: int) -> torch.Tensor:
    return torch.rand(layer.n_features, generator=torch.Generator().manual_seed(seed),
                      dtype=torch.float64) * 3


@pytest.mark.parametrize("cfg", CONFIGS, ids=lambda c: f"{c.encoding}-{c.ansatz}")
def test_each_step_matches_statevector_of_the_same_prefix(cfg: CircuitConfig) -> None:
    layer = QuantumLayer(cfg, seed=3, dtype=torch.float64)
    x = _features(layer, 1)
    steps = step_states(layer, x)
    prefixes = step_prefixes(layer)
    expected_steps = 1 + cfg.layers + (1 if cfg.ansatz in ("real_amplitudes",
                                                           "efficient_su2") else 0)
    assert [s.label for s in steps] == [p[0] for p in prefixes]
    assert len(steps) == expected_steps and steps[0].label == "encoding"
    values = layer.input_values(x[None])[0].tolist()
    binding = dict(zip(layer.input_parameters, values))
    binding.update(zip(layer.weight_parameters, layer.weights.detach().tolist()))
    for step, (_, prefix) in zip(steps, prefixes):
        bound = prefix.assign_parameters({p: binding[p] for p in prefix.parameters})
        reference = Statevector(bound).data
        assert abs(np.vdot(reference, step.state)) == pytest.approx(1.0, abs=1e-9)
        np.testing.assert_allclose(step.state, reference, atol=1e-9)
        for q in range(cfg.n_qubits):
            rho = partial_trace(Statevector(reference), [k for k in range(cfg.n_qubits) if k != q])
            assert step.purity[q] == pytest.approx(float(rho.purity().real), abs=1e-9)
    final = layer.statevector(x[None])[0].detach().numpy()
    np.testing.assert_allclose(steps[-1].state, final, atol=1e-9)


def test_steps_differ_as_layers_act() -> None:
    layer = QuantumLayer(CircuitConfig(n_qubits=3, layers=2), seed=0, dtype=torch.float64)
    steps = step_states(layer, _features(layer, 0))
    assert np.allclose(steps[0].purity, 1.0)  # the encoding is a product state
    assert not np.allclose(steps[0].state, steps[1].state)
    assert steps[1].purity.min() < 0.999  # the first CNOT ring entangles


def test_bloch_and_purity_of_known_states() -> None:
    plus_zero = np.kron([1, 0], [1, 1]) / np.sqrt(2)  # qubit 0 in |+>, qubit 1 in |0>
    rho = reduced_density_matrices(plus_zero)[0]
    np.testing.assert_allclose(bloch_from_rho(rho), [[1, 0, 0], [0, 0, 1]], atol=1e-12)
    bell = np.array([1, 0, 0, 1]) / np.sqrt(2)
    np.testing.assert_allclose(purities(bell), [[0.5, 0.5]], atol=1e-12)
    y_state = np.array([1, 1j]) / np.sqrt(2)
    np.testing.assert_allclose(bloch_from_rho(reduced_density_matrices(y_state)[0]), [[0, 1, 0]],
                               atol=1e-12)
    dm = partial_trace(DensityMatrix(Statevector(bell)), [1])
    assert purities(bell)[0, 0] == pytest.approx(float(dm.purity().real))


def test_a_layer_of_a_users_circuit_is_refused_in_one_sentence() -> None:
    from qiskit import QuantumCircuit
    from qiskit.circuit import Parameter

    qc = QuantumCircuit(1)
    a = Parameter("a")
    qc.ry(a, 0)
    layer = QuantumLayer.from_circuit(qc, [a], [])
    with pytest.raises(ConfigError, match="CircuitConfig"):
        step_states(layer, torch.zeros(1))


def test_entanglement_of_a_step_is_meyer_wallach() -> None:
    layer = QuantumLayer(CircuitConfig(n_qubits=3, layers=2), seed=0, dtype=torch.float64)
    steps = step_states(layer, _features(layer, 0))
    assert steps[0].entanglement == 0.0
    assert steps[-1].entanglement == pytest.approx(2 * (1 - steps[-1].purity.mean()))
