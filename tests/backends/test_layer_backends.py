"""The same QuantumLayer on the exact engine and on Aer (values and parameter-shift grads)."""

from __future__ import annotations

import pytest
import torch

from hqnn_core.config import CircuitConfig
from hqnn_core.learning.layer import QuantumLayer

CASES = [
    CircuitConfig(n_qubits=3, encoding="angle", ansatz="hardware_efficient", layers=2,
                  measurement="z"),
    CircuitConfig(n_qubits=3, encoding="dense_angle", ansatz="strongly_entangling", layers=1,
                  measurement="zz", entanglement="circular"),
    CircuitConfig(n_qubits=2, encoding="amplitude", ansatz="real_amplitudes", layers=1,
                  measurement="probs"),
    CircuitConfig(n_qubits=3, encoding="iqp", ansatz="efficient_su2", layers=1, measurement="z",
                  reupload=True),
]


def _pair(cfg: CircuitConfig, **aer: object) -> tuple[QuantumLayer, QuantumLayer]:
    exact = QuantumLayer(cfg, dtype=torch.float64, seed=3)
    other = QuantumLayer(cfg, backend="aer", dtype=torch.float64, seed=3, **aer)
    other.load_state_dict(exact.state_dict())
    return exact, other


def _inputs(cfg: CircuitConfig, batch: int = 3) -> torch.Tensor:
    x = torch.rand(batch, cfg.n_features, generator=torch.Generator().manual_seed(1),
                   dtype=torch.float64)
    return x + 0.1 if cfg.encoding == "amplitude" else x * 3.0


@pytest.mark.parametrize("cfg", CASES, ids=lambda c: f"{c.encoding}-{c.measurement}")
def test_aer_exact_equals_engine_and_gradients_match(cfg: CircuitConfig) -> None:
    exact, aer = _pair(cfg)
    x_exact = _inputs(cfg).requires_grad_(True)
    x_aer = _inputs(cfg).requires_grad_(True)
    out_exact, out_aer = exact(x_exact), aer(x_aer)
    torch.testing.assert_close(out_aer, out_exact, atol=1e-9, rtol=0)
    upstream = torch.randn(out_exact.shape, generator=torch.Generator().manual_seed(2),
                           dtype=torch.float64)
    (out_exact * upstream).sum().backward()
    (out_aer * upstream).sum().backward()
    torch.testing.assert_close(aer.weights.grad, exact.weights.grad, atol=1e-9, rtol=0)
    torch.testing.assert_close(x_aer.grad, x_exact.grad, atol=1e-9, rtol=0)


def test_aer_shots_on_layer_close_to_exact() -> None:
    cfg = CASES[0]
    exact, aer = _pair(cfg, shots=20_000)
    x = _inputs(cfg, batch=4)
    with torch.no_grad():
        diff = (aer(x) - exact(x)).abs().max().item()
    assert 0 < diff < 0.04


def test_float32_layer_on_aer_keeps_dtype() -> None:
    layer = QuantumLayer(CASES[0], backend="aer", shots=100, seed=0)
    out = layer(torch.rand(2, 3))
    assert out.dtype == torch.float32 and out.shape == (2, 3)


def test_noisy_layer_runs_end_to_end() -> None:
    cfg = CASES[0]
    exact, noisy = _pair(cfg, shots=4000, noise="FakeManilaV2")
    x = _inputs(cfg, batch=2)
    with torch.no_grad():
        assert (noisy(x) - exact(x)).abs().max().item() > 0.03


def test_status_callback_of_an_ibm_layer() -> None:
    from hqnn_core.backends import set_status_callback

    seen: list[dict] = []
    layer = QuantumLayer(CASES[0], backend="ibm", ibm_backend="FakeManilaV2", shots=200, seed=0)
    assert set_status_callback(layer, seen.append)
    assert not set_status_callback(QuantumLayer(CASES[0]), seen.append)
    with torch.no_grad():
        layer(torch.rand(2, 3, generator=torch.Generator().manual_seed(0)))
    assert [s["status"] for s in seen][-1] == "DONE"


def _recording(layer: QuantumLayer) -> list[int]:
    """Record how many parameter sets each backend call of ``layer`` carries."""
    seen: list[int] = []
    inner = layer._runner.executor

    def evaluate(angles):  # type: ignore[no-untyped-def]
        seen.append(angles.shape[0])
        return inner(angles)

    layer._runner.executor = evaluate
    return seen


def test_parameter_shift_shifts_only_angles_that_need_a_gradient() -> None:
    cfg = CASES[0]  # 3 RY encoding angles, then weight angles only
    exact, aer = _pair(cfg)
    seen = _recording(aer)
    n_angles = aer.gate_angle_circuit.num_parameters
    n_weight_angles = n_angles - cfg.n_qubits
    x = _inputs(cfg)  # images: no gradient wanted
    out_aer, out_exact = aer(x), exact(x)
    assert seen == [3 * (2 * n_weight_angles + 1)]
    out_aer.sum().backward()
    out_exact.sum().backward()
    torch.testing.assert_close(aer.weights.grad, exact.weights.grad, atol=1e-9, rtol=0)

    x_aer = _inputs(cfg).requires_grad_(True)  # a front before the layer: shift inputs too
    aer(x_aer).sum().backward()
    assert seen[-1] == 3 * (2 * n_angles + 1)
    aer.weights.requires_grad_(False)  # frozen weights, inputs still learn
    aer(x_aer)
    assert seen[-1] == 3 * (2 * cfg.n_qubits + 1)
    aer(x)  # nothing needs a gradient
    assert seen[-1] == 3
