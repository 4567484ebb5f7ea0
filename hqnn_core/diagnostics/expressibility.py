"""Expressibility and entangling capability (Sim, Johnson & Aspuru-Guzik, 2019).

*Expressibility* compares the distribution of fidelities ``F = |<psi(a)|psi(b)>|^2``
between states of independently drawn parameters with that of Haar-random states,
``P_Haar(F) = (N - 1)(1 - F)^(N - 2)`` for ``N = 2**n``: the KL divergence of the
histogram (75 bins on [0, 1]) from Haar's. Lower is more expressive; an idle circuit
(always the same state) gives ``log(75)`` for ``n = 1``.

*Entangling capability* is the mean Meyer-Wallach measure
``Q = 2 (1 - mean_q Tr(rho_q^2))`` over sampled states: 0 for product states, 1 for GHZ.

For a studio circuit the weights are drawn uniformly in [0, 2 pi) and the input is the
all-zero one (so the encoding is, for most encodings, the identity: Sim et al.'s setting).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
import torch
from qiskit.circuit import Parameter, QuantumCircuit

from hqnn_core.circuits.build import build_circuit
from hqnn_core.config import CircuitConfig
from hqnn_core.diagnostics.sampling import (batch_layer, random_weights,
                                            zero_input_values)
from hqnn_core.diagnostics.states import purities
from hqnn_core.errors import ConfigError

BINS = 75
MAX_QUBITS = 10
MAX_PAIRS = 5000


def haar_fidelity_pdf(f: Any, n_qubits: int) -> np.ndarray:
    """The density of fidelities between Haar-random states: ``(N-1)(1-F)^(N-2)``."""
    dim = 2**n_qubits
    return (dim - 1) * (1.0 - np.asarray(f, dtype=np.float64)) ** (dim - 2)


def haar_bin_probabilities(n_qubits: int, bins: int = BINS) -> np.ndarray:
    """Haar's probability of each of ``bins`` equal fidelity bins on [0, 1] (exact integral)."""
    edges = np.linspace(0.0, 1.0, bins + 1)
    cdf_tail = (1.0 - edges) ** (2**n_qubits - 1)  # P(F > edge)
    return cdf_tail[:-1] - cdf_tail[1:]


def kl_from_haar(fidelities: Any, n_qubits: int, bins: int = BINS) -> float:
    """KL divergence of the fidelity histogram from the Haar distribution (natural log)."""
    f = np.clip(np.asarray(fidelities, dtype=np.float64), 0.0, 1.0)
    counts, _ = np.histogram(f, bins=bins, range=(0.0, 1.0))
    p = counts / max(1, counts.sum())
    q = haar_bin_probabilities(n_qubits, bins)
    keep = p > 0
    return float(np.sum(p[keep] * np.log(p[keep] / np.maximum(q[keep], 1e-300))))


def meyer_wallach(states: Any) -> np.ndarray:
    """Meyer-Wallach ``Q`` of each pure state ``(B, 2**n)`` -> ``(B,)`` in [0, 1]."""
    return 2.0 * (1.0 - purities(states).mean(axis=1))


def pair_fidelities(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``|<a_i|b_i>|^2`` of two batches of states ``(B, 2**n)``."""
    return np.abs(np.einsum("bi,bi->b", a.conj(), b)) ** 2


def sample_states(circuit: QuantumCircuit, parameters: Sequence[Parameter],
                  values: torch.Tensor) -> np.ndarray:
    """States ``(B, 2**n)`` of ``circuit`` with ``parameters`` set to each row of ``values``."""
    layer = batch_layer(circuit, parameters)
    with torch.no_grad():
        return layer.statevector(values).cpu().numpy()


def circuit_expressibility(circuit: QuantumCircuit, parameters: Sequence[Parameter], *,
                           n_pairs: int = 2000, seed: int = 0) -> tuple[float, float]:
    """(KL from Haar, mean Meyer-Wallach Q) of ``circuit`` with ``parameters`` uniform in
    [0, 2 pi)."""
    gen = torch.Generator().manual_seed(seed)
    values = random_weights(2 * n_pairs, len(parameters), gen)
    states = sample_states(circuit, parameters, values)
    fid = pair_fidelities(states[:n_pairs], states[n_pairs:])
    return kl_from_haar(fid, circuit.num_qubits), float(meyer_wallach(states).mean())


@dataclass(frozen=True)
class Expressibility:
    """Expressibility and entangling capability of one circuit configuration."""

    n_qubits: int
    layers: int
    kl: float  # KL(P_circuit || P_Haar) of the fidelity histogram; lower = more expressive
    entangling: float  # mean Meyer-Wallach Q in [0, 1]
    fidelities: np.ndarray  # (n_pairs,) sampled fidelities


def expressibility(cfg: CircuitConfig, *, n_pairs: int = 1000, seed: int = 0) -> Expressibility:
    """Expressibility and entangling capability of the circuit ``cfg`` describes."""
    if cfg.n_qubits > MAX_QUBITS:
        raise ConfigError(f"Expressibility is computed for up to {MAX_QUBITS} qubits; this "
                          f"circuit has {cfg.n_qubits}.")
    n_pairs = max(10, min(int(n_pairs), MAX_PAIRS))
    b = build_circuit(cfg)
    gen = torch.Generator().manual_seed(seed)
    values = torch.cat([zero_input_values(b, 2 * n_pairs),
                        random_weights(2 * n_pairs, len(b.weights), gen)], dim=1)
    states = sample_states(b.circuit, [*b.inputs, *b.weights], values)
    fid = pair_fidelities(states[:n_pairs], states[n_pairs:])
    return Expressibility(n_qubits=cfg.n_qubits, layers=cfg.layers,
                          kl=kl_from_haar(fid, cfg.n_qubits),
                          entangling=float(meyer_wallach(states).mean()), fidelities=fid)


def expressibility_by_layers(cfg: CircuitConfig, layers: Sequence[int], *, n_pairs: int = 1000,
                             seed: int = 0) -> list[Expressibility]:
    """``expressibility`` of ``cfg`` at each depth in ``layers``."""
    return [expressibility(dataclasses.replace(cfg, layers=int(depth)), n_pairs=n_pairs,
                           seed=seed) for depth in layers]
