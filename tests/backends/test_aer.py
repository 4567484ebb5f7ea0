"""Aer runner: exact expectations, seeded shots, validation."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from hqnn_core.backends import CircuitSpec, make_runner
from hqnn_core.errors import ConfigError, ShapeError

from backend_refs import gate_angle_circuit, reference, z_observables, zz_observables


@pytest.mark.parametrize("measurement", ["z", "zz", "probs"])
def test_exact_aer_equals_statevector(measurement: str, angles: np.ndarray) -> None:
    observables = {"z": z_observables(), "zz": zz_observables(), "probs": []}[measurement]
    circuit = gate_angle_circuit()
    spec = CircuitSpec.build(circuit, measurement=measurement, observables=observables)
    runner = make_runner(spec, backend="aer", shots=None)
    out = runner(torch.tensor(angles, dtype=torch.float64))
    expected = reference(circuit, angles, measurement, observables)
    assert out.shape == expected.shape
    assert out.dtype == torch.float64
    np.testing.assert_allclose(out.numpy(), expected, atol=1e-10)


def test_shots_close_to_exact_and_seeded(z_spec: CircuitSpec, angles: np.ndarray) -> None:
    x = torch.tensor(angles, dtype=torch.float32)
    first = make_runner(z_spec, backend="aer", shots=20_000, seed=11)(x)
    again = make_runner(z_spec, backend="aer", shots=20_000, seed=11)(x)
    expected = reference(z_spec.circuit, angles, "z", list(z_spec.observables))
    assert first.dtype == torch.float32
    assert torch.equal(first, again)
    assert np.abs(first.numpy() - expected).max() < 0.04
    assert np.abs(first.numpy() - expected).max() > 0  # really sampled


def test_sampled_probabilities_sum_to_one(angles: np.ndarray) -> None:
    spec = CircuitSpec.build(gate_angle_circuit(), measurement="probs", observables=[])
    out = make_runner(spec, backend="aer", shots=2000, seed=0)(torch.tensor(angles))
    assert out.shape == (4, 8)
    np.testing.assert_allclose(out.sum(dim=1).numpy(), 1.0, atol=1e-9)


def test_wrong_angle_shape_raises(z_spec: CircuitSpec) -> None:
    runner = make_runner(z_spec, backend="aer")
    with pytest.raises(ShapeError, match=r"\(batch, 12\)"):
        runner(torch.zeros(2, 5))


def test_noise_without_shots_and_unknown_backend_raise(z_spec: CircuitSpec) -> None:
    with pytest.raises(ConfigError, match="shots"):
        make_runner(z_spec, backend="aer", noise="FakeManilaV2")
    with pytest.raises(ConfigError, match="aer, ibm"):
        make_runner(z_spec, backend="gpu")


def test_unknown_device_lists_options(z_spec: CircuitSpec) -> None:
    with pytest.raises(ConfigError) as info:
        make_runner(z_spec, backend="aer", shots=100, noise="FakeNowhereV2")
    assert "FakeManilaV2" in str(info.value)
    assert "Traceback" not in str(info.value)


def test_spec_rejects_gates_without_shift_rule() -> None:
    from qiskit import QuantumCircuit
    from qiskit.circuit import ParameterVector

    phi = ParameterVector("φ", 1)
    circuit = QuantumCircuit(1)
    circuit.u(phi[0], 0, 0, 0)
    with pytest.raises(ConfigError, match="parameter shift"):
        CircuitSpec.build(circuit, measurement="z", observables=z_observables(1))
