"""Circuit export: OpenQASM 3 and QPY round trips, and the stats the Circuit page shows."""

from __future__ import annotations

import pytest
import qiskit_qasm3_import  # noqa: F401  (qasm3.loads needs it; it is in the test extra)
from qiskit import QuantumCircuit, qasm3
from qiskit.circuit import ParameterVector

from hqnn_core.circuits.build import build_circuit
from hqnn_core.circuits.export import circuit_stats, from_qpy_bytes, to_qasm3, to_qpy_bytes
from hqnn_core.config import CircuitConfig


@pytest.fixture()
def circuit() -> QuantumCircuit:
    x = ParameterVector("x", 2)
    theta = ParameterVector("θ", 3)
    qc = QuantumCircuit(3)
    qc.ry(x[0], 0)
    qc.ry(x[1], 1)
    qc.barrier()
    qc.rz(theta[0], 0)
    qc.cx(0, 1)
    qc.cz(1, 2)
    qc.rx(theta[1] + theta[2], 2)
    return qc


def test_stats_count_gates_depth_and_parameters(circuit: QuantumCircuit) -> None:
    stats = circuit_stats(circuit)
    assert stats["qubits"] == 3
    assert stats["parameters"] == 5
    assert stats["gate_counts"] == {"ry": 2, "cx": 1, "cz": 1, "rx": 1, "rz": 1}
    assert stats["gates"] == 6
    assert stats["two_qubit_gates"] == 2
    assert stats["depth"] == 5  # ry, rz, cx, cz, rx: the barrier adds nothing


def test_qasm3_parses_back_to_the_same_structure(circuit: QuantumCircuit) -> None:
    text = to_qasm3(circuit)
    assert text.startswith("OPENQASM 3")
    loaded = qasm3.loads(text)
    assert loaded.num_qubits == circuit.num_qubits
    assert loaded.num_parameters == circuit.num_parameters
    assert circuit_stats(loaded)["gate_counts"] == circuit_stats(circuit)["gate_counts"]


def test_qpy_round_trips_to_an_equal_circuit(circuit: QuantumCircuit) -> None:
    data = to_qpy_bytes(circuit)
    assert isinstance(data, bytes) and data
    assert from_qpy_bytes(data) == circuit


def test_stats_of_the_built_default_circuit() -> None:
    built = build_circuit(CircuitConfig(n_qubits=3, layers=1, entanglement="linear"))
    stats = circuit_stats(built.circuit)
    assert stats["qubits"] == 3
    assert stats["parameters"] == built.circuit.num_parameters
    assert stats["two_qubit_gates"] >= 2


def test_png_drawing(circuit: QuantumCircuit) -> None:
    from hqnn_core.circuits.export import to_png

    assert to_png(circuit).startswith(b"\x89PNG")


@pytest.mark.parametrize("cfg", [CircuitConfig(n_qubits=n, encoding="amplitude", layers=2)
                                 for n in (3, 5)] + [
    CircuitConfig(n_qubits=5, encoding="iqp", layers=2, reupload=True),
    CircuitConfig(n_qubits=4, encoding="dense_angle", layers=3)])
def test_symbolic_terms_counts_the_decomposed_circuits_terms(cfg: CircuitConfig) -> None:
    """The size limit's measure against the parameters in every decomposed gate angle."""
    from hqnn_core.circuits.export import symbolic_terms

    circuit = build_circuit(cfg).circuit.decompose(gates_to_decompose=["amplitude_encoding"])
    terms = sum(len(p.parameters) for inst in circuit.data for p in inst.operation.params
                if hasattr(p, "parameters"))
    assert terms <= symbolic_terms(cfg) <= 2 * terms


def test_the_heavy_limits_refuse_in_one_sentence() -> None:
    from hqnn_core.circuits.export import build_refusal, heavy_work_refusal

    assert heavy_work_refusal(CircuitConfig(n_qubits=8, encoding="amplitude")) is None
    text = heavy_work_refusal(CircuitConfig(n_qubits=9, encoding="amplitude"))
    assert text and "\n" not in text and "30,000" in text
    assert build_refusal(CircuitConfig(n_qubits=16, encoding="amplitude")) is None
    assert "70,000" in build_refusal(CircuitConfig(n_qubits=17, encoding="amplitude"))
