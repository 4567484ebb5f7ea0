"""A circuit of your own runs on Aer and IBM as it does on the exact engine (RZX included)."""

from __future__ import annotations

import pytest
import torch
from qiskit import QuantumCircuit
from qiskit.circuit import ParameterVector
from qiskit.quantum_info import SparsePauliOp

from hqnn_core.backends.program import SHIFT_RULE_GATES
from hqnn_core.learning.layer import QuantumLayer


def _rzx_circuit() -> tuple[QuantumCircuit, ParameterVector, ParameterVector]:
    x, w = ParameterVector("x", 2), ParameterVector("w", 3)
    qc = QuantumCircuit(2)
    qc.ry(x[0], 0)
    qc.rx(x[1], 1)
    qc.rzx(w[0], 0, 1)
    qc.ry(w[1], 0)
    qc.rzx(w[2] + x[0], 1, 0)
    return qc, x, w


def _layer(backend: str, **options: object) -> QuantumLayer:
    qc, x, w = _rzx_circuit()
    layer = QuantumLayer.from_circuit(qc, x, w, [SparsePauliOp("IZ"), SparsePauliOp("ZZ")],
                                      backend=backend, dtype=torch.float64, seed=4, **options)
    with torch.no_grad():
        layer.weights.copy_(torch.tensor([0.7, -1.1, 0.4], dtype=torch.float64))
    return layer


def test_rzx_is_a_shift_rule_gate_of_the_gate_angle_circuit() -> None:
    names = {inst.operation.name for inst in _layer("exact").gate_angle_circuit.data}
    assert "rzx" in names and names <= set(SHIFT_RULE_GATES) | {"cx"}


def test_rzx_circuit_on_noiseless_aer_matches_the_engine_with_gradients() -> None:
    exact, aer = _layer("exact"), _layer("aer")
    x_exact = torch.tensor([[0.3, 1.2], [-0.8, 2.0]], dtype=torch.float64, requires_grad=True)
    x_aer = x_exact.detach().clone().requires_grad_(True)
    out_exact, out_aer = exact(x_exact), aer(x_aer)
    torch.testing.assert_close(out_aer, out_exact, atol=1e-9, rtol=0)
    out_exact.sum().backward()
    out_aer.sum().backward()
    torch.testing.assert_close(aer.weights.grad, exact.weights.grad, atol=1e-9, rtol=0)
    torch.testing.assert_close(x_aer.grad, x_exact.grad, atol=1e-9, rtol=0)


def test_rzx_circuit_runs_on_a_fake_ibm_device() -> None:
    exact, ibm = _layer("exact"), _layer("ibm", ibm_backend="FakeManilaV2", shots=8000)
    x = torch.tensor([[0.3, 1.2]], dtype=torch.float64)
    with torch.no_grad():
        assert (ibm(x) - exact(x)).abs().max().item() == pytest.approx(0.0, abs=0.15)
