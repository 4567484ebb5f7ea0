"""How both simulators lay out single-qubit layers: Kronecker blocks of qubits, and the
uniform rotation sequence that lets a layer's matrices be built for all qubits at once."""

from __future__ import annotations

from typing import Sequence

from hqnn_core.simulator.compile import LocalStep

GROUP_QUBITS = 4  # a single-qubit layer acts as Kronecker blocks of at most this many qubits


def qubit_groups(n_qubits: int, max_size: int = GROUP_QUBITS) -> list[tuple[int, int]]:
    """(low qubit, size) blocks of at most ``max_size`` qubits, sizes as even as possible
    (9 qubits: 3 + 3 + 3, which costs less than 4 + 4 + 1 in 2**size x 2**size products)."""
    count = -(-n_qubits // max(1, max_size))
    sizes = [n_qubits // count + (g < n_qubits % count) for g in range(count)]
    return [(sum(sizes[:g]), size) for g, size in enumerate(sizes)]


def uniform_sequence(steps: Sequence[LocalStep], n_qubits: int) -> tuple[str, ...] | None:
    """The gate names that every qubit of every step runs, if that is one non-empty sequence
    of parameterized rotations (no constant gates); else None."""
    sequences = {tuple(g.name if g.row is not None else None for g in step.gates.get(q, []))
                 for step in steps for q in range(n_qubits)}
    if len(sequences) != 1:
        return None
    sequence = next(iter(sequences))
    return sequence if sequence and None not in sequence else None  # type: ignore[return-value]
