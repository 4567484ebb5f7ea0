"""The quantum state after each step of a circuit: encoding, then each ansatz layer.

The steps are the prefixes of the layer's own Qiskit circuit at the boundaries that
``build_circuit`` records (``BuiltCircuit.steps``); each prefix is compiled by the engine
and run with the layer's trained weights, so every state shown is the engine's own.
Qubit order is Qiskit's little-endian order (qubit 0 is bit 0 of a basis-state index).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from qiskit.circuit import QuantumCircuit

from hqnn_core.circuits.build import build_circuit
from hqnn_core.errors import ConfigError, ShapeError

MAX_STEP_QUBITS = 12


@dataclass(frozen=True)
class StepState:
    """The state after one step: its label, amplitudes and per-qubit summaries."""

    label: str
    state: np.ndarray  # (2**n,) complex128
    bloch: np.ndarray  # (n, 3): (<X>, <Y>, <Z>) per qubit
    purity: np.ndarray  # (n,): Tr(rho_q^2) per qubit, 1 = not entangled with the rest

    @property
    def probabilities(self) -> np.ndarray:
        """Basis-state probabilities ``(2**n,)``."""
        return np.abs(self.state) ** 2

    @property
    def entanglement(self) -> float:
        """Meyer-Wallach ``Q = 2 (1 - mean purity)`` in [0, 1]: 0 for a product state."""
        return float(np.clip(2.0 * (1.0 - self.purity.mean()), 0.0, 1.0))


def _as_states(states: Any) -> tuple[np.ndarray, int]:
    psi = np.asarray(states.detach().cpu().numpy() if hasattr(states, "detach") else states)
    psi = psi.astype(np.complex128)
    if psi.ndim == 1:
        psi = psi[None]
    n = int(round(math.log2(psi.shape[-1]))) if psi.shape[-1] else 0
    if psi.ndim != 2 or psi.shape[-1] != 2**n or n < 1:
        raise ShapeError(f"Statevectors need 2**n amplitudes per row, got {psi.shape}.")
    return psi / np.linalg.norm(psi, axis=1, keepdims=True), n


def reduced_density_matrices(states: Any) -> np.ndarray:
    """One-qubit reduced density matrices ``(B, n, 2, 2)`` of pure states ``(B, 2**n)``.

    A single state ``(2**n,)`` gives ``(1, n, 2, 2)``.
    """
    psi, n = _as_states(states)
    tensor = psi.reshape((len(psi),) + (2,) * n)  # axes: batch, qubit n-1, ..., qubit 0
    out = np.empty((len(psi), n, 2, 2), dtype=np.complex128)
    for q in range(n):
        a = np.moveaxis(tensor, n - q, 1).reshape(len(psi), 2, -1)  # (B, 2, 2**(n-1))
        out[:, q] = a @ a.conj().transpose(0, 2, 1)
    return out


def purities(states: Any) -> np.ndarray:
    """Per-qubit purity ``Tr(rho_q^2)`` ``(B, n)``: 1 for a qubit in a product state, 1/2 at
    most entangled."""
    rho = reduced_density_matrices(states)
    return np.einsum("bqij,bqji->bq", rho, rho).real


def bloch_from_rho(rho: np.ndarray) -> np.ndarray:
    """Bloch vectors ``(..., 3)`` of one-qubit density matrices ``(..., 2, 2)``."""
    off = rho[..., 0, 1]
    return np.stack([2 * off.real, -2 * off.imag, (rho[..., 0, 0] - rho[..., 1, 1]).real], -1)


def step_prefixes(layer: Any) -> list[tuple[str, QuantumCircuit]]:
    """``(label, prefix circuit)`` for the encoding and each ansatz layer of ``layer``."""
    if getattr(layer, "config", None) is None:
        raise ConfigError("Step-by-step states need a layer built from a CircuitConfig.")
    circuit = layer.circuit  # built by build_circuit(layer.config): the same structure
    out = []
    for label, end in build_circuit(layer.config).steps:
        prefix = circuit.copy_empty_like()
        for instruction in circuit.data[:end]:
            prefix.append(instruction)
        out.append((label, prefix))
    return out


@torch.no_grad()
def step_states(layer: Any, features: torch.Tensor) -> list[StepState]:
    """The state after the encoding and after each ansatz layer, for one input.

    ``layer`` is a ``QuantumLayer`` built from a ``CircuitConfig``; ``features`` are what
    its input takes ``(n_features,)`` (e.g. ``model.encode(image)[0]``). The last state equals
    ``layer.statevector(features)``.
    """
    from hqnn_core.learning.layer import QuantumLayer

    if layer.n_qubits > MAX_STEP_QUBITS:
        raise ConfigError(f"Step-by-step states are shown for up to {MAX_STEP_QUBITS} qubits; "
                          f"this circuit has {layer.n_qubits}.")
    x = torch.as_tensor(features, dtype=torch.float64).reshape(1, -1)
    if x.shape[1] != layer.n_features:
        raise ShapeError(f"The layer takes {layer.n_features} features, got {x.shape[1]}.")
    values = layer.input_values(x)
    weights = layer.weights.detach().to(torch.float64)
    steps = []
    for label, prefix in step_prefixes(layer):
        engine = QuantumLayer.from_circuit(prefix, layer.input_parameters,
                                           layer.weight_parameters, dtype=torch.float64)
        engine.weights.copy_(weights)
        state = engine.statevector(values)[0].cpu().numpy().astype(np.complex128)
        rho = reduced_density_matrices(state)[0]
        steps.append(StepState(label=label, state=state, bloch=bloch_from_rho(rho),
                               purity=np.einsum("qij,qji->q", rho, rho).real))
    return steps


@torch.no_grad()
def model_steps(model: Any, model_input: torch.Tensor) -> list[StepState]:
    """``step_states`` of a classifier's quantum layer for one prepared image ``(C, H, W)``.

    Raises ``ConfigError`` for a classical model (it has no circuit).
    """
    layer = getattr(model, "quantum_layer", None)
    if layer is None:
        raise ConfigError("This is a classical model: it has no circuit to step through.")
    return step_states(layer, model.encode(model_input.unsqueeze(0))[0])
