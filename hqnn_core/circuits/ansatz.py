"""Trainable ansatz layers appended gate by gate (no opaque library blocks)."""

from __future__ import annotations

from qiskit.circuit import QuantumCircuit

from hqnn_core.circuits.entanglement import entangled_pairs
from hqnn_core.config import CircuitConfig

# Trainable rotations per qubit in one layer, and whether a final rotation layer follows.
_ROTATIONS = {
    "hardware_efficient": (("ry", "rz"), False),
    "real_amplitudes": (("ry",), True),
    "efficient_su2": (("ry", "rz"), True),
    "strongly_entangling": (("rz", "ry", "rz"), False),
}


def n_weight_parameters(cfg: CircuitConfig) -> int:
    """How many trainable angles the ansatz has."""
    rotations, final = _ROTATIONS[cfg.ansatz]
    return len(rotations) * cfg.n_qubits * (cfg.layers + int(final))


def append_rotation_layer(qc: QuantumCircuit, cfg: CircuitConfig, weights, offset: int) -> int:
    """Append one rotation layer; return the offset of the next unused weight."""
    rotations, _ = _ROTATIONS[cfg.ansatz]
    for q in range(cfg.n_qubits):
        for gate in rotations:
            getattr(qc, gate)(weights[offset], q)
            offset += 1
    return offset


def append_entangler(qc: QuantumCircuit, cfg: CircuitConfig, layer: int) -> None:
    """Append the CNOTs of layer ``layer`` (0-based)."""
    n = cfg.n_qubits
    if cfg.ansatz == "strongly_entangling":
        if n < 2:
            return
        reach = layer % (n - 1) + 1  # CNOT range grows with the layer, as in PennyLane
        for q in range(n):
            qc.cx(q, (q + reach) % n)
        return
    for control, target in entangled_pairs(n, cfg.entanglement):
        qc.cx(control, target)


def has_final_rotations(cfg: CircuitConfig) -> bool:
    """Whether the ansatz ends with an extra rotation layer (RealAmplitudes, EfficientSU2)."""
    return _ROTATIONS[cfg.ansatz][1]
