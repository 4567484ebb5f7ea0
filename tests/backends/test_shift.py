"""Parameter-shift gradients against finite differences of the Statevector reference."""

from __future__ import annotations

import numpy as np
import torch

from hqnn_core.backends import CircuitSpec, make_runner
from hqnn_core.backends.shift import shifted_angles, values_and_jacobian

from backend_refs import reference


def test_shifted_angles_layout() -> None:
    angles = np.array([[0.1, 0.2]])
    stacked = shifted_angles(angles)
    assert stacked.shape == (1, 5, 2)
    np.testing.assert_allclose(stacked[0, 0], [0.1, 0.2])
    np.testing.assert_allclose(stacked[0, 2], [0.1, 0.2 + np.pi / 2])
    np.testing.assert_allclose(stacked[0, 3], [0.1 - np.pi / 2, 0.2])


def test_one_backend_call_per_gradient_batch(z_spec: CircuitSpec, angles: np.ndarray) -> None:
    calls: list[int] = []

    def evaluate(values: np.ndarray) -> np.ndarray:
        calls.append(values.shape[0])
        return np.sin(values[:, :2])

    out, jac = values_and_jacobian(evaluate, angles)
    assert calls == [angles.shape[0] * (2 * angles.shape[1] + 1)]
    np.testing.assert_allclose(jac[:, 0, 0], np.cos(angles[:, 0]), atol=1e-12)


def test_parameter_shift_matches_finite_differences(z_spec: CircuitSpec,
                                                    angles: np.ndarray) -> None:
    runner = make_runner(z_spec, backend="aer", shots=None)
    x = torch.tensor(angles, dtype=torch.float64, requires_grad=True)
    upstream = torch.tensor(np.random.default_rng(1).normal(size=(4, 3)))
    (runner(x) * upstream).sum().backward()

    def loss(a: np.ndarray) -> float:
        return float((reference(z_spec.circuit, a, "z", list(z_spec.observables))
                      * upstream.numpy()).sum())

    h = 1e-5
    numeric = np.zeros_like(angles)
    for idx in np.ndindex(*angles.shape):
        plus, minus = angles.copy(), angles.copy()
        plus[idx] += h
        minus[idx] -= h
        numeric[idx] = (loss(plus) - loss(minus)) / (2 * h)
    np.testing.assert_allclose(x.grad.numpy(), numeric, atol=1e-7)


def test_no_gradient_runs_only_the_batch(z_spec: CircuitSpec, angles: np.ndarray) -> None:
    runner = make_runner(z_spec, backend="aer")
    seen: list[int] = []
    inner = runner.executor

    def counting(values: np.ndarray) -> np.ndarray:
        seen.append(values.shape[0])
        return inner(values)

    runner.executor = counting
    with torch.no_grad():
        runner(torch.tensor(angles))
    assert seen == [angles.shape[0]]
