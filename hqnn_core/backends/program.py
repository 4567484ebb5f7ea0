"""What a backend needs from a layer, and the circuit prepared once for a target device."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import numpy as np
from qiskit import ClassicalRegister, QuantumCircuit
from qiskit.circuit import Gate
from qiskit.circuit.library import (PhaseGate, RXGate, RXXGate, RYGate, RYYGate, RZGate,
                                    RZXGate, RZZGate)
from qiskit.quantum_info import SparsePauliOp

from hqnn_core.errors import ConfigError

logger = logging.getLogger(__name__)

# The one list of gates the parameter-shift rule handles exactly: each is exp(-i φ P / 2)
# (up to a global phase for p) with a Pauli generator P, so shifts of ±π/2 give the gradient.
SHIFT_RULE_GATES: dict[str, type[Gate]] = {
    "rx": RXGate, "ry": RYGate, "rz": RZGate, "p": PhaseGate,
    "rzz": RZZGate, "rxx": RXXGate, "ryy": RYYGate, "rzx": RZXGate,
}


@dataclass(frozen=True)
class CircuitSpec:
    """A layer as the backends see it: its gate-angle circuit and its readout."""

    circuit: QuantumCircuit  # parameters φ[0..G-1], one per parameterized gate, no measurements
    n_qubits: int
    measurement: str  # "z" | "zz" | "probs"
    observables: tuple[SparsePauliOp, ...]

    @property
    def n_angles(self) -> int:
        """Number of gate angles G."""
        return self.circuit.num_parameters

    @property
    def n_outputs(self) -> int:
        """Number of outputs of the readout."""
        return 2**self.n_qubits if self.measurement == "probs" else len(self.observables)

    @classmethod
    def from_layer(cls, layer: Any) -> "CircuitSpec":
        """Read the contract attributes of a ``QuantumLayer``."""
        return cls.build(layer.gate_angle_circuit, measurement=layer.measurement,
                         observables=list(layer.observables))

    @classmethod
    def build(cls, circuit: QuantumCircuit, *, measurement: str,
              observables: list[SparsePauliOp]) -> "CircuitSpec":
        """Validate a gate-angle circuit (only two-term-shift gates, φ[g] each used once)."""
        used: list[int] = []
        for inst in circuit.data:
            params = [p for p in inst.operation.params if hasattr(p, "parameters") and p.parameters]
            if not params:
                continue
            if inst.operation.name not in SHIFT_RULE_GATES:
                raise ConfigError(
                    f"Gate {inst.operation.name!r} is parameterized but parameter shift supports "
                    f"only {', '.join(sorted(SHIFT_RULE_GATES))}."
                )
            for expr in params:
                if len(expr.parameters) != 1 or expr != next(iter(expr.parameters)):
                    raise ConfigError("Every gate angle must be one plain parameter φ[g].")
                used.append(next(iter(expr.parameters)).index)
        if sorted(used) != list(range(circuit.num_parameters)):
            raise ConfigError("Each gate-angle parameter φ[g] must appear in exactly one gate.")
        return cls(circuit=circuit, n_qubits=circuit.num_qubits, measurement=measurement,
                   observables=tuple(observables))


@dataclass(frozen=True)
class PreparedCircuit:
    """The spec's circuit ready to run: maybe transpiled, with its parameter order and layout."""

    circuit: QuantumCircuit  # logical, unmeasured (for exact simulation)
    measured: QuantumCircuit  # logical qubit i measured into classical bit i (ISA if transpiled)
    physical: tuple[int, ...]  # physical qubit of logical qubit i in ``measured``
    depth: int
    two_qubit_count: int

    def bind_values(self, angles: np.ndarray, circuit: QuantumCircuit) -> np.ndarray:
        """``(M, G)`` gate angles -> ``(M, P)`` values in ``circuit.parameters`` order."""
        order = np.asarray([p.index for p in circuit.parameters], dtype=np.int64)
        return angles[:, order]


def prepare(spec: CircuitSpec, backend: Any | None = None, *, seed: int = 0,
            optimization_level: int = 1) -> PreparedCircuit:
    """Add measurements and transpile once for ``backend`` (preset pass manager), if given."""
    measured = spec.circuit.copy()
    measured.add_register(ClassicalRegister(spec.n_qubits, "meas"))
    measured.measure(range(spec.n_qubits), range(spec.n_qubits))
    if backend is None:
        two_qubit = sum(1 for inst in spec.circuit.data if inst.operation.num_qubits == 2)
        return PreparedCircuit(circuit=spec.circuit, measured=measured,
                               physical=tuple(range(spec.n_qubits)),
                               depth=spec.circuit.depth(), two_qubit_count=two_qubit)
    from hqnn_core.backends.devices import transpile_for_backend

    result = transpile_for_backend(measured, backend, seed=seed,
                                   optimization_level=optimization_level)
    logger.info("Transpiled for %s: depth %d, %d two-qubit gates, layout %s",
                getattr(backend, "name", backend), result.depth, result.two_qubit_count,
                result.layout)
    return PreparedCircuit(circuit=spec.circuit, measured=result.circuit,
                           physical=tuple(result.layout), depth=result.depth,
                           two_qubit_count=result.two_qubit_count)
