"""Readouts: which observables (or probabilities) the layer outputs, in Qiskit's order."""

from __future__ import annotations

from qiskit.quantum_info import SparsePauliOp

from hqnn_core.circuits.entanglement import entangled_pairs
from hqnn_core.config import CircuitConfig


def measured_pairs(cfg: CircuitConfig) -> list[tuple[int, int]]:
    """The qubit pairs whose <Z_i Z_j> the ``zz`` readout reports."""
    if cfg.ansatz == "strongly_entangling" and cfg.entanglement == "circular":
        return entangled_pairs(cfg.n_qubits, "circular")
    return entangled_pairs(cfg.n_qubits, cfg.entanglement)


def observables(cfg: CircuitConfig) -> list[SparsePauliOp]:
    """<Z_i> per qubit for ``z``; those then <Z_i Z_j> per pair for ``zz``; none for ``probs``."""
    n = cfg.n_qubits
    if cfg.measurement == "probs":
        return []
    ops = [SparsePauliOp.from_sparse_list([("Z", [q], 1.0)], num_qubits=n) for q in range(n)]
    if cfg.measurement == "zz":
        ops += [SparsePauliOp.from_sparse_list([("ZZ", [a, b], 1.0)], num_qubits=n)
                for a, b in measured_pairs(cfg)]
    return ops


def n_outputs(cfg: CircuitConfig) -> int:
    """How many numbers the readout gives."""
    if cfg.measurement == "probs":
        return 2**cfg.n_qubits
    return len(observables(cfg))
