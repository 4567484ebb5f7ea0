"""Export a circuit (OpenQASM 3, QPY) and count what is in it."""

from __future__ import annotations

import io
from collections import Counter
from typing import Any

from qiskit import qasm3, qpy
from qiskit.circuit import QuantumCircuit

_NON_GATES = frozenset({"barrier", "measure", "reset", "delay", "snapshot"})


def to_qasm3(circuit: QuantumCircuit) -> str:
    """The circuit as OpenQASM 3 source; free parameters become ``input float`` declarations."""
    return qasm3.dumps(circuit)


def to_qpy_bytes(circuit: QuantumCircuit) -> bytes:
    """The circuit serialised with QPY (Qiskit's binary format; loads back exactly)."""
    buffer = io.BytesIO()
    qpy.dump(circuit, buffer)
    return buffer.getvalue()


def from_qpy_bytes(data: bytes) -> QuantumCircuit:
    """The first circuit stored in QPY ``data``."""
    return qpy.load(io.BytesIO(data))[0]


def circuit_stats(circuit: QuantumCircuit) -> dict[str, Any]:
    """Qubits, depth, parameter count, gate counts by name, and two-qubit gate count.

    Barriers and measurements are not gates: they count in neither ``gates`` nor ``depth``.
    """
    gate_counts: Counter[str] = Counter()
    two_qubit = 0
    for instruction in circuit.data:
        name = instruction.operation.name
        if name in _NON_GATES:
            continue
        gate_counts[name] += 1
        if len(instruction.qubits) == 2:
            two_qubit += 1
    return {
        "qubits": circuit.num_qubits,
        "depth": circuit.depth(lambda inst: inst.operation.name not in _NON_GATES),
        "parameters": circuit.num_parameters,
        "gates": int(sum(gate_counts.values())),
        "gate_counts": dict(sorted(gate_counts.items(), key=lambda kv: (-kv[1], kv[0]))),
        "two_qubit_gates": two_qubit,
    }


def to_png(circuit: QuantumCircuit, *, fold: int = -1, dpi: int = 110,
           idle_wires: bool = True) -> bytes:
    """The circuit drawn by Qiskit's matplotlib drawer, as PNG bytes (no window left open)."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    figure = circuit.draw("mpl", fold=fold, idle_wires=idle_wires)
    buffer = io.BytesIO()
    try:
        figure.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight")
    finally:
        plt.close(figure)
    return buffer.getvalue()
