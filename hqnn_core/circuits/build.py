"""Build the one parameterized ``QuantumCircuit`` that everything else runs or draws."""

from __future__ import annotations

from dataclasses import dataclass

from qiskit.circuit import ParameterVector, QuantumCircuit
from qiskit.quantum_info import SparsePauliOp

from hqnn_core.circuits import ansatz, encodings, measurement
from hqnn_core.config import CircuitConfig
from hqnn_core.errors import ConfigError


@dataclass(frozen=True)
class BuiltCircuit:
    """The circuit with its input and weight parameters and its readout observables."""

    config: CircuitConfig
    circuit: QuantumCircuit
    inputs: ParameterVector
    weights: ParameterVector
    observables: list[SparsePauliOp]
    n_outputs: int
    steps: tuple[tuple[str, int], ...] = ()  # (label, len(circuit.data) after that step)


def build_circuit(cfg: CircuitConfig) -> BuiltCircuit:
    """Encoding, then ``cfg.layers`` ansatz layers (re-encoding before each if
    ``cfg.reupload``; with ``init`` identity_blocks every second layer is the mirror image of
    the one before), then an optional final rotation layer. No measurements: the
    readout is given by ``observables`` (or all probabilities for ``probs``). ``steps``
    names where each of those parts ends in ``circuit.data`` (for step-by-step views)."""
    inputs_name = "α" if cfg.encoding == "amplitude" else "x"
    inputs = ParameterVector(inputs_name, encodings.n_input_parameters(cfg))
    weights = ParameterVector("θ", ansatz.n_weight_parameters(cfg))
    qc = QuantumCircuit(cfg.n_qubits, name=f"hqnn_{cfg.encoding}_{cfg.ansatz}")
    offset = 0
    steps: list[tuple[str, int]] = []
    for layer in range(cfg.layers):
        if layer == 0 or cfg.reupload:
            encodings.append_encoding(qc, cfg, inputs)
            qc.barrier()
            if layer == 0:
                steps.append(("encoding", len(qc.data)))
        label = f"layer {layer + 1}" + (" (re-upload + ansatz)" if layer and cfg.reupload else "")
        if ansatz.is_mirror_layer(cfg, layer):
            offset = ansatz.append_inverse_layer(qc, cfg, weights, offset, layer)
            label += f" (inverse of layer {layer})"
        else:
            offset = ansatz.append_rotation_layer(qc, cfg, weights, offset)
            ansatz.append_entangler(qc, cfg, layer)
        steps.append((label, len(qc.data)))
    if ansatz.has_final_rotations(cfg):
        offset = ansatz.append_rotation_layer(qc, cfg, weights, offset)
        steps.append(("final rotations", len(qc.data)))
    return BuiltCircuit(
        config=cfg,
        circuit=qc,
        inputs=inputs,
        weights=weights,
        observables=measurement.observables(cfg),
        n_outputs=measurement.n_outputs(cfg),
        steps=tuple(steps),
    )


def circuit_part(built: BuiltCircuit, label: str) -> QuantumCircuit:
    """The gates of one step of ``built`` (a label of ``built.steps``) as their own circuit."""
    labels = [name for name, _ in built.steps]
    if label not in labels:
        raise ConfigError(f"The circuit has no step {label!r}; its steps are: "
                          f"{', '.join(labels)}.")
    i = labels.index(label)
    start = built.steps[i - 1][1] if i else 0
    part = built.circuit.copy_empty_like(name=f"{built.circuit.name} · {label}")
    for instruction in built.circuit.data[start:built.steps[i][1]]:
        part.append(instruction)
    return part
