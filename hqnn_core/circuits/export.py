"""Export a circuit (OpenQASM 3, QPY), count what is in it, and say when it is too big.

Exporting or transpiling walks every term of every gate angle once the circuit is
decomposed. Amplitude encoding has about ``4**n / 3`` such terms (each RY of a uniformly
controlled rotation mixes all the angles of its level): 0.8 s of QPY at 8 qubits, 83 s at
10, minutes at 12, holding the interpreter. ``heavy_work_refusal`` names the limit
(``MAX_HEAVY_TERMS``) before anything is built, so no page ever starts such work.
"""

from __future__ import annotations

import io
from collections import Counter
from functools import lru_cache
from typing import Any

from qiskit import qasm3, qpy
from qiskit.circuit import QuantumCircuit

from hqnn_core.circuits.ansatz import n_weight_parameters
from hqnn_core.circuits.encodings import n_input_parameters
from hqnn_core.config import CircuitConfig

_NON_GATES = frozenset({"barrier", "measure", "reset", "delay", "snapshot"})
MAX_HEAVY_TERMS = 30_000  # amplitude encoding up to 8 qubits; every other encoding at 20
MAX_BUILT_PARAMETERS = 70_000  # amplitude encoding up to 16 qubits (0.5 s; 20 qubits: 21 s)


def symbolic_terms(cfg: CircuitConfig) -> int:
    """About how many parameter terms the decomposed circuit's gate angles hold."""
    if cfg.encoding == "amplitude":
        encoding = (4**cfg.n_qubits - 1) // 3
    else:
        pairs = cfg.n_qubits * (cfg.n_qubits - 1) // 2 if cfg.encoding == "iqp" else 0
        encoding = (n_input_parameters(cfg) + 2 * pairs) * (cfg.layers if cfg.reupload else 1)
    return encoding + n_weight_parameters(cfg)


def heavy_work_refusal(cfg: CircuitConfig) -> str | None:
    """One sentence when ``cfg`` is too big to export or transpile interactively, else None."""
    terms = symbolic_terms(cfg)
    if terms <= MAX_HEAVY_TERMS:
        return None
    return (f"This circuit's gate angles hold about {terms:,} symbolic terms, more than the "
            f"{MAX_HEAVY_TERMS:,} the studio exports or transpiles while you wait (amplitude "
            "encoding: 8 qubits at most), so the downloads and the device view are off.")


def build_refusal(cfg: CircuitConfig) -> str | None:
    """One sentence when even building ``cfg``'s circuit would take long, else None."""
    count = n_input_parameters(cfg) + n_weight_parameters(cfg)
    if count <= MAX_BUILT_PARAMETERS:
        return None
    return (f"This circuit has {count:,} parameters, more than the {MAX_BUILT_PARAMETERS:,} "
            "the studio builds while you wait (amplitude encoding: 16 qubits at most), so it "
            "is neither counted nor drawn.")


@lru_cache(maxsize=16)
def export_circuit(cfg: CircuitConfig, fmt: str) -> str | bytes:
    """The circuit of ``cfg`` as OpenQASM 3 (``fmt="qasm3"``) or QPY bytes (``"qpy"``)."""
    from hqnn_core.circuits.build import build_circuit

    circuit = build_circuit(cfg).circuit
    return to_qasm3(circuit) if fmt == "qasm3" else to_qpy_bytes(circuit)


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
