"""Readout mitigation: exact inversion of a known confusion, and a noisy device end to end."""

from __future__ import annotations

import numpy as np
import torch
from backend_refs import reference
from qiskit.quantum_info import SparsePauliOp

from hqnn_core.backends import CircuitSpec, make_runner
from hqnn_core.backends.mitigation import (
    ReadoutCalibration,
    calibration_from_probs,
    raw_and_mitigated,
)
from hqnn_core.backends.readout import Readout


def _confuse(probs: np.ndarray, e0: np.ndarray, e1: np.ndarray) -> np.ndarray:
    """Apply independent per-qubit readout flips to little-endian distributions."""
    n = len(e0)
    noisy = probs.copy()
    for q in range(n):
        confusion = np.array([[1 - e0[q], e1[q]], [e0[q], 1 - e1[q]]])
        state = noisy.reshape((-1,) + (2,) * n)
        axis = n - q
        state = np.moveaxis(np.tensordot(confusion, state, axes=([1], [axis])), 0, axis)
        noisy = state.reshape(probs.shape)
    return noisy


def test_calibration_recovers_flip_rates_and_inverts_them() -> None:
    e0, e1 = np.array([0.02, 0.10, 0.05]), np.array([0.04, 0.03, 0.12])
    zero, one = np.zeros((1, 8)), np.zeros((1, 8))
    zero[0, 0], one[0, 7] = 1.0, 1.0
    calibration = calibration_from_probs(_confuse(zero, e0, e1)[0], _confuse(one, e0, e1)[0])
    np.testing.assert_allclose(calibration.e0, e0, atol=1e-12)
    np.testing.assert_allclose(calibration.e1, e1, atol=1e-12)
    true = np.random.default_rng(0).dirichlet(np.ones(8), size=5)
    np.testing.assert_allclose(calibration.apply(_confuse(true, e0, e1)), true, atol=1e-12)


def test_raw_and_mitigated_side_by_side() -> None:
    calibration = ReadoutCalibration(e0=np.array([0.1]), e1=np.array([0.2]))
    readout = Readout("z", [SparsePauliOp("Z")], 1)
    table = readout.from_probs(np.eye(2))  # (2, 1): +1 for |0>, -1 for |1>
    result = raw_and_mitigated(np.array([[0.9, 0.1]]), calibration, table)
    np.testing.assert_allclose(result["raw"], [[0.8]])
    np.testing.assert_allclose(result["mitigated"], [[1.0]], atol=1e-12)


def test_noisy_device_differs_and_mitigation_moves_back(z_spec: CircuitSpec,
                                                        angles: np.ndarray) -> None:
    x = torch.tensor(angles, dtype=torch.float64)
    exact = reference(z_spec.circuit, angles, "z", list(z_spec.observables))
    raw = make_runner(z_spec, backend="aer", shots=8000, noise="FakeManilaV2", seed=5)(x).numpy()
    mitigated = make_runner(z_spec, backend="aer", shots=8000, noise="FakeManilaV2", seed=5,
                            mitigate=True)(x).numpy()
    raw_error = np.abs(raw - exact).mean()
    mitigated_error = np.abs(mitigated - exact).mean()
    assert np.abs(raw - exact).max() > 0.08  # visibly noisy
    assert mitigated_error < 0.8 * raw_error
