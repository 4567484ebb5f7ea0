"""Which qubit pairs an entangling layer couples."""

from __future__ import annotations


def entangled_pairs(n_qubits: int, pattern: str) -> list[tuple[int, int]]:
    """Pairs ``(control, target)`` for ``linear``, ``circular`` or ``full`` entanglement."""
    if n_qubits < 2:
        return []
    if pattern == "linear":
        return [(i, i + 1) for i in range(n_qubits - 1)]
    if pattern == "circular":
        pairs = [(i, i + 1) for i in range(n_qubits - 1)]
        return pairs + [(n_qubits - 1, 0)] if n_qubits > 2 else pairs
    if pattern == "full":
        return [(i, j) for i in range(n_qubits) for j in range(i + 1, n_qubits)]
    raise ValueError(f"unknown entanglement pattern {pattern!r}")
