"""Compile a parameterized Qiskit circuit into a short list of fused steps.

The circuit is flattened to known gates (unknown composite gates are expanded through
their Qiskit definitions) and grouped into steps that are cheap to run on a batched
statevector:

- ``LocalStep``: one 2x2 matrix per qubit (consecutive single-qubit gates fused),
  run as Kronecker blocks; the first one, acting on |0...0>, is a closed-form product state;
- ``PermStep``: CNOT/SWAP/Toffoli runs fused into one index permutation;
- ``DiagStep``: CZ/RZZ/CP/CRZ runs fused into one phase vector;
- ``DenseStep``: any other two-qubit gate;
- ``AmplitudeInit``: amplitude encoding at the start, in closed form.

Every step knows whether it depends on the inputs (``batched``) or only on the weights.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
from qiskit.circuit import Parameter, ParameterExpression, QuantumCircuit
from qiskit.quantum_info import Operator

from hqnn_core.errors import ConfigError
from hqnn_core.simulator import gates
from hqnn_core.simulator.expressions import ParsedAngles, parse_angles

_SKIPPED = {"barrier", "delay"}
_MAX_DEFINITION_DEPTH = 12


@dataclass
class FlatOp:
    """One gate on absolute qubit indices; ``params`` are expressions or floats."""

    name: str
    qubits: tuple[int, ...]
    params: list
    matrix: np.ndarray | None = None  # constant gates only
    operation: object = None  # the Qiskit instruction it came from


@dataclass
class LocalGate:
    name: str
    row: int | None = None  # angle row for parameterized rotations
    matrix: np.ndarray | None = None  # constant 2x2 otherwise


@dataclass
class LocalStep:
    gates: dict[int, list[LocalGate]]
    batched: bool


@dataclass
class PermStep:
    perm: np.ndarray


@dataclass
class DiagStep:
    rows: list[int] = field(default_factory=list)
    coefficients: list[np.ndarray] = field(default_factory=list)
    const: np.ndarray | None = None
    batched: bool = False


@dataclass
class DenseStep:
    name: str
    qubits: tuple[int, int]
    row: int | None
    matrix: np.ndarray | None
    batched: bool


@dataclass
class AmplitudeInit:
    rows: list[int]


Step = LocalStep | PermStep | DiagStep | DenseStep | AmplitudeInit


@dataclass
class CompiledCircuit:
    """Steps plus the parsed gate angles they refer to."""

    n_qubits: int
    steps: list[Step]
    angles: ParsedAngles


def _is_symbolic(value: object) -> bool:
    return isinstance(value, ParameterExpression) and len(value.parameters) > 0


def flatten(circuit: QuantumCircuit, *, keep_amplitude: bool = True,
            allowed: set[str] | None = None) -> list[FlatOp]:
    """Known gates on absolute qubits; others expanded through their definitions.

    ``allowed`` restricts which parameterized gates may stay (others are expanded).
    """
    ops: list[FlatOp] = []
    _flatten_into(circuit, list(range(circuit.num_qubits)), ops, keep_amplitude, allowed, 0)
    return ops


def _flatten_into(circuit: QuantumCircuit, mapping: list[int], ops: list[FlatOp],
                  keep_amplitude: bool, allowed: set[str] | None, depth: int) -> None:
    if depth > _MAX_DEFINITION_DEPTH:
        raise ConfigError("The circuit nests gate definitions too deeply to compile.")
    for instruction in circuit.data:
        op = instruction.operation
        name = op.name
        qubits = tuple(mapping[circuit.find_bit(q).index] for q in instruction.qubits)
        if name in _SKIPPED:
            continue
        if name in ("measure", "reset") or instruction.clbits:
            raise ConfigError(
                f"The circuit contains '{name}'; remove measurements and resets — the layer's "
                "readout is given by its observables."
            )
        params = list(op.params)
        symbolic = any(_is_symbolic(p) for p in params)
        if name == "amplitude_encoding" and keep_amplitude and not ops and \
                qubits == tuple(range(len(qubits))):
            ops.append(FlatOp(name, qubits, params, operation=op))
            continue
        if not symbolic and len(qubits) <= 3 and name != "amplitude_encoding":
            ops.append(FlatOp(name, qubits, [], _constant_matrix(op, name), op))
            continue
        known = name in gates.ROTATIONS or name in gates.DIAGONAL_2Q or name in gates.DENSE_2Q
        if known and (allowed is None or name in allowed):
            ops.append(FlatOp(name, qubits, params, operation=op))
            continue
        definition = op.definition
        if definition is None:
            raise ConfigError(
                f"Gate '{name}' is not supported by the exact engine and has no definition; "
                "decompose the circuit into standard gates first."
            )
        _flatten_into(definition, list(qubits), ops, keep_amplitude, allowed, depth + 1)


def _constant_matrix(op: object, name: str) -> np.ndarray:
    try:
        return Operator(op).data
    except Exception as exc:  # qiskit raises several types for non-unitary instructions
        raise ConfigError(f"Gate '{name}' has no unitary matrix the engine can use.") from exc


def compile_circuit(circuit: QuantumCircuit, inputs: Sequence[Parameter],
                    weights: Sequence[Parameter]) -> CompiledCircuit:
    """Compile ``circuit`` into fused steps over the given input and weight parameters."""
    n = circuit.num_qubits
    ops = flatten(circuit)
    expressions: list[object] = []
    for op in ops:
        if op.matrix is None:
            expressions.extend(op.params)
    parsed = parse_angles(expressions, inputs, weights)
    batched_rows = parsed.depends_on_inputs
    builder = _StepBuilder(n, batched_rows)
    row = 0
    for op in ops:
        n_params = 0 if op.matrix is not None else len(op.params)
        builder.add(op, row)
        row += n_params
    return CompiledCircuit(n, builder.finish(), parsed)


class _StepBuilder:
    """Groups flat ops into fused steps, in circuit order."""

    def __init__(self, n_qubits: int, batched_rows: np.ndarray) -> None:
        self.n = n_qubits
        self.batched_rows = batched_rows
        self.steps: list[Step] = []
        self.pending: dict[int, list[LocalGate]] = {}
        self.pending_batched = False

    def add(self, op: FlatOp, row: int) -> None:
        if op.name == "amplitude_encoding":
            self.steps.append(AmplitudeInit(list(range(row, row + len(op.params)))))
            return
        if len(op.qubits) == 1:
            q = op.qubits[0]
            if op.matrix is not None:
                gate = LocalGate(op.name, matrix=op.matrix)
            else:
                gate = LocalGate(op.name, row=row)
                self.pending_batched |= bool(self.batched_rows[row])
            self.pending.setdefault(q, []).append(gate)
            return
        if any(q in self.pending for q in op.qubits):
            self._flush()
        if op.matrix is not None and op.name in gates.PERMUTATIONS:
            self._add_perm(gates.permutation_of(op.name, op.qubits, self.n))
        elif op.matrix is not None and _is_diagonal(op.matrix):
            phase = np.zeros(2**self.n)
            diag_phase = np.angle(np.diag(op.matrix))
            local = sum(gates.bits_of(q, self.n) << k for k, q in enumerate(op.qubits))
            phase += diag_phase[local]
            self._add_diag(DiagStep(const=phase))
        elif op.matrix is not None:
            if len(op.qubits) != 2:
                raise ConfigError(f"Constant gate '{op.name}' on {len(op.qubits)} qubits is not "
                                  "supported; decompose it into one- and two-qubit gates.")
            self.steps.append(DenseStep(op.name, op.qubits, None, op.matrix, False))
        elif op.name in gates.DIAGONAL_2Q:
            a, b = (gates.bits_of(q, self.n) for q in op.qubits)
            coefficient = gates.DIAGONAL_2Q[op.name](a, b)
            self._add_diag(DiagStep([row], [coefficient], None, bool(self.batched_rows[row])))
        else:
            self.steps.append(DenseStep(op.name, op.qubits, row, None,
                                        bool(self.batched_rows[row])))

    def _flush(self) -> None:
        if self.pending:
            self.steps.append(LocalStep(self.pending, self.pending_batched))
        self.pending, self.pending_batched = {}, False

    def _add_perm(self, perm: np.ndarray) -> None:
        last = self.steps[-1] if self.steps else None
        if isinstance(last, PermStep):
            last.perm = last.perm[perm]
        else:
            self.steps.append(PermStep(perm))

    def _add_diag(self, step: DiagStep) -> None:
        last = self.steps[-1] if self.steps else None
        if isinstance(last, DiagStep):
            last.rows += step.rows
            last.coefficients += step.coefficients
            if step.const is not None:
                last.const = step.const if last.const is None else last.const + step.const
            last.batched |= step.batched
        else:
            self.steps.append(step)

    def finish(self) -> list[Step]:
        self._flush()
        return self.steps


def _is_diagonal(matrix: np.ndarray) -> bool:
    return bool(np.allclose(matrix, np.diag(np.diag(matrix))))
