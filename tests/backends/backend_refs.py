"""A small hand-made gate-angle circuit and its Statevector reference (test helpers)."""

from __future__ import annotations

import numpy as np
from qiskit import QuantumCircuit
from qiskit.circuit import ParameterVector
from qiskit.quantum_info import SparsePauliOp, Statevector


N_QUBITS = 3


def gate_angle_circuit(n: int = N_QUBITS) -> QuantumCircuit:
    """RY encoding, RX, an RZZ ring and RZ; one φ[g] per gate."""
    phi = ParameterVector("φ", 4 * n)
    circuit = QuantumCircuit(n)
    g = 0
    for gate in ("ry", "rx"):
        for q in range(n):
            getattr(circuit, gate)(phi[g], q)
            g += 1
    for q in range(n):
        circuit.rzz(phi[g], q, (q + 1) % n)
        g += 1
    for q in range(n):
        circuit.rz(phi[g], q)
        g += 1
    circuit.ry(0.3, 0)  # a fixed gate is allowed
    return circuit


def z_observables(n: int = N_QUBITS) -> list[SparsePauliOp]:
    return [SparsePauliOp.from_sparse_list([("Z", [i], 1.0)], n) for i in range(n)]


def zz_observables(n: int = N_QUBITS) -> list[SparsePauliOp]:
    return [SparsePauliOp.from_sparse_list([("ZZ", [i, (i + 1) % n], 1.0)], n) for i in range(n)]


def reference(circuit: QuantumCircuit, angles: np.ndarray, measurement: str,
              observables: list[SparsePauliOp]) -> np.ndarray:
    """Outputs from qiskit.quantum_info.Statevector, one row per angle set."""
    rows = []
    for row in angles:
        state = Statevector(circuit.assign_parameters(row))
        if measurement == "probs":
            rows.append(state.probabilities())
        else:
            rows.append([state.expectation_value(o).real for o in observables])
    return np.asarray(rows)
