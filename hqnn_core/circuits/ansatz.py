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


def entangler_pairs(cfg: CircuitConfig, layer: int) -> list[tuple[int, int]]:
    """The (control, target) CNOTs of layer ``layer`` (0-based), in circuit order."""
    n = cfg.n_qubits
    if cfg.ansatz == "strongly_entangling":
        if n < 2:
            return []
        reach = layer % (n - 1) + 1  # CNOT range grows with the layer, as in PennyLane
        return [(q, (q + reach) % n) for q in range(n)]
    return list(entangled_pairs(n, cfg.entanglement))


def append_entangler(qc: QuantumCircuit, cfg: CircuitConfig, layer: int) -> None:
    """Append the CNOTs of layer ``layer`` (0-based)."""
    for control, target in entangler_pairs(cfg, layer):
        qc.cx(control, target)


def is_mirror_layer(cfg: CircuitConfig, layer: int) -> bool:
    """Whether layer ``layer`` is the inverse of the one before it (``init`` identity_blocks)."""
    return cfg.init == "identity_blocks" and layer % 2 == 1


def append_inverse_layer(qc: QuantumCircuit, cfg: CircuitConfig, weights, offset: int,
                         layer: int) -> int:
    """Append the mirror image of layer ``layer - 1``: its CNOTs in reverse order, then its
    rotations in reverse order on each qubit, with their own weights (offset returned)."""
    for control, target in reversed(entangler_pairs(cfg, layer - 1)):
        qc.cx(control, target)
    rotations, _ = _ROTATIONS[cfg.ansatz]
    for q in range(cfg.n_qubits):
        for gate in reversed(rotations):
            getattr(qc, gate)(weights[offset], q)
            offset += 1
    return offset


def identity_init(cfg: CircuitConfig) -> tuple[dict[int, int], list[int]]:
    """For ``init`` identity_blocks (Grant et al. 2019): ``mirror`` maps each weight of an
    inverse layer to the weight it undoes (start at minus its value) and ``zeros`` lists the
    final rotations (start at 0), so the initial ansatz is the identity; others are free."""
    if cfg.init != "identity_blocks":
        return {}, []
    rotations, final = _ROTATIONS[cfg.ansatz]
    per_layer = len(rotations) * cfg.n_qubits
    mirror: dict[int, int] = {}
    for layer in range(1, cfg.layers, 2):
        offset, partner = layer * per_layer, (layer - 1) * per_layer
        for q in range(cfg.n_qubits):
            for g in reversed(range(len(rotations))):
                mirror[offset] = partner + q * len(rotations) + g
                offset += 1
    zeros = list(range(cfg.layers * per_layer, n_weight_parameters(cfg))) if final else []
    return mirror, zeros


def has_final_rotations(cfg: CircuitConfig) -> bool:
    """Whether the ansatz ends with an extra rotation layer (RealAmplitudes, EfficientSU2)."""
    return _ROTATIONS[cfg.ansatz][1]
